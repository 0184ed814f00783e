//! CPU reference of Telea's inpainting (A. Telea, "An image inpainting technique based on the fast
//! marching method", J. Graphics Tools 2004), sequential as in the paper: a fast-marching front
//! advances from the hole's boundary in order of the distance T, and each pixel is filled from the
//! already known pixels within radius ε. The paper fills a pixel when the front first touches it,
//! with its tentative T and the narrow band counted as known; here it is filled when its T becomes
//! final (it is accepted), from the pixels of strictly smaller T. Same order, same weights, but no
//! dependence on the narrow band's tentative values or on the queue order among equal T; it is
//! also the limit of the GPU's banded schedule as the bands get thin.
//!
//! Weights and the gradient term follow OpenCV's `cv2.inpaint(..., INPAINT_TELEA)`:
//! w = |dir| · dst · lev with dst = 1/|r|³, lev = 1/(1 + |T(q) − T(p)|), dir = r·∇T (floored at
//! 1e-6 when |r·∇T| ≤ 0.01), and the gradient term added as OpenCV does, normalised
//! ((Jx + Jy)/|J|, at most √2 levels). Differences from OpenCV, all deliberate: the image border
//! is filled too (OpenCV leaves the first row and column of a hole untouched), T of a narrow-band
//! pixel is updated when a neighbour is accepted (the paper's FMM; OpenCV computes it once), image
//! gradients use the central difference ½(I₊ − I₋) (OpenCV scales it by 2), and values are rounded
//! to nearest (OpenCV adds ½ before rounding).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use image::{GrayImage, RgbaImage};

use crate::{Error, Result};

/// Default neighbourhood radius ε, in pixels (OpenCV's usual choice).
pub const DEFAULT_RADIUS: u32 = 5;
/// Distance of pixels not reached (yet).
pub const FAR: f32 = 1.0e6;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flag {
    Known,
    Band,
    Inside,
}

/// Checks the mask against the image; returns whether there is anything to fill.
pub fn validate_mask(img: (u32, u32), mask: &GrayImage) -> Result<bool> {
    crate::error::check_mask_size(mask.dimensions(), img)?;
    let holes = mask.as_raw().iter().filter(|&&m| m != 0).count();
    if holes == mask.as_raw().len() {
        return Err(Error::Invalid(
            "the mask covers the whole image: there is no known pixel to fill from".into(),
        ));
    }
    Ok(holes > 0)
}

/// One step of the first-order upwind eikonal update |∇T| = 1 from the two neighbours `a` and `b`
/// (one horizontal, one vertical), either of which may be unavailable (`None`).
pub fn solve_eikonal(a: Option<f32>, b: Option<f32>) -> f32 {
    match (a, b) {
        (Some(a), Some(b)) => {
            if (a - b).abs() >= 1.0 {
                1.0 + a.min(b)
            } else {
                0.5 * (a + b + (2.0 - (a - b) * (a - b)).sqrt())
            }
        }
        (Some(a), None) => 1.0 + a,
        (None, Some(b)) => 1.0 + b,
        (None, None) => FAR,
    }
}

/// A front entry: smallest T first, then first in first out.
#[derive(PartialEq)]
struct Entry {
    t: f32,
    seq: u64,
    index: usize,
}

