//! Explanations beyond the paper: where the model's evidence for a class lies.
//!
//! - Occlusion by inpainting: erase each cell of a grid by inpainting (not a grey patch, which
//!   is itself out of distribution), classify all variants in batches, and map the drop in the
//!   class's probability.
//! - Class activation maps as images, for `unsee explain --method cam`.
//! - Suggested masks: a map thresholded into a mask the user can refine with the brush.

use burn::tensor::Tensor;
use image::{GrayImage, RgbaImage};

use crate::classify::ClassifyPipeline;
use crate::cpu::compose::{cam_sample, turbo};
use crate::gpu::{GpuContext, burn_buffer, texture};
use crate::inpaint::{InpaintParams, Inpainter, Method};
use crate::passes::HoleBounds;
use crate::{Error, Result, cam, cpu};

/// A map over the image: `grid` = (columns, rows) of `values`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Map {
    /// Columns and rows.
    pub grid: (u32, u32),
    /// One value per cell, row-major.
    pub values: Vec<f32>,
}

impl Map {
    /// Value of cell (x, y).
    pub fn at(&self, x: u32, y: u32) -> f32 {
        self.values[(y * self.grid.0 + x) as usize]
    }

    /// The cell with the largest value.
    pub fn argmax(&self) -> (u32, u32) {
        let i = (0..self.values.len())
            .max_by(|&a, &b| self.values[a].total_cmp(&self.values[b]))
            .unwrap_or(0) as u32;
        (i % self.grid.0, i / self.grid.0)
    }

    /// The map rescaled to 0..1 (min to max).
    pub fn normalized(&self) -> Map {
        let lo = self.values.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = self
            .values
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        let span = (hi - lo).max(1e-12);
        Map {
            grid: self.grid,
            values: self.values.iter().map(|v| (v - lo) / span).collect(),
        }
    }

    /// Bilinear value at image pixel (x, y) of a `size` image (cells cover the image evenly).
    pub fn sample(&self, size: (u32, u32), x: u32, y: u32) -> f32 {
        let place = crate::models::receptive::Placement::even(self.grid, size);
        cam_sample(&self.values, self.grid, &place, x, y)
    }
}

/// Cell `(cx, cy)` of a `grid` over a `w` x `h` image as a pixel rectangle [x0, y0, x1, y1).
pub fn cell_rect((w, h): (u32, u32), grid: (u32, u32), (cx, cy): (u32, u32)) -> [u32; 4] {
    [
        cx * w / grid.0,
        cy * h / grid.1,
        (cx + 1) * w / grid.0,
        (cy + 1) * h / grid.1,
    ]
}

/// An occlusion map being computed, one batch of cells at a time (so a window can show progress
/// between batches).
pub struct OcclusionRun {
    /// The class whose probability is watched.
    pub class: usize,
    /// Cells per side.
    pub grid: u32,
    base: f32,
    cells: Vec<(u32, u32)>,
    drops: Vec<f32>,
    original: wgpu::Texture,
    scratch: wgpu::Texture,
}

impl OcclusionRun {
    /// Prepares the run: classifies the untouched image once.
    pub fn new(
        gpu: &GpuContext,
        pipeline: &ClassifyPipeline,
        img: &RgbaImage,
        class: usize,
        grid: u32,
    ) -> Result<Self> {
        crate::limits::check("the occlusion grid", grid, &crate::limits::GRID)
            .map_err(Error::Invalid)?;
        let (w, h) = img.dimensions();
        if grid > w.min(h) {
            // Some cells would be empty: nothing to erase there.
            return Err(Error::Invalid(format!(
                "the occlusion grid {grid} is finer than the {w}x{h} image: use at most {}",
                w.min(h)
            )));
        }
        if class >= 1000 {
            return Err(Error::Invalid(format!(
                "class {class} is not an ImageNet class (0..999)"
            )));
        }
        let base = probabilities_of(gpu, pipeline, std::slice::from_ref(img), &[])?[0][class];
        Ok(Self {
            class,
            grid,
            base,
            cells: (0..grid)
                .flat_map(|y| (0..grid).map(move |x| (x, y)))
                .collect(),
            drops: Vec::new(),
            original: texture::upload_rgba(&gpu.device, &gpu.queue, img, "explain.original")?,
            scratch: texture::upload_rgba(&gpu.device, &gpu.queue, img, "explain.scratch")?,
        })
    }

