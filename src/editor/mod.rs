//! One photo being edited: its GPU textures (original, modified, mask, the two displayed
//! pictures), the stroke history, and the inpaint + classify jobs that keep the Modified table
//! live. `update` is called once a frame and never waits for the GPU: at most one job is in
//! flight, and when it lands the newest edit (not every intermediate one) starts the next.

mod cpu_path;
pub mod history;
mod pictures;

use std::time::Instant;

use burn::tensor::Tensor;
use image::{GrayImage, RgbaImage};

use crate::engine::Engine;
use crate::gpu::readback::Readback;
use crate::gpu::texture::{self, IMAGE_FORMAT};
use crate::inpaint::{InpaintParams, Method};
use crate::models::ModelKind;
use crate::passes::paint::PAINT_MASK_FORMAT;
use crate::passes::{HoleBounds, PatchMatchCache, PatchMatchParams, Segment};
use crate::{Error, Result, cpu};
pub use history::{History, Stroke};

/// What the user has chosen that affects the pictures and tables.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewSettings {
    /// The classifier.
    pub model: ModelKind,
    /// Fill method and its settings.
    pub inpaint: InpaintParams,
    /// Class whose activation map is overlaid, if any.
    pub cam_class: Option<usize>,
    /// Put both CAMs on their common range.
    pub cam_common_scale: bool,
    /// CAM overlay opacity.
    pub cam_opacity: f32,
    /// Mask tint opacity.
    pub mask_alpha: f32,
    /// Fraction of the width (from the left) that shows the original.
    pub split: f32,
}

impl Default for ViewSettings {
    fn default() -> Self {
        Self {
            model: ModelKind::SqueezeNet,
            inpaint: InpaintParams::default(),
            cam_class: None,
            cam_common_scale: true,
            cam_opacity: 0.5,
            mask_alpha: 0.35,
            split: 0.0,
        }
    }
}

/// Class probabilities of one image, with the feature map of the same forward pass.
pub struct Scores {
    /// Which model produced them.
    pub model: ModelKind,
    /// Softmax over the 1000 classes.
    pub probabilities: Vec<f32>,
    /// Last feature map (GPU), for the CAM.
    pub features: Tensor<4>,
}

enum JobKind {
    Original,
    /// The modified image as of edit `generation`, made at `edited_at`.
    Modified {
        generation: u64,
        edited_at: Instant,
    },
}

/// Everything the composed pictures depend on: recompose only when it changes.
#[derive(Clone, Copy, PartialEq)]
struct ComposeKey {
    generation: u64,
    jobs_started: u64,
    cam: Option<CamKey>,
    overlay_version: u64,
    split: u32,
    mask_alpha: f32,
    cam_opacity: f32,
}

struct Job {
    kind: JobKind,
    model: ModelKind,
    answer: Answer,
    started: Instant,
}

/// Where a job's answer comes from.
enum Answer {
    /// Scores on their way back from the GPU, and the feature map of the same pass.
    Gpu(Box<(Readback, Tensor<4>)>),
    /// A worker thread on the CPU path.
    Cpu(cpu_path::CpuJob),
}

/// Timings of the live pipeline, for the status bar.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Last inpaint + classify job, submit to scores on the CPU (ms).
    pub job_ms: f64,
    /// Last fill (ms): GPU time from timestamps on the GPU path, wall time on the CPU path.
    pub inpaint_ms: f64,
    /// Last classification (ms), measured like `inpaint_ms`.
    pub classify_ms: f64,
    /// Last stroke → new Modified table latency: first unanswered edit to its answer (ms).
    pub latency_ms: f64,
    /// Jobs completed.
    pub jobs: u64,
}

