//! Erased variants of one image, classified together: each mask's pixels are removed by
//! inpainting (on the GPU when the classifier runs there), then one forward pass takes them all.
//! Occlusion maps and deletion/insertion curves are both made of such batches.

use std::sync::Arc;

use burn::tensor::Tensor;
use image::{GrayImage, RgbaImage};

use crate::classify::ClassifyPipeline;
use crate::gpu::readback::Readback;
use crate::gpu::{GpuContext, texture};
use crate::inpaint::{InpaintParams, Inpainter, Method};
use crate::passes::preprocess::Item;
use crate::passes::{HoleBounds, PatchMatchCache};
use crate::{Error, Result, cpu};

/// One image ready to be erased many times: on the GPU path its texture, a scratch texture the
/// fills write into and, for Telea, an atlas of copies of the image that many variants are filled
/// in at once (one dispatch chain for all, instead of one per variant). Made once and kept for the
/// image's lifetime, not per variant.
pub struct Eraser {
    img: Arc<RgbaImage>,
    textures: Option<(wgpu::Texture, wgpu::Texture)>,
    atlas: std::cell::OnceCell<Atlas>,
}

/// Copies of one image side by side, with a mask and an output of the same size.
struct Atlas {
    cols: u32,
    rows: u32,
    image: wgpu::Texture,
    output: wgpu::Texture,
    mask: wgpu::Texture,
}

/// Most variants filled in one atlas (bounded by the device's texture size and by
/// [`ATLAS_PIXELS`] too).
const ATLAS_TILES: u32 = 32;
/// Most pixels in one atlas: 8 M, 32 MB a texture (ten 1024x768 photos, 32 at 224²).
const ATLAS_PIXELS: u64 = 8 << 20;

impl Atlas {
    fn new(gpu: &GpuContext, img: &RgbaImage) -> Result<Self> {
        let (w, h) = img.dimensions();
        let max = gpu.device.limits().max_texture_dimension_2d;
        let by_pixels = (ATLAS_PIXELS / (u64::from(w) * u64::from(h)).max(1)) as u32;
        let tiles = by_pixels.clamp(1, ATLAS_TILES);
        let cols = (max / w).clamp(1, tiles);
        let rows = (max / h).clamp(1, tiles.div_ceil(cols));
        let mut tiled = RgbaImage::new(cols * w, rows * h);
        for r in 0..rows {
            for c in 0..cols {
                image::imageops::replace(&mut tiled, img, i64::from(c * w), i64::from(r * h));
            }
        }
        let image = texture::upload_rgba(&gpu.device, &gpu.queue, &tiled, "erase.atlas")?;
        let output = texture::upload_rgba(&gpu.device, &gpu.queue, &tiled, "erase.atlas_out")?;
        let mask = texture::upload_mask(
            &gpu.device,
            &gpu.queue,
            &GrayImage::new(cols * w, rows * h),
            "erase.atlas_mask",
        );
        Ok(Self {
            cols,
            rows,
            image,
            output,
            mask,
        })
    }

    fn tiles(&self) -> usize {
        (self.cols * self.rows) as usize
    }
}

impl Eraser {
    /// Prepares `img` for `pipeline` (uploads it when inference runs on the GPU).
    pub fn new(gpu: &GpuContext, pipeline: &ClassifyPipeline, img: &RgbaImage) -> Result<Self> {
        let textures = if pipeline.on_gpu {
            Some((
                texture::upload_rgba(&gpu.device, &gpu.queue, img, "erase.original")?,
                texture::upload_rgba(&gpu.device, &gpu.queue, img, "erase.scratch")?,
            ))
        } else {
            None
        };
        Ok(Self {
            img: Arc::new(img.clone()),
            textures,
            atlas: std::cell::OnceCell::new(),
        })
    }

    /// The image being erased.
    pub fn image(&self) -> &RgbaImage {
        &self.img
    }

    /// The image being erased, shared.
    pub fn shared_image(&self) -> Arc<RgbaImage> {
        Arc::clone(&self.img)
    }