impl Eq for Entry {}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other.t.total_cmp(&self.t).then(other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

struct Grid {
    w: i64,
    h: i64,
}

impl Grid {
    fn at(&self, x: i64, y: i64) -> Option<usize> {
        (x >= 0 && y >= 0 && x < self.w && y < self.h).then(|| (y * self.w + x) as usize)
    }
}

/// T at `i` from its neighbours that are not `Inside` (the minimum over the four quadrants).
fn update_t(g: &Grid, flags: &[Flag], t: &[f32], x: i64, y: i64) -> f32 {
    let get = |x, y| {
        g.at(x, y)
            .filter(|&j| flags[j] != Flag::Inside)
            .map(|j| t[j])
    };
    let (l, r, u, d) = (get(x - 1, y), get(x + 1, y), get(x, y - 1), get(x, y + 1));
    [(u, l), (d, l), (u, r), (d, r)]
        .into_iter()
        .map(|(a, b)| solve_eikonal(a, b))
        .fold(FAR, f32::min)
}

/// Runs a fast-marching front from `front` over the pixels flagged `Inside`, calling `accept` as
/// each pixel's T becomes final (in increasing T), before it is flagged `Known`.
fn march(
    g: &Grid,
    flags: &mut [Flag],
    t: &mut [f32],
    front: Vec<usize>,
    mut accept: impl FnMut(&[Flag], &[f32], i64, i64),
) {
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    for index in front {
        heap.push(Entry {
            t: t[index],
            seq,
            index,
        });
        seq += 1;
    }
    while let Some(Entry { t: te, index, .. }) = heap.pop() {
        if flags[index] == Flag::Known || te > t[index] {
            continue; // stale entry
        }
        let (x, y) = ((index as i64) % g.w, (index as i64) / g.w);
        accept(flags, t, x, y);
        flags[index] = Flag::Known;
        for (nx, ny) in [(x, y - 1), (x - 1, y), (x, y + 1), (x + 1, y)] {
            let Some(n) = g.at(nx, ny) else { continue };
            match flags[n] {
                Flag::Inside => {
                    t[n] = update_t(g, flags, t, nx, ny);
                    flags[n] = Flag::Band;
                    heap.push(Entry {
                        t: t[n],
                        seq,
                        index: n,
                    });
                    seq += 1;
                }
                // The initial front (T = 0) is fixed; only pixels the march reached are updated.
                Flag::Band if t[n] > 0.0 => {
                    let updated = update_t(g, flags, t, nx, ny);
                    if updated < t[n] {
                        t[n] = updated;
                        heap.push(Entry {
                            t: updated,
                            seq,
                            index: n,
                        });
                        seq += 1;
                    }
                }
                Flag::Known | Flag::Band => {}
            }
        }
    }
}

/// Fills the pixels where `mask` is non-zero, from the rest of `img`, with radius `radius`.
/// Pixels outside the mask are returned unchanged.
pub fn telea(img: &RgbaImage, mask: &GrayImage, radius: u32) -> Result<RgbaImage> {
    let mut out = img.clone();
    if !validate_mask(img.dimensions(), mask)? {
        return Ok(out);
    }
    let radius = radius.max(1) as i64;
    let g = Grid {
        w: i64::from(img.width()),
        h: i64::from(img.height()),
    };
    let n = (g.w * g.h) as usize;
    let hole: Vec<bool> = mask.as_raw().iter().map(|&m| m != 0).collect();

    // The band: known pixels 4-adjacent to the hole, T = 0.
    let mut band = Vec::new();
    for i in 0..n {
        let (x, y) = ((i as i64) % g.w, (i as i64) / g.w);
        if !hole[i]
            && [(x, y - 1), (x - 1, y), (x, y + 1), (x + 1, y)]
                .iter()
                .any(|&(nx, ny)| g.at(nx, ny).is_some_and(|j| hole[j]))
        {
            band.push(i);
        }
    }

    // Outside: distance from the band into the known pixels within `radius` of the hole, negated,
    // so that lev favours known pixels on the hole's own level set.
    let mut t = vec![FAR; n];
    let mut flags = vec![Flag::Known; n];
    for &b in &band {
        t[b] = 0.0;
    }
    let near_hole = dilate(&g, &hole, radius);
    for i in 0..n {
        if near_hole[i] && !hole[i] && t[i] != 0.0 {
            flags[i] = Flag::Inside;
        }
    }
    for &b in &band {
        flags[b] = Flag::Band;
    }
    march(&g, &mut flags, &mut t, band.clone(), |_, _, _, _| {});
    for i in 0..n {
        if !hole[i] && t[i] < FAR {
            t[i] = -t[i];
        }
    }

    // Inside: march into the hole, filling each pixel as its T becomes final, from the pixels
    // accepted before it.
    for i in 0..n {
        flags[i] = if hole[i] { Flag::Inside } else { Flag::Known };
        if hole[i] {
            t[i] = FAR;
        }
    }
    for &b in &band {
        flags[b] = Flag::Band;
    }
    let mut pixels: Vec<[f32; 3]> = img
        .pixels()
        .map(|p| [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])])
        .collect();
    // What a fill may read, as one comparison: `usable[j] < T(p)` holds for the known pixels
    // (−∞: every pixel outside the hole is accepted before any pixel inside it, as T = 0 on the
    // band and T > 0 in the hole) and for the hole pixels accepted with a T strictly below T(p)
    // (their T, set on acceptance; +∞ until then).
    let mut usable: Vec<f32> = hole
        .iter()
        .map(|&h| if h { f32::INFINITY } else { f32::NEG_INFINITY })
        .collect();
    let disc = disc(radius);
    march(&g, &mut flags, &mut t, band, |_, t, x, y| {
        let i = (y * g.w + x) as usize;
        if !hole[i] {
            return; // the initial band
        }
        // Pixels of equal T (common: a straight edge) are accepted in queue order; none may see
        // another, so the result does not depend on that order.
        let tp = t[i];
        // Away from the border (the disc and its neighbours inside the image) no bounds checks.
        let margin = radius + 1;
        let value = if x >= margin && y >= margin && x + margin < g.w && y + margin < g.h {
            fill_pixel(&disc, x, y, g.w, t, &pixels, |x, y| {
                let j = (y * g.w + x) as usize;
                (usable[j] < tp).then_some(j)
            })
        } else {
            fill_pixel(&disc, x, y, g.w, t, &pixels, |x, y| {
                g.at(x, y).filter(|&j| usable[j] < tp)
            })
        };
        usable[i] = tp;
        pixels[i] = value;
        let p = out.get_pixel_mut(x as u32, y as u32);
        for c in 0..3 {
            p[c] = value[c] as u8;
        }
    });
    Ok(out)
}

