//! Benchmarks shared by `unsee bench` and the criterion benches: inputs (a photo at a given size,
//! the standard stroke mask), and one timed case per stage of the pipeline.

use std::time::Instant;

use image::{GrayImage, RgbaImage};

use crate::classify::{ClassifyPipeline, read_probabilities};
use crate::gpu::{GpuContext, burn_buffer, timer::GpuTimer};
use crate::inpaint::{InpaintParams, Inpainter};
use crate::models::probe::Probe;
use crate::passes::{HoleBounds, PatchMatchCache};
use crate::{Result, image_io};

/// The standard stroke mask at `w` x `h`: three round-capped brush strokes, width 1/32 of the
/// shorter side, about 5% of the pixels (the kind of edit a user makes to erase an object).
pub fn stroke_mask(w: u32, h: u32) -> GrayImage {
    let strokes: [&[(f32, f32)]; 3] = [
        &[(0.20, 0.30), (0.40, 0.42), (0.62, 0.36), (0.78, 0.48)],
        &[(0.30, 0.70), (0.50, 0.62), (0.70, 0.78)],
        &[(0.48, 0.15), (0.52, 0.55)],
    ];
    let radius = w.min(h) as f32 / 64.0;
    let mut mask = GrayImage::new(w, h);
    for stroke in strokes {
        let pts: Vec<(f32, f32)> = stroke
            .iter()
            .map(|&(x, y)| (x * w as f32, y * h as f32))
            .collect();
        for seg in pts.windows(2) {
            crate::cpu::paint::paint_segment(&mut mask, seg[0], seg[1], radius, true);
        }
    }
    mask
}

/// The bench photo (the bundled dog.jpg) squashed to `size` x `size`.
pub fn photo(models_dir: &std::path::Path, size: u32) -> Result<RgbaImage> {
    let img = image_io::load_image(&models_dir.join("gallery/dog.jpg"))?;
    Ok(image::imageops::resize(
        &img,
        size,
        size,
        image::imageops::FilterType::Triangle,
    ))
}

/// Summary of repeated timings.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Timing {
    /// Case name, e.g. `telea/512`.
    pub name: String,
    /// Median wall time (submit to result), ms.
    pub median_ms: f64,
    /// 95th percentile wall time, ms.
    pub p95_ms: f64,
    /// Median GPU time from timestamp queries, ms, where the adapter has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_median_ms: Option<f64>,
    /// Our passes' GPU dispatches per run, for the stroke cases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatches: Option<u64>,
    /// For `stroke/host/*`: the median host time of each phase of the job, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_phases: Option<crate::host_clock::HostPhases>,
    /// Timed runs (after warm-up).
    pub n: usize,
}

/// Median and 95th percentile of `samples` (sorted in place).
pub fn percentiles(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95))
}

/// Runs `run` `warmup + n` times; `run` returns its GPU time if it measured one.
pub fn time_case(
    name: &str,
    warmup: usize,
    n: usize,
    run: impl FnMut() -> Result<Option<f64>>,
) -> Result<Timing> {
    time_case_with_setup(name, warmup, n, || Ok(()), run)
}

/// Like [`time_case`], running the untimed `setup` before each run.
pub fn time_case_with_setup(
    name: &str,
    warmup: usize,
    n: usize,
    mut setup: impl FnMut() -> Result<()>,
    mut run: impl FnMut() -> Result<Option<f64>>,
) -> Result<Timing> {
    for _ in 0..warmup {
        setup()?;
        run()?;
    }
    let mut wall = Vec::with_capacity(n);
    let mut gpu = Vec::with_capacity(n);
    for _ in 0..n {
        setup()?;
        let start = Instant::now();
        let g = run()?;
        wall.push(start.elapsed().as_secs_f64() * 1e3);
        gpu.extend(g);
    }
    let (median_ms, p95_ms) = percentiles(&mut wall);
    let gpu_median_ms = (!gpu.is_empty()).then(|| percentiles(&mut gpu).0);
    Ok(Timing {
        name: name.to_owned(),
        median_ms,
        p95_ms,
        gpu_median_ms,
        dispatches: None,
        host_phases: None,
        n,
    })
}

