//! What the viewer remembers between frames, as plain data (no GPU or window types): tool, view,
//! settings, messages, and the tables derived from the scores. Unit-testable.

use crate::editor::ViewSettings;
use crate::models::{Labels, top_indices};

/// What the primary button does on the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// Paint the mask: erase the image under the brush.
    Brush,
    /// Remove mask: bring the original back under the brush.
    Eraser,
}

/// Which classes the tables list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableMode {
    /// The original image's top-5, with their new probabilities in the Modified table.
    OriginalClasses,
    /// Each image's own top-5.
    OwnTop5,
}

/// The viewer's state.
#[derive(Clone, Debug)]
pub struct ViewerState {
    /// Current tool.
    pub tool: Tool,
    /// Brush radius in image pixels.
    pub brush_radius: f32,
    /// Model, inpainting and overlay settings.
    pub settings: ViewSettings,
    /// Which classes the tables show.
    pub table_mode: TableMode,
    /// Zoom factor relative to fit-to-window.
    pub zoom: f32,
    /// Pan offset in screen points.
    pub pan: (f32, f32),
    /// The original is shown while Tab is held.
    pub show_original: bool,
    /// Path typed into the Open field.
    pub open_path: String,
    /// Folder that Save writes into.
    pub save_dir: String,
    /// Name of the open image.
    pub image_name: String,
    /// A notice (not an error), e.g. that a large photo was scaled down.
    pub notice: Option<String>,
    /// The last error, shown until dismissed.
    pub error: Option<String>,
    /// Smoothed frame time, ms.
    pub frame_ms: f32,
    /// A stroke started by the pointer is in progress.
    pub painting: bool,
    /// Occlusion map grid (cells per side).
    pub occlusion_grid: u32,
    /// Suggested-mask threshold, 0..1 of the map's range.
    pub suggest_threshold: f32,
    /// Classify every answered edit with the other model too.
    pub both_models: bool,
    /// Compute and show the deletion curves of the chosen class.
    pub show_curves: bool,
    /// Path typed into the mask field (import and export).
    pub mask_path: String,
    /// Pixels the mask grows or shrinks by.
    pub mask_grow: u32,
}

impl Default for ViewerState {
    fn default() -> Self {
        Self {
            tool: Tool::Brush,
            brush_radius: 12.0,
            settings: ViewSettings::default(),
            table_mode: TableMode::OriginalClasses,
            zoom: 1.0,
            pan: (0.0, 0.0),
            show_original: false,
            open_path: String::new(),
            save_dir: ".".into(),
            image_name: String::new(),
            notice: None,
            error: None,
            frame_ms: 0.0,
            painting: false,
            occlusion_grid: 10,
            suggest_threshold: 0.6,
            both_models: false,
            show_curves: true,
            mask_path: "mask.png".into(),
            mask_grow: 4,
        }
    }
}

impl ViewerState {
    /// Brush radius bounds (image pixels).
    pub const RADIUS_RANGE: (f32, f32) = (1.0, 200.0);

    /// `[` and `]`: shrink or grow the brush by about 20%.
    pub fn step_radius(&mut self, grow: bool) {
        let r = if grow {
            self.brush_radius * 1.2 + 0.5
        } else {
            self.brush_radius / 1.2 - 0.5
        };
        self.brush_radius = r.clamp(Self::RADIUS_RANGE.0, Self::RADIUS_RANGE.1).round();
    }

    /// Zoom by `factor` keeping the image point under `cursor` (relative to the view centre,
    /// screen points) in place.
    pub fn zoom_at(&mut self, factor: f32, cursor: (f32, f32)) {
        let new_zoom = (self.zoom * factor).clamp(0.1, 40.0);
        let f = new_zoom / self.zoom;
        self.pan = (
            cursor.0 - (cursor.0 - self.pan.0) * f,
            cursor.1 - (cursor.1 - self.pan.1) * f,
        );
        self.zoom = new_zoom;
    }
}

/// One row of the Modified table (or of the Original table, where `modified` is `None`).
#[derive(Clone, Debug, PartialEq)]
pub struct TableRow {
    /// Class id.
    pub index: usize,
    /// Class name (first synonym).
    pub label: String,
    /// Probability in the original, %.
    pub original: f32,
    /// Probability in the modified image, %.
    pub modified: f32,
}

impl TableRow {
    /// Change from original to modified, in percentage points.
    pub fn change_pp(&self) -> f32 {
        self.modified - self.original
    }
}

/// The two tables: Original (its own top-5) and Modified (per `mode`).
pub fn tables(
    original: &[f32],
    modified: &[f32],
    labels: &Labels,
    mode: TableMode,
) -> (Vec<TableRow>, Vec<TableRow>) {
    let row = |i: usize| TableRow {
        index: i,
        label: labels.short(i).to_owned(),
        original: original.get(i).copied().unwrap_or(0.0) * 100.0,
        modified: modified.get(i).copied().unwrap_or(0.0) * 100.0,
    };
    let orig_rows: Vec<TableRow> = top_indices(original, 5).into_iter().map(row).collect();
    let mod_rows = match mode {
        TableMode::OriginalClasses => top_indices(original, 5).into_iter().map(row).collect(),
        TableMode::OwnTop5 => top_indices(modified, 5).into_iter().map(row).collect(),
    };
    (orig_rows, mod_rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        let dir = std::env::temp_dir().join(format!("unsee-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let names: String = (0..1000).map(|i| format!("class{i}, alias\n")).collect();
        std::fs::write(dir.join(crate::models::labels::LABELS_FILE), names).unwrap();
        Labels::load(&dir).unwrap()
    }

    #[test]
    fn tables_follow_the_mode_and_report_change() {
        let mut orig = vec![0.0; 1000];
        let mut modi = vec![0.0; 1000];
        for (i, p) in [(1, 0.5), (2, 0.2), (3, 0.1), (4, 0.05), (5, 0.04)] {
            orig[i] = p;
        }
        for (i, p) in [(1, 0.1), (9, 0.6), (2, 0.2)] {
            modi[i] = p;
        }
        let labels = labels();
        let (o, m) = tables(&orig, &modi, &labels, TableMode::OriginalClasses);
        assert_eq!(
            o.iter().map(|r| r.index).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(m[0].index, 1);
        assert!((m[0].change_pp() + 40.0).abs() < 1e-4);
        assert_eq!(m[0].label, "class1");
        let (_, own) = tables(&orig, &modi, &labels, TableMode::OwnTop5);
        assert_eq!(own[0].index, 9);
        assert!((own[0].change_pp() - 60.0).abs() < 1e-4);
    }

    #[test]
    fn radius_and_zoom_steps() {
        let mut s = ViewerState::default();
        let r = s.brush_radius;
        s.step_radius(true);
        assert!(s.brush_radius > r);
        for _ in 0..100 {
            s.step_radius(false);
        }
        assert_eq!(s.brush_radius, 1.0);
        s.zoom_at(2.0, (10.0, 0.0));
        assert_eq!(s.zoom, 2.0);
        assert_eq!(s.pan, (-10.0, 0.0));
    }
}
