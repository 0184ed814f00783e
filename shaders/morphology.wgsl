// morphology.wgsl — whole-mask operations on the R32Float mask: clear, invert, and one axis of a
// grow (window max) or shrink (window min) over 2N+1 pixels; pixels beyond the image never count.
// A grow or shrink is two dispatches (rows into the scratch texture, then columns back); clear and
// invert write the scratch and a radius-0 grow copies it back. Mirrors src/cpu/morphology.rs.
//
// | binding | type                                      | what                          |
// |---------|-------------------------------------------|-------------------------------|
// | 0       | uniform Params (dynamic offset)           | the operation and axis        |
// | 1       | texture_2d<f32>                           | the mask read                 |
// | 2       | texture_storage_2d<r32float, write>       | the mask written              |

struct Params {
    // 0 clear, 1 invert, 2 grow, 3 shrink.
    op: u32,
    radius: u32,
    // 0 along rows, 1 along columns.
    axis: u32,
    _pad: u32,
}

// NOTE: keep in sync with WORKGROUP in src/passes/morphology.rs.
const WORKGROUP: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var src: texture_2d<f32>;
@group(0) @binding(2) var dst: texture_storage_2d<r32float, write>;

fn set_at(p: vec2<i32>) -> bool {
    return textureLoad(src, p, 0).r > 0.5;
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let size = textureDimensions(src);
    if gid.x >= size.x || gid.y >= size.y {
        return;
    }
    let p = vec2<i32>(gid.xy);
    var on = false;
    if params.op == 1u {
        on = !set_at(p);
    } else if params.op >= 2u {
        let grow = params.op == 2u;
        let len = i32(size[params.axis]);
        let at = p[params.axis];
        let lo = max(at - i32(params.radius), 0);
        let hi = min(at + i32(params.radius), len - 1);
        // Grow: any set pixel in the window; shrink: all of them.
        on = !grow;
        for (var i = lo; i <= hi; i++) {
            var q = p;
            q[params.axis] = i;
            if set_at(q) == grow {
                on = grow;
                break;
            }
        }
    }
    textureStore(dst, p, vec4<f32>(select(0.0, 1.0, on), 0.0, 0.0, 1.0));
}