/// One classification from a texture already on the GPU: preprocessing, forward pass, softmax and
/// the 4 KB readback. Returns the GPU time when `timer` is given.
pub fn classify_once(
    gpu: &GpuContext,
    pipeline: &ClassifyPipeline,
    image: &wgpu::Texture,
    timer: Option<&GpuTimer>,
) -> Result<Option<f64>> {
    if let Some(t) = timer {
        t.start(&gpu.device, &gpu.queue);
    }
    let input = pipeline.input_from_texture(gpu, image)?;
    let logits = pipeline.forward(input).logits;
    if let Some(t) = timer {
        burn_buffer::flush(&logits)?;
        t.stop(&gpu.device, &gpu.queue);
    }
    read_probabilities(gpu, logits)?;
    timer
        .map(|t| t.read_ms(&gpu.device, &gpu.queue))
        .transpose()
}

/// The inputs of a timed fill: textures already on the GPU, and the mask with its bounds planned
/// once (outside the timed region).
pub struct FillCase<'a> {
    /// The photo.
    pub image: &'a wgpu::Texture,
    /// The mask, on the GPU.
    pub mask_texture: &'a wgpu::Texture,
    /// Where the fill goes (holds the photo outside the hole).
    pub output: &'a wgpu::Texture,
    /// The mask, on the CPU (plans PatchMatch's pyramid).
    pub mask: &'a GrayImage,
    /// The hole's bounds.
    pub hole: HoleBounds,
}

impl<'a> FillCase<'a> {
    /// A case for `mask`; errors on an empty mask.
    pub fn new(
        image: &'a wgpu::Texture,
        mask_texture: &'a wgpu::Texture,
        output: &'a wgpu::Texture,
        mask: &'a GrayImage,
    ) -> Result<Self> {
        let hole = HoleBounds::from_mask(mask)
            .ok_or_else(|| crate::Error::Invalid("the bench mask is empty".into()))?;
        Ok(Self {
            image,
            mask_texture,
            output,
            mask,
            hole,
        })
    }
}

/// One fill (Telea, or PatchMatch fresh or warm-started from `cache`), waited for; returns the GPU
/// time when `timer` is given.
pub fn fill_once(
    gpu: &GpuContext,
    inpainter: &Inpainter,
    case: &FillCase<'_>,
    params: &InpaintParams,
    cache: &mut PatchMatchCache,
    warm: bool,
    timer: Option<&GpuTimer>,
) -> Result<Option<f64>> {
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    if let Some(t) = timer {
        t.start(&gpu.device, &gpu.queue);
    }
    inpainter.encode(
        &gpu.device,
        &mut encoder,
        case.image,
        case.mask_texture,
        case.output,
        case.mask,
        &case.hole,
        params,
        cache,
        warm,
    )?;
    gpu.queue.submit([encoder.finish()]);
    if let Some(t) = timer {
        t.stop(&gpu.device, &gpu.queue);
        return t.read_ms(&gpu.device, &gpu.queue).map(Some);
    }
    gpu.wait_idle()?;
    Ok(None)
}

/// The standard stroke mask plus one more stroke (what a user adds next), for warm starts.
pub fn added_stroke_mask(w: u32, h: u32) -> GrayImage {
    let mut mask = stroke_mask(w, h);
    let radius = w.min(h) as f32 / 64.0;
    let (fw, fh) = (w as f32, h as f32);
    crate::cpu::paint::paint_segment(
        &mut mask,
        (0.25 * fw, 0.85 * fh),
        (0.45 * fw, 0.88 * fh),
        radius,
        true,
    );
    mask
}

/// Median time of one stage of a forward pass.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StageTiming {
    /// Stage name, e.g. `fire2.expand` or `block3.depthwise`.
    pub name: String,
    /// Median wall time, ms.
    pub median_ms: f64,
}

/// Per-layer profile of one model on the pipeline's backend: CPU preprocessing of `photo`, every
/// stage of the forward pass (see [`crate::models::probe`]), softmax and the readback.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LayerProfile {
    /// Model name.
    pub model: String,
    /// Whether the CPU lowering ran ([`crate::models::cpu_layers`]), else the modules' own forward.
    pub lowered: bool,
    /// Threads of the pool flex runs on.
    pub threads: usize,
    /// Stages in execution order.
    pub stages: Vec<StageTiming>,
    /// Median of the whole round (the sum of its stages), ms.
    pub total_ms: f64,
    /// Timed runs (after warm-up).
    pub n: usize,
}

