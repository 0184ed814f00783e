//! Choosing an adapter: a hardware GPU when there is one, a software rasterizer (lavapipe) as a
//! fallback, or the one the user named. Pure logic over `AdapterInfo`, so it is unit tested.

use wgpu::{AdapterInfo, Backend, DeviceType};

use crate::{Error, Result};

/// Environment variable that names an adapter, like `--adapter`.
pub const ADAPTER_ENV: &str = "UNSEE_ADAPTER";

/// Whether an adapter runs on the CPU (lavapipe, llvmpipe, SwiftShader, WARP).
pub fn is_software(info: &AdapterInfo) -> bool {
    info.device_type == DeviceType::Cpu
        || ["llvmpipe", "lavapipe", "swiftshader", "warp"]
            .iter()
            .any(|s| info.name.to_lowercase().contains(s))
}

/// Lower is better: hardware before software, compute-capable APIs before OpenGL.
fn rank(info: &AdapterInfo) -> (u8, u8) {
    let device = match info.device_type {
        _ if is_software(info) => 4,
        DeviceType::DiscreteGpu => 0,
        DeviceType::IntegratedGpu => 1,
        DeviceType::VirtualGpu => 2,
        DeviceType::Other => 3,
        DeviceType::Cpu => 4,
    };
    let backend = match info.backend {
        Backend::Vulkan | Backend::Metal | Backend::Dx12 => 0,
        _ => 1,
    };
    (device, backend)
}

/// One line per adapter, for messages and `--list-adapters`.
pub fn describe(info: &AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}

/// Picks the index of the adapter to use. With `wanted`, the first adapter whose name contains it
/// (case-insensitive); otherwise the best ranked one.
pub fn select(adapters: &[AdapterInfo], wanted: Option<&str>) -> Result<usize> {
    if adapters.is_empty() {
        return Err(Error::NoAdapter);
    }
    if let Some(wanted) = wanted {
        let needle = wanted.to_lowercase();
        return adapters
            .iter()
            .position(|a| a.name.to_lowercase().contains(&needle))
            .ok_or_else(|| Error::AdapterNotFound {
                wanted: wanted.to_owned(),
                available: adapters.iter().map(describe).collect::<Vec<_>>().join(", "),
            });
    }
    Ok((0..adapters.len())
        .min_by_key(|&i| rank(&adapters[i]))
        .expect("adapters is not empty"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, device_type: DeviceType, backend: Backend) -> AdapterInfo {
        AdapterInfo {
            name: name.into(),
            ..AdapterInfo::new(device_type, backend)
        }
    }

    #[test]
    fn prefers_hardware_over_lavapipe() {
        let list = [
            info("llvmpipe (LLVM 15)", DeviceType::Cpu, Backend::Vulkan),
            info("NVIDIA H100", DeviceType::DiscreteGpu, Backend::Vulkan),
        ];
        assert_eq!(select(&list, None).unwrap(), 1);
        assert!(is_software(&list[0]) && !is_software(&list[1]));
    }

    #[test]
    fn prefers_vulkan_over_gl_on_same_device() {
        let list = [
            info("Intel UHD", DeviceType::IntegratedGpu, Backend::Gl),
            info("Intel UHD", DeviceType::IntegratedGpu, Backend::Vulkan),
        ];
        assert_eq!(select(&list, None).unwrap(), 1);
    }

    #[test]
    fn named_adapter_or_clear_error() {
        let list = [info("llvmpipe", DeviceType::Cpu, Backend::Vulkan)];
        assert_eq!(select(&list, Some("LLVM")).unwrap(), 0);
        let err = select(&list, Some("nvidia")).unwrap_err().to_string();
        assert!(err.contains("nvidia") && err.contains("llvmpipe"), "{err}");
        assert!(matches!(select(&[], None), Err(Error::NoAdapter)));
    }
}
