//! Saving from the viewer: the session folder, and the window screenshot of `--screenshot`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Viewer;
use crate::gpu::{GpuContext, texture};
use crate::output;

impl Viewer {
    /// Writes the session folder `<save dir>/<name>_session/`: original.png, modified.png,
    /// mask.png and session.json (settings, strokes, both tables), which `unsee replay` re-runs.
    pub(super) fn save(&mut self) -> anyhow::Result<PathBuf> {
        use crate::session::{Row, Session, top5_rows};
        let editor = self.editor.as_ref().context("no image is open")?;
        let gpu = &self.engine.gpu;
        let stem = Path::new(&self.state.image_name)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("image")
            .to_owned();
        let dir = PathBuf::from(&self.state.save_dir).join(format!("{stem}_session"));
        // Each file is replaced whole (a session saved again over an older one is never left
        // half old, half new per file); session.json, written last, names the photo.
        output::create_folder(&dir)?;
        output::write_image(
            &dir.join("original.png"),
            &editor.original_image().clone().into(),
        )?;
        let modified = texture::read_rgba(&gpu.device, &gpu.queue, editor.modified())?;
        output::write_image(&dir.join("modified.png"), &modified.into())?;
        let mask = texture::read_mask(&gpu.device, &gpu.queue, editor.mask_texture())?;
        output::write_image(&dir.join("mask.png"), &mask.into())?;
        let model = self.state.settings.model;
        let labels = &self
            .engine
            .loaded(model)
            .context("the model is not loaded yet")?
            .labels;
        let rows = |scores: Option<&crate::editor::Scores>| -> Vec<Row> {
            scores
                .filter(|s| s.model == model)
                .map(|s| top5_rows(&s.probabilities, labels))
                .unwrap_or_default()
        };
        let session = Session {
            image: PathBuf::from("original.png"),
            model,
            fill: self.state.settings.inpaint.into(),
            strokes: editor.history().strokes().to_vec(),
            original: rows(editor.original_scores.as_ref()),
            modified: rows(editor.modified_scores.as_ref()),
        };
        session.save(&dir)?;
        Ok(dir)
    }
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
