//! `unsee replay SESSION`: re-runs a recorded edit stroke by stroke and checks that it gives the
//! recorded tables again.

use std::path::{Path, PathBuf};

use anyhow::Context;
use unsee::classify::Inference;
use unsee::editor::{Editor, ViewSettings};
use unsee::engine::Engine;
use unsee::gpu::{GpuContext, GpuOptions, texture};
use unsee::session::{EditPath, Session, table_difference, top5_rows};
use unsee::{explain, figure, image_io, output};

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
    let image_path = session.image_path(&dir)?;
    let session_file = dir.join(unsee::session::SESSION_FILE);
    let inputs: [&Path; 2] = [&image_path, &session_file];
    // Before any work: every output's format and folder, and that none replaces an input.
    if let Some(path) = &args.figure {
        output::check_image_output(path)?;
        output::refuse_overwrite(&[path], &inputs)?;
    }
    if let Some(out) = &args.output {
        output::create_folder(out)?;
        for i in 0..session.strokes.len() {
            let steps = step_files(out, i);
            let steps: Vec<&Path> = steps.iter().map(PathBuf::as_path).collect();
            output::refuse_overwrite(&steps, &inputs)?;
        }
    }
    let img = image_io::fit_within(image_io::load_image(&image_path)?, unsee::app::WORKING_SIZE);
    let gpu = GpuContext::headless(&gpu_options)?;
    // On the path the edit was made on, unless told otherwise (the two paths' Telea fills differ).
    let inference = match (inference, session.path) {
        (Inference::Auto, Some(EditPath::Gpu)) => Inference::Gpu,
        (Inference::Auto, Some(EditPath::Cpu)) => Inference::Cpu,
        (chosen, _) => chosen,
    };
    let mut engine = Engine::with_inference(gpu, models, inference)?;
    let replayed_on = if engine.inference_on_gpu {
        EditPath::Gpu
    } else {
        EditPath::Cpu
    };
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
            let g = &engine.gpu;
            let [modified_path, mask_path, cam_path] = step_files(out, i);
            let step_img = texture::read_rgba(&g.device, &g.queue, editor.modified())?;
            output::write_image(&modified_path, &step_img.clone().into())?;
            output::write_image(&mask_path, &editor.mask_image().clone().into())?;
            // The CAM of the original's top class, on this step's image.
            let pipeline = engine.loaded(session.model).context("model")?;
            let map = explain::cam_map(g, pipeline, &step_img, original[0].index)?;
            output::write_image(
                &cam_path,
                &explain::overlay(&step_img, &map, explain::colormap::Scale::Unsigned, 0.5).into(),
            )?;
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
        let fig = figure::render(
            g,
            &title,
            editor.original_image(),
            &modified_img,
            &original,
            &modified,
        )?;
        output::write_image(path, &fig.into())?;
    }
    let d_orig = table_difference(&original, &session.original);
    let d_mod = table_difference(&modified, &session.modified);
    // A session saved while its edit had no answer (a lost device) records no tables: there is
    // nothing to compare, and the replay's tables are the answer.
    let recorded = !(session.original.is_empty() && session.modified.is_empty());
    let reproduced = !recorded
        || (d_orig.is_some_and(|d| d <= TOLERANCE_PP) && d_mod.is_some_and(|d| d <= TOLERANCE_PP));
    outln!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "session": args.session.display().to_string(),
            "steps": steps,
            "original": original,
            "modified": modified,
            "max_difference_pp": { "original": d_orig, "modified": d_mod },
            "recorded_tables": recorded,
            "recorded_on": session.path,
            "replayed_on": replayed_on,
            "reproduced": reproduced,
        }))?
    );
    if !reproduced {
        let paths = match session.path {
            Some(recorded) if recorded != replayed_on => format!(
                "; recorded on the {recorded:?} path, replayed on the {replayed_on:?} path, whose fills differ"
            ),
            _ => String::new(),
        };
        anyhow::bail!(
            "the replay gave other tables than the recording (classes differ or more than {TOLERANCE_PP} points apart){paths}"
        );
    }
    Ok(())
}

/// The PNGs of step `i` (0-based) in `out`: modified image, mask, CAM.
fn step_files(out: &Path, i: usize) -> [PathBuf; 3] {
    ["modified", "mask", "cam"].map(|kind| out.join(format!("step{:03}_{kind}.png", i + 1)))
}
