//! Our own GPU compute passes. Each pass is a struct that builds its pipeline once in `new` and
//! records work with `encode`; its shader is `shaders/<name>.wgsl` and its CPU reference
//! `src/cpu/<name>.rs`.

pub mod compose;
pub mod paint;
pub mod patchmatch;
pub mod preprocess;
pub mod telea;

pub use compose::{CamOverlay, ComposePass};
pub use paint::{PaintPass, Segment};
pub use patchmatch::{PatchMatchCache, PatchMatchParams, PatchMatchPass};
pub use preprocess::PreprocessPass;
pub use telea::{HoleBounds, TeleaParams, TeleaPass};

/// Workgroups needed to cover `n` items with groups of `size`.
pub fn workgroup_count(n: u32, size: u32) -> u32 {
    n.div_ceil(size)
}

/// Creates a compute pipeline from WGSL source inside a validation error scope, so a broken shader
/// is an error naming the file rather than a panic later.
pub fn compute_pipeline(
    device: &wgpu::Device,
    label: &str,
    file: &str,
    source: &str,
    layout: &wgpu::PipelineLayout,
) -> crate::Result<wgpu::ComputePipeline> {
    compute_pipeline_entry(device, label, file, source, "main", layout)
}

/// [`compute_pipeline`] for a named entry point of a shader with several.
pub fn compute_pipeline_entry(
    device: &wgpu::Device,
    label: &str,
    file: &str,
    source: &str,
    entry: &str,
    layout: &wgpu::PipelineLayout,
) -> crate::Result<wgpu::ComputePipeline> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: Some(layout),
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    });
    if let Some(err) = pollster::block_on(scope.pop()) {
        return Err(crate::Error::Gpu(format!("shader {file}: {err}")));
    }
    Ok(pipeline)
}
