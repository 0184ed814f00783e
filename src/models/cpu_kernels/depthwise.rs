//! A 3x3 depthwise convolution (stride 1 or 2, any padding), one channel plane per task: the
//! padded plane (stride 2: its four phases) in a per-thread scratch, then one flat pass summing
//! all nine taps, the epilogue fused.

use std::cell::RefCell;
use std::mem::MaybeUninit;

use super::epilogue::{Act, Epilogue};

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
    /// Each worker's scratch, kept between calls: the padded plane or its four phases, and the
    /// sums.
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
    super::tiles::for_each_chunk(out, oh * ow, n * c * oh * ow * 9, |plane_index, dst| {
        let ch = plane_index % c;
        let src = &x[plane_index * h * w..(plane_index + 1) * h * w];
        let taps: &[f32; 9] = weight[ch * 9..ch * 9 + 9].try_into().unwrap_or(&[0.0; 9]);
        let offset = plane_index * oh * ow;
        PLANE.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            if stride == 1 {
                plane1_fast(src, shape, taps, &mut scratch, dst, epilogue, ch, offset);
            } else {
                plane2_fast(src, shape, taps, &mut scratch, dst, epilogue, ch, offset);
            }
        });
    });
}

super::simd::multiversion!(
    /// One stride-1 plane ([`plane`], the stride a constant so its divisions fold away),
    /// compiled for the CPU's vector width.
    pub(super) fn plane1_fast => plane::<1>(
        src: &[f32],
        shape: DepthwiseShape,
        k: &[f32; 9],
        scratch: &mut Vec<f32>,
        dst: &mut [MaybeUninit<f32>],
        epilogue: &Epilogue,
        channel: usize,
        offset: usize,
    )
);

super::simd::multiversion!(
    /// One stride-2 plane ([`plane`]).
    pub(super) fn plane2_fast => plane::<2>(
        src: &[f32],
        shape: DepthwiseShape,
        k: &[f32; 9],
        scratch: &mut Vec<f32>,
        dst: &mut [MaybeUninit<f32>],
        epilogue: &Epilogue,
        channel: usize,
        offset: usize,
    )
);

