//! The edit's jobs on the CPU, for machines whose only adapter is a software rasterizer: a worker
//! thread fills with the CPU implementation and classifies on burn's CPU backend, so the window
//! keeps drawing meanwhile; the result is uploaded for display when it lands.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Instant;

use burn::tensor::Tensor;
use image::{GrayImage, RgbaImage};

use super::{Answer, Editor, Job, JobKind, ViewSettings};
use crate::classify::ClassifyPipeline;
use crate::engine::Engine;
use crate::inpaint::{InpaintParams, Method};
use crate::{Error, Result, cpu};

/// What the worker sends back.
pub(super) struct CpuAnswer {
    /// The filled image (modified jobs only), to upload for display.
    pub filled: Option<RgbaImage>,
    /// Class probabilities.
    pub probabilities: Vec<f32>,
    /// The feature map of the same forward pass (CPU backend), for the CAM.
    pub features: Tensor<4>,
    /// A fallback taken (PatchMatch could not work).
    pub notice: Option<String>,
    /// Fill and classification wall times, ms.
    pub fill_ms: f64,
    /// See `fill_ms`.
    pub classify_ms: f64,
}

/// The receiving end of a worker's answer.
pub(super) type CpuJob = Receiver<Result<CpuAnswer>>;

impl Editor {
    /// Starts the job on a worker thread; `collect` picks the answer up.
    pub(super) fn start_cpu_job(
        &mut self,
        engine: &mut Engine,
        settings: &ViewSettings,
        kind: JobKind,
        started: Instant,
    ) -> Result<()> {
        let model = settings.model;
        let pipeline = engine
            .loaded_shared(model)
            .ok_or_else(|| Error::Invalid("the model is not loaded".into()))?;
        let original = Arc::clone(&self.original_cpu);
        let plan = matches!(kind, JobKind::Modified { .. }).then(|| self.hole_plan.clone());
        let params = settings.inpaint;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _ = tx.send(run(&pipeline, &original, plan.as_ref(), &params));
        });
        self.job = Some(Job {
            kind,
            model,
            answer: Answer::Cpu(rx),
            started,
        });
        Ok(())
    }
}

/// The worker's job: fill (if there is a mask), then classify.
fn run(
    pipeline: &ClassifyPipeline,
    original: &RgbaImage,
    plan: Option<&GrayImage>,
    params: &InpaintParams,
) -> Result<CpuAnswer> {
    let fill_start = Instant::now();
    let (filled, notice) = match plan {
        Some(mask) => {
            let (img, notice) = fill(original, mask, params)?;
            (Some(img), notice)
        }
        None => (None, None),
    };
    let fill_ms = fill_start.elapsed().as_secs_f64() * 1e3;
    let classify_start = Instant::now();
    let out = pipeline.forward(pipeline.input_from_image(filled.as_ref().unwrap_or(original)));
    let probabilities = burn::tensor::activation::softmax(out.logits, 1)
        .try_into_data()
        .map_err(|e| Error::Gpu(format!("reading scores: {e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| Error::Gpu(format!("scores have an unexpected type: {e:?}")))?;
    Ok(CpuAnswer {
        filled,
        probabilities,
        features: out.features,
        notice,
        fill_ms,
        classify_ms: classify_start.elapsed().as_secs_f64() * 1e3,
    })
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
