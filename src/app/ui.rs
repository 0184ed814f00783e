//! The egui side panel and status bar: reads and edits `ViewerState`, returns what the viewer
//! must do. No GPU work here.

use std::path::PathBuf;

use egui::{Color32, RichText};

use super::state::{TableMode, TableRow, Tool, ViewerState};
use crate::editor::Stats;
use crate::inpaint::Method;
use crate::models::ModelKind;

/// What the panel asks the viewer to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Open this image file.
    Open(PathBuf),
    /// Show the native Open dialog.
    OpenDialog,
    /// Undo the last stroke.
    Undo,
    /// Redo the last undone stroke.
    Redo,
    /// Forget the whole edit.
    Reset,
    /// Save the modified image, the mask and the tables.
    Save,
    /// Build a new GPU device after a lost one and replay the strokes on it.
    Reconnect,
    /// Compute an occlusion map (by inpainting) of the chosen class on the original.
    Occlusion,
    /// Stop showing the occlusion map.
    ClearOcclusion,
    /// Erase where the CAM (or, `true`, the occlusion map) is at least the threshold.
    Suggest(bool),

    /// Make the mask the one in this PNG (one undoable step).
    LoadMask(PathBuf),
    /// Write the current mask to this PNG.
    ExportMask(PathBuf),
    /// Clear, invert, grow or shrink the whole mask (one undoable step).
    MaskOp(crate::cpu::morphology::MaskOp),
    /// Classify the current mask under every fill method.
    CompareFills,
    /// Pin or unpin a class in the history chart.
    TogglePin(usize),
}

/// What the exploration tools show.
pub struct ExploreInfo<'a> {
    /// Occlusion progress (done, total) while one runs.
    pub progress: Option<(usize, usize)>,
    /// An occlusion map is shown (of this class).
    pub occlusion_class: Option<usize>,
    /// The largest |log-odds drop| of the shown occlusion map (its colour bar's ends).
    pub occlusion_scale: Option<f32>,
    /// Results of the Fill A/B button.
    pub comparisons: &'a [(String, Vec<(String, f32)>)],
    /// The other model's tables (both models, live).
    pub both: &'a [(String, Vec<(String, f32)>)],
    /// Pinned classes with their names.
    pub pinned: &'a [(usize, String)],
    /// Probability history of the pinned classes, per answered edit.
    pub history: &'a [Vec<f32>],
    /// Deletion/insertion curves of the chosen class and map, when they answer the settings.
    pub curves: Option<&'a crate::app::curves::Curves>,
    /// Progress of curves being computed.
    pub curve_progress: Option<(usize, usize)>,
}

/// What the panel shows but does not own.
pub struct PanelInfo<'a> {
    /// Adapter description.
    pub adapter: &'a str,
    /// The GPU device was lost: offer reconnecting.
    pub lost: bool,
    /// Software adapter (slow)?
    pub software: bool,
    /// Bundled photos.
    pub gallery: &'a [PathBuf],
    /// Original table rows, once classified.
    pub original: Option<&'a [TableRow]>,
    /// Modified table rows, once classified.
    pub modified: Option<&'a [TableRow]>,
    /// A job is in flight or the tables lag the edit.
    pub busy: bool,
    /// Pipeline timings.
    pub stats: Stats,
    /// (undoable, redoable) strokes.
    pub counts: (usize, usize),
    /// The exploration tools.
    pub explore: ExploreInfo<'a>,
}

const UP: Color32 = Color32::from_rgb(60, 170, 80);
const DOWN: Color32 = Color32::from_rgb(210, 60, 60);

