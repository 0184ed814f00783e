//! The edit's inpaint + classify jobs: start the plan the scheduler names on the live lane (GPU
//! recording in `gpu_job`, or the CPU path's fill and inference in `cpu_path`), collect its
//! answer without waiting, and record failures so that a state that failed is not tried again
//! every frame.

use std::sync::Arc;
use std::time::Instant;

use burn::tensor::Tensor;

use super::cpu_path::CpuJob;
use super::gpu_job::{GpuJob, Grown, Recorded, Refill};
use super::schedule::Plan;
use super::{Editor, Scores, ViewSettings};
use crate::Result;
use crate::background::{self, Lane, Task};
use crate::engine::Engine;
use crate::gpu::readback::Readback;
use crate::gpu::texture;
use crate::host_clock::{HostPhases, Lap};
use crate::inpaint::Method;
use crate::passes::paint::PAINT_MASK_FORMAT;

/// A job in flight.
pub(super) struct Job {
    /// What it answers.
    pub plan: Plan,
    /// Whether its answer is the canonical one for its state (no warm start in it).
    pub canonical: bool,
    pub answer: Answer,
    pub started: Instant,
    /// When the edit it answers was made.
    pub edited_at: Instant,
}

/// Where a job's answer comes from.
pub(super) enum Answer {
    /// The GPU path.
    Gpu(GpuAnswer),
    /// The CPU path's job on the live lane.
    Cpu(CpuJob),
}

/// A GPU job's answer, in its two stages.
pub(super) enum GpuAnswer {
    /// Being recorded on the live lane.
    Recording(Task<Recorded>),
    /// Scores on their way back from the GPU, and the feature map of the same pass.
    Reading(Box<(Readback, Tensor<4>)>),
}

