//! The `unsee` command: parse arguments, run a subcommand, print any error as one line.

/// `println!` for command output: when stdout is closed early (piped into `head`), the program ends
/// quietly instead of panicking; other write errors are returned.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            return Err(e.into());
        }
    }};
}

mod cli;
mod commands;
mod runtime_dir;

use std::process::ExitCode;

use clap::Parser;
use unsee::gpu::GpuOptions;

fn main() -> ExitCode {
    // SAFETY: first thing in main, before any thread is spawned.
    let _runtime_dir = unsafe { runtime_dir::RuntimeDir::ensure() };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("error,unsee=warn"))
        .format_timestamp(None)
        .init();
    let args = cli::Args::parse();
    let gpu_options = GpuOptions::from_arg(args.adapter.clone());
    let models = unsee::models::locate(args.models.as_deref());
    match run(args, gpu_options, models.dir.clone()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_missing_model_file(&e) => {
            // Name the search as well, so a wrong or incomplete folder is found at once.
            eprintln!("error: {e:#}; {}", models.describe());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `e` is a weight or label file missing from the models folder.
fn is_missing_model_file(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<unsee::Error>(),
            Some(unsee::Error::WeightsMissing { .. } | unsee::Error::Labels { .. })
        )
    })
}

/// Runs the chosen subcommand.
fn run(args: cli::Args, gpu_options: GpuOptions, models: std::path::PathBuf) -> anyhow::Result<()> {
    match args
        .command
        .unwrap_or(cli::Command::View(cli::ViewArgs::default()))
    {
        cli::Command::View(a) => unsee::app::run(unsee::app::ViewOptions {
            image: a.image,
            models_dir: models,
            gpu: gpu_options,
            frames: a.frames,
            screenshot: a.screenshot,
            scripted_stroke: !a.no_stroke,
            inference: args.inference,
            fill: a.fill,
            save: a.save,
            offscreen: a.offscreen.then_some(a.refresh_hz),
        }),
        cli::Command::Classify(a) => {
            commands::classify::run(a, gpu_options, models, args.inference)
        }
        cli::Command::Inpaint(a) => commands::inpaint::run(a, gpu_options),
        cli::Command::Explain(a) => commands::explain::run(a, gpu_options, models, args.inference),
        cli::Command::Evaluate(a) => {
            commands::evaluate::run(a, gpu_options, models, args.inference)
        }
        cli::Command::Replay(a) => commands::replay::run(a, gpu_options, models, args.inference),
        cli::Command::Bench(a) => commands::bench::run(a, gpu_options, models),
        cli::Command::Adapters => commands::adapters::run(),
    }
}
