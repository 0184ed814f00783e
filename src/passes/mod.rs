//! Our own GPU compute passes. Each pass is a struct that builds its pipeline once in `new` and
//! records work with `encode`; its shader is `shaders/<name>.wgsl` and its CPU reference
//! `src/cpu/<name>.rs`.

pub mod compose;
pub mod morphology;
pub mod paint;
pub mod patchmatch;
pub mod preprocess;
pub mod telea;
mod validate;

pub use compose::{CamOverlay, ComposePass};
pub use morphology::MorphologyPass;
pub use paint::{PaintPass, Segment};
pub use patchmatch::{PatchMatchCache, PatchMatchParams, PatchMatchPass};
pub use preprocess::PreprocessPass;
pub use telea::{HoleBounds, TeleaParams, TeleaPass, TeleaScratch};

/// Compute dispatches our passes have recorded since the process started (the benchmarks report
/// them per job; burn's own kernels are not counted).
static DISPATCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Records one dispatch of `x` × `y` × `z` workgroups into `pass`, counting it.
pub fn dispatch(pass: &mut wgpu::ComputePass<'_>, x: u32, y: u32, z: u32) {
    DISPATCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    pass.dispatch_workgroups(x, y, z);
}

/// How many dispatches our passes have recorded so far.
pub fn dispatches() -> u64 {
    DISPATCHES.load(std::sync::atomic::Ordering::Relaxed)
}

/// A bind group of `layout` binding `resources` at bindings 0, 1, 2, … in order (the order the
/// passes' layouts declare them, `layout::*` entries numbered the same way).
pub fn bind_group(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    resources: &[wgpu::BindingResource<'_>],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry<'_>> = resources
        .iter()
        .enumerate()
        .map(|(binding, resource)| wgpu::BindGroupEntry {
            binding: binding as u32,
            resource: resource.clone(),
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries: &entries,
    })
}

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

/// The pipeline of a pass whose shader has one entry point, `main`, and one bind group
/// (`<name>.pipeline`).
pub fn single_group_pipeline(
    device: &wgpu::Device,
    name: &str,
    file: &str,
    source: &str,
    group: &wgpu::BindGroupLayout,
) -> crate::Result<wgpu::ComputePipeline> {
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(&format!("{name}.pipeline_layout")),
        bind_group_layouts: &[Some(group)],
        immediate_size: 0,
    });
    compute_pipeline(device, &format!("{name}.pipeline"), file, source, &layout)
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

/// Per-dispatch parameters of one pass, packed into one uniform buffer at dynamic offsets.
pub struct DynamicUniforms {
    buffer: wgpu::Buffer,
    stride: u64,
    size: u64,
    /// Entries the buffer holds.
    capacity: usize,
}

impl DynamicUniforms {
    /// Packs `entries` at the device's uniform offset alignment.
    pub fn new<T: bytemuck::Pod>(device: &wgpu::Device, label: &str, entries: &[T]) -> Self {
        use wgpu::util::DeviceExt;
        let (size, stride) = Self::layout::<T>(device);
        let buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: &Self::pack(stride, entries),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        Self {
            buffer,
            stride,
            size,
            capacity: entries.len().max(1),
        }
    }

    /// Room for `capacity` entries of `T`, written later with [`Self::write`] (kept between
    /// jobs instead of made per job).
    pub fn with_capacity<T: bytemuck::Pod>(
        device: &wgpu::Device,
        label: &str,
        capacity: usize,
    ) -> Self {
        let (size, stride) = Self::layout::<T>(device);
        let capacity = capacity.max(1);
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: stride * capacity as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            buffer,
            stride,
            size,
            capacity,
        }
    }

    /// Entries the buffer holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Writes `entries` (at most [`Self::capacity`]) through the queue: they land at the next
    /// submit, before its command buffers, so the work recorded with them must be in that submit
    /// (and no other work using this buffer with other entries).
    pub fn write<T: bytemuck::Pod>(&self, queue: &wgpu::Queue, entries: &[T]) {
        let n = entries.len().min(self.capacity);
        queue.write_buffer(&self.buffer, 0, &Self::pack(self.stride, &entries[..n]));
    }

    fn layout<T>(device: &wgpu::Device) -> (u64, u64) {
        let size = std::mem::size_of::<T>() as u64;
        let align = u64::from(device.limits().min_uniform_buffer_offset_alignment);
        (size, size.div_ceil(align) * align)
    }

    fn pack<T: bytemuck::Pod>(stride: u64, entries: &[T]) -> Vec<u8> {
        let size = std::mem::size_of::<T>();
        let mut bytes = vec![0u8; stride as usize * entries.len().max(1)];
        for (i, e) in entries.iter().enumerate() {
            let at = i * stride as usize;
            bytes[at..at + size].copy_from_slice(bytemuck::bytes_of(e));
        }
        bytes
    }

    /// The dynamic offset of entry `i`.
    pub fn offset(&self, i: usize) -> u32 {
        (i as u64 * self.stride) as u32
    }

    /// The binding of one entry (bind with a dynamic offset).
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: 0,
            size: wgpu::BufferSize::new(self.size),
        })
    }
}

/// Bind group layout entries, all visible to compute shaders.
pub mod layout {
    /// A uniform buffer; `dynamic` for [`super::DynamicUniforms`] of `T`-sized entries.
    pub fn uniform(binding: u32, dynamic_size: Option<u64>) -> wgpu::BindGroupLayoutEntry {
        entry(
            binding,
            wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: dynamic_size.is_some(),
                min_binding_size: dynamic_size.and_then(wgpu::BufferSize::new),
            },
        )
    }

    /// A storage buffer.
    pub fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
        entry(
            binding,
            wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
        )
    }

    /// A 2D float texture read with `textureLoad`.
    pub fn texture(binding: u32) -> wgpu::BindGroupLayoutEntry {
        entry(
            binding,
            wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: false },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
        )
    }

    /// A write-only 2D storage texture.
    pub fn storage_texture(
        binding: u32,
        format: wgpu::TextureFormat,
    ) -> wgpu::BindGroupLayoutEntry {
        entry(
            binding,
            wgpu::BindingType::StorageTexture {
                access: wgpu::StorageTextureAccess::WriteOnly,
                format,
                view_dimension: wgpu::TextureViewDimension::D2,
            },
        )
    }

    fn entry(binding: u32, ty: wgpu::BindingType) -> wgpu::BindGroupLayoutEntry {
        wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty,
            count: None,
        }
    }
}
