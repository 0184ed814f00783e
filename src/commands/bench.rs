//! `unsee bench`: how fast this machine explores a model — inference, inpainting and the whole
//! stroke → top-5 round, as a table or JSON.

use std::io::Write;
use std::path::{Path, PathBuf};

use unsee::bench::{self, StrokeBench, Timing};
use unsee::classify::ClassifyPipeline;
use unsee::classify::Inference;
use unsee::gpu::timer::GpuTimer;
use unsee::gpu::{GpuContext, GpuOptions, texture};
use unsee::inpaint::{InpaintParams, Inpainter, Method};
use unsee::models::{ModelKind, Preset};
use unsee::passes::PatchMatchCache;

use crate::cli::BenchArgs;

#[derive(serde::Serialize)]
struct Report {
    adapter: String,
    results: Vec<Timing>,
}

/// Runs every case, with a progress line on stderr, then prints the table or JSON.
pub fn run(args: BenchArgs, gpu_options: GpuOptions, models: PathBuf) -> anyhow::Result<()> {
    if let Some(dir) = &args.save_inputs {
        unsee::output::create_folder(dir)?;
    }
    let gpu = GpuContext::headless(&gpu_options)?;
    let timer = GpuTimer::new(&gpu.device, &gpu.queue);
    // --quick changes the default run count; an explicit --runs still wins.
    let (warmup, default_runs) = if args.quick { (1, 5) } else { (3, 30) };
    let n = args.runs.unwrap_or(default_runs);
    let sizes: &[u32] = if args.quick {
        &[227, 512]
    } else {
        &[227, 512, 1024]
    };
    let kinds: Vec<ModelKind> = args.model.map_or(ModelKind::ALL.to_vec(), |m| vec![m]);
    let inpainter = Inpainter::new(&gpu.device)?;
    let total = kinds.len() * 3 + sizes.len() * 3 + 1;
    let mut results = Vec::new();
    let photo512 = bench::photo(&models, 512)?;
    let image512 = texture::upload_rgba(&gpu.device, &gpu.queue, &photo512, "bench.photo")?;
    let mut pipelines = Vec::new();
    for &kind in &kinds {
        let name = format!("{}/infer", kind.name());
        progress(results.len(), total, &name);
        let pipeline = ClassifyPipeline::new(&gpu, kind, Preset::Default, &models)?;
        results.push(bench::time_case(&name, warmup, n, || {
            bench::classify_once(&gpu, &pipeline, &image512, timer.as_ref())
        })?);
        pipelines.push(pipeline);

        // The same model on burn's CPU backend (what a machine without a GPU uses).
        let name = format!("{}/infer-cpu", kind.name());
        progress(results.len(), total, &name);
        let cpu = ClassifyPipeline::with_inference(&gpu, kind, Preset::Default, &models, false)?;
        let photo = bench::photo(&models, 512)?;
        results.push(bench::time_case(&name, warmup, n, || {
            unsee::classify::read_probabilities(
                &gpu,
                cpu.forward(cpu.input_from_image(&photo)).logits,
            )
            .map(|_| None)
        })?);
    }

    for &size in sizes {
        let name = format!("telea/{size}");
        progress(results.len(), total, &name);
        let photo = bench::photo(&models, size)?;
        let mask = bench::stroke_mask(size, size);
        if let Some(dir) = &args.save_inputs {
            save_inputs(dir, size, &photo, &mask)?;
        }
        let image = texture::upload_rgba(&gpu.device, &gpu.queue, &photo, "bench.image")?;
        let output = texture::upload_rgba(&gpu.device, &gpu.queue, &photo, "bench.output")?;
        let mask_tex = texture::upload_mask(&gpu.device, &gpu.queue, &mask, "bench.mask");
        let case = bench::FillCase::new(&image, &mask_tex, &output, &mask)?;
        let telea = InpaintParams::default();
        let patchmatch = InpaintParams {
            method: Method::PatchMatch,
            ..InpaintParams::default()
        };
        let mut cache = PatchMatchCache::default();
        let fill = |params: &InpaintParams,
                    case: &bench::FillCase<'_>,
                    cache: &mut PatchMatchCache,
                    warm,
                    timed: bool| {
            bench::fill_once(
                &gpu,
                &inpainter,
                case,
                params,
                cache,
                warm,
                timer.as_ref().filter(|_| timed),
            )
        };
        results.push(bench::time_case(&name, warmup, n, || {
            fill(&telea, &case, &mut cache, false, true)
        })?);

        let name = format!("patchmatch/{size}");
        progress(results.len(), total, &name);
        results.push(bench::time_case(&name, warmup, n, || {
            fill(&patchmatch, &case, &mut cache, false, true)
        })?);

        // An added stroke: warm start from the fill of the standard mask (refilled, untimed,
        // before every run).
        let name = format!("patchmatch-stroke/{size}");
        progress(results.len(), total, &name);
        let added = bench::added_stroke_mask(size, size);
        let added_tex = texture::upload_mask(&gpu.device, &gpu.queue, &added, "bench.added");
        let added_case = bench::FillCase::new(&image, &added_tex, &output, &added)?;
        let state = std::cell::RefCell::new((cache, fill));
        results.push(bench::time_case_with_setup(
            &name,
            warmup,
            n,
            || {
                let (cache, fill) = &mut *state.borrow_mut();
                fill(&patchmatch, &case, cache, false, false).map(|_| ())
            },
            || {
                let (cache, fill) = &mut *state.borrow_mut();
                fill(&patchmatch, &added_case, cache, true, true)
            },
        )?);
    }

    // Stroke → answer through the real editor (as the viewer runs it), on a device of its own.
    for (kind, _) in kinds.iter().zip(&pipelines) {
        let name = format!("stroke/telea/{}", kind.name());
        progress(results.len(), total, &name);
        let mut edit = StrokeBench::new(
            GpuContext::headless(&gpu_options)?,
            &models,
            512,
            InpaintParams::default(),
            *kind,
            Inference::Gpu,
        )?;
        let mut dispatches = 0;
        let mut timing = bench::time_case(&name, warmup, n, || {
            dispatches = edit.once()?.dispatches;
            Ok(None)
        })?;
        timing.dispatches = Some(dispatches);
        results.push(timing);
    }
    // The host's share of a live job at 1024² (the GPU's work excluded).
    let name = "stroke/host/1024";
    progress(results.len(), total, name);
    let mut edit = StrokeBench::new(
        GpuContext::headless(&gpu_options)?,
        &models,
        1024,
        InpaintParams::default(),
        kinds[0],
        Inference::Gpu,
    )?;
    let mut host = Vec::with_capacity(n);
    let mut dispatches = 0;
    for i in 0..warmup + n {
        let round = edit.once()?;
        if i >= warmup {
            host.push(round.host_ms);
            dispatches = round.dispatches;
        }
    }
    let (median_ms, p95_ms) = bench::percentiles(&mut host);
    results.push(Timing {
        name: name.to_owned(),
        median_ms,
        p95_ms,
        gpu_median_ms: None,
        dispatches: Some(dispatches),
        n,
    });
    eprintln!("\r{:<40}", "");

    let report = Report {
        adapter: gpu.adapter_name(),
        results,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "adapter: {}{}",
            report.adapter,
            if gpu.software { " (software)" } else { "" }
        );
        outln!(
            "{:<28} {:>10} {:>10} {:>10} {:>5} {:>10}",
            "case",
            "median ms",
            "p95 ms",
            "GPU ms",
            "n",
            "dispatches"
        );
        for r in &report.results {
            let g = r
                .gpu_median_ms
                .map_or("-".to_owned(), |g| format!("{g:.3}"));
            outln!(
                "{:<28} {:>10.3} {:>10.3} {:>10} {:>5} {:>10}",
                r.name,
                r.median_ms,
                r.p95_ms,
                g,
                r.n,
                r.dispatches.map_or(String::new(), |d| d.to_string())
            );
        }
    }
    Ok(())
}

fn save_inputs(
    dir: &Path,
    size: u32,
    photo: &image::RgbaImage,
    mask: &image::GrayImage,
) -> anyhow::Result<()> {
    unsee::output::create_folder(dir)?;
    let write =
        |name: String, img: image::DynamicImage| unsee::output::write_image(&dir.join(name), &img);
    write(format!("photo_{size}.png"), photo.clone().into())?;
    write(format!("mask_{size}.png"), mask.clone().into())?;
    Ok(())
}

fn progress(done: usize, total: usize, name: &str) {
    eprint!("\r[{}/{total}] {name:<28}", done + 1);
    let _ = std::io::stderr().flush();
}
