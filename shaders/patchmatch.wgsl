// patchmatch.wgsl — image completion by PatchMatch (Barnes et al. 2009) inside Wexler et al.'s
// EM scheme (2007), coarse to fine. Entry points, run by src/passes/patchmatch.rs in this order:
//
//   load        level 0 from the textures: colours, hole flags. Keeps the previous fill of pixels
//               that stay in the hole (warm start for an added stroke).
//   downsample  level l+1 from level l: a coarse pixel is hole if any of its 4 is; colours are the
//               mean of the known ones.
//   flags       per level: `valid` = the patch around the pixel is entirely known and inside the
//               image (a legal source); `target` = the patch around the pixel touches the hole.
//   init_nnf    a random legal source for every target pixel (or, warm, the previous one if still
//               legal).
//   upsample    the NNF of level l+1 doubled onto level l (re-drawn where no longer legal).
//   refresh     patch distances of the current NNF against the current estimate.
//   propagate   jump-flood propagation: candidates from the 4 neighbours at distance `step`
//               (s_q + p − q), run with steps 4, 2, 1. Double-buffered: parallel, deterministic.
//   search      random search around the current match, radius halving from half the image.
//   vote        each hole pixel = mean over the target patches covering it of the pixel their
//               source puts there (sources are legal patches, so only known pixels are read:
//               hole pixels can be written in place).
//   store       level-0 hole pixels into the output texture; nothing else is written.
//
// Randomness is a PCG hash of (seed, pixel, dispatch counter, draw): a given seed gives the same
// result, and src/cpu/patchmatch.rs draws the same numbers.
//
// Group 0: params (dynamic offset). Group 1: this level. Group 2: the other level (finer for
// downsample, coarser for upsample). Group 3: textures (load: image, mask; store: output).

struct Params {
    size: vec2<u32>,
    other_size: vec2<u32>,
    radius: i32,
    seed: u32,
    counter: u32,
    step: i32,
    warm: u32,
    _pad0: u32,
    _pad1: vec2<u32>,
}

struct Match {
    s: vec2<i32>,
    dist: f32,
    _pad: f32,
}

const FAR: f32 = 3.0e38;
const INIT_TRIES: u32 = 32u;

// NOTE: keep in sync with WORKGROUP in src/passes/patchmatch.rs.
const WORKGROUP: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;

@group(1) @binding(0) var<storage, read_write> img: array<vec4<f32>>;
@group(1) @binding(1) var<storage, read_write> hole: array<u32>;
@group(1) @binding(2) var<storage, read_write> valid: array<u32>;
@group(1) @binding(3) var<storage, read_write> targets: array<u32>;
@group(1) @binding(4) var<storage, read> nnf_in: array<Match>;
@group(1) @binding(5) var<storage, read_write> nnf_out: array<Match>;

@group(2) @binding(0) var<storage, read> other_img: array<vec4<f32>>;
@group(2) @binding(1) var<storage, read> other_hole: array<u32>;
@group(2) @binding(2) var<storage, read> other_nnf: array<Match>;

fn in_bounds(p: vec2<i32>) -> bool {
    return p.x >= 0 && p.y >= 0 && p.x < i32(params.size.x) && p.y < i32(params.size.y);
}

fn idx(p: vec2<i32>) -> u32 {
    return u32(p.y) * params.size.x + u32(p.x);
}

fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// The `draw`-th random number of pixel `i` in this dispatch.
fn rand(i: u32, draw: u32) -> u32 {
    return pcg(params.seed ^ pcg(i ^ pcg(params.counter * 4099u + draw)));
}

// Uniform in [0, 1).
fn rand01(i: u32, draw: u32) -> f32 {
    return f32(rand(i, draw) >> 8u) / 16777216.0;
}

fn legal(s: vec2<i32>) -> bool {
    return in_bounds(s) && valid[idx(s)] == 1u;
}

// Mean squared colour difference between the target patch at p (pixels inside the image) and the
// source patch at s.
fn patch_distance(p: vec2<i32>, s: vec2<i32>) -> f32 {
    var acc = 0.0;
    var n = 0.0;
    let r = params.radius;
    for (var dy = -r; dy <= r; dy++) {
        for (var dx = -r; dx <= r; dx++) {
            let d = vec2<i32>(dx, dy);
            let q = p + d;
            if !in_bounds(q) {
                continue;
            }
            let e = img[idx(q)].rgb - img[idx(s + d)].rgb;
            acc += dot(e, e);
            n += 1.0;
        }
    }
    return acc / max(n, 1.0);
}

// A random legal source for pixel i (draws 0..INIT_TRIES), else a scan from a random start.
fn random_source(i: u32) -> vec2<i32> {
    let w = params.size.x;
    let h = params.size.y;
    for (var t = 0u; t < INIT_TRIES; t++) {
        let r = rand(i, t);
        let s = vec2<i32>(i32(r % w), i32((r / w) % h));
        if legal(s) {
            return s;
        }
    }
    let n = w * h;
    let start = rand(i, INIT_TRIES) % n;
    for (var k = 0u; k < n; k++) {
        let j = (start + k) % n;
        if valid[j] == 1u {
            return vec2<i32>(i32(j % w), i32(j / w));
        }
    }
    return vec2<i32>(-1, -1);
}

// ---------------------------------------------------------------------------------------------