/// The side panel's contents.
pub fn side_panel(ui: &mut egui::Ui, state: &mut ViewerState, info: &PanelInfo<'_>) -> Vec<Action> {
    let mut actions = Vec::new();
    ui.heading("unsee");
    ui.label(RichText::new(&state.image_name).weak());
    if let Some(err) = state.error.clone() {
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(DOWN, err);
            if ui.small_button("dismiss").clicked() {
                state.error = None;
            }
        });
    }
    if info.lost
        && ui
            .button("Reconnect")
            .on_hover_text("a new GPU device; your strokes and settings are replayed on it")
            .clicked()
    {
        actions.push(Action::Reconnect);
    }
    if let Some(notice) = &state.notice {
        ui.label(RichText::new(notice).italics());
    }
    ui.separator();

    ui.collapsing("Image", |ui| {
        ui.horizontal(|ui| {
            ui.text_edit_singleline(&mut state.open_path);
            if ui.button("Open").clicked() && !state.open_path.trim().is_empty() {
                actions.push(Action::Open(PathBuf::from(state.open_path.trim())));
            }
        });
        ui.horizontal(|ui| {
            if ui.button("Open...").clicked() {
                actions.push(Action::OpenDialog);
            }
            ui.label(RichText::new("or drop an image file on the window").weak());
        });
        ui.horizontal_wrapped(|ui| {
            for path in info.gallery {
                let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
                if ui.button(name).clicked() {
                    actions.push(Action::Open(path.clone()));
                }
            }
        });
    });

    ui.separator();
    ui.horizontal(|ui| {
        ui.label("Model");
        for kind in ModelKind::ALL {
            ui.radio_value(&mut state.settings.model, kind, kind.display_name());
        }
    });
    ui.horizontal(|ui| {
        ui.label("Fill");
        for method in Method::ALL {
            ui.radio_value(
                &mut state.settings.inpaint.method,
                method,
                method.display_name(),
            );
        }
    });
    match state.settings.inpaint.method {
        Method::Telea => {
            ui.add(
                egui::Slider::new(&mut state.settings.inpaint.telea.radius, 1..=20)
                    .text("radius ε"),
            );
        }
        Method::PatchMatch => {
            ui.horizontal(|ui| {
                ui.add(
                    egui::Slider::new(&mut state.settings.inpaint.patchmatch.iterations, 1..=10)
                        .text("EM iterations"),
                );
                ui.add(
                    egui::DragValue::new(&mut state.settings.inpaint.patchmatch.seed)
                        .prefix("seed "),
                );
            });
        }
    }

    ui.separator();
    ui.horizontal(|ui| {
        ui.radio_value(&mut state.tool, Tool::Brush, "Brush");
        ui.radio_value(&mut state.tool, Tool::Eraser, "Eraser");
    });
    let (lo, hi) = ViewerState::RADIUS_RANGE;
    ui.add(
        egui::Slider::new(&mut state.brush_radius, lo..=hi)
            .logarithmic(true)
            .text("radius  [ ]"),
    );
    ui.horizontal(|ui| {
        if ui
            .add_enabled(info.counts.0 > 0, egui::Button::new("Undo"))
            .clicked()
        {
            actions.push(Action::Undo);
        }
        if ui
            .add_enabled(info.counts.1 > 0, egui::Button::new("Redo"))
            .clicked()
        {
            actions.push(Action::Redo);
        }
        if ui.button("Reset").clicked() {
            actions.push(Action::Reset);
        }
    });
    mask_tools(ui, state, &mut actions);
    ui.add(egui::Slider::new(&mut state.settings.split, 0.0..=1.0).text("before | after"));
    ui.label(RichText::new("hold Tab to see the original").weak());
    ui.add(egui::Slider::new(&mut state.settings.mask_alpha, 0.0..=1.0).text("mask tint"));

    ui.separator();
    ui.horizontal(|ui| {
        ui.radio_value(
            &mut state.table_mode,
            TableMode::OriginalClasses,
            "original's classes",
        );
        ui.radio_value(&mut state.table_mode, TableMode::OwnTop5, "own top-5");
    });
    ui.label(RichText::new("Original").strong());
    match info.original {
        Some(rows) => table(ui, "original", rows, false, &mut state.settings.cam_class),
        None => {
            ui.spinner();
        }
    }
    ui.horizontal(|ui| {
        ui.label(RichText::new("Modified").strong());
        if info.busy {
            ui.spinner();
        }
    });
    if let Some(rows) = info.modified {
        table(ui, "modified", rows, true, &mut state.settings.cam_class);
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("pin for the history chart:").weak());
            for row in rows {
                let pinned = info.explore.pinned.iter().any(|(c, _)| *c == row.index);
                if ui.selectable_label(pinned, &row.label).clicked() {
                    actions.push(Action::TogglePin(row.index));
                }
            }
        });
    }
    ui.label(RichText::new("click a class for its activation map").weak());
    if state.settings.cam_class.is_some() {
        cam_method_picker(ui, state);
        ui.add(egui::Slider::new(&mut state.settings.cam_opacity, 0.0..=1.0).text("CAM opacity"));
        ui.checkbox(
            &mut state.settings.cam_common_scale,
            "common scale for both images",
        );
        ui.checkbox(&mut state.show_curves, "deletion curves")
            .on_hover_text("remove the pixels the map ranks first (by inpainting) and watch the class fall, against a random order");
        if state.show_curves {
            curves_plot(ui, &info.explore);
        }
    }

    ui.separator();
    egui::CollapsingHeader::new("Beyond the paper")
        .default_open(true)
        .show(ui, |ui| {
            explore_panel(ui, state, info, &mut actions);
        });

    ui.separator();
    ui.horizontal(|ui| {
        ui.label("Save to");
        ui.text_edit_singleline(&mut state.save_dir);
        if ui.button("Save").clicked() {
            actions.push(Action::Save);
        }
    });
    actions
}

