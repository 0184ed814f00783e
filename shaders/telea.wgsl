// telea.wgsl — Telea's fast-marching inpainting (Telea 2004), made parallel. Four entry points,
// run in this order by src/passes/telea.rs over a region R = the hole's bounding box grown by the
// radius (everything outside R is never read or written):
//
//   init     image + mask → packed colours, flags, T (band 0, hole/outside unknown)
//   eikonal  one Jacobi step of the same upwind eikonal update the sequential FMM uses
//            (|∇T| = 1), ping-ponging T; repeated until it has converged over the hole's depth.
//            Inside the hole T grows from the band; outside it grows away from the band and is
//            read negated (OpenCV's signed T, used by the level-set weight).
//   fill     fills every hole pixel whose T lies in band [k/4, (k+1)/4), using only pixels
//            known before this band: originally known ones, or hole pixels of lower bands. One
//            dispatch per band, so no pixel reads a value written in the same dispatch.
//   store    writes the filled hole pixels into the output texture; other pixels are untouched.
//
// Tiles: the image may be an atlas of independent images of `tile` pixels each (many fills in one
// dispatch chain: deletion curves, occlusion windows). A pixel's neighbours in another tile are
// treated as beyond the image, so each tile is filled exactly as it would be on its own. A single
// image is one tile.
//
// What differs from the sequential original, and why it is acceptable: the sequential FMM fills a
// pixel the moment the front first reaches it, from whatever is known at that instant, including
// pixels of (almost) the same T filled just before. Here pixels whose T differ by less than one
// band width (a quarter pixel) are filled together and do not see each other: measured on a
// photo, mean |Δ| against the sequential reference falls from 2.7 levels with one band per pixel
// to 0.5 with four, with the same PSNR. T itself is the converged solution of
// the same discrete equations (the sequential version with narrow-band updates, as in the paper,
// converges to it too). The CPU reference (src/cpu/telea.rs) is sequential; the tests hold the two
// to mean |Δ| ≤ 2/255 and max |Δ| ≤ 16/255 in the hole.
//
// Group 0 (every entry point):
// | binding | type                         | what                                         |
// |---------|------------------------------|----------------------------------------------|
// | 0       | uniform Params (dyn. offset) | region, radius, band index                   |
// | 1       | storage array<u32>           | colour per region pixel, packed RGBA8        |
// | 2       | storage array<u32>           | flags per region pixel (KNOWN, BAND, HOLE)   |
// | 3       | storage array<f32>, read     | T, read                                      |
// | 4       | storage array<f32>           | T, written                                   |
// Group 1, init:  0 texture_2d<f32> image, 1 texture_2d<f32> mask (non-zero = hole)
// Group 1, store: 0 texture_storage_2d<rgba8unorm, write> output

struct Params {
    // Region origin in image pixels, and its size.
    origin: vec2<u32>,
    size: vec2<u32>,
    // Neighbourhood radius ε.
    radius: i32,
    // Band filled by this `fill` dispatch.
    band: u32,
    // 1 for the last band: it also takes any deeper pixel, so a loose depth bound leaves no hole.
    last: u32,
    _pad: u32,
    // Size of one tile of the image (the whole image when it is a single one).
    tile: vec2<u32>,
}

const KNOWN: u32 = 0u;
const BAND: u32 = 1u;
const HOLE: u32 = 2u;
const FAR: f32 = 1.0e6;
// Bands per unit of T. NOTE: keep in sync with BANDS_PER_PIXEL in src/passes/telea.rs.
const BANDS_PER_PIXEL: f32 = 4.0;

fn band_of(t: f32) -> u32 {
    return u32(floor(t * BANDS_PER_PIXEL));
}

// NOTE: keep in sync with WORKGROUP in src/passes/telea.rs.
const WORKGROUP: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> color: array<u32>;
@group(0) @binding(2) var<storage, read_write> flags: array<u32>;
@group(0) @binding(3) var<storage, read> t_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> t_out: array<f32>;