    /// (cells done, cells in all).
    pub fn progress(&self) -> (usize, usize) {
        (self.drops.len(), self.cells.len())
    }

    /// The map, once every cell is done.
    pub fn finished(&self) -> Option<Map> {
        (self.drops.len() == self.cells.len()).then(|| Map {
            grid: (self.grid, self.grid),
            values: self.drops.clone(),
        })
    }

    /// Erases and classifies the next `batch` cells.
    pub fn step(
        &mut self,
        gpu: &GpuContext,
        inpainter: &Inpainter,
        pipeline: &ClassifyPipeline,
        img: &RgbaImage,
        fill: &InpaintParams,
        batch: usize,
    ) -> Result<()> {
        let size = img.dimensions();
        let start = self.drops.len();
        let end = (start + batch.max(1)).min(self.cells.len());
        let (grid, original, scratch) = (self.grid, &self.original, &self.scratch);
        let chunk = &self.cells[start..end];
        let mut variants_cpu = Vec::new();
        let mut inputs = Vec::new();
        for &cell in chunk {
            let [x0, y0, x1, y1] = cell_rect(size, (grid, grid), cell);
            let mask = GrayImage::from_fn(size.0, size.1, |x, y| {
                image::Luma([u8::from((x0..x1).contains(&x) && (y0..y1).contains(&y)) * 255])
            });
            if pipeline.on_gpu {
                // Fill on the GPU and preprocess straight into burn's buffer.
                let hole = HoleBounds::from_mask(&mask).ok_or_else(|| {
                    Error::Invalid("a cell covers the whole image: use a larger grid".into())
                })?;
                let mask_tex = texture::upload_mask(&gpu.device, &gpu.queue, &mask, "explain.mask");
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                encoder.copy_texture_to_texture(
                    original.as_image_copy(),
                    scratch.as_image_copy(),
                    texture::extent(size.0, size.1),
                );
                inpainter.encode(
                    &gpu.device,
                    &mut encoder,
                    original,
                    &mask_tex,
                    scratch,
                    &mask,
                    &hole,
                    fill,
                    &mut crate::passes::PatchMatchCache::default(),
                    false,
                )?;
                gpu.queue.submit([encoder.finish()]);
                inputs.push(pipeline.input_from_texture(gpu, scratch)?);
            } else {
                variants_cpu.push(fill_cpu(img, &mask, fill)?);
            }
        }
        let probs = probabilities_of(gpu, pipeline, &variants_cpu, &inputs)?;
        let (base, class) = (self.base, self.class);
        self.drops.extend(probs.iter().map(|p| base - p[class]));
        Ok(())
    }
}

