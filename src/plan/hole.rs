//! `HoleBounds`: where a mask's hole is and how deep it can be — what decides the region a fill
//! covers and how many dispatches its chain needs, computed on the host without asking the GPU.
//!
//! Every live job and every variant of a deletion curve plans its fill with this, so its cost is
//! in proportion to the hole, not to the image: rows are skipped a word at a time and the
//! distance transform visits hole pixels only.

use image::GrayImage;

/// Where the hole is and how deep it can be: decides the region the passes cover and how many
/// dispatches they need (the GPU is never asked, so nothing is read back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoleBounds {
    /// Bounding box of the hole: x, y, width, height (image pixels).
    pub rect: [u32; 4],
    /// Upper bound of the distance from any hole pixel to the nearest known pixel.
    pub depth: u32,
}

/// Larger than any chamfer distance, with room to add a step without overflow.
const INF: u32 = u32::MAX / 2;

thread_local! {
    /// The distance grid of the last call on this thread, kept for its allocation.
    static SCRATCH: std::cell::Cell<Vec<u32>> = const { std::cell::Cell::new(Vec::new()) };
}

impl HoleBounds {
    /// Bounds of the non-zero pixels of `mask`, or `None` for an empty mask (or one with no known
    /// pixel left). The depth comes from a chamfer distance transform (3-4 weights), which never
    /// underestimates by more than 8%; the margin added covers that and the eikonal solution's
    /// own excess.
    pub fn from_mask(mask: &GrayImage) -> Option<Self> {
        let (w, h) = (mask.width() as usize, mask.height() as usize);
        let raw = mask.as_raw();
        // Each row's hole runs, found a word at a time; the box follows from them.
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        for y in 0..h {
            let row = &raw[y * w..(y + 1) * w];
            let mut x = 0;
            while let Some(start) = next_where(row, x, true) {
                let end = next_where(row, start, false).unwrap_or(w);
                runs.push((y, start, end));
                x = end;
            }
        }
        let (&(y0, ..), &(y1, ..)) = (runs.first()?, runs.last()?);
        let x0 = runs.iter().map(|r| r.1).min()?;
        let x1 = runs.iter().map(|r| r.2).max()? - 1;

        // Chamfer distance (in thirds of a pixel) from each hole pixel to the nearest known one,
        // over the box grown by one pixel: known pixels are 0, and beyond the image there is
        // nothing known. Only hole pixels are visited; their neighbours all lie in the grown box,
        // so no visit needs a bounds check.
        let (bw, bh) = (x1 - x0 + 3, y1 - y0 + 3);
        // The grid is reused between calls (a fresh one would be page-faulted in every job), and
        // only the cells the passes read are set: each run and the rows above and below it, one
        // pixel wider on each side. The rest of the box (most of it for strokes across the
        // image) is never touched, so the cost follows the hole's area, not its box's.
        let mut d = SCRATCH.take();
        if d.len() < bw * bh {
            d.resize(bw * bh, INF);
        }
        for &(y, s, e) in &runs {
            // Box row `by` is image row `by + y0 - 1`; cell `k` of `cells` is image column
            // `s - 1 + k`, for columns s-1..=e.
            for by in y - y0..=y + 2 - y0 {
                let at = by * bw + s + 1 - x0;
                let cells = &mut d[at - 1..=at + e - s];
                match (by + y0).checked_sub(1).filter(|&row| row < h) {
                    None => cells.fill(INF),
                    Some(row) => {
                        // Columns beyond the image's left or right edge: nothing known there.
                        let lo = usize::from(s == 0);
                        let hi = cells.len() - usize::from(e == w);
                        let src = &raw[row * w + s + lo - 1..row * w + s + hi - 1];
                        for (o, &m) in cells[lo..hi].iter_mut().zip(src) {
                            *o = if m == 0 { 0 } else { INF };
                        }
                        cells[..lo].fill(INF);
                        cells[hi..].fill(INF);
                    }
                }
            }
        }
        let at = |y: usize, x: usize| (y + 1 - y0) * bw + (x + 1 - x0);
        // Each pass splits a run's update in two: the neighbours of the row before (above, then
        // below), independent for every pixel, so the loop vectorizes; then the neighbour along
        // the row, a running minimum kept in a register.
        for &(y, s, e) in &runs {
            let (before, rest) = d.split_at_mut(at(y, s));
            let run = &mut rest[..e - s];
            let above = &before[at(y, s) - bw - 1..at(y, e) - bw + 1];
            for (k, o) in run.iter_mut().enumerate() {
                *o = (*o)
                    .min(above[k + 1] + 3)
                    .min(above[k] + 4)
                    .min(above[k + 2] + 4);
            }
            let mut left = before[at(y, s) - 1];
            for o in run.iter_mut() {
                left = (*o).min(left + 3);
                *o = left;
            }
        }
        let mut max = 0;
        for &(y, s, e) in runs.iter().rev() {
            let (upto, after) = d.split_at_mut(at(y, e));
            let run = &mut upto[at(y, s)..];
            let below = &after[at(y, s) + bw - 1 - at(y, e)..bw + 1];
            for (k, o) in run.iter_mut().enumerate() {
                *o = (*o)
                    .min(below[k + 1] + 3)
                    .min(below[k] + 4)
                    .min(below[k + 2] + 4);
            }
            let mut right = after[0];
            for o in run.iter_mut().rev() {
                right = (*o).min(right + 3);
                *o = right;
                max = max.max(right);
            }
        }
        SCRATCH.set(d);
        if max >= INF {
            return None; // the whole image is hole: nothing to fill from
        }
        let depth = (f64::from(max) / 3.0 * 1.1).ceil() as u32 + 2;
        Some(Self {
            rect: [
                x0 as u32,
                y0 as u32,
                (x1 - x0 + 1) as u32,
                (y1 - y0 + 1) as u32,
            ],
            depth,
        })
    }
}

