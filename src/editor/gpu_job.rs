//! The edit's jobs on the GPU path, recorded on the live lane: the frame copies the mask in
//! queue order and hands the job over; the lane plans the hole, records the fill and the
//! classification, and starts the scores' readback. The frame only paints strokes and polls.
//!
//! Exactness: the job reads the original (never changes), the mask copy and CPU mask taken when
//! it started (later strokes cannot reach them), and the modified image (a warm Telea preview
//! builds on the fill there), which it writes and no other job touches until this one has
//! landed (one job in flight). The lane keeps the editor's fill
//! buffers while it runs and hands them back with the answer, so nothing is created per job.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Tensor;
use image::GrayImage;

use crate::Result;
use crate::classify::ClassifyPipeline;
use crate::gpu::GpuContext;
use crate::gpu::readback::Readback;
use crate::gpu::texture;
use crate::gpu::timer::StageTimer;
use crate::host_clock::{HostPhases, Lap};
use crate::inpaint::{InpaintParams, Inpainter, Method};
use crate::passes::{HoleBounds, PatchMatchCache, TeleaScratch};

/// Test seam: milliseconds a GPU job sleeps on the live lane before it records anything, so a
/// test can paint while a job is in flight (0, the default, in the program).
#[doc(hidden)]
pub static LIVE_DELAY_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// What a job holds of the editor's while it runs, handed back with its answer.
#[derive(Default)]
pub(super) struct Kept {
    /// Telea's buffers and bind groups for this image.
    pub telea: TeleaScratch,
    /// PatchMatch's buffers (and the correspondences of the last fill, for warm starts).
    pub patchmatch: PatchMatchCache,
    /// GPU timestamps around the fill and the classification (modified image only).
    pub stages: Option<StageTimer>,
    /// Telea's buffers for warm previews (their own textures: no rebinding per job).
    pub telea_grown: TeleaScratch,
}

/// A refill: where the hole is and how to fill it.
pub(super) struct Refill {
    /// The mask as the strokes define it when the job started (CPU), to plan the hole.
    pub plan: Arc<GrayImage>,
    pub params: InpaintParams,
    /// Warm-start PatchMatch from the previous fill (live previews only).
    pub warm: bool,
    /// A warm Telea preview (live previews only): fill only what the hole gained since `base`.
    pub grown: Option<Grown>,
}

/// A warm Telea preview's inputs: the mask the modified image's fill answers, and the editor's
/// textures for the previous fill and for the hole's new part.
pub(super) struct Grown {
    pub base: Arc<GrayImage>,
    pub source: wgpu::Texture,
    pub mask: wgpu::Texture,
}

/// One job, as the live lane receives it.
pub(super) struct GpuJob {
    pub gpu: GpuContext,
    pub inpainter: Inpainter,
    pub pipeline: Arc<ClassifyPipeline>,
    pub original: wgpu::Texture,
    /// The GPU mask as it was when the job started (a copy the frame recorded in queue order).
    pub mask: wgpu::Texture,
    pub modified: wgpu::Texture,
    /// Refill the modified image first; `None` classifies it (or the original) as it is.
    pub refill: Option<Refill>,
    /// Classify the original (not the modified image).
    pub classify_original: bool,
    pub kept: Kept,
    /// Set once the fill is submitted (the frame's next composition is then whole).
    pub wrote: Arc<AtomicBool>,
}

/// What the lane sends back: the editor's buffers, and the job's outcome.
pub(super) struct Recorded {
    pub kept: Kept,
    /// Whether the modified image was rewritten (the fill reached the queue), even if the job
    /// failed after that, a panic included.
    pub overwrote: bool,
    pub outcome: Result<Outcome>,
}

/// A fill recorded: the CPU time (ms) planning and recording it, its notice (a fallback taken)
/// and whether PatchMatch's cache now holds it.
pub(super) struct FillDone {
    pub plan_ms: f64,
    pub fill_ms: f64,
    pub notice: Option<String>,
    pub primed: bool,
}

impl FillDone {
    fn new(plan_ms: f64, fill_ms: f64, notice: Option<String>, primed: bool) -> Self {
        Self {
            plan_ms,
            fill_ms,
            notice,
            primed,
        }
    }
}

/// A job recorded in full: its answer is on its way from the GPU.
pub(super) struct Outcome {
    pub readback: Readback,
    /// The feature map of the same forward pass, for the CAM.
    pub features: Tensor<4>,
    /// The lane's CPU time by phase (plan, fill, classify, readback).
    pub host: HostPhases,
    /// The refill, if the job refilled.
    pub refilled: Option<FillDone>,
}