fn table(ui: &mut egui::Ui, id: &str, rows: &[TableRow], modified: bool, cam: &mut Option<usize>) {
    egui::Grid::new(id)
        .striped(true)
        .num_columns(3)
        .show(ui, |ui| {
            for row in rows {
                let selected = *cam == Some(row.index);
                if ui.selectable_label(selected, &row.label).clicked() {
                    *cam = if selected { None } else { Some(row.index) };
                }
                let p = if modified { row.modified } else { row.original };
                ui.label(format!("{p:6.2}%"));
                if modified {
                    let d = row.change_pp();
                    // Plain ASCII signs: the default fonts have no arrow glyphs.
                    let (color, sign) = if d >= 0.0 { (UP, "+") } else { (DOWN, "-") };
                    ui.colored_label(color, format!("{sign}{:.2} pp", d.abs()));
                }
                ui.end_row();
            }
        });
}

/// The status bar: adapter and timings.
pub fn status_bar(ui: &mut egui::Ui, state: &ViewerState, info: &PanelInfo<'_>) {
    ui.horizontal_wrapped(|ui| {
        let adapter = if info.software {
            format!("{} (software: slow)", info.adapter)
        } else {
            info.adapter.to_owned()
        };
        ui.label(adapter);
        ui.separator();
        ui.label(format!("frame {:.1} ms", state.frame_ms));
        ui.separator();
        ui.label(format!(
            "fill {:.1} ms, classify {:.1} ms (job {:.1} ms)",
            info.stats.inpaint_ms, info.stats.classify_ms, info.stats.job_ms
        ));
        ui.separator();
        ui.label(format!("stroke to answer {:.1} ms", info.stats.latency_ms));
    });
}

const SERIES: [Color32; 5] = [
    Color32::from_rgb(90, 170, 255),
    Color32::from_rgb(255, 160, 60),
    Color32::from_rgb(120, 220, 120),
    Color32::from_rgb(230, 100, 200),
    Color32::from_rgb(230, 230, 90),
];

fn explore_panel(
    ui: &mut egui::Ui,
    state: &mut ViewerState,
    info: &PanelInfo<'_>,
    actions: &mut Vec<Action>,
) {
    let e = &info.explore;
    ui.horizontal(|ui| {
        ui.add(egui::Slider::new(&mut state.occlusion_grid, 4..=20).text("cells"))
            .on_hover_text("map cells across the shorter side; windows of 1/5 of it slide by one cell");
        match e.progress {
            Some((done, total)) => {
                ui.add(egui::ProgressBar::new(done as f32 / total.max(1) as f32).text(format!("{done}/{total}")));
            }
            None => {
                if ui.button("Occlusion map").on_hover_text("erase each cell by inpainting; map the drop of the chosen class (or the top-1)").clicked() {
                    actions.push(Action::Occlusion);
                }
                if e.occlusion_class.is_some() && ui.button("hide").clicked() {
                    actions.push(Action::ClearOcclusion);
                }
            }
        }
    });
    if let Some(scale) = e.occlusion_scale {
        colour_bar(ui, scale);
    }
    ui.horizontal(|ui| {
        ui.add(egui::Slider::new(&mut state.suggest_threshold, 0.05..=0.95).text("threshold"));
    });
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                state.settings.cam_class.is_some(),
                egui::Button::new("Erase CAM area"),
            )
            .clicked()
        {
            actions.push(Action::Suggest(false));
        }
        if ui
            .add_enabled(
                e.occlusion_class.is_some(),
                egui::Button::new("Erase occlusion area"),
            )
            .clicked()
        {
            actions.push(Action::Suggest(true));
        }
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut state.both_models, "both models, live");
        if ui
            .button("Fill A/B")
            .on_hover_text("the current mask under Telea, PatchMatch and a flat mean colour")
            .clicked()
        {
            actions.push(Action::CompareFills);
        }
    });
    for (title, rows) in e
        .both
        .iter()
        .filter(|_| state.both_models)
        .chain(e.comparisons)
    {
        ui.label(RichText::new(title).strong());
        for (label, p) in rows.iter().take(3) {
            ui.label(format!("  {p:6.2}%  {label}"));
        }
    }
    if !e.pinned.is_empty() {
        ui.label(RichText::new("History of pinned classes (per answered edit)").strong());
        let (rect, _) = ui.allocate_exact_size(
            egui::vec2(ui.available_width().min(320.0), 90.0),
            egui::Sense::hover(),
        );
        let painter = ui.painter_at(rect);
        painter.rect_stroke(
            rect,
            0.0,
            egui::Stroke::new(1.0, Color32::DARK_GRAY),
            egui::StrokeKind::Inside,
        );
        let n = e.history.len();
        for (k, (_, name)) in e.pinned.iter().enumerate() {
            let color = SERIES[k % SERIES.len()];
            let points: Vec<egui::Pos2> = e
                .history
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let x = rect.left() + rect.width() * (i as f32 + 0.5) / n.max(1) as f32;
                    let y = rect.bottom()
                        - rect.height() * v.get(k).copied().unwrap_or(0.0).clamp(0.0, 1.0);
                    egui::pos2(x, y)
                })
                .collect();
            painter.add(egui::Shape::line(points, egui::Stroke::new(1.5, color)));
            ui.colored_label(color, name);
        }
    }
}

