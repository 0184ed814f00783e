//! CPU reference of `shaders/preprocess.wgsl`: squash, triangle-filter, reorder, normalise (also
//! the CPU path's preprocessing).

use std::mem::MaybeUninit;

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

/// Outputs filtered together in the horizontal pass (a vector of f32).
const LANES: usize = 8;

/// [`LANES`] neighbouring outputs' taps as one dense block: the source run `[start, start +
/// span)` they reach together, and each source sample's weight for each of them (zero where its
/// own run does not reach), `weights[j · LANES + lane]`.
struct TapGroup {
    start: usize,
    span: usize,
    weights: Vec<f32>,
}

/// `taps` in groups of [`LANES`] outputs (the last group's missing lanes weigh nothing).
fn tap_groups(taps: &[Taps]) -> Vec<TapGroup> {
    taps.chunks(LANES)
        .map(|group| {
            let start = group.iter().map(|t| t.start).min().unwrap_or(0);
            let end = group
                .iter()
                .map(|t| t.start + t.weights.len())
                .max()
                .unwrap_or(start);
            let span = end - start;
            let mut weights = vec![0.0f32; span * LANES];
            for (lane, t) in group.iter().enumerate() {
                for (j, &k) in t.weights.iter().enumerate() {
                    weights[(t.start - start + j) * LANES + lane] = k;
                }
            }
            TapGroup {
                start,
                span,
                weights,
            }
        })
        .collect()
}

crate::models::cpu_kernels::simd::multiversion!(
    /// One channel row filtered horizontally: `out[o] = Σ_j weight_o(j) · plane[j]`.
    fn filter_row_fast => filter_row(plane: &[f32], groups: &[TapGroup], out: &mut [f32])
);

/// [`filter_row_fast`]: each group's outputs summed together, one source sample at a time (a
/// broadcast times a vector of weights), in increasing source order — the order of the plain
/// dot product, whose zero-weight terms add nothing, so the values are the same.
#[inline(always)]
fn filter_row(plane: &[f32], groups: &[TapGroup], out: &mut [f32]) {
    for (group, out) in groups.iter().zip(out.chunks_mut(LANES)) {
        let mut acc = [0.0f32; LANES];
        let run = &plane[group.start..group.start + group.span];
        for (&v, k) in run.iter().zip(group.weights.chunks_exact(LANES)) {
            for (a, &k) in acc.iter_mut().zip(k) {
                *a += k * v;
            }
        }
        out.copy_from_slice(&acc[..out.len()]);
    }
}

/// The model input for `img` as `[3, s, s]` row-major f32, resized straight to the input size.
/// The triangle filter is separable: each source row is filtered horizontally once (channel
/// planes, eight outputs at a time over their common source run), then the rows of those are
/// summed vertically — a loop over whole output rows that vectorizes. f32 throughout (the GPU
/// pass computes in f32 too); both passes run a row per task on a forward pass's thread team
/// (`ClassifyPipeline::forward_image`) or else rayon's pool, each value computed the same way
/// whatever the split.
pub fn preprocess(img: &RgbaImage, spec: &InputSpec) -> Vec<f32> {
    let (w, h) = img.dimensions();
    let s = spec.size as usize;
    let xs: Vec<Taps> = (0..spec.size)
        .map(|o| normalised_taps(o, w, spec.size))
        .collect();
    let ys: Vec<Taps> = (0..spec.size)
        .map(|o| normalised_taps(o, h, spec.size))
        .collect();
    let groups = tap_groups(&xs);
    let raw = img.as_raw();
    let w = w as usize;
    // Horizontal pass: every source row at the output's width, as three channel rows. The
    // buffers are first touched by the thread that fills each row, in its own cache.
    let mut rows: Vec<f32> = Vec::with_capacity(h as usize * 3 * s);
    let filtered = SharedRows(rows.as_mut_ptr(), h as usize * 3 * s);
    parallel_for(h as usize, |y| {
        PLANES.with(|planes| {
            let mut planes = planes.borrow_mut();
            let line = &raw[y * w * 4..(y + 1) * w * 4];
            planes.resize(3 * w, 0.0f32);
            // One channel at a time: no index checks, one output stream per loop.
            for (c, plane) in planes.chunks_exact_mut(w).enumerate() {
                for (d, p) in plane.iter_mut().zip(line.chunks_exact(4)) {
                    *d = f32::from(p[c]);
                }
            }
            // SAFETY: row y is this task's alone.
            let out = zeroed(unsafe { filtered.uninit(y * 3 * s, 3 * s) });
            for (c, out) in out.chunks_exact_mut(s).enumerate() {
                filter_row_fast(&planes[c * w..(c + 1) * w], &groups, out);
            }
        });
    });
    // SAFETY: every row was written above.
    unsafe { rows.set_len(h as usize * 3 * s) };
    // Vertical pass, then the model's channel order, mean and scale; output row oy of channel c
    // is chunk c·s + oy.
    let mut out: Vec<f32> = Vec::with_capacity(3 * s * s);
    let shared = SharedRows(out.as_mut_ptr(), 3 * s * s);
    parallel_for(3 * s, |i| {
        // SAFETY: output row i is this task's alone.
        let dst = zeroed(unsafe { shared.uninit(i * s, s) });
        let (c, oy) = (i / s, i % s);
        let source = spec.source[c] as usize;
        let t = &ys[oy];
        for (j, &k) in t.weights.iter().enumerate() {
            let y = t.start + j;
            let row = &rows[(y * 3 + source) * s..(y * 3 + source + 1) * s];
            for (d, v) in dst.iter_mut().zip(row) {
                *d += k * v;
            }
        }
        let (mean, scale) = (spec.mean[c], spec.scale[c]);
        for d in dst.iter_mut() {
            *d = (*d - mean) * scale;
        }
    });
    // SAFETY: every output row was written above.
    unsafe { out.set_len(3 * s * s) };
    out
}

/// A buffer written by several tasks, each in its own range.
struct SharedRows(*mut f32, usize);
// SAFETY: the passes above write disjoint ranges, and read none until every task is done.
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
    /// Each thread's channel planes of one source row, kept between rows.
    static PLANES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Zeroes `out` and returns it as the floats it now holds.
fn zeroed(out: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    out.fill(MaybeUninit::new(0.0));
    // SAFETY: every element was just initialised, and `MaybeUninit<f32>` has `f32`'s layout.
    unsafe { &mut *(out as *mut [MaybeUninit<f32>] as *mut [f32]) }
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

    #[test]
    fn grouped_filter_equals_the_plain_dot_products() {
        // Down (the bench's 512 -> 224, a large photo), same size, and up.
        for (src, dst) in [(512, 224), (4000, 227), (227, 227), (100, 227), (9, 4)] {
            let taps: Vec<Taps> = (0..dst).map(|o| normalised_taps(o, src, dst)).collect();
            let plane: Vec<f32> = (0..src).map(|i| ((i * 37) % 256) as f32).collect();
            let mut got = vec![0.0f32; dst as usize];
            filter_row_fast(&plane, &tap_groups(&taps), &mut got);
            for (o, t) in taps.iter().enumerate() {
                let run = &plane[t.start..t.start + t.weights.len()];
                let want: f32 = run.iter().zip(&t.weights).map(|(v, k)| v * k).sum();
                assert_eq!(
                    got[o].to_bits(),
                    want.to_bits(),
                    "{src} -> {dst}, output {o}"
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
