//! The edit's jobs on the CPU, for machines whose only adapter is a software rasterizer: the live
//! lane's thread fills with the CPU implementation and classifies on burn's CPU backend, so the window
//! keeps drawing meanwhile; the result is uploaded for display when it lands.
//!
//! While a stroke is being drawn a job is a *preview*: the hole is filled at the classifier's
//! input size (what the model sees), which takes a few ms instead of a full-size fill's ~100, and
//! the picture shows that fill scaled up inside the hole. Once the stroke is released the
//! canonical job fills at full size, and that is the table a settled state shows (the same as
//! `unsee inpaint` + `unsee classify`).

use std::sync::Arc;
use std::time::Instant;

use burn::tensor::Tensor;
use image::{GrayImage, RgbaImage};

use super::schedule::Plan;
use super::{Editor, ViewSettings};
use crate::classify::ClassifyPipeline;
use crate::engine::Engine;
use crate::inpaint::{InpaintParams, Method};
use crate::{Result, cpu};

/// What the worker sends back.
pub(super) struct CpuAnswer {
    /// The filled image (jobs that refill only), to upload for display.
    pub filled: Option<Arc<RgbaImage>>,
    /// Class probabilities.
    pub probabilities: Vec<f32>,
    /// The feature map of the same forward pass (CPU backend), for the CAM.
    pub features: Tensor<4>,
    /// A fallback taken (PatchMatch could not work).
    pub notice: Option<String>,
    /// The image was filled at full size (a preview that fell back to the canonical fill).
    pub full_size: bool,
    /// Fill and classification wall times, ms (fill 0 when nothing was filled).
    pub fill_ms: f64,
    /// See `fill_ms`.
    pub classify_ms: f64,
}

/// A job's answer on its way from the live lane.
pub(super) type CpuJob = crate::background::Task<Result<CpuAnswer>>;

/// What the worker starts from.
enum Input {
    /// Classify this image as it is.
    Classify(Arc<RgbaImage>),
    /// Fill the original where the mask is set, then classify.
    Fill(Arc<RgbaImage>, Arc<GrayImage>, InpaintParams),
    /// A preview: fill the original squashed to the model's input size (given), then classify;
    /// the full-size picture gets that fill scaled up in the hole.
    Preview {
        original: Arc<RgbaImage>,
        small: Arc<RgbaImage>,
        mask: Arc<GrayImage>,
        params: InpaintParams,
    },
}

impl Editor {
    /// Starts `plan` on the live lane; `collect` picks the answer up.
    /// `preview`: fill at the model's input size (a stroke is being drawn).
    pub(super) fn start_cpu_job(
        &mut self,
        engine: &mut Engine,
        settings: &ViewSettings,
        plan: &Plan,
        preview: bool,
    ) -> Result<CpuJob> {
        let pipeline = engine.require_shared(settings.model)?;
        let original = Arc::clone(&self.original_cpu);
        let input = match *plan {
            Plan::Original(_) => Input::Classify(original),
            Plan::Modified { refill: true, .. } if preview => {
                let size = pipeline.spec.size;
                let small = match &self.preview_base {
                    Some((s, small)) if *s == size => Arc::clone(small),
                    _ => {
                        let small = Arc::new(image::imageops::resize(
                            &*original,
                            size,
                            size,
                            image::imageops::FilterType::Triangle,
                        ));
                        self.preview_base = Some((size, Arc::clone(&small)));
                        small
                    }
                };
                Input::Preview {
                    original,
                    small,
                    mask: Arc::clone(&self.hole_plan),
                    params: settings.inpaint,
                }
            }
            Plan::Modified { refill: true, .. } => {
                Input::Fill(original, Arc::clone(&self.hole_plan), settings.inpaint)
            }
            Plan::Modified { refill: false, .. } => {
                Input::Classify(self.filled_cpu.clone().unwrap_or(original))
            }
        };
        crate::background::spawn_on(crate::background::Lane::Live, move |_| {
            run(&pipeline, input)
        })
    }
}

