//! A dense (groups 1) kh x kw convolution: per tile of output pixels, im2col into a per-thread
//! scratch that stays in cache, one gemm, then the epilogue.

use std::cell::RefCell;

use super::ChannelSlice;
use super::epilogue::Epilogue;
use super::gemm_tiles::tile_product;
use super::tiles::{self, CACHE_FLOATS, SharedOut, Tile};

/// The geometry of a dense convolution over `[c, h, w]` images.
#[derive(Clone, Copy, Debug)]
pub struct DenseShape {
    /// Input channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub m: usize,
    /// Kernel `[height, width]`.
    pub kernel: [usize; 2],
    /// Stride `[vertical, horizontal]`.
    pub stride: [usize; 2],
    /// Zero padding before the first row and column.
    pub pad: [usize; 2],
    /// Output `[height, width]`.
    pub out: [usize; 2],
}

thread_local! {
    /// Each worker's im2col columns, kept between calls.
    static COLS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `out[:, first + o] = epilogue(conv(x, weight)[o])` for `x` `[n, c, h, w]`, `weight`
/// `[m, c, kh, kw]` (used as the `[m, c·kh·kw]` matrix it is), `out` `[n, slice.channels, oh·ow]`:
/// run by [`super::gemm_tiles`].
#[derive(Clone, Copy)]
pub struct Dense<'a> {
    /// The input, `[n, c, h, w]`.
    pub x: &'a [f32],
    /// Images.
    pub n: usize,
    /// The geometry.
    pub shape: DenseShape,
    /// The weight, `[m, c, kh, kw]`.
    pub weight: &'a [f32],
}

impl Dense<'_> {
    fn kdim(&self) -> usize {
        self.shape.c * self.shape.kernel[0] * self.shape.kernel[1]
    }

    fn pixels(&self) -> usize {
        self.shape.out[0] * self.shape.out[1]
    }

    /// Checks the lengths against the shape and the output.
    pub fn check(&self, out_len: usize, slice: ChannelSlice) {
        let DenseShape { c, h, w, m, .. } = self.shape;
        assert_eq!(self.x.len(), self.n * c * h * w, "dense conv input");
        assert_eq!(self.weight.len(), m * self.kdim(), "dense conv weight");
        assert!(
            slice.first + m <= slice.channels,
            "dense conv channel slice"
        );
        assert_eq!(
            out_len,
            self.n * slice.channels * self.pixels(),
            "dense conv output"
        );
    }

    /// Multiply-adds.
    pub fn work(&self) -> usize {
        self.n * self.shape.m * self.kdim() * self.pixels()
    }

    /// Its tiles: pixel blocks only (a channel block would build its columns again).
    pub fn plan(&self, threads: usize) -> Vec<Tile> {
        let max_pixels = (CACHE_FLOATS / self.kdim().max(self.shape.m).max(1)).clamp(32, 2048);
        tiles::plan(
            self.n,
            self.shape.m,
            self.pixels(),
            max_pixels,
            threads,
            false,
        )
    }

    /// Computes tile `t` into `shared` (checked by [`Self::check`]).
    pub(super) fn tile(
        &self,
        t: &Tile,
        shared: &SharedOut,
        slice: ChannelSlice,
        epilogue: &Epilogue,
    ) {
        let DenseShape { c, h, w, m, .. } = self.shape;
        let (kdim, pixels) = (self.kdim(), self.pixels());
        let len = t.p1 - t.p0;
        COLS.with(|cols| {
            let mut cols = cols.borrow_mut();
            cols.resize(kdim * len, 0.0);
            let image = &self.x[t.image * c * h * w..(t.image + 1) * c * h * w];
            im2col_fast(image, self.shape, t.p0, t.p1, &mut cols);
            let lhs = &self.weight[t.m0 * kdim..t.m1 * kdim];
            tile_product(t, shared, slice, pixels, m, lhs, kdim, &cols, len, epilogue);
        });
    }
}

super::simd::multiversion!(
    fn im2col_fast => im2col(image: &[f32], shape: DenseShape, p0: usize, p1: usize, cols: &mut [f32])
);

/// Writes the columns of output pixels `[p0, p1)`: row `(ci·kh + ky)·kw + kx` of `cols` holds, for
/// each pixel, the input under tap (ky, kx) of channel ci (0 in the padding) — the order of the
/// weight's own `[m, c, kh, kw]` layout.
#[inline(always)]
fn im2col(image: &[f32], shape: DenseShape, p0: usize, p1: usize, cols: &mut [f32]) {
    let DenseShape { c, h, w, .. } = shape;
    let [kh, kw] = shape.kernel;
    let [sh, sw] = shape.stride;
    let [pt, pl] = shape.pad;
    let ow = shape.out[1];
    let len = p1 - p0;
    let mut q = 0;
    for ci in 0..c {
        let plane = &image[ci * h * w..(ci + 1) * h * w];
        for ky in 0..kh {
            for kx in 0..kw {
                let dst = &mut cols[q * len..(q + 1) * len];
                q += 1;
                // Output columns whose tap lands inside the row: ox·sw + kx − pl ∈ [0, w).
                let lo = pl.saturating_sub(kx).div_ceil(sw);
                let hi = (w + pl).saturating_sub(kx).div_ceil(sw).min(ow);
                let mut p = p0;
                while p < p1 {
                    let (oy, ox0) = (p / ow, p % ow);
                    let ox1 = ow.min(ox0 + (p1 - p));
                    let seg = &mut dst[p - p0..p - p0 + (ox1 - ox0)];
                    let iy = (oy * sh + ky) as isize - pt as isize;
                    if iy < 0 || iy >= h as isize {
                        seg.fill(0.0);
                    } else {
                        let row = &plane[iy as usize * w..(iy as usize + 1) * w];
                        // The segment's columns inside the row: [a, b), possibly none (a
                        // segment wholly in the padding, or a kernel wider than the row).
                        let a = lo.clamp(ox0, ox1);
                        let b = hi.clamp(ox0, ox1).max(a);
                        seg[..a - ox0].fill(0.0);
                        seg[b - ox0..].fill(0.0);
                        let inside = &mut seg[a - ox0..b - ox0];
                        if inside.is_empty() {
                        } else if sw == 1 {
                            let start = a + kx - pl;
                            inside.copy_from_slice(&row[start..start + inside.len()]);
                        } else if sw == 2 {
                            // Every other input column (a first layer's stride 2): as pairs,
                            // the first of each kept, which vectorizes; the last on its own.
                            let start = a * 2 + kx - pl;
                            let body = inside.len() - 1;
                            let pairs = row[start..start + 2 * body].chunks_exact(2);
                            for (v, pair) in inside[..body].iter_mut().zip(pairs) {
                                *v = pair[0];
                            }
                            inside[body] = row[start + 2 * body];
                        } else {
                            for (i, v) in inside.iter_mut().enumerate() {
                                *v = row[(a + i) * sw + kx - pl];
                            }
                        }
                    }
                    p += ox1 - ox0;
                }
            }
        }
    }
}
