//! One frame of the viewer, in its steps: the background work (the live job, the exploration
//! tools, saving), the panel's data, egui's layout, the input's own work, and the paint.

use std::time::Instant;

use anyhow::Context;

use super::{BACKGROUND, PanelInfo, Viewer, curves, dialog, explore, save, ui, view};
use crate::editor::Editor;

/// What the panel shows besides egui's own state, computed once a frame.
pub(super) struct PanelData {
    orig_rows: Option<Vec<super::TableRow>>,
    mod_rows: Option<Vec<super::TableRow>>,
    comparisons: Vec<(String, Vec<(String, f32)>)>,
    both: Vec<(String, Vec<(String, f32)>)>,
    pinned: Vec<(usize, String)>,
    history: Vec<Vec<f32>>,
    wanted_curves: Option<curves::CurveKey>,
    /// A hash of all that, the pictures' version and the answer state: when it is unchanged and
    /// there is no input, the frame need not be painted again.
    pub signature: u64,
}

/// A laid-out frame: egui's output, and the actions and strokes of its input.
type Laid = (
    egui::FullOutput,
    Vec<ui::Action>,
    Vec<super::StrokeEvent<(f32, f32)>>,
);

/// The titled top-5 tables of `results` (Fill A/B, the other model) when they answer `key`,
/// else none: nothing computed for one state is shown for another.
fn quick_tables(
    results: Option<&(crate::editor::EditKey, Vec<explore::Comparison>)>,
    key: Option<crate::editor::EditKey>,
) -> Vec<(String, Vec<(String, f32)>)> {
    results
        .filter(|(k, _)| Some(*k) == key)
        .into_iter()
        .flat_map(|(_, c)| c.iter().map(|c| (c.title.clone(), explore::rows(&c.top5))))
        .collect()
}

impl Viewer {
    /// The frame time's running average (shown in the status bar).
    pub(super) fn tick_clock(&mut self) {
        let now = Instant::now();
        let dt = now.duration_since(self.last_frame).as_secs_f32() * 1e3;
        self.last_frame = now;
        self.state.frame_ms = if self.state.frame_ms == 0.0 {
            dt
        } else {
            0.9 * self.state.frame_ms + 0.1 * dt
        };
    }

    /// The work of a frame before its input: the live job, the exploration tools in their
    /// slices, a pending save, the open dialog, notices and device errors.
    pub(super) fn step_work(&mut self) {
        let settings = self.view_settings();
        if let Some(editor) = &mut self.editor
            && let Err(e) = editor.update(&mut self.engine, &settings)
        {
            self.state.error = Some(e.to_string());
        }
        if let Some(editor) = &mut self.editor {
            let fill = self.state.settings.inpaint;
            let live = editor.has_work(&settings);
            match self
                .explore
                .step(&self.engine, self.state.settings.model, &fill, live)
            {
                Ok(true) => editor
                    .set_original_overlay(self.explore.occlusion.as_ref().map(|o| o.1.clone())),
                Ok(false) => {}
                Err(e) => self.state.error = Some(format!("occlusion map: {e}")),
            }
            // Fill A/B: its variants on the background thread, polled once the live job has
            // settled; a changed state cancels it.
            if let Some(run) = &mut self.explore.fill_ab {
                if run.key != editor.key(&settings) {
                    self.explore.fill_ab = None;
                } else if editor.is_current(&settings) {
                    match run.step(&mut self.engine, editor) {
                        Ok(Some(c)) => {
                            self.explore.comparisons = Some((run.key, c));
                            self.explore.fill_ab = None;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            self.state.error = Some(format!("compare: {e}"));
                            self.explore.fill_ab = None;
                        }
                    }
                }
            }
            // Deletion curves of the chosen class, in the background once the live job has
            // settled; a changed class, model, map or fill cancels them.
            let wanted = curves::CurveKey::wanted(&settings).filter(|_| self.state.show_curves);
            let ex = &mut self.explore;
            if ex
                .curve_run
                .as_ref()
                .is_some_and(|r| Some(&r.key) != wanted.as_ref())
            {
                ex.curve_run = None;
            }
            if let Some(key) = wanted
                && editor.is_current(&settings)
                && ex.curves.as_ref().is_none_or(|c| c.key != key)
                && ex.curves_failed.as_ref() != Some(&key)
            {
                if ex.curve_run.is_none() {
                    match curves::CurveRun::new(&mut self.engine, editor, key.clone()) {
                        Ok(run) => ex.curve_run = Some(run),
                        Err(e) => {
                            self.state.error = Some(format!("deletion curves: {e}"));
                            ex.curves_failed = Some(key);
                        }
                    }
                }
                if let Some(run) = &mut ex.curve_run {
                    match run.step(&self.engine) {
                        Ok(Some(done)) => {
                            ex.curves = Some(done);
                            ex.curve_run = None;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            self.state.error = Some(format!("deletion curves: {e}"));
                            ex.curves_failed = Some(run.key.clone());
                            ex.curve_run = None;
                        }
                    }
                }
            }
            // Both models, live: once the live job has settled, the other model classifies the
            // same state in the background.
            if self.state.both_models
                && editor.is_current(&settings)
                && let Some(key) = editor.answered_key()
                && self.explore.both.as_ref().is_none_or(|(k, _)| *k != key)
            {
                match self.explore.other.step(&mut self.engine, editor, key) {
                    Ok(Some(c)) => self.explore.both = Some((key, c)),
                    Ok(None) => {}
                    Err(e) => self.state.error = Some(format!("other model: {e}")),
                }
            }
            if editor.is_current(&settings)
                && let (Some(key), Some(scores)) = (editor.answered_key(), &editor.modified_scores)
            {
                self.explore.record(key, &scores.probabilities);
            }
        }
        self.poll_suggestion();
        self.save_when_settled();
        if let Some(answer) = self.dialog.as_ref().and_then(dialog::OpenDialog::poll) {
            self.dialog = None;
            match answer {
                Ok(Some(path)) => self.open(&path),
                Ok(None) => {}
                Err(e) => self.state.error = Some(format!("{e}; type a path instead")),
            }
        }
        if let Some(n) = self.editor.as_ref().and_then(|e| e.notice.clone()) {
            self.state.notice = Some(n);
        }
        if let Some(e) = self.engine.gpu.health.take_error() {
            self.state.error = Some(format!(
                "{e} — your strokes are kept; save or reopen the image"
            ));
        }
    }

