//! CPU reference of `shaders/preprocess.wgsl`: squash, triangle-filter, reorder, normalise (also
//! the CPU path's preprocessing).

use std::mem::MaybeUninit;
use std::sync::{Arc, Mutex};

use crate::models::cpu_kernels::team::parallel_for;
use image::RgbaImage;

use crate::models::InputSpec;

/// Triangle-filter taps `(index, weight)` for output sample `o` when resizing `src` samples to
/// `dst` (unnormalised; the same arithmetic as the shader).
fn taps(o: u32, src: u32, dst: u32) -> Vec<(u32, f64)> {
    let ratio = f64::from(src) / f64::from(dst);
    let support = ratio.max(1.0);
    let center = (f64::from(o) + 0.5) * ratio;
    let lo = ((center - support).floor() as i64).max(0);
    let hi = ((center + support).ceil() as i64).min(i64::from(src) - 1);
    (lo..=hi)
        .filter_map(|i| {
            let w = (1.0 - ((i as f64) + 0.5 - center).abs() / support).max(0.0);
            (w > 0.0).then_some((i as u32, w))
        })
        .collect()
}

/// One output sample's taps: the first source index and the weights of the contiguous run from
/// there, normalised to sum to 1.
struct Taps {
    start: usize,
    weights: Vec<f32>,
}

/// [`taps`] as a contiguous run of normalised f32 weights.
fn normalised_taps(o: u32, src: u32, dst: u32) -> Taps {
    let taps = taps(o, src, dst);
    let sum: f64 = taps.iter().map(|&(_, w)| w).sum();
    let start = taps.first().map_or(0, |&(i, _)| i as usize);
    let end = taps.last().map_or(0, |&(i, _)| i as usize + 1);
    let mut weights = vec![0.0f32; end.saturating_sub(start)];
    for (i, w) in taps {
        weights[i as usize - start] = (w / sum) as f32;
    }
    Taps { start, weights }
}

crate::models::cpu_kernels::simd::multiversion!(
    /// One output row, all of it from the source's bytes: the rows under its vertical taps
    /// summed into `acc`, then each output pixel's horizontal taps over that, written to the
    /// model's three channel rows.
    fn output_row_fast => output_row(
        raw: &[u8],
        width: usize,
        vertical: &Taps,
        horizontal: &[Taps],
        spec: &InputSpec,
        acc: &mut [f32],
        out: [&mut [MaybeUninit<f32>]; 3],
    )
);

/// [`output_row_fast`]. The vertical pass runs first, over whole interleaved RGBA rows: a loop
/// that converts bytes and multiply-adds sixteen or so lanes at a time, and leaves one row at
/// the source's width — in L1 for the horizontal taps that follow (four channels at a time).
/// Starting vertically does the expensive, wide work once per *output* row instead of once per
/// source row, and never writes an intermediate image.
#[inline(always)]
fn output_row(
    raw: &[u8],
    width: usize,
    vertical: &Taps,
    horizontal: &[Taps],
    spec: &InputSpec,
    acc: &mut [f32],
    out: [&mut [MaybeUninit<f32>]; 3],
) {
    let line = 4 * width;
    for (j, &k) in vertical.weights.iter().enumerate() {
        let y = vertical.start + j;
        let src = &raw[y * line..(y + 1) * line];
        if j == 0 {
            for (a, &b) in acc.iter_mut().zip(src) {
                *a = k * f32::from(b);
            }
        } else {
            for (a, &b) in acc.iter_mut().zip(src) {
                *a += k * f32::from(b);
            }
        }
    }
    if vertical.weights.is_empty() {
        acc.fill(0.0);
    }
    // Each output pixel's four channels (one vector of taps), then the model's three channels
    // picked from those in a loop of their own: a lane chosen at run time inside the taps'
    // loop kept the sums on the stack.
    let (acc, pixels) = acc.split_at_mut(4 * width);
    for (t, px) in horizontal.iter().zip(pixels.chunks_exact_mut(4)) {
        let mut rgba = [0.0f32; 4];
        let run = &acc[4 * t.start..4 * (t.start + t.weights.len())];
        for (&k, p) in t.weights.iter().zip(run.chunks_exact(4)) {
            for (s, &v) in rgba.iter_mut().zip(p) {
                *s += k * v;
            }
        }
        px.copy_from_slice(&rgba);
    }
    for (c, out) in out.into_iter().enumerate() {
        let (lane, mean, scale) = (spec.source[c] as usize & 3, spec.mean[c], spec.scale[c]);
        for (o, px) in out.iter_mut().zip(pixels.chunks_exact(4)) {
            o.write((px[lane] - mean) * scale);
        }
    }
}

/// The model input for `img` as `[3, s, s]` row-major f32, resized straight to the input size
/// with the separable triangle filter: one task per output row ([`output_row_fast`]) on a
/// forward pass's thread team (`ClassifyPipeline::forward_image`) or else rayon's pool, each
/// value computed the same way whatever the split. f32 throughout (the GPU pass computes in f32
/// too).
pub fn preprocess(img: &RgbaImage, spec: &InputSpec) -> Vec<f32> {
    let (w, h) = img.dimensions();
    let s = spec.size as usize;
    let taps = taps_for(w, h, spec.size);
    let (xs, ys) = (&taps.xs, &taps.ys);
    let raw = img.as_raw();
    let w = w as usize;
    let mut out: Vec<f32> = Vec::with_capacity(3 * s * s);
    let shared = SharedRows(out.as_mut_ptr(), 3 * s * s);
    parallel_for(s, |oy| {
        ACC.with(|acc| {
            let mut acc = acc.borrow_mut();
            acc.resize(4 * (w + s), 0.0);
            // SAFETY: output row oy of each channel is this task's alone.
            let rows = [0, 1, 2].map(|c| unsafe { shared.uninit(c * s * s + oy * s, s) });
            output_row_fast(raw, w, &ys[oy], xs, spec, &mut acc, rows);
        });
    });
    // SAFETY: every output row was written above.
    unsafe { out.set_len(3 * s * s) };
    out
}