impl Editor {
    /// Starts the next job if the scheduler names one. A plan that cannot start is recorded as
    /// failed (not retried until the state changes) and its error returned once.
    pub(super) fn start_job(&mut self, engine: &mut Engine, settings: &ViewSettings) -> Result<()> {
        let key = self.key(settings);
        let brush = self.history.current().is_none_or(|s| !s.restore);
        let Some(plan) = self.schedule.next(&key, self.drawing(), brush) else {
            return Ok(());
        };
        match self.launch(engine, settings, plan) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.schedule.failed(plan, e.to_string());
                Err(e)
            }
        }
    }

    fn launch(&mut self, engine: &mut Engine, settings: &ViewSettings, plan: Plan) -> Result<()> {
        let started = Instant::now();
        engine.pipeline(settings.model)?;
        let mut canonical = plan.canonical(self.schedule.filled);
        let refill = matches!(plan, Plan::Modified { refill: true, .. });
        let warm = matches!(plan, Plan::Modified { warm: true, .. })
            && match settings.inpaint.method {
                Method::PatchMatch => self.pm_primed,
                // The lane fills only what the hole gained since the fill the picture holds.
                Method::Telea => engine.inference_on_gpu && self.filled_plan.is_some(),
            };
        // On the CPU path a fill is a preview at the model's size while the stroke is drawn, and
        // first for any released state nothing has answered yet (a stroke released before its
        // last preview started, an undo, a setting changed): that table lands in a fraction of
        // the full-size fill's time, shown as updating, and the canonical fill replaces it next.
        // A preview of a released state shares its plan with the canonical fill: should it fail,
        // the state is not tried again until it changes (the full-size fill would fail the same
        // way: the preview falls back to it where the small mask leaves nothing to fill from).
        // While a brush stroke is drawn the plan is a warm one, so the release tries once more.
        let unanswered = match plan {
            Plan::Modified { key, .. } => self.schedule.modified.is_none_or(|(k, _)| k != key),
            Plan::Original(_) => false,
        };
        let preview = refill && !engine.inference_on_gpu && (self.drawing() || unanswered);
        if refill {
            canonical = !warm && !preview;
        }
        self.schedule.started(&plan);
        let answer = if engine.inference_on_gpu {
            self.launch_gpu(engine, settings, plan, warm)?
        } else {
            Answer::Cpu(self.start_cpu_job(engine, settings, &plan, preview)?)
        };
        self.job = Some(Job {
            plan,
            canonical,
            answer,
            started,
            edited_at: self.edited_at,
        });
        Ok(())
    }

    /// Hands the job to the live lane (GPU path). The frame's share: a copy of the mask in
    /// queue order (later strokes are painted after it) and the hand-over.
    fn launch_gpu(
        &mut self,
        engine: &Engine,
        settings: &ViewSettings,
        plan: Plan,
        warm: bool,
    ) -> Result<Answer> {
        let mut lap = Lap::start();
        let gpu = &engine.gpu;
        let refill = match plan {
            Plan::Modified { refill: true, .. } => {
                let size = self.size;
                let copy = self.mask_job.get_or_insert_with(|| {
                    super::make_texture(&gpu.device, size, PAINT_MASK_FORMAT, "editor.mask_job")
                });
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                encoder.copy_texture_to_texture(
                    self.mask.as_image_copy(),
                    copy.as_image_copy(),
                    texture::extent(size.0, size.1),
                );
                gpu.queue.submit([encoder.finish()]);
                let grown = match (warm, settings.inpaint.method, &self.filled_plan) {
                    (true, Method::Telea, Some(base)) => Some(Grown {
                        base: Arc::clone(base),
                        source: self
                            .modified_prev
                            .get_or_insert_with(|| {
                                super::make_texture(
                                    &gpu.device,
                                    size,
                                    texture::IMAGE_FORMAT,
                                    "editor.modified_prev",
                                )
                            })
                            .clone(),
                        mask: self
                            .mask_grown
                            .get_or_insert_with(|| {
                                super::make_texture(
                                    &gpu.device,
                                    size,
                                    PAINT_MASK_FORMAT,
                                    "editor.mask_grown",
                                )
                            })
                            .clone(),
                    }),
                    _ => None,
                };
                self.launched_plan = Some(Arc::clone(&self.hole_plan));
                Some(Refill {
                    plan: Arc::clone(&self.hole_plan),
                    params: settings.inpaint,
                    warm,
                    grown,
                })
            }
            _ => None,
        };
        let job = GpuJob {
            gpu: gpu.clone(),
            inpainter: engine.inpainter.clone(),
            pipeline: engine.require_shared(settings.model)?,
            original: self.original.clone(),
            // Only a refill reads it.
            mask: self.mask_job.clone().unwrap_or_else(|| self.mask.clone()),
            modified: self.modified.clone(),
            refill,
            classify_original: matches!(plan, Plan::Original(_)),
            kept: std::mem::take(&mut self.kept),
            wrote: Arc::clone(&self.lane_wrote),
        };
        let task = background::spawn_on(Lane::Live, move |_| job.record())?;
        if matches!(plan, Plan::Modified { .. }) {
            self.stats.host = HostPhases {
                paint: std::mem::take(&mut self.paint_cpu_ms),
                handoff: lap.lap(),
                ..HostPhases::default()
            };
        }
        Ok(Answer::Gpu(GpuAnswer::Recording(task)))
    }

    /// Takes back what the live lane recorded: the editor's buffers, the fill's marks on the
    /// pictures, and the scores' readback (or the job's error).
    fn recorded(&mut self, recorded: Recorded, plan: &Plan) -> Result<(Readback, Tensor<4>)> {
        self.kept = recorded.kept;
        if matches!(plan, Plan::Modified { refill: true, .. }) {
            self.pm_primed = false;
        }
        if recorded.overwrote {
            // The modified image holds no answered state until this job lands (should it fail
            // now, the table no longer pairs with the picture), and the next composition must
            // be whole.
            self.schedule.overwritten();
            self.filled_plan = None;
            self.mask_change = super::Region::Whole;
            self.modified_differs = super::Region::Whole;
        }
        let outcome = recorded.outcome?;
        if let Some(done) = outcome.refilled {
            self.notice = done.notice;
            self.pm_primed = done.primed;
            // The modified image now holds the fill of this mask (a warm Telea start's base).
            self.filled_plan = self.launched_plan.take();
        }
        if matches!(plan, Plan::Modified { .. }) {
            let host = &mut self.stats.host;
            (host.plan, host.fill) = (outcome.host.plan, outcome.host.fill);
            (host.classify, host.readback) = (outcome.host.classify, outcome.host.readback);
        }
        Ok((outcome.readback, outcome.features))
    }

    /// Picks up a finished job (waiting for it with `wait`). A job that failed on its way is
    /// recorded like one that could not start.
    pub(super) fn collect(&mut self, engine: &Engine, wait: bool) -> Result<()> {
        let Some(job) = self.job.take() else {
            return Ok(());
        };
        let plan = job.plan;
        match self.receive(engine, job, wait) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.schedule.failed(plan, e.to_string());
                Err(e)
            }
        }
    }

    /// Advances a GPU job's answer: the probabilities and features once they are there, or the
    /// answer still on its way (never waits unless `wait`).
    fn advance_gpu(
        &mut self,
        engine: &Engine,
        plan: &Plan,
        answer: GpuAnswer,
        wait: bool,
    ) -> Result<std::result::Result<(Vec<f32>, Tensor<4>), GpuAnswer>> {
        let device = &engine.gpu.device;
        let (readback, features) = match answer {
            GpuAnswer::Recording(task) => {
                let recorded = if wait {
                    task.wait()
                } else {
                    match task.try_take() {
                        Some(recorded) => recorded,
                        None => return Ok(Err(GpuAnswer::Recording(task))),
                    }
                };
                match recorded {
                    Ok(recorded) => self.recorded(recorded, plan)?,
                    Err(e) => {
                        // The lane ended without saying how far the job got: the modified
                        // image may hold part of its fill.
                        if matches!(plan, Plan::Modified { refill: true, .. }) {
                            self.schedule.overwritten();
                            self.filled_plan = None;
                        }
                        return Err(e);
                    }
                }
            }
            GpuAnswer::Reading(pending) => *pending,
        };
        let probabilities = if wait {
            readback.wait(device)?
        } else {
            match readback.try_take(device) {
                Some(r) => r?,
                None => return Ok(Err(GpuAnswer::Reading(Box::new((readback, features))))),
            }
        };
        engine.gpu.health.check()?;
        if let Some((fill, classify)) = self.kept.stages.as_mut().and_then(|t| t.take_ms(device)) {
            self.stats.inpaint_ms = fill;
            self.stats.classify_ms = classify;
        }
        Ok(Ok((probabilities, features)))
    }

    fn receive(&mut self, engine: &Engine, job: Job, wait: bool) -> Result<()> {
        let model = match job.plan {
            Plan::Original(m) => m,
            Plan::Modified { key, .. } => key.model,
        };
        let mut canonical = job.canonical;
        let scores = match job.answer {
            Answer::Gpu(answer) => match self.advance_gpu(engine, &job.plan, answer, wait)? {
                Ok((probabilities, features)) => Scores {
                    model,
                    probabilities,
                    features,
                },
                Err(answer) => {
                    self.job = Some(Job {
                        answer: Answer::Gpu(answer),
                        ..job
                    });
                    return Ok(());
                }
            },
            Answer::Cpu(task) => {
                let answer = if wait {
                    task.wait()?
                } else {
                    match task.try_take() {
                        Some(answer) => answer?,
                        None => {
                            self.job = Some(Job {
                                answer: Answer::Cpu(task),
                                ..job
                            });
                            return Ok(());
                        }
                    }
                }?;
                if let Some(filled) = answer.filled {
                    self.upload_modified(engine, &filled);
                    self.filled_cpu = Some(filled);
                }
                // A preview that fell back to the full-size fill answered canonically.
                canonical |= answer.full_size;
                if answer.fill_ms > 0.0 {
                    self.notice = answer.notice;
                    self.stats.inpaint_ms = answer.fill_ms;
                }
                self.stats.classify_ms = answer.classify_ms;
                Scores {
                    model,
                    probabilities: answer.probabilities,
                    features: answer.features,
                }
            }
        };
        self.stats.job_ms = job.started.elapsed().as_secs_f64() * 1e3;
        self.stats.jobs += 1;
        self.jobs_landed += 1;
        self.schedule.landed(&job.plan, canonical);
        match job.plan {
            Plan::Original(_) => self.original_scores = Some(scores),
            Plan::Modified { .. } => {
                self.modified_scores = Some(scores);
                if !self.history.strokes().is_empty() || self.drawing() {
                    // Stroke → answer: the first answer of an edit (a preview while drawing);
                    // stroke → settled: its canonical answer.
                    let ms = job.edited_at.elapsed().as_secs_f64() * 1e3;
                    if self.answered_edit != Some(job.edited_at) {
                        self.answered_edit = Some(job.edited_at);
                        self.stats.latency_ms = ms;
                    }
                    if canonical {
                        self.stats.settled_ms = ms;
                    }
                }
            }
        }
        Ok(())
    }

    /// Puts an image filled on the CPU into the modified texture: only the rectangle where it, or
    /// what the texture held, differs from the original (a fill changes only the hole).
    fn upload_modified(&mut self, engine: &Engine, filled: &image::RgbaImage) {
        let (w, h) = self.size;
        let differs = match difference_bounds(&self.original_cpu, filled) {
            Some(r) => super::Region::Rect(r),
            None => super::Region::None,
        };
        let [x0, y0, x1, y1] = match self.modified_differs.union(differs) {
            super::Region::None => return,
            super::Region::Rect(r) => r,
            super::Region::Whole => [0, 0, w, h],
        };
        self.modified_differs = differs;
        engine.gpu.queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                origin: wgpu::Origin3d { x: x0, y: y0, z: 0 },
                ..self.modified.as_image_copy()
            },
            filled.as_raw(),
            wgpu::TexelCopyBufferLayout {
                offset: 4 * (u64::from(y0) * u64::from(w) + u64::from(x0)),
                bytes_per_row: Some(4 * w),
                rows_per_image: Some(h),
            },
            texture::extent(x1 - x0, y1 - y0),
        );
        self.modified_change = self
            .modified_change
            .union(super::Region::Rect([x0, y0, x1, y1]));
    }
}

