//! Command-line arguments. No logic here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use unsee::classify::Inference;
use unsee::explain::Score;
use unsee::inpaint::Method;
use unsee::limits::{self, clap_range};
use unsee::models::{ModelKind, Preset};

/// Find out what an image classifier looks at by erasing parts of a photo.
#[derive(Parser, Debug)]
#[command(name = "unsee", version, about)]
pub struct Args {
    /// Use the GPU adapter whose name contains this (also: UNSEE_ADAPTER).
    #[arg(long, global = true)]
    pub adapter: Option<String>,
    /// Folder with the weights and labels (also: UNSEE_MODELS; else models/ beside the executable,
    /// else the source tree's models/). Every file is read from this one folder.
    #[arg(long, global = true)]
    pub models: Option<PathBuf>,
    /// Where the classifiers run: auto = the GPU, or the CPU when the only adapter is a software
    /// rasterizer.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub inference: Inference,
    /// What to do (default: open the viewer).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the viewer: paint over a photo and watch the classifier change its mind.
    View(ViewArgs),
    /// Print the top-5 classes of each image.
    Classify(ClassifyArgs),
    /// Erase the masked region of an image by inpainting, and save the result.
    Inpaint(InpaintArgs),
    /// Map where the model's evidence for a class lies (occlusion by inpainting, CAM, Grad-CAM,
    /// HiResCAM).
    Explain(ExplainArgs),
    /// How far each explanation can be trusted: deletion and insertion curves (removal by
    /// inpainting) of CAM, Grad-CAM, occlusion and a random order.
    Evaluate(EvaluateArgs),
    /// Re-run a session saved by the viewer and check it gives the recorded tables.
    Replay(ReplayArgs),
    /// Measure inference, inpainting and stroke → top-5 latency on this machine.
    Bench(BenchArgs),
    /// List the GPU adapters unsee can use, best first.
    Adapters,
}

/// How `unsee explain` maps evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainMethod {
    /// Erase windows by inpainting and map the drop in the class's score (signed).
    Occlusion,
    /// Class activation map (Zhou et al. 2016).
    Cam,
    /// Grad-CAM at --layer (Selvaraju et al. 2017).
    Gradcam,
    /// HiResCAM at --layer (Draelos & Carin 2020).
    Hirescam,
}

/// `unsee explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// Occlusion by inpainting, class activation map, Grad-CAM or HiResCAM.
    #[arg(long, value_enum, default_value = "occlusion")]
    pub method: ExplainMethod,
    /// Class: an index 0..999 or a label (default: the image's top-1).
    #[arg(long)]
    pub class: Option<String>,
    /// Which classifier.
    #[arg(long, value_enum, default_value = "squeezenet")]
    pub model: ModelKind,
    /// Grad-CAM / HiResCAM layer (default: the last convolutional one). SqueezeNet: conv1,
    /// fire2.squeeze, fire2.expand, fire3.squeeze, fire3.expand, fire4.squeeze, fire4.expand,
    /// fire5.squeeze, fire5.expand, fire6.squeeze, fire6.expand, fire7.squeeze, fire7.expand,
    /// fire8.squeeze, fire8.expand, fire9.squeeze, fire9.expand, conv10. MobileNetV2: stem,
    /// block1.depthwise, block1.project, block2.expand, block2.depthwise, block2.project,
    /// block3.expand, block3.depthwise, block3.project, block4.expand, block4.depthwise,
    /// block4.project, block5.expand, block5.depthwise, block5.project, block6.expand,
    /// block6.depthwise, block6.project, block7.expand, block7.depthwise, block7.project,
    /// block8.expand, block8.depthwise, block8.project, block9.expand, block9.depthwise,
    /// block9.project, block10.expand, block10.depthwise, block10.project, block11.expand,
    /// block11.depthwise, block11.project, block12.expand, block12.depthwise, block12.project,
    /// block13.expand, block13.depthwise, block13.project, block14.expand, block14.depthwise,
    /// block14.project, block15.expand, block15.depthwise, block15.project, block16.expand,
    /// block16.depthwise, block16.project, block17.expand, block17.depthwise, block17.project,
    /// head.
    #[arg(long)]
    pub layer: Option<String>,
    /// Occlusion window side, a fraction of the image's shorter side: 0.01..=1.
    #[arg(long, default_value_t = unsee::explain::evaluate::DEFAULT_WINDOW, value_parser = parse_fraction)]
    pub window: f32,
    /// Occlusion stride, a fraction of the shorter side (at most the window): 0.01..=1
    /// [default: 1/14].
    #[arg(long, value_parser = parse_fraction)]
    pub stride: Option<f32>,
    /// Occlusion on a grid of N x N non-overlapping cells instead of sliding windows: 2..=64.
    #[arg(long, conflicts_with_all = ["window", "stride"],
          value_parser = clap::value_parser!(u32).range(clap_range(&limits::GRID)))]
    pub grid: Option<u32>,
    /// The scale occlusion measures the drop on.
    #[arg(long, value_enum, default_value = "log-odds")]
    pub score: Score,
    /// How occlusion erases a window.
    #[arg(long, value_enum, default_value = "telea")]
    pub fill: Method,
    /// Where to write the map (the image with the map overlaid and a colour bar): .png, .jpg,
    /// .webp, .bmp or .tif.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the suggested mask (map ≥ threshold) here.
    #[arg(long)]
    pub mask_output: Option<PathBuf>,
    /// Threshold of the suggested mask, as a fraction of the map's range: 0..=1.
    #[arg(long, default_value_t = 0.6, value_parser = parse_threshold)]
    pub threshold: f32,
    /// The image.
    pub image: PathBuf,
}

