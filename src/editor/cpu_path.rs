//! The edit's jobs on the CPU, for machines whose only adapter is a software rasterizer: a worker
//! thread fills with the CPU implementation and classifies on burn's CPU backend, so the window
//! keeps drawing meanwhile; the result is uploaded for display when it lands.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
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
    /// Fill and classification wall times, ms (fill 0 when nothing was filled).
    pub fill_ms: f64,
    /// See `fill_ms`.
    pub classify_ms: f64,
}

/// The receiving end of a worker's answer.
pub(super) type CpuJob = Receiver<Result<CpuAnswer>>;

/// What the worker starts from.
enum Input {
    /// Classify this image as it is.
    Classify(Arc<RgbaImage>),
    /// Fill the original where the mask is set, then classify.
    Fill(Arc<RgbaImage>, GrayImage, InpaintParams),
}

impl Editor {
    /// Starts `plan` on a worker thread; `collect` picks the answer up.
    pub(super) fn start_cpu_job(
        &mut self,
        engine: &mut Engine,
        settings: &ViewSettings,
        plan: &Plan,
    ) -> Result<CpuJob> {
        let pipeline = engine.require_shared(settings.model)?;
        let original = Arc::clone(&self.original_cpu);
        let input = match *plan {
            Plan::Original(_) => Input::Classify(original),
            Plan::Modified { refill: true, .. } => {
                Input::Fill(original, self.hole_plan.clone(), settings.inpaint)
            }
            Plan::Modified { refill: false, .. } => {
                Input::Classify(self.filled_cpu.clone().unwrap_or(original))
            }
        };
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _ = tx.send(run(&pipeline, input));
        });
        Ok(rx)
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
        fill_ms,
        classify_ms: classify_start.elapsed().as_secs_f64() * 1e3,
    })
}

/// Class probabilities of `image` on burn's CPU backend, with the feature map of the same pass.
pub(super) fn classify(
    pipeline: &ClassifyPipeline,
    image: &RgbaImage,
) -> Result<(Vec<f32>, Tensor<4>)> {
    let out = pipeline.forward(pipeline.input_from_image(image));
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
