//! Criterion benches over the same code as `unsee bench`: Telea (GPU and the CPU reference) and
//! classification, on whatever adapter the machine has. `UNSEE_BENCH_QUICK=1` keeps to 227².

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use unsee::bench;
use unsee::classify::ClassifyPipeline;
use unsee::gpu::{GpuContext, GpuOptions, texture};
use unsee::inpaint::{InpaintParams, Inpainter};
use unsee::models::{ModelKind, Preset, locate};
use unsee::passes::PatchMatchCache;

fn sizes() -> &'static [u32] {
    if std::env::var_os("UNSEE_BENCH_QUICK").is_some() {
        &[227]
    } else {
        &[227, 512, 1024]
    }
}

fn benches(c: &mut Criterion) {
    let gpu = GpuContext::headless(&GpuOptions::from_arg(None)).expect("a GPU adapter");
    let models = locate(None).dir;
    let inpainter = Inpainter::new(&gpu.device).expect("Telea pipelines");

    let mut group = c.benchmark_group("telea");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for &size in sizes() {
        let photo = bench::photo(&models, size).expect("bench photo");
        let mask = bench::stroke_mask(size, size);
        let image = texture::upload_rgba(&gpu.device, &gpu.queue, &photo, "bench.image").unwrap();
        let output = texture::upload_rgba(&gpu.device, &gpu.queue, &photo, "bench.output").unwrap();
        let mask_tex = texture::upload_mask(&gpu.device, &gpu.queue, &mask, "bench.mask");
        let case = bench::FillCase::new(&image, &mask_tex, &output, &mask).expect("non-empty mask");
        let mut cache = PatchMatchCache::default();
        group.throughput(Throughput::Elements(u64::from(size * size)));
        group.bench_function(format!("gpu/{size}"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    bench::fill_once(
                        &gpu,
                        &inpainter,
                        &case,
                        &InpaintParams::default(),
                        &mut cache,
                        false,
                        None,
                    )
                    .unwrap();
                }
                start.elapsed()
            })
        });
        group.bench_function(format!("cpu/{size}"), |b| {
            b.iter(|| unsee::cpu::telea::telea(&photo, &mask, 5).unwrap())
        });
    }
    group.finish();

    // The host's planning of a live job's fill: the hole's box and depth, and PatchMatch's
    // pyramid levels, on the standard strokes plus the next one.
    let mut group = c.benchmark_group("plan");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    for &size in sizes() {
        let mask = bench::added_stroke_mask(size, size);
        group.bench_function(format!("hole/{size}"), |b| {
            b.iter(|| unsee::plan::HoleBounds::from_mask(&mask))
        });
        let depth = unsee::plan::HoleBounds::from_mask(&mask).map_or(1, |h| h.depth);
        let params = unsee::plan::PatchMatchParams::default();
        group.bench_function(format!("levels/{size}"), |b| {
            b.iter(|| unsee::plan::patchmatch::plan_levels(&mask, depth, &params).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("classify");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let photo = bench::photo(&models, 512).expect("bench photo");
    let image = texture::upload_rgba(&gpu.device, &gpu.queue, &photo, "bench.photo").unwrap();
    for kind in ModelKind::ALL {
        let pipeline = ClassifyPipeline::new(&gpu, kind, Preset::Default, &models).unwrap();
        group.bench_function(kind.name(), |b| {
            b.iter(|| bench::classify_once(&gpu, &pipeline, &image, None).unwrap())
        });
    }
    group.finish();
}

criterion_group!(unsee_benches, benches);
criterion_main!(unsee_benches);
