//! `unsee inpaint`: fill the masked region of an image file and save the result.

use anyhow::Context;
use unsee::gpu::{GpuContext, GpuOptions};
use unsee::inpaint::{InpaintParams, Inpainter, Method};
use unsee::passes::{PatchMatchParams, TeleaParams};
use unsee::{cpu, image_io, output};

use crate::cli::InpaintArgs;

/// Loads image and mask, fills on the GPU (or with the CPU reference) and writes the output.
pub fn run(args: InpaintArgs, gpu_options: GpuOptions) -> anyhow::Result<()> {
    // Before any work: the output's format and folder, and that it replaces no input.
    output::check_image_output(&args.output)?;
    output::refuse_overwrite(&[&args.output], &[&args.image, &args.mask])?;
    let img = image_io::load_image(&args.image)?;
    let mask = image_io::load_mask(&args.mask)?;
    cpu::telea::validate_mask(img.dimensions(), &mask)
        .with_context(|| format!("mask {}", args.mask.display()))?;
    let params = InpaintParams {
        method: args.method,
        telea: TeleaParams {
            radius: args.radius,
        },
        patchmatch: PatchMatchParams {
            seed: args.seed,
            ..PatchMatchParams::default()
        },
    };
    let start = std::time::Instant::now();
    let out = match (args.method, args.cpu) {
        (Method::Telea, true) => cpu::telea::telea(&img, &mask, params.telea.radius)?,
        (Method::PatchMatch, true) => {
            cpu::patchmatch::patchmatch(&img, &mask, &params.patchmatch)?.image
        }
        (_, false) => {
            let gpu = GpuContext::headless(&gpu_options)?;
            Inpainter::new(&gpu.device)?.inpaint_image(&gpu, &img, &mask, &params)?
        }
    };
    log::info!("inpainted in {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    output::write_image(&args.output, &image::DynamicImage::ImageRgba8(out))?;
    Ok(())
}
