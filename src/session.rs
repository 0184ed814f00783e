//! A recorded edit: the photo, the model and fill settings, every stroke, and the tables it
//! produced. Saved by the viewer, re-run by `unsee replay` (strokes are replayed one by one, each
//! step classified; seeded PatchMatch makes the replay deterministic).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::editor::Stroke;
use crate::inpaint::{InpaintParams, Method};
use crate::models::ModelKind;
use crate::passes::{PatchMatchParams, TeleaParams};
use crate::{Error, Result, limits};

/// File name of the session inside its folder.
pub const SESSION_FILE: &str = "session.json";

/// One row of a recorded table: the one top-k row type, [`crate::models::Prediction`] (class,
/// label, probability 0..1), under the name sessions use.
pub use crate::models::Prediction as Row;

/// The top-5 table of `probabilities`.
pub fn top5_rows(probabilities: &[f32], labels: &crate::models::Labels) -> Vec<Row> {
    crate::models::top_k(probabilities, labels, 5)
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
    /// The path the edit was made on (absent in sessions saved before it was recorded). The GPU
    /// path's Telea and the CPU path's are two implementations: their fills, and so the tables,
    /// differ slightly (0.76 points measured), so `unsee replay` replays on this path by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<EditPath>,
}

/// Where an edit's fills and classifications ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EditPath {
    /// Our GPU passes and burn's wgpu backend.
    Gpu,
    /// The CPU fills and burn's CPU backend (a machine without a GPU).
    Cpu,
}

impl Session {
    /// Reads `path` (a session.json, or the folder holding one) and checks every value (see
    /// [`Session::validate`]): a session file is untrusted input. Returns the session and its
    /// folder.
    pub fn load(path: &Path) -> Result<(Self, PathBuf)> {
        let file = if path.is_dir() {
            path.join(SESSION_FILE)
        } else {
            path.to_owned()
        };
        let fail = |reason: String| Error::Session {
            path: file.clone(),
            reason,
        };
        let meta = std::fs::metadata(&file).map_err(|e| fail(format!("cannot read it: {e}")))?;
        if !meta.is_file() {
            return Err(fail("not a regular file".into()));
        }
        if meta.len() > limits::MAX_SESSION_BYTES {
            return Err(fail(format!(
                "{} bytes, more than the {} MB unsee reads",
                meta.len(),
                limits::MAX_SESSION_BYTES >> 20
            )));
        }
        let text =
            std::fs::read_to_string(&file).map_err(|e| fail(format!("cannot read it: {e}")))?;
        let session = Self::parse(&text).map_err(fail)?;
        let dir = file.parent().map(Path::to_owned).unwrap_or_default();
        Ok((session, dir))
    }

    /// Parses session.json text and checks every value; the error says which value is wrong.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let session: Session = serde_json::from_str(text).map_err(|e| format!("malformed: {e}"))?;
        session.validate()?;
        Ok(session)
    }

    /// Checks every value against the ranges the command line and the viewer allow
    /// ([`crate::limits`]), and that the image is a plain file name (inside the session folder).
    pub fn validate(&self) -> std::result::Result<(), String> {
        image_name(&self.image)?;
        let f = &self.fill;
        limits::check("fill.radius", f.radius, &limits::TELEA_RADIUS)?;
        limits::check("fill.patch", f.patch, &limits::PATCH)?;
        if f.patch.is_multiple_of(2) {
            return Err(format!("fill.patch is {}, not odd", f.patch));
        }
        limits::check("fill.iterations", f.iterations, &limits::ITERATIONS)?;
        if self.strokes.len() > limits::MAX_STROKES {
            return Err(format!(
                "{} strokes, more than {}",
                self.strokes.len(),
                limits::MAX_STROKES
            ));
        }
        let mut segments = 0usize;
        for (i, stroke) in self.strokes.iter().enumerate() {
            let name = format!("strokes[{i}]");
            limits::check(
                &format!("{name}.radius"),
                stroke.radius,
                &limits::BRUSH_RADIUS,
            )?;
            if let Some(
                crate::cpu::morphology::MaskOp::Grow(n) | crate::cpu::morphology::MaskOp::Shrink(n),
            ) = stroke.op
            {
                limits::check(&format!("{name}.op radius"), n, &limits::MASK_GROW)?;
            }
            segments = segments
                .saturating_add(stroke.points.len())
                .saturating_add(stroke.runs.len());
            if segments > limits::MAX_SEGMENTS {
                return Err(format!(
                    "more than {} points and runs in all",
                    limits::MAX_SEGMENTS
                ));
            }
            let coords = stroke
                .points
                .iter()
                .flat_map(|&(x, y)| [x, y])
                .chain(stroke.runs.iter().flatten().copied());
            for c in coords {
                if !(c.is_finite() && c.abs() <= limits::POINT_REACH) {
                    return Err(format!(
                        "{name} has a coordinate {c}, outside ±{}",
                        limits::POINT_REACH
                    ));
                }
            }
        }
        for (table, rows) in [("original", &self.original), ("modified", &self.modified)] {
            if rows.len() > limits::MAX_TABLE_ROWS {
                return Err(format!("{table} has {} rows", rows.len()));
            }
            for (i, row) in rows.iter().enumerate() {
                let name = format!("{table}[{i}]");
                if row.index >= crate::models::CLASSES {
                    return Err(format!("{name}.index is {}, not a class", row.index));
                }
                limits::check(
                    &format!("{name}.probability"),
                    row.probability,
                    &(0.0..=1.0),
                )?;
                if row.label.len() > limits::MAX_LABEL_BYTES {
                    return Err(format!("{name}.label is {} bytes long", row.label.len()));
                }
            }
        }
        Ok(())
    }

    /// Writes `dir/session.json` (atomically).
    pub fn save(&self, dir: &Path) -> Result<()> {
        crate::output::create_folder(dir)?;
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Invalid(e.to_string()))?;
        crate::output::write_bytes(&dir.join(SESSION_FILE), text.as_bytes())
    }

    /// The photo's path inside the session's folder `dir`; an error when a link makes it lead
    /// outside the folder (the name alone is checked by [`Session::validate`]).
    pub fn image_path(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(&self.image);
        // A missing photo is reported by whoever reads it, naming the path.
        if let (Ok(real), Ok(folder)) = (path.canonicalize(), dir.canonicalize())
            && !real.starts_with(&folder)
        {
            return Err(Error::Session {
                path: dir.join(SESSION_FILE),
                reason: format!(
                    "image {} leads outside the session folder (to {})",
                    self.image.display(),
                    real.display()
                ),
            });
        }
        Ok(path)
    }
}

