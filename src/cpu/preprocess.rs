//! CPU reference of `shaders/preprocess.wgsl`: squash, triangle-filter, reorder, normalise.

use image::RgbaImage;
use rayon::prelude::*;

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

/// The model input for `img` as `[3, s, s]` row-major f32, resized straight to the input size.
/// The triangle filter is separable: each source row is filtered horizontally once, then columns
/// of those — about 1/5 of the work of the 2D sum at 512² → 227², the same weights. Both passes
/// run on the CPU pool, a row per task; every value is computed the same way whatever the split.
pub fn preprocess(img: &RgbaImage, spec: &InputSpec) -> Vec<f32> {
    let (w, h) = img.dimensions();
    let s = spec.size as usize;
    let xs: Vec<_> = (0..spec.size).map(|o| taps(o, w, spec.size)).collect();
    let ys: Vec<_> = (0..spec.size).map(|o| taps(o, h, spec.size)).collect();
    let xsum: Vec<f64> = xs.iter().map(|t| t.iter().map(|&(_, w)| w).sum()).collect();
    let raw = img.as_raw();
    // Horizontal pass: every source row at the output's width, RGB.
    let mut rows = vec![[0.0f64; 3]; h as usize * s];
    rows.par_chunks_mut(s).enumerate().for_each(|(y, out)| {
        let line = &raw[y * w as usize * 4..(y + 1) * w as usize * 4];
        for (acc, xtaps) in out.iter_mut().zip(&xs) {
            for &(x, wx) in xtaps {
                let p = &line[x as usize * 4..x as usize * 4 + 3];
                for c in 0..3 {
                    acc[c] += wx * f64::from(p[c]);
                }
            }
        }
    });
    // Vertical pass, normalised, pixel-interleaved; then split into the three planes.
    let mut pixels = vec![[0.0f32; 3]; s * s];
    pixels.par_chunks_mut(s).zip(&ys).for_each(|(out, ytaps)| {
        let ysum: f64 = ytaps.iter().map(|&(_, w)| w).sum();
        for (ox, px) in out.iter_mut().enumerate() {
            let mut acc = [0.0f64; 3];
            for &(y, wy) in ytaps {
                let r = &rows[y as usize * s + ox];
                for c in 0..3 {
                    acc[c] += wy * r[c];
                }
            }
            let wsum = ysum * xsum[ox];
            for c in 0..3 {
                let v = acc[spec.source[c] as usize] / wsum;
                px[c] = ((v - f64::from(spec.mean[c])) * f64::from(spec.scale[c])) as f32;
            }
        }
    });
    let plane = s * s;
    let mut out = vec![0.0f32; 3 * plane];
    for (i, px) in pixels.iter().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = px[c];
        }
    }
    out
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