    /// Class probabilities of the image with each mask's pixels removed, in mask order. An empty
    /// mask leaves the image as it is; a mask over every pixel leaves nothing to inpaint from, so
    /// that variant is the image's mean colour everywhere (the fully removed image). Waits for
    /// the batch ([`Eraser::start`] does not).
    pub fn probabilities(
        &self,
        gpu: &GpuContext,
        inpainter: &Inpainter,
        pipeline: &ClassifyPipeline,
        masks: &[GrayImage],
        fill: &InpaintParams,
    ) -> Result<Vec<Vec<f32>>> {
        self.probabilities_while(gpu, inpainter, pipeline, masks, fill, &|| true)
    }

    /// [`Eraser::probabilities`], given up (an error) as soon as `wanted` says the answer is no
    /// longer wanted: checked before each variant's fill, so a cancelled batch on the CPU path
    /// stops between its fills rather than after them all and the forward pass.
    pub fn probabilities_while(
        &self,
        gpu: &GpuContext,
        inpainter: &Inpainter,
        pipeline: &ClassifyPipeline,
        masks: &[GrayImage],
        fill: &InpaintParams,
        wanted: Wanted<'_>,
    ) -> Result<Vec<Vec<f32>>> {
        self.start(
            gpu,
            inpainter,
            pipeline,
            masks,
            fill,
            Batching::Atlas,
            wanted,
        )?
        .wait(gpu)
    }

