//! Max pooling without padding (ceil mode's windows may hang over the far edge): per channel
//! plane, the rows of each window reduced element-wise (vectorized), then each window's columns.

use std::cell::RefCell;
use std::mem::MaybeUninit;

thread_local! {
    /// Each worker's row of column maxima.
    static ROW: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `out[:, ch, oy, ox] = max of x[:, ch, oy·s..oy·s+k, ox·s..ox·s+k]` (clipped to the plane), for
/// `x` `[n, c, h, w]` and `out` `[n, c, oh, ow]`.
#[allow(clippy::too_many_arguments)]
pub fn max_pool(
    x: &[f32],
    planes: usize,
    [h, w]: [usize; 2],
    [kh, kw]: [usize; 2],
    [sh, sw]: [usize; 2],
    [oh, ow]: [usize; 2],
    out: &mut [MaybeUninit<f32>],
) {
    assert_eq!(x.len(), planes * h * w, "max pool input");
    assert_eq!(out.len(), planes * oh * ow, "max pool output");
    assert!(oh == 0 || (oh - 1) * sh < h, "max pool rows");
    assert!(ow == 0 || (ow - 1) * sw < w, "max pool columns");
    super::tiles::for_each_chunk(out, oh * ow, planes * oh * ow * kh * kw, |p, dst| {
        let src = &x[p * h * w..(p + 1) * h * w];
        ROW.with(|row| {
            let mut vmax = row.borrow_mut();
            vmax.resize(w, 0.0);
            plane_fast(src, dst, &mut vmax, [h, w], [kh, kw], [sh, sw], ow);
        });
    });
}

super::simd::multiversion!(
    fn plane_fast => plane(
        src: &[f32],
        dst: &mut [MaybeUninit<f32>],
        vmax: &mut [f32],
        hw: [usize; 2],
        k: [usize; 2],
        stride: [usize; 2],
        ow: usize,
    )
);

/// One channel plane, each output written once.
#[inline(always)]
fn plane(
    src: &[f32],
    dst: &mut [MaybeUninit<f32>],
    vmax: &mut [f32],
    [h, w]: [usize; 2],
    [kh, kw]: [usize; 2],
    [sh, sw]: [usize; 2],
    ow: usize,
) {
    let max = |a: f32, b: f32| if b > a { b } else { a };
    for (oy, out) in dst.chunks_exact_mut(ow).enumerate() {
        let r0 = oy * sh;
        let r1 = (r0 + kh).min(h);
        let row = |r: usize| &src[r * w..(r + 1) * w];
        if r1 - r0 == 3 {
            // Three whole rows at once: each maximum written once (an update in place became a
            // masked store per vector).
            for (((m, &a), &b), &c) in vmax
                .iter_mut()
                .zip(row(r0))
                .zip(row(r0 + 1))
                .zip(row(r0 + 2))
            {
                *m = max(max(a, b), c);
            }
        } else {
            vmax.copy_from_slice(row(r0));
            for r in r0 + 1..r1 {
                for (m, &v) in vmax.iter_mut().zip(row(r)) {
                    *m = max(*m, v);
                }
            }
        }
        // The usual window (3 wide, stride 2, inside the row): output o is the maximum of
        // columns 2o, 2o + 1 and 2o + 2 — pairs of columns side by side, which the compiler
        // loads as even and odd lanes and vectorizes.
        // Outputs whose window and the next pair lie in the row: 2o + 3 < w.
        let inside = if [kw, sw] == [3, 2] {
            w.saturating_sub(2) / 2
        } else {
            0
        }
        .min(ow);
        let next = vmax.get(2..).unwrap_or(&[]);
        let pairs = vmax.chunks_exact(2).zip(next.chunks_exact(2));
        for (o, (p, q)) in out[..inside].iter_mut().zip(pairs) {
            o.write(max(max(p[0], p[1]), q[0]));
        }
        for (ox, o) in out.iter_mut().enumerate().skip(inside) {
            let c0 = ox * sw;
            let c1 = (c0 + kw).min(w);
            let best = vmax[c0 + 1..c1].iter().fold(vmax[c0], |b, &v| max(b, v));
            o.write(best);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_planes_and_other_windows_are_pooled() {
        // A 1-wide plane with a 1x1 window, and a 2x2 stride-2 window (no 3-wide fast path).
        let x: Vec<f32> = (0..6).map(|v| v as f32).collect();
        let mut out = vec![MaybeUninit::new(f32::NAN); 6];
        max_pool(&x, 1, [6, 1], [1, 1], [1, 1], [6, 1], &mut out);
        // SAFETY: every element was initialised (to NaN) when the buffer was made.
        let got: Vec<f32> = out.iter().map(|v| unsafe { v.assume_init() }).collect();
        assert_eq!(got, x);
        let x: Vec<f32> = (0..16).map(|v| ((v * 7) % 16) as f32).collect();
        let mut out = vec![MaybeUninit::new(f32::NAN); 4];
        max_pool(&x, 1, [4, 4], [2, 2], [2, 2], [2, 2], &mut out);
        // SAFETY: every element was initialised (to NaN) when the buffer was made.
        let got: Vec<f32> = out.iter().map(|v| unsafe { v.assume_init() }).collect();
        let want: Vec<f32> = [(0, 0), (0, 2), (2, 0), (2, 2)]
            .iter()
            .map(|&(y, x0)| {
                [0, 1, 4, 5]
                    .iter()
                    .map(|d| x[y * 4 + x0 + d])
                    .fold(f32::MIN, f32::max)
            })
            .collect();
        assert_eq!(got, want);
    }
}