/// Profiles `pipeline` layer by layer on `photo`, once per entry of `lowered` (the CPU lowering on
/// or off, see [`crate::models::cpu_layers`]): `warmup + n` rounds, the variants interleaved round
/// by round so that both see the same machine load; medians per stage.
pub fn layer_profiles(
    gpu: &GpuContext,
    pipeline: &ClassifyPipeline,
    photo: &RgbaImage,
    lowered: &[bool],
    warmup: usize,
    n: usize,
) -> Result<Vec<LayerProfile>> {
    use crate::models::cpu_layers;
    let before = cpu_layers::is_lowered();
    let mut runs: Vec<Vec<Vec<(String, f64)>>> = vec![Vec::with_capacity(n); lowered.len()];
    for i in 0..warmup + n {
        for (v, &on) in lowered.iter().enumerate() {
            cpu_layers::set_lowered(on);
            let mut timer = crate::models::probe::LayerTimer::new();
            let input = pipeline.input_from_image(photo);
            timer.stage(&"preprocess", &input);
            let logits = pipeline.forward_probed(input, &mut timer).logits;
            let start = Instant::now();
            read_probabilities(gpu, logits)?;
            timer
                .stages
                .push(("softmax+read".into(), start.elapsed().as_secs_f64() * 1e3));
            if i >= warmup {
                runs[v].push(timer.stages);
            }
        }
    }
    cpu_layers::set_lowered(before);
    Ok(lowered
        .iter()
        .zip(runs)
        .map(|(&on, runs)| summarise(pipeline.kind.name(), on, &runs))
        .collect())
}

