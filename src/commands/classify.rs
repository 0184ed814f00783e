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

/// Classifies every image, one at a time (decode, classify, drop: memory holds one photo however
/// many are given); an image that fails is reported and the others still run. Fails (non-zero
/// exit) when any image failed.
pub fn run(
    args: ClassifyArgs,
    gpu_options: GpuOptions,
    models: PathBuf,
    inference: Inference,
) -> anyhow::Result<()> {
    let mut failures = 0;
    let mut results = Vec::new();
    // Built at the first image that decodes: bad files are reported without waiting for a GPU or
    // the weights.
    let mut classifier: Option<(GpuContext, ClassifyPipeline)> = None;
    for path in &args.images {
        let img = match image_io::load_image(path) {
            Ok(img) => img,
            // One image: its error is the command's error (one line).
            Err(e) if args.images.len() == 1 => return Err(e.into()),
            Err(e) => {
                eprintln!("error: {e}");
                failures += 1;
                continue;
            }
        };
        let ready = match classifier.take() {
            Some(c) => c,
            None => {
                let gpu = GpuContext::headless(&gpu_options)?;
                let on_gpu = inference.on_gpu(&gpu);
                log::info!("inference on {}", Inference::describe(on_gpu));
                let pipeline = ClassifyPipeline::with_inference(
                    &gpu,
                    args.model,
                    args.preset,
                    &models,
                    on_gpu,
                )?;
                (gpu, pipeline)
            }
        };
        let (gpu, pipeline) = &*classifier.insert(ready);
        let img = image_io::fit_within(img, gpu.device.limits().max_texture_dimension_2d);
        let top = pipeline
            .classify_image(gpu, &img, usize::from(args.top))
            .with_context(|| format!("classifying {}", path.display()))?;
        drop(img);
        results.push(ImageResult {
            image: path.display().to_string(),
            model: args.model,
            top5: top,
        });
    }
    if results.is_empty() {
        anyhow::bail!("none of the {failures} images could be read");
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
