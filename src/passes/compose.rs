//! `ComposePass`: the viewer's picture — image, before/after split, mask tint, CAM overlay
//! (`shaders/compose.wgsl`).

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

/// Where an overlay's values are.
#[derive(Clone, Copy)]
pub enum OverlaySource<'a> {
    /// A buffer range on the device already (a CAM tensor in burn's buffer).
    Gpu(&'a TensorBinding<'a>),
    /// Values on the CPU (a CPU-backend CAM, an occlusion map): written into the target's own
    /// overlay buffer, which is kept and only grows.
    Cpu(&'a [f32]),
}

/// A map to overlay: its values (a `[h, w]` f32 grid, 0..1 or signed −1..1) and grid size.
pub struct CamOverlay<'a> {
    /// Where the values are.
    pub source: OverlaySource<'a>,
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

/// Which buffer a cached bind group binds as the overlay.
#[derive(Clone, PartialEq, Eq)]
enum OverlayKey {
    /// None (the pass's empty buffer).
    None,
    /// The target's own overlay buffer.
    Own,
    /// A device buffer range: (buffer, offset, size).
    Gpu(wgpu::Buffer, u64, u64),
}

/// What a target re-creates only when its overlay changes buffers.
struct Cached {
    /// The overlay buffer for values from the CPU, and its size in bytes.
    overlay: wgpu::Buffer,
    overlay_bytes: u64,
    /// Bind groups by overlay: at most one per kind (none, own, the last device buffer).
    groups: Vec<(OverlayKey, wgpu::BindGroup)>,
}

/// The long-lived resources of composing one set of textures (original, modified, mask) into one
/// output: the parameter buffer, the texture views, an overlay buffer and the bind groups. Made
/// once per image, so a frame creates no GPU resource (a bind group is made again only when a
/// new CAM tensor arrives, or the overlay buffer has to grow).
pub struct ComposeTarget {
    uniform: wgpu::Buffer,
    views: [wgpu::TextureView; 4],
    size: (u32, u32),
    cached: std::cell::RefCell<Cached>,
}

/// Bytes the overlay buffer starts with: a 64x64 grid (CAMs are 7x7 to 15x15).
const OVERLAY_BYTES: u64 = 64 * 64 * 4;

impl ComposeTarget {
    /// The resources for composing `original`/`modified`/`mask` into `output`.
    pub fn new(
        device: &wgpu::Device,
        original: &wgpu::Texture,
        modified: &wgpu::Texture,
        mask: &wgpu::Texture,
        output: &wgpu::Texture,
    ) -> Self {
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("compose.params"),
            size: std::mem::size_of::<Params>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            uniform,
            views: [original, modified, mask, output].map(|t| t.create_view(&Default::default())),
            size: (output.width(), output.height()),
            cached: std::cell::RefCell::new(Cached {
                overlay: overlay_buffer(device, OVERLAY_BYTES),
                overlay_bytes: OVERLAY_BYTES,
                groups: Vec::new(),
            }),
        }
    }
}

fn overlay_buffer(device: &wgpu::Device, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("compose.overlay"),
        size,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
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

    /// Records the composition of `target`'s textures (+ `cam`) into its output: the whole
    /// picture, or only `rect` (x0, y0, x1, y1, exclusive; the rest of the output is kept). The
    /// parameters (and CPU overlay values) are written through `queue`, so the encoder must be
    /// submitted before `target` is composed again.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        target: &ComposeTarget,
        cam: Option<CamOverlay<'_>>,
        settings: &ComposeSettings,
        rect: Option<[u32; 4]>,
    ) {
        let (w, h) = target.size;
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
        queue.write_buffer(&target.uniform, 0, bytemuck::bytes_of(&params));
        let mut cached = target.cached.borrow_mut();
        let key = match cam.as_ref().map(|c| c.source) {
            None => OverlayKey::None,
            Some(OverlaySource::Gpu(b)) => OverlayKey::Gpu(b.buffer.clone(), b.offset, b.size),
            Some(OverlaySource::Cpu(values)) => {
                let bytes: &[u8] = bytemuck::cast_slice(values);
                // Storage bindings may not be empty, and writes are whole words.
                let needed = (bytes.len() as u64).max(4);
                if needed > cached.overlay_bytes {
                    let grown = needed.next_power_of_two();
                    cached.overlay = overlay_buffer(device, grown);
                    cached.overlay_bytes = grown;
                    cached.groups.retain(|(k, _)| *k != OverlayKey::Own);
                }
                if !bytes.is_empty() {
                    queue.write_buffer(&cached.overlay, 0, bytes);
                }
                OverlayKey::Own
            }
        };
        if !cached.groups.iter().any(|(k, _)| *k == key) {
            // At most one device-buffer group is kept (the last CAM tensor's range): making any
            // new group drops it, and it is made again when that tensor is drawn next.
            cached
                .groups
                .retain(|(k, _)| !matches!(k, OverlayKey::Gpu(..)));
            let resource = match (&key, cam.as_ref().map(|c| c.source)) {
                (OverlayKey::Gpu(..), Some(OverlaySource::Gpu(b))) => b.as_binding(),
                (OverlayKey::Own, _) => cached.overlay.as_entire_binding(),
                _ => self.no_cam.as_entire_binding(),
            };
            let group = self.bind_group(device, target, resource);
            cached.groups.push((key.clone(), group));
        }
        let Some((_, group)) = cached.groups.iter().find(|(k, _)| *k == key) else {
            return;
        };
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("compose.pass"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, group, &[]);
        super::dispatch(
            &mut pass,
            super::workgroup_count(rw, WORKGROUP),
            super::workgroup_count(rh, WORKGROUP),
            1,
        );
    }

    /// The bind group of `target` with `overlay` as the map.
    fn bind_group(
        &self,
        device: &wgpu::Device,
        target: &ComposeTarget,
        overlay: wgpu::BindingResource<'_>,
    ) -> wgpu::BindGroup {
        let view = |i: usize| wgpu::BindingResource::TextureView(&target.views[i]);
        super::bind_group(
            device,
            "compose.bind_group",
            &self.layout,
            &[
                target.uniform.as_entire_binding(),
                view(0),
                view(1),
                view(2),
                overlay,
                view(3),
            ],
        )
    }
}
