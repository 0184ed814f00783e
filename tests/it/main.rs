//! The one integration-test harness (one binary links the GPU stack once). GPU tests share one
//! device; with `REQUIRE_GPU=1` (CI) a missing adapter fails them instead of skipping.

mod bad_corpus;
mod bench_cli;
mod canvas;
mod cli_errors;
mod common;
mod compose;
mod cpu_layers;
mod edit_state;
mod editor;
mod explain;
mod mask_ops;
mod models;
mod outputs;
mod paper;
mod patchmatch;
mod photos;
mod preprocess;
mod readback;
mod session;
mod session_values;
mod telea;
mod trust;
mod window;
