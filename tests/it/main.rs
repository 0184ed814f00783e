//! The one integration-test harness (one binary links the GPU stack once). GPU tests share one
//! device; with `REQUIRE_GPU=1` (CI) a missing adapter fails them instead of skipping.

mod bench_cli;
mod cli_errors;
mod common;
mod cpu_layers;
mod editor;
mod explain;
mod models;
mod paper;
mod patchmatch;
mod photos;
mod preprocess;
mod session;
mod telea;
mod window;
