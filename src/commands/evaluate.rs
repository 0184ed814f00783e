//! `unsee evaluate`: deletion and insertion curves of each explanation method on each image, with
//! the areas under them (JSON or a table) and the curves as PNG plots.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Context;
use unsee::classify::{ClassifyPipeline, Inference};
use unsee::explain::evaluate::{self, EvalSettings, Explanation};
use unsee::explain::plot;
use unsee::gpu::{GpuContext, GpuOptions};
use unsee::inpaint::{InpaintParams, Inpainter};
use unsee::models::Preset;
use unsee::{image_io, output};

use crate::cli::EvaluateArgs;
use crate::commands::explain::resolve_class;

/// Evaluates every image, writes the plots, prints the areas.
pub fn run(
    args: EvaluateArgs,
    gpu_options: GpuOptions,
    models: PathBuf,
    inference: Inference,
) -> anyhow::Result<()> {
    let gpu = GpuContext::headless(&gpu_options)?;
    let pipeline = ClassifyPipeline::with_inference(
        &gpu,
        args.model,
        Preset::Default,
        &models,
        inference.on_gpu(&gpu),
    )?;
    let inpainter = Inpainter::new(&gpu.device)?;
    let settings = EvalSettings {
        steps: args.steps,
        fill: InpaintParams {
            method: args.fill,
            ..InpaintParams::default()
        },
        ..EvalSettings::default()
    };
    let fixed_class = args
        .class
        .as_deref()
        .map(|c| resolve_class(&pipeline, c))
        .transpose()?;
    std::fs::create_dir_all(&args.plots)
        .with_context(|| format!("making the plots folder {}", args.plots.display()))?;
    let mut names = HashSet::new();
    let mut reports = Vec::new();
    for path in &args.images {
        let img = image_io::load_image(path)?;
        let view = evaluate::model_view(&pipeline, &img);
        let class = match fixed_class {
            Some(c) => c,
            None => pipeline.classify_image(&gpu, &view, 1)?[0].index,
        };
        let start = std::time::Instant::now();
        let curves = evaluate::evaluate(
            &gpu,
            &inpainter,
            &pipeline,
            &view,
            class,
            &Explanation::ALL,
            &settings,
        )
        .with_context(|| format!("evaluating {}", path.display()))?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let plot_path = plot_path(&args, path, &mut names);
        output::check_image_output(&plot_path)?;
        output::refuse_overwrite(&[plot_path.as_path()], &[path.as_path()])?;
        output::write_image(
            &plot_path,
            &image::DynamicImage::ImageRgba8(plot::plot(&curves)),
        )?;
        let methods: Vec<_> = curves
            .iter()
            .map(|m| {
                serde_json::json!({
                    "name": m.name,
                    "deletion_auc": m.deletion.auc(),
                    "insertion_auc": m.insertion.auc(),
                    "deletion": m.deletion.probabilities,
                    "insertion": m.insertion.probabilities,
                })
            })
            .collect();
        if !args.json {
            outln!(
                "{} — {} class {class} ({}), {} steps, {:.0} ms, plot {}",
                path.display(),
                args.model.name(),
                pipeline.labels.name(class),
                args.steps,
                ms,
                plot_path.display()
            );
            outln!(
                "  {:<10} {:>12} {:>13}",
                "method",
                "deletion AUC",
                "insertion AUC"
            );
            for m in &curves {
                outln!(
                    "  {:<10} {:>12.4} {:>13.4}",
                    m.name,
                    m.deletion.auc(),
                    m.insertion.auc()
                );
            }
        }
        reports.push(serde_json::json!({
            "image": path.display().to_string(),
            "model": args.model,
            "class": class,
            "label": pipeline.labels.name(class),
            "steps": args.steps,
            "fill": format!("{:?}", args.fill).to_lowercase(),
            "plot": plot_path.display().to_string(),
            "ms": ms,
            "methods": methods,
        }));
    }
    if args.json {
        outln!("{}", serde_json::Value::Array(reports));
    }
    Ok(())
}

/// `PLOTS/STEM_MODEL_curves.png`, numbered when two images share a stem.
fn plot_path(args: &EvaluateArgs, image: &std::path::Path, names: &mut HashSet<String>) -> PathBuf {
    let stem = image
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    let base = format!("{stem}_{}_curves", args.model.name());
    let mut name = base.clone();
    let mut n = 2;
    while !names.insert(name.clone()) {
        name = format!("{base}_{n}");
        n += 1;
    }
    args.plots.join(format!("{name}.png"))
}