/// Every output column's and row's taps for one source size and input size.
struct ResizeTaps {
    /// Source `[width, height]` and output side they were made for.
    key: [u32; 3],
    /// Per output column.
    xs: Vec<Taps>,
    /// Per output row.
    ys: Vec<Taps>,
}

/// The taps for resizing `w` x `h` to `s` x `s`: the last ones made, when the sizes match (the
/// live loop preprocesses the same size again and again), else made afresh.
fn taps_for(w: u32, h: u32, s: u32) -> Arc<ResizeTaps> {
    static LAST: Mutex<Option<Arc<ResizeTaps>>> = Mutex::new(None);
    let key = [w, h, s];
    // A poisoned lock only ever held a finished value: use it.
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(taps) = last.as_ref().filter(|t| t.key == key) {
        return taps.clone();
    }
    let taps = Arc::new(ResizeTaps {
        key,
        xs: (0..s).map(|o| normalised_taps(o, w, s)).collect(),
        ys: (0..s).map(|o| normalised_taps(o, h, s)).collect(),
    });
    *last = Some(taps.clone());
    taps
}

/// A buffer written by several tasks, each in its own range.
struct SharedRows(*mut f32, usize);
// SAFETY: the tasks above write disjoint ranges, and none is read until every task is done.
unsafe impl Sync for SharedRows {}

impl SharedRows {
    /// Elements `[at, at + len)`, not yet initialised.
    ///
    /// # Safety
    /// No other task may use this range meanwhile.
    #[allow(clippy::mut_from_ref)]
    unsafe fn uninit(&self, at: usize, len: usize) -> &mut [MaybeUninit<f32>] {
        assert!(at + len <= self.1, "rows {at}+{len} past {}", self.1);
        // SAFETY: in bounds (the buffer's capacity); exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(at).cast(), len) }
    }
}

thread_local! {
    /// Each thread's vertically filtered source row, then its output row (both interleaved
    /// RGBA), kept between rows.
    static ACC: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_size_copies_pixels() {
        let img = RgbaImage::from_fn(4, 4, |x, y| {
            image::Rgba([(x * 10) as u8, (y * 10) as u8, 7, 255])
        });
        let spec = InputSpec {
            size: 4,
            source: [2, 1, 0],
            mean: [0.0; 3],
            scale: [1.0; 3],
        };
        let out = preprocess(&img, &spec);
        // Channel 0 is blue (7), channel 2 is red (x * 10).
        assert!(out[..16].iter().all(|&v| (v - 7.0).abs() < 1e-4));
        assert!((out[2 * 16 + 3] - 30.0).abs() < 1e-4);
    }

    /// Straight from the definition, in f64: each output the 2D sum of its row taps times its
    /// column taps over the source, then the channel order, mean and scale.
    fn reference(img: &RgbaImage, spec: &InputSpec) -> Vec<f64> {
        let (w, h) = img.dimensions();
        let s = spec.size;
        let mut out = vec![0.0; 3 * (s * s) as usize];
        for oy in 0..s {
            let ty = taps(oy, h, s);
            let wy: f64 = ty.iter().map(|t| t.1).sum();
            for ox in 0..s {
                let tx = taps(ox, w, s);
                let wx: f64 = tx.iter().map(|t| t.1).sum();
                for c in 0..3 {
                    let mut sum = 0.0;
                    for &(y, ky) in &ty {
                        for &(x, kx) in &tx {
                            let v = img.get_pixel(x, y)[spec.source[c] as usize];
                            sum += ky * kx * f64::from(v);
                        }
                    }
                    let v = sum / (wx * wy);
                    out[((c as u32 * s + oy) * s + ox) as usize] =
                        (v - f64::from(spec.mean[c])) * f64::from(spec.scale[c]);
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_two_dimensional_definition() {
        let spec = InputSpec {
            size: 23,
            source: [2, 1, 0],
            mean: [103.9, 116.8, 123.7],
            scale: [0.017, 0.018, 0.019],
        };
        // Down (non-integer, anisotropic), same size, up, and a one-pixel-high strip.
        for (w, h) in [(97, 61), (23, 23), (9, 14), (40, 1)] {
            let img = RgbaImage::from_fn(w, h, |x, y| {
                let n = (x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663)) % 251;
                image::Rgba([
                    (x * 255 / w) as u8,
                    ((x / 3 + y / 2) % 2 * 200) as u8,
                    n as u8,
                    9,
                ])
            });
            let got = preprocess(&img, &spec);
            let want = reference(&img, &spec);
            for (i, (g, r)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (f64::from(*g) - r).abs() <= 1e-4 * r.abs().max(1.0),
                    "{w}x{h}: value {i} is {g}, want {r}"
                );
            }
        }
    }

    #[test]
    fn downscale_averages() {
        // 2x downscale of a 0/255 checkerboard gives a flat mid-grey away from the border.
        let img = RgbaImage::from_fn(8, 8, |x, y| {
            let v = if (x + y) % 2 == 0 { 255 } else { 0 };
            image::Rgba([v, v, v, 255])
        });
        let spec = InputSpec {
            size: 4,
            source: [0, 1, 2],
            mean: [0.0; 3],
            scale: [1.0; 3],
        };
        let out = preprocess(&img, &spec);
        assert!((out[5] - 127.5).abs() < 1.0, "{}", out[5]);
    }
}