// What this invocation may read: the region clipped to its own tile, in region coordinates
// (`reg_lo` ≤ p < `reg_hi`) and in image coordinates (`img_lo` ≤ ip < `img_hi`). Set once at the
// top of every entry point, so a neighbour test costs the same four comparisons with tiles as
// without.
var<private> reg_lo: vec2<i32>;
var<private> reg_hi: vec2<i32>;
var<private> img_lo: vec2<i32>;
var<private> img_hi: vec2<i32>;

fn set_tile(p: vec2<i32>) {
    let origin = vec2<i32>(params.origin);
    let tile = vec2<i32>(params.tile);
    img_lo = ((p + origin) / tile) * tile;
    img_hi = img_lo + tile;
    reg_lo = max(img_lo - origin, vec2<i32>(0));
    reg_hi = min(img_hi - origin, vec2<i32>(params.size));
}

// In the region and in this invocation's tile.
fn inside(p: vec2<i32>) -> bool {
    return all(p >= reg_lo) && all(p < reg_hi);
}

fn idx(p: vec2<i32>) -> u32 {
    return u32(p.y) * params.size.x + u32(p.x);
}

// ---------------------------------------------------------------------------------------------
// init

@group(1) @binding(0) var image: texture_2d<f32>;
@group(1) @binding(1) var mask: texture_2d<f32>;

