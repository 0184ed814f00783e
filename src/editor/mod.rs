//! One photo being edited: its GPU textures (original, modified, mask, the two displayed
//! pictures), the stroke history, and the inpaint + classify jobs that keep the Modified table
//! live. `update` is called once a frame and never waits for the GPU: at most one job is in
//! flight, and when it lands the newest state (not every intermediate one) starts the next.
//! Which job runs is the scheduler's call (`schedule.rs`); every answer carries the key of the
//! state it answers.

mod cpu_path;
mod gpu_job;
pub mod history;
mod jobs;
mod mask_cache;
mod pictures;
pub mod schedule;
pub mod side;

use std::time::Instant;

use burn::tensor::Tensor;
use image::{GrayImage, RgbaImage};

use crate::cpu::morphology::MaskOp;
use crate::engine::Engine;
use crate::gpu::texture::{self, IMAGE_FORMAT};
use crate::inpaint::InpaintParams;
use crate::models::ModelKind;
use crate::passes::Segment;
use crate::passes::compose::ComposeTarget;
use crate::passes::paint::PAINT_MASK_FORMAT;
use crate::passes::paint::PaintTarget;
use crate::{Error, Result, cpu};
#[doc(hidden)]
pub use gpu_job::LIVE_DELAY_MS;
pub use history::{History, MaskStep, Stroke};
use jobs::Job;
pub use schedule::{EditKey, FillKey, Plan, Schedule};

/// What the user has chosen that affects the pictures and tables.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewSettings {
    /// The classifier.
    pub model: ModelKind,
    /// Fill method and its settings.
    pub inpaint: InpaintParams,
    /// Class whose activation map is overlaid, if any.
    pub cam_class: Option<usize>,
    /// What the class overlay shows: the CAM, or a gradient map.
    pub cam_method: CamMethod,
    /// The gradient map's layer, an index into [`crate::explain::gradcam::layers`] of the model
    /// (`None`, or an index past the end after a model switch: the last layer).
    pub cam_layer: Option<usize>,
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
            cam_method: CamMethod::Cam,
            cam_layer: None,
            cam_common_scale: true,
            cam_opacity: 0.5,
            mask_alpha: 0.35,
            split: 0.0,
        }
    }
}

/// What the class overlay shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CamMethod {
    /// The class activation map of the last layer, from the table's own forward pass.
    #[default]
    Cam,
    /// Grad-CAM or HiResCAM at the chosen layer (a forward and a backward pass per image).
    Gradient(crate::explain::gradcam::GradMethod),
}

