//! PatchMatch's plan: its settings, the pyramid depth a mask needs and the step schedule that the
//! GPU pass (`passes/patchmatch.rs`) and the CPU mirror (`cpu/patchmatch.rs`) both run.

use image::GrayImage;

use crate::{Error, Result};

/// Jump-flood propagation steps of one E-step.
pub const PROPAGATION_STEPS: [i32; 3] = [4, 2, 1];

/// Settings of a PatchMatch fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PatchMatchParams {
    /// Patch side (odd).
    pub patch: u32,
    /// EM iterations per pyramid level (the coarsest gets two more).
    pub iterations: u32,
    /// EM iterations of a warm start (finest level only).
    pub warm_iterations: u32,
    /// Random seed: the same seed gives the same fill.
    pub seed: u32,
}

impl Default for PatchMatchParams {
    fn default() -> Self {
        Self {
            patch: 7,
            iterations: 4,
            warm_iterations: 3,
            seed: 0,
        }
    }
}

impl PatchMatchParams {
    /// Half the patch side.
    pub fn radius(&self) -> i32 {
        (self.patch.max(3) / 2) as i32
    }
}

/// One step of the schedule, shared by the GPU pass and the CPU mirror so both run the same
/// sequence (and draw the same random numbers: `counter` is the dispatch index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Level 0 from the image and mask.
    Load,
    /// Level `l` from level `l - 1`.
    Downsample(usize),
    /// Legal sources and target pixels of a level.
    Flags(usize),
    /// Random (or, warm, previous) NNF at a level.
    InitNnf(usize),
    /// NNF of level `l + 1` doubled onto level `l`.
    Upsample(usize),
    /// Distances of the current NNF.
    Refresh(usize),
    /// Propagation with a step.
    Propagate(usize, i32),
    /// Random search.
    Search(usize),
    /// Voting.
    Vote(usize),
    /// Level 0 hole pixels to the output.
    Store,
}

/// The whole schedule for `levels` levels (fresh) or a warm start (level 0 only).
pub fn schedule(levels: usize, params: &PatchMatchParams, warm: bool) -> Vec<Step> {
    let mut steps = vec![Step::Load];
    let em = |steps: &mut Vec<Step>, l: usize, n: u32| {
        for _ in 0..n {
            steps.push(Step::Refresh(l));
            for k in PROPAGATION_STEPS {
                steps.push(Step::Propagate(l, k));
            }
            steps.push(Step::Search(l));
            steps.push(Step::Vote(l));
        }
    };
    if warm {
        steps.push(Step::Flags(0));
        steps.push(Step::InitNnf(0));
        steps.push(Step::Vote(0));
        em(&mut steps, 0, params.warm_iterations);
    } else {
        for l in 1..levels {
            steps.push(Step::Downsample(l));
        }
        for l in 0..levels {
            steps.push(Step::Flags(l));
        }
        let c = levels - 1;
        steps.push(Step::InitNnf(c));
        steps.push(Step::Vote(c));
        em(&mut steps, c, params.iterations + 2);
        for l in (0..c).rev() {
            steps.push(Step::Upsample(l));
            steps.push(Step::Vote(l));
            em(&mut steps, l, params.iterations);
        }
    }
    steps.push(Step::Store);
    steps
}