/// The worker's job: fill (if asked), then classify.
fn run(pipeline: &ClassifyPipeline, input: Input) -> Result<CpuAnswer> {
    let fill_start = Instant::now();
    let (image, filled, notice) = match input {
        Input::Classify(image) => (image, false, None),
        Input::Fill(original, mask, params) => {
            let (img, notice) = fill(&original, &mask, &params)?;
            (Arc::new(img), true, notice)
        }
        Input::Preview {
            original,
            small,
            mask,
            params,
        } => {
            let small_mask = shrink_mask(&mask, small.dimensions());
            // The shrunk hole can swallow the last known pixels of a nearly full mask: then the
            // full-size fill answers (it is the canonical one, and may still work).
            let Ok((filled, notice)) = fill(&small, &small_mask, &params) else {
                return run(pipeline, Input::Fill(original, mask, params));
            };
            let fill_ms = fill_start.elapsed().as_secs_f64() * 1e3;
            let classify_start = Instant::now();
            let (probabilities, features) = classify(pipeline, &filled)?;
            return Ok(CpuAnswer {
                filled: Some(Arc::new(scale_into_hole(&original, &mask, &filled))),
                probabilities,
                features,
                notice,
                full_size: false,
                fill_ms,
                classify_ms: classify_start.elapsed().as_secs_f64() * 1e3,
            });
        }
    };
    let fill_ms = if filled {
        fill_start.elapsed().as_secs_f64() * 1e3
    } else {
        0.0
    };
    let classify_start = Instant::now();
    let (probabilities, features) = classify(pipeline, &image)?;
    Ok(CpuAnswer {
        filled: filled.then_some(image),
        probabilities,
        features,
        notice,
        full_size: filled,
        fill_ms,
        classify_ms: classify_start.elapsed().as_secs_f64() * 1e3,
    })
}

/// Class probabilities of `image` on burn's CPU backend, with the feature map of the same pass.
pub(super) fn classify(
    pipeline: &ClassifyPipeline,
    image: &RgbaImage,
) -> Result<(Vec<f32>, Tensor<4>)> {
    let out = pipeline.forward_image(image);
    Ok((crate::classify::probabilities_of(out.logits)?, out.features))
}

/// The image filled on the CPU; PatchMatch falls back to Telea where it cannot work (with a notice).
fn fill(
    original: &RgbaImage,
    mask: &GrayImage,
    params: &InpaintParams,
) -> Result<(RgbaImage, Option<String>)> {
    if !cpu::telea::validate_mask(original.dimensions(), mask)? {
        return Ok((original.clone(), None));
    }
    let telea = || cpu::telea::telea(original, mask, params.telea.radius);
    match params.method {
        Method::Telea => Ok((telea()?, None)),
        Method::PatchMatch => match cpu::patchmatch::patchmatch(original, mask, &params.patchmatch)
        {
            Ok(r) => Ok((r.image, None)),
            Err(e) => Ok((telea()?, Some(format!("{e}; filled with Telea instead")))),
        },
    }
}

/// `mask` at `size`: a small pixel is hole if any full-size pixel under it is (its footprint, at
/// least one pixel, so an image smaller than the model's input maps without gaps), or under one
/// of its eight neighbours (the resize's triangle filter reaches that far, so the erased colours
/// stay out of the known pixels the fill starts from).
pub fn shrink_mask(mask: &GrayImage, (sw, sh): (u32, u32)) -> GrayImage {
    let (w, h) = (mask.width() as usize, mask.height() as usize);
    let (sw, sh) = (sw as usize, sh as usize);
    // Source rows (columns) under small row (column) k: [lo, hi), never empty. Enlarging, the
    // resize's filter reaches one source pixel beyond: so does the span.
    let span = |k: usize, n: usize, sn: usize| {
        let reach = usize::from(sn > n);
        let lo = (k * n / sn).min(n.saturating_sub(1)).saturating_sub(reach);
        let hi = (((k + 1) * n).div_ceil(sn) + reach).clamp(lo + 1, n.max(1));
        lo..hi
    };
    let raw = mask.as_raw();
    let mut hit = GrayImage::new(sw as u32, sh as u32);
    if w == 0 || h == 0 {
        return hit;
    }
    for sy in 0..sh {
        for sx in 0..sw {
            let (xs, ys) = (span(sx, w, sw), span(sy, h, sh));
            if ys.clone().any(|y| {
                raw[y * w + xs.start..y * w + xs.end]
                    .iter()
                    .any(|&v| v != 0)
            }) {
                hit.put_pixel(sx as u32, sy as u32, image::Luma([255]));
            }
        }
    }
    crate::cpu::morphology::apply(&mut hit, crate::cpu::morphology::MaskOp::Grow(1));
    hit
}