/// A photo under edit.
pub struct Editor {
    /// Image size.
    pub size: (u32, u32),
    /// The original in CPU memory, for fills and inference on the CPU (software adapters).
    original_cpu: std::sync::Arc<RgbaImage>,
    original: wgpu::Texture,
    modified: wgpu::Texture,
    mask: wgpu::Texture,
    display: wgpu::Texture,
    display_original: wgpu::Texture,
    /// CPU rasterisation of the strokes, kept only to bound the hole (region and depth) when
    /// planning the Telea dispatches; the GPU mask is painted by the paint pass.
    hole_plan: GrayImage,
    history: History,
    pending: Vec<Segment>,
    replay: bool,
    generation: u64,
    shown_generation: Option<u64>,
    /// When the latest edit was made (the edit a new job answers).
    edited_at: Instant,
    job: Option<Job>,
    jobs_started: u64,
    composed: Option<ComposeKey>,
    /// Scores of the original image.
    pub original_scores: Option<Scores>,
    /// Scores of the modified image (for `modified_generation`).
    pub modified_scores: Option<Scores>,
    cams: Option<(CamKey, Tensor<2>, Tensor<2>)>,
    /// Timings.
    pub stats: Stats,
    /// Something the user should know (e.g. a fallback taken), until the next fill.
    pub notice: Option<String>,
    /// PatchMatch's buffers, kept for warm starts while strokes are added.
    pm_cache: PatchMatchCache,
    /// The settings the cached PatchMatch fill was made with.
    pm_primed_with: Option<PatchMatchParams>,
    /// A map shown over the original picture instead of its CAM (an occlusion map).
    original_overlay: Option<crate::explain::Map>,
    overlay_version: u64,
    stages: Option<crate::gpu::timer::StageTimer>,
}

#[derive(Clone, Copy, PartialEq)]
struct CamKey {
    class: usize,
    common: bool,
    generation: Option<u64>,
    model: ModelKind,
}

fn make_texture(
    gpu: &wgpu::Device,
    (w, h): (u32, u32),
    format: wgpu::TextureFormat,
    label: &str,
) -> wgpu::Texture {
    gpu.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: texture::extent(w, h),
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING
            | wgpu::TextureUsages::STORAGE_BINDING
            | wgpu::TextureUsages::COPY_DST
            | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    })
}

impl Editor {
    /// Uploads `img` and prepares an empty edit.
    pub fn new(engine: &Engine, img: &RgbaImage) -> Result<Self> {
        let device = &engine.gpu.device;
        let size = img.dimensions();
        let original = texture::upload_rgba(device, &engine.gpu.queue, img, "editor.original")?;
        let modified = make_texture(device, size, IMAGE_FORMAT, "editor.modified");
        let mask = make_texture(device, size, PAINT_MASK_FORMAT, "editor.mask");
        let display = make_texture(device, size, IMAGE_FORMAT, "editor.display");
        let display_original = make_texture(device, size, IMAGE_FORMAT, "editor.display_original");
        let mut encoder = device.create_command_encoder(&Default::default());
        encoder.copy_texture_to_texture(
            original.as_image_copy(),
            modified.as_image_copy(),
            texture::extent(size.0, size.1),
        );
        engine.paint.encode(device, &mut encoder, &mask, true, &[]);
        engine.gpu.queue.submit([encoder.finish()]);
        Ok(Self {
            size,
            original_cpu: std::sync::Arc::new(img.clone()),
            original,
            modified,
            mask,
            display,
            display_original,
            hole_plan: GrayImage::new(size.0, size.1),
            history: History::default(),
            pending: Vec::new(),
            replay: false,
            generation: 0,
            shown_generation: None,
            edited_at: Instant::now(),
            job: None,
            jobs_started: 0,
            composed: None,
            original_scores: None,
            modified_scores: None,
            cams: None,
            stats: Stats::default(),
            notice: None,
            pm_cache: PatchMatchCache::default(),
            pm_primed_with: None,
            original_overlay: None,
            overlay_version: 0,
            stages: crate::gpu::timer::StageTimer::new(device, &engine.gpu.queue),
        })
    }

    /// The picture of the edit (modified image, mask tint, split, CAM), RGBA8.
    pub fn display(&self) -> &wgpu::Texture {
        &self.display
    }

    /// The picture of the original (with its CAM), RGBA8.
    pub fn display_original(&self) -> &wgpu::Texture {
        &self.display_original
    }

    /// The modified image (RGBA8), for saving.
    pub fn modified(&self) -> &wgpu::Texture {
        &self.modified
    }

