//! Command-line arguments. No logic here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use unsee::classify::Inference;
use unsee::inpaint::Method;
use unsee::models::{ModelKind, Preset};

/// Find out what an image classifier looks at by erasing parts of a photo.
#[derive(Parser, Debug)]
#[command(name = "unsee", version, about)]
pub struct Args {
    /// Use the GPU adapter whose name contains this (also: UNSEE_ADAPTER).
    #[arg(long, global = true)]
    pub adapter: Option<String>,
    /// Folder with the weights and labels (default: the bundled models/; also: UNSEE_MODELS).
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
    /// Map where the model's evidence for a class lies (occlusion by inpainting, or CAM).
    Explain(ExplainArgs),
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
    /// Erase each grid cell by inpainting and map the drop in the class's probability.
    Occlusion,
    /// Class activation map (Zhou et al. 2016).
    Cam,
}

/// `unsee explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// Occlusion by inpainting, or class activation map.
    #[arg(long, value_enum, default_value = "occlusion")]
    pub method: ExplainMethod,
    /// Class: an index 0..999 or a label (default: the image's top-1).
    #[arg(long)]
    pub class: Option<String>,
    /// Which classifier.
    #[arg(long, value_enum, default_value = "squeezenet")]
    pub model: ModelKind,
    /// Occlusion grid (cells per side).
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub grid: u32,
    /// How occlusion erases a cell.
    #[arg(long, value_enum, default_value = "telea")]
    pub fill: Method,
    /// Where to write the map (the image with the map overlaid).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the suggested mask (map ≥ threshold) here.
    #[arg(long)]
    pub mask_output: Option<PathBuf>,
    /// Threshold of the suggested mask, 0..1 of the map's range.
    #[arg(long, default_value_t = 0.6)]
    pub threshold: f32,
    /// The image.
    pub image: PathBuf,
}

/// `unsee replay`.
#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The session folder (or its session.json).
    pub session: PathBuf,
    /// Write each step's modified image, mask and CAM (of the original's top class) here.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Render a figure like the paper's (original and modified with their tables) to this PNG.
    #[arg(long)]
    pub figure: Option<PathBuf>,
}

/// `unsee bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Print JSON: {"adapter", "results": [{"name", "median_ms", "p95_ms", "gpu_median_ms", "n"}]}.
    #[arg(long)]
    pub json: bool,
    /// Fewer runs and sizes (a quick look, or CI).
    #[arg(long)]
    pub quick: bool,
    /// Only this model.
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,
    /// Timed runs per case (after warm-up).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(usize))]
    pub runs: usize,
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
    /// The mask: same size as the image, white (non-zero) = erase. Use PNG.
    #[arg(long)]
    pub mask: PathBuf,
    /// Telea's neighbourhood radius ε in pixels.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub radius: u32,
    /// PatchMatch's random seed (the same seed gives the same fill).
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Run the CPU reference implementation instead of the GPU pass.
    #[arg(long)]
    pub cpu: bool,
    /// Where to write the result (PNG).
    #[arg(short, long)]
    pub output: PathBuf,
    /// The image to edit.
    pub image: PathBuf,
}

/// `unsee view`.
#[derive(clap::Args, Debug, Default)]
pub struct ViewArgs {
    /// Photo to open (default: a bundled one).
    pub image: Option<PathBuf>,
    /// Run this many frames with a scripted stroke, then exit.
    #[arg(long)]
    pub frames: Option<u32>,
    /// With --frames: save the last frame as a PNG.
    #[arg(long, requires = "frames")]
    pub screenshot: Option<PathBuf>,
    /// With --frames: leave the image alone (no scripted stroke).
    #[arg(long, requires = "frames")]
    pub no_stroke: bool,
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
    /// How many classes to print.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub top: u16,
    /// Image files (PNG or JPEG).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}
