//! What follows a convolution's multiply-adds, applied to a tile while it is still in cache: the
//! bias, a residual input, the activation.

use burn::tensor::Tensor;
use burn::tensor::activation::{relu, relu6};

/// The activation after a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// None (a linear layer: MobileNetV2's projections).
    Linear,
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), 6).
    Relu6,
}

impl Act {
    /// Applies the activation to a tensor (burn's own ops: the reference path and the GPU).
    pub fn apply(self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Act::Linear => x,
            Act::Relu => relu(x),
            Act::Relu6 => relu6(x),
        }
    }

    /// The activation of one value.
    #[inline(always)]
    pub fn of(self, v: f32) -> f32 {
        // `max`/`min` as compare-and-select, the way burn's relu is defined: they vectorize.
        match self {
            Act::Linear => v,
            Act::Relu => {
                if v > 0.0 {
                    v
                } else {
                    0.0
                }
            }
            Act::Relu6 => {
                let v = if v > 0.0 { v } else { 0.0 };
                if v < 6.0 { v } else { 6.0 }
            }
        }
    }
}

/// The epilogue of one convolution: `act(y + bias[channel]) `, with `residual` (an input of the
/// output's own shape) added before the activation.
#[derive(Clone, Copy)]
pub struct Epilogue<'a> {
    /// One value per output channel.
    pub bias: Option<&'a [f32]>,
    /// The activation.
    pub act: Act,
    /// Added element-wise, laid out like the convolution's own output (`[n, m, pixels]`, m its
    /// channels: only a convolution writing a whole output takes one).
    pub residual: Option<&'a [f32]>,
}

impl Epilogue<'_> {
    /// Finishes `row`: output channel `channel` (of the convolution), whose first element sits at
    /// `offset` in the output (where the residual's matching element sits too).
    pub fn finish_row(&self, row: &mut [f32], channel: usize, offset: usize) {
        finish_row_fast(self, row, channel, offset);
    }
}

super::simd::multiversion!(
    fn finish_row_fast => finish_row(e: &Epilogue, row: &mut [f32], channel: usize, offset: usize)
);

/// [`Epilogue::finish_row`], inlined into a kernel's own loop (compiled for its features).
#[inline(always)]
pub(super) fn finish_row(e: &Epilogue, row: &mut [f32], channel: usize, offset: usize) {
    let b = e.bias.map_or(0.0, |b| b[channel]);
    let act = e.act;
    match e.residual {
        Some(res) => {
            let res = &res[offset..offset + row.len()];
            for (v, r) in row.iter_mut().zip(res) {
                *v = act.of(*v + b + r);
            }
        }
        None => {
            for v in row.iter_mut() {
                *v = act.of(*v + b);
            }
        }
    }
}
