//! A 1x1 stride-1 convolution as one gemm per tile (`W[m, k] · X[k, pixels]`, the NCHW input used
//! in place), its epilogue applied while the tile is in cache.

use super::ChannelSlice;
use super::epilogue::Epilogue;
use super::tiles::{self, CACHE_FLOATS, SharedOut, Tile};

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

    /// Its tiles.
    pub fn plan(&self, threads: usize) -> Vec<Tile> {
        let max_pixels = (CACHE_FLOATS / self.m.max(1)).clamp(64, 2048);
        tiles::plan(self.n, self.m, self.pixels, max_pixels, threads, true)
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
        let first = (t.image * slice.channels + slice.first + t.m0) * pixels + t.p0;
        let cols = t.p1 - t.p0;
        // SAFETY: the pointers address `weight`, `x` and the output within their checked lengths
        // with the strides given; this tile alone writes its rows `[m0, m1)` x `[p0, p1)`.
        unsafe {
            gemm::gemm(
                t.m1 - t.m0,
                cols,
                k,
                shared.block(first, t.m1 - t.m0, cols, pixels),
                1,
                pixels as isize,
                false,
                weight.as_ptr().add(t.m0 * k),
                1,
                k as isize,
                x.as_ptr().add(t.image * k * pixels + t.p0),
                1,
                pixels as isize,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        for o in t.m0..t.m1 {
            // SAFETY: this tile's row `o`, written by its gemm above and touched only here.
            let row = unsafe { shared.row(first + (o - t.m0) * pixels, cols) };
            epilogue.finish_row(row, o, (t.image * m + o) * pixels + t.p0);
        }
    }
}
