//! Max pooling without padding (ceil mode's windows may hang over the far edge): per channel
//! plane, the rows of each window reduced element-wise (vectorized), then each window's columns.

use std::cell::RefCell;

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
    out: &mut [std::mem::MaybeUninit<f32>],
) {
    assert_eq!(x.len(), planes * h * w, "max pool input");
    assert_eq!(out.len(), planes * oh * ow, "max pool output");
    assert!(oh == 0 || (oh - 1) * sh < h, "max pool rows");
    assert!(ow == 0 || (ow - 1) * sw < w, "max pool columns");
    super::tiles::for_each_chunk(out, oh * ow, planes * oh * ow * kh * kw, |p, dst| {
        let dst = super::tiles::zeroed(dst);
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
        dst: &mut [f32],
        vmax: &mut [f32],
        hw: [usize; 2],
        k: [usize; 2],
        stride: [usize; 2],
        ow: usize,
    )
);

/// One channel plane.
#[inline(always)]
fn plane(
    src: &[f32],
    dst: &mut [f32],
    vmax: &mut [f32],
    [h, w]: [usize; 2],
    [kh, kw]: [usize; 2],
    [sh, sw]: [usize; 2],
    ow: usize,
) {
    for (oy, out) in dst.chunks_exact_mut(ow).enumerate() {
        let r0 = oy * sh;
        let r1 = (r0 + kh).min(h);
        vmax.copy_from_slice(&src[r0 * w..(r0 + 1) * w]);
        for r in r0 + 1..r1 {
            for (m, &v) in vmax.iter_mut().zip(&src[r * w..(r + 1) * w]) {
                *m = if v > *m { v } else { *m };
            }
        }
        // The usual window (3 wide, stride 2, inside the row): no bounds to check, so the
        // compiler vectorizes it.
        let inside = if [kw, sw] == [3, 2] { (w - 1) / 2 } else { 0 }.min(ow);
        for (o, v) in out[..inside].iter_mut().zip(vmax.windows(3).step_by(2)) {
            let m = if v[1] > v[0] { v[1] } else { v[0] };
            *o = if v[2] > m { v[2] } else { m };
        }
        for (ox, o) in out.iter_mut().enumerate().skip(inside) {
            let c0 = ox * sw;
            let c1 = (c0 + kw).min(w);
            let mut best = vmax[c0];
            for &v in &vmax[c0 + 1..c1] {
                best = if v > best { v } else { best };
            }
            *o = best;
        }
    }
}
