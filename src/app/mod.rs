//! The viewer window: winit + wgpu + egui on the shared device. `App` is the winit handler;
//! `Viewer` owns the window's GPU resources and the open edit.

pub mod curves;
pub mod dialog;
pub mod explore;
mod frame;
pub mod pointer;
pub mod save;
pub mod state;
mod target;
pub mod ui;
mod view;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use winit::application::ApplicationHandler;
use winit::event::{StartCause, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::window::{Window, WindowId};

use crate::editor::{Editor, ViewSettings};
use crate::engine::Engine;
use crate::gpu::canvas::WindowCanvas;
use crate::gpu::{GpuContext, GpuOptions};
use crate::image_io;
use pointer::StrokeEvent;
use state::{TableRow, Tool, ViewerState, tables};
use ui::{Action, PanelInfo};

/// How often frames poll for a job's answer when nothing else changes.
const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(8);

/// The window's background behind the panels.
const BACKGROUND: egui::Color32 = egui::Color32::from_rgb(20, 20, 23);

/// Long side that opened photos are scaled down to (the working size).
pub const WORKING_SIZE: u32 = 1024;

/// How to run the viewer.
#[derive(Clone, Debug)]
pub struct ViewOptions {
    /// Photo to open (default: the bundled dog.jpg).
    pub image: Option<PathBuf>,
    /// Weights, labels and gallery.
    pub models_dir: PathBuf,
    /// Adapter choice.
    pub gpu: GpuOptions,
    /// Run this many frames with a scripted stroke, then exit (for tests and benchmarks).
    pub frames: Option<u32>,
    /// After the last frame, save the window's picture here (format from the extension).
    pub screenshot: Option<PathBuf>,
    /// With `frames`: paint the scripted stroke.
    pub scripted_stroke: bool,
    /// Where the classifiers run.
    pub inference: crate::classify::Inference,
    /// Fill method to start with.
    pub fill: Option<crate::inpaint::Method>,
    /// With `frames`: write the session of the scripted edit here at exit.
    pub save: Option<PathBuf>,
    /// With `frames`: draw into an offscreen texture of the default window's size instead of a
    /// window (a GPU machine with no display), painted frames paced to this refresh rate in Hz
    /// as a window's vsync paces them (0: back to back).
    pub offscreen: Option<u32>,
}

/// Opens the window and runs until it is closed (or the scripted frames are done).
pub fn run(options: ViewOptions) -> anyhow::Result<()> {
    // Before a window opens: the screenshot's format and folder, and that it replaces no input.
    if let Some(path) = &options.screenshot {
        crate::output::check_image_output(path)?;
        let inputs: Vec<&Path> = options.image.as_deref().into_iter().collect();
        crate::output::refuse_overwrite(&[path], &inputs)?;
    }
    if let Some(hz) = options.offscreen {
        return run_offscreen(&options, hz);
    }
    let event_loop = EventLoop::new()
        .context("cannot open a window: no display found (is DISPLAY or WAYLAND_DISPLAY set?)")?;
    let mut app = App {
        options,
        viewer: None,
        result: Ok(()),
    };
    event_loop.run_app(&mut app).context("window event loop")?;
    app.result
}

/// The scripted frames drawn into an offscreen texture, paced as the window's event loop paces
/// them: a frame that painted waits for the next refresh of a `hz` display (as presenting with
/// vsync waits; `hz` 0: none, back to back), one that had nothing to paint polls again after
/// `POLL_INTERVAL`.
fn run_offscreen(options: &ViewOptions, hz: u32) -> anyhow::Result<()> {
    anyhow::ensure!(options.frames.is_some(), "--offscreen needs --frames");
    let mut viewer = Viewer::offscreen(options)?;
    let period = (hz > 0).then(|| std::time::Duration::from_secs_f64(1.0 / f64::from(hz)));
    let mut vblank = Instant::now();
    while viewer.redraw()? {
        match period {
            Some(period) if viewer.painted_last => {
                // The next refresh after this frame (a slow frame misses the ones it overran).
                let now = Instant::now();
                while vblank <= now {
                    vblank += period;
                }
                std::thread::sleep(vblank - now);
            }
            None if viewer.painted_last => {}
            _ => std::thread::sleep(POLL_INTERVAL),
        }
    }
    Ok(())
}

struct App {
    options: ViewOptions,
    viewer: Option<Viewer>,
    result: anyhow::Result<()>,
}

impl App {
    /// Replaces the viewer's GPU device (after a loss): the plain data — settings, the photo,
    /// the strokes — moves to a viewer built on a new device in the same window, where the
    /// strokes are replayed.
    fn reconnect(&mut self, event_loop: &ActiveEventLoop) {
        let Some(old) = self.viewer.take() else {
            return;
        };
        let Some(carry) = old.carry() else {
            self.viewer = Some(old);
            return;
        };
        // The old device goes before the new one is made (a job still on the live lane holds
        // its handles until it ends: on a lost device, at once with an error).
        drop(old);
        match Viewer::with_window(event_loop, &self.options, Some(carry)) {
            Ok(v) => self.viewer = Some(v),
            Err(e) => {
                self.result = Err(e.context("reconnecting to the GPU"));
                event_loop.exit();
            }
        }
    }
}

/// What survives a new device: plain data only.
struct Carry {
    window: Arc<Window>,
    state: ViewerState,
    original: Option<image::RgbaImage>,
    strokes: Vec<crate::editor::Stroke>,
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.viewer.is_some() {
            return;
        }
        match Viewer::new(event_loop, &self.options) {
            Ok(v) => self.viewer = Some(v),
            Err(e) => {
                self.result = Err(e);
                event_loop.exit();
            }
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        let Some(viewer) = &mut self.viewer else {
            return;
        };
        let repaint = match &mut viewer.target {
            target::Target::Window(w) => w.egui_state.on_window_event(&w.window, &event).repaint,
            target::Target::Offscreen(_) => false,
        };
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Resized(size) => viewer.resize(size.width, size.height),
            WindowEvent::DroppedFile(path) => viewer.open(&path),
            WindowEvent::RedrawRequested => match viewer.redraw() {
                Ok(true) => {}
                Ok(false) => event_loop.exit(),
                Err(e) => {
                    self.result = Err(e);
                    event_loop.exit();
                }
            },
            _ => {}
        }
        if repaint {
            viewer.target.request_redraw();
        }
        if viewer.reconnect {
            self.reconnect(event_loop);
        }
    }

    fn new_events(&mut self, _event_loop: &ActiveEventLoop, cause: StartCause) {
        if matches!(cause, StartCause::ResumeTimeReached { .. })
            && let Some(viewer) = &self.viewer
        {
            viewer.target.request_redraw();
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        let Some(viewer) = self.viewer.as_ref().filter(|v| v.wants_frames()) else {
            event_loop.set_control_flow(ControlFlow::Wait);
            return;
        };
        if viewer.painted_last {
            event_loop.set_control_flow(ControlFlow::Wait);
            viewer.target.request_redraw();
        } else {
            // The last frame had nothing to paint (waiting on a job): poll again shortly
            // rather than spin, which would take a core from the worker.
            event_loop.set_control_flow(ControlFlow::WaitUntil(Instant::now() + POLL_INTERVAL));
        }
    }
}

/// The window's first size (logical pixels): 1400x900, or at most 90% of the monitor's each way.
fn window_size(event_loop: &ActiveEventLoop) -> (f64, f64) {
    let monitor = event_loop
        .primary_monitor()
        .or_else(|| event_loop.available_monitors().next());
    let limit = monitor.map(|m| {
        let size = m.size().to_logical::<f64>(m.scale_factor());
        (size.width * 0.9, size.height * 0.9)
    });
    fit_window((1400.0, 900.0), limit)
}

/// `want` shrunk to fit `limit` (when known), never below a usable 640x400.
fn fit_window(want: (f64, f64), limit: Option<(f64, f64)>) -> (f64, f64) {
    match limit {
        Some((w, h)) if w > 0.0 && h > 0.0 => (want.0.min(w).max(640.0), want.1.min(h).max(400.0)),
        _ => want,
    }
}

struct Viewer {
    // Field order is drop order: egui's GPU resources and the surface go before the device
    // (inside `engine`).
    egui_renderer: egui_wgpu::Renderer,
    egui_ctx: egui::Context,
    /// The window (surface, egui's event state), or an offscreen texture.
    target: target::Target,
    editor: Option<Editor>,
    display_ids: Option<(egui::TextureId, egui::TextureId)>,
    engine: Engine,
    state: ViewerState,
    explore: explore::Explore,
    dialog: Option<dialog::OpenDialog>,
    gallery: Vec<PathBuf>,
    frames_left: Option<u32>,
    frame_index: u32,
    /// When the scripted stroke's second frame began and when it was released: the frames in
    /// between are the painting frames (`painting_fps`).
    painting: (Option<Instant>, Option<Instant>),
    screenshot: Option<PathBuf>,
    /// `--save`: the session folder written after the scripted frames.
    save_at_exit: Option<PathBuf>,
    /// Save was asked for: done as soon as the tables answer the current state.
    pending_save: bool,
    /// Reconnect was asked for (done by `App` between frames).
    reconnect: bool,
    /// The window's picture between frames, when the surface can be copied into.
    canvas: Option<WindowCanvas>,
    /// Window pixels repainted over all painted frames, and those frames' pixels.
    repainted: (u64, u64),
    /// What the last painted frame showed (content signature and window size).
    painted: Option<(u64, u32, u32)>,
    /// Whether the last frame was painted (else it had nothing new to show).
    painted_last: bool,
    scripted_stroke: bool,
    last_frame: Instant,
    started: Instant,
}

impl Viewer {
    fn new(event_loop: &ActiveEventLoop, options: &ViewOptions) -> anyhow::Result<Self> {
        Self::with_window(event_loop, options, None)
    }

    /// The plain data a new device needs (`App::reconnect`); none offscreen.
    fn carry(&self) -> Option<Carry> {
        Some(Carry {
            window: self.target.window()?.clone(),
            state: self.state.clone(),
            original: self.editor.as_ref().map(|e| e.original_image().clone()),
            strokes: self
                .editor
                .as_ref()
                .map(|e| e.history().strokes().to_vec())
                .unwrap_or_default(),
        })
    }

    /// A viewer in a new window, or on a new device in the window `carry` brings (with its
    /// settings, photo and strokes).
    fn with_window(
        event_loop: &ActiveEventLoop,
        options: &ViewOptions,
        carry: Option<Carry>,
    ) -> anyhow::Result<Self> {
        let window = match &carry {
            Some(c) => c.window.clone(),
            None => {
                let (width, height) = window_size(event_loop);
                let attributes = Window::default_attributes()
                    .with_title("unsee")
                    .with_inner_size(winit::dpi::LogicalSize::new(width, height));
                Arc::new(
                    event_loop
                        .create_window(attributes)
                        .context("creating the window")?,
                )
            }
        };
        let mut desc = wgpu::InstanceDescriptor::new_with_display_handle(Box::new(
            event_loop.owned_display_handle(),
        ));
        desc.backends = wgpu::Backends::PRIMARY;
        let instance = wgpu::Instance::new(desc.with_env());
        let surface = instance
            .create_surface(window.clone())
            .context("creating the window surface")?;
        let gpu = GpuContext::new(instance, &options.gpu, Some(&surface))?;

        let size = window.inner_size();
        let caps = surface.get_capabilities(&gpu.adapter);
        // egui renders in gamma space: prefer a non-sRGB format.
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| !f.is_srgb())
            .or_else(|| caps.formats.first().copied())
            .context("the window surface offers no format")?;
        let mut usage = wgpu::TextureUsages::RENDER_ATTACHMENT;
        if caps.usages.contains(wgpu::TextureUsages::COPY_SRC) {
            usage |= wgpu::TextureUsages::COPY_SRC;
        }
        // Frames are copied from a kept canvas that repaints only what changed; a surface that
        // cannot be copied into is painted whole every frame.
        let canvas = caps
            .usages
            .contains(wgpu::TextureUsages::COPY_DST)
            .then(|| WindowCanvas::new(format));
        if canvas.is_some() {
            usage |= wgpu::TextureUsages::COPY_DST;
        }
        let config = wgpu::SurfaceConfiguration {
            usage,
            format,
            width: size.width.max(1),
            height: size.height.max(1),
            present_mode: wgpu::PresentMode::AutoVsync,
            desired_maximum_frame_latency: 2,
            alpha_mode: caps
                .alpha_modes
                .first()
                .copied()
                .unwrap_or(wgpu::CompositeAlphaMode::Auto),
            view_formats: vec![],
            color_space: wgpu::SurfaceColorSpace::Auto,
        };
        surface.configure(&gpu.device, &config);

        let egui_ctx = egui::Context::default();
        let egui_state = egui_winit::State::new(
            egui_ctx.clone(),
            egui::ViewportId::ROOT,
            &window,
            Some(window.scale_factor() as f32),
            None,
            Some(gpu.device.limits().max_texture_dimension_2d as usize),
        );
        let target = target::Target::Window(Box::new(target::WindowTarget {
            surface,
            config,
            egui_state,
            window,
        }));
        Self::build(target, egui_ctx, gpu, canvas, options, carry)
    }

    /// A viewer drawing into an offscreen texture the size of the default window
    /// (`--offscreen`): the same frames with no display, no input and no presenting.
    fn offscreen(options: &ViewOptions) -> anyhow::Result<Self> {
        let gpu = GpuContext::headless(&options.gpu)?;
        let (w, h) = fit_window((1400.0, 900.0), None);
        let format = wgpu::TextureFormat::Rgba8Unorm;
        let target = target::Target::Offscreen(target::Offscreen::new(
            &gpu.device,
            (w as u32, h as u32),
            format,
        ));
        let canvas = Some(WindowCanvas::new(format));
        Self::build(target, egui::Context::default(), gpu, canvas, options, None)
    }

    /// The viewer around its frames' target and device: the engine, the gallery, the first
    /// photo (or the photo and strokes `carry` brings).
    fn build(
        target: target::Target,
        egui_ctx: egui::Context,
        gpu: GpuContext,
        canvas: Option<WindowCanvas>,
        options: &ViewOptions,
        carry: Option<Carry>,
    ) -> anyhow::Result<Self> {
        let egui_renderer = egui_wgpu::Renderer::new(
            &gpu.device,
            target.format(),
            egui_wgpu::RendererOptions::default(),
        );
        let engine = Engine::with_inference(gpu, options.models_dir.clone(), options.inference)?;
        let mut gallery: Vec<PathBuf> = std::fs::read_dir(options.models_dir.join("gallery"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        gallery.sort();

        let mut viewer = Self {
            egui_renderer,
            egui_ctx,
            target,
            editor: None,
            display_ids: None,
            engine,
            state: ViewerState::default(),
            explore: explore::Explore::new(),
            dialog: None,
            gallery,
            frames_left: options.frames,
            frame_index: 0,
            painting: (None, None),
            screenshot: options.screenshot.clone(),
            save_at_exit: options.save.clone(),
            pending_save: false,
            reconnect: false,
            canvas,
            repainted: (0, 0),
            painted: None,
            painted_last: true,
            scripted_stroke: options.scripted_stroke,
            last_frame: Instant::now(),
            started: Instant::now(),
        };
        if let Some(carry) = carry {
            viewer.state = carry.state;
            viewer.state.error = None;
            viewer.state.notice = Some(format!(
                "reconnected to {}; {} strokes replayed",
                viewer.engine.gpu.adapter_name(),
                carry.strokes.len()
            ));
            if let Some(img) = carry.original {
                viewer.set_editor(Editor::new(&viewer.engine, &img)?);
                if let Some(editor) = &mut viewer.editor {
                    for stroke in carry.strokes {
                        editor.push_stroke(stroke);
                    }
                }
            }
            return Ok(viewer);
        }
        if let Some(method) = options.fill {
            viewer.state.settings.inpaint.method = method;
        }
        if viewer.engine.gpu.software {
            viewer.state.notice =
                Some("software GPU (lavapipe): expect about a second per update".into());
        }
        let first = options
            .image
            .clone()
            .unwrap_or_else(|| options.models_dir.join("gallery/dog.jpg"));
        viewer.open(&first);
        if viewer.editor.is_none() && options.frames.is_some() {
            anyhow::bail!("{}", viewer.state.error.clone().unwrap_or_default());
        }
        Ok(viewer)
    }

    /// Whether frames must keep coming without input (a job in flight, scripted frames).
    fn wants_frames(&self) -> bool {
        self.frames_left.is_some()
            || self.dialog.is_some()
            || self.pending_save
            || self.explore.other.busy()
            || self.other_model_due()
            || self.explore.fill_ab.is_some()
            || self.explore.curve_run.is_some()
            || self.explore.suggestion.is_some()
            || self.explore.progress().is_some()
            || self
                .editor
                .as_ref()
                .is_some_and(|e| e.has_work(&self.state.settings))
    }

    /// Both models are on and the other model has not answered the settled state yet.
    fn other_model_due(&self) -> bool {
        let settings = &self.state.settings;
        self.state.both_models
            && self.editor.as_ref().is_some_and(|e| {
                e.is_current(settings)
                    && self.explore.both.as_ref().map(|(k, _)| *k) != e.answered_key()
                    && e.answered_key()
                        .is_none_or(|k| !self.explore.other.failed(k))
            })
    }

    fn resize(&mut self, width: u32, height: u32) {
        // Minimised: keep the old configuration and skip frames until there is a size again.
        if width == 0 || height == 0 {
            return;
        }
        self.target.resize(&self.engine.gpu.device, width, height);
    }

    /// Opens `path`, keeping the current edit when it cannot be read.
    fn open(&mut self, path: &Path) {
        let img = match image_io::load_image(path) {
            Ok(img) => img,
            Err(e) => {
                self.state.error = Some(e.to_string());
                return;
            }
        };
        let (w, h) = img.dimensions();
        let img = image_io::fit_within(img, WORKING_SIZE);
        self.state.notice = (img.dimensions() != (w, h)).then(|| {
            format!(
                "{w}x{h} scaled to {}x{} to stay interactive",
                img.width(),
                img.height()
            )
        });
        match Editor::new(&self.engine, &img) {
            Ok(editor) => {
                self.set_editor(editor);
                self.state.image_name = path.display().to_string();
                self.state.error = None;
                self.state.zoom = 1.0;
                self.state.pan = (0.0, 0.0);
            }
            Err(e) => self.state.error = Some(e.to_string()),
        }
    }

    /// Shows `editor` (its pictures registered with egui) in place of the current one.
    fn set_editor(&mut self, editor: Editor) {
        if let Some((a, b)) = self.display_ids.take() {
            self.egui_renderer.free_texture(&a);
            self.egui_renderer.free_texture(&b);
        }
        let device = &self.engine.gpu.device;
        let register = |r: &mut egui_wgpu::Renderer, t: &wgpu::Texture| {
            r.register_native_texture(
                device,
                &t.create_view(&Default::default()),
                wgpu::FilterMode::Linear,
            )
        };
        let a = register(&mut self.egui_renderer, editor.display());
        let b = register(&mut self.egui_renderer, editor.display_original());
        self.display_ids = Some((a, b));
        self.editor = Some(editor);
        if let Some(canvas) = &mut self.canvas {
            canvas.invalidate();
        }
        self.explore = explore::Explore::new();
    }

    /// Draws one frame; false when the scripted frames are done.
    fn redraw(&mut self) -> anyhow::Result<bool> {
        self.tick_clock();
        self.script_frame();
        self.step_work();
        let raw = self.target.raw_input();
        let had_input = !raw.events.is_empty();
        let data = self.panel_data();
        let (output, actions, strokes) = self.lay_out(raw, &data);
        self.apply(actions, strokes);
        self.start_input_work(had_input);
        self.paint(output, had_input, data.signature)
    }

    fn count_frame(&mut self) -> bool {
        self.frame_index += 1;
        match &mut self.frames_left {
            Some(0) | Some(1) => {
                self.print_run_summary();
                false
            }
            Some(n) => {
                *n -= 1;
                true
            }
            None => true,
        }
    }

    /// After scripted frames: what the run measured, as one JSON line on stdout.
    fn print_run_summary(&self) {
        let stats = self.editor.as_ref().map(|e| e.stats).unwrap_or_default();
        let elapsed = self.started.elapsed().as_secs_f64();
        use std::io::Write as _;
        // Stdout may be closed (piped into `head`): the summary is best effort.
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::json!({
                "adapter": self.engine.gpu.adapter_name(),
                "inference": crate::classify::Inference::describe(self.engine.inference_on_gpu),
                "frames": self.frame_index,
                "seconds": elapsed,
                "fps": f64::from(self.frame_index) / elapsed.max(1e-9),
                "painting_fps": self.painting_fps(),
                "jobs": stats.jobs,
                "last_job_ms": stats.job_ms,
                "last_fill_ms": stats.inpaint_ms,
                "last_classify_ms": stats.classify_ms,
                "last_stroke_to_answer_ms": stats.latency_ms,
                "last_stroke_to_settled_ms": stats.settled_ms,
                // Of the painted frames' pixels, the share repainted (the rest kept).
                "repainted_share": self.repainted.0 as f64 / self.repainted.1.max(1) as f64,
            })
        );
    }

    /// The settings the edit is drawn with (the split all the way over while the original is
    /// held up).
    fn view_settings(&self) -> ViewSettings {
        ViewSettings {
            split: if self.state.show_original {
                1.0
            } else {
                self.state.settings.split
            },
            ..self.state.settings.clone()
        }
    }

    /// Frames a second while the scripted stroke was drawn (its first frame, which presses the
    /// brush, left out); null without a stroke.
    fn painting_fps(&self) -> Option<f64> {
        let (Some(start), Some(end)) = self.painting else {
            return None;
        };
        let total = self
            .frames_left
            .map_or(self.frame_index, |n| n + self.frame_index);
        let frames = (total / 2).max(2) - 1;
        Some(f64::from(frames) / end.duration_since(start).as_secs_f64().max(1e-9))
    }

    /// The scripted stroke of `--frames`: a zig-zag across the middle of the image over the first
    /// half of the frames; the last frames wait for the answer.
    fn script_frame(&mut self) {
        let (Some(total), Some(editor)) = (
            self.frames_left.map(|n| n + self.frame_index),
            &mut self.editor,
        ) else {
            return;
        };
        let (w, h) = (editor.size.0 as f32, editor.size.1 as f32);
        let stroke_frames = (total / 2).max(2);
        let i = self.frame_index;
        let at = |k: u32| {
            let t = k as f32 / (stroke_frames - 1) as f32;
            let y = h * (0.35 + 0.3 * t);
            let x = if k.is_multiple_of(2) {
                w * 0.3
            } else {
                w * 0.7
            };
            (x, y)
        };
        if !self.scripted_stroke {
            // Nothing to paint: only wait for the tables below.
        } else if i == 0 {
            editor.begin_stroke(false, (w.min(h) / 40.0).max(2.0), at(0));
        } else if i < stroke_frames {
            if i == 1 {
                self.painting.0 = Some(Instant::now());
            }
            editor.extend_stroke(at(i));
        } else if i == stroke_frames {
            self.painting.1 = Some(Instant::now());
            editor.end_stroke();
        }
        if self.frames_left == Some(2) {
            // Before the last frame: wait until the tables answer the stroke.
            let settings = self.state.settings.clone();
            if let Err(e) = editor.settle(&mut self.engine, &settings) {
                self.state.error = Some(e.to_string());
            }
        }
    }

    fn table_rows(&self) -> (Option<Vec<TableRow>>, Option<Vec<TableRow>>) {
        let Some(editor) = &self.editor else {
            return (None, None);
        };
        let model = self.state.settings.model;
        let Some(orig) = editor.original_scores.as_ref().filter(|s| s.model == model) else {
            return (None, None);
        };
        let Some(pipeline) = self.engine.loaded(model) else {
            return (None, None);
        };
        let modified = editor.modified_scores.as_ref().filter(|s| s.model == model);
        let (o, m) = tables(
            &orig.probabilities,
            modified.map_or(&orig.probabilities, |s| &s.probabilities),
            &pipeline.labels,
            self.state.table_mode,
        );
        (Some(o), modified.map(|_| m))
    }

    fn apply(&mut self, actions: Vec<Action>, strokes: Vec<StrokeEvent<(f32, f32)>>) {
        if let Some(editor) = &mut self.editor {
            let restore = self.state.tool == Tool::Eraser;
            for s in strokes {
                match s {
                    StrokeEvent::Begin(p) => {
                        editor.begin_stroke(restore, self.state.brush_radius, p)
                    }
                    StrokeEvent::Extend(p) => editor.extend_stroke(p),
                    StrokeEvent::End => editor.end_stroke(),
                }
            }
        }
        for action in actions {
            match action {
                Action::Open(path) => self.open(&path),
                Action::Undo => {
                    self.editor.as_mut().map(Editor::undo);
                }
                Action::Redo => {
                    self.editor.as_mut().map(Editor::redo);
                }
                Action::Reset => {
                    self.editor.as_mut().map(Editor::reset);
                }
                Action::LoadMask(path) => {
                    let Some(editor) = &mut self.editor else {
                        continue;
                    };
                    let loaded =
                        crate::image_io::load_mask(&path).and_then(|mask| editor.set_mask(&mask));
                    if let Err(e) = loaded {
                        self.state.error = Some(format!("loading the mask: {e}"));
                    }
                }
                Action::ExportMask(path) => {
                    let Some(editor) = &self.editor else { continue };
                    let photo = std::path::PathBuf::from(&self.state.image_name);
                    let written = crate::output::check_image_output(&path)
                        .and_then(|_| crate::output::refuse_overwrite(&[&path], &[&photo]))
                        .and_then(|()| {
                            crate::output::write_image(
                                &path,
                                &image::DynamicImage::ImageLuma8(editor.mask_image().clone()),
                            )
                        });
                    match written {
                        Ok(()) => {
                            self.state.notice = Some(format!("mask written to {}", path.display()))
                        }
                        Err(e) => self.state.error = Some(format!("exporting the mask: {e}")),
                    }
                }
                Action::MaskOp(op) => {
                    let Some(editor) = &mut self.editor else {
                        continue;
                    };
                    if let Err(e) = editor.apply_op(op) {
                        self.state.error = Some(format!("{op:?}: {e}"));
                    }
                }
                Action::OpenDialog => {
                    if self.dialog.is_none() {
                        self.dialog = Some(dialog::OpenDialog::spawn());
                    }
                }
                Action::Occlusion => {
                    if let Err(e) = self.start_occlusion() {
                        self.state.error = Some(format!("occlusion map: {e:#}"));
                    }
                }
                Action::ClearOcclusion => {
                    self.explore.occlusion = None;
                    if let Some(editor) = &mut self.editor {
                        editor.set_original_overlay(None);
                    }
                }
                Action::Suggest(from_occlusion) => {
                    if let Err(e) = self.suggest(from_occlusion) {
                        self.state.error = Some(format!("suggested mask: {e:#}"));
                    }
                }
                Action::CompareFills => {
                    let Some(editor) = &self.editor else { continue };
                    let key = editor.key(&self.state.settings);
                    self.explore.fill_ab = Some(explore::FillComparison::new(
                        key,
                        self.state.settings.inpaint,
                    ));
                }
                Action::TogglePin(class) => self.explore.toggle_pin(class),
                Action::Reconnect => self.reconnect = true,
                Action::Save => {
                    self.pending_save = true;
                    self.state.notice = Some("saving when the tables answer this edit".into());
                }
            }
        }
    }

    /// A Save asked for: written once the tables answer the current state (never tables of
    /// another state). When the state cannot be answered — it failed, or the device is lost —
    /// the strokes and settings (CPU data) are saved without tables, and the reason given.
    fn save_when_settled(&mut self) {
        let Some(editor) = self.editor.as_ref().filter(|_| self.pending_save) else {
            return;
        };
        let settings = &self.state.settings;
        let answered = editor.is_current(settings) && !editor.drawing();
        let no_answer = match editor.failure(settings) {
            Some(why) => Some(why.to_owned()),
            // A state answered before the loss keeps its tables (CPU data).
            None if self.engine.gpu.health.is_lost() && !answered => {
                Some("the GPU device was lost".into())
            }
            None => None,
        };
        if no_answer.is_none() && !answered {
            return;
        }
        self.pending_save = false;
        match (self.save(no_answer.is_none()), no_answer) {
            (Ok(dir), None) => {
                self.state.notice = Some(format!(
                    "saved to {} (unsee replay re-runs it)",
                    dir.display()
                ))
            }
            (Ok(dir), Some(why)) => {
                self.state.notice = Some(format!(
                    "saved the strokes and settings to {} without tables ({why}): unsee replay \
                     computes them",
                    dir.display()
                ))
            }
            (Err(e), _) => self.state.error = Some(format!("saving: {e:#}")),
        }
    }

    /// The class the tools explain: the one clicked in a table, else the original's top-1.
    fn explained_class(&self) -> Option<usize> {
        self.state.settings.cam_class.or_else(|| {
            let scores = self.editor.as_ref()?.original_scores.as_ref()?;
            let p = &scores.probabilities;
            (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b]))
        })
    }

    fn start_occlusion(&mut self) -> anyhow::Result<()> {
        let class = self
            .explained_class()
            .context("the original is not classified yet")?;
        let editor = self.editor.as_ref().context("no image is open")?;
        self.explore.grid = self.state.occlusion_grid;
        self.explore.start_occlusion(
            &mut self.engine,
            editor,
            self.state.settings.model,
            class,
            &self.state.settings.inpaint,
        )?;
        Ok(())
    }

    /// Erases where the CAM (or the occlusion map) reaches the threshold, as one undoable step.
    /// The occlusion map is at hand; the CAM is handed to a worker here and applied by
    /// [`Viewer::poll_suggestion`] when it arrives (no frame records or waits for it).
    fn suggest(&mut self, from_occlusion: bool) -> anyhow::Result<()> {
        let model = self.state.settings.model;
        let threshold = self.state.suggest_threshold;
        let editor = self.editor.as_mut().context("no image is open")?;
        // A newer request replaces one still on its way.
        self.explore.suggestion = None;
        if from_occlusion {
            let map = self
                .explore
                .occlusion
                .as_ref()
                .map(|o| o.1.clone())
                .context("no occlusion map yet")?;
            let mask = crate::explain::suggested_mask(&map, editor.size, threshold);
            editor.apply_mask(&mask)?;
            return Ok(());
        }
        let class = self
            .state
            .settings
            .cam_class
            .context("click a class first")?;
        self.engine.pipeline(model)?;
        let pipeline = self.engine.require_shared(model)?;
        let map = crate::explain::cam_map_on_worker(
            &self.engine.gpu,
            &pipeline,
            editor.original_shared(),
            class,
        )?;
        self.explore.suggestion = Some(explore::PendingSuggestion {
            model,
            image: editor.image_id(),
            threshold,
            map,
        });
        Ok(())
    }

    /// Applies the suggested mask whose CAM has arrived, if it still answers the open image and
    /// the model; never waits.
    pub(crate) fn poll_suggestion(&mut self) {
        let Some(pending) = &self.explore.suggestion else {
            return;
        };
        let Some(editor) = &mut self.editor else {
            self.explore.suggestion = None;
            return;
        };
        if pending.model != self.state.settings.model || pending.image != editor.image_id() {
            self.explore.suggestion = None;
            return;
        }
        let Some(map) = pending.map.try_take(&self.engine.gpu) else {
            return;
        };
        let threshold = pending.threshold;
        self.explore.suggestion = None;
        let applied = map.map_err(anyhow::Error::from).and_then(|map| {
            let mask = crate::explain::suggested_mask(&map, editor.size, threshold);
            editor.apply_mask(&mask).map_err(anyhow::Error::from)
        });
        if let Err(e) = applied {
            self.state.error = Some(format!("suggested mask: {e:#}"));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_window_fits_ninety_percent_of_a_small_screen() {
        let limit = Some((1280.0 * 0.9, 800.0 * 0.9));
        assert_eq!(super::fit_window((1400.0, 900.0), limit), (1152.0, 720.0));
        assert_eq!(super::fit_window((1400.0, 900.0), None), (1400.0, 900.0));
    }
}