    /// The mask as painted on the GPU (R32Float, 1 = erased), for saving.
    pub fn mask_texture(&self) -> &wgpu::Texture {
        &self.mask
    }

    /// The original image in CPU memory.
    pub fn original_image(&self) -> &RgbaImage {
        &self.original_cpu
    }

    /// Version of the edit: bumps with every change of the mask.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The edit version the Modified table answers.
    pub fn answered_generation(&self) -> Option<u64> {
        self.shown_generation
    }

    /// The stroke history.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The mask as the strokes define it (CPU rasterisation of the same capsules).
    pub fn mask_image(&self) -> &GrayImage {
        &self.hole_plan
    }

    fn touched(&mut self) {
        self.generation += 1;
        self.edited_at = Instant::now();
    }

    fn queue(&mut self, seg: Segment) {
        cpu::paint::paint_segment(&mut self.hole_plan, seg.a, seg.b, seg.radius, seg.erase);
        self.pending.push(seg);
        self.touched();
    }

    /// Presses the brush (or the eraser, `restore`) at image point `p`.
    pub fn begin_stroke(&mut self, restore: bool, radius: f32, p: (f32, f32)) {
        let seg = self.history.begin(restore, radius, p);
        self.queue(seg);
    }

    /// Drags the brush to `p` (the segment from the last point is painted: no gaps).
    pub fn extend_stroke(&mut self, p: (f32, f32)) {
        if let Some(seg) = self.history.extend(p) {
            self.queue(seg);
        }
    }

    /// Erases the non-zero pixels of `mask` in one undoable step (a suggested mask).
    pub fn apply_mask(&mut self, mask: &GrayImage) -> Result<()> {
        crate::error::check_mask_size(mask.dimensions(), self.size)?;
        self.push_stroke(Stroke::from_mask(mask));
        Ok(())
    }

    /// Adds a whole stroke in one step (replaying a session, or a suggested mask).
    pub fn push_stroke(&mut self, stroke: Stroke) {
        for seg in self.history.push(stroke) {
            self.queue(seg);
        }
    }

    /// Releases the brush.
    pub fn end_stroke(&mut self) {
        self.history.end();
    }

    /// Whether a stroke is being drawn.
    pub fn drawing(&self) -> bool {
        self.history.drawing()
    }

    fn rebuild(&mut self) {
        self.hole_plan = GrayImage::new(self.size.0, self.size.1);
        for s in self.history.segments() {
            cpu::paint::paint_segment(&mut self.hole_plan, s.a, s.b, s.radius, s.erase);
        }
        self.pending.clear();
        self.replay = true;
        // Strokes went away: fill fresh, so that undo gives back exactly the earlier result.
        self.pm_primed_with = None;
        self.touched();
    }

    /// Undoes the last stroke.
    pub fn undo(&mut self) -> bool {
        let changed = self.history.undo();
        if changed {
            self.rebuild();
        }
        changed
    }

    /// Redoes the last undone stroke.
    pub fn redo(&mut self) -> bool {
        let changed = self.history.redo();
        if changed {
            self.rebuild();
        }
        changed
    }

    /// Forgets the whole edit.
    pub fn reset(&mut self) {
        self.history.reset();
        self.rebuild();
    }

    /// Whether the Modified table answers the current edit and model, with nothing in flight.
    pub fn is_current(&self, model: ModelKind) -> bool {
        self.job.is_none()
            && self.shown_generation == Some(self.generation)
            && self
                .modified_scores
                .as_ref()
                .is_some_and(|s| s.model == model)
            && self
                .original_scores
                .as_ref()
                .is_some_and(|s| s.model == model)
    }

    /// One frame: collect a finished job, paint new strokes, start the next job if the answer is
    /// stale, refresh the CAMs and compose both pictures. Never waits for the GPU.
    pub fn update(&mut self, engine: &mut Engine, settings: &ViewSettings) -> Result<()> {
        self.collect(engine, false)?;
        self.paint(engine);
        self.start_job(engine, settings)?;
        self.update_cams(engine, settings)?;
        self.compose(engine, settings)
    }