/// One pixel q of the neighbourhood disc: its offset from p, r = p − q, and the distance weight
/// 1/|r|³.
struct Tap {
    dx: i64,
    dy: i64,
    rx: f32,
    ry: f32,
    dst: f32,
}

/// The pixels within `radius` of p (p excluded), row by row: the order the sums run in.
fn disc(radius: i64) -> Vec<Tap> {
    let mut taps = Vec::new();
    for dy in -radius..=radius {
        for dx in -radius..=radius {
            let (rx, ry) = ((-dx) as f32, (-dy) as f32);
            let len2 = rx * rx + ry * ry;
            if len2 > (radius * radius) as f32 || len2 == 0.0 {
                continue;
            }
            taps.push(Tap {
                dx,
                dy,
                rx,
                ry,
                dst: 1.0 / (len2 * len2.sqrt()),
            });
        }
    }
    taps
}

/// Telea's estimate for pixel (x, y) from the known pixels of `disc` around it; `known(x, y)`
/// gives the index of a usable pixel. Values are rounded to 8-bit levels (as stored).
fn fill_pixel(
    disc: &[Tap],
    x: i64,
    y: i64,
    w: i64,
    t: &[f32],
    pixels: &[[f32; 3]],
    known: impl Fn(i64, i64) -> Option<usize>,
) -> [f32; 3] {
    let p = (y * w + x) as usize;
    let tp = t[p];
    // ∇T at p from usable neighbours: central where both exist, one-sided otherwise.
    let diff = |plus: Option<usize>, minus: Option<usize>, centre: f32| match (plus, minus) {
        (Some(a), Some(b)) => 0.5 * (t[a] - t[b]),
        (Some(a), None) => t[a] - centre,
        (None, Some(b)) => centre - t[b],
        (None, None) => 0.0,
    };
    let grad_t = [
        diff(known(x + 1, y), known(x - 1, y), tp),
        diff(known(x, y + 1), known(x, y - 1), tp),
    ];
    let mut ia = [0.0f32; 3];
    let mut jx = [0.0f32; 3];
    let mut jy = [0.0f32; 3];
    let mut s = 1.0e-20f32;
    for tap in disc {
        let (qx, qy) = (x + tap.dx, y + tap.dy);
        let Some(q) = known(qx, qy) else { continue };
        let (rx, ry) = (tap.rx, tap.ry);
        let lev = 1.0 / (1.0 + (t[q] - tp).abs());
        let mut dir = rx * grad_t[0] + ry * grad_t[1];
        if dir.abs() <= 0.01 {
            dir = 1.0e-6;
        }
        let w = (tap.dst * lev * dir).abs();
        let (qr, ql, qd, qu) = (
            known(qx + 1, qy),
            known(qx - 1, qy),
            known(qx, qy + 1),
            known(qx, qy - 1),
        );
        for c in 0..3 {
            let grad = |plus: Option<usize>, minus: Option<usize>| match (plus, minus) {
                (Some(a), Some(b)) => 0.5 * (pixels[a][c] - pixels[b][c]),
                (Some(a), None) => pixels[a][c] - pixels[q][c],
                (None, Some(b)) => pixels[q][c] - pixels[b][c],
                (None, None) => 0.0,
            };
            ia[c] += w * pixels[q][c];
            jx[c] -= w * grad(qr, ql) * rx;
            jy[c] -= w * grad(qd, qu) * ry;
        }
        s += w;
    }
    let mut out = [0.0; 3];
    for c in 0..3 {
        let j = (jx[c] + jy[c]) / ((jx[c] * jx[c] + jy[c] * jy[c]).sqrt() + 1.0e-20);
        out[c] = (ia[c] / s + j).round().clamp(0.0, 255.0);
    }
    out
}

