//! Whole-mask operations (the CPU reference of `shaders/morphology.wgsl`): clear, invert, grow and
//! shrink by N pixels. Grow and shrink use a square (2N+1)² window, which makes them separable and
//! makes grow-then-shrink give back any convex mask at least N pixels clear of the image border
//! exactly (each pixel outside a convex set has a window beyond the set's supporting line). Pixels
//! beyond the image never count, so a mask touching the border does not shrink away from it; the
//! price is that near the border a grow-then-shrink can keep a few pixels the grow added.

use image::GrayImage;

/// An operation on the whole mask, recorded in the edit like a stroke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaskOp {
    /// Keep nothing erased (the start of an imported mask).
    Clear,
    /// Erase what was kept and keep what was erased.
    Invert,
    /// Erase every pixel within N pixels (Chebyshev) of an erased one.
    Grow(u32),
    /// Keep every pixel within N pixels (Chebyshev) of a kept one.
    Shrink(u32),
}

impl MaskOp {
    /// The radius of a grow or shrink (0 for the others).
    pub fn radius(self) -> u32 {
        match self {
            MaskOp::Grow(n) | MaskOp::Shrink(n) => n,
            MaskOp::Clear | MaskOp::Invert => 0,
        }
    }
}

/// Applies `op` to `mask` (non-zero = erased; the result holds 0 and 255).
pub fn apply(mask: &mut GrayImage, op: MaskOp) {
    match op {
        MaskOp::Clear => mask.fill(0),
        MaskOp::Invert => {
            for v in mask.iter_mut() {
                *v = if *v == 0 { 255 } else { 0 };
            }
        }
        MaskOp::Grow(n) => {
            window_pass(mask, n, true, true);
            window_pass(mask, n, false, true);
        }
        MaskOp::Shrink(n) => {
            window_pass(mask, n, true, false);
            window_pass(mask, n, false, false);
        }
    }
}

/// One axis of a grow (`any`: set if any pixel within `n` along the axis is set) or a shrink
/// (set if every in-image pixel within `n` is set), with running counts: O(1) per pixel for any n.
fn window_pass(mask: &mut GrayImage, n: u32, horizontal: bool, any: bool) {
    let (w, h) = (mask.width() as usize, mask.height() as usize);
    let (lines, len) = if horizontal { (h, w) } else { (w, h) };
    let index = |line: usize, i: usize| {
        if horizontal {
            line * w + i
        } else {
            i * w + line
        }
    };
    let n = n as usize;
    let raw: &mut [u8] = mask;
    let mut line_in = vec![false; len];
    // prefix[i] = set pixels among the first i of the line.
    let mut prefix = vec![0u32; len + 1];
    for line in 0..lines {
        for (i, v) in line_in.iter_mut().enumerate() {
            *v = raw[index(line, i)] != 0;
        }
        for i in 0..len {
            prefix[i + 1] = prefix[i] + u32::from(line_in[i]);
        }
        for i in 0..len {
            let (lo, hi) = (i.saturating_sub(n), (i + n + 1).min(len));
            let set = prefix[hi] - prefix[lo];
            let on = if any {
                set > 0
            } else {
                set as usize == hi - lo
            };
            raw[index(line, i)] = if on { 255 } else { 0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc(size: u32, c: (f32, f32), r: f32) -> GrayImage {
        GrayImage::from_fn(size, size, |x, y| {
            let (dx, dy) = (x as f32 + 0.5 - c.0, y as f32 + 0.5 - c.1);
            image::Luma([u8::from(dx * dx + dy * dy <= r * r) * 255])
        })
    }

    #[test]
    fn grow_then_shrink_restores_convex_masks() {
        // Discs of many sizes and sub-pixel centres, each at least N pixels from the border.
        for k in 0..40u32 {
            let r = 2.0 + (k % 9) as f32 * 2.7;
            let c = (40.0 + (k % 5) as f32 * 0.37, 40.0 + (k % 7) as f32 * 0.61);
            let original = disc(96, c, r);
            for n in [1, 3, 7] {
                let mut m = original.clone();
                apply(&mut m, MaskOp::Grow(n));
                assert_ne!(m, original);
                apply(&mut m, MaskOp::Shrink(n));
                // Counted, not assert_eq on images: a mismatch would print every pixel.
                let wrong = m
                    .pixels()
                    .zip(original.pixels())
                    .filter(|(a, b)| a != b)
                    .count();
                assert_eq!(
                    wrong, 0,
                    "disc at {c:?} r {r}, n {n}: {wrong} pixels differ"
                );
            }
        }
    }

    #[test]
    fn grow_is_the_square_window_max() {
        let mut m = GrayImage::new(9, 9);
        m.put_pixel(4, 4, image::Luma([255]));
        apply(&mut m, MaskOp::Grow(2));
        for (x, y, p) in m.enumerate_pixels() {
            let inside = (2..=6).contains(&x) && (2..=6).contains(&y);
            assert_eq!(p[0] != 0, inside, "({x}, {y})");
        }
        apply(&mut m, MaskOp::Invert);
        assert_eq!(m.get_pixel(0, 0)[0], 255);
        assert_eq!(m.get_pixel(4, 4)[0], 0);
        apply(&mut m, MaskOp::Clear);
        assert!(m.iter().all(|&v| v == 0));
    }

    #[test]
    fn a_full_mask_does_not_shrink_from_the_border() {
        let mut m = GrayImage::from_pixel(8, 6, image::Luma([255]));
        apply(&mut m, MaskOp::Shrink(3));
        assert!(m.iter().all(|&v| v == 255));
    }
}
