//! Saving from the viewer: the session folder, and the window screenshot of `--screenshot`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Viewer;
use crate::gpu::{GpuContext, texture};
use crate::output;

impl Viewer {
    /// Writes the session folder `<save dir>/<name>_session/` (see [`Viewer::save_session`]).
    pub(super) fn save(&self, tables: bool) -> anyhow::Result<PathBuf> {
        let stem = Path::new(&self.state.image_name)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("image")
            .to_owned();
        let dir = PathBuf::from(&self.state.save_dir).join(format!("{stem}_session"));
        self.save_session(&dir, tables)?;
        Ok(dir)
    }

    /// Writes `dir` ([`write_session`]) for the edit on screen: with its tables when they answer
    /// it, without when `tables` is false (a lost device, a failed state).
    pub(super) fn save_session(&self, dir: &Path, tables: bool) -> anyhow::Result<()> {
        let editor = self.editor.as_ref().context("no image is open")?;
        write_session(dir, editor, &self.engine, &self.state.settings, tables)
    }
}

/// Writes the session folder `dir` of `editor`'s edit under `settings`: original.png and
/// mask.png from CPU memory, then session.json (settings, strokes and — with `tables`, only when
/// they answer the current state — both top-5 tables), so that they are saved even when the GPU
/// is lost; then modified.png read back from the GPU. Without `tables` (the edit has no answer:
/// a lost device, a failed state) the tables are left empty, for `unsee replay` to compute, and
/// no modified.png is written (one left by an earlier save is removed: it shows another state).
pub fn write_session(
    dir: &Path,
    editor: &crate::editor::Editor,
    engine: &crate::engine::Engine,
    settings: &crate::editor::ViewSettings,
    tables: bool,
) -> anyhow::Result<()> {
    use crate::session::{EditPath, Row, Session, top5_rows};
    if tables {
        anyhow::ensure!(
            editor.is_current(settings) && !editor.drawing(),
            "the tables do not answer the current edit yet"
        );
    }
    output::create_folder(dir)?;
    let model = settings.model;
    let rows = |scores: Option<&crate::editor::Scores>| -> anyhow::Result<Vec<Row>> {
        if !tables {
            return Ok(Vec::new());
        }
        let labels = &engine
            .loaded(model)
            .context("the model is not loaded yet")?
            .labels;
        Ok(scores
            .map(|s| top5_rows(&s.probabilities, labels))
            .unwrap_or_default())
    };
    let session = Session {
        image: PathBuf::from("original.png"),
        model,
        fill: settings.inpaint.into(),
        strokes: editor.history().strokes().to_vec(),
        original: rows(editor.original_scores.as_ref())?,
        modified: rows(editor.modified_scores.as_ref())?,
        path: Some(if engine.inference_on_gpu {
            EditPath::Gpu
        } else {
            EditPath::Cpu
        }),
    };
    // Each file is replaced whole (a session saved again over an older one is never left half
    // old, half new per file). The photo and the mask come from CPU memory and session.json
    // (which names the photo) follows them; the modified image, read back from the GPU, comes
    // last, so a lost device still leaves a complete session.
    output::write_image(
        &dir.join("original.png"),
        &editor.original_image().clone().into(),
    )?;
    output::write_image(&dir.join("mask.png"), &editor.mask_image().clone().into())?;
    session.save(dir)?;
    let modified_png = dir.join("modified.png");
    if !tables {
        match std::fs::remove_file(&modified_png) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).context("removing the modified.png of an earlier save");
            }
            _ => return Ok(()),
        }
    }
    let gpu = &engine.gpu;
    let modified = texture::read_rgba(&gpu.device, &gpu.queue, editor.modified())
        .context("reading the modified image from the GPU (the session itself is saved)")?;
    output::write_image(&modified_png, &modified.into())?;
    Ok(())
}

/// Copies the frame (before presenting) into a PNG.
pub(super) fn save_screenshot(
    gpu: &GpuContext,
    frame: &wgpu::Texture,
    path: &Path,
) -> anyhow::Result<()> {
    if !frame.usage().contains(wgpu::TextureUsages::COPY_SRC) {
        anyhow::bail!("this window surface cannot be copied: no screenshot");
    }
    let bgra = matches!(
        frame.format(),
        wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb
    );
    let mut texels = texture::read_texels(&gpu.device, &gpu.queue, frame)?;
    if bgra {
        for px in texels.chunks_exact_mut(4) {
            px.swap(0, 2);
        }
    }
    let img = image::RgbaImage::from_raw(frame.width(), frame.height(), texels)
        .context("screenshot size")?;
    output::write_image(path, &img.into())?;
    Ok(())
}
