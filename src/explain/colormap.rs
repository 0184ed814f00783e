//! Colour maps that read right: a signed map (evidence for and against) in a diverging map that
//! is transparent near zero, an unsigned one in a sequential map; either drawn over the photo with
//! a colour bar and its scale underneath.

use image::{Rgba, RgbaImage};

use super::Map;
use super::glyphs::{draw_text, number, text_height, text_width};
use crate::models::receptive::Placement;

/// How a map's values read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Positive = evidence for the class, negative = against, 0 = no effect (occlusion drops,
    /// gradient maps before their ReLU). Drawn symmetric about 0.
    Signed,
    /// Larger = more (CAM, ReLU'd gradient maps). Drawn from the minimum to the maximum.
    Unsigned,
}

pub use crate::cpu::compose::{diverging, diverging_alpha, viridis as sequential};

/// The range a map is drawn over: symmetric ±max|v| for signed maps, min..max for unsigned.
pub fn range(map: &Map, scale: Scale) -> (f32, f32) {
    match scale {
        Scale::Signed => {
            let m = map.max_abs().max(1e-12);
            (-m, m)
        }
        Scale::Unsigned => {
            let lo = map.values.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = map.values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            if lo.is_finite() && hi > lo {
                (lo, hi)
            } else {
                (0.0, 1.0)
            }
        }
    }
}

/// Colour and opacity (0..1) of value `v` on a map drawn over `(lo, hi)`.
pub fn colour_of(v: f32, scale: Scale, (lo, hi): (f32, f32)) -> ([f32; 3], f32) {
    match scale {
        Scale::Signed => {
            let t = v / hi.max(1e-12);
            (diverging(t), diverging_alpha(t))
        }
        Scale::Unsigned => (sequential((v - lo) / (hi - lo).max(1e-12)), 1.0),
    }
}

/// `img` with `map` drawn over it at `opacity` (cells where `place` puts them), and a colour bar
/// with its scale in a strip underneath.
pub fn overlay(
    img: &RgbaImage,
    map: &Map,
    place: &Placement,
    scale: Scale,
    opacity: f32,
) -> RgbaImage {
    let (w, h) = img.dimensions();
    let bounds = range(map, scale);
    let text_scale = (w / 300).clamp(1, 4);
    let bar_h = (h / 30).max(8);
    let strip = bar_h + text_height(text_scale) + 6 * text_scale + 4;
    let mut out = RgbaImage::from_pixel(w, h + strip, Rgba([255, 255, 255, 255]));
    for (x, y, p) in img.enumerate_pixels() {
        let v = crate::cpu::compose::cam_sample(&map.values, map.grid, place, x, y);
        let (c, a) = colour_of(v, scale, bounds);
        let a = a * opacity;
        let mix = |i: usize| (f32::from(p[i]) * (1.0 - a) + c[i] * 255.0 * a).round() as u8;
        out.put_pixel(x, y, Rgba([mix(0), mix(1), mix(2), 255]));
    }
    colour_bar(&mut out, h + 2, bar_h, text_scale, scale, bounds);
    out
}

/// The colour bar from `lo` to `hi` at row `top`, ticks and numbers under it: the ends, and 0
/// for a signed map.
fn colour_bar(
    out: &mut RgbaImage,
    top: u32,
    bar_h: u32,
    text_scale: u32,
    scale: Scale,
    (lo, hi): (f32, f32),
) {
    let w = out.width();
    let margin = (w / 20).max(2);
    let (x0, x1) = (margin, w.saturating_sub(margin).max(margin + 1));
    for x in x0..x1 {
        let v = lo + (hi - lo) * (x - x0) as f32 / (x1 - x0 - 1).max(1) as f32;
        let (c, a) = colour_of(v, scale, (lo, hi));
        // On the white strip: the diverging map's transparency shows as white, as on the photo.
        let px = Rgba(std::array::from_fn(|i| {
            if i == 3 {
                255
            } else {
                (255.0 * (1.0 - a) + c[i] * 255.0 * a).round() as u8
            }
        }));
        for y in top..(top + bar_h).min(out.height()) {
            out.put_pixel(x, y, px);
        }
    }
    let black = Rgba([0, 0, 0, 255]);
    let mut ticks = vec![(x0, lo), (x1 - 1, hi)];
    if scale == Scale::Signed {
        ticks.push(((x0 + x1) / 2, 0.0));
    }
    let ty = top + bar_h + text_scale;
    for (x, v) in ticks {
        for y in top + bar_h..(ty + 2 * text_scale).min(out.height()) {
            out.put_pixel(x, y, black);
        }
        let label = number(v);
        let tw = text_width(&label, text_scale);
        let lx = i64::from(x) - i64::from(tw / 2);
        let lx = lx.clamp(0, i64::from(w.saturating_sub(tw)));
        draw_text(
            out,
            lx,
            i64::from(ty + 3 * text_scale),
            &label,
            text_scale,
            black,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_transparent_and_the_ends_are_opposite() {
        assert_eq!(diverging_alpha(0.0), 0.0);
        assert_eq!(diverging_alpha(0.04), 0.0);
        assert_eq!(diverging_alpha(-1.0), 1.0);
        let (neg, pos) = (diverging(-1.0), diverging(1.0));
        assert!(neg[2] > neg[0], "−1 is blue");
        assert!(pos[0] > pos[2], "+1 is red");
        let mid = diverging(0.0);
        assert!(mid.iter().all(|&c| c > 0.9), "0 is near white");
    }

    #[test]
    fn sequential_runs_dark_to_light() {
        let lum = |c: [f32; 3]| 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
        let mut last = -1.0;
        for i in 0..=10 {
            let l = lum(sequential(i as f32 / 10.0));
            assert!(l > last, "viridis luminance rises: {i}");
            last = l;
        }
    }

    #[test]
    fn overlay_adds_a_bar_and_leaves_no_effect_alone() {
        let img = RgbaImage::from_pixel(64, 48, Rgba([90, 120, 150, 255]));
        let map = Map {
            grid: (2, 1),
            values: vec![0.0, 1.0],
        };
        let place = Placement::even(map.grid, img.dimensions());
        let out = overlay(&img, &map, &place, Scale::Signed, 0.6);
        assert!(out.height() > 48);
        // The left edge samples the 0 cell: the photo shows through unchanged.
        assert_eq!(out.get_pixel(0, 10), img.get_pixel(0, 10));
        assert_ne!(out.get_pixel(63, 10), img.get_pixel(63, 10));
        assert_eq!(range(&map, Scale::Signed), (-1.0, 1.0));
    }
}