/// Medians per stage and of the totals.
fn summarise(model: &str, lowered: bool, runs: &[Vec<(String, f64)>]) -> LayerProfile {
    let mut totals: Vec<f64> = runs
        .iter()
        .map(|r| r.iter().map(|(_, ms)| ms).sum())
        .collect();
    let stages = runs
        .first()
        .map(|first| {
            (0..first.len())
                .map(|s| {
                    let mut ms: Vec<f64> = runs.iter().map(|r| r[s].1).collect();
                    StageTiming {
                        name: first[s].0.clone(),
                        median_ms: percentiles(&mut ms).0,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    LayerProfile {
        model: model.to_owned(),
        lowered,
        threads: crate::models::cpu_layers::threads(),
        stages,
        total_ms: if totals.is_empty() {
            0.0
        } else {
            percentiles(&mut totals).0
        },
        n: runs.len(),
    }
}

/// The standard strokes (those of [`stroke_mask`]) as brush strokes at `w` x `h`, plus the one
/// a user adds next ([`added_stroke_mask`]'s).
pub fn standard_strokes(w: u32, h: u32) -> (Vec<crate::editor::Stroke>, crate::editor::Stroke) {
    let lines: [&[(f32, f32)]; 3] = [
        &[(0.20, 0.30), (0.40, 0.42), (0.62, 0.36), (0.78, 0.48)],
        &[(0.30, 0.70), (0.50, 0.62), (0.70, 0.78)],
        &[(0.48, 0.15), (0.52, 0.55)],
    ];
    let radius = w.min(h) as f32 / 64.0;
    let stroke = |pts: &[(f32, f32)]| crate::editor::Stroke {
        restore: false,
        radius,
        points: pts
            .iter()
            .map(|&(x, y)| (x * w as f32, y * h as f32))
            .collect(),
        runs: Vec::new(),
        op: None,
    };
    (
        lines.iter().map(|l| stroke(l)).collect(),
        stroke(&[(0.25, 0.85), (0.45, 0.88)]),
    )
}

/// What one live stroke → answer round cost.
#[derive(Clone, Copy, Debug)]
pub struct StrokeRound {
    /// CPU time of the frame that makes the edit and starts the job (the CPU mask, painting the
    /// GPU mask, copying it in queue order, handing the job to the live lane, composing the
    /// pictures), ms: the thread's CPU time where the OS reports it, so that waiting on the GPU
    /// is excluded (wall time elsewhere). The live lane's share (planning, recording the fill and
    /// the classification) is in `phases`.
    pub host_ms: f64,
    /// Wall time of that frame, ms (includes any wait on the GPU inside it).
    pub frame_ms: f64,
    /// Our passes' GPU dispatches in the round (burn's kernels not counted).
    pub dispatches: u64,
    /// Where the host's time went, by phase of the job (the frame's and the live lane's).
    pub phases: crate::host_clock::HostPhases,
}

/// A live edit driven through the real editor, as the viewer drives it: the standard strokes on
/// the bench photo; each round adds the next stroke or takes it back (undo), alternately, so
/// every round answers a new state.
pub struct StrokeBench {
    engine: crate::engine::Engine,
    editor: crate::editor::Editor,
    settings: crate::editor::ViewSettings,
    added: crate::editor::Stroke,
    rounds: u64,
}

impl StrokeBench {
    /// The edit at `size` x `size` on its own device, filled with `params`, classified by
    /// `model` where `inference` says.
    pub fn new(
        gpu: GpuContext,
        models_dir: &std::path::Path,
        size: u32,
        params: InpaintParams,
        model: crate::models::ModelKind,
        inference: crate::classify::Inference,
    ) -> Result<Self> {
        let mut engine =
            crate::engine::Engine::with_inference(gpu, models_dir.to_owned(), inference)?;
        let mut editor = crate::editor::Editor::new(&engine, &photo(models_dir, size)?)?;
        let settings = crate::editor::ViewSettings {
            model,
            inpaint: params,
            ..Default::default()
        };
        let (strokes, added) = standard_strokes(size, size);
        for s in strokes {
            editor.push_stroke(s);
        }
        editor.settle(&mut engine, &settings)?;
        Ok(Self {
            engine,
            editor,
            settings,
            added,
            rounds: 0,
        })
    }

    /// One round: the edit changes and one frame's `Editor::update` starts the job (timed: the
    /// frame thread's share), then the answer is waited for (untimed here; the caller's wall
    /// time includes it).
    pub fn once(&mut self) -> Result<StrokeRound> {
        self.rounds += 1;
        let dispatches = crate::passes::dispatches();
        let mut host = crate::host_clock::Lap::start();
        let start = Instant::now();
        if self.rounds % 2 == 1 {
            self.editor.push_stroke(self.added.clone());
        } else {
            self.editor.undo();
        }
        self.editor.update(&mut self.engine, &self.settings)?;
        let host_ms = host.lap();
        let frame_ms = start.elapsed().as_secs_f64() * 1e3;
        self.editor.settle(&mut self.engine, &self.settings)?;
        Ok(StrokeRound {
            host_ms,
            frame_ms,
            dispatches: crate::passes::dispatches() - dispatches,
            phases: self.editor.stats.host,
        })
    }
}

/// One deletion curve of `evaluate`: 20 steps of the CAM's order on the bench photo squashed to
/// MobileNetV2's 224², each step filled (Telea) and all 21 classified in one batch.
pub struct DeletionBench {
    eraser: crate::explain::variants::Eraser,
    masks: Vec<image::GrayImage>,
}

/// Steps of the bench's deletion curve (the figure is for 20).
pub const DELETION_STEPS: u32 = 20;

impl DeletionBench {
    /// Prepares the masks (untimed: the map and its order are the explanation's, not the curve's).
    pub fn new(
        gpu: &GpuContext,
        pipeline: &crate::classify::ClassifyPipeline,
        models: &std::path::Path,
    ) -> Result<Self> {
        use crate::explain::{curves, evaluate};
        let view = evaluate::model_view(pipeline, &photo(models, 512)?);
        let class = pipeline.classify_image(gpu, &view, 1)?[0].index;
        let map = crate::explain::cam_map(gpu, pipeline, &view, class)?;
        let size = view.dimensions();
        let place =
            crate::models::receptive::Placement::receptive(pipeline.kind, pipeline.spec.size, size);
        let order = curves::order_by_map(&map, &place, size);
        let masks = curves::masks(&order, size, DELETION_STEPS, curves::Direction::Deletion);
        Ok(Self {
            eraser: crate::explain::variants::Eraser::new(gpu, pipeline, &view)?,
            masks,
        })
    }

    /// One curve: every step filled and classified, the probabilities read back. Returns our
    /// passes' dispatches (the fills' and preprocessing's; burn's kernels are not counted).
    pub fn once(
        &self,
        gpu: &GpuContext,
        inpainter: &crate::inpaint::Inpainter,
        pipeline: &crate::classify::ClassifyPipeline,
    ) -> Result<u64> {
        let before = crate::passes::dispatches();
        let probs = self.eraser.probabilities(
            gpu,
            inpainter,
            pipeline,
            &self.masks,
            &crate::inpaint::InpaintParams::default(),
        )?;
        debug_assert_eq!(probs.len(), DELETION_STEPS as usize + 1);
        Ok(crate::passes::dispatches() - before)
    }
}
