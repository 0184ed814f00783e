//! Fused CPU kernels for the classifiers' layers on burn's CPU backend (flex), reading and writing
//! flex's own tensor memory through burn's backend extension API — the CPU counterpart of our WGSL
//! passes reading burn's wgpu buffers. burn keeps the modules, the weights and every other op.
//!
//! Why our own loops: flex runs each conv as its own pass, its gemms on one core below 192³
//! multiply-adds (most of these layers), then bias, activation, concatenation and residual adds as
//! further passes over memory. Here every layer is one parallel pass over tiles that stay in the
//! core's cache: the gemm (the same `gemm` crate flex calls), then bias, activation and residual on
//! the tile while it is hot, written straight into its channel slice of the output (a Fire
//! module's concatenation costs nothing).

mod dense;
mod depthwise;
mod epilogue;
mod flex_io;
mod gemm_tiles;
mod inverted_residual;
mod linear;
mod max_pool;
mod pointwise;
pub(crate) mod simd;
pub mod team;
mod tiles;

pub use dense::{Dense, DenseShape};
pub use depthwise::{DepthwiseShape, depthwise};
pub use epilogue::{Act, Epilogue};
pub use flex_io::{Elements, tensor_from};
pub use gemm_tiles::{GemmConv, Part, gemm_tiles};
pub use inverted_residual::{BlockShape, BlockWeights, Weights, inverted_residual};
pub use linear::linear;
pub use max_pool::max_pool;
pub use pointwise::Pointwise;

/// Where a convolution writes: channels `[first, first + m)` of an `[n, channels, pixels]` output.
#[derive(Clone, Copy, Debug)]
pub struct ChannelSlice {
    /// Channels of the whole output.
    pub channels: usize,
    /// The first channel this convolution writes.
    pub first: usize,
}