/// The mask as a whole: import, export, grow, shrink, invert (each an undoable step).
fn mask_tools(ui: &mut egui::Ui, state: &mut ViewerState, actions: &mut Vec<Action>) {
    use crate::cpu::morphology::MaskOp;
    ui.horizontal(|ui| {
        ui.label("mask");
        ui.add(egui::TextEdit::singleline(&mut state.mask_path).desired_width(110.0));
        let path = PathBuf::from(state.mask_path.trim());
        let named = !state.mask_path.trim().is_empty();
        if ui
            .add_enabled(named, egui::Button::new("Load"))
            .on_hover_text("make the mask this PNG (white = erase)")
            .clicked()
        {
            actions.push(Action::LoadMask(path.clone()));
        }
        if ui
            .add_enabled(named, egui::Button::new("Export"))
            .on_hover_text("write the mask as a PNG (white = erased)")
            .clicked()
        {
            actions.push(Action::ExportMask(path));
        }
    });
    ui.horizontal(|ui| {
        let range = crate::limits::MASK_GROW;
        ui.add(
            egui::DragValue::new(&mut state.mask_grow)
                .range(range)
                .suffix(" px"),
        );
        if ui.button("Grow").clicked() {
            actions.push(Action::MaskOp(MaskOp::Grow(state.mask_grow)));
        }
        if ui.button("Shrink").clicked() {
            actions.push(Action::MaskOp(MaskOp::Shrink(state.mask_grow)));
        }
        if ui.button("Invert").clicked() {
            actions.push(Action::MaskOp(MaskOp::Invert));
        }
    });
}

/// The class overlay's method (CAM, Grad-CAM, HiResCAM) and, for gradient maps, its layer.
fn cam_method_picker(ui: &mut egui::Ui, state: &mut ViewerState) {
    use crate::editor::CamMethod;
    use crate::explain::gradcam::{self, GradMethod};
    let settings = &mut state.settings;
    ui.horizontal(|ui| {
        for (method, name, tip) in [
            (
                CamMethod::Cam,
                "CAM",
                "the last layer's class activation map",
            ),
            (
                CamMethod::Gradient(GradMethod::GradCam),
                "Grad-CAM",
                "channel weights from the averaged gradient, at the chosen layer",
            ),
            (
                CamMethod::Gradient(GradMethod::HiResCam),
                "HiResCAM",
                "gradient times activation per position, at the chosen layer",
            ),
        ] {
            ui.selectable_value(&mut settings.cam_method, method, name)
                .on_hover_text(tip);
        }
    });
    if settings.cam_method == CamMethod::Cam {
        return;
    }
    let layers = gradcam::layers(settings.model);
    let current = settings.layer_name();
    egui::ComboBox::from_label("layer")
        .selected_text(current)
        .show_ui(ui, |ui| {
            for (i, name) in layers.iter().enumerate() {
                if ui.selectable_label(*name == current, name).clicked() {
                    // The last layer is stored as None, so it stays the last after a model switch.
                    settings.cam_layer = (i + 1 < layers.len()).then_some(i);
                }
            }
        });
}

