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

    /// The kept resources for painting into `mask` (made once per image).
    pub fn target(&self, device: &wgpu::Device, mask: &wgpu::Texture) -> PaintTarget {
        let uniforms = DynamicUniforms::with_capacity::<Params>(device, "paint.params", 64);
        let view = mask.create_view(&Default::default());
        let group = self.bind_group(device, &uniforms, &view);
        PaintTarget {
            uniforms,
            view,
            group,
            dims: (mask.width(), mask.height()),
        }
    }

    fn bind_group(
        &self,
        device: &wgpu::Device,
        uniforms: &DynamicUniforms,
        view: &wgpu::TextureView,
    ) -> wgpu::BindGroup {
        super::bind_group(
            device,
            "paint.bind_group",
            &self.layout,
            &[uniforms.binding(), wgpu::BindingResource::TextureView(view)],
        )
    }

    /// Records `segments` into the target's mask in order; with `clear_first`, the mask is zeroed
    /// first. The parameters are written through `queue`: the encoder must be submitted before
    /// this target is encoded again (one encode per target per submit).
    pub fn encode(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        target: &mut PaintTarget,
        clear_first: bool,
        segments: &[Segment],
    ) {
        let dims = target.dims;
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
        // More segments than ever before (a replay of a long history): a bigger buffer, once.
        if params.len() > target.uniforms.capacity() {
            let capacity = params.len().next_power_of_two();
            target.uniforms =
                DynamicUniforms::with_capacity::<Params>(device, "paint.params", capacity);
            target.group = self.bind_group(device, &target.uniforms, &target.view);
        }
        target.uniforms.write(queue, &params);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("paint.pass"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.pipeline);
        for (i, p) in params.iter().enumerate() {
            pass.set_bind_group(0, &target.group, &[target.uniforms.offset(i)]);
            super::dispatch(
                &mut pass,
                super::workgroup_count(p.size[0], WORKGROUP),
                super::workgroup_count(p.size[1], WORKGROUP),
                1,
            );
        }
    }
}

/// The paint pass's kept resources for one mask texture: the parameter buffer (it grows only when
/// a submit paints more segments than ever before), the view and the bind group.
pub struct PaintTarget {
    uniforms: DynamicUniforms,
    view: wgpu::TextureView,
    group: wgpu::BindGroup,
    dims: (u32, u32),
}
