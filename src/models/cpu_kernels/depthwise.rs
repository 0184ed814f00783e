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

/// One channel plane with padding 1 (see `same` above), the epilogue included. The input is
/// copied into `scratch` as a fully padded plane: a zero row above and below, one zero column
/// after each row (it is also the next row's left padding) and a zero before the first element —
/// stride 2 as its four phases (even/odd rows x even/odd columns), each so padded. Every tap is
/// then the padded plane at a fixed shift, so one flat loop over the whole plane sums all nine
/// (vectorized even for 7-pixel rows); the valid columns go to `dst` through the epilogue.
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
    let DepthwiseShape { w, stride, .. } = shape;
    let [oh, ow] = shape.out;
    // Padded row length, the output's padded size, one padded plane's size.
    let pw = ow + 1;
    let n = oh * pw;
    let size = (oh + 2) * pw + 2;
    let planes = if stride == 1 { 1 } else { 4 };
    scratch.clear();
    scratch.resize(planes * size + n, 0.0);
    let (input, acc) = scratch.split_at_mut(planes * size);
    // Row r of a padded plane starts at 1 + (r + 1)·pw.
    let row_at = |r: usize| 1 + (r + 1) * pw;
    if stride == 1 {
        for (r, row) in src.chunks_exact(w).enumerate() {
            input[row_at(r)..row_at(r) + w].copy_from_slice(row);
        }
    } else {
        // phase(ry, rx) row r, column c = input[2r + ry][2c + rx].
        for (y, row) in src.chunks_exact(w).enumerate() {
            let (ry, r) = (y % 2, y / 2);
            let (even, odd) = input[ry * 2 * size..(ry * 2 + 2) * size].split_at_mut(size);
            let (even, odd) = (
                &mut even[row_at(r)..row_at(r) + ow],
                &mut odd[row_at(r)..row_at(r) + ow],
            );
            for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(row.chunks_exact(2)) {
                *e = pair[0];
                *o = pair[1];
            }
        }
    }
    // Tap (ky, kx) of output i (= oy·pw + ox) is element i + start of the input.
    let start = |ky: usize, kx: usize| -> usize {
        if stride == 1 {
            // Input row oy + ky − 1, column ox + kx − 1.
            1 + ky * pw + kx - 1
        } else {
            // Input row 2·oy + ky − 1: odd rows, one up (ky 0); even rows (ky 1); odd rows (ky 2).
            // Column 2·ox + kx − 1 likewise.
            let (ry, up) = [(1, 1), (0, 0), (1, 0)][ky];
            let (rx, left) = [(1, 1), (0, 0), (1, 0)][kx];
            (ry * 2 + rx) * size + 1 + pw - up * pw - left
        }
    };
    let tap = |ky: usize, kx: usize| &input[start(ky, kx)..start(ky, kx) + n];
    let [t0, t1, t2, t3, t4, t5, t6, t7, t8] = [
        tap(0, 0),
        tap(0, 1),
        tap(0, 2),
        tap(1, 0),
        tap(1, 1),
        tap(1, 2),
        tap(2, 0),
        tap(2, 1),
        tap(2, 2),
    ];
    let acc = &mut acc[..n];
    for i in 0..n {
        acc[i] = k[0] * t0[i]
            + k[1] * t1[i]
            + k[2] * t2[i]
            + k[3] * t3[i]
            + k[4] * t4[i]
            + k[5] * t5[i]
            + k[6] * t6[i]
            + k[7] * t7[i]
            + k[8] * t8[i];
    }
    for (oy, (out, row)) in dst
        .chunks_exact_mut(ow)
        .zip(acc.chunks_exact(pw))
        .enumerate()
    {
        out.copy_from_slice(&row[..ow]);
        super::epilogue::finish_row(epilogue, out, channel, offset + oy * ow);
    }
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
