//! unsee: erase part of a photo on the GPU and watch an ImageNet classifier change its mind.
//!
//! The library holds everything the `unsee` binary, the tests and the benches share: the one GPU
//! device (shared with burn), the classifiers and their weights, the GPU passes and their CPU
//! references.

#![warn(missing_docs)]

pub mod app;
pub mod background;
pub mod bench;
pub mod cam;
pub mod classify;
pub mod cpu;
pub mod editor;
pub mod engine;
pub mod error;
pub mod explain;
pub mod figure;
pub mod gpu;
pub mod host_clock;
pub mod image_io;
pub mod inpaint;
pub mod limits;
pub mod models;
pub mod output;
pub mod passes;
pub mod plan;
pub mod session;

pub use error::{Error, Result};