/// `unsee evaluate`.
#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    /// Which classifier.
    #[arg(long, value_enum, default_value = "squeezenet")]
    pub model: ModelKind,
    /// Class: an index 0..999 or a label (default: each image's top-1).
    #[arg(long)]
    pub class: Option<String>,
    /// How pixels are removed.
    #[arg(long, value_enum, default_value = "telea")]
    pub fill: Method,
    /// Steps of each curve: 2..=200.
    #[arg(long, default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(clap_range(&limits::CURVE_STEPS)))]
    pub steps: u32,
    /// Print JSON: an array of {"image", "model", "class", "methods": [{"name", "deletion_auc",
    /// "insertion_auc"}]}.
    #[arg(long)]
    pub json: bool,
    /// Folder for the curve plots (IMAGE-STEM_MODEL_curves.png), made if missing.
    #[arg(long, default_value = "unsee-curves")]
    pub plots: PathBuf,
    /// The images.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

/// `unsee replay`.
#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The session folder (or its session.json).
    pub session: PathBuf,
    /// Write each step's modified image, mask and CAM (of the original's top class) here.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Render a figure like the paper's (original and modified with their tables) to this image
    /// (.png, .jpg, .webp, .bmp or .tif).
    #[arg(long)]
    pub figure: Option<PathBuf>,
}

/// `unsee bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Print JSON: {"adapter", "results": [{"name", "median_ms", "p95_ms", "gpu_median_ms", "n"}]}.
    #[arg(long)]
    pub json: bool,
    /// Fewer sizes, and 5 runs per case unless --runs says otherwise (a quick look, or CI).
    #[arg(long)]
    pub quick: bool,
    /// Only this model.
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,
    /// Timed runs per case (after warm-up): 1..=10000 [default: 30, or 5 with --quick].
    #[arg(long, value_parser = parse_runs)]
    pub runs: Option<usize>,
    /// Also write the bench inputs (photo_N.png, mask_N.png) here, for scripts/compare.py.
    #[arg(long)]
    pub save_inputs: Option<PathBuf>,
    /// Instead of the cases: each model's per-layer times on burn's CPU backend (preprocessing,
    /// every layer, softmax + readback), to find the bottleneck.
    #[arg(long)]
    pub layers: bool,
    /// Only the cases whose name contains one of these (comma-separated), e.g. `--only
    /// infer-cpu,telea-cpu`. Inputs are still written for every size.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
}

