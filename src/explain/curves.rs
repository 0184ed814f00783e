//! Deletion and insertion curves (Petsiuk et al. 2018), with the removal done by inpainting as
//! in ROAD (Rong et al. 2022): remove the pixels a map ranks most important first, in k equal
//! steps, and watch the class's probability fall (deletion); or start from the fully removed
//! image and give the pixels back in the same order (insertion). A map that finds what matters
//! has a low deletion area and a high insertion area.

use image::GrayImage;

use super::Map;
use crate::cpu::compose::cam_sample;
use crate::models::receptive::Placement;

/// Which way a curve runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Step i removes the first i/k of the order.
    Deletion,
    /// Step i keeps the first i/k of the order and removes the rest.
    Insertion,
}

/// A curve: the class's probability after each step.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Curve {
    /// Fraction of the pixels removed (deletion) or given back (insertion) at each step, 0..=1.
    pub fractions: Vec<f32>,
    /// The class's probability at each step.
    pub probabilities: Vec<f32>,
}

impl Curve {
    /// Area under the curve over the fractions 0..1 (trapezoids).
    pub fn auc(&self) -> f32 {
        self.fractions
            .windows(2)
            .zip(self.probabilities.windows(2))
            .map(|(f, p)| (f[1] - f[0]) * (p[0] + p[1]) / 2.0)
            .sum()
    }
}

/// The fractions of a `steps`-step curve: 0, 1/k, …, 1.
pub fn fractions(steps: u32) -> Vec<f32> {
    (0..=steps).map(|i| i as f32 / steps as f32).collect()
}

/// Pixel indices (row-major) of a `size` image, most important first by `map` (sampled
/// bilinearly at each pixel where `place` puts its cells). Equal values are ordered by a fixed
/// hash of the pixel, not by position: a flat region is removed evenly, not from the top down.
pub fn order_by_map(map: &Map, place: &Placement, size: (u32, u32)) -> Vec<u32> {
    let (w, h) = size;
    let mut keyed: Vec<(f32, u64, u32)> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| {
            let i = y * w + x;
            (
                cam_sample(&map.values, map.grid, place, x, y),
                splitmix64(u64::from(i)),
                i,
            )
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    keyed.into_iter().map(|(_, _, i)| i).collect()
}

/// The random baseline: `block` x `block` squares in a shuffled order (seeded), each square's
/// pixels together. Squares the size of a map's cells, not single pixels: scattered pixels are
/// trivial to inpaint and would make any map look worse than chance.
pub fn random_order(size: (u32, u32), block: u32, seed: u64) -> Vec<u32> {
    let (w, h) = size;
    let b = block.max(1);
    let (cols, rows) = (w.div_ceil(b), h.div_ceil(b));
    let mut blocks: Vec<(u64, u32, u32)> = (0..rows)
        .flat_map(|by| (0..cols).map(move |bx| (bx, by)))
        .map(|(bx, by)| (splitmix64(seed ^ u64::from(by * cols + bx)), bx, by))
        .collect();
    blocks.sort_unstable();
    let mut order = Vec::with_capacity((w * h) as usize);
    for (_, bx, by) in blocks {
        for y in by * b..((by + 1) * b).min(h) {
            for x in bx * b..((bx + 1) * b).min(w) {
                order.push(y * w + x);
            }
        }
    }
    order
}

/// The `steps` + 1 masks of a curve over `order` (white = removed).
pub fn masks(order: &[u32], size: (u32, u32), steps: u32, direction: Direction) -> Vec<GrayImage> {
    let n = order.len();
    fractions(steps)
        .iter()
        .map(|f| {
            let k = ((f64::from(*f) * n as f64).round() as usize).min(n);
            let (first, rest) = match direction {
                Direction::Deletion => (255, 0),
                Direction::Insertion => (0, 255),
            };
            let mut mask = GrayImage::from_pixel(size.0, size.1, image::Luma([rest]));
            let raw: &mut [u8] = &mut mask;
            for &i in &order[..k] {
                raw[i as usize] = first;
            }
            mask
        })
        .collect()
}

/// SplitMix64: a fixed, well-mixed hash of a counter (tie-breaks and the seeded shuffle).
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_known_curves() {
        let f = fractions(4);
        let flat = Curve {
            fractions: f.clone(),
            probabilities: vec![0.5; 5],
        };
        assert!((flat.auc() - 0.5).abs() < 1e-6);
        let falling = Curve {
            fractions: f,
            probabilities: vec![1.0, 0.75, 0.5, 0.25, 0.0],
        };
        assert!((falling.auc() - 0.5).abs() < 1e-6);
    }

    #[test]
    fn orders_are_permutations() {
        let size = (37, 23);
        let map = Map {
            grid: (3, 2),
            values: vec![0.0, 1.0, 0.0, 0.5, 0.5, 0.0],
        };
        let by_map = order_by_map(&map, &Placement::even(map.grid, size), size);
        let random = random_order(size, 8, 7);
        for order in [&by_map, &random] {
            let mut sorted = (*order).clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..37 * 23).collect::<Vec<u32>>());
        }
        // The top cell's middle comes first.
        let first = by_map[0];
        let (x, y) = (first % 37, first / 37);
        assert!((12..25).contains(&x) && y < 12, "({x}, {y})");
        assert_ne!(random_order(size, 8, 7), random_order(size, 8, 8));
    }

    #[test]
    fn masks_grow_and_shrink_in_steps() {
        let size = (10, 10);
        let order: Vec<u32> = (0..100).rev().collect();
        let del = masks(&order, size, 4, Direction::Deletion);
        let ins = masks(&order, size, 4, Direction::Insertion);
        assert_eq!(del.len(), 5);
        let removed = |m: &GrayImage| m.pixels().filter(|p| p[0] != 0).count();
        assert_eq!(
            del.iter().map(removed).collect::<Vec<_>>(),
            [0, 25, 50, 75, 100]
        );
        assert_eq!(
            ins.iter().map(removed).collect::<Vec<_>>(),
            [100, 75, 50, 25, 0]
        );
        // Deletion removes the first of the order: pixel 99 first.
        assert_eq!(del[1].get_pixel(9, 9)[0], 255);
        assert_eq!(del[1].get_pixel(0, 0)[0], 0);
        assert_eq!(ins[1].get_pixel(9, 9)[0], 0);
    }
}