/// Pixels within Chebyshev distance `r` of a set pixel.
fn dilate(g: &Grid, set: &[bool], r: i64) -> Vec<bool> {
    // Separable (rows, then columns), each a sliding window over a running count of set pixels:
    // O(1) per pixel whatever the radius.
    let (w, h) = (g.w as usize, g.h as usize);
    let r = r.max(0) as usize;
    let mut rows = vec![false; set.len()];
    for y in 0..h {
        let line = &set[y * w..(y + 1) * w];
        window_any(line.len(), r, |i| line[i], |i, v| rows[y * w + i] = v);
    }
    let mut out = vec![false; set.len()];
    for x in 0..w {
        window_any(h, r, |i| rows[i * w + x], |i, v| out[i * w + x] = v);
    }
    out
}

/// For each `i < len`: whether `get(j)` holds for some `j` within `r` of `i`; written by `put`.
fn window_any(len: usize, r: usize, get: impl Fn(usize) -> bool, mut put: impl FnMut(usize, bool)) {
    // Count of set entries in [i - r, i + r] ∩ [0, len).
    let mut count = (0..r.min(len)).filter(|&j| get(j)).count();
    for i in 0..len {
        if i + r < len && get(i + r) {
            count += 1;
        }
        if i > r && get(i - r - 1) {
            count -= 1;
        }
        put(i, count > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(w: u32, h: u32, v: u8) -> RgbaImage {
        RgbaImage::from_pixel(w, h, image::Rgba([v, v / 2, 255 - v, 255]))
    }

    #[test]
    fn empty_mask_is_identity_and_full_mask_is_an_error() {
        let img = flat(8, 6, 100);
        let empty = GrayImage::new(8, 6);
        assert_eq!(telea(&img, &empty, 5).unwrap(), img);
        let full = GrayImage::from_pixel(8, 6, image::Luma([255]));
        assert!(
            telea(&img, &full, 5)
                .unwrap_err()
                .to_string()
                .contains("whole image")
        );
        let wrong = GrayImage::new(6, 8);
        assert!(
            telea(&img, &wrong, 5)
                .unwrap_err()
                .to_string()
                .contains("6x8")
        );
    }

    #[test]
    fn flat_image_is_filled_flat_and_outside_untouched() {
        let img = flat(20, 15, 120);
        let mut mask = GrayImage::new(20, 15);
        for y in 0..15 {
            for x in 0..7 {
                mask.put_pixel(x, y, image::Luma([255])); // touches three borders
            }
        }
        let out = telea(&img, &mask, 5).unwrap();
        for (a, b) in out.pixels().zip(img.pixels()) {
            for c in 0..3 {
                assert!(
                    (i32::from(a[c]) - i32::from(b[c])).abs() <= 1,
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn distance_grows_into_the_hole() {
        // A horizontal gradient with a vertical slot: the fill interpolates between the sides.
        let img = RgbaImage::from_fn(30, 10, |x, _| image::Rgba([(x * 8) as u8, 0, 0, 255]));
        let mut mask = GrayImage::new(30, 10);
        for y in 0..10 {
            for x in 12..18 {
                mask.put_pixel(x, y, image::Luma([1]));
            }
        }
        let out = telea(&img, &mask, 5).unwrap();
        let mid = out.get_pixel(15, 5)[0];
        assert!((100..=140).contains(&mid), "{mid}");
        assert!(out.get_pixel(12, 5)[0] < out.get_pixel(17, 5)[0]);
    }

    #[test]
    fn dilate_matches_the_definition() {
        let g = Grid { w: 13, h: 7 };
        let set: Vec<bool> = (0..13 * 7).map(|i| i % 17 == 3 || i == 90).collect();
        for r in [0, 1, 2, 5, 20] {
            let got = dilate(&g, &set, r);
            for y in 0..g.h {
                for x in 0..g.w {
                    let want = (y - r..=y + r)
                        .any(|qy| (x - r..=x + r).any(|qx| g.at(qx, qy).is_some_and(|j| set[j])));
                    assert_eq!(got[(y * g.w + x) as usize], want, "r {r} at ({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn eikonal_solve_matches_known_values() {
        assert_eq!(solve_eikonal(Some(0.0), None), 1.0);
        assert!(
            (solve_eikonal(Some(0.0), Some(0.0)) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6
        );
        assert_eq!(solve_eikonal(Some(0.0), Some(3.0)), 1.0);
    }
}
