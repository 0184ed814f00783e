//! A linear layer `y = x · W + b` (burn's `[d_in, d_out]` weight, used in place) with its output
//! columns split over the threads: flex ran MobileNetV2's 1280 -> 1000 classifier on one thread,
//! bound by reading its 5 MB weight.

use std::mem::MaybeUninit;

use super::tiles::{self, SharedOut};

/// Output columns per tile at least (a cache line of the weight's rows and more).
const MIN_COLUMNS: usize = 64;

/// `out[i, j] = Σ_k x[i, k] · weight[k, j] + bias[j]` for `x` `[n, d_in]`, `weight`
/// `[d_in, d_out]`, `out` `[n, d_out]` (not yet initialised; every element is written).
pub fn linear(
    x: &[f32],
    n: usize,
    weight: &[f32],
    d_out: usize,
    bias: Option<&[f32]>,
    out: &mut [MaybeUninit<f32>],
) {
    let d_in = x.len().checked_div(n).unwrap_or(0);
    assert_eq!(x.len(), n * d_in, "linear input");
    assert_eq!(weight.len(), d_in * d_out, "linear weight");
    assert_eq!(out.len(), n * d_out, "linear output");
    if let Some(b) = bias {
        assert_eq!(b.len(), d_out, "linear bias");
    }
    let threads = rayon::current_num_threads().max(1);
    let width = d_out
        .div_ceil(threads)
        .next_multiple_of(16)
        .max(MIN_COLUMNS);
    let blocks: Vec<usize> = (0..d_out).step_by(width.max(1)).collect();
    let shared = SharedOut::new(out);
    tiles::for_each(&blocks, n * d_in * d_out, |&c0| {
        let cols = width.min(d_out - c0);
        // SAFETY: the output block (n rows of `cols` from column c0, `d_out` apart) is checked by
        // `block` and written by this tile alone; `x` is `[n, d_in]` and the weight's columns
        // [c0, c0 + cols) of its `d_in` rows lie within it (checked above).
        unsafe {
            super::gemm_tiles::gemm_rows(
                n,
                cols,
                d_in,
                shared.block(c0, n, cols, d_out),
                d_out,
                x.as_ptr(),
                d_in,
                weight.as_ptr().add(c0),
                d_out,
            );
        }
        if let Some(b) = bias {
            for i in 0..n {
                // SAFETY: row i of this tile's block, written by its gemm above.
                let row = unsafe { shared.row(i * d_out + c0, cols) };
                for (v, b) in row.iter_mut().zip(&b[c0..c0 + cols]) {
                    *v += b;
                }
            }
        }
    });
}
