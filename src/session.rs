//! A recorded edit: the photo, the model and fill settings, every stroke, and the tables it
//! produced. Saved by the viewer, re-run by `unsee replay` (strokes are replayed one by one, each
//! step classified; seeded PatchMatch makes the replay deterministic).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::editor::Stroke;
use crate::inpaint::{InpaintParams, Method};
use crate::models::ModelKind;
use crate::passes::{PatchMatchParams, TeleaParams};
use crate::{Error, Result};

/// File name of the session inside its folder.
pub const SESSION_FILE: &str = "session.json";

/// One row of a recorded table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Class id.
    pub index: usize,
    /// Class name.
    pub label: String,
    /// Probability, 0..1.
    pub probability: f32,
}

impl From<crate::models::Prediction> for Row {
    fn from(p: crate::models::Prediction) -> Self {
        Self {
            index: p.index,
            label: p.label,
            probability: p.probability,
        }
    }
}

/// The top-5 table of `probabilities`.
pub fn top5_rows(probabilities: &[f32], labels: &crate::models::Labels) -> Vec<Row> {
    crate::models::top_k(probabilities, labels, 5)
        .into_iter()
        .map(Row::from)
        .collect()
}

/// Fill settings as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FillRecord {
    /// "telea" or "patchmatch".
    pub method: Method,
    /// Telea's radius.
    pub radius: u32,
    /// PatchMatch's patch side.
    pub patch: u32,
    /// PatchMatch's EM iterations per level.
    pub iterations: u32,
    /// PatchMatch's seed.
    pub seed: u32,
}

impl From<InpaintParams> for FillRecord {
    fn from(p: InpaintParams) -> Self {
        Self {
            method: p.method,
            radius: p.telea.radius,
            patch: p.patchmatch.patch,
            iterations: p.patchmatch.iterations,
            seed: p.patchmatch.seed,
        }
    }
}

impl From<FillRecord> for InpaintParams {
    fn from(r: FillRecord) -> Self {
        InpaintParams {
            method: r.method,
            telea: TeleaParams { radius: r.radius },
            patchmatch: PatchMatchParams {
                patch: r.patch,
                iterations: r.iterations,
                seed: r.seed,
                ..PatchMatchParams::default()
            },
        }
    }
}

/// A recorded edit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    /// The photo (relative paths are relative to the session's folder).
    pub image: PathBuf,
    /// The classifier.
    pub model: ModelKind,
    /// Fill settings.
    pub fill: FillRecord,
    /// The strokes, in order.
    pub strokes: Vec<Stroke>,
    /// Top-5 of the original.
    pub original: Vec<Row>,
    /// Top-5 of the modified image after the last stroke.
    pub modified: Vec<Row>,
}

impl Session {
    /// Reads `path` (a session.json, or the folder holding one).
    pub fn load(path: &Path) -> Result<(Self, PathBuf)> {
        let file = if path.is_dir() {
            path.join(SESSION_FILE)
        } else {
            path.to_owned()
        };
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Error::Invalid(format!("cannot read session {}: {e}", file.display())))?;
        let session: Session = serde_json::from_str(&text)
            .map_err(|e| Error::Invalid(format!("session {} is malformed: {e}", file.display())))?;
        let dir = file.parent().map(Path::to_owned).unwrap_or_default();
        Ok((session, dir))
    }

    /// Writes `dir/session.json`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", dir.display())))?;
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Invalid(e.to_string()))?;
        std::fs::write(dir.join(SESSION_FILE), text)
            .map_err(|e| Error::Invalid(format!("cannot write the session: {e}")))
    }

    /// The photo's path, resolved against the session's folder.
    pub fn image_path(&self, dir: &Path) -> PathBuf {
        if self.image.is_absolute() {
            self.image.clone()
        } else {
            dir.join(&self.image)
        }
    }
}

/// Largest difference (percentage points) between two tables listing the same classes in the same
/// order; `None` when the classes differ.
pub fn table_difference(a: &[Row], b: &[Row]) -> Option<f32> {
    if a.len() != b.len() || a.iter().zip(b).any(|(x, y)| x.index != y.index) {
        return None;
    }
    Some(
        a.iter()
            .zip(b)
            .map(|(x, y)| (x.probability - y.probability).abs() * 100.0)
            .fold(0.0, f32::max),
    )
}
