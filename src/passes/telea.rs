//! `TeleaPass`: Telea's fast-marching inpainting on the GPU (see `shaders/telea.wgsl` for the
//! parallel schedule and how it differs from the sequential original in `src/cpu/telea.rs`).

use image::GrayImage;

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

/// Where the hole is and how deep it can be: decides the region the passes cover and how many
/// dispatches they need (the GPU is never asked, so nothing is read back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoleBounds {
    /// Bounding box of the hole: x, y, width, height (image pixels).
    pub rect: [u32; 4],
    /// Upper bound of the distance from any hole pixel to the nearest known pixel.
    pub depth: u32,
}

impl HoleBounds {
    /// Bounds of the non-zero pixels of `mask`, or `None` for an empty mask. The depth comes from
    /// a chamfer distance transform (3-4 weights), which never underestimates by more than 8%;
    /// the margin added covers that and the eikonal solution's own excess.
    pub fn from_mask(mask: &GrayImage) -> Option<Self> {
        let (w, h) = (mask.width() as usize, mask.height() as usize);
        let hole = |x: usize, y: usize| mask.as_raw()[y * w + x] != 0;
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for y in 0..h {
            for x in 0..w {
                if hole(x, y) {
                    x0 = x0.min(x);
                    y0 = y0.min(y);
                    x1 = x1.max(x);
                    y1 = y1.max(y);
                }
            }
        }
        if x0 == usize::MAX {
            return None;
        }
        // Chamfer distance (in thirds of a pixel) from each hole pixel to the nearest known one,
        // over the hole's box grown by one pixel: everything outside the box is known, and beyond
        // the image there is nothing known.
        const INF: u32 = u32::MAX / 2;
        let (rx0, ry0) = (x0.saturating_sub(1), y0.saturating_sub(1));
        let (rx1, ry1) = ((x1 + 2).min(w), (y1 + 2).min(h));
        let rw = rx1 - rx0;
        let mut d: Vec<u32> = (ry0..ry1)
            .flat_map(|y| (rx0..rx1).map(move |x| (x, y)))
            .map(|(x, y)| if hole(x, y) { INF } else { 0 })
            .collect();
        let at = |d: &Vec<u32>, x: isize, y: isize| -> u32 {
            if x < 0 || y < 0 || x >= w as isize || y >= h as isize {
                INF
            } else if x < rx0 as isize || y < ry0 as isize || x >= rx1 as isize || y >= ry1 as isize
            {
                0
            } else {
                d[(y as usize - ry0) * rw + (x as usize - rx0)]
            }
        };
        for y in ry0 as isize..ry1 as isize {
            for x in rx0 as isize..rx1 as isize {
                let i = (y as usize - ry0) * rw + (x as usize - rx0);
                if d[i] == 0 {
                    continue;
                }
                let m = [
                    at(&d, x - 1, y) + 3,
                    at(&d, x, y - 1) + 3,
                    at(&d, x - 1, y - 1) + 4,
                    at(&d, x + 1, y - 1) + 4,
                ];
                d[i] = d[i].min(m.into_iter().min().unwrap_or(INF));
            }
        }
        for y in (ry0 as isize..ry1 as isize).rev() {
            for x in (rx0 as isize..rx1 as isize).rev() {
                let i = (y as usize - ry0) * rw + (x as usize - rx0);
                if d[i] == 0 {
                    continue;
                }
                let m = [
                    at(&d, x + 1, y) + 3,
                    at(&d, x, y + 1) + 3,
                    at(&d, x + 1, y + 1) + 4,
                    at(&d, x - 1, y + 1) + 4,
                ];
                d[i] = d[i].min(m.into_iter().min().unwrap_or(INF));
            }
        }
        let max = d.iter().copied().max().unwrap_or(0);
        if max >= INF {
            return None; // the whole image is hole: nothing to fill from
        }
        let depth = (f64::from(max) / 3.0 * 1.1).ceil() as u32 + 2;
        Some(Self {
            rect: [
                x0 as u32,
                y0 as u32,
                (x1 - x0 + 1) as u32,
                (y1 - y0 + 1) as u32,
            ],
            depth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hole_bounds_box_and_depth() {
        // A 9-wide vertical band: depth 5 (the centre column is 5 from the nearest known pixel).
        let mask = GrayImage::from_fn(40, 30, |x, _| {
            image::Luma([u8::from((10..19).contains(&x)) * 255])
        });
        let b = HoleBounds::from_mask(&mask).unwrap();
        assert_eq!(b.rect, [10, 0, 9, 30]);
        assert!((5..=9).contains(&b.depth), "{}", b.depth);
        // Touching the left border: the depth runs across the whole hole.
        let edge = GrayImage::from_fn(40, 30, |x, _| image::Luma([u8::from(x < 12) * 255]));
        assert!(HoleBounds::from_mask(&edge).unwrap().depth >= 12);
        assert!(HoleBounds::from_mask(&GrayImage::new(5, 5)).is_none());
        assert!(HoleBounds::from_mask(&GrayImage::from_pixel(5, 5, image::Luma([1]))).is_none());
    }
}

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

/// Fills the masked pixels of an RGBA8 texture by Telea's method, on the GPU.
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
        self.encode_tiled(device, encoder, image, mask, output, hole, params, whole)
    }

    /// [`TeleaPass::encode`] for an atlas of independent images, each `tile` pixels, starting at
    /// the top-left corner: every tile is filled as if it were alone (neighbours across a tile
    /// edge count as beyond the image), all in one chain of dispatches. `hole.depth` must bound
    /// every tile's own depth (the deepest tile's [`HoleBounds::from_mask`]).
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

        // Jacobi steps: the front moves one pixel a step (up to √2 of T along a diagonal
        // staircase), inside to the hole's depth and outside to twice the radius. Even, so that
        // the result ends in `t_a`.
        let depth = hole.depth.max(1);
        let steps = ((depth * 3).div_ceil(2) + 2)
            .max(2 * radius + 4)
            .next_multiple_of(2);
        let bands = (depth + 1) * BANDS_PER_PIXEL;

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
        let uniforms = DynamicUniforms::new(device, "telea.params", &entries);
        let buffer = |label: &str| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: pixels * 4,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        };
        let color = buffer("telea.color");
        let flags = buffer("telea.flags");
        let t_a = buffer("telea.t_a");
        let t_b = buffer("telea.t_b");
        let state = |t_read: &wgpu::Buffer, t_write: &wgpu::Buffer| {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("telea.state"),
                layout: &self.state_layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: uniforms.binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: color.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: flags.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: t_read.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 4,
                        resource: t_write.as_entire_binding(),
                    },
                ],
            })
        };
        // to_a: writes t_a (reads t_b); to_b: writes t_b (reads t_a).
        let to_a = state(&t_b, &t_a);
        let to_b = state(&t_a, &t_b);
        let image_view = image.create_view(&Default::default());
        let mask_view = mask.create_view(&Default::default());
        let output_view = output.create_view(&Default::default());
        let input = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("telea.input"),
            layout: &self.input_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&image_view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&mask_view),
                },
            ],
        });
        let out = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("telea.output"),
            layout: &self.output_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(&output_view),
            }],
        });

        let groups = [
            super::workgroup_count(size[0], WORKGROUP),
            super::workgroup_count(size[1], WORKGROUP),
        ];
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("telea.pass"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.init);
        pass.set_bind_group(0, &to_a, &[0]);
        pass.set_bind_group(1, &input, &[]);
        super::dispatch(&mut pass, groups[0], groups[1], 1);

        pass.set_pipeline(&self.eikonal);
        for step in 0..steps {
            pass.set_bind_group(0, if step % 2 == 0 { &to_b } else { &to_a }, &[0]);
            super::dispatch(&mut pass, groups[0], groups[1], 1);
        }

        // T is in t_a: `to_b` reads it.
        pass.set_pipeline(&self.fill);
        for band in 0..=bands {
            pass.set_bind_group(0, &to_b, &[uniforms.offset(band as usize)]);
            super::dispatch(&mut pass, groups[0], groups[1], 1);
        }

        pass.set_pipeline(&self.store);
        pass.set_bind_group(0, &to_b, &[0]);
        pass.set_bind_group(1, &out, &[]);
        super::dispatch(&mut pass, groups[0], groups[1], 1);
        Ok(())
    }
}