    /// [`Eraser::probabilities`] without waiting: the batch's fills, preprocessing and forward
    /// pass are recorded on the GPU's queue (on the CPU path, computed) and its rows start on
    /// their way back. `batching` says whether Telea variants share an atlas; `wanted` is
    /// checked before each variant (see [`Eraser::probabilities_while`]).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &self,
        gpu: &GpuContext,
        inpainter: &Inpainter,
        pipeline: &ClassifyPipeline,
        masks: &[GrayImage],
        fill: &InpaintParams,
        batching: Batching,
        wanted: Wanted<'_>,
    ) -> Result<PendingRows> {
        let size = self.img.dimensions();
        check_masks(size, masks)?;
        let Some((original, scratch)) = &self.textures else {
            return Ok(PendingRows::ready(probabilities_cpu(
                &self.img, pipeline, masks, fill, wanted,
            )?));
        };
        // With debug logging on (RUST_LOG=unsee::explain=debug), each phase is waited for and
        // timed: where a batch's time goes, on any device.
        let mut phases = Phases::new(gpu);
        let mut inputs: Vec<Option<Tensor<4>>> = Vec::with_capacity(masks.len());
        // Variants left for the atlas: (index, mask).
        let mut tiled = Vec::new();
        let bounds = hole_bounds(masks);
        phases.end("mask bounds")?;
        for (i, (mask, &(holes, hole))) in masks.iter().zip(&bounds).enumerate() {
            if !wanted() {
                return Err(not_wanted());
            }
            if holes == mask.as_raw().len() {
                inputs.push(Some(pipeline.input_from_image(&mean_colour(&self.img))));
                continue;
            }
            let Some(hole) = hole else {
                inputs.push(Some(pipeline.input_from_texture(gpu, original)?));
                continue;
            };
            match fill.method {
                Method::Telea if batching == Batching::Atlas => {
                    tiled.push((i, mask, hole));
                    inputs.push(None);
                }
                _ => {
                    let mask_tex =
                        texture::upload_mask(&gpu.device, &gpu.queue, mask, "erase.mask");
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
                        mask,
                        &hole,
                        fill,
                        &mut PatchMatchCache::default(),
                        false,
                    )?;
                    gpu.queue.submit([encoder.finish()]);
                    // Preprocessed into burn's buffer before the next variant's fill reuses
                    // the scratch texture (the queue keeps the order).
                    inputs.push(Some(pipeline.input_from_texture(gpu, scratch)?));
                }
            }
        }
        // The batch: the single variants, then each atlas's tiles as one tensor; `order[k]` is
        // the mask behind row k.
        phases.end("single variants")?;
        let mut order: Vec<usize> = (0..masks.len()).filter(|&i| inputs[i].is_some()).collect();
        let mut batch: Vec<Tensor<4>> = inputs.into_iter().flatten().collect();
        if !tiled.is_empty() {
            let atlas = match self.atlas.get() {
                Some(a) => a,
                None => {
                    let made = Atlas::new(gpu, &self.img)?;
                    self.atlas.get_or_init(|| made)
                }
            };
            // Deepest first: the fill's later dispatches then cover only the atlas's top rows.
            tiled.sort_by_key(|(_, _, hole)| std::cmp::Reverse(hole.depth));
            for chunk in tiled.chunks(atlas.tiles()) {
                batch.push(self.fill_atlas(
                    gpu,
                    inpainter,
                    pipeline,
                    atlas,
                    chunk,
                    fill,
                    &mut phases,
                )?);
                order.extend(chunk.iter().map(|(i, _, _)| *i));
            }
        }
        let pending = PendingRows::start(gpu, pipeline, batch, order)?;
        phases.end("classification")?;
        Ok(pending)
    }

    /// Fills up to one atlas of variants by Telea in one dispatch chain, then preprocesses every
    /// tile into one `[k, 3, s, s]` batch.
    #[allow(clippy::too_many_arguments)]
    fn fill_atlas(
        &self,
        gpu: &GpuContext,
        inpainter: &Inpainter,
        pipeline: &ClassifyPipeline,
        atlas: &Atlas,
        chunk: &[(usize, &GrayImage, HoleBounds)],
        fill: &InpaintParams,
        phases: &mut Phases<'_>,
    ) -> Result<Tensor<4>> {
        let (w, h) = self.img.dimensions();
        let (aw, ah) = (atlas.cols * w, atlas.rows * h);
        let origin = |k: usize| ((k as u32 % atlas.cols) * w, (k as u32 / atlas.cols) * h);
        let mut mask = GrayImage::new(aw, ah);
        for (k, (_, m, _)) in chunk.iter().enumerate() {
            let (x, y) = origin(k);
            image::imageops::replace(&mut mask, *m, i64::from(x), i64::from(y));
        }
        gpu.queue.write_texture(
            atlas.mask.as_image_copy(),
            mask.as_raw(),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(aw),
                rows_per_image: Some(ah),
            },
            texture::extent(aw, ah),
        );
        // The deepest tile sets the number of steps; tiles never see each other. The passes
        // cover only the rows and columns in use.
        let used = chunk.len() as u32;
        let hole = HoleBounds {
            rect: [
                0,
                0,
                used.min(atlas.cols) * w,
                used.div_ceil(atlas.cols) * h,
            ],
            depth: chunk.iter().map(|(_, _, b)| b.depth).max().unwrap_or(1),
        };
        phases.end("atlas mask")?;
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        encoder.copy_texture_to_texture(
            atlas.image.as_image_copy(),
            atlas.output.as_image_copy(),
            texture::extent(aw, ah),
        );
        inpainter.telea().encode_tiled(
            &gpu.device,
            &mut encoder,
            &atlas.image,
            &atlas.mask,
            &atlas.output,
            &hole,
            &fill.telea,
            (w, h),
            &chunk.iter().map(|(_, _, b)| b.depth).collect::<Vec<_>>(),
        )?;
        gpu.queue.submit([encoder.finish()]);
        phases.end(&format!(
            "atlas Telea ({} tiles, depths {:?})",
            chunk.len(),
            chunk.iter().map(|(_, _, b)| b.depth).collect::<Vec<_>>()
        ))?;
        let items: Vec<Item> = (0..chunk.len())
            .map(|k| Item {
                origin: origin(k),
                size: (w, h),
                index: k as u32,
            })
            .collect();
        let inputs = pipeline.inputs_from_tiles(gpu, &atlas.output, &items)?;
        phases.end("atlas preprocessing")?;
        Ok(inputs)
    }
}

/// Debug timing of a batch's phases: each phase's work is waited for, then logged. Off (and
/// free) unless debug logging is on for this module.
struct Phases<'a> {
    gpu: Option<&'a GpuContext>,
    last: std::time::Instant,
}

impl<'a> Phases<'a> {
    fn new(gpu: &'a GpuContext) -> Self {
        Self {
            gpu: log::log_enabled!(log::Level::Debug).then_some(gpu),
            last: std::time::Instant::now(),
        }
    }

    fn end(&mut self, what: &str) -> Result<()> {
        let Some(gpu) = self.gpu else { return Ok(()) };
        gpu.wait_idle()?;
        let now = std::time::Instant::now();
        log::debug!("{what}: {:.2} ms", (now - self.last).as_secs_f64() * 1e3);
        self.last = now;
        Ok(())
    }
}