/// The first index at or after `from` whose byte is non-zero (`hole`) or zero (`!hole`).
/// Stretches of the other kind are skipped eight bytes at a time (known ones 64 at a time first).
fn next_where(row: &[u8], from: usize, hole: bool) -> Option<usize> {
    let mut x = from;
    if hole {
        // Known stretches are most of a row: skip them 64 bytes at a time (an OR that
        // vectorizes) before the word steps below.
        while let Some(block) = row.get(x..x + 64) {
            if block.iter().fold(0u8, |a, &b| a | b) != 0 {
                break;
            }
            x += 64;
        }
    }
    while x < row.len() {
        if let Some(word) = row.get(x..x + 8) {
            let v = u64::from_ne_bytes(word.try_into().ok()?);
            // All zero (skip when looking for a hole), or all non-zero (skip when looking for a
            // known pixel: no byte of the word is zero).
            let skip = if hole {
                v == 0
            } else {
                (v.wrapping_sub(0x0101_0101_0101_0101) & !v & 0x8080_8080_8080_8080) == 0
            };
            if skip {
                x += 8;
                continue;
            }
        }
        if (row[x] != 0) == hole {
            return Some(x);
        }
        x += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward two-pass chamfer over the box grown by one: what `from_mask` must
    /// equal.
    fn reference(mask: &GrayImage) -> Option<HoleBounds> {
        let (w, h) = (mask.width() as i64, mask.height() as i64);
        let hole = |x: i64, y: i64| mask.get_pixel(x as u32, y as u32)[0] != 0;
        let pts: Vec<(i64, i64)> = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| hole(x, y))
            .collect();
        let x0 = pts.iter().map(|p| p.0).min()?;
        let x1 = pts.iter().map(|p| p.0).max()?;
        let y0 = pts.iter().map(|p| p.1).min()?;
        let y1 = pts.iter().map(|p| p.1).max()?;
        let mut d = vec![0u32; (w * h) as usize];
        for &(x, y) in &pts {
            d[(y * w + x) as usize] = INF;
        }
        let at = |d: &Vec<u32>, x: i64, y: i64| {
            if x < 0 || y < 0 || x >= w || y >= h {
                INF
            } else {
                d[(y * w + x) as usize]
            }
        };
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) as usize;
                if d[i] != 0 {
                    let m = [
                        at(&d, x - 1, y) + 3,
                        at(&d, x, y - 1) + 3,
                        at(&d, x - 1, y - 1) + 4,
                        at(&d, x + 1, y - 1) + 4,
                    ];
                    d[i] = d[i].min(m.into_iter().min().unwrap_or(INF));
                }
            }
        }
        for y in (0..h).rev() {
            for x in (0..w).rev() {
                let i = (y * w + x) as usize;
                if d[i] != 0 {
                    let m = [
                        at(&d, x + 1, y) + 3,
                        at(&d, x, y + 1) + 3,
                        at(&d, x + 1, y + 1) + 4,
                        at(&d, x - 1, y + 1) + 4,
                    ];
                    d[i] = d[i].min(m.into_iter().min().unwrap_or(INF));
                }
            }
        }
        let max = d.iter().copied().max()?;
        (max < INF).then(|| HoleBounds {
            rect: [
                x0 as u32,
                y0 as u32,
                (x1 - x0 + 1) as u32,
                (y1 - y0 + 1) as u32,
            ],
            depth: (f64::from(max) / 3.0 * 1.1).ceil() as u32 + 2,
        })
    }

    #[test]
    fn hole_bounds_box_and_depth() {
        // A 9-wide vertical band: depth 5 (the centre column is 5 from the nearest known pixel).
        let mask = GrayImage::from_fn(40, 30, |x, _| {
            image::Luma([u8::from((10..19).contains(&x)) * 255])
        });
        let b = HoleBounds::from_mask(&mask).unwrap();
        assert_eq!(b.rect, [10, 0, 9, 30]);
        assert!((5..=9).contains(&b.depth), "{}", b.depth);
        // Touching the left border: the depth runs across the whole hole.
        let edge = GrayImage::from_fn(40, 30, |x, _| image::Luma([u8::from(x < 12) * 255]));
        assert!(HoleBounds::from_mask(&edge).unwrap().depth >= 12);
        assert!(HoleBounds::from_mask(&GrayImage::new(5, 5)).is_none());
        assert!(HoleBounds::from_mask(&GrayImage::from_pixel(5, 5, image::Luma([1]))).is_none());
    }

    #[test]
    fn equals_the_full_chamfer_on_random_masks() {
        // Blobs of random discs on odd sizes (words straddle row ends), some touching borders,
        // some almost covering the image.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u32| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) % u64::from(n.max(1))) as u32
        };
        for case in 0..60 {
            let (w, h) = (1 + next(70), 1 + next(50));
            let discs: Vec<(u32, u32, u32)> = (0..1 + next(6))
                .map(|_| (next(w), next(h), next(3 + case / 4)))
                .collect();
            let mask = GrayImage::from_fn(w, h, |x, y| {
                let inside = discs.iter().any(|&(cx, cy, r)| {
                    let (dx, dy) = (i64::from(x) - i64::from(cx), i64::from(y) - i64::from(cy));
                    dx * dx + dy * dy <= i64::from(r * r)
                });
                image::Luma([if inside { 1 + (x % 250) as u8 } else { 0 }])
            });
            assert_eq!(
                HoleBounds::from_mask(&mask),
                reference(&mask),
                "case {case}: {w}x{h} {discs:?}"
            );
        }
    }

    #[test]
    fn next_where_finds_runs_across_words() {
        let mut row = vec![0u8; 37];
        row[9] = 7;
        row[10..30].fill(255);
        assert_eq!(next_where(&row, 0, true), Some(9));
        assert_eq!(next_where(&row, 9, false), Some(30));
        assert_eq!(next_where(&row, 30, true), None);
        assert_eq!(next_where(&[1u8; 20], 0, false), None);
        // Long known stretches go by in 64-byte blocks: holes at, just before and after a block's
        // edge, and in the tail shorter than a block.
        for at in [0, 63, 64, 65, 127, 128, 190, 199] {
            let mut row = vec![0u8; 200];
            row[at] = 1;
            assert_eq!(next_where(&row, 0, true), Some(at), "hole at {at}");
            assert_eq!(next_where(&row, at + 1, true), None);
        }
    }
}