/// Halves a mask (non-zero = hole): a coarse pixel is hole if any of its (up to) four fine
/// pixels is. A cell's two bytes of each row are read as one 16-bit word.
pub fn downsample_mask(mask: &[u8], (w, h): (u32, u32)) -> (Vec<u8>, (u32, u32)) {
    let (w, h) = (w as usize, h as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = vec![0u8; cw * ch];
    for (cy, row) in out.chunks_exact_mut(cw).enumerate() {
        let top = &mask[2 * cy * w..(2 * cy + 1) * w];
        let bottom = mask.get((2 * cy + 1) * w..(2 * cy + 2) * w).unwrap_or(top);
        // A cell's two bytes of each row read as one 16-bit word: whole-word loads and compares
        // that vectorize, where byte-by-byte pairs compiled to a gather.
        let word = |two: &[u8]| u16::from_ne_bytes([two[0], two[1]]);
        for (o, (t, b)) in row
            .iter_mut()
            .zip(top.chunks_exact(2).zip(bottom.chunks_exact(2)))
        {
            *o = u8::from((word(t) | word(b)) != 0);
        }
        if w % 2 == 1 {
            row[cw - 1] = u8::from((top[w - 1] | bottom[w - 1]) != 0);
        }
    }
    (out, (cw as u32, ch as u32))
}

/// Whether some patch of radius `r` lies entirely in known pixels (zero) inside the image.
pub fn has_legal_source(mask: &[u8], (w, h): (u32, u32), r: i32) -> bool {
    let (w, h) = (w as i32, h as i32);
    if w < 2 * r + 1 || h < 2 * r + 1 {
        return false;
    }
    // Rows of known runs, then a sliding check: fine for the coarse levels this is used on.
    (r..h - r).any(|y| {
        (r..w - r).any(|x| {
            (-r..=r).all(|dy| (-r..=r).all(|dx| mask[((y + dy) * w + x + dx) as usize] == 0))
        })
    })
}

/// How many pyramid levels to use for `mask`: enough that the hole is a few pixels deep at the
/// coarsest, no more than keeps legal sources there. Errors when not even level 0 has a legal
/// source patch (image smaller than a patch, or a hole leaving no known patch). Level 0 is the
/// mask itself (no copy): a live PatchMatch job plans in well under a millisecond at 1024².
pub fn plan_levels(mask: &GrayImage, depth: u32, params: &PatchMatchParams) -> Result<usize> {
    let r = params.radius();
    let wanted = 1 + (f64::from(depth.max(1)) / 3.0).log2().ceil().max(0.0) as usize;
    // Levels 1.. (level 0 is `mask`).
    let mut coarse: Vec<(Vec<u8>, (u32, u32))> = Vec::new();
    while coarse.len() + 1 < wanted {
        let (m, dims) = coarse
            .last()
            .map_or((mask.as_raw().as_slice(), mask.dimensions()), |(m, d)| {
                (m.as_slice(), *d)
            });
        if dims.0.min(dims.1) / 2 < 4 * params.patch {
            break;
        }
        let next = downsample_mask(m, dims);
        coarse.push(next);
    }
    while let Some((m, dims)) = coarse.last() {
        if has_legal_source(m, *dims, r) {
            return Ok(coarse.len() + 1);
        }
        coarse.pop();
    }
    if has_legal_source(mask.as_raw(), mask.dimensions(), r) {
        return Ok(1);
    }
    Err(Error::Invalid(format!(
        "PatchMatch needs at least one {0}x{0} patch of known pixels to copy from: the image is too small or the hole too large",
        params.patch
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain version: a bool per pixel, every level copied.
    fn reference_levels(mask: &GrayImage, depth: u32, params: &PatchMatchParams) -> Option<usize> {
        let down = |m: &[bool], (w, h): (u32, u32)| {
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            let mut out = vec![false; (cw * ch) as usize];
            for y in 0..h {
                for x in 0..w {
                    if m[(y * w + x) as usize] {
                        out[((y / 2) * cw + x / 2) as usize] = true;
                    }
                }
            }
            (out, (cw, ch))
        };
        let legal = |m: &[bool], dims: (u32, u32)| {
            let bytes: Vec<u8> = m.iter().map(|&b| u8::from(b)).collect();
            has_legal_source(&bytes, dims, params.radius())
        };
        let mut levels = vec![(
            mask.as_raw().iter().map(|&m| m != 0).collect::<Vec<bool>>(),
            mask.dimensions(),
        )];
        let wanted = 1 + (f64::from(depth.max(1)) / 3.0).log2().ceil().max(0.0) as usize;
        while levels.len() < wanted {
            let (m, dims) = levels.last()?;
            if dims.0.min(dims.1) / 2 < 4 * params.patch {
                break;
            }
            let next = down(m, *dims);
            levels.push(next);
        }
        while let Some((m, dims)) = levels.last() {
            if legal(m, *dims) {
                return Some(levels.len());
            }
            levels.pop();
        }
        None
    }

    #[test]
    fn plan_levels_equals_the_plain_version() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u32| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % u64::from(n.max(1))) as u32
        };
        let params = PatchMatchParams::default();
        for case in 0..40 {
            let (w, h) = (20 + next(300), 20 + next(200));
            let discs: Vec<(u32, u32, u32)> = (0..1 + next(5))
                .map(|_| (next(w), next(h), 2 + next(10 + 4 * case)))
                .collect();
            let mask = GrayImage::from_fn(w, h, |x, y| {
                let inside = discs.iter().any(|&(cx, cy, r)| {
                    let (dx, dy) = (i64::from(x) - i64::from(cx), i64::from(y) - i64::from(cy));
                    dx * dx + dy * dy <= i64::from(r * r)
                });
                image::Luma([if inside { 7 } else { 0 }])
            });
            let depth = crate::plan::HoleBounds::from_mask(&mask).map_or(1, |b| b.depth);
            assert_eq!(
                plan_levels(&mask, depth, &params).ok(),
                reference_levels(&mask, depth, &params),
                "case {case}: {w}x{h} {discs:?}"
            );
        }
    }

    #[test]
    fn downsample_keeps_every_hole_pixel() {
        // Odd sizes: the last column and row pair with themselves.
        let mut m = vec![0u8; 5 * 3];
        m[4] = 1; // (4, 0)
        m[2 * 5] = 9; // (0, 2)
        let (out, dims) = downsample_mask(&m, (5, 3));
        assert_eq!(dims, (3, 2));
        assert_eq!(out, vec![0, 0, 1, 1, 0, 0]);
    }

    #[test]
    fn downsample_equals_the_definition_on_random_masks() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for (w, h) in [(1, 1), (2, 7), (7, 2), (33, 17), (64, 9), (131, 70)] {
            let m: Vec<u8> = (0..w * h)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    // Sparse holes of assorted values, so single pixels decide cells.
                    if state.is_multiple_of(16) {
                        (state >> 8) as u8 | 1
                    } else {
                        0
                    }
                })
                .collect();
            let (out, (cw, ch)) = downsample_mask(&m, (w, h));
            assert_eq!((cw, ch), (w.div_ceil(2), h.div_ceil(2)));
            for cy in 0..ch {
                for cx in 0..cw {
                    let any = (2 * cy..(2 * cy + 2).min(h)).any(|y| {
                        (2 * cx..(2 * cx + 2).min(w)).any(|x| m[(y * w + x) as usize] != 0)
                    });
                    assert_eq!(
                        out[(cy * cw + cx) as usize],
                        u8::from(any),
                        "{w}x{h} at {cx},{cy}"
                    );
                }
            }
        }
    }
}
