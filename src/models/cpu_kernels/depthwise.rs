//! A 3x3 depthwise convolution (stride 1 or 2), one channel plane per task, the epilogue fused.
//! With padding 1 (MobileNetV2's), each tap is one multiply-add of a shifted plane over the whole
//! plane (stride 2 splits the input into its four phases first); any other padding builds the
//! padded plane (even and odd columns for stride 2) and sums each output row's nine taps.

use std::cell::RefCell;

use super::epilogue::Epilogue;

/// The geometry of a 3x3 depthwise convolution over `[c, h, w]` images.
#[derive(Clone, Copy, Debug)]
pub struct DepthwiseShape {
    /// Channels (in and out).
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Stride, both axes: 1 or 2.
    pub stride: usize,
    /// Zero padding before the first row and column.
    pub pad: [usize; 2],
    /// Output `[height, width]`.
    pub out: [usize; 2],
}

thread_local! {
    /// Each worker's scratch, kept between calls: the four phase planes (padding 1, stride 2) or
    /// the padded plane(s) of the general path.
    static PLANE: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `out[:, ch] = epilogue(Σ_taps weight[ch, ky, kx] · x[:, ch, shifted])` for `x` `[n, c, h, w]`,
/// `weight` `[c, 1, 3, 3]`, `out` `[n, c, oh, ow]`.
pub fn depthwise(
    x: &[f32],
    n: usize,
    shape: DepthwiseShape,
    weight: &[f32],
    out: &mut [std::mem::MaybeUninit<f32>],
    epilogue: &Epilogue,
) {
    let DepthwiseShape {
        c, h, w, stride, ..
    } = shape;
    let [oh, ow] = shape.out;
    assert!(stride == 1 || stride == 2, "depthwise stride {stride}");
    assert_eq!(x.len(), n * c * h * w, "depthwise input");
    assert_eq!(weight.len(), c * 9, "depthwise weight");
    assert_eq!(out.len(), n * c * oh * ow, "depthwise output");
    if let Some(bias) = epilogue.bias {
        assert_eq!(bias.len(), c, "depthwise bias");
    }
    if let Some(residual) = epilogue.residual {
        assert_eq!(residual.len(), out.len(), "depthwise residual");
    }
    // MobileNetV2's case, padding 1 on every side: stride 1 keeps the size, stride 2 halves an
    // even one. Computed from the input plane (stride 2: its four phases) by flat shifted passes.
    let same = shape.pad == [1, 1]
        && h >= 2
        && w >= 3
        && match stride {
            1 => [oh, ow] == [h, w],
            _ => h % 2 == 0 && w % 2 == 0 && [oh, ow] == [h / 2, w / 2],
        };
    super::tiles::for_each_chunk(out, oh * ow, n * c * oh * ow * 9, |plane_index, dst| {
        let dst = super::tiles::zeroed(dst);
        let ch = plane_index % c;
        let src = &x[plane_index * h * w..(plane_index + 1) * h * w];
        let taps: &[f32; 9] = weight[ch * 9..ch * 9 + 9].try_into().unwrap_or(&[0.0; 9]);
        let offset = plane_index * oh * ow;
        PLANE.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            if same {
                same_plane_fast(src, shape, taps, &mut scratch, dst, epilogue, ch, offset);
                return;
            }
            plane_fast(src, shape, taps, &mut scratch, dst);
            for (oy, row) in dst.chunks_exact_mut(ow).enumerate() {
                epilogue.finish_row(row, ch, offset + oy * ow);
            }
        });
    });
}

super::simd::multiversion!(
    fn same_plane_fast => same_plane(
        src: &[f32],
        shape: DepthwiseShape,
        k: &[f32; 9],
        scratch: &mut Vec<f32>,
        dst: &mut [f32],
        epilogue: &Epilogue,
        channel: usize,
        offset: usize,
    )
);

