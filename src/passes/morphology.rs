//! `MorphologyPass`: clear, invert, grow and shrink of the viewer's mask on the GPU
//! (`shaders/morphology.wgsl`; CPU reference `src/cpu/morphology.rs`).

use super::paint::PAINT_MASK_FORMAT;
use super::{DynamicUniforms, layout};
use crate::Result;
use crate::cpu::morphology::MaskOp;

/// Workgroup side. NOTE: keep in sync with WORKGROUP in shaders/morphology.wgsl.
const WORKGROUP: u32 = 8;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    op: u32,
    radius: u32,
    axis: u32,
    _pad: u32,
}

/// Applies [`MaskOp`]s to an R32Float mask through a scratch texture of the same size.
pub struct MorphologyPass {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

impl MorphologyPass {
    /// Builds the pipeline.
    pub fn new(device: &wgpu::Device) -> Result<Self> {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("morphology.bind_group_layout"),
            entries: &[
                layout::uniform(0, Some(std::mem::size_of::<Params>() as u64)),
                layout::texture(1),
                layout::storage_texture(2, PAINT_MASK_FORMAT),
            ],
        });
        let pipeline = super::single_group_pipeline(
            device,
            "morphology",
            "shaders/morphology.wgsl",
            include_str!("../../shaders/morphology.wgsl"),
            &layout,
        )?;
        Ok(Self { pipeline, layout })
    }

    /// Records `op` on `mask`, using `scratch` (same size and format) in between: two
    /// dispatches, the result back in `mask`.
    pub fn encode(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        mask: &wgpu::Texture,
        scratch: &wgpu::Texture,
        op: MaskOp,
    ) {
        let (first, second) = match op {
            MaskOp::Clear => ((0, 0, 0), (2, 0, 0)),
            MaskOp::Invert => ((1, 0, 0), (2, 0, 0)),
            MaskOp::Grow(n) => ((2, n, 0), (2, n, 1)),
            MaskOp::Shrink(n) => ((3, n, 0), (3, n, 1)),
        };
        let params = [first, second].map(|(op, radius, axis)| Params {
            op,
            radius,
            axis,
            _pad: 0,
        });
        let uniforms = DynamicUniforms::new(device, "morphology.params", &params);
        let (mask_view, scratch_view) = (
            mask.create_view(&Default::default()),
            scratch.create_view(&Default::default()),
        );
        let group = |src: &wgpu::TextureView, dst: &wgpu::TextureView| {
            super::bind_group(
                device,
                "morphology.bind_group",
                &self.layout,
                &[
                    uniforms.binding(),
                    wgpu::BindingResource::TextureView(src),
                    wgpu::BindingResource::TextureView(dst),
                ],
            )
        };
        let groups = [
            group(&mask_view, &scratch_view),
            group(&scratch_view, &mask_view),
        ];
        let (w, h) = (mask.width(), mask.height());
        // Two compute passes: the second reads what the first wrote.
        for (i, g) in groups.iter().enumerate() {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("morphology.pass"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, g, &[uniforms.offset(i)]);
            super::dispatch(
                &mut pass,
                super::workgroup_count(w, WORKGROUP),
                super::workgroup_count(h, WORKGROUP),
                1,
            );
        }
    }
}
