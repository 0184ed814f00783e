//! `unsee explain`: where the evidence for a class lies, as an image (and a suggested mask).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use unsee::classify::{ClassifyPipeline, Inference};
use unsee::explain::colormap::{self, Scale};
use unsee::explain::evaluate;
use unsee::explain::gradcam::{self, GradMethod};
use unsee::explain::{self, Windows};
use unsee::gpu::{GpuContext, GpuOptions};
use unsee::inpaint::{InpaintParams, Inpainter};
use unsee::models::Preset;
use unsee::models::receptive::Placement;
use unsee::{image_io, output};

use crate::cli::{ExplainArgs, ExplainMethod};

/// A class given as an index 0..999 or as (part of) a label.
pub fn resolve_class(pipeline: &ClassifyPipeline, c: &str) -> anyhow::Result<usize> {
    match c.parse::<usize>() {
        Ok(i) if i < 1000 => Ok(i),
        Ok(i) => anyhow::bail!("class {i} is not an ImageNet class (0..999)"),
        Err(_) => pipeline
            .labels
            .find(c)
            .with_context(|| format!("no ImageNet class is called {c:?}")),
    }
}

/// Builds the map, writes the overlay (and the suggested mask), prints a JSON summary.
pub fn run(
    args: ExplainArgs,
    gpu_options: GpuOptions,
    models: PathBuf,
    inference: Inference,
) -> anyhow::Result<()> {
    // Before any work: the outputs' formats and folders, and that they replace no input.
    let outputs: Vec<&std::path::Path> = std::iter::once(args.output.as_path())
        .chain(args.mask_output.as_deref())
        .collect();
    for path in &outputs {
        output::check_image_output(path)?;
    }
    output::refuse_overwrite(&outputs, &[&args.image])?;
    let img = image_io::fit_within(image_io::load_image(&args.image)?, 1024);
    let gpu = GpuContext::headless(&gpu_options)?;
    let pipeline = ClassifyPipeline::with_inference(
        &gpu,
        args.model,
        Preset::Default,
        &models,
        inference.on_gpu(&gpu),
    )?;
    let class = match &args.class {
        None => pipeline.classify_image(&gpu, &img, 1)?[0].index,
        Some(c) => resolve_class(&pipeline, c)?,
    };
    let start = std::time::Instant::now();
    let size = img.dimensions();
    let kind = pipeline.kind;
    let layer = args
        .layer
        .clone()
        .unwrap_or_else(|| gradcam::last_layer(kind).to_string());
    // Each method's map, how its values read, and where its cells sit on the image.
    let (map, scale, place) = match args.method {
        ExplainMethod::Cam => {
            let (map, place) = evaluate::class_map(&gpu, &pipeline, &img, class, None)?;
            (map, Scale::Unsigned, place)
        }
        ExplainMethod::Gradcam | ExplainMethod::Hirescam => {
            let method = if args.method == ExplainMethod::Gradcam {
                GradMethod::GradCam
            } else {
                GradMethod::HiResCam
            };
            let gradient = Some((method, layer.as_str()));
            let (map, place) = evaluate::class_map(&gpu, &pipeline, &img, class, gradient)?;
            (map, Scale::Unsigned, place)
        }
        ExplainMethod::Occlusion => {
            let windows = match args.grid {
                Some(n) => Windows::grid(size, n)?,
                None => Windows::sliding(
                    size,
                    args.window,
                    args.stride.unwrap_or(explain::evaluate::DEFAULT_STRIDE),
                )?,
            };
            let inpainter = Inpainter::new(&gpu.device)?;
            let fill = InpaintParams {
                method: args.fill,
                ..InpaintParams::default()
            };
            let map = explain::occlusion_map(
                &gpu,
                &inpainter,
                &pipeline,
                &img,
                class,
                windows,
                args.score,
                &fill,
                16,
                |done, total| {
                    eprint!("\r{done}/{total} windows");
                    let _ = std::io::stderr().flush();
                },
            )?;
            eprintln!();
            let place = Placement::even(map.grid, size);
            (map, Scale::Signed, place)
        }
    };
    if args.layer.is_some()
        && !matches!(
            args.method,
            ExplainMethod::Gradcam | ExplainMethod::Hirescam
        )
    {
        eprintln!("note: --layer is only used by gradcam and hirescam");
    }
    let ms = start.elapsed().as_secs_f64() * 1e3;
    output::write_image(
        &args.output,
        &image::DynamicImage::ImageRgba8(colormap::overlay(&img, &map, &place, scale, 0.6)),
    )?;
    if let Some(path) = &args.mask_output {
        let mask = explain::suggested_mask(&map, img.dimensions(), args.threshold);
        output::write_image(path, &image::DynamicImage::ImageLuma8(mask))?;
    }
    let (bx, by) = map.argmax();
    outln!(
        "{}",
        serde_json::json!({
            "image": args.image.display().to_string(),
            "model": args.model,
            "class": class,
            "label": pipeline.labels.name(class),
            "method": format!("{:?}", args.method).to_lowercase(),
            "grid": [map.grid.0, map.grid.1],
            "layer": matches!(args.method, ExplainMethod::Gradcam | ExplainMethod::Hirescam)
                .then_some(&layer),
            "score": (args.method == ExplainMethod::Occlusion).then(|| args.score.name()),
            "range": colormap::range(&map, scale),
            "strongest_cell": [bx, by],
            "values": map.values,
            "ms": ms,
        })
    );
    Ok(())
}
