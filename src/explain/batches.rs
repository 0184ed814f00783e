//! Many erased variants of one image classified a batch at a time, one batch in flight: a step
//! takes the batch the GPU (or, on the CPU path, a worker thread) has finished, never waiting
//! for it, and starts the next, so a window's frame only records work. Occlusion maps and the
//! viewer's deletion curves run on it.

use std::ops::Range;
use std::sync::Arc;

use image::{GrayImage, RgbaImage};

use super::variants::{Batching, Eraser, PendingRows};
use crate::classify::ClassifyPipeline;
use crate::gpu::GpuContext;
use crate::inpaint::{InpaintParams, Inpainter};
use crate::{Error, Result};

/// Variants per batch for a window's background work: 8 on the GPU (one batch in flight, polled
/// per frame); on the CPU path one per core but one, so the window and the live edit keep a core
/// while the worker fills (each variant a sequential CPU fill, tens of ms at photo sizes).
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
    eraser: Eraser,
    class: usize,
    total: usize,
    done: Vec<f32>,
    pending: Option<PendingRows>,
}

impl ErasedBatches {
    /// `total` variants of `eraser`'s image, watching `class`.
    pub fn new(eraser: Eraser, class: usize, total: usize) -> Self {
        Self {
            eraser,
            class,
            total,
            done: Vec::new(),
            pending: None,
        }
    }

    /// The image being erased.
    pub fn image(&self) -> &RgbaImage {
        self.eraser.image()
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

    /// Takes the batch in flight if it is done (on the GPU, or on the CPU path's worker
    /// thread); then, with none in flight, starts the next `batch` variants, whose masks `masks`
    /// makes for their index range. Never waits, and on neither path computes the batch on the
    /// calling thread: a window's frame only records or hands over work.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        gpu: &GpuContext,
        inpainter: &Inpainter,
        pipeline: &Arc<ClassifyPipeline>,
        fill: &InpaintParams,
        batch: usize,
        masks: impl FnOnce(Range<usize>) -> Vec<GrayImage>,
    ) -> Result<()> {
        if let Some(pending) = &self.pending {
            let Some(rows) = pending.try_take(gpu) else {
                return Ok(());
            };
            self.pending = None;
            self.take(rows?)?;
        }
        let Some(masks) = self.next_masks(batch, masks)? else {
            return Ok(());
        };
        let pending =
            self.eraser
                .start_detached(gpu, inpainter, pipeline, masks, fill, Batching::Atlas)?;
        match pending.try_take(gpu) {
            Some(rows) => self.take(rows?),
            None => {
                self.pending = Some(pending);
                Ok(())
            }
        }
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
        self.wait(gpu)?;
        let Some(masks) = self.next_masks(batch, masks)? else {
            return Ok(());
        };
        let rows = self
            .eraser
            .probabilities(gpu, inpainter, pipeline, &masks, fill)?;
        self.take(rows)
    }

    /// The masks of the next `batch` variants (`None` when all are done).
    fn next_masks(
        &self,
        batch: usize,
        masks: impl FnOnce(Range<usize>) -> Vec<GrayImage>,
    ) -> Result<Option<Vec<GrayImage>>> {
        let start = self.done.len();
        if start >= self.total {
            return Ok(None);
        }
        let range = start..(start + batch.max(1)).min(self.total);
        let count = range.len();
        let masks = masks(range);
        if masks.len() != count {
            return Err(Error::Invalid(format!(
                "{} masks for {count} variants",
                masks.len()
            )));
        }
        Ok(Some(masks))
    }

    /// Waits for the batch in flight, if any, and takes it.
    pub fn wait(&mut self, gpu: &GpuContext) -> Result<()> {
        match self.pending.take() {
            Some(pending) => {
                let rows = pending.wait(gpu)?;
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