impl GpuJob {
    /// Runs the job on the calling thread (the live lane). The editor's buffers come back
    /// whatever happens, a panic in the recording included (then as an error).
    pub fn record(mut self) -> Recorded {
        let delay = LIVE_DELAY_MS.load(Ordering::Relaxed);
        if delay > 0 {
            std::thread::sleep(std::time::Duration::from_millis(delay));
        }
        let mut overwrote = false;
        let outcome = catch_unwind(AssertUnwindSafe(|| self.record_into(&mut overwrote)))
            .unwrap_or_else(|_| {
                Err(crate::Error::Gpu(
                    "recording the live job failed unexpectedly".into(),
                ))
            });
        Recorded {
            kept: self.kept,
            overwrote,
            outcome,
        }
    }

    fn record_into(&mut self, overwrote: &mut bool) -> Result<Outcome> {
        // Only the modified image's jobs are timed. The timer is handed back whatever happens,
        // so a failure loses no timings.
        let mut stages = if self.classify_original {
            None
        } else {
            self.kept.stages.take()
        };
        let result = self.record_timed(&mut stages, overwrote);
        if stages.is_some() {
            self.kept.stages = stages;
        }
        result
    }

    fn record_timed(
        &mut self,
        stages: &mut Option<StageTimer>,
        overwrote: &mut bool,
    ) -> Result<Outcome> {
        let stamp = |job: &Self, stages: &mut Option<StageTimer>, index| {
            if let Some(t) = stages.as_mut() {
                t.stamp(&job.gpu.device, &job.gpu.queue, index);
            }
        };
        stamp(self, stages, 0);
        let mut host = HostPhases::default();
        let mut refilled = None;
        if let Some(refill) = self.refill.take() {
            let done = self.fill(&refill, overwrote)?;
            (host.plan, host.fill) = (done.plan_ms, done.fill_ms);
            refilled = Some(done);
        }
        stamp(self, stages, 1);
        let mut lap = Lap::start();
        let image = if self.classify_original {
            &self.original
        } else {
            &self.modified
        };
        let input = self.pipeline.input_from_texture(&self.gpu, image)?;
        let out = self.pipeline.forward(input);
        let probabilities = burn::tensor::activation::softmax(out.logits, 1);
        crate::gpu::burn_buffer::flush(&probabilities)?;
        stamp(self, stages, 2);
        host.classify = lap.lap();
        let readback = Readback::start(&self.gpu, &probabilities)?;
        host.readback = lap.lap();
        Ok(Outcome {
            readback,
            features: out.features,
            host,
            refilled,
        })
    }