/// The deletion and insertion curves of the chosen class: the map's order (orange) against a
/// random one (grey), with the areas under them.
fn curves_plot(ui: &mut egui::Ui, e: &ExploreInfo<'_>) {
    let Some(curves) = e.curves else {
        if let Some((done, total)) = e.curve_progress {
            ui.add(
                egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                    .text(format!("curves {done}/{total}")),
            );
        }
        return;
    };
    let colour = |name: &str| match name {
        "random" => egui::Color32::GRAY,
        _ => egui::Color32::from_rgb(230, 120, 20),
    };
    let width = ui.available_width().min(320.0);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(width, 90.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let half = rect.width() / 2.0;
    for (panel, title) in [(0, "deletion"), (1, "insertion")] {
        let r = egui::Rect::from_min_size(
            rect.min + egui::vec2(panel as f32 * half + 4.0, 14.0),
            egui::vec2(half - 8.0, rect.height() - 16.0),
        );
        painter.rect_stroke(
            r,
            0.0,
            egui::Stroke::new(1.0, ui.visuals().weak_text_color()),
            egui::StrokeKind::Inside,
        );
        painter.text(
            r.left_top() - egui::vec2(0.0, 13.0),
            egui::Align2::LEFT_TOP,
            title,
            egui::FontId::proportional(11.0),
            ui.visuals().text_color(),
        );
        for (k, m) in curves.methods.iter().enumerate() {
            let c = if panel == 0 {
                &m.deletion
            } else {
                &m.insertion
            };
            let points: Vec<egui::Pos2> = c
                .fractions
                .iter()
                .zip(&c.probabilities)
                .map(|(f, p)| egui::pos2(r.left() + f * r.width(), r.bottom() - p * r.height()))
                .collect();
            painter.add(egui::Shape::line(
                points,
                egui::Stroke::new(1.5, colour(m.name)),
            ));
            painter.text(
                r.right_top() + egui::vec2(-4.0, 2.0 + 12.0 * k as f32),
                egui::Align2::RIGHT_TOP,
                format!("AUC {:.3}", c.auc()),
                egui::FontId::proportional(10.0),
                colour(m.name),
            );
        }
    }
    ui.label(
        RichText::new(format!(
            "{} (orange) vs random (grey), on the original; probability 0..1",
            curves.key.method_name()
        ))
        .weak(),
    );
}

/// The occlusion map's colour bar: −scale (blue, erasing raises the class) through 0 (the photo
/// shows through) to +scale (red, erasing lowers it), in log-odds.
fn colour_bar(ui: &mut egui::Ui, scale: f32) {
    let width = ui.available_width().min(300.0);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(width, 26.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let bar = egui::Rect::from_min_size(rect.min, egui::vec2(width, 10.0));
    let n = 64;
    for i in 0..n {
        let t = (i as f32 + 0.5) / n as f32 * 2.0 - 1.0;
        let c = crate::cpu::compose::diverging(t);
        let a = crate::cpu::compose::diverging_alpha(t);
        // Over white, as the transparency near zero shows the photo.
        let mix = |k: usize| ((1.0 - a + c[k] * a) * 255.0).round() as u8;
        let x0 = bar.left() + bar.width() * i as f32 / n as f32;
        let x1 = bar.left() + bar.width() * (i + 1) as f32 / n as f32;
        painter.rect_filled(
            egui::Rect::from_x_y_ranges(x0..=x1, bar.y_range()),
            0.0,
            egui::Color32::from_rgb(mix(0), mix(1), mix(2)),
        );
    }
    let font = egui::FontId::proportional(10.0);
    let colour = ui.visuals().text_color();
    for (x, align, text) in [
        (bar.left(), egui::Align2::LEFT_TOP, format!("−{scale:.2}")),
        (
            bar.center().x,
            egui::Align2::CENTER_TOP,
            "0 log-odds".to_string(),
        ),
        (bar.right(), egui::Align2::RIGHT_TOP, format!("+{scale:.2}")),
    ] {
        painter.text(
            egui::pos2(x, bar.bottom() + 2.0),
            align,
            text,
            font.clone(),
            colour,
        );
    }
}