impl ViewSettings {
    /// The gradient map's layer name for the current model.
    pub fn layer_name(&self) -> &'static str {
        let layers = crate::explain::gradcam::layers(self.model);
        self.cam_layer.and_then(|i| layers.get(i)).map_or_else(
            || crate::explain::gradcam::last_layer(self.model),
            String::as_str,
        )
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

/// Everything the composed pictures depend on: recompose only when it changes.
#[derive(Clone, Copy, PartialEq)]
struct ComposeKey {
    mask_version: u64,
    jobs_landed: u64,
    cam: Option<CamKey>,
    overlay_version: u64,
    split: u32,
    mask_alpha: f32,
    cam_opacity: f32,
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
    /// Last stroke → new Modified table latency: an edit to its first answer (a preview while
    /// the stroke is drawn, on the CPU path), ms.
    pub latency_ms: f64,
    /// Last edit → its canonical answer (the full-size fill's table), ms.
    pub settled_ms: f64,
    /// Jobs completed.
    pub jobs: u64,
    /// Where the host's CPU time went recording the last live job (GPU path).
    pub host: crate::host_clock::HostPhases,
}

/// A photo under edit.
pub struct Editor {
    /// Image size.
    pub size: (u32, u32),
    /// This editor's photo among all opened in this process (see [`Editor::image_id`]).
    image_id: u64,
    /// The original in CPU memory, for fills and inference on the CPU (software adapters).
    original_cpu: std::sync::Arc<RgbaImage>,
    /// What the modified texture holds, in CPU memory, on the CPU path (a model switch
    /// classifies it again without refilling).
    filled_cpu: Option<std::sync::Arc<RgbaImage>>,
    original: wgpu::Texture,
    modified: wgpu::Texture,
    /// A copy of `modified` for the other model's classification on the background thread, made
    /// in queue order when it is asked for (so a later job's refill cannot reach it); made on
    /// first use and kept for the image. One copy: a new request rewrites it, so the request
    /// before must have been dropped (`OtherModel` keeps one in flight and drops it first).
    modified_copy: std::cell::OnceCell<wgpu::Texture>,
    mask: wgpu::Texture,
    /// The mask as the job in flight fills it: copied from `mask` in queue order when a GPU job
    /// starts, so strokes painted meanwhile cannot reach the fill. Made on first use.
    mask_job: Option<wgpu::Texture>,
    /// A warm Telea preview's source (the previous fill) and mask (the hole's new part), made
    /// on first use.
    modified_prev: Option<wgpu::Texture>,
    mask_grown: Option<wgpu::Texture>,
    /// The CPU mask whose fill the modified image holds (GPU path; `None` when unknown), and
    /// that of the refill in flight.
    filled_plan: Option<std::sync::Arc<GrayImage>>,
    launched_plan: Option<std::sync::Arc<GrayImage>>,
    display: wgpu::Texture,
    display_original: wgpu::Texture,
    /// The compose pass's resources for `display` and `display_original`, kept for the image.
    compose_display: ComposeTarget,
    compose_original: ComposeTarget,
    /// The paint pass's resources for `mask`, kept for the image.
    paint_target: PaintTarget,
    /// CPU rasterisation of the strokes: the GPU path bounds the hole (region and depth) with it
    /// when planning the fill, the CPU path and Fill A/B fill from it; the GPU mask is painted by
    /// the paint pass. Shared with the job in flight, which uses it as it was when the job
    /// started (a stroke painted meanwhile copies it first: 1 MB at the 1024 working size).
    hole_plan: std::sync::Arc<GrayImage>,
    /// `hole_plan` of recent settled states, for undo and redo.
    mask_cache: mask_cache::MaskCache,
    history: History,
    pending: Vec<MaskStep>,
    /// Scratch for whole-mask operations: made on the first one, kept for the image.
    mask_scratch: Option<wgpu::Texture>,
    replay: bool,
    /// Bumps with every change of the mask texture (the pictures show the mask tint).
    mask_version: u64,
    /// When the latest edit was made (the edit a new job answers).
    edited_at: Instant,
    job: Option<Job>,
    schedule: Schedule,
    jobs_landed: u64,
    composed: Option<ComposeKey>,
    /// Bumps whenever the composed pictures are redrawn (the window repaints only then, or on
    /// input).
    picture_version: u64,
    /// Scores of the original image.
    pub original_scores: Option<Scores>,
    /// Scores of the modified image (for the state `answered_key` names).
    pub modified_scores: Option<Scores>,
    cams: Option<(CamKey, Tensor<2>, Tensor<2>)>,
    /// Timings.
    pub stats: Stats,
    /// Something the user should know (e.g. a fallback taken), until the next fill.
    pub notice: Option<String>,
    /// The fills' buffers (Telea's, PatchMatch's for warm-started previews) and the stage
    /// timer, kept for the image (a live job creates none); the GPU job in flight holds them.
    kept: gpu_job::Kept,
    /// Set by the live lane when it has submitted a fill (see `compose`).
    lane_wrote: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The original squashed to a model's input size, for previews on the CPU path.
    preview_base: Option<(u32, std::sync::Arc<RgbaImage>)>,
    /// The edit (its time) the Modified table last answered first.
    answered_edit: Option<Instant>,
    /// Where the mask changed since the pictures were last composed.
    mask_change: Region,
    /// Where the modified texture was rewritten since the pictures were last composed.
    modified_change: Region,
    /// Where the modified texture may differ from the original (CPU path uploads only this).
    modified_differs: Region,
    /// What the pictures redrew since the window last took it.
    picture_damage: PictureDamage,
    /// Gradient maps being computed on a worker thread (CPU path), for the state keyed.
    cam_job: Option<(CamKey, CamReceiver)>,
    /// The maps that failed on the worker (not tried again until the key changes).
    cam_failed: Option<CamKey>,
    /// The cache holds the correspondences of the fill the modified image shows.
    pm_primed: bool,
    /// A map shown over the original picture instead of its CAM (an occlusion map).
    original_overlay: Option<crate::explain::Map>,
    overlay_version: u64,
    /// The host's CPU time painting strokes into the GPU mask since the last job started (ms).
    paint_cpu_ms: f64,
}

/// Where a worker's gradient maps (original, modified) arrive.
type CamReceiver = std::sync::mpsc::Receiver<Result<Vec<Tensor<2>>>>;

/// Which pixels of an image changed: none, those in a rectangle, or all of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Region {
    /// None.
    #[default]
    None,
    /// Only these (x0, y0, x1, y1, exclusive).
    Rect([u32; 4]),
    /// All of them.
    Whole,
}

