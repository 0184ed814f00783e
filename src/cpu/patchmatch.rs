//! CPU mirror of `shaders/patchmatch.wgsl`: the same schedule (`plan::patchmatch::schedule`),
//! the same double-buffered parallel steps and the same PCG random numbers, so a fixed seed gives
//! a comparable nearest-neighbour field. Slow and plain, for tests.

#![allow(clippy::needless_range_loop)] // channel loops over [f32; 3] read clearer indexed

use image::{GrayImage, RgbaImage};

use crate::plan::HoleBounds;
use crate::plan::patchmatch::{PatchMatchParams, Step, plan_levels, schedule};
use crate::{Result, cpu};

const FAR: f32 = 3.0e38;
const INIT_TRIES: u32 = 32;

/// A match: source patch centre and its distance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Match {
    /// Source patch centre.
    pub s: (i32, i32),
    /// Mean squared colour difference (0..1 colour units).
    pub dist: f32,
}

struct Level {
    w: i32,
    h: i32,
    img: Vec<[f32; 3]>,
    hole: Vec<bool>,
    valid: Vec<bool>,
    targets: Vec<bool>,
    nnf: [Vec<Match>; 2],
    cur: usize,
}

impl Level {
    fn new(w: u32, h: u32) -> Self {
        let n = (w * h) as usize;
        let m = Match {
            s: (0, 0),
            dist: 0.0,
        };
        Self {
            w: w as i32,
            h: h as i32,
            img: vec![[0.0; 3]; n],
            hole: vec![false; n],
            valid: vec![false; n],
            targets: vec![false; n],
            nnf: [vec![m; n], vec![m; n]],
            cur: 0,
        }
    }
    fn inb(&self, (x, y): (i32, i32)) -> bool {
        x >= 0 && y >= 0 && x < self.w && y < self.h
    }
    fn idx(&self, (x, y): (i32, i32)) -> usize {
        (y * self.w + x) as usize
    }
    fn legal(&self, s: (i32, i32)) -> bool {
        self.inb(s) && self.valid[self.idx(s)]
    }
    fn distance(&self, p: (i32, i32), s: (i32, i32), r: i32) -> f32 {
        let (mut acc, mut n) = (0.0f32, 0.0f32);
        for dy in -r..=r {
            for dx in -r..=r {
                let q = (p.0 + dx, p.1 + dy);
                if !self.inb(q) {
                    continue;
                }
                let (a, b) = (
                    self.img[self.idx(q)],
                    self.img[self.idx((s.0 + dx, s.1 + dy))],
                );
                let e = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
                acc += e[0] * e[0] + e[1] * e[1] + e[2] * e[2];
                n += 1.0;
            }
        }
        acc / n.max(1.0)
    }
}

/// The shader's PCG hash.
pub fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

struct Rng {
    seed: u32,
    counter: u32,
}

impl Rng {
    fn rand(&self, i: u32, draw: u32) -> u32 {
        pcg(self.seed ^ pcg(i ^ pcg(self.counter.wrapping_mul(4099).wrapping_add(draw))))
    }
    fn rand01(&self, i: u32, draw: u32) -> f32 {
        (self.rand(i, draw) >> 8) as f32 / 16_777_216.0
    }
}

fn random_source(lv: &Level, rng: &Rng, i: u32) -> (i32, i32) {
    let (w, h) = (lv.w as u32, lv.h as u32);
    for t in 0..INIT_TRIES {
        let r = rng.rand(i, t);
        let s = ((r % w) as i32, ((r / w) % h) as i32);
        if lv.legal(s) {
            return s;
        }
    }
    let n = w * h;
    let start = rng.rand(i, INIT_TRIES) % n;
    for k in 0..n {
        let j = (start + k) % n;
        if lv.valid[j as usize] {
            return ((j % w) as i32, (j / w) as i32);
        }
    }
    (-1, -1)
}

/// Result of a CPU fill: the image and level 0's final NNF (per pixel: match, is target).
pub struct PatchMatchResult {
    /// The filled image (pixels outside the mask are the input's).
    pub image: RgbaImage,
    /// Level 0's nearest-neighbour field.
    pub nnf: Vec<(Match, bool)>,
}

