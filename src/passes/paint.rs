//! `PaintPass`: brush segments stamped into the mask texture on the GPU (`shaders/paint.wgsl`).

use wgpu::util::DeviceExt;

use crate::Result;
use crate::cpu::paint::capsule_bounds;

/// Workgroup side. NOTE: keep in sync with WORKGROUP in shaders/paint.wgsl.
const WORKGROUP: u32 = 8;

/// Format of the viewer's mask texture: storage-writable, 1.0 = erase.
pub const PAINT_MASK_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::R32Float;

/// One brush segment (a capsule from `a` to `b`), in image pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    /// Start point.
    pub a: (f32, f32),
    /// End point (equal to `a` for a dot).
    pub b: (f32, f32),
    /// Brush radius.
    pub radius: f32,
    /// Erase (true) or restore (false) the image under the brush.
    pub erase: bool,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    a: [f32; 2],
    b: [f32; 2],
    radius: f32,
    value: f32,
    clear: u32,
    _pad: u32,
    origin: [u32; 2],
    size: [u32; 2],
}

/// Paints segments into an R32Float mask.
pub struct PaintPass {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    stride: u64,
}

impl PaintPass {
    /// Builds the pipeline.
    pub fn new(device: &wgpu::Device) -> Result<Self> {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("paint.bind_group_layout"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: true,
                        min_binding_size: wgpu::BufferSize::new(
                            std::mem::size_of::<Params>() as u64
                        ),
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::StorageTexture {
                        access: wgpu::StorageTextureAccess::WriteOnly,
                        format: PAINT_MASK_FORMAT,
                        view_dimension: wgpu::TextureViewDimension::D2,
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("paint.pipeline_layout"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = super::compute_pipeline(
            device,
            "paint.pipeline",
            "shaders/paint.wgsl",
            include_str!("../../shaders/paint.wgsl"),
            &pipeline_layout,
        )?;
        let align = u64::from(device.limits().min_uniform_buffer_offset_alignment);
        let stride = (std::mem::size_of::<Params>() as u64).div_ceil(align) * align;
        Ok(Self {
            pipeline,
            layout,
            stride,
        })
    }

    /// Records `segments` into `mask` in order; with `clear_first`, the mask is zeroed first.
    pub fn encode(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        mask: &wgpu::Texture,
        clear_first: bool,
        segments: &[Segment],
    ) {
        let dims = (mask.width(), mask.height());
        let mut params: Vec<Params> = Vec::with_capacity(segments.len() + 1);
        if clear_first {
            params.push(Params {
                a: [0.0; 2],
                b: [0.0; 2],
                radius: 0.0,
                value: 0.0,
                clear: 1,
                _pad: 0,
                origin: [0, 0],
                size: [dims.0, dims.1],
            });
        }
        for s in segments {
            let [x0, y0, x1, y1] = capsule_bounds(dims, s.a, s.b, s.radius);
            if x1 <= x0 || y1 <= y0 {
                continue;
            }
            params.push(Params {
                a: [s.a.0, s.a.1],
                b: [s.b.0, s.b.1],
                radius: s.radius,
                value: if s.erase { 1.0 } else { 0.0 },
                clear: 0,
                _pad: 0,
                origin: [x0, y0],
                size: [x1 - x0, y1 - y0],
            });
        }
        if params.is_empty() {
            return;
        }
        let stride = self.stride as usize;
        let mut bytes = vec![0u8; stride * params.len()];
        for (i, p) in params.iter().enumerate() {
            bytes[i * stride..i * stride + std::mem::size_of::<Params>()]
                .copy_from_slice(bytemuck::bytes_of(p));
        }
        let uniforms = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("paint.params"),
            contents: &bytes,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let view = mask.create_view(&Default::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("paint.bind_group"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &uniforms,
                        offset: 0,
                        size: wgpu::BufferSize::new(std::mem::size_of::<Params>() as u64),
                    }),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
            ],
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("paint.pass"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.pipeline);
        for (i, p) in params.iter().enumerate() {
            pass.set_bind_group(0, &bind_group, &[(i as u64 * self.stride) as u32]);
            pass.dispatch_workgroups(
                super::workgroup_count(p.size[0], WORKGROUP),
                super::workgroup_count(p.size[1], WORKGROUP),
                1,
            );
        }
    }
}
