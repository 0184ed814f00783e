//! Many erased variants of one image classified a batch at a time, one batch in flight on the
//! background thread (`crate::background`): a step takes the batch it has finished, never
//! waiting for it, and hands over the next (masks included), so a window's frame neither
//! computes nor records a batch. Occlusion maps and the viewer's deletion curves run on it.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use image::{GrayImage, RgbaImage};

use super::variants::Eraser;
use crate::background::Task;
use crate::classify::ClassifyPipeline;
use crate::gpu::GpuContext;
use crate::inpaint::{InpaintParams, Inpainter};
use crate::{Error, Result};

/// Variants per batch for a window's background work: 8 on the GPU (one batch in flight, polled
/// per frame); on the CPU path one per core but one, so the window keeps a core while the
/// background thread fills (each variant a sequential CPU fill, tens of ms at photo sizes; the
/// batch's forward pass, like the live one's, takes every pool thread for a few ms).
pub fn window_batch(pipeline: &ClassifyPipeline) -> usize {
    if pipeline.on_gpu {
        8
    } else {
        crate::models::cpu_layers::threads()
            .saturating_sub(1)
            .max(1)
    }
}

/// The watched class's probability for each of `total` variants, computed in batches.
pub struct ErasedBatches {
    /// Lent to the worker of the batch in flight (one at a time, so never contended).
    eraser: Arc<Mutex<Eraser>>,
    image: Arc<RgbaImage>,
    class: usize,
    total: usize,
    done: Vec<f32>,
    /// The rows of the batch in flight, from the background thread.
    pending: Option<Task<Result<Vec<Vec<f32>>>>>,
}

impl ErasedBatches {
    /// `total` variants of `eraser`'s image, watching `class`.
    pub fn new(eraser: Eraser, class: usize, total: usize) -> Self {
        Self {
            image: eraser.shared_image(),
            eraser: Arc::new(Mutex::new(eraser)),
            class,
            total,
            done: Vec::new(),
            pending: None,
        }
    }

    /// The image being erased.
    pub fn image(&self) -> &RgbaImage {
        &self.image
    }

    /// The class's probability for each variant done so far, in variant order.
    pub fn done(&self) -> &[f32] {
        &self.done
    }

    /// (variants done, variants in all).
    pub fn progress(&self) -> (usize, usize) {
        (self.done.len(), self.total)
    }

    /// Whether a batch is in flight.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    /// Takes the batch in flight if it is done; then, with none in flight, hands the next
    /// `batch` variants (whose masks `masks` makes for their index range) to the background
    /// thread, which fills, classifies and reads them back (on the GPU or the CPU path alike).
    /// Never waits and never records GPU work on the calling thread: burn's queue throttles
    /// itself by waiting for the GPU, and a window's frame must not be the thread that waits.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        gpu: &GpuContext,
        inpainter: &Inpainter,
        pipeline: &Arc<ClassifyPipeline>,
        fill: &InpaintParams,
        batch: usize,
        masks: impl FnOnce(Range<usize>) -> Vec<GrayImage> + Send + 'static,
    ) -> Result<()> {
        if let Some(task) = &self.pending {
            let Some(rows) = task.try_take() else {
                return Ok(());
            };
            self.pending = None;
            self.take(rows??)?;
        }
        let Some(range) = self.next_range(batch) else {
            return Ok(());
        };
        let (gpu, inpainter, pipeline) = (gpu.clone(), inpainter.clone(), Arc::clone(pipeline));
        let (eraser, fill) = (Arc::clone(&self.eraser), *fill);
        // The masks are made there too (a batch of full-size masks is not a frame's work).
        self.pending = Some(crate::background::spawn(move |cancel| {
            let masks = counted(masks, range)?;
            // A run dropped meanwhile (the state changed) stops between the batch's fills.
            let wanted = || !cancel.cancelled();
            match eraser.lock() {
                Ok(eraser) => {
                    eraser.probabilities_while(&gpu, &inpainter, &pipeline, &masks, &fill, &wanted)
                }
                Err(_) => Err(worker_stopped()),
            }
        })?);
        Ok(())
    }

    /// The next `batch` variants, computed and waited for here (after the batch in flight, if
    /// any): for callers with no frames to keep, such as the command line.
    #[allow(clippy::too_many_arguments)]
    pub fn step_waiting(
        &mut self,
        gpu: &GpuContext,
        inpainter: &Inpainter,
        pipeline: &ClassifyPipeline,
        fill: &InpaintParams,
        batch: usize,
        masks: impl FnOnce(Range<usize>) -> Vec<GrayImage>,
    ) -> Result<()> {
        self.wait()?;
        let Some(range) = self.next_range(batch) else {
            return Ok(());
        };
        let masks = counted(masks, range)?;
        let rows = self
            .eraser
            .lock()
            .map_err(|_| worker_stopped())?
            .probabilities(gpu, inpainter, pipeline, &masks, fill)?;
        self.take(rows)
    }

    /// The index range of the next `batch` variants (`None` when all are done).
    fn next_range(&self, batch: usize) -> Option<Range<usize>> {
        let start = self.done.len();
        (start < self.total).then(|| start..(start + batch.max(1)).min(self.total))
    }

    /// Waits for the batch in flight, if any, and takes it.
    pub fn wait(&mut self) -> Result<()> {
        match self.pending.take() {
            Some(task) => {
                let rows = task.wait()??;
                self.take(rows)
            }
            None => Ok(()),
        }
    }

    /// Appends each row's probability of the class.
    fn take(&mut self, rows: Vec<Vec<f32>>) -> Result<()> {
        for row in rows {
            let p = row.get(self.class).copied().ok_or_else(|| {
                Error::Invalid(format!(
                    "class {} of {} class scores",
                    self.class,
                    row.len()
                ))
            })?;
            self.done.push(p);
        }
        Ok(())
    }
}

/// The masks `masks` makes for `range`, checked to be one a variant.
fn counted(
    masks: impl FnOnce(Range<usize>) -> Vec<GrayImage>,
    range: Range<usize>,
) -> Result<Vec<GrayImage>> {
    let count = range.len();
    let masks = masks(range);
    if masks.len() != count {
        return Err(Error::Invalid(format!(
            "{} masks for {count} variants",
            masks.len()
        )));
    }
    Ok(masks)
}

/// A batch whose eraser a panicked batch left poisoned.
fn worker_stopped() -> Error {
    Error::Invalid("the background batch stopped without an answer".into())
}