/// `unsee inpaint`.
#[derive(clap::Args, Debug)]
pub struct InpaintArgs {
    /// Fill method.
    #[arg(long, value_enum, default_value = "telea")]
    pub method: Method,
    /// The mask: same size as the image, white (non-zero) = erase, black = keep; in a mask with
    /// alpha, transparent pixels are kept. Use PNG (JPEG noise erases black pixels too).
    #[arg(long)]
    pub mask: PathBuf,
    /// Telea's neighbourhood radius ε in pixels: 1..=100.
    #[arg(long, default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(clap_range(&limits::TELEA_RADIUS)))]
    pub radius: u32,
    /// PatchMatch's random seed, 0..=4294967295 (the same seed gives the same fill).
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Run the CPU reference implementation instead of the GPU pass.
    #[arg(long)]
    pub cpu: bool,
    /// Where to write the result: .png, .jpg, .webp, .bmp or .tif (never one of the inputs).
    #[arg(short, long)]
    pub output: PathBuf,
    /// The image to edit (PNG, JPEG, WebP, BMP, TIFF, or a GIF's first frame).
    pub image: PathBuf,
}

/// `unsee view`.
#[derive(clap::Args, Debug, Default)]
pub struct ViewArgs {
    /// Photo to open: PNG, JPEG, WebP, BMP, TIFF or GIF (default: a bundled one).
    pub image: Option<PathBuf>,
    /// Run this many frames with a scripted stroke, then exit: 1..=100000.
    #[arg(long, value_parser = clap::value_parser!(u32).range(clap_range(&limits::FRAMES)))]
    pub frames: Option<u32>,
    /// With --frames: save the last frame as an image (.png, .jpg, .webp, .bmp or .tif).
    #[arg(long, requires = "frames")]
    pub screenshot: Option<PathBuf>,
    /// With --frames: leave the image alone (no scripted stroke).
    #[arg(long, requires = "frames")]
    pub no_stroke: bool,
    /// Fill method to start with.
    #[arg(long, value_enum)]
    pub fill: Option<Method>,
    /// With --frames: write the session of the scripted edit to this folder at exit
    /// (`unsee replay DIR` re-runs it).
    #[arg(long, requires = "frames")]
    pub save: Option<PathBuf>,
    /// With --frames: draw the frames into an offscreen texture of the window's default size
    /// instead of a window (measuring the viewer on a machine with no display).
    #[arg(long, requires = "frames")]
    pub offscreen: bool,
    /// With --offscreen: the display refresh its painted frames wait for, as a window's vsync
    /// makes them wait (0: none, frames back to back): 0..=1000.
    #[arg(long, requires = "offscreen", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(clap_range(&limits::REFRESH_HZ)))]
    pub refresh_hz: u32,
}

/// `unsee classify`.
#[derive(clap::Args, Debug)]
pub struct ClassifyArgs {
    /// Which classifier.
    #[arg(long, value_enum, default_value = "squeezenet")]
    pub model: ModelKind,
    /// Preprocessing: the weights' own, or the 2018 demo's (SqueezeNet only).
    #[arg(long, value_enum, default_value = "default")]
    pub preset: Preset,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// How many classes to print: 1..=1000.
    #[arg(long, default_value_t = 5,
          value_parser = clap::value_parser!(u16).range(clap_range(&limits::TOP)))]
    pub top: u16,
    /// Image files (PNG, JPEG, WebP, BMP, TIFF, or a GIF's first frame).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

/// `--threshold`: a number in [`limits::THRESHOLD`] (NaN is not).
fn parse_threshold(text: &str) -> Result<f32, String> {
    limits::parse_f32_in(text, &limits::THRESHOLD)
}

/// `--window`, `--stride`: a fraction in [`limits::WINDOW_FRACTION`].
fn parse_fraction(text: &str) -> Result<f32, String> {
    limits::parse_f32_in(text, &limits::WINDOW_FRACTION)
}

/// `--runs`: a count in [`limits::RUNS`].
fn parse_runs(text: &str) -> Result<usize, String> {
    let n: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    limits::check("runs", n, &limits::RUNS).map_err(|_| {
        format!(
            "{n} is not in {}..={}",
            limits::RUNS.start(),
            limits::RUNS.end()
        )
    })
}