/// How [`Eraser::start`] fills a batch's Telea variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batching {
    /// Side by side in one atlas, one dispatch chain for all (the fastest for many variants).
    Atlas,
    /// Each on its own, through the same passes as the live edit's fill.
    Single,
}

/// A batch's class probabilities on their way back from the GPU, or there already (CPU path).
/// Dropping it abandons the batch.
pub struct PendingRows {
    source: Source,
    /// `order[k]`: the variant behind row k of a GPU batch (ready rows come in variant order).
    order: Vec<usize>,
}

/// Where a batch's rows come from.
enum Source {
    /// The softmax's readback (none for an empty batch), rows in `order`.
    Gpu(Option<Readback>),
    /// Computed already (the CPU path's blocking start); taken once.
    Ready(std::cell::Cell<Option<Result<Vec<Vec<f32>>>>>),
}

impl PendingRows {
    /// Classifies `inputs` (each `[k, 3, s, s]`) in one forward pass and starts reading the
    /// softmax back; row k answers variant `order[k]`.
    pub fn start(
        gpu: &GpuContext,
        pipeline: &ClassifyPipeline,
        inputs: Vec<Tensor<4>>,
        order: Vec<usize>,
    ) -> Result<Self> {
        let rows: usize = inputs.iter().map(|t| t.dims()[0]).sum();
        if rows != order.len() {
            return Err(Error::Invalid(format!(
                "{rows} rows for {} variants",
                order.len()
            )));
        }
        let readback = if inputs.is_empty() {
            None
        } else {
            let logits = pipeline.forward(Tensor::cat(inputs, 0)).logits;
            let probabilities = burn::tensor::activation::softmax(logits, 1);
            Some(Readback::start(gpu, &probabilities)?)
        };
        Ok(Self {
            source: Source::Gpu(readback),
            order,
        })
    }

    /// Rows computed already, in variant order.
    fn ready(rows: Vec<Vec<f32>>) -> Self {
        Self {
            source: Source::Ready(std::cell::Cell::new(Some(Ok(rows)))),
            order: Vec::new(),
        }
    }

    /// The rows, in variant order, if they are there (never waits). Once taken, ready rows are
    /// gone.
    pub fn try_take(&self, gpu: &GpuContext) -> Option<Result<Vec<Vec<f32>>>> {
        match &self.source {
            Source::Gpu(None) => Some(Ok(Vec::new())),
            Source::Gpu(Some(r)) => {
                Some(r.try_take(&gpu.device)?.and_then(|v| self.arrange(gpu, v)))
            }
            Source::Ready(rows) => Some(rows.take().unwrap_or_else(|| Err(rows_taken()))),
        }
    }

    /// The rows, in variant order, waiting for the GPU.
    pub fn wait(&self, gpu: &GpuContext) -> Result<Vec<Vec<f32>>> {
        match &self.source {
            Source::Gpu(None) => Ok(Vec::new()),
            Source::Gpu(Some(r)) => r.wait(&gpu.device).and_then(|v| self.arrange(gpu, v)),
            Source::Ready(rows) => rows.take().unwrap_or_else(|| Err(rows_taken())),
        }
    }

    /// Splits the read values into rows and puts each at its variant's place.
    fn arrange(&self, gpu: &GpuContext, values: Vec<f32>) -> Result<Vec<Vec<f32>>> {
        gpu.health.peek()?;
        let n = self.order.len();
        if n == 0 || values.is_empty() || !values.len().is_multiple_of(n) {
            return Err(Error::Gpu(format!(
                "{} class scores for {n} variants",
                values.len()
            )));
        }
        let mut out = vec![Vec::new(); self.order.len()];
        for (row, &i) in values.chunks(values.len() / n).zip(&self.order) {
            out[i] = row.to_vec();
        }
        Ok(out)
    }
}

/// Ready rows asked for twice.
fn rows_taken() -> Error {
    Error::Invalid("the batch's rows were taken already".into())
}

/// Refuses masks whose size is not the image's.
fn check_masks(size: (u32, u32), masks: &[GrayImage]) -> Result<()> {
    match masks.iter().find(|m| m.dimensions() != size) {
        Some(mask) => Err(Error::Invalid(format!(
            "a {}x{} mask for a {}x{} image",
            mask.width(),
            mask.height(),
            size.0,
            size.1
        ))),
        None => Ok(()),
    }
}

