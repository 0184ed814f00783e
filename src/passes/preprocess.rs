//! `PreprocessPass`: the working image texture → a classifier's input tensor, written in place in
//! burn's buffer (see `shaders/preprocess.wgsl`).

use super::{DynamicUniforms, layout};
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
    item: u32,
    source: [u32; 4],
    mean: [f32; 4],
    scale: [f32; 4],
    src_origin: [u32; 2],
    _pad1: [u32; 2],
}

/// One source image of a batch: where it lies in the texture (`origin`, `size`) and which batch
/// entry it becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    /// Top-left corner in the texture.
    pub origin: (u32, u32),
    /// Width and height.
    pub size: (u32, u32),
    /// Batch entry written.
    pub index: u32,
}

/// Resizes, reorders and normalises an RGBA8 texture into an NCHW f32 buffer.
pub struct PreprocessPass {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    /// The last single-image binding: the live loop preprocesses the same texture into a tensor
    /// burn's pool gives back at the same place job after job, so its parameters and bind group
    /// are made once, not per job.
    last: std::sync::Mutex<Option<Bound>>,
}

/// A recorded binding of the pass: what it was made for, and its resources.
struct Bound {
    src: wgpu::Texture,
    dst: (wgpu::Buffer, u64, u64),
    params: Vec<Params>,
    uniforms: DynamicUniforms,
    group: wgpu::BindGroup,
}

impl PreprocessPass {
    /// Builds the pipeline.
    pub fn new(device: &wgpu::Device) -> Result<Self> {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("preprocess.bind_group_layout"),
            entries: &[
                layout::uniform(0, Some(std::mem::size_of::<Params>() as u64)),
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
        Ok(Self {
            pipeline,
            layout,
            last: Default::default(),
        })
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
        let whole = Item {
            origin: (0, 0),
            size: (src.width(), src.height()),
            index: 0,
        };
        self.encode_items(device, encoder, src, dst, spec, &[whole]);
    }

    /// Records one dispatch per item: each image inside `src` (tiles of an atlas) → its entry of
    /// `dst` (`[n, 3, s, s]` f32), in one pass and one bind group.
    pub fn encode_items(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        src: &wgpu::Texture,
        dst: &TensorBinding<'_>,
        spec: &InputSpec,
        items: &[Item],
    ) {
        if items.is_empty() {
            return;
        }
        let params: Vec<Params> = items
            .iter()
            .map(|it| Params {
                src_size: [it.size.0, it.size.1],
                dst_size: spec.size,
                item: it.index,
                source: [spec.source[0], spec.source[1], spec.source[2], 0],
                mean: [spec.mean[0], spec.mean[1], spec.mean[2], 0.0],
                scale: [spec.scale[0], spec.scale[1], spec.scale[2], 0.0],
                src_origin: [it.origin.0, it.origin.1],
                _pad1: [0; 2],
            })
            .collect();
        let dst_key = (dst.buffer.clone(), dst.offset, dst.size);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let reuse = last.as_ref().is_some_and(|b| {
            b.src == *src
                && b.dst == dst_key
                && bytemuck::cast_slice::<_, u8>(&b.params)
                    == bytemuck::cast_slice::<_, u8>(&params)
        });
        if !reuse {
            let uniforms = DynamicUniforms::new(device, "preprocess.params", &params);
            let view = src.create_view(&wgpu::TextureViewDescriptor::default());
            let group = super::bind_group(
                device,
                "preprocess.bind_group",
                &self.layout,
                &[
                    uniforms.binding(),
                    wgpu::BindingResource::TextureView(&view),
                    dst.as_binding(),
                ],
            );
            *last = Some(Bound {
                src: src.clone(),
                dst: dst_key,
                params: params.clone(),
                uniforms,
                group,
            });
        }
        let Some(bound) = last.as_ref() else {
            return;
        };
        let (uniforms, bind_group) = (&bound.uniforms, &bound.group);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("preprocess.pass"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.pipeline);
        let groups = super::workgroup_count(spec.size, WORKGROUP);
        for i in 0..items.len() {
            pass.set_bind_group(0, bind_group, &[uniforms.offset(i)]);
            super::dispatch(&mut pass, groups, groups, 1);
        }
    }
}
