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

/// Runs every case (or `--only` some, or `--layers`), with a progress line on stderr, then prints
/// the table or JSON.
pub fn run(args: BenchArgs, gpu_options: GpuOptions, models: PathBuf) -> anyhow::Result<()> {
    if let Some(dir) = &args.save_inputs {
        unsee::output::create_folder(dir)?;
    }
    let gpu = GpuContext::headless(&gpu_options)?;
    // --quick changes the default run count; an explicit --runs still wins.
    let (warmup, default_runs) = if args.quick { (1, 5) } else { (3, 30) };
    let n = args.runs.unwrap_or(default_runs);
    let kinds: Vec<ModelKind> = args.model.map_or(ModelKind::ALL.to_vec(), |m| vec![m]);
    if args.layers {
        return layers(&args, &gpu, &kinds, &models, warmup, n);
    }
    let timer = GpuTimer::new(&gpu.device, &gpu.queue);
    let sizes: &[u32] = if args.quick {
        &[227, 512]
    } else {
        &[227, 512, 1024]
    };
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| name.contains(o));
    let inpainter = Inpainter::new(&gpu.device)?;
    let total = case_names(&kinds, sizes)
        .iter()
        .filter(|c| wanted(c))
        .count();
    let mut results = Vec::new();
    let photo512 = bench::photo(&models, 512)?;
    let image512 = texture::upload_rgba(&gpu.device, &gpu.queue, &photo512, "bench.photo")?;
    let mut pipelines = Vec::new();
    for &kind in &kinds {
        let name = format!("{}/infer", kind.name());
        let stroke = format!("stroke/telea/{}", kind.name());
        if wanted(&name) || wanted(&stroke) {
            let pipeline = ClassifyPipeline::new(&gpu, kind, Preset::Default, &models)?;
            if wanted(&name) {
                progress(results.len(), total, &name);
                results.push(bench::time_case(&name, warmup, n, || {
                    bench::classify_once(&gpu, &pipeline, &image512, timer.as_ref())
                })?);
            }
            pipelines.push((kind, pipeline));
        }

        // The same model on burn's CPU backend (what a machine without a GPU uses).
        let name = format!("{}/infer-cpu", kind.name());
        if wanted(&name) {
            progress(results.len(), total, &name);
            let cpu =
                ClassifyPipeline::with_inference(&gpu, kind, Preset::Default, &models, false)?;
            let photo = bench::photo(&models, 512)?;
            results.push(bench::time_case(&name, warmup, n, || {
                unsee::classify::read_probabilities(&gpu, cpu.forward_image(&photo).logits)
                    .map(|_| None)
            })?);
        }
        // The forward pass alone, from the prepared input tensor: the work onnxruntime's
        // `session.run` does (infer-cpu also preprocesses the 512² photo).
        let name = format!("{}/forward-cpu", kind.name());
        if wanted(&name) {
            progress(results.len(), total, &name);
            let cpu =
                ClassifyPipeline::with_inference(&gpu, kind, Preset::Default, &models, false)?;
            let input = cpu.input_from_image(&bench::photo(&models, 512)?);
            results.push(bench::time_case(&name, warmup, n, || {
                unsee::classify::read_probabilities(&gpu, cpu.forward(input.clone()).logits)
                    .map(|_| None)
            })?);
        }
    }

    for &size in sizes {
        let name = format!("telea/{size}");
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
        // Each fill case reports its dispatch count too: on a real GPU a Telea chain's time
        // follows its dispatches (GPU ms / dispatches = the cost of one step).
        let dispatches_of = |run: &mut dyn FnMut() -> anyhow::Result<()>| -> anyhow::Result<u64> {
            let before = unsee::passes::dispatches();
            run()?;
            Ok(unsee::passes::dispatches() - before)
        };
        if wanted(&name) {
            progress(results.len(), total, &name);
            let mut timing = bench::time_case(&name, warmup, n, || {
                fill(&telea, &case, &mut cache, false, true)
            })?;
            timing.dispatches = Some(dispatches_of(&mut || {
                fill(&telea, &case, &mut cache, false, false)?;
                Ok(())
            })?);
            results.push(timing);
        }

        // The sequential CPU fill the software path uses, on the same photo and mask.
        let name = format!("telea-cpu/{size}");
        if wanted(&name) {
            progress(results.len(), total, &name);
            let radius = InpaintParams::default().telea.radius;
            results.push(bench::time_case(&name, warmup, n, || {
                unsee::cpu::telea::telea(&photo, &mask, radius).map(|_| None)
            })?);
        }

        let name = format!("patchmatch/{size}");
        if wanted(&name) {
            progress(results.len(), total, &name);
            let mut timing = bench::time_case(&name, warmup, n, || {
                fill(&patchmatch, &case, &mut cache, false, true)
            })?;
            timing.dispatches = Some(dispatches_of(&mut || {
                fill(&patchmatch, &case, &mut cache, false, false)?;
                Ok(())
            })?);
            results.push(timing);
        }

        // An added stroke: warm start from the fill of the standard mask (refilled, untimed,
        // before every run).
        let name = format!("patchmatch-stroke/{size}");
        if !wanted(&name) {
            continue;
        }
        progress(results.len(), total, &name);
        let added = bench::added_stroke_mask(size, size);
        let added_tex = texture::upload_mask(&gpu.device, &gpu.queue, &added, "bench.added");
        let added_case = bench::FillCase::new(&image, &added_tex, &output, &added)?;
        let state = std::cell::RefCell::new((cache, fill));
        let mut timing = bench::time_case_with_setup(
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
        )?;
        // The warm-started fill's own dispatches (its set-up fill, untimed, not counted).
        let (cache, fill) = &mut *state.borrow_mut();
        fill(&patchmatch, &case, cache, false, false)?;
        timing.dispatches = Some(dispatches_of(&mut || {
            fill(&patchmatch, &added_case, cache, true, false)?;
            Ok(())
        })?);
        results.push(timing);
    }

    // Stroke → answer through the real editor (as the viewer runs it), on a device of its own.
    for kind in &kinds {
        let name = format!("stroke/telea/{}", kind.name());
        if !wanted(&name) {
            continue;
        }
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
    // One deletion curve of `unsee evaluate` (20 steps at 224²), on the GPU and on the CPU.
    for (name, on_gpu) in [(DELETION_GPU, true), (DELETION_CPU, false)] {
        if !wanted(name) {
            continue;
        }
        progress(results.len(), total, name);
        let pipeline = ClassifyPipeline::with_inference(
            &gpu,
            ModelKind::MobileNetV2,
            Preset::Default,
            &models,
            on_gpu,
        )?;
        let curve = bench::DeletionBench::new(&gpu, &pipeline, &models)?;
        let mut dispatches = 0;
        let mut timing = bench::time_case(name, warmup, n, || {
            dispatches = curve.once(&gpu, &inpainter, &pipeline)?;
            Ok(None)
        })?;
        // The CPU path fills on the CPU: no dispatches of ours.
        timing.dispatches = on_gpu.then_some(dispatches);
        results.push(timing);
    }
    // The host's share of a live job at 1024² (the GPU's work excluded).
    let name = HOST_CASE;
    if wanted(name) {
        progress(results.len(), total, name);
        results.push(host_case(&gpu_options, &models, kinds[0], warmup, n)?);
    }
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

/// Every case name, in run order (for the progress count).
fn case_names(kinds: &[ModelKind], sizes: &[u32]) -> Vec<String> {
    let mut names = Vec::new();
    for kind in kinds {
        names.push(format!("{}/infer", kind.name()));
        names.push(format!("{}/infer-cpu", kind.name()));
        names.push(format!("{}/forward-cpu", kind.name()));
    }
    for size in sizes {
        for case in ["telea", "telea-cpu", "patchmatch", "patchmatch-stroke"] {
            names.push(format!("{case}/{size}"));
        }
    }
    for kind in kinds {
        names.push(format!("stroke/telea/{}", kind.name()));
    }
    names.extend([DELETION_GPU, DELETION_CPU].map(str::to_owned));
    names.push(HOST_CASE.to_owned());
    names
}

/// A 20-step deletion curve at 224² (MobileNetV2), GPU inference and fills.
const DELETION_GPU: &str = "deletion/mobilenet";
/// The same with CPU inference and fills.
const DELETION_CPU: &str = "deletion-cpu/mobilenet";

/// The host's share of a live job.
const HOST_CASE: &str = "stroke/host/1024";

/// The CPU time the host spends per live job at 1024² (recording the mask, the fill and the
/// classification; the GPU's work is waited for outside the timing), through the real editor.
fn host_case(
    gpu_options: &GpuOptions,
    models: &Path,
    kind: ModelKind,
    warmup: usize,
    n: usize,
) -> anyhow::Result<Timing> {
    let mut edit = StrokeBench::new(
        GpuContext::headless(gpu_options)?,
        models,
        1024,
        InpaintParams::default(),
        kind,
        Inference::Gpu,
    )?;
    let (mut host, mut frame) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut phases: [Vec<f64>; 6] = Default::default();
    let mut total = Vec::with_capacity(n);
    let mut dispatches = 0;
    for i in 0..warmup + n {
        let round = edit.once()?;
        if i >= warmup {
            host.push(round.host_ms);
            frame.push(round.frame_ms);
            dispatches = round.dispatches;
            let p = round.phases;
            // The frame's whole update plus the live lane's share of the job.
            total.push(round.host_ms + p.plan + p.fill + p.classify + p.readback);
            for (v, x) in phases
                .iter_mut()
                .zip([p.paint, p.handoff, p.plan, p.fill, p.classify, p.readback])
            {
                v.push(x);
            }
        }
    }
    let (median_ms, p95_ms) = bench::percentiles(&mut host);
    let (frame_ms, _) = bench::percentiles(&mut frame);
    let (total_ms, _) = bench::percentiles(&mut total);
    let [paint, handoff, plan, fill, classify, readback] =
        phases.map(|mut v| bench::percentiles(&mut v).0);
    let host_phases = unsee::host_clock::HostPhases {
        paint,
        handoff,
        plan,
        fill,
        classify,
        readback,
    };
    eprintln!(
        "\r{HOST_CASE}: the frame that starts a job took {median_ms:.2} ms of its thread's CPU \
         time ({frame_ms:.1} ms wall; paint {paint:.2}, hand-off {handoff:.2}); the live lane \
         recorded it in plan {plan:.2}, fill {fill:.2}, classify {classify:.2}, readback \
         {readback:.2} ms; host CPU per job, both threads: {total_ms:.2} ms (medians)"
    );
    Ok(Timing {
        name: HOST_CASE.to_owned(),
        median_ms,
        p95_ms,
        gpu_median_ms: None,
        dispatches: Some(dispatches),
        host_phases: Some(host_phases),
        n,
    })
}

#[derive(serde::Serialize)]
struct LayersReport {
    adapter: String,
    models: Vec<bench::LayerProfile>,
}

/// `--layers`: each model's per-layer times on burn's CPU backend.
fn layers(
    args: &BenchArgs,
    gpu: &GpuContext,
    kinds: &[ModelKind],
    models: &Path,
    warmup: usize,
    n: usize,
) -> anyhow::Result<()> {
    let photo = bench::photo(models, 512)?;
    let mut profiles = Vec::new();
    for &kind in kinds {
        let cpu = ClassifyPipeline::with_inference(gpu, kind, Preset::Default, models, false)?;
        // The modules' own forward passes (what the GPU runs) against the CPU lowering.
        progress(
            profiles.len(),
            2 * kinds.len(),
            &format!("{}/layers", kind.name()),
        );
        profiles.extend(bench::layer_profiles(
            gpu,
            &cpu,
            &photo,
            &[false, true],
            warmup,
            n,
        )?);
    }
    eprintln!("\r{:<40}", "");
    if args.json {
        let report = LayersReport {
            adapter: gpu.adapter_name(),
            models: profiles,
        };
        outln!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for p in &profiles {
        outln!(
            "{} on burn's CPU backend ({}), {} threads, 512² photo, median of {} runs: {:.3} ms",
            p.model,
            if p.lowered {
                "lowered layers"
            } else {
                "modules' forward"
            },
            p.threads,
            p.n,
            p.total_ms
        );
        outln!("{:<24} {:>10} {:>7}", "stage", "median ms", "share");
        for s in &p.stages {
            outln!(
                "{:<24} {:>10.3} {:>6.1}%",
                s.name,
                s.median_ms,
                100.0 * s.median_ms / p.total_ms.max(1e-9)
            );
        }
        outln!();
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
