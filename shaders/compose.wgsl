// compose.wgsl — the picture the viewer shows: the modified image (or the original, left of the
// before/after split), the painted mask as a translucent tint, and on demand a class activation
// map, bilinearly upsampled from the model's feature grid and colour-mapped (viridis), or a signed
// map (an occlusion map: −1..1) in a diverging map, transparent near zero. Mirrors
// src/cpu/compose.rs.
//
// | binding | type                                   | what                                   |
// |---------|----------------------------------------|----------------------------------------|
// | 0       | uniform Params                         | sizes, split, overlay settings         |
// | 1       | texture_2d<f32> (rgba8)                | original image                         |
// | 2       | texture_2d<f32> (rgba8)                | modified image                         |
// | 3       | texture_2d<f32> (r32float)             | mask (> 0 = erased)                    |
// | 4       | storage array<f32>, read               | CAM, cam_size.x * cam_size.y, 0..1     |
// | 5       | texture_storage_2d<rgba8unorm, write>  | output                                 |

struct Params {
    size: vec2<u32>,
    cam_size: vec2<u32>,
    // Centre of CAM cell 0 and the distance between cell centres, in image pixels (continuous
    // coordinates): a model's receptive-field centres, or an even split for an occlusion map.
    cam_origin: vec2<f32>,
    cam_step: vec2<f32>,
    // Columns left of this show the original (0 = none, size.x = all).
    split: u32,
    // 0: no overlay; 1: 0..1 values in viridis; 2: signed −1..1 values, diverging.
    cam_enabled: u32,
    mask_alpha: f32,
    cam_opacity: f32,
    // Top-left corner of the rectangle this dispatch draws (the rest of the picture is kept): a
    // painted stroke redraws only where it changed the mask.
    rect_origin: vec2<u32>,
    rect_size: vec2<u32>,
}

// NOTE: keep in sync with WORKGROUP in src/passes/compose.rs.
const WORKGROUP: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var original: texture_2d<f32>;
@group(0) @binding(2) var modified: texture_2d<f32>;
@group(0) @binding(3) var mask: texture_2d<f32>;
@group(0) @binding(4) var<storage, read> cam: array<f32>;
@group(0) @binding(5) var output: texture_storage_2d<rgba8unorm, write>;

const MASK_TINT: vec3<f32> = vec3<f32>(1.0, 0.15, 0.3);

// Viridis (perceptually uniform, sequential), t in 0..1, as a polynomial fit. Same coefficients
// as `viridis` in src/cpu/compose.rs.
fn viridis(x: f32) -> vec3<f32> {
    let t = clamp(x, 0.0, 1.0);
    let c0 = vec3<f32>(0.27772733, 0.0054073445, 0.3340998);
    let c1 = vec3<f32>(0.10509304, 1.4046135, 1.3845902);
    let c2 = vec3<f32>(-0.33086183, 0.21484756, 0.09509516);
    let c3 = vec3<f32>(-4.6342305, -5.799101, -19.332441);
    let c4 = vec3<f32>(6.22827, 14.179933, 56.69055);
    let c5 = vec3<f32>(4.776385, -13.745146, -65.35303);
    let c6 = vec3<f32>(-5.435456, 4.6458526, 26.312435);
    let v = c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * c6)))));
    return clamp(v, vec3<f32>(0.0), vec3<f32>(1.0));
}

fn cam_at(x: i32, y: i32) -> f32 {
    let cx = clamp(x, 0, i32(params.cam_size.x) - 1);
    let cy = clamp(y, 0, i32(params.cam_size.y) - 1);
    return cam[u32(cy) * params.cam_size.x + u32(cx)];
}

// Bilinear sample of the CAM grid at image pixel p, cells placed by cam_origin / cam_step.
fn cam_sample(p: vec2<u32>) -> f32 {
    let g = (vec2<f32>(p) + 0.5 - params.cam_origin) / params.cam_step;
    let base = floor(g);
    let f = g - base;
    let x = i32(base.x);
    let y = i32(base.y);
    let top = mix(cam_at(x, y), cam_at(x + 1, y), f.x);
    let bottom = mix(cam_at(x, y + 1), cam_at(x + 1, y + 1), f.x);
    return mix(top, bottom, f.y);
}

// ColorBrewer's RdBu, blue (−1) through near-white (0) to red (+1): evidence against / for.
fn diverging(t: f32) -> vec3<f32> {
    var stops = array<vec3<f32>, 5>(
        vec3<f32>(0.020, 0.188, 0.380),
        vec3<f32>(0.263, 0.576, 0.765),
        vec3<f32>(0.969, 0.969, 0.969),
        vec3<f32>(0.839, 0.376, 0.302),
        vec3<f32>(0.404, 0.000, 0.122),
    );
    let x = (clamp(t, -1.0, 1.0) + 1.0) * 2.0;
    let i = min(u32(floor(x)), 3u);
    return mix(stops[i], stops[i + 1u], x - f32(i));
}

// None within 5% of zero, full from 35%: "no effect" shows the photo.
fn diverging_alpha(t: f32) -> f32 {
    return clamp((abs(t) - 0.05) / 0.30, 0.0, 1.0);
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn main(@builtin(global_invocation_id) global_id: vec3<u32>) {
    if global_id.x >= params.rect_size.x || global_id.y >= params.rect_size.y {
        return;
    }
    let gid = global_id.xy + params.rect_origin;
    if gid.x >= params.size.x || gid.y >= params.size.y {
        return;
    }
    let p = vec2<i32>(gid);
    var rgb: vec3<f32>;
    if gid.x < params.split {
        rgb = textureLoad(original, p, 0).rgb;
    } else {
        rgb = textureLoad(modified, p, 0).rgb;
        if textureLoad(mask, p, 0).r > 0.0 {
            rgb = mix(rgb, MASK_TINT, params.mask_alpha);
        }
    }
    if params.cam_enabled == 1u {
        rgb = mix(rgb, viridis(cam_sample(gid)), params.cam_opacity);
    } else if params.cam_enabled == 2u {
        let t = clamp(cam_sample(gid), -1.0, 1.0);
        rgb = mix(rgb, diverging(t), params.cam_opacity * diverging_alpha(t));
    }
    textureStore(output, p, vec4<f32>(rgb, 1.0));
}
