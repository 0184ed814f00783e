//! `PaintPass`: brush segments stamped into the mask texture on the GPU (`shaders/paint.wgsl`).

use super::{DynamicUniforms, layout};
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
}

impl PaintPass {
    /// Builds the pipeline.
    pub fn new(device: &wgpu::Device) -> Result<Self> {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("paint.bind_group_layout"),
            entries: &[
                layout::uniform(0, Some(std::mem::size_of::<Params>() as u64)),
                layout::storage_texture(1, PAINT_MASK_FORMAT),
            ],
        });
        let pipeline = super::single_group_pipeline(
            device,
            "paint",
            "shaders/paint.wgsl",
            include_str!("../../shaders/paint.wgsl"),
            &layout,
        )?;
        Ok(Self { pipeline, layout })
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
        let uniforms = DynamicUniforms::new(device, "paint.params", &params);
        let view = mask.create_view(&Default::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("paint.bind_group"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniforms.binding(),
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
            pass.set_bind_group(0, &bind_group, &[uniforms.offset(i)]);
            super::dispatch(
                &mut pass,
                super::workgroup_count(p.size[0], WORKGROUP),
                super::workgroup_count(p.size[1], WORKGROUP),
                1,
            );
        }
    }
}