    /// Like `update`, but waits until the tables answer the current edit (tests, scripted runs).
    pub fn settle(&mut self, engine: &mut Engine, settings: &ViewSettings) -> Result<()> {
        for _ in 0..8 {
            self.collect(engine, true)?;
            self.paint(engine);
            self.start_job(engine, settings)?;
            if self.job.is_none() && self.is_current(settings.model) {
                break;
            }
        }
        self.collect(engine, true)?;
        self.update_cams(engine, settings)?;
        self.compose(engine, settings)?;
        engine.gpu.wait_idle()
    }

    fn collect(&mut self, engine: &Engine, wait: bool) -> Result<()> {
        let Some(job) = self.job.take() else {
            return Ok(());
        };
        let device = &engine.gpu.device;
        let scores = match job.answer {
            Answer::Gpu(pending) => {
                let (readback, features) = *pending;
                let probabilities = if wait {
                    readback.wait(device)?
                } else {
                    match readback.try_take(device) {
                        Some(r) => r?,
                        None => {
                            self.job = Some(Job {
                                answer: Answer::Gpu(Box::new((readback, features))),
                                ..job
                            });
                            return Ok(());
                        }
                    }
                };
                engine.gpu.health.check()?;
                if let Some((fill, classify)) = self.stages.as_mut().and_then(|t| t.take_ms(device))
                {
                    self.stats.inpaint_ms = fill;
                    self.stats.classify_ms = classify;
                }
                Scores {
                    model: job.model,
                    probabilities,
                    features,
                }
            }
            Answer::Cpu(rx) => {
                let stopped = || Error::Invalid("the CPU job stopped unexpectedly".into());
                let answer = if wait {
                    rx.recv().map_err(|_| stopped())?
                } else {
                    match rx.try_recv() {
                        Ok(answer) => answer,
                        Err(std::sync::mpsc::TryRecvError::Empty) => {
                            self.job = Some(Job {
                                answer: Answer::Cpu(rx),
                                ..job
                            });
                            return Ok(());
                        }
                        Err(std::sync::mpsc::TryRecvError::Disconnected) => return Err(stopped()),
                    }
                }?;
                if let Some(filled) = &answer.filled {
                    self.upload_modified(engine, filled);
                }
                self.notice = answer.notice;
                self.stats.inpaint_ms = answer.fill_ms;
                self.stats.classify_ms = answer.classify_ms;
                Scores {
                    model: job.model,
                    probabilities: answer.probabilities,
                    features: answer.features,
                }
            }
        };
        self.stats.job_ms = job.started.elapsed().as_secs_f64() * 1e3;
        self.stats.jobs += 1;
        match job.kind {
            JobKind::Original => self.original_scores = Some(scores),
            JobKind::Modified {
                generation,
                edited_at,
            } => {
                self.modified_scores = Some(scores);
                self.shown_generation = Some(generation);
                if generation > 0 {
                    self.stats.latency_ms = edited_at.elapsed().as_secs_f64() * 1e3;
                }
            }
        }
        Ok(())
    }