@group(3) @binding(0) var image: texture_2d<f32>;
@group(3) @binding(1) var mask: texture_2d<f32>;

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn load(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    if !in_bounds(p) {
        return;
    }
    let i = idx(p);
    let is_hole = textureLoad(mask, p, 0).r > 0.0;
    let keep = params.warm == 1u && is_hole && hole[i] == 1u;
    if !keep {
        img[i] = vec4<f32>(textureLoad(image, p, 0).rgb, 1.0);
    }
    hole[i] = select(0u, 1u, is_hole);
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn downsample(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    if !in_bounds(p) {
        return;
    }
    var sum = vec3<f32>(0.0);
    var n = 0.0;
    var any_hole = false;
    for (var k = 0; k < 4; k++) {
        let f = 2 * p + vec2<i32>(k & 1, k >> 1);
        if f.x >= i32(params.other_size.x) || f.y >= i32(params.other_size.y) {
            continue;
        }
        let j = u32(f.y) * params.other_size.x + u32(f.x);
        if other_hole[j] == 1u {
            any_hole = true;
        } else {
            sum += other_img[j].rgb;
            n += 1.0;
        }
    }
    let i = idx(p);
    hole[i] = select(0u, 1u, any_hole);
    img[i] = vec4<f32>(sum / max(n, 1.0), 1.0);
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn flags(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    if !in_bounds(p) {
        return;
    }
    var all_known = true;
    var touches = false;
    let r = params.radius;
    for (var dy = -r; dy <= r; dy++) {
        for (var dx = -r; dx <= r; dx++) {
            let q = p + vec2<i32>(dx, dy);
            if !in_bounds(q) {
                all_known = false;
                continue;
            }
            if hole[idx(q)] == 1u {
                all_known = false;
                touches = true;
            }
        }
    }
    let i = idx(p);
    valid[i] = select(0u, 1u, all_known);
    targets[i] = select(0u, 1u, touches);
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn init_nnf(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    if !in_bounds(p) {
        return;
    }
    let i = idx(p);
    if targets[i] == 0u {
        nnf_out[i] = Match(p, 0.0, 0.0);
        return;
    }
    var s = nnf_in[i].s;
    if params.warm == 0u || !legal(s) {
        s = random_source(i);
    }
    nnf_out[i] = Match(s, FAR, 0.0);
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn upsample(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    if !in_bounds(p) {
        return;
    }
    let i = idx(p);
    if targets[i] == 0u {
        nnf_out[i] = Match(p, 0.0, 0.0);
        return;
    }
    let c = min(p / 2, vec2<i32>(params.other_size) - 1);
    let sc = other_nnf[u32(c.y) * params.other_size.x + u32(c.x)].s;
    var s = 2 * sc + (p - 2 * c);
    if !legal(s) {
        s = random_source(i);
    }
    nnf_out[i] = Match(s, FAR, 0.0);
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn refresh(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    if !in_bounds(p) {
        return;
    }
    let i = idx(p);
    var m = nnf_in[i];
    if targets[i] == 1u && legal(m.s) {
        m.dist = patch_distance(p, m.s);
    }
    nnf_out[i] = m;
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn propagate(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    if !in_bounds(p) {
        return;
    }
    let i = idx(p);
    var best = nnf_in[i];
    if targets[i] == 1u {
        let k = params.step;
        let offsets = array<vec2<i32>, 4>(vec2(-k, 0), vec2(k, 0), vec2(0, -k), vec2(0, k));
        for (var n = 0; n < 4; n++) {
            let q = p + offsets[n];
            if !in_bounds(q) || targets[idx(q)] == 0u {
                continue;
            }
            let s = nnf_in[idx(q)].s - offsets[n];
            if !legal(s) || all(s == best.s) {
                continue;
            }
            let d = patch_distance(p, s);
            if d < best.dist {
                best = Match(s, d, 0.0);
            }
        }
    }
    nnf_out[i] = best;
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn search(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    if !in_bounds(p) {
        return;
    }
    let i = idx(p);
    var best = nnf_in[i];
    if targets[i] == 1u {
        var radius = f32(max(params.size.x, params.size.y)) * 0.5;
        var draw = 0u;
        loop {
            if radius < 1.0 {
                break;
            }
            let u = vec2<f32>(rand01(i, draw), rand01(i, draw + 1u)) * 2.0 - 1.0;
            draw += 2u;
            let s = best.s + vec2<i32>(floor(u * radius + 0.5));
            if legal(s) && !all(s == best.s) {
                let d = patch_distance(p, s);
                if d < best.dist {
                    best = Match(s, d, 0.0);
                }
            }
            radius *= 0.5;
        }
    }
    nnf_out[i] = best;
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn vote(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    if !in_bounds(p) {
        return;
    }
    let i = idx(p);
    if hole[i] == 0u {
        return;
    }
    var sum = vec3<f32>(0.0);
    var n = 0.0;
    let r = params.radius;
    for (var dy = -r; dy <= r; dy++) {
        for (var dx = -r; dx <= r; dx++) {
            let q = p + vec2<i32>(dx, dy);
            if !in_bounds(q) || targets[idx(q)] == 0u {
                continue;
            }
            let s = nnf_in[idx(q)].s;
            if !legal(s) {
                continue;
            }
            sum += img[idx(s + (p - q))].rgb;
            n += 1.0;
        }
    }
    if n > 0.0 {
        img[i] = vec4<f32>(sum / n, 1.0);
    }
}

@group(3) @binding(0) var output: texture_storage_2d<rgba8unorm, write>;

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn store(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    if !in_bounds(p) {
        return;
    }
    let i = idx(p);
    if hole[i] == 1u {
        textureStore(output, p, vec4<f32>(img[i].rgb, 1.0));
    }
}