impl Region {
    /// The pixels of both.
    pub fn union(self, other: Region) -> Region {
        match (self, other) {
            (Region::None, r) | (r, Region::None) => r,
            (Region::Rect(a), Region::Rect(b)) => Region::Rect([
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]),
            _ => Region::Whole,
        }
    }
}

/// What the two pictures redrew since the window last asked (`Editor::take_picture_damage`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PictureDamage {
    /// The edited picture ([`Editor::display`]).
    pub display: Region,
    /// The original's picture ([`Editor::display_original`]).
    pub original: Region,
}

#[derive(Clone, Copy, PartialEq)]
struct CamKey {
    class: usize,
    method: CamMethod,
    /// The layer's index (gradient maps), and whether its cells spread evenly over the image
    /// (layers before the last) rather than at the last layer's receptive-field centres.
    layer: Option<usize>,
    even: bool,
    common: bool,
    answered: Option<EditKey>,
    /// The answer is canonical (a preview's maps are redrawn once the canonical answer lands).
    canonical: bool,
    model: ModelKind,
}

pub(super) fn make_texture(
    gpu: &wgpu::Device,
    (w, h): (u32, u32),
    format: wgpu::TextureFormat,
    label: &str,
) -> wgpu::Texture {
    texture::create_2d(
        gpu,
        (w, h),
        format,
        wgpu::TextureUsages::TEXTURE_BINDING
            | wgpu::TextureUsages::STORAGE_BINDING
            | wgpu::TextureUsages::COPY_DST
            | wgpu::TextureUsages::COPY_SRC,
        label,
    )
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
        let mut paint_target = engine.paint.target(device, &mask);
        let queue = &engine.gpu.queue;
        engine
            .paint
            .encode(device, queue, &mut encoder, &mut paint_target, true, &[]);
        queue.submit([encoder.finish()]);
        let compose_display = ComposeTarget::new(device, &original, &modified, &mask, &display);
        let compose_original =
            ComposeTarget::new(device, &original, &modified, &mask, &display_original);
        Ok(Self {
            image_id: {
                static OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
            size,
            original_cpu: std::sync::Arc::new(img.clone()),
            filled_cpu: None,
            original,
            modified,
            modified_copy: std::cell::OnceCell::new(),
            mask,
            mask_job: None,
            modified_prev: None,
            mask_grown: None,
            filled_plan: None,
            launched_plan: None,
            display,
            display_original,
            compose_display,
            compose_original,
            paint_target,
            hole_plan: std::sync::Arc::new(GrayImage::new(size.0, size.1)),
            mask_cache: Default::default(),
            mask_scratch: None,
            history: History::default(),
            pending: Vec::new(),
            replay: false,
            mask_version: 0,
            edited_at: Instant::now(),
            job: None,
            schedule: Schedule::default(),
            jobs_landed: 0,
            picture_version: 0,
            composed: None,
            original_scores: None,
            modified_scores: None,
            cams: None,
            stats: Stats::default(),
            notice: None,
            kept: gpu_job::Kept {
                stages: crate::gpu::timer::StageTimer::new(device, &engine.gpu.queue),
                ..Default::default()
            },
            preview_base: None,
            answered_edit: None,
            mask_change: Region::None,
            modified_change: Region::None,
            modified_differs: Region::None,
            picture_damage: PictureDamage::default(),
            cam_job: None,
            cam_failed: None,
            pm_primed: false,
            original_overlay: None,
            overlay_version: 0,
            lane_wrote: Default::default(),
            paint_cpu_ms: 0.0,
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

    /// The original image in CPU memory, shared (for work on other threads).
    pub fn original_shared(&self) -> std::sync::Arc<RgbaImage> {
        std::sync::Arc::clone(&self.original_cpu)
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
        self.mask_version += 1;
        self.edited_at = Instant::now();
    }

    fn queue(&mut self, step: MaskStep) {
        self.mask_change = self.mask_change.union(match step {
            // One pixel more than the capsule: the bound is floored/ceiled around a
            // per-pixel-centre coverage test.
            MaskStep::Paint(seg) => Region::Rect(cpu::paint::capsule_bounds(
                self.size,
                seg.a,
                seg.b,
                seg.radius + 1.0,
            )),
            MaskStep::Op(_) => Region::Whole,
        });
        apply_step(std::sync::Arc::make_mut(&mut self.hole_plan), step);
        self.pending.push(step);
        self.touched();
    }

    /// Keeps the CPU mask of the state the strokes are leaving (a settled one), for undo.
    fn remember_mask(&mut self) {
        if !self.drawing() {
            self.mask_cache
                .remember(self.history.key(), &self.hole_plan);
        }
    }

    /// Presses the brush (or the eraser, `restore`) at image point `p`.
    pub fn begin_stroke(&mut self, restore: bool, radius: f32, p: (f32, f32)) {
        self.remember_mask();
        let seg = self.history.begin(restore, radius, p);
        self.queue(MaskStep::Paint(seg));
    }

    /// Drags the brush to `p` (the segment from the last point is painted: no gaps).
    pub fn extend_stroke(&mut self, p: (f32, f32)) {
        if let Some(seg) = self.history.extend(p) {
            self.queue(MaskStep::Paint(seg));
        }
    }

    /// Erases the non-zero pixels of `mask` in one undoable step (a suggested mask).
    pub fn apply_mask(&mut self, mask: &GrayImage) -> Result<()> {
        crate::error::check_mask_size(mask.dimensions(), self.size)?;
        self.push_stroke(Stroke::from_mask(mask));
        Ok(())
    }

    /// Makes the mask exactly `mask` (non-zero = erase) in one undoable step: an imported mask.
    pub fn set_mask(&mut self, mask: &GrayImage) -> Result<()> {
        crate::error::check_mask_size(mask.dimensions(), self.size)?;
        self.push_stroke(Stroke::replacing(mask));
        Ok(())
    }

    /// Clears, inverts, grows or shrinks the whole mask in one undoable step.
    pub fn apply_op(&mut self, op: MaskOp) -> Result<()> {
        if let MaskOp::Grow(n) | MaskOp::Shrink(n) = op {
            crate::limits::check("the grow/shrink radius", n, &crate::limits::MASK_GROW)
                .map_err(Error::Invalid)?;
        }
        self.push_stroke(Stroke::operation(op));
        Ok(())
    }

    /// Adds a whole stroke in one step (replaying a session, or a suggested mask).
    pub fn push_stroke(&mut self, stroke: Stroke) {
        self.remember_mask();
        for step in self.history.push(stroke) {
            self.queue(step);
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
        self.mask_change = Region::Whole;
        self.hole_plan = match self.mask_cache.get(self.history.key()) {
            Some(mask) => mask,
            None => {
                let mut plan = GrayImage::new(self.size.0, self.size.1);
                for step in self.history.steps() {
                    apply_step(&mut plan, step);
                }
                std::sync::Arc::new(plan)
            }
        };
        self.pending.clear();
        self.replay = true;
        self.touched();
    }

    /// Undoes the last stroke.
    pub fn undo(&mut self) -> bool {
        self.remember_mask();
        let changed = self.history.undo();
        if changed {
            self.rebuild();
        }
        changed
    }

    /// Redoes the last undone stroke.
    pub fn redo(&mut self) -> bool {
        self.remember_mask();
        let changed = self.history.redo();
        if changed {
            self.rebuild();
        }
        changed
    }

    /// Forgets the whole edit.
    pub fn reset(&mut self) {
        self.remember_mask();
        self.history.reset();
        self.rebuild();
    }

    /// Bumps whenever the displayed pictures change.
    pub fn picture_version(&self) -> u64 {
        self.picture_version
    }

    /// What the pictures redrew since the last call (the window repaints only that).
    pub fn take_picture_damage(&mut self) -> PictureDamage {
        std::mem::take(&mut self.picture_damage)
    }

    /// Names this editor's photo: unique among the editors made in this process (a result
    /// asked for one photo is never applied to the next one opened).
    pub fn image_id(&self) -> u64 {
        self.image_id
    }

    /// The state `settings` and the strokes define now: what the tables must answer.
    pub fn key(&self, settings: &ViewSettings) -> EditKey {
        EditKey {
            fill: FillKey::new(self.history.key(), settings.inpaint),
            model: settings.model,
        }
    }

    /// Whether both tables answer the current state (canonically once the stroke is released),
    /// with nothing in flight.
    pub fn is_current(&self, settings: &ViewSettings) -> bool {
        self.schedule.settled(&self.key(settings), self.drawing())
    }

    /// Whether frames must keep coming: a job in flight, or one to start.
    pub fn has_work(&self, settings: &ViewSettings) -> bool {
        self.job.is_some()
            || self.cam_job.is_some()
            || self
                .schedule
                .next(&self.key(settings), self.drawing(), true)
                .is_some()
    }

    /// Whether the Modified table on screen answers the current state (it may be a preview while
    /// a stroke is drawn); when false it is shown as updating.
    pub fn answers(&self, settings: &ViewSettings) -> bool {
        self.schedule.answers(&self.key(settings), self.drawing())
    }

    /// The state the Modified table answers, if any.
    pub fn answered_key(&self) -> Option<EditKey> {
        self.schedule.modified.map(|(k, _)| k)
    }

    /// Why the current state could not be answered (not retried until it changes).
    pub fn failure(&self, settings: &ViewSettings) -> Option<&str> {
        let key = self.key(settings);
        self.schedule
            .failed
            .as_ref()
            .filter(|(plan, _)| match plan {
                Plan::Original(m) => *m == key.model,
                Plan::Modified { key: k, .. } => *k == key,
            })
            .map(|(_, why)| why.as_str())
    }

    /// One frame: collect a finished job, paint new strokes, start the next job if the answer is
    /// stale, refresh the CAMs and compose both pictures. Never waits for the GPU; a frame with
    /// no new stroke, no changed setting and no landed job records no GPU work.
    pub fn update(&mut self, engine: &mut Engine, settings: &ViewSettings) -> Result<()> {
        self.collect(engine, false)?;
        let mut lap = crate::host_clock::Lap::start();
        self.paint(engine);
        self.paint_cpu_ms += lap.lap();
        self.start_job(engine, settings)?;
        self.update_cams(engine, settings, false)?;
        self.compose(engine, settings)
    }

    /// Like `update`, but waits until the tables answer the current state (tests, replays,
    /// scripted runs). A state that fails returns its error.
    pub fn settle(&mut self, engine: &mut Engine, settings: &ViewSettings) -> Result<()> {
        for _ in 0..8 {
            self.collect(engine, true)?;
            self.paint(engine);
            self.start_job(engine, settings)?;
            if self.job.is_none() {
                break;
            }
        }
        self.collect(engine, true)?;
        if !self.is_current(settings)
            && let Some(why) = self.failure(settings)
        {
            return Err(Error::Invalid(why.to_owned()));
        }
        self.update_cams(engine, settings, true)?;
        self.compose(engine, settings)?;
        engine.gpu.wait_idle()
    }

    fn paint(&mut self, engine: &Engine) {
        if self.pending.is_empty() && !self.replay {
            return;
        }
        let device = &engine.gpu.device;
        let queue = &engine.gpu.queue;
        let mut encoder = device.create_command_encoder(&Default::default());
        let steps = if self.replay {
            self.history.steps()
        } else {
            std::mem::take(&mut self.pending)
        };
        // Runs of capsules go to the paint pass together; whole-mask operations in between, in
        // order. A replay clears the mask first. The paint target's parameters are written per
        // submit, so each operation ends one.
        let mut clear = self.replay;
        let mut run: Vec<Segment> = Vec::new();
        for step in steps {
            match step {
                MaskStep::Paint(seg) => run.push(seg),
                MaskStep::Op(op) => {
                    engine.paint.encode(
                        device,
                        queue,
                        &mut encoder,
                        &mut self.paint_target,
                        clear,
                        &run,
                    );
                    clear = false;
                    run.clear();
                    let scratch = self.mask_scratch.get_or_insert_with(|| {
                        make_texture(device, self.size, PAINT_MASK_FORMAT, "editor.mask_scratch")
                    });
                    engine
                        .morphology
                        .encode(device, &mut encoder, &self.mask, scratch, op);
                    let done = std::mem::replace(
                        &mut encoder,
                        device.create_command_encoder(&Default::default()),
                    );
                    queue.submit([done.finish()]);
                }
            }
        }
        if clear || !run.is_empty() {
            engine.paint.encode(
                device,
                queue,
                &mut encoder,
                &mut self.paint_target,
                clear,
                &run,
            );
        }
        queue.submit([encoder.finish()]);
        self.replay = false;
        self.pending.clear();
    }
}

/// Applies one painting step to the CPU copy of the mask (the same steps the GPU applies).
fn apply_step(mask: &mut GrayImage, step: MaskStep) {
    match step {
        MaskStep::Paint(s) => cpu::paint::paint_segment(mask, s.a, s.b, s.radius, s.erase),
        MaskStep::Op(op) => cpu::morphology::apply(mask, op),
    }
}