/// Probability drop of `class` when each cell of a `grid` x `grid` grid is erased by inpainting
/// (`fill`). Variants are classified in batches of `batch`; `progress(done, total)` is called
/// after each batch.
#[allow(clippy::too_many_arguments)]
pub fn occlusion_map(
    gpu: &GpuContext,
    inpainter: &Inpainter,
    pipeline: &ClassifyPipeline,
    img: &RgbaImage,
    class: usize,
    grid: u32,
    fill: &InpaintParams,
    batch: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<Map> {
    let mut run = OcclusionRun::new(gpu, pipeline, img, class, grid)?;
    loop {
        if let Some(map) = run.finished() {
            return Ok(map);
        }
        run.step(gpu, inpainter, pipeline, img, fill, batch)?;
        let (done, total) = run.progress();
        progress(done, total);
    }
}

fn fill_cpu(img: &RgbaImage, mask: &GrayImage, fill: &InpaintParams) -> Result<RgbaImage> {
    match fill.method {
        Method::Telea => cpu::telea::telea(img, mask, fill.telea.radius),
        Method::PatchMatch => cpu::patchmatch::patchmatch(img, mask, &fill.patchmatch)
            .map(|r| r.image)
            .or_else(|_| cpu::telea::telea(img, mask, fill.telea.radius)),
    }
}

/// Class probabilities of a batch: images in CPU memory, or inputs already built on the GPU.
fn probabilities_of(
    gpu: &GpuContext,
    pipeline: &ClassifyPipeline,
    images: &[RgbaImage],
    inputs: &[Tensor<4>],
) -> Result<Vec<Vec<f32>>> {
    let mut all: Vec<Tensor<4>> = inputs.to_vec();
    all.extend(images.iter().map(|i| pipeline.input_from_image(i)));
    if all.is_empty() {
        return Ok(Vec::new());
    }
    let n = all.len();
    let batch = Tensor::cat(all, 0);
    let logits = pipeline.forward(batch).logits;
    let probs = crate::classify::read_probabilities(gpu, logits)?;
    Ok(probs.chunks(probs.len() / n).map(<[f32]>::to_vec).collect())
}

/// The class activation map of `class` for `img` as a grid, normalised to 0..1.
pub fn cam_map(
    gpu: &GpuContext,
    pipeline: &ClassifyPipeline,
    img: &RgbaImage,
    class: usize,
) -> Result<Map> {
    if class >= 1000 {
        return Err(Error::Invalid(format!(
            "class {class} is not an ImageNet class (0..999)"
        )));
    }
    let input = if pipeline.on_gpu {
        let tex = texture::upload_rgba(&gpu.device, &gpu.queue, img, "explain.image")?;
        pipeline.input_from_texture(gpu, &tex)?
    } else {
        pipeline.input_from_image(img)
    };
    let out = pipeline.forward(input);
    let map = pipeline.class_activation(&out.features, class);
    let [h, w] = map.dims();
    let normed = cam::normalize(vec![map], false).remove(0);
    if burn_buffer::is_wgpu(&normed) {
        gpu.health.check()?;
    }
    let values = normed
        .try_into_data()
        .map_err(|e| Error::Gpu(format!("reading the CAM: {e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| Error::Gpu(format!("CAM has an unexpected type: {e:?}")))?;
    Ok(Map {
        grid: (w as u32, h as u32),
        values,
    })
}

/// A suggested mask: the pixels where the (normalised) map is at least `threshold`.
pub fn suggested_mask(map: &Map, size: (u32, u32), threshold: f32) -> GrayImage {
    let norm = map.normalized();
    GrayImage::from_fn(size.0, size.1, |x, y| {
        image::Luma([u8::from(norm.sample(size, x, y) >= threshold) * 255])
    })
}

/// `img` with `map` (normalised) overlaid in the Turbo colour map at `opacity`.
pub fn overlay(img: &RgbaImage, map: &Map, opacity: f32) -> RgbaImage {
    let norm = map.normalized();
    let size = img.dimensions();
    RgbaImage::from_fn(size.0, size.1, |x, y| {
        let p = img.get_pixel(x, y);
        let c = turbo(norm.sample(size, x, y));
        let mix =
            |i: usize| (f32::from(p[i]) * (1.0 - opacity) + c[i] * 255.0 * opacity).round() as u8;
        image::Rgba([mix(0), mix(1), mix(2), 255])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_tile_the_image() {
        let size = (100, 70);
        let mut covered = vec![0u8; 100 * 70];
        for cy in 0..7 {
            for cx in 0..7 {
                let [x0, y0, x1, y1] = cell_rect(size, (7, 7), (cx, cy));
                for y in y0..y1 {
                    for x in x0..x1 {
                        covered[(y * 100 + x) as usize] += 1;
                    }
                }
            }
        }
        assert!(covered.iter().all(|&c| c == 1));
    }

    #[test]
    fn suggested_mask_is_the_thresholded_map() {
        let map = Map {
            grid: (2, 1),
            values: vec![0.0, 10.0],
        };
        let mask = suggested_mask(&map, (4, 1), 0.5);
        let norm = map.normalized();
        for x in 0..4 {
            let want = norm.sample((4, 1), x, 0) >= 0.5;
            assert_eq!(mask.get_pixel(x, 0)[0] != 0, want);
        }
        assert_eq!(mask.get_pixel(0, 0)[0], 0);
        assert_eq!(mask.get_pixel(3, 0)[0], 255);
        assert_eq!(map.argmax(), (1, 0));
    }
}
