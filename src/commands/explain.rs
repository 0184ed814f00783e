//! `unsee explain`: where the evidence for a class lies, as an image (and a suggested mask).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use unsee::classify::{ClassifyPipeline, Inference};
use unsee::explain;
use unsee::gpu::{GpuContext, GpuOptions};
use unsee::inpaint::{InpaintParams, Inpainter};
use unsee::models::Preset;
use unsee::{image_io, output};

use crate::cli::{ExplainArgs, ExplainMethod};

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
    let top = pipeline.classify_image(&gpu, &img, 1)?;
    let class = match &args.class {
        None => top[0].index,
        Some(c) => match c.parse::<usize>() {
            Ok(i) if i < 1000 => i,
            Ok(i) => anyhow::bail!("class {i} is not an ImageNet class (0..999)"),
            Err(_) => pipeline
                .labels
                .find(c)
                .with_context(|| format!("no ImageNet class is called {c:?}"))?,
        },
    };
    let start = std::time::Instant::now();
    let map = match args.method {
        ExplainMethod::Cam => explain::cam_map(&gpu, &pipeline, &img, class)?,
        ExplainMethod::Occlusion => {
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
                args.grid,
                &fill,
                16,
                |done, total| {
                    eprint!("\r{done}/{total} cells");
                    let _ = std::io::stderr().flush();
                },
            )?;
            eprintln!();
            map
        }
    };
    let ms = start.elapsed().as_secs_f64() * 1e3;
    output::write_image(
        &args.output,
        &image::DynamicImage::ImageRgba8(explain::overlay(&img, &map, 0.55)),
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
            "strongest_cell": [bx, by],
            "values": map.values,
            "ms": ms,
        })
    );
    Ok(())
}