/// Each mask's hole pixel count and bounds (a chamfer pass): independent, so on every core.
fn hole_bounds(masks: &[GrayImage]) -> Vec<(usize, Option<HoleBounds>)> {
    use rayon::prelude::*;
    masks
        .par_iter()
        .map(|m| {
            let holes = m.as_raw().iter().filter(|&&v| v != 0).count();
            (holes, HoleBounds::from_mask(m))
        })
        .collect()
}

/// Class probabilities of `img` with each mask's pixels removed, in mask order, all on the CPU:
/// the fills (independent sequential runs) one per core, then one forward pass of them all. As
/// on the GPU path, an empty mask leaves the image as it is and a mask over every pixel gives
/// the mean colour. Given up (an error) before any fill started after `wanted` says no.
pub fn probabilities_cpu(
    img: &RgbaImage,
    pipeline: &ClassifyPipeline,
    masks: &[GrayImage],
    fill: &InpaintParams,
    wanted: Wanted<'_>,
) -> Result<Vec<Vec<f32>>> {
    use rayon::prelude::*;
    check_masks(img.dimensions(), masks)?;
    if masks.is_empty() {
        return Ok(Vec::new());
    }
    let bounds = hole_bounds(masks);
    let inputs = masks
        .par_iter()
        .zip(&bounds)
        .map(|(mask, &(holes, hole))| {
            if !wanted() {
                return Err(not_wanted());
            }
            Ok(if holes == mask.as_raw().len() {
                pipeline.input_from_image(&mean_colour(img))
            } else if hole.is_none() {
                pipeline.input_from_image(img)
            } else {
                pipeline.input_from_image(&fill_cpu(img, mask, fill)?)
            })
        })
        .collect::<Result<Vec<Tensor<4>>>>()?;
    let n = inputs.len();
    let logits =
        crate::models::cpu_layers::on_pool(|| pipeline.forward(Tensor::cat(inputs, 0))).logits;
    let probabilities = crate::classify::probabilities_of(logits)?;
    if probabilities.is_empty() || !probabilities.len().is_multiple_of(n) {
        return Err(Error::Invalid(format!(
            "{} class scores for {n} variants",
            probabilities.len()
        )));
    }
    Ok(probabilities
        .chunks(probabilities.len() / n)
        .map(<[f32]>::to_vec)
        .collect())
}

/// Whether a batch's answer is still wanted (its task not cancelled); checked between variants.
pub type Wanted<'a> = &'a (dyn Fn() -> bool + Sync);

fn not_wanted() -> Error {
    Error::Invalid("the batch was cancelled".into())
}

/// `img` with `mask`'s pixels inpainted on the CPU. A PatchMatch fill that cannot run (too few
/// source patches) falls back to Telea, as the GPU path does.
pub fn fill_cpu(img: &RgbaImage, mask: &GrayImage, fill: &InpaintParams) -> Result<RgbaImage> {
    match fill.method {
        Method::Telea => cpu::telea::telea(img, mask, fill.telea.radius),
        Method::PatchMatch => cpu::patchmatch::patchmatch(img, mask, &fill.patchmatch)
            .map(|r| r.image)
            .or_else(|_| cpu::telea::telea(img, mask, fill.telea.radius)),
    }
}

/// An image of `img`'s size in its mean colour: what is left when every pixel is removed.
pub fn mean_colour(img: &RgbaImage) -> RgbaImage {
    let n = u64::from(img.width()) * u64::from(img.height());
    let mut sum = [0u64; 3];
    for p in img.pixels() {
        for (s, &c) in sum.iter_mut().zip(&p.0[..3]) {
            *s += u64::from(c);
        }
    }
    let mean = sum.map(|s| (s as f64 / n.max(1) as f64).round() as u8);
    RgbaImage::from_pixel(
        img.width(),
        img.height(),
        image::Rgba([mean[0], mean[1], mean[2], 255]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_colour_is_the_average() {
        let mut img = RgbaImage::from_pixel(2, 1, image::Rgba([10, 20, 30, 255]));
        img.put_pixel(1, 0, image::Rgba([30, 40, 51, 255]));
        let m = mean_colour(&img);
        assert_eq!(m.dimensions(), (2, 1));
        assert!(m.pixels().all(|p| p.0 == [20, 30, 41, 255]));
    }
}
