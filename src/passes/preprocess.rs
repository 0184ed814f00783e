//! `PreprocessPass`: the working image texture → a classifier's input tensor, written in place in
//! burn's buffer (see `shaders/preprocess.wgsl`).

use wgpu::util::DeviceExt;

use super::layout;
use crate::Result;
use crate::gpu::burn_buffer::TensorBinding;
use crate::models::InputSpec;

/// Workgroup side. NOTE: keep in sync with WORKGROUP in shaders/preprocess.wgsl.
const WORKGROUP: u32 = 8;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    src_size: [u32; 2],
    dst_size: u32,
    _pad0: u32,
    source: [u32; 4],
    mean: [f32; 4],
    scale: [f32; 4],
}

/// Resizes, reorders and normalises an RGBA8 texture into an NCHW f32 buffer.
pub struct PreprocessPass {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

impl PreprocessPass {
    /// Builds the pipeline.
    pub fn new(device: &wgpu::Device) -> Result<Self> {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("preprocess.bind_group_layout"),
            entries: &[
                layout::uniform(0, None),
                layout::texture(1),
                layout::storage(2, false),
            ],
        });
        let pipeline = super::single_group_pipeline(
            device,
            "preprocess",
            "shaders/preprocess.wgsl",
            include_str!("../../shaders/preprocess.wgsl"),
            &layout,
        )?;
        Ok(Self { pipeline, layout })
    }

    /// Records the pass: `src` (an RGBA8 texture) → `dst` (`[1, 3, s, s]` f32, s = `spec.size`).
    pub fn encode(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        src: &wgpu::Texture,
        dst: &TensorBinding<'_>,
        spec: &InputSpec,
    ) {
        let params = Params {
            src_size: [src.width(), src.height()],
            dst_size: spec.size,
            _pad0: 0,
            source: [spec.source[0], spec.source[1], spec.source[2], 0],
            mean: [spec.mean[0], spec.mean[1], spec.mean[2], 0.0],
            scale: [spec.scale[0], spec.scale[1], spec.scale[2], 0.0],
        };
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("preprocess.params"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let view = src.create_view(&wgpu::TextureViewDescriptor::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("preprocess.bind_group"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: dst.as_binding(),
                },
            ],
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("preprocess.pass"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        let groups = super::workgroup_count(spec.size, WORKGROUP);
        super::dispatch(&mut pass, groups, groups, 1);
    }
}