fn is_hole_image(p: vec2<i32>) -> bool {
    let dims = vec2<i32>(textureDimensions(mask));
    if any(p < max(img_lo, vec2<i32>(0))) || any(p >= min(img_hi, dims)) {
        return false;
    }
    return textureLoad(mask, p, 0).r > 0.0;
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn init(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    set_tile(p);
    if !inside(p) {
        return;
    }
    let ip = p + vec2<i32>(params.origin);
    let i = idx(p);
    color[i] = pack4x8unorm(textureLoad(image, ip, 0));
    var flag = KNOWN;
    if is_hole_image(ip) {
        flag = HOLE;
    } else if is_hole_image(ip + vec2(1, 0)) || is_hole_image(ip - vec2(1, 0))
        || is_hole_image(ip + vec2(0, 1)) || is_hole_image(ip - vec2(0, 1)) {
        flag = BAND;
    }
    flags[i] = flag;
    t_out[i] = select(FAR, 0.0, flag == BAND);
}

// ---------------------------------------------------------------------------------------------
// eikonal

// T of neighbour `q` if it may take part in the update of a pixel on side `hole_side`: band
// pixels always, hole pixels only inside the hole, known pixels only outside. FAR when not.
fn t_usable(q: vec2<i32>, hole_side: bool) -> f32 {
    if !inside(q) {
        return FAR;
    }
    let f = flags[idx(q)];
    if f == BAND || (f == HOLE) == hole_side {
        return t_in[idx(q)];
    }
    return FAR;
}

fn solve(a: f32, b: f32) -> f32 {
    let ha = a < FAR;
    let hb = b < FAR;
    if ha && hb {
        if abs(a - b) >= 1.0 {
            return 1.0 + min(a, b);
        }
        return 0.5 * (a + b + sqrt(2.0 - (a - b) * (a - b)));
    }
    if ha {
        return 1.0 + a;
    }
    if hb {
        return 1.0 + b;
    }
    return FAR;
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn eikonal(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    set_tile(p);
    if !inside(p) {
        return;
    }
    let i = idx(p);
    let f = flags[i];
    if f == BAND {
        t_out[i] = 0.0;
        return;
    }
    let hole = f == HOLE;
    let l = t_usable(p - vec2(1, 0), hole);
    let r = t_usable(p + vec2(1, 0), hole);
    let u = t_usable(p - vec2(0, 1), hole);
    let d = t_usable(p + vec2(0, 1), hole);
    let t = min(min(solve(u, l), solve(d, l)), min(solve(u, r), solve(d, r)));
    t_out[i] = min(t_in[i], t);
}

// ---------------------------------------------------------------------------------------------
// fill

// Signed T as the level-set weight wants it: positive inside the hole, negative outside.
fn signed_t(i: u32) -> f32 {
    let t = t_in[i];
    if flags[i] == HOLE {
        return t;
    }
    return -t;
}

// Whether pixel q is known when band `params.band` is filled.
fn known(q: vec2<i32>) -> bool {
    if !inside(q) {
        return false;
    }
    let i = idx(q);
    return flags[i] != HOLE || band_of(t_in[i]) < params.band;
}

fn rgb(i: u32) -> vec3<f32> {
    return unpack4x8unorm(color[i]).rgb * 255.0;
}

// One-sided or central difference of `v` across q's neighbours `plus` / `minus`.
fn diff_t(plus: vec2<i32>, minus: vec2<i32>, centre: f32) -> f32 {
    let kp = known(plus);
    let km = known(minus);
    if kp && km {
        return 0.5 * (signed_t(idx(plus)) - signed_t(idx(minus)));
    }
    if kp {
        return signed_t(idx(plus)) - centre;
    }
    if km {
        return centre - signed_t(idx(minus));
    }
    return 0.0;
}

fn diff_rgb(plus: vec2<i32>, minus: vec2<i32>, centre: vec3<f32>) -> vec3<f32> {
    let kp = known(plus);
    let km = known(minus);
    if kp && km {
        return 0.5 * (rgb(idx(plus)) - rgb(idx(minus)));
    }
    if kp {
        return rgb(idx(plus)) - centre;
    }
    if km {
        return centre - rgb(idx(minus));
    }
    return vec3<f32>(0.0);
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    set_tile(p);
    if !inside(p) {
        return;
    }
    let i = idx(p);
    let band = band_of(t_in[i]);
    if flags[i] != HOLE || band < params.band || (band > params.band && params.last == 0u) {
        return;
    }
    let tp = t_in[i];
    let ex = vec2(1, 0);
    let ey = vec2(0, 1);
    let grad_t = vec2<f32>(diff_t(p + ex, p - ex, tp), diff_t(p + ey, p - ey, tp));

    var ia = vec3<f32>(0.0);
    var jx = vec3<f32>(0.0);
    var jy = vec3<f32>(0.0);
    var s = 1.0e-20;
    let rad = params.radius;
    for (var dy = -rad; dy <= rad; dy++) {
        for (var dx = -rad; dx <= rad; dx++) {
            let len2 = f32(dx * dx + dy * dy);
            if len2 > f32(rad * rad) || len2 == 0.0 {
                continue;
            }
            let q = p + vec2(dx, dy);
            if !known(q) {
                continue;
            }
            let qi = idx(q);
            // r points from q to p.
            let r = vec2<f32>(f32(-dx), f32(-dy));
            let dst = 1.0 / (len2 * sqrt(len2));
            let lev = 1.0 / (1.0 + abs(signed_t(qi) - tp));
            var dir = dot(r, grad_t);
            if abs(dir) <= 0.01 {
                dir = 1.0e-6;
            }
            let w = abs(dst * lev * dir);
            let iq = rgb(qi);
            ia += w * iq;
            jx -= w * diff_rgb(q + ex, q - ex, iq) * r.x;
            jy -= w * diff_rgb(q + ey, q - ey, iq) * r.y;
            s += w;
        }
    }
    let j = (jx + jy) / (sqrt(jx * jx + jy * jy) + 1.0e-20);
    let v = clamp(round(ia / s + j), vec3<f32>(0.0), vec3<f32>(255.0)) / 255.0;
    let alpha = unpack4x8unorm(color[i]).a;
    color[i] = pack4x8unorm(vec4<f32>(v, alpha));
}

// ---------------------------------------------------------------------------------------------
// store

@group(1) @binding(0) var output: texture_storage_2d<rgba8unorm, write>;

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn store(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = vec2<i32>(gid.xy);
    set_tile(p);
    if !inside(p) {
        return;
    }
    let i = idx(p);
    if flags[i] == HOLE {
        textureStore(output, p + vec2<i32>(params.origin), unpack4x8unorm(color[i]));
    }
}
