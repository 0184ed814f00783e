//! `TeleaPass`: Telea's fast-marching inpainting on the GPU (see `shaders/telea.wgsl` for the
//! parallel schedule and how it differs from the sequential original in `src/cpu/telea.rs`).

use super::{DynamicUniforms, layout};
use crate::Result;
use crate::error::check_mask_size;

/// Workgroup side. NOTE: keep in sync with WORKGROUP in shaders/telea.wgsl.
const WORKGROUP: u32 = 8;
/// Bands per unit of T. NOTE: keep in sync with BANDS_PER_PIXEL in shaders/telea.wgsl.
const BANDS_PER_PIXEL: u32 = 4;

/// Settings of a Telea fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TeleaParams {
    /// Neighbourhood radius ε in pixels (OpenCV's `inpaintRadius`).
    pub radius: u32,
}

impl Default for TeleaParams {
    fn default() -> Self {
        Self {
            radius: crate::cpu::telea::DEFAULT_RADIUS,
        }
    }
}

pub use crate::plan::HoleBounds;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    origin: [u32; 2],
    size: [u32; 2],
    radius: i32,
    band: u32,
    last: u32,
    _pad: u32,
    tile: [u32; 2],
    // WGSL rounds the struct up to its 8-byte alignment: 40 bytes, no tail padding needed.
}

/// The length of the dispatch chain for a hole `depth` deep: Jacobi steps of the eikonal
/// solve and fill bands. The front moves one pixel a step (up to √2 of T along a diagonal
/// staircase), inside to the hole's depth and outside to twice the radius; the step count is
/// even, so that the result ends in `t_a`.
fn chain(depth: u32, radius: u32) -> (u32, u32) {
    let depth = depth.max(1);
    let steps = ((depth * 3).div_ceil(2) + 2)
        .max(2 * radius + 4)
        .next_multiple_of(2);
    (steps, (depth + 1) * BANDS_PER_PIXEL)
}

/// Fills the masked pixels of an RGBA8 texture by Telea's method, on the GPU (a clone shares
/// the pipelines).
#[derive(Clone)]
pub struct TeleaPass {
    init: wgpu::ComputePipeline,
    eikonal: wgpu::ComputePipeline,
    fill: wgpu::ComputePipeline,
    store: wgpu::ComputePipeline,
    state_layout: wgpu::BindGroupLayout,
    input_layout: wgpu::BindGroupLayout,
    output_layout: wgpu::BindGroupLayout,
}

