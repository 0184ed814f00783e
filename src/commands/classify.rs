//! `unsee classify`: top-k classes of image files, as a table or JSON.

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;
use unsee::classify::{ClassifyPipeline, Inference};
use unsee::gpu::{GpuContext, GpuOptions};
use unsee::image_io;
use unsee::models::{ModelKind, Prediction};

use crate::cli::ClassifyArgs;

#[derive(Serialize)]
struct ImageResult {
    image: String,
    model: ModelKind,
    top5: Vec<Prediction>,
}

/// Classifies every image; an image that fails is reported and the others still run. Fails
/// (non-zero exit) when any image failed.
pub fn run(
    args: ClassifyArgs,
    gpu_options: GpuOptions,
    models: PathBuf,
    inference: Inference,
) -> anyhow::Result<()> {
    // Decode first: a bad file is reported without waiting for a GPU or the weights.
    let mut images = Vec::new();
    let mut errors = Vec::new();
    for path in &args.images {
        match image_io::load_image(path) {
            Ok(img) => images.push((path, img)),
            Err(e) => errors.push(e),
        }
    }
    let failures = errors.len();
    if images.is_empty() && failures == 1 {
        return Err(errors.remove(0).into());
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    if images.is_empty() {
        anyhow::bail!("none of the {failures} images could be read");
    }

    let gpu = GpuContext::headless(&gpu_options)?;
    let on_gpu = inference.on_gpu(&gpu);
    log::info!("inference on {}", Inference::describe(on_gpu));
    let pipeline =
        ClassifyPipeline::with_inference(&gpu, args.model, args.preset, &models, on_gpu)?;
    let max_side = gpu.device.limits().max_texture_dimension_2d;
    let mut results = Vec::new();
    for (path, img) in images {
        let img = image_io::fit_within(img, max_side);
        let top = pipeline
            .classify_image(&gpu, &img, usize::from(args.top))
            .with_context(|| format!("classifying {}", path.display()))?;
        results.push(ImageResult {
            image: path.display().to_string(),
            model: args.model,
            top5: top,
        });
    }

    if args.json {
        outln!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        for r in &results {
            outln!("{} ({})", r.image, args.model.display_name());
            for p in &r.top5 {
                outln!(
                    "  {:6.2}%  {:4}  {}",
                    p.probability * 100.0,
                    p.index,
                    p.label
                );
            }
        }
    }
    if failures > 0 {
        anyhow::bail!(
            "{failures} of {} images could not be read",
            args.images.len()
        );
    }
    Ok(())
}