/// One channel plane with padding 1 (see `same` above), the epilogue included. Each tap is one
/// multiply-add of a shifted copy of the plane over the whole plane at once (a flat loop that
/// vectorizes even for 7-pixel rows); the flat shift wraps around row ends in the first and last
/// columns, which are then computed again exactly. Stride 2 first splits the input into its four
/// phases (even/odd rows x even/odd columns, `scratch`), so that each tap is again a flat shift.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn same_plane(
    src: &[f32],
    shape: DepthwiseShape,
    k: &[f32; 9],
    scratch: &mut Vec<f32>,
    dst: &mut [f32],
    epilogue: &Epilogue,
    channel: usize,
    offset: usize,
) {
    let DepthwiseShape { h, w, stride, .. } = shape;
    let [oh, ow] = shape.out;
    let n = oh * ow;
    // `dst` comes zeroed.
    if stride == 1 {
        for ky in 0..3 {
            for kx in 0..3 {
                // Output i reads input i + shift; rows outside the image are skipped, and the
                // ends of the range that would leave the plane belong to the edge columns.
                let shift = (ky as isize - 1) * w as isize + kx as isize - 1;
                let rows = (usize::from(ky == 0), if ky == 2 { h - 1 } else { h });
                let lo = ((rows.0 * w) as isize).max(-shift);
                let hi = ((rows.1 * w) as isize).min((n as isize) - shift);
                if lo < hi {
                    let (lo, hi) = (lo as usize, hi as usize);
                    let from = (lo as isize + shift) as usize;
                    axpy(
                        &mut dst[lo..hi],
                        k[ky * 3 + kx],
                        &src[from..from + (hi - lo)],
                    );
                }
            }
        }
        for y in 0..h {
            for x in [0, w - 1] {
                dst[y * w + x] = exact(src, [h, w], 1, k, y, x);
            }
        }
    } else {
        // phase(ry, rx)[oy·ow + ox] = input[2·oy + ry][2·ox + rx].
        scratch.resize(4 * n, 0.0);
        for (y, row) in src.chunks_exact(w).enumerate() {
            let (ry, oy) = (y % 2, y / 2);
            let (even, odd) = scratch[(ry * 2) * n..(ry * 2 + 2) * n].split_at_mut(n);
            let (even, odd) = (&mut even[oy * ow..][..ow], &mut odd[oy * ow..][..ow]);
            for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(row.chunks_exact(2)) {
                *e = pair[0];
                *o = pair[1];
            }
        }
        for ky in 0..3 {
            // Input row 2·oy + ky − 1: odd rows of the row above (ky 0), even rows (ky 1), odd
            // rows (ky 2).
            let (ry, row_shift) = [(1, -(ow as isize)), (0, 0), (1, 0)][ky];
            for kx in 0..3 {
                let (rx, col_shift) = [(1, -1), (0, 0), (1, 0)][kx];
                let phase = &scratch[(ry * 2 + rx) * n..(ry * 2 + rx + 1) * n];
                let shift = row_shift + col_shift;
                let lo = (if ky == 0 { ow as isize } else { 0 }).max(-shift) as usize;
                if lo < n {
                    let from = (lo as isize + shift) as usize;
                    axpy(
                        &mut dst[lo..],
                        k[ky * 3 + kx],
                        &phase[from..from + (n - lo)],
                    );
                }
            }
        }
        for oy in 0..oh {
            dst[oy * ow] = exact(src, [h, w], 2, k, oy, 0);
        }
    }
    super::epilogue::finish_row(epilogue, dst, channel, offset);
}

/// `y += a · x`.
#[inline(always)]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// Output `(oy, ox)` of a padding-1 plane, every tap checked against the edges.
#[inline(always)]
fn exact(
    src: &[f32],
    [h, w]: [usize; 2],
    stride: usize,
    k: &[f32; 9],
    oy: usize,
    ox: usize,
) -> f32 {
    let mut sum = 0.0;
    for ky in 0..3 {
        let Some(iy) = (oy * stride + ky).checked_sub(1).filter(|&iy| iy < h) else {
            continue;
        };
        for kx in 0..3 {
            if let Some(ix) = (ox * stride + kx).checked_sub(1).filter(|&ix| ix < w) {
                sum += k[ky * 3 + kx] * src[iy * w + ix];
            }
        }
    }
    sum
}