/// Fills the non-zero pixels of `mask` in `img`, mirroring the GPU pass (fresh fill).
pub fn patchmatch(
    img: &RgbaImage,
    mask: &GrayImage,
    params: &PatchMatchParams,
) -> Result<PatchMatchResult> {
    if !cpu::telea::validate_mask(img.dimensions(), mask)? {
        return Ok(PatchMatchResult {
            image: img.clone(),
            nnf: Vec::new(),
        });
    }
    let depth = HoleBounds::from_mask(mask).map_or(1, |h| h.depth);
    let levels = plan_levels(mask, depth, params)?;
    let r = params.radius();
    let mut lv: Vec<Level> = Vec::new();
    let (mut w, mut h) = img.dimensions();
    for _ in 0..levels {
        lv.push(Level::new(w, h));
        (w, h) = (w.div_ceil(2), h.div_ceil(2));
    }
    for (counter, step) in schedule(levels, params, false).into_iter().enumerate() {
        let rng = Rng {
            seed: params.seed,
            counter: counter as u32,
        };
        match step {
            Step::Load => {
                let l0 = &mut lv[0];
                for (i, (p, m)) in img.pixels().zip(mask.pixels()).enumerate() {
                    l0.img[i] = [0, 1, 2].map(|c| f32::from(p[c]) / 255.0);
                    l0.hole[i] = m[0] != 0;
                }
            }
            Step::Downsample(l) => {
                let (fine, coarse) = lv.split_at_mut(l);
                let (f, c) = (&fine[l - 1], &mut coarse[0]);
                for y in 0..c.h {
                    for x in 0..c.w {
                        let (mut sum, mut n, mut any) = ([0.0f32; 3], 0.0f32, false);
                        for k in 0..4 {
                            let q = (2 * x + (k & 1), 2 * y + (k >> 1));
                            if q.0 >= f.w || q.1 >= f.h {
                                continue;
                            }
                            let j = f.idx(q);
                            if f.hole[j] {
                                any = true;
                            } else {
                                for ch in 0..3 {
                                    sum[ch] += f.img[j][ch];
                                }
                                n += 1.0;
                            }
                        }
                        let i = c.idx((x, y));
                        c.hole[i] = any;
                        c.img[i] = sum.map(|v| v / n.max(1.0));
                    }
                }
            }
            Step::Flags(l) => {
                let c = &mut lv[l];
                for y in 0..c.h {
                    for x in 0..c.w {
                        let (mut all_known, mut touches) = (true, false);
                        for dy in -r..=r {
                            for dx in -r..=r {
                                let q = (x + dx, y + dy);
                                if !c.inb(q) {
                                    all_known = false;
                                    continue;
                                }
                                if c.hole[c.idx(q)] {
                                    all_known = false;
                                    touches = true;
                                }
                            }
                        }
                        let i = c.idx((x, y));
                        c.valid[i] = all_known;
                        c.targets[i] = touches;
                    }
                }
            }
            Step::InitNnf(l) | Step::Upsample(l) => {
                let coarse = (l + 1 < lv.len()).then(|| {
                    (
                        lv[l + 1].w,
                        lv[l + 1].h,
                        lv[l + 1].nnf[lv[l + 1].cur].clone(),
                    )
                });
                let c = &mut lv[l];
                let mut out = c.nnf[c.cur].clone();
                for y in 0..c.h {
                    for x in 0..c.w {
                        let i = c.idx((x, y));
                        if !c.targets[i] {
                            out[i] = Match {
                                s: (x, y),
                                dist: 0.0,
                            };
                            continue;
                        }
                        let s = match (&step, &coarse) {
                            (Step::Upsample(_), Some((cw, ch, cn))) => {
                                let cxy = ((x / 2).min(cw - 1), (y / 2).min(ch - 1));
                                let sc = cn[(cxy.1 * cw + cxy.0) as usize].s;
                                let s = (2 * sc.0 + (x - 2 * cxy.0), 2 * sc.1 + (y - 2 * cxy.1));
                                if c.legal(s) {
                                    s
                                } else {
                                    random_source(c, &rng, i as u32)
                                }
                            }
                            _ => random_source(c, &rng, i as u32),
                        };
                        out[i] = Match { s, dist: FAR };
                    }
                }
                let next = 1 - c.cur;
                c.nnf[next] = out;
                c.cur = next;
            }
            Step::Refresh(l) | Step::Propagate(l, _) | Step::Search(l) => {
                let c = &mut lv[l];
                let input = &c.nnf[c.cur];
                let mut out = input.clone();
                for y in 0..c.h {
                    for x in 0..c.w {
                        let p = (x, y);
                        let i = c.idx(p);
                        if !c.targets[i] {
                            continue;
                        }
                        let mut best = input[i];
                        match step {
                            Step::Refresh(_) => {
                                if c.legal(best.s) {
                                    best.dist = c.distance(p, best.s, r);
                                }
                            }
                            Step::Propagate(_, k) => {
                                for off in [(-k, 0), (k, 0), (0, -k), (0, k)] {
                                    let q = (x + off.0, y + off.1);
                                    if !c.inb(q) || !c.targets[c.idx(q)] {
                                        continue;
                                    }
                                    let sq = input[c.idx(q)].s;
                                    let s = (sq.0 - off.0, sq.1 - off.1);
                                    if !c.legal(s) || s == best.s {
                                        continue;
                                    }
                                    let d = c.distance(p, s, r);
                                    if d < best.dist {
                                        best = Match { s, dist: d };
                                    }
                                }
                            }
                            _ => {
                                let mut radius = c.w.max(c.h) as f32 * 0.5;
                                let mut draw = 0;
                                while radius >= 1.0 {
                                    let u = (
                                        rng.rand01(i as u32, draw) * 2.0 - 1.0,
                                        rng.rand01(i as u32, draw + 1) * 2.0 - 1.0,
                                    );
                                    draw += 2;
                                    let s = (
                                        best.s.0 + (u.0 * radius + 0.5).floor() as i32,
                                        best.s.1 + (u.1 * radius + 0.5).floor() as i32,
                                    );
                                    if c.legal(s) && s != best.s {
                                        let d = c.distance(p, s, r);
                                        if d < best.dist {
                                            best = Match { s, dist: d };
                                        }
                                    }
                                    radius *= 0.5;
                                }
                            }
                        }
                        out[i] = best;
                    }
                }
                let next = 1 - c.cur;
                c.nnf[next] = out;
                c.cur = next;
            }
            Step::Vote(l) => {
                let c = &mut lv[l];
                let nnf = &c.nnf[c.cur];
                let mut updates = Vec::new();
                for y in 0..c.h {
                    for x in 0..c.w {
                        let i = c.idx((x, y));
                        if !c.hole[i] {
                            continue;
                        }
                        let (mut sum, mut n) = ([0.0f32; 3], 0.0f32);
                        for dy in -r..=r {
                            for dx in -r..=r {
                                let q = (x + dx, y + dy);
                                if !c.inb(q) || !c.targets[c.idx(q)] {
                                    continue;
                                }
                                let s = nnf[c.idx(q)].s;
                                if !c.legal(s) {
                                    continue;
                                }
                                let v = c.img[c.idx((s.0 - dx, s.1 - dy))];
                                for ch in 0..3 {
                                    sum[ch] += v[ch];
                                }
                                n += 1.0;
                            }
                        }
                        if n > 0.0 {
                            updates.push((i, sum.map(|v| v / n)));
                        }
                    }
                }
                for (i, v) in updates {
                    c.img[i] = v;
                }
            }
            Step::Store => {}
        }
    }
    let l0 = &lv[0];
    let mut out = img.clone();
    for (i, p) in out.pixels_mut().enumerate() {
        if l0.hole[i] {
            for c in 0..3 {
                p[c] = (l0.img[i][c].clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    let nnf = l0.nnf[l0.cur]
        .iter()
        .copied()
        .zip(l0.targets.iter().copied())
        .collect();
    Ok(PatchMatchResult { image: out, nnf })
}
