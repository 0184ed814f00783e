//! A 1x1 stride-1 convolution as one gemm per tile (`W[m, k] · X[k, pixels]`, the NCHW input used
//! in place), its epilogue applied while the tile is in cache.

use super::ChannelSlice;
use super::epilogue::Epilogue;
use super::tiles::{self, CACHE_FLOATS, SharedOut};

/// `out[:, first + o, p] = epilogue(Σ_i weight[o, i] · x[:, i, p])` for `x` `[n, k, pixels]`,
/// `weight` `[m, k]`, `out` `[n, slice.channels, pixels]`.
#[allow(clippy::too_many_arguments)]
pub fn pointwise(
    x: &[f32],
    n: usize,
    k: usize,
    pixels: usize,
    weight: &[f32],
    m: usize,
    out: &mut [std::mem::MaybeUninit<f32>],
    slice: ChannelSlice,
    epilogue: &Epilogue,
) {
    assert_eq!(x.len(), n * k * pixels, "pointwise input");
    assert_eq!(weight.len(), m * k, "pointwise weight");
    assert!(slice.first + m <= slice.channels, "pointwise channel slice");
    assert_eq!(out.len(), n * slice.channels * pixels, "pointwise output");
    let max_pixels = (CACHE_FLOATS / m.max(1)).clamp(64, 2048);
    let plan = tiles::plan(n, m, pixels, max_pixels, rayon::current_num_threads(), true);
    let shared = SharedOut::new(out);
    tiles::for_each(&plan, n * m * k * pixels, |t| {
        let first = (t.image * slice.channels + slice.first + t.m0) * pixels + t.p0;
        let cols = t.p1 - t.p0;
        // SAFETY: the pointers address `weight`, `x` and `out` within their checked lengths with
        // the strides given; this tile alone writes its rows `[m0, m1)` x `[p0, p1)`.
        unsafe {
            gemm::gemm(
                t.m1 - t.m0,
                cols,
                k,
                shared.at(first),
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
    });
}
