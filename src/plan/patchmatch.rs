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

/// Halves a mask: a coarse pixel is hole if any of its (up to) four fine pixels is.
pub fn downsample_mask(mask: &[bool], (w, h): (u32, u32)) -> (Vec<bool>, (u32, u32)) {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = vec![false; (cw * ch) as usize];
    for y in 0..h {
        for x in 0..w {
            if mask[(y * w + x) as usize] {
                out[((y / 2) * cw + x / 2) as usize] = true;
            }
        }
    }
    (out, (cw, ch))
}

/// Whether some patch of radius `r` lies entirely in known pixels inside the image.
pub fn has_legal_source(mask: &[bool], (w, h): (u32, u32), r: i32) -> bool {
    let (w, h) = (w as i32, h as i32);
    if w < 2 * r + 1 || h < 2 * r + 1 {
        return false;
    }
    // Rows of known runs, then a sliding check: fine for the coarse levels this is used on.
    (r..h - r).any(|y| {
        (r..w - r)
            .any(|x| (-r..=r).all(|dy| (-r..=r).all(|dx| !mask[((y + dy) * w + x + dx) as usize])))
    })
}

/// How many pyramid levels to use for `mask`: enough that the hole is a few pixels deep at the
/// coarsest, no more than keeps legal sources there. Errors when not even level 0 has a legal
/// source patch (image smaller than a patch, or a hole leaving no known patch).
pub fn plan_levels(mask: &GrayImage, depth: u32, params: &PatchMatchParams) -> Result<usize> {
    let r = params.radius();
    let mut levels = vec![(
        mask.as_raw().iter().map(|&m| m != 0).collect::<Vec<bool>>(),
        mask.dimensions(),
    )];
    let wanted = 1 + (f64::from(depth.max(1)) / 3.0).log2().ceil().max(0.0) as usize;
    while levels.len() < wanted {
        let (m, dims) = levels.last().expect("at least level 0");
        if dims.0.min(dims.1) / 2 < 4 * params.patch {
            break;
        }
        let next = downsample_mask(m, *dims);
        levels.push(next);
    }
    while let Some((m, dims)) = levels.last() {
        if has_legal_source(m, *dims, r) {
            return Ok(levels.len());
        }
        levels.pop();
    }
    Err(Error::Invalid(format!(
        "PatchMatch needs at least one {0}x{0} patch of known pixels to copy from: the image is too small or the hole too large",
        params.patch
    )))
}
