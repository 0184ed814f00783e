//! `ComposePass`: the viewer's picture — image, before/after split, mask tint, CAM overlay
//! (`shaders/compose.wgsl`).

use wgpu::util::DeviceExt;

use super::layout;
use crate::Result;
use crate::cpu::compose::ComposeSettings;
use crate::gpu::burn_buffer::TensorBinding;
use crate::models::receptive::Placement;

/// Workgroup side. NOTE: keep in sync with WORKGROUP in shaders/compose.wgsl.
const WORKGROUP: u32 = 8;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    size: [u32; 2],
    cam_size: [u32; 2],
    cam_origin: [f32; 2],
    cam_step: [f32; 2],
    split: u32,
    cam_enabled: u32,
    mask_alpha: f32,
    cam_opacity: f32,
    rect_origin: [u32; 2],
    rect_size: [u32; 2],
}

/// A map to overlay: its buffer range (a `[h, w]` f32 tensor, 0..1 or signed −1..1) and grid
/// size.
pub struct CamOverlay<'a> {
    /// Where the values are.
    pub binding: &'a TensorBinding<'a>,
    /// Grid width and height.
    pub size: (u32, u32),
    /// Where the cells sit over the image (receptive-field centres for a CAM).
    pub placement: Placement,
    /// The values are signed (−1..1, drawn diverging) rather than 0..1 (viridis).
    pub signed: bool,
}

/// Draws the viewer's picture into an RGBA8 storage texture.
pub struct ComposePass {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    no_cam: wgpu::Buffer,
}

impl ComposePass {
    /// Builds the pipeline.
    pub fn new(device: &wgpu::Device) -> Result<Self> {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("compose.bind_group_layout"),
            entries: &[
                layout::uniform(0, None),
                layout::texture(1),
                layout::texture(2),
                layout::texture(3),
                layout::storage(4, true),
                layout::storage_texture(5, crate::gpu::texture::IMAGE_FORMAT),
            ],
        });
        let pipeline = super::single_group_pipeline(
            device,
            "compose",
            "shaders/compose.wgsl",
            include_str!("../../shaders/compose.wgsl"),
            &layout,
        )?;
        let no_cam = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("compose.no_cam"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        Ok(Self {
            pipeline,
            layout,
            no_cam,
        })
    }

    /// Records the composition of `original`/`modified`/`mask` (+ `cam`) into `output`: the
    /// whole picture, or only `rect` (x0, y0, x1, y1, exclusive; the rest of `output` is kept).
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        original: &wgpu::Texture,
        modified: &wgpu::Texture,
        mask: &wgpu::Texture,
        cam: Option<CamOverlay<'_>>,
        output: &wgpu::Texture,
        settings: &ComposeSettings,
        rect: Option<[u32; 4]>,
    ) {
        let (w, h) = (output.width(), output.height());
        let [x0, y0, x1, y1] = rect.map_or([0, 0, w, h], |[x0, y0, x1, y1]| {
            [x0.min(w), y0.min(h), x1.min(w), y1.min(h)]
        });
        let (rw, rh) = (x1.saturating_sub(x0), y1.saturating_sub(y0));
        if rw == 0 || rh == 0 {
            return;
        }
        let params = Params {
            size: [w, h],
            cam_size: cam.as_ref().map_or([1, 1], |c| [c.size.0, c.size.1]),
            cam_origin: cam.as_ref().map_or([0.0; 2], |c| c.placement.origin),
            cam_step: cam.as_ref().map_or([1.0; 2], |c| c.placement.step),
            split: settings.split,
            cam_enabled: cam.as_ref().map_or(0, |c| if c.signed { 2 } else { 1 }),
            mask_alpha: settings.mask_alpha,
            cam_opacity: settings.cam_opacity,
            rect_origin: [x0, y0],
            rect_size: [rw, rh],
        };
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("compose.params"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let views = [original, modified, mask, output].map(|t| t.create_view(&Default::default()));
        let cam_resource = match &cam {
            Some(c) => c.binding.as_binding(),
            None => self.no_cam.as_entire_binding(),
        };
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("compose.bind_group"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&views[0]),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&views[1]),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::TextureView(&views[2]),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: cam_resource,
                },
                wgpu::BindGroupEntry {
                    binding: 5,
                    resource: wgpu::BindingResource::TextureView(&views[3]),
                },
            ],
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("compose.pass"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        super::dispatch(
            &mut pass,
            super::workgroup_count(rw, WORKGROUP),
            super::workgroup_count(rh, WORKGROUP),
            1,
        );
    }
}
