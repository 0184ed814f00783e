//! Command-line arguments. No logic here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
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
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the top-5 classes of each image.
    Classify(ClassifyArgs),
    /// List the GPU adapters unsee can use, best first.
    Adapters,
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
