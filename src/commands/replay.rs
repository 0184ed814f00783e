//! `unsee replay SESSION`: re-runs a recorded edit stroke by stroke and checks that it gives the
//! recorded tables again.

use std::path::PathBuf;

use anyhow::Context;
use unsee::classify::Inference;
use unsee::editor::{Editor, ViewSettings};
use unsee::engine::Engine;
use unsee::gpu::{GpuContext, GpuOptions, texture};
use unsee::session::{Session, table_difference, top5_rows};
use unsee::{explain, figure, image_io};

use crate::cli::ReplayArgs;

/// Tables may differ this much (percentage points) between GPU and CPU inference.
const TOLERANCE_PP: f32 = 0.5;

/// Replays, prints each step's top-5 as JSON, fails when the final tables differ.
pub fn run(
    args: ReplayArgs,
    gpu_options: GpuOptions,
    models: PathBuf,
    inference: Inference,
) -> anyhow::Result<()> {
    let (session, dir) = Session::load(&args.session)?;
    let img = image_io::fit_within(
        image_io::load_image(&session.image_path(&dir))?,
        unsee::app::WORKING_SIZE,
    );
    let gpu = GpuContext::headless(&gpu_options)?;
    let mut engine = Engine::with_inference(gpu, models, inference)?;
    let mut editor = Editor::new(&engine, &img)?;
    let settings = ViewSettings {
        model: session.model,
        inpaint: session.fill.into(),
        ..ViewSettings::default()
    };
    editor.settle(&mut engine, &settings)?;
    let labels = engine.pipeline(session.model)?.labels.clone();
    let rows = |p: &[f32]| top5_rows(p, &labels);
    let original = rows(
        &editor
            .original_scores
            .as_ref()
            .context("original not classified")?
            .probabilities,
    );
    let mut steps = Vec::new();
    for (i, stroke) in session.strokes.iter().enumerate() {
        editor.push_stroke(stroke.clone());
        editor.settle(&mut engine, &settings)?;
        let modified = rows(
            &editor
                .modified_scores
                .as_ref()
                .context("edit not classified")?
                .probabilities,
        );
        if let Some(out) = &args.output {
            std::fs::create_dir_all(out)?;
            let g = &engine.gpu;
            let step_img = texture::read_rgba(&g.device, &g.queue, editor.modified())?;
            step_img.save(out.join(format!("step{:03}_modified.png", i + 1)))?;
            editor
                .mask_image()
                .save(out.join(format!("step{:03}_mask.png", i + 1)))?;
            // The CAM of the original's top class, on this step's image.
            let pipeline = engine.loaded(session.model).context("model")?;
            let map = explain::cam_map(g, pipeline, &step_img, original[0].index)?;
            explain::overlay(&step_img, &map, 0.5)
                .save(out.join(format!("step{:03}_cam.png", i + 1)))?;
        }
        steps.push(serde_json::json!({ "step": i + 1, "modified": modified }));
    }
    let modified = rows(
        &editor
            .modified_scores
            .as_ref()
            .context("edit not classified")?
            .probabilities,
    );
    if let Some(path) = &args.figure {
        let g = &engine.gpu;
        let modified_img = texture::read_rgba(&g.device, &g.queue, editor.modified())?;
        let title = format!(
            "{}: {} strokes, {:?} fill",
            session.model.display_name(),
            session.strokes.len(),
            session.fill.method
        );
        figure::render(
            g,
            &title,
            editor.original_image(),
            &modified_img,
            &original,
            &modified,
        )?
        .save(path)
        .with_context(|| format!("writing {}", path.display()))?;
    }
    let d_orig = table_difference(&original, &session.original);
    let d_mod = table_difference(&modified, &session.modified);
    let reproduced =
        d_orig.is_some_and(|d| d <= TOLERANCE_PP) && d_mod.is_some_and(|d| d <= TOLERANCE_PP);
    outln!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "session": args.session.display().to_string(),
            "steps": steps,
            "original": original,
            "modified": modified,
            "max_difference_pp": { "original": d_orig, "modified": d_mod },
            "reproduced": reproduced,
        }))?
    );
    if !reproduced {
        anyhow::bail!(
            "the replay gave other tables than the recording (classes differ or more than {TOLERANCE_PP} points apart)"
        );
    }
    Ok(())
}