    /// A warm Telea preview: fills only `part` (what the hole gained since the fill the modified
    /// image holds), from the modified image itself, so the chain is as long as the new part is
    /// deep rather than the whole hole. Not canonical: the released stroke is filled whole.
    /// `None`: the part cannot be filled on its own (the cold fill decides).
    fn fill_grown(
        &mut self,
        refill: &Refill,
        grown: &Grown,
        part: &GrayImage,
        overwrote: &mut bool,
    ) -> Result<Option<FillDone>> {
        let mut lap = Lap::start();
        let hole = HoleBounds::from_mask(part);
        let plan_ms = lap.lap();
        let Some(hole) = hole else {
            // Nothing new to fill: the modified image already answers this mask. A new part
            // that is the whole image (nothing known around it) goes the cold way, which says so.
            return Ok(if part.as_raw().iter().any(|&v| v != 0) {
                None
            } else {
                Some(FillDone::new(plan_ms, lap.lap(), None, false))
            });
        };
        let (w, h) = (part.width(), part.height());
        // The pass reads the mask (and the source) over the hole's box grown by the radius and
        // its band, and one pixel around that (as `TeleaPass` computes its region): written
        // here, the rest of the textures is never read.
        let margin = refill.params.telea.radius.clamp(1, 100) + 3;
        let [hx, hy, hw, hh] = hole.rect;
        let (x0, y0) = (hx.saturating_sub(margin), hy.saturating_sub(margin));
        let (x1, y1) = ((hx + hw + margin).min(w), (hy + hh + margin).min(h));
        let values: Vec<f32> = (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .map(|(x, y)| f32::from(u8::from(part.get_pixel(x, y)[0] != 0)))
            .collect();
        let device = &self.gpu.device;
        let queue = &self.gpu.queue;
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                origin: wgpu::Origin3d { x: x0, y: y0, z: 0 },
                ..grown.mask.as_image_copy()
            },
            bytemuck::cast_slice(&values),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(4 * (x1 - x0)),
                rows_per_image: Some(y1 - y0),
            },
            texture::extent(x1 - x0, y1 - y0),
        );
        // The source is read over the same region: only that is copied.
        let region = wgpu::Origin3d { x: x0, y: y0, z: 0 };
        let mut encoder = device.create_command_encoder(&Default::default());
        encoder.copy_texture_to_texture(
            wgpu::TexelCopyTextureInfo {
                origin: region,
                ..self.modified.as_image_copy()
            },
            wgpu::TexelCopyTextureInfo {
                origin: region,
                ..grown.source.as_image_copy()
            },
            texture::extent(x1 - x0, y1 - y0),
        );
        self.inpainter.telea().encode_reusing(
            device,
            queue,
            &mut encoder,
            &grown.source,
            &grown.mask,
            &self.modified,
            &hole,
            &refill.params.telea,
            &mut self.kept.telea_grown,
        )?;
        queue.submit([encoder.finish()]);
        *overwrote = true;
        self.wrote.store(true, Ordering::Release);
        Ok(Some(FillDone::new(plan_ms, lap.lap(), None, false)))
    }

    /// Restores the modified image from the original and fills the hole (recorded on the
    /// queue) — or, for a warm Telea preview, fills only the hole's new part in place
    /// (`fill_grown`). PatchMatch warm-starts only where `warm` says; where it cannot work (no known
    /// patch to copy from) Telea fills instead, with a notice — a choice made by the state
    /// alone, so the fill stays canonical. Returns the CPU time (ms) planning the fill and
    /// recording it, the notice, and whether PatchMatch's cache holds this fill.
    fn fill(&mut self, refill: &Refill, overwrote: &mut bool) -> Result<FillDone> {
        if let Some(grown) = &refill.grown
            && let Some(part) = grown_part(&grown.base, &refill.plan)
            && let Some(done) = self.fill_grown(refill, grown, &part, overwrote)?
        {
            return Ok(done);
        }
        let mut lap = Lap::start();
        let hole = HoleBounds::from_mask(&refill.plan);
        let plan_ms = lap.lap();
        let device = &self.gpu.device;
        let queue = &self.gpu.queue;
        let (w, h) = (self.original.width(), self.original.height());
        let mut encoder = device.create_command_encoder(&Default::default());
        encoder.copy_texture_to_texture(
            self.original.as_image_copy(),
            self.modified.as_image_copy(),
            texture::extent(w, h),
        );
        let (mut notice, mut primed) = (None, false);
        if let Some(hole) = hole {
            let kept = &mut self.kept;
            // Telea through the image's kept buffers (nothing created per job); PatchMatch
            // through its cache.
            let telea = |scratch: &mut TeleaScratch, encoder: &mut wgpu::CommandEncoder| {
                self.inpainter.telea().encode_reusing(
                    device,
                    queue,
                    encoder,
                    &self.original,
                    &self.mask,
                    &self.modified,
                    &hole,
                    &refill.params.telea,
                    scratch,
                )
            };
            match refill.params.method {
                Method::Telea => telea(&mut kept.telea, &mut encoder)?,
                Method::PatchMatch => match self.inpainter.encode(
                    device,
                    &mut encoder,
                    &self.original,
                    &self.mask,
                    &self.modified,
                    &refill.plan,
                    &hole,
                    &refill.params,
                    &mut kept.patchmatch,
                    refill.warm,
                ) {
                    Ok(()) => primed = true,
                    Err(e) => {
                        notice = Some(format!("{e}; filled with Telea instead"));
                        telea(&mut kept.telea, &mut encoder)?;
                    }
                },
            }
        } else if refill.plan.pixels().any(|p| p[0] != 0) {
            return Err(crate::Error::Invalid(
                "the mask covers the whole image: there is nothing left to fill from".into(),
            ));
        }
        queue.submit([encoder.finish()]);
        *overwrote = true;
        self.wrote.store(true, Ordering::Release);
        Ok(FillDone::new(plan_ms, lap.lap(), notice, primed))
    }
}

/// What `plan` holds beyond `base` (non-zero where `plan` is and `base` is not), or `None` when
/// `base` is not inside `plan` (the hole shrank: a warm start cannot build on its fill).
fn grown_part(base: &GrayImage, plan: &GrayImage) -> Option<GrayImage> {
    if base.dimensions() != plan.dimensions() {
        return None;
    }
    let mut part = vec![0u8; plan.as_raw().len()];
    for ((out, &b), &p) in part.iter_mut().zip(base.as_raw()).zip(plan.as_raw()) {
        if b != 0 && p == 0 {
            return None;
        }
        *out = if b == 0 { p } else { 0 };
    }
    GrayImage::from_raw(plan.width(), plan.height(), part)
}

#[cfg(test)]
mod tests {
    use super::grown_part;
    use image::{GrayImage, Luma};

    #[test]
    fn the_grown_part_is_what_the_hole_gained_and_only_while_it_grows() {
        let mut base = GrayImage::new(8, 4);
        base.put_pixel(1, 1, Luma([255]));
        let mut plan = base.clone();
        plan.put_pixel(5, 2, Luma([255]));
        let part = grown_part(&base, &plan).unwrap();
        assert_eq!(part.get_pixel(5, 2)[0], 255);
        assert_eq!(part.get_pixel(1, 1)[0], 0, "the old hole is filled already");
        assert_eq!(part.pixels().filter(|p| p[0] != 0).count(), 1);
        // Shrunk (an eraser, an undo): no warm start.
        assert!(grown_part(&plan, &base).is_none());
        assert!(grown_part(&base, &GrayImage::new(4, 4)).is_none());
    }
}
