//! The one GPU device of the process: created here, shared by our own passes, the window and
//! burn's wgpu backend, so that images, masks and feature maps never leave the GPU.

pub mod adapter;
pub mod burn_buffer;
pub mod canvas;
pub mod damage;
pub mod egui_paint;
pub mod readback;
pub mod texture;
pub mod timer;

use std::sync::{Arc, Mutex};

use crate::{Error, Result};

/// How the user wants the device chosen.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Substring of the adapter name to use (`--adapter`, or `UNSEE_ADAPTER`).
    pub adapter: Option<String>,
}

impl GpuOptions {
    /// Options from `--adapter`, falling back to the `UNSEE_ADAPTER` environment variable.
    pub fn from_arg(adapter: Option<String>) -> Self {
        let adapter = adapter.or_else(|| {
            std::env::var(adapter::ADAPTER_ENV)
                .ok()
                .filter(|s| !s.is_empty())
        });
        Self { adapter }
    }
}

/// Errors wgpu reported outside any error scope, and device loss; kept so the caller can turn
/// them into an [`Error`] at a point where it can report them, instead of a panic in a callback.
#[derive(Clone, Default)]
pub struct GpuHealth {
    errors: Arc<Mutex<Vec<String>>>,
    lost: Arc<Mutex<Option<String>>>,
}

impl GpuHealth {
    /// Returns (and clears) the first error recorded since the last call, if any.
    pub fn take_error(&self) -> Option<String> {
        if let Some(reason) = self.lost.lock().ok().and_then(|l| l.clone()) {
            return Some(format!("the GPU device was lost: {reason}"));
        }
        let mut errors = self.errors.lock().ok()?;
        let first = errors.first().cloned();
        errors.clear();
        first
    }

    /// Ok when nothing went wrong, otherwise the first recorded error, left recorded: for worker
    /// threads, which must not take an error away from the window that reports it.
    pub fn peek(&self) -> Result<()> {
        if let Some(reason) = self.lost.lock().ok().and_then(|l| l.clone()) {
            return Err(Error::Gpu(format!("the GPU device was lost: {reason}")));
        }
        match self.errors.lock().ok().and_then(|e| e.first().cloned()) {
            Some(e) => Err(Error::Gpu(e)),
            None => Ok(()),
        }
    }

    /// Ok when nothing went wrong, otherwise the recorded error.
    pub fn check(&self) -> Result<()> {
        match self.take_error() {
            Some(e) => Err(Error::Gpu(e)),
            None => Ok(()),
        }
    }

    /// Whether the device is gone for good.
    pub fn is_lost(&self) -> bool {
        self.lost.lock().map(|l| l.is_some()).unwrap_or(true)
    }
}

/// The process's GPU: wgpu handles plus the burn device registered on the same `wgpu::Device`.
/// A clone is another handle to the same device, queue, health and staging pool (for a worker
/// thread that records background work).
#[derive(Clone)]
pub struct GpuContext {
    /// The wgpu instance (needed to create window surfaces).
    pub instance: wgpu::Instance,
    /// The chosen adapter.
    pub adapter: wgpu::Adapter,
    /// The device every pass, the window and burn use.
    pub device: wgpu::Device,
    /// The queue every pass, the window and burn submit to (in that order of dependence).
    pub queue: wgpu::Queue,
    /// burn's handle to the same device: tensors created on it live in `device`'s buffers.
    pub burn: burn::tensor::Device,
    /// What the adapter is.
    pub info: wgpu::AdapterInfo,
    /// Whether the adapter is a CPU rasterizer (lavapipe): correct but slow.
    pub software: bool,
    /// Uncaptured errors and device loss.
    pub health: GpuHealth,
    /// Staging buffers of finished readbacks, reused by the next ones.
    pub staging: readback::StagingPool,
}

impl GpuContext {
    /// An instance for the compute-capable native backends (Vulkan, Metal, DX12; `WGPU_BACKEND`
    /// overrides), without a display. OpenGL is left out: no compute worth having, and probing
    /// EGL prints noise on machines without a display server.
    pub fn headless_instance() -> wgpu::Instance {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::PRIMARY;
        wgpu::Instance::new(desc.with_env())
    }

    /// A device with no window: for the CLI, tests and benches.
    pub fn headless(options: &GpuOptions) -> Result<Self> {
        Self::new(Self::headless_instance(), options, None)
    }

    /// Chooses an adapter (compatible with `surface` when given), creates the device and hands it
    /// to burn. Call once per process: burn registers each call as a new runtime.
    pub fn new(
        instance: wgpu::Instance,
        options: &GpuOptions,
        surface: Option<&wgpu::Surface<'_>>,
    ) -> Result<Self> {
        let adapters: Vec<wgpu::Adapter> =
            pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
                .into_iter()
                .filter(|a| surface.is_none_or(|s| a.is_surface_supported(s)))
                .collect();
        let infos: Vec<wgpu::AdapterInfo> = adapters.iter().map(|a| a.get_info()).collect();
        let index = adapter::select(&infos, options.adapter.as_deref())?;
        let adapter = adapters[index].clone();
        let info = infos[index].clone();
        let software = adapter::is_software(&info);
        if software {
            log::warn!(
                "using the software adapter {}: correct but slow; install a GPU driver for interactive speed",
                adapter::describe(&info)
            );
        } else {
            log::info!("using adapter {}", adapter::describe(&info));
        }

        // burn's WGSL runtime expects every adapter feature (it reads them to pick kernels) and
        // the adapter's full limits, as it would request them itself.
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("unsee.device"),
            required_features: adapter
                .features()
                .difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
            required_limits: adapter.limits(),
            memory_hints: wgpu::MemoryHints::MemoryUsage,
            trace: wgpu::Trace::Off,
            // SAFETY: burn's runtime may use passthrough shaders, as it does on a device it creates.
            experimental_features: unsafe { wgpu::ExperimentalFeatures::enabled() },
        };
        let (device, queue) =
            pollster::block_on(adapter.request_device(&descriptor)).map_err(|e| {
                Error::RequestDevice {
                    adapter: info.name.clone(),
                    reason: e.to_string(),
                }
            })?;

        let health = GpuHealth::default();
        {
            let errors = health.errors.clone();
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                let msg = e.to_string();
                if let Ok(mut errors) = errors.lock()
                    && !errors.contains(&msg)
                {
                    log::error!("wgpu: {msg}");
                    errors.push(msg);
                }
            }));
            let lost = health.lost.clone();
            device.set_device_lost_callback(move |reason, msg| {
                log::error!("GPU device lost ({reason:?}): {msg}");
                if let Ok(mut lost) = lost.lock() {
                    *lost = Some(format!("{reason:?}: {msg}"));
                }
            });
        }

        let setup = burn::tensor::wgpu::WgpuSetup {
            instance: instance.clone(),
            adapter: adapter.clone(),
            device: device.clone(),
            queue: queue.clone(),
            backend: info.backend,
        };
        let burn = burn::tensor::Device::wgpu_options()
            .setup(setup)
            .init()
            .map_err(|e| Error::BurnInit(e.to_string()))?;

        Ok(Self {
            instance,
            adapter,
            device,
            queue,
            burn,
            info,
            software,
            health,
            staging: Default::default(),
        })
    }

    /// A one-line description of the adapter, for status bars and reports.
    pub fn adapter_name(&self) -> String {
        adapter::describe(&self.info)
    }

    /// Waits for all submitted GPU work and reports any error recorded meanwhile.
    pub fn wait_idle(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(e.to_string()))?;
        self.health.check()
    }
}