/// Ok when `image` is a plain file name: a session names its photo inside its own folder, never
/// elsewhere (an absolute path or `..` would make replaying a session read any file).
fn image_name(image: &Path) -> std::result::Result<(), String> {
    let mut parts = image.components();
    match (parts.next(), parts.next()) {
        (Some(std::path::Component::Normal(_)), None) => Ok(()),
        _ => Err(format!(
            "image {:?} is not a plain file name inside the session folder",
            image.display().to_string()
        )),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_linked_image_may_not_leave_the_folder() {
        let root = std::env::temp_dir().join(format!("unsee-session-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("session");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(root.join("secret.png"), b"x").unwrap();
        std::fs::write(dir.join("inside.png"), b"x").unwrap();
        std::os::unix::fs::symlink("../secret.png", dir.join("original.png")).unwrap();
        let mut session: Session = serde_json::from_value(serde_json::json!({
            "image": "original.png", "model": "squeezenet",
            "fill": { "method": "telea", "radius": 5, "patch": 7, "iterations": 4, "seed": 0 },
            "strokes": [], "original": [], "modified": [],
        }))
        .unwrap();
        let e = session.image_path(&dir).unwrap_err().to_string();
        assert!(e.contains("outside the session folder"), "{e}");
        session.image = "inside.png".into();
        assert_eq!(session.image_path(&dir).unwrap(), dir.join("inside.png"));
        session.image = "missing.png".into();
        assert_eq!(session.image_path(&dir).unwrap(), dir.join("missing.png"));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn mask_operations_are_read_and_checked() {
        let parse = |op: serde_json::Value| {
            Session::parse(
                &serde_json::json!({
                    "image": "original.png", "model": "squeezenet",
                    "fill": { "method": "telea", "radius": 5, "patch": 7, "iterations": 4, "seed": 0 },
                    "strokes": [{ "restore": false, "radius": 0.5, "points": [], "op": op }],
                    "original": [], "modified": [],
                })
                .to_string(),
            )
        };
        let ok = parse(serde_json::json!({ "grow": 4 })).unwrap();
        assert_eq!(
            ok.strokes[0].op,
            Some(crate::cpu::morphology::MaskOp::Grow(4))
        );
        assert!(parse(serde_json::json!("invert")).is_ok());
        let e = parse(serde_json::json!({ "shrink": 100000 })).unwrap_err();
        assert!(e.contains("op radius"), "{e}");
        assert!(parse(serde_json::json!({ "blur": 3 })).is_err());
    }

    #[test]
    fn image_paths_must_stay_in_the_folder() {
        assert!(image_name(Path::new("original.png")).is_ok());
        for bad in ["/etc/passwd", "../x.png", "a/b.png", "", ".", "./"] {
            assert!(image_name(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
