// paint.wgsl — stamps brush segments (capsules) into the mask texture: 1 = erase, 0 = restore.
// One dispatch per segment over the segment's bounding box; `clear` fills the box instead (used
// to reset the mask before replaying strokes on undo). Mirrors src/cpu/paint.rs.
//
// | binding | type                                      | what                          |
// |---------|-------------------------------------------|-------------------------------|
// | 0       | uniform Params (dynamic offset)           | the segment                   |
// | 1       | texture_storage_2d<r32float, write>       | the mask                      |

struct Params {
    a: vec2<f32>,
    b: vec2<f32>,
    radius: f32,
    value: f32,
    clear: u32,
    _pad: u32,
    origin: vec2<u32>,
    size: vec2<u32>,
}

// NOTE: keep in sync with WORKGROUP in src/passes/paint.rs.
const WORKGROUP: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var mask: texture_storage_2d<r32float, write>;

fn in_capsule(p: vec2<f32>, a: vec2<f32>, b: vec2<f32>, radius: f32) -> bool {
    let d = b - a;
    let len2 = dot(d, d);
    var t = 0.0;
    if len2 > 0.0 {
        t = clamp(dot(p - a, d) / len2, 0.0, 1.0);
    }
    let e = a + t * d - p;
    return dot(e, e) <= radius * radius;
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= params.size.x || gid.y >= params.size.y {
        return;
    }
    let px = gid.xy + params.origin;
    let centre = vec2<f32>(px) + 0.5;
    if params.clear != 0u || in_capsule(centre, params.a, params.b, params.radius) {
        textureStore(mask, vec2<i32>(px), vec4<f32>(params.value, 0.0, 0.0, 1.0));
    }
}
