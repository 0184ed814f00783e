//! A 1x1 stride-1 convolution as one gemm per tile (`W[m, k] · X[k, pixels]`, the NCHW input used
//! in place), its epilogue applied while the tile is in cache.

use super::ChannelSlice;
use super::epilogue::Epilogue;
use super::gemm_tiles::tile_product;
use super::tiles::{self, SharedOut, Tile};

/// `out[:, first + o, p] = epilogue(Σ_i weight[o, i] · x[:, i, p])` for `x` `[n, k, pixels]`,
/// `weight` `[m, k]`, `out` `[n, slice.channels, pixels]`: run by [`super::gemm_tiles`].
#[derive(Clone, Copy)]
pub struct Pointwise<'a> {
    /// The input, `[n, k, pixels]`.
    pub x: &'a [f32],
    /// Images.
    pub n: usize,
    /// Input channels.
    pub k: usize,
    /// Pixels per image.
    pub pixels: usize,
    /// The weight, `[m, k]`.
    pub weight: &'a [f32],
    /// Output channels.
    pub m: usize,
}

impl Pointwise<'_> {
    /// Checks the lengths against the shape and the output.
    pub fn check(&self, out_len: usize, slice: ChannelSlice) {
        let Self {
            n, k, pixels, m, ..
        } = *self;
        assert_eq!(self.x.len(), n * k * pixels, "pointwise input");
        assert_eq!(self.weight.len(), m * k, "pointwise weight");
        assert!(slice.first + m <= slice.channels, "pointwise channel slice");
        assert_eq!(out_len, n * slice.channels * pixels, "pointwise output");
    }

    /// Multiply-adds.
    pub fn work(&self) -> usize {
        self.n * self.m * self.k * self.pixels
    }

    /// Its tiles: by output channels first ([`tiles::plan_channels`]).
    pub fn plan(&self, threads: usize) -> Vec<Tile> {
        tiles::plan_channels(self.n, self.m, self.pixels, threads)
    }

    /// Computes tile `t` into `shared` (checked by [`Self::check`]).
    pub(super) fn tile(
        &self,
        t: &Tile,
        shared: &SharedOut,
        slice: ChannelSlice,
        epilogue: &Epilogue,
    ) {
        let Self {
            x,
            k,
            pixels,
            weight,
            m,
            ..
        } = *self;
        // The input is used in place: row i of the tile's columns is x[image, i, p0..p1].
        let x = &x[t.image * k * pixels + t.p0..(t.image + 1) * k * pixels];
        let lhs = &weight[t.m0 * k..t.m1 * k];
        tile_product(t, shared, slice, pixels, m, lhs, k, x, pixels, epilogue);
    }
}