/// One channel plane, the epilogue included. The padded input is copied into `scratch` as its
/// stride² phases (stride 2: even/odd rows x even/odd columns), phase (ry, rx) holding padded
/// pixel (stride·r + ry, stride·c + rx) at `r·pw + c`, zeros wherever that pixel is padding or
/// past the image. Tap (ky, kx) of output (oy, ox) is then phase (ky % s, kx % s) at
/// (oy + ky / s, ox + kx / s): for output i = oy·pw + ox one fixed shift, so one flat loop over
/// the whole plane sums all nine taps (vectorized even for 7-pixel rows). The `pw − ow` extra
/// columns of each row are computed and dropped; the valid ones go to `dst` through the epilogue.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn plane<const S: usize>(
    src: &[f32],
    shape: DepthwiseShape,
    k: &[f32; 9],
    scratch: &mut Vec<f32>,
    dst: &mut [MaybeUninit<f32>],
    epilogue: &Epilogue,
    channel: usize,
    offset: usize,
) {
    let DepthwiseShape { w, .. } = shape;
    let s = S;
    let [pt, pl] = shape.pad;
    let [oh, ow] = shape.out;
    // A tap reaches kx / s ≤ 2 / s columns (and rows) of its phase past the output. With stride
    // 1 and padding on both sides, a row's last (zero) column doubles as the next row's first:
    // one column less per row to compute.
    let reach = 2 / s;
    let right = (ow + 2).saturating_sub(w + pl);
    let shared = usize::from(s == 1 && pl >= 1 && right >= 1);
    let pw = ow + reach - shared;
    let n = oh * pw;
    let size = (oh + reach) * pw + reach;
    scratch.clear();
    scratch.resize(s * s * size + n, 0.0);
    let (phases, acc) = scratch.split_at_mut(s * s * size);
    for (iy, row) in src.chunks_exact(w).enumerate() {
        let (py, px0) = (iy + pt, pl);
        let (ry, r) = (py % s, py / s);
        if r >= oh + reach {
            break;
        }
        if s == 1 {
            let line = &mut phases[r * pw..(r + 1) * pw];
            let len = w.min(pw.saturating_sub(px0));
            line[px0..px0 + len].copy_from_slice(&row[..len]);
        } else {
            // Input column ix is padded column px = ix + pl: column px / 2 of the even or odd
            // phase. Pairs of padded columns (2c, 2c + 1) go to both at once.
            let (even, odd) = phases[ry * 2 * size..(ry * 2 + 2) * size].split_at_mut(size);
            let (even, odd) = (
                &mut even[r * pw..(r + 1) * pw],
                &mut odd[r * pw..(r + 1) * pw],
            );
            let mut ix = 0;
            if pl % 2 == 1 {
                // The first input column is odd.
                if let Some(o) = odd.get_mut(pl / 2) {
                    *o = row[0];
                }
                ix = 1;
            }
            let c0 = (ix + pl) / 2;
            let pairs = ((w - ix) / 2).min(pw.saturating_sub(c0));
            let runs = even[c0..c0 + pairs]
                .iter_mut()
                .zip(odd[c0..c0 + pairs].iter_mut())
                .zip(row[ix..ix + 2 * pairs].chunks_exact(2));
            for ((e, o), pair) in runs {
                *e = pair[0];
                *o = pair[1];
            }
            // A last, even column left over.
            if ix + 2 * pairs < w
                && let Some(e) = even.get_mut(c0 + pairs)
            {
                *e = row[ix + 2 * pairs];
            }
        }
    }
    let tap = |ky: usize, kx: usize| {
        let start = ((ky % s) * s + kx % s) * size + (ky / s) * pw + kx / s;
        &phases[start..start + n]
    };
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
    let taps = [t0, t1, t2, t3, t4, t5, t6, t7, t8];
    // Bias and activation in the taps' own loop (the same arithmetic, in the same order, as
    // after it): a pass of its own per output row cost more than the taps on narrow planes.
    // A residual is laid out by output rows, so it keeps the per-row epilogue.
    let b = epilogue.bias.map_or(0.0, |b| b[channel]);
    match (epilogue.residual, epilogue.act) {
        (None, Act::Linear) => sum_taps(acc, &taps, k, |v| v + b),
        (None, Act::Relu) => sum_taps(acc, &taps, k, |v| Act::Relu.of(v + b)),
        (None, Act::Relu6) => sum_taps(acc, &taps, k, |v| Act::Relu6.of(v + b)),
        (Some(_), _) => sum_taps(acc, &taps, k, |v| v),
    }
    // The valid columns of each row into `dst`, written once (never zeroed first).
    assert_eq!(dst.len(), oh * ow, "depthwise plane output");
    for (out, row) in dst.chunks_exact_mut(ow).zip(acc.chunks_exact(pw)) {
        for (d, &v) in out.iter_mut().zip(&row[..ow]) {
            d.write(v);
        }
    }
    if epilogue.residual.is_some() {
        // SAFETY: every element was written just above (`oh` rows of `ow`), and
        // `MaybeUninit<f32>` has `f32`'s layout.
        let dst = unsafe { &mut *(dst as *mut [MaybeUninit<f32>] as *mut [f32]) };
        for (oy, out) in dst.chunks_exact_mut(ow).enumerate() {
            super::epilogue::finish_row(epilogue, out, channel, offset + oy * ow);
        }
    }
}

/// `acc[i] = finish(Σ_t k[t] · taps[t][i])`, the taps summed in order.
#[inline(always)]
fn sum_taps(acc: &mut [f32], taps: &[&[f32]; 9], k: &[f32; 9], finish: impl Fn(f32) -> f32) {
    let n = acc.len();
    let [t0, t1, t2, t3, t4, t5, t6, t7, t8] = taps.map(|t| &t[..n]);
    for i in 0..n {
        acc[i] = finish(
            k[0] * t0[i]
                + k[1] * t1[i]
                + k[2] * t2[i]
                + k[3] * t3[i]
                + k[4] * t4[i]
                + k[5] * t5[i]
                + k[6] * t6[i]
                + k[7] * t7[i]
                + k[8] * t8[i],
        );
    }
}