/// The smallest rectangle (x0, y0, x1, y1, exclusive) holding every pixel where `a` and `b`
/// differ; `None` when they are equal. Same-size images.
pub(super) fn difference_bounds(a: &image::RgbaImage, b: &image::RgbaImage) -> Option<[u32; 4]> {
    let w = a.width() as usize;
    let (mut lo, mut hi) = ([u32::MAX; 2], [0u32; 2]);
    for (y, (ra, rb)) in a
        .as_raw()
        .chunks_exact(4 * w)
        .zip(b.as_raw().chunks_exact(4 * w))
        .enumerate()
    {
        if ra == rb {
            continue;
        }
        let first = ra
            .chunks_exact(4)
            .zip(rb.chunks_exact(4))
            .position(|(p, q)| p != q);
        let last = ra
            .chunks_exact(4)
            .zip(rb.chunks_exact(4))
            .rposition(|(p, q)| p != q);
        if let (Some(f), Some(l)) = (first, last) {
            lo = [lo[0].min(f as u32), lo[1].min(y as u32)];
            hi = [hi[0].max(l as u32 + 1), y as u32 + 1];
        }
    }
    (lo[0] != u32::MAX).then_some([lo[0], lo[1], hi[0], hi[1]])
}

#[cfg(test)]
mod tests {
    use super::difference_bounds;
    use image::{Rgba, RgbaImage};

    #[test]
    fn difference_bounds_hold_every_changed_pixel() {
        let a = RgbaImage::from_pixel(20, 10, Rgba([1, 2, 3, 255]));
        assert_eq!(difference_bounds(&a, &a), None);
        let mut b = a.clone();
        b.put_pixel(3, 7, Rgba([1, 2, 3, 254]));
        b.put_pixel(12, 2, Rgba([0, 2, 3, 255]));
        assert_eq!(difference_bounds(&a, &b), Some([3, 2, 13, 8]));
        b.put_pixel(19, 9, Rgba([9, 9, 9, 9]));
        assert_eq!(difference_bounds(&a, &b), Some([3, 2, 20, 10]));
    }
}