super::simd::multiversion!(
    fn plane_fast => plane(
        src: &[f32],
        shape: DepthwiseShape,
        k: &[f32; 9],
        scratch: &mut Vec<f32>,
        dst: &mut [f32],
    )
);

/// One channel plane, before the epilogue.
#[inline(always)]
fn plane(
    src: &[f32],
    shape: DepthwiseShape,
    k: &[f32; 9],
    scratch: &mut Vec<f32>,
    dst: &mut [f32],
) {
    let DepthwiseShape { h, w, stride, .. } = shape;
    let [pt, pl] = shape.pad;
    let [oh, ow] = shape.out;
    // The padded input rows and columns the output reads.
    let ph = (oh - 1) * stride + 3;
    let pw = (ow - 1) * stride + 3;
    // Stride 1: one padded plane, `pw` wide. Stride 2: even columns (ow + 1 wide) then odd ones
    // (ow wide), so that every tap reads a contiguous run.
    let (even_w, odd_w) = (ow + 1, ow);
    let size = if stride == 1 {
        ph * pw
    } else {
        ph * (even_w + odd_w)
    };
    scratch.clear();
    // Stride 2 also keeps one padded row (`pw`, even) at the end, to split into even and odd.
    scratch.resize(size + if stride == 1 { 0 } else { pw + 1 }, 0.0);
    let (scratch, padded_row) = scratch.split_at_mut(size);
    for py in 0..ph {
        let iy = py as isize - pt as isize;
        if iy < 0 || iy >= h as isize {
            continue;
        }
        let row = &src[iy as usize * w..(iy as usize + 1) * w];
        // Input column ix sits at padded column ix + pl (when that is inside the plane).
        let last = w.min(pw.saturating_sub(pl));
        if stride == 1 {
            scratch[py * pw + pl..py * pw + pl + last].copy_from_slice(&row[..last]);
        } else {
            let (even, odd) =
                scratch[py * (even_w + odd_w)..(py + 1) * (even_w + odd_w)].split_at_mut(even_w);
            // The padding columns of `padded_row` stay 0: only `[pl, pl + last)` is written.
            padded_row[pl..pl + last].copy_from_slice(&row[..last]);
            for ((e, o), pair) in even
                .iter_mut()
                .zip(odd.iter_mut())
                .zip(padded_row.chunks_exact(2))
            {
                *e = pair[0];
                *o = pair[1];
            }
            even[ow] = padded_row[2 * ow];
        }
    }
    let scratch = &*scratch;
    for (oy, out) in dst.chunks_exact_mut(ow).enumerate() {
        let r = oy * stride;
        // Each tap as a slice exactly `ow` long, zipped: no bounds checks, so the loop vectorizes.
        let taps: [&[f32]; 9] = if stride == 1 {
            let tap = |ky: usize, kx: usize| &scratch[(r + ky) * pw + kx..(r + ky) * pw + kx + ow];
            [
                tap(0, 0),
                tap(0, 1),
                tap(0, 2),
                tap(1, 0),
                tap(1, 1),
                tap(1, 2),
                tap(2, 0),
                tap(2, 1),
                tap(2, 2),
            ]
        } else {
            let rw = even_w + odd_w;
            // Column 2x + kx of the padded row: even[x] (kx 0), odd[x] (kx 1), even[x + 1] (kx 2).
            let tap = |ky: usize, kx: usize| {
                let start = (r + ky) * rw + if kx == 1 { even_w } else { kx / 2 };
                &scratch[start..start + ow]
            };
            [
                tap(0, 0),
                tap(0, 1),
                tap(0, 2),
                tap(1, 0),
                tap(1, 1),
                tap(1, 2),
                tap(2, 0),
                tap(2, 1),
                tap(2, 2),
            ]
        };
        let n = out.len();
        let [t0, t1, t2, t3, t4, t5, t6, t7, t8] = taps.map(|t| &t[..n]);
        for i in 0..n {
            out[i] = k[0] * t0[i]
                + k[1] * t1[i]
                + k[2] * t2[i]
                + k[3] * t3[i]
                + k[4] * t4[i]
                + k[5] * t5[i]
                + k[6] * t6[i]
                + k[7] * t7[i]
                + k[8] * t8[i];
        }
    }
}