    /// Puts an image filled on the CPU into the modified texture (and redraws the pictures).
    fn upload_modified(&mut self, engine: &Engine, filled: &RgbaImage) {
        let (w, h) = self.size;
        engine.gpu.queue.write_texture(
            self.modified.as_image_copy(),
            filled.as_raw(),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(4 * w),
                rows_per_image: Some(h),
            },
            texture::extent(w, h),
        );
        self.composed = None;
    }

    fn paint(&mut self, engine: &Engine) {
        if self.pending.is_empty() && !self.replay {
            return;
        }
        let device = &engine.gpu.device;
        let mut encoder = device.create_command_encoder(&Default::default());
        let segments = if self.replay {
            self.history.segments()
        } else {
            std::mem::take(&mut self.pending)
        };
        engine
            .paint
            .encode(device, &mut encoder, &self.mask, self.replay, &segments);
        engine.gpu.queue.submit([encoder.finish()]);
        self.replay = false;
        self.pending.clear();
    }

    fn start_job(&mut self, engine: &mut Engine, settings: &ViewSettings) -> Result<()> {
        if self.job.is_some() {
            return Ok(());
        }
        let model = settings.model;
        let original_stale = self
            .original_scores
            .as_ref()
            .is_none_or(|s| s.model != model);
        let modified_stale = self.shown_generation != Some(self.generation)
            || self
                .modified_scores
                .as_ref()
                .is_none_or(|s| s.model != model);
        let kind = if original_stale {
            JobKind::Original
        } else if modified_stale {
            JobKind::Modified {
                generation: self.generation,
                edited_at: self.edited_at,
            }
        } else {
            return Ok(());
        };
        let started = Instant::now();
        self.jobs_started += 1;
        engine.pipeline(model)?;
        if !engine.inference_on_gpu {
            return self.start_cpu_job(engine, settings, kind, started);
        }
        let modified = matches!(kind, JobKind::Modified { .. });
        let mut stages = if modified { self.stages.take() } else { None };
        if let Some(t) = &mut stages {
            t.stamp(&engine.gpu.device, &engine.gpu.queue, 0);
        }
        if modified {
            self.inpaint(engine, settings)?;
        }
        if let Some(t) = &mut stages {
            t.stamp(&engine.gpu.device, &engine.gpu.queue, 1);
        }
        let image = if modified {
            &self.modified
        } else {
            &self.original
        };
        let pipeline = engine.loaded(model).expect("loaded above");
        let gpu = &engine.gpu;
        let input = pipeline.input_from_texture(gpu, image)?;
        let out = pipeline.forward(input);
        let probabilities = burn::tensor::activation::softmax(out.logits, 1);
        if let Some(t) = &mut stages {
            crate::gpu::burn_buffer::flush(&probabilities)?;
            t.stamp(&gpu.device, &gpu.queue, 2);
        }
        if stages.is_some() {
            self.stages = stages;
        }
        let readback = Readback::start(gpu, &probabilities)?;
        self.job = Some(Job {
            kind,
            model,
            answer: Answer::Gpu(Box::new((readback, out.features))),
            started,
        });
        Ok(())
    }

    /// Restores the modified image from the original and fills the hole (recorded on the queue).
    /// PatchMatch warm-starts from the previous fill while strokes are only added; where it cannot
    /// work (no known patch to copy from) Telea fills instead, with a notice.
    fn inpaint(&mut self, engine: &Engine, settings: &ViewSettings) -> Result<()> {
        let device = &engine.gpu.device;
        let mut encoder = device.create_command_encoder(&Default::default());
        encoder.copy_texture_to_texture(
            self.original.as_image_copy(),
            self.modified.as_image_copy(),
            texture::extent(self.size.0, self.size.1),
        );
        if let Some(hole) = HoleBounds::from_mask(&self.hole_plan) {
            let params = &settings.inpaint;
            let mut fill = |p: &InpaintParams, cache: &mut PatchMatchCache, warm: bool| {
                engine.inpainter.encode(
                    device,
                    &mut encoder,
                    &self.original,
                    &self.mask,
                    &self.modified,
                    &self.hole_plan,
                    &hole,
                    p,
                    cache,
                    warm,
                )
            };
            self.notice = None;
            match params.method {
                Method::Telea => fill(params, &mut self.pm_cache, false)?,
                Method::PatchMatch => {
                    let warm = self.pm_primed_with == Some(params.patchmatch);
                    match fill(params, &mut self.pm_cache, warm) {
                        Ok(()) => self.pm_primed_with = Some(params.patchmatch),
                        Err(e) => {
                            self.pm_primed_with = None;
                            self.notice = Some(format!("{e}; filled with Telea instead"));
                            let telea = InpaintParams {
                                method: Method::Telea,
                                ..*params
                            };
                            fill(&telea, &mut self.pm_cache, false)?;
                        }
                    }
                }
            }
        } else if self.hole_plan.pixels().any(|p| p[0] != 0) {
            return Err(Error::Invalid(
                "the mask covers the whole image: there is nothing left to fill from".into(),
            ));
        }
        engine.gpu.queue.submit([encoder.finish()]);
        Ok(())
    }
}