/// `original` with its hole pixels (`mask`) taken from `small`, scaled up bilinearly: the
/// picture of a preview.
pub fn scale_into_hole(original: &RgbaImage, mask: &GrayImage, small: &RgbaImage) -> RgbaImage {
    let (w, h) = original.dimensions();
    let (sw, sh) = small.dimensions();
    let mut out = original.clone();
    let (fx, fy) = (sw as f32 / w as f32, sh as f32 / h as f32);
    for (x, y, p) in mask.enumerate_pixels() {
        if p[0] == 0 {
            continue;
        }
        let u = ((x as f32 + 0.5) * fx - 0.5).clamp(0.0, (sw - 1) as f32);
        let v = ((y as f32 + 0.5) * fy - 0.5).clamp(0.0, (sh - 1) as f32);
        let (x0, y0) = (u.floor() as u32, v.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(sw - 1), (y0 + 1).min(sh - 1));
        let (a, b) = (u - x0 as f32, v - y0 as f32);
        let px = |x, y| small.get_pixel(x, y).0.map(f32::from);
        let (p00, p10, p01, p11) = (px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1));
        let mut c = [0u8; 4];
        for k in 0..4 {
            let top = p00[k] + (p10[k] - p00[k]) * a;
            let bottom = p01[k] + (p11[k] - p01[k]) * a;
            c[k] = (top + (bottom - top) * b).round().clamp(0.0, 255.0) as u8;
        }
        out.put_pixel(x, y, image::Rgba(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_mask_covers_every_hole_pixel_with_a_margin() {
        let mut mask = GrayImage::new(100, 80);
        mask.put_pixel(51, 40, image::Luma([255]));
        let small = shrink_mask(&mask, (10, 8));
        let holes: Vec<(u32, u32)> = small
            .enumerate_pixels()
            .filter(|p| p.2[0] != 0)
            .map(|p| (p.0, p.1))
            .collect();
        assert!(holes.contains(&(5, 4)));
        assert_eq!(holes.len(), 9, "{holes:?}");
        assert!(
            shrink_mask(&GrayImage::new(100, 80), (10, 8))
                .pixels()
                .all(|p| p[0] == 0)
        );
    }

    #[test]
    fn shrink_mask_scales_a_small_image_up_without_gaps() {
        // A 10x8 image under a 227² model: its hole pixels cover whole blocks of the small mask.
        let mut mask = GrayImage::new(10, 8);
        for x in 2..6 {
            mask.put_pixel(x, 3, image::Luma([1]));
        }
        let small = shrink_mask(&mask, (227, 227));
        // Every small pixel whose nearest source pixel is hole is hole (no gaps in between).
        for sy in 0..227u32 {
            for sx in 0..227u32 {
                let (x, y) = (sx * 10 / 227, sy * 8 / 227);
                if mask.get_pixel(x, y)[0] != 0 {
                    assert_ne!(small.get_pixel(sx, sy)[0], 0, "({sx}, {sy})");
                }
            }
        }
        let holes = small.pixels().filter(|p| p[0] != 0).count();
        assert!(holes < 227 * 227 / 4, "{holes}");
    }

    #[test]
    fn scale_into_hole_changes_only_the_hole() {
        let original = RgbaImage::from_pixel(20, 10, image::Rgba([10, 20, 30, 255]));
        let mut mask = GrayImage::new(20, 10);
        mask.put_pixel(3, 4, image::Luma([1]));
        let small = RgbaImage::from_pixel(5, 5, image::Rgba([200, 100, 50, 255]));
        let out = scale_into_hole(&original, &mask, &small);
        assert_eq!(out.get_pixel(3, 4).0, [200, 100, 50, 255]);
        let changed = out
            .pixels()
            .zip(original.pixels())
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(changed, 1);
    }
}