    /// The panel's data for this frame.
    pub(super) fn panel_data(&self) -> PanelData {
        let (orig_rows, mod_rows) = self.table_rows();
        let current_key = self.editor.as_ref().map(|e| e.key(&self.state.settings));
        let wanted_curves = curves::CurveKey::wanted(&self.state.settings);
        let comparisons = quick_tables(self.explore.comparisons.as_ref(), current_key);
        // Borrowed, not cloned: this runs every frame.
        let labels = self
            .engine
            .loaded(self.state.settings.model)
            .map(|p| &p.labels);
        let pinned: Vec<(usize, String)> = self
            .explore
            .pinned
            .iter()
            .map(|&c| (c, labels.map_or(c.to_string(), |l| l.short(c).to_owned())))
            .collect();
        // The other model's tables only for the state on screen.
        let answered = self
            .editor
            .as_ref()
            .filter(|e| e.is_current(&self.state.settings))
            .and_then(Editor::answered_key);
        let both = quick_tables(self.explore.both.as_ref(), answered);
        let history: Vec<Vec<f32>> = self
            .explore
            .history
            .iter()
            .map(|(_, v)| v.clone())
            .collect();
        // What the frame shows besides egui's own state: when it is unchanged and there is no
        // input, the frame need not be painted again.
        let content_signature = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            crate::gpu::damage::hash_debug(
                &(
                    &orig_rows,
                    &mod_rows,
                    &comparisons,
                    &both,
                    &pinned,
                    history.len(),
                    self.explore.progress(),
                    &self.state.error,
                    &self.state.notice,
                ),
                &mut h,
            );
            self.editor
                .as_ref()
                .map(|e| {
                    (
                        e.picture_version(),
                        e.answers(&self.state.settings),
                        e.stats.jobs,
                    )
                })
                .hash(&mut h);
            h.finish()
        };
        PanelData {
            orig_rows,
            mod_rows,
            comparisons,
            both,
            pinned,
            history,
            wanted_curves,
            signature: content_signature,
        }
    }

    /// egui's layout of the frame: the side panel, the status bar and the picture; returns its
    /// output and the actions and strokes of the input.
    pub(super) fn lay_out(&mut self, raw: egui::RawInput, data: &PanelData) -> Laid {
        let mut actions = Vec::new();
        let mut strokes = Vec::new();
        let PanelData {
            orig_rows,
            mod_rows,
            comparisons,
            both,
            pinned,
            history,
            wanted_curves,
            ..
        } = data;
        let output = {
            let state = &mut self.state;
            let editor = self.editor.as_ref();
            let ids = self.display_ids;
            let info = PanelInfo {
                lost: self.engine.gpu.health.is_lost(),
                adapter: &format!(
                    "{} | inference: {}",
                    self.engine.gpu.adapter_name(),
                    crate::classify::Inference::describe(self.engine.inference_on_gpu)
                ),
                software: self.engine.gpu.software,
                gallery: &self.gallery,
                original: orig_rows.as_deref(),
                modified: mod_rows.as_deref(),
                busy: editor.is_some_and(|e| !e.answers(&state.settings)),
                stats: editor.map(|e| e.stats).unwrap_or_default(),
                counts: editor.map(|e| e.history().counts()).unwrap_or((0, 0)),
                explore: ui::ExploreInfo {
                    progress: self.explore.progress(),
                    occlusion_class: self.explore.occlusion.as_ref().map(|o| o.0),
                    occlusion_scale: self.explore.occlusion.as_ref().map(|o| o.1.max_abs()),
                    comparisons,
                    both,
                    pinned,
                    history,
                    curves: self
                        .explore
                        .curves
                        .as_ref()
                        .filter(|c| Some(&c.key) == wanted_curves.as_ref()),
                    curve_progress: self.explore.curve_run.as_ref().map(|r| r.progress()),
                },
            };
            self.egui_ctx.run_ui(raw, |ui| {
                egui::Panel::left("panel")
                    .default_size(340.0)
                    .show(ui, |ui| {
                        egui::ScrollArea::vertical().show(ui, |ui| {
                            if let (Some(e), Some((_, orig_id))) = (editor, ids) {
                                let w = ui.available_width().min(320.0);
                                let h = w * e.size.1 as f32 / e.size.0 as f32;
                                ui.image((orig_id, egui::vec2(w, h)));
                            }
                            actions.extend(ui::side_panel(ui, state, &info));
                        });
                    });
                egui::Panel::bottom("status").show(ui, |ui| ui::status_bar(ui, state, &info));
                // No fill behind the picture: the window's clear colour is there already, and on
                // a software rasterizer another full-window layer costs ~30 ms a repaint.
                egui::CentralPanel::default()
                    .frame(egui::Frame::NONE.inner_margin(8))
                    .show(ui, |ui| {
                        if let (Some(e), Some((id, _))) = (editor, ids) {
                            let (s, a) = view::image_view(ui, state, e.size, id);
                            strokes = s;
                            actions.extend(a);
                        }
                    });
            })
        };
        (output, actions, strokes)
    }

    /// Input reaches the edit after the panel is laid out: start its work now (paint the mask,
    /// start the job, compose), so the stroke shows in this frame and its job runs while this
    /// frame renders, instead of a frame later.
    pub(super) fn start_input_work(&mut self, had_input: bool) {
        let settings = self.view_settings();
        if had_input && let Some(editor) = &mut self.editor {
            let before = (editor.picture_version(), editor.stats.jobs);
            if let Err(e) = editor.update(&mut self.engine, &settings) {
                self.state.error = Some(e.to_string());
            }
            // A job landed or the pictures changed after the panel was laid out: the next
            // frame shows them (this one was laid out with the old tables).
            if (editor.picture_version(), editor.stats.jobs) != before {
                self.target.request_redraw();
            }
        }
    }

    /// Paints the frame (only what changed, through the canvas) and presents it; false when the
    /// scripted frames are done.
    pub(super) fn paint(
        &mut self,
        output: egui::FullOutput,
        had_input: bool,
        content_signature: u64,
    ) -> anyhow::Result<bool> {
        self.target.platform_output(output.platform_output.clone());
        let (width, height) = self.target.size();
        if width == 0 || height == 0 {
            return Ok(self.count_frame());
        }
        // A frame with no input, no landed result and nothing animating repaints nothing: the
        // window already shows this picture (on a software rasterizer a repaint is most of a
        // frame's cost).
        let signature = (content_signature, width, height);
        let animating = output
            .viewport_output
            .values()
            .any(|v| v.repaint_delay.is_zero());
        let last = self.frames_left == Some(1);
        if !had_input
            && !animating
            && output.textures_delta.is_empty()
            && self.painted == Some(signature)
            && !last
        {
            self.painted_last = false;
            return Ok(self.count_frame());
        }
        self.painted = Some(signature);
        self.painted_last = true;
        let Some(frame) = self.target.acquire(&self.engine.gpu.device)? else {
            return Ok(true);
        };
        let gpu = &self.engine.gpu;
        let egui_frame = crate::gpu::egui_paint::EguiFrame {
            shapes: output.shapes,
            textures: vec![&output.textures_delta],
            pixels_per_point: output.pixels_per_point,
        };
        let size = self.target.configured_size();
        let repainted = if let Some(canvas) = &mut self.canvas {
            let changes = match (&mut self.editor, self.display_ids) {
                (Some(e), Some(ids)) => view::picture_changes(e.size, e.take_picture_damage(), ids),
                _ => Vec::new(),
            };
            canvas
                .paint(
                    gpu,
                    &mut self.egui_renderer,
                    &self.egui_ctx,
                    egui_frame,
                    &changes,
                    frame.texture(),
                    BACKGROUND,
                    "viewer.frame",
                )
                .area(size)
        } else {
            let view = frame.texture().create_view(&Default::default());
            crate::gpu::egui_paint::paint(
                gpu,
                &mut self.egui_renderer,
                &self.egui_ctx,
                egui_frame,
                &view,
                size,
                crate::gpu::canvas::clear_color(BACKGROUND, self.target.format()),
                "viewer.frame",
            );
            u64::from(size[0]) * u64::from(size[1])
        };
        self.repainted.0 += repainted;
        self.repainted.1 += u64::from(size[0]) * u64::from(size[1]);
        if last && let Some(path) = self.screenshot.clone() {
            // Let the last job land so the screenshot shows the answer to the scripted stroke.
            save::save_screenshot(gpu, frame.texture(), &path)?;
        }
        if last && let Some(dir) = self.save_at_exit.clone() {
            self.save_session(&dir, true)
                .with_context(|| format!("saving the session to {}", dir.display()))?;
        }
        self.target.present(&gpu.queue, frame);
        Ok(self.count_frame())
    }
}