impl TeleaPass {
    /// Builds the four pipelines.
    pub fn new(device: &wgpu::Device) -> Result<Self> {
        let state_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("telea.state_layout"),
            entries: &[
                layout::uniform(0, Some(std::mem::size_of::<Params>() as u64)),
                layout::storage(1, false),
                layout::storage(2, false),
                layout::storage(3, true),
                layout::storage(4, false),
            ],
        });
        let input_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("telea.input_layout"),
            entries: &[layout::texture(0), layout::texture(1)],
        });
        let output_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("telea.output_layout"),
            entries: &[layout::storage_texture(
                0,
                crate::gpu::texture::IMAGE_FORMAT,
            )],
        });
        let source = include_str!("../../shaders/telea.wgsl");
        let pipeline = |entry: &str, groups: &[Option<&wgpu::BindGroupLayout>]| {
            let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("telea.pipeline_layout"),
                bind_group_layouts: groups,
                immediate_size: 0,
            });
            super::compute_pipeline_entry(
                device,
                &format!("telea.{entry}"),
                "shaders/telea.wgsl",
                source,
                entry,
                &layout,
            )
        };
        let init = pipeline("init", &[Some(&state_layout), Some(&input_layout)])?;
        let eikonal = pipeline("eikonal", &[Some(&state_layout)])?;
        let fill = pipeline("fill", &[Some(&state_layout)])?;
        let store = pipeline("store", &[Some(&state_layout), Some(&output_layout)])?;
        Ok(Self {
            init,
            eikonal,
            fill,
            store,
            state_layout,
            input_layout,
            output_layout,
        })
    }

    /// Records a fill of the hole described by `mask` (any float-sampled format; red > 0 = hole)
    /// into `output`. Only hole pixels are written: `output` must already hold the image (it may
    /// be `image` itself, for an in-place fill). `hole` must bound the mask's non-zero pixels.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        image: &wgpu::Texture,
        mask: &wgpu::Texture,
        output: &wgpu::Texture,
        hole: &HoleBounds,
        params: &TeleaParams,
    ) -> Result<()> {
        let whole = (image.width(), image.height());
        self.record(
            device,
            encoder,
            image,
            mask,
            output,
            hole,
            params,
            whole,
            &[],
            None,
        )
    }

    /// [`TeleaPass::encode`] for an atlas of independent images, each `tile` pixels, starting at
    /// the top-left corner: every tile is filled as if it were alone (neighbours across a tile
    /// edge count as beyond the image), all in one chain of dispatches. `hole.depth` must bound
    /// every tile's own depth (the deepest tile's [`HoleBounds::from_mask`]).
    ///
    /// `depths`, when not empty, is each tile's own depth in row-major order (at most one per
    /// tile): a tile then gets only the steps and bands its depth needs, as it would alone, and
    /// each dispatch covers the tiles still at work — with the deepest tiles first, later
    /// dispatches shrink towards the atlas's first tile. Each depth must then bound its tile's
    /// T, as [`HoleBounds::from_mask`]'s does (with a margin): a tile's own last band has no
    /// catch-all for deeper pixels, as the chain's last band has for the deepest tile.
    #[allow(clippy::too_many_arguments)]
    pub fn encode_tiled(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        image: &wgpu::Texture,
        mask: &wgpu::Texture,
        output: &wgpu::Texture,
        hole: &HoleBounds,
        params: &TeleaParams,
        tile: (u32, u32),
        depths: &[u32],
    ) -> Result<()> {
        self.record(
            device, encoder, image, mask, output, hole, params, tile, depths, None,
        )
    }

    /// [`TeleaPass::encode`] with the buffers and bind groups kept in `scratch` (made on the
    /// first fill, remade only when a fill needs more room or other textures): what the live
    /// edit uses, so that a job creates no GPU resource. The fill's parameters are written
    /// through `queue` and land at the next submit: submit the encoder before recording another
    /// fill with the same scratch.
    #[allow(clippy::too_many_arguments)]
    pub fn encode_reusing(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        image: &wgpu::Texture,
        mask: &wgpu::Texture,
        output: &wgpu::Texture,
        hole: &HoleBounds,
        params: &TeleaParams,
        scratch: &mut TeleaScratch,
    ) -> Result<()> {
        let whole = (image.width(), image.height());
        self.record(
            device,
            encoder,
            image,
            mask,
            output,
            hole,
            params,
            whole,
            &[],
            Some((queue, scratch)),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        image: &wgpu::Texture,
        mask: &wgpu::Texture,
        output: &wgpu::Texture,
        hole: &HoleBounds,
        params: &TeleaParams,
        tile: (u32, u32),
        depths: &[u32],
        reuse: Option<(&wgpu::Queue, &mut TeleaScratch)>,
    ) -> Result<()> {
        if tile.0 == 0 || tile.1 == 0 {
            return Err(crate::Error::Invalid("an empty Telea tile".into()));
        }
        let (w, h) = (image.width(), image.height());
        check_mask_size((mask.width(), mask.height()), (w, h))?;
        check_mask_size((output.width(), output.height()), (w, h))?;
        let radius = params.radius.clamp(1, 100);
        // Region: the hole's box grown by the radius (the window) plus one (the band).
        let margin = radius + 2;
        let [hx, hy, hw, hh] = hole.rect;
        let x0 = hx.saturating_sub(margin);
        let y0 = hy.saturating_sub(margin);
        let x1 = (hx + hw + margin).min(w);
        let y1 = (hy + hh + margin).min(h);
        if x1 <= x0 || y1 <= y0 {
            return Ok(());
        }
        let size = [x1 - x0, y1 - y0];
        let pixels = u64::from(size[0]) * u64::from(size[1]);

        let (steps, bands) = chain(hole.depth, radius);
        let tiles = u64::from(w.div_ceil(tile.0)) * u64::from(h.div_ceil(tile.1));
        if depths.len() as u64 > tiles {
            return Err(crate::Error::Invalid(format!(
                "{} tile depths for an atlas of {tiles} tiles",
                depths.len()
            )));
        }
        // Per dispatch, the workgroups that cover every tile still at work (all of them without
        // `depths`): the rows down to the last busy tile, and within a single row the columns.
        let tile_chains: Vec<(u32, u32)> = depths.iter().map(|&d| chain(d, radius)).collect();
        let cols = size[0].div_ceil(tile.0).max(1);
        let all = [
            super::workgroup_count(size[0], WORKGROUP),
            super::workgroup_count(size[1], WORKGROUP),
        ];
        let groups_for = |busy: &dyn Fn(&(u32, u32)) -> bool| -> [u32; 2] {
            if tile_chains.is_empty() {
                return all;
            }
            let last = tile_chains.iter().rposition(busy).unwrap_or(0) as u32;
            let (rows, width) = if last < cols {
                (1, (last + 1) * tile.0)
            } else {
                (last / cols + 1, size[0])
            };
            [
                super::workgroup_count(width.min(size[0]), WORKGROUP),
                super::workgroup_count((rows * tile.1).min(size[1]), WORKGROUP),
            ]
        };

        let entries: Vec<Params> = (0..=bands)
            .map(|band| Params {
                origin: [x0, y0],
                size,
                radius: radius as i32,
                band,
                last: u32::from(band == bands),
                _pad: 0,
                tile: [tile.0, tile.1],
            })
            .collect();
        let (fresh_state, fresh_io);
        let (state, io) = match reuse {
            None => {
                let uniforms = DynamicUniforms::new(device, "telea.params", &entries);
                fresh_state = self.state(device, pixels, uniforms);
                fresh_io = self.io(device, image, mask, output);
                (&fresh_state, &fresh_io)
            }
            Some((queue, scratch)) => {
                // Room for the whole image, so one image needs one set of buffers.
                let room = pixels.max(u64::from(w) * u64::from(h));
                if !scratch
                    .state
                    .as_ref()
                    .is_some_and(|s| s.pixels >= pixels && s.uniforms.capacity() >= entries.len())
                {
                    scratch.state = None;
                }
                let state = scratch.state.get_or_insert_with(|| {
                    let capacity = entries.len().next_power_of_two();
                    let uniforms =
                        DynamicUniforms::with_capacity::<Params>(device, "telea.params", capacity);
                    self.state(device, room, uniforms)
                });
                state.uniforms.write(queue, &entries);
                let same = |io: &Io| io.textures == [image, mask, output].map(Clone::clone);
                if !scratch.io.as_ref().is_some_and(same) {
                    scratch.io = None;
                }
                let io = scratch
                    .io
                    .get_or_insert_with(|| self.io(device, image, mask, output));
                (&*state, &*io)
            }
        };
        let uniforms = &state.uniforms;
        let (to_a, to_b, input, out) = (&state.to_a, &state.to_b, &io.input, &io.output);

        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("telea.pass"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.init);
        pass.set_bind_group(0, to_a, &[0]);
        pass.set_bind_group(1, input, &[]);
        super::dispatch(&mut pass, all[0], all[1], 1);

        pass.set_pipeline(&self.eikonal);
        for step in 0..steps {
            pass.set_bind_group(0, if step % 2 == 0 { to_b } else { to_a }, &[0]);
            let [gx, gy] = groups_for(&|&(s, _)| step < s);
            super::dispatch(&mut pass, gx, gy, 1);
        }

        // T is in t_a: `to_b` reads it.
        pass.set_pipeline(&self.fill);
        for band in 0..=bands {
            pass.set_bind_group(0, to_b, &[uniforms.offset(band as usize)]);
            let [gx, gy] = if band == bands {
                all
            } else {
                groups_for(&|&(_, b)| band <= b)
            };
            super::dispatch(&mut pass, gx, gy, 1);
        }

        pass.set_pipeline(&self.store);
        pass.set_bind_group(0, to_b, &[0]);
        pass.set_bind_group(1, out, &[]);
        super::dispatch(&mut pass, all[0], all[1], 1);
        Ok(())
    }

    /// The working buffers for a region of up to `pixels`, and their two bind groups.
    fn state(&self, device: &wgpu::Device, pixels: u64, uniforms: DynamicUniforms) -> State {
        let buffer = |label: &str| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: pixels * 4,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        };
        let buffers = [
            buffer("telea.color"),
            buffer("telea.flags"),
            buffer("telea.t_a"),
            buffer("telea.t_b"),
        ];
        let [color, flags, t_a, t_b] = &buffers;
        let group = |t_read: &wgpu::Buffer, t_write: &wgpu::Buffer| {
            super::bind_group(
                device,
                "telea.state",
                &self.state_layout,
                &[
                    uniforms.binding(),
                    color.as_entire_binding(),
                    flags.as_entire_binding(),
                    t_read.as_entire_binding(),
                    t_write.as_entire_binding(),
                ],
            )
        };
        // to_a: writes t_a (reads t_b); to_b: writes t_b (reads t_a).
        let (to_a, to_b) = (group(t_b, t_a), group(t_a, t_b));
        State {
            pixels,
            uniforms,
            _buffers: buffers,
            to_a,
            to_b,
        }
    }

    /// The bind groups of a fill's input and output textures.
    fn io(
        &self,
        device: &wgpu::Device,
        image: &wgpu::Texture,
        mask: &wgpu::Texture,
        output: &wgpu::Texture,
    ) -> Io {
        let image_view = image.create_view(&Default::default());
        let mask_view = mask.create_view(&Default::default());
        let output_view = output.create_view(&Default::default());
        let input = super::bind_group(
            device,
            "telea.input",
            &self.input_layout,
            &[
                wgpu::BindingResource::TextureView(&image_view),
                wgpu::BindingResource::TextureView(&mask_view),
            ],
        );
        let output_group = super::bind_group(
            device,
            "telea.output",
            &self.output_layout,
            &[wgpu::BindingResource::TextureView(&output_view)],
        );
        Io {
            textures: [image.clone(), mask.clone(), output.clone()],
            input,
            output: output_group,
        }
    }
}

/// Working buffers (packed colours, flags, two T buffers), the parameters and the bind groups
/// over them.
struct State {
    /// Pixels each buffer has room for.
    pixels: u64,
    uniforms: DynamicUniforms,
    _buffers: [wgpu::Buffer; 4],
    to_a: wgpu::BindGroup,
    to_b: wgpu::BindGroup,
}

/// Bind groups of the textures a fill reads and writes, and which textures they are.
struct Io {
    textures: [wgpu::Texture; 3],
    input: wgpu::BindGroup,
    output: wgpu::BindGroup,
}

/// A live edit's Telea resources, kept between its fills ([`TeleaPass::encode_reusing`]): one
/// image's worth of working buffers, the parameter buffer and the bind groups, so that a job
/// records dispatches and writes its parameters but creates nothing.
#[derive(Default)]
pub struct TeleaScratch {
    state: Option<State>,
    io: Option<Io>,
}
