// preprocess.wgsl — turns the working image into a classifier's input tensor, in place in burn's
// buffer: the whole image squashed to size x size (no crop) with a triangle filter whose support
// grows with the downscale factor (antialiased, like PIL's BILINEAR), channels reordered, the mean
// subtracted and scaled. Output is NCHW row-major f32; `item` picks the batch entry written and
// `src_origin` the corner of the source image inside the texture (a tile of an atlas).
//
// Mirrors src/cpu/preprocess.rs; driven by src/passes/preprocess.rs.
//
// | binding | type                       | what                          |
// |---------|----------------------------|-------------------------------|
// | 0       | uniform Params (dyn. offset) | sizes, item, normalisation  |
// | 1       | texture_2d<f32> (rgba8)    | the working image             |
// | 2       | storage array<f32>, write  | the model input [n, 3, s, s]  |

struct Params {
    src_size: vec2<u32>,
    dst_size: u32,
    // Batch entry written.
    item: u32,
    // Which RGBA channel feeds input channel 0, 1, 2 (BGR = 2, 1, 0); w unused.
    source: vec4<u32>,
    // Subtracted from each input channel, 0..255 units; w unused.
    mean: vec4<f32>,
    // Applied after subtracting the mean; w unused.
    scale: vec4<f32>,
    // Top-left corner of the source image in the texture.
    src_origin: vec2<u32>,
    _pad1: vec2<u32>,
}

// NOTE: keep in sync with WORKGROUP in src/passes/preprocess.rs.
const WORKGROUP: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var src: texture_2d<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// Triangle filter weight of source pixel `i` for an output centred at `center` (source pixel
// units) with half-width `support`.
fn tri(i: i32, center: f32, support: f32) -> f32 {
    return max(0.0, 1.0 - abs(f32(i) + 0.5 - center) / support);
}

@compute @workgroup_size(WORKGROUP, WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let d = params.dst_size;
    if gid.x >= d || gid.y >= d {
        return;
    }
    let src_size = vec2<f32>(params.src_size);
    let ratio = src_size / f32(d);
    let support = max(ratio, vec2<f32>(1.0));
    let center = (vec2<f32>(gid.xy) + 0.5) * ratio;
    let lo = max(vec2<i32>(floor(center - support)), vec2<i32>(0));
    let hi = min(vec2<i32>(ceil(center + support)), vec2<i32>(params.src_size) - 1);

    var acc = vec3<f32>(0.0);
    var wsum = 0.0;
    for (var y = lo.y; y <= hi.y; y++) {
        let wy = tri(y, center.y, support.y);
        if wy == 0.0 {
            continue;
        }
        var row = vec3<f32>(0.0);
        var row_w = 0.0;
        for (var x = lo.x; x <= hi.x; x++) {
            let wx = tri(x, center.x, support.x);
            row += wx * textureLoad(src, vec2<i32>(x, y) + vec2<i32>(params.src_origin), 0).rgb;
            row_w += wx;
        }
        acc += wy * row;
        wsum += wy * row_w;
    }
    let rgb = acc / wsum * 255.0;

    let plane = d * d;
    let i = params.item * 3u * plane + gid.y * d + gid.x;
    for (var c = 0u; c < 3u; c++) {
        dst[c * plane + i] = (rgb[params.source[c]] - params.mean[c]) * params.scale[c];
    }
}
