//! CPU reference of `shaders/compose.wgsl`: the viewer's picture (split, mask tint, map overlay).

use image::{GrayImage, RgbaImage};

use crate::models::receptive::Placement;

/// Colour of the mask tint. NOTE: keep in sync with MASK_TINT in shaders/compose.wgsl.
pub const MASK_TINT: [f32; 3] = [1.0, 0.15, 0.3];

/// Viridis (perceptually uniform, sequential) at `t` in 0..1 → RGB in 0..1, as a polynomial fit.
/// NOTE: keep in sync with `viridis` in shaders/compose.wgsl.
pub fn viridis(t: f32) -> [f32; 3] {
    const C: [[f32; 3]; 7] = [
        [0.277_727_33, 0.005_407_344_5, 0.334_099_8],
        [0.105_093_04, 1.404_613_5, 1.384_590_2],
        [-0.330_861_83, 0.214_847_56, 0.095_095_16],
        [-4.634_230_5, -5.799_101, -19.332_441],
        [6.228_27, 14.179_933, 56.690_55],
        [4.776_385, -13.745_146, -65.353_03],
        [-5.435_456, 4.645_852_6, 26.312_435],
    ];
    let t = t.clamp(0.0, 1.0);
    std::array::from_fn(|c| {
        C.iter()
            .rev()
            .fold(0.0, |acc, k| acc * t + k[c])
            .clamp(0.0, 1.0)
    })
}

/// ColorBrewer's RdBu stops, blue (−1) through near-white (0) to red (+1).
const RDBU: [[f32; 3]; 5] = [
    [0.020, 0.188, 0.380],
    [0.263, 0.576, 0.765],
    [0.969, 0.969, 0.969],
    [0.839, 0.376, 0.302],
    [0.404, 0.000, 0.122],
];

/// The diverging colour of `t` in −1..1 (clamped): blue against, red for.
pub fn diverging(t: f32) -> [f32; 3] {
    let x = (t.clamp(-1.0, 1.0) + 1.0) * 2.0;
    let i = (x.floor() as usize).min(3);
    let f = x - i as f32;
    std::array::from_fn(|c| RDBU[i][c] + (RDBU[i + 1][c] - RDBU[i][c]) * f)
}

/// Opacity of a diverging colour at `t`: none within 5% of zero, full from 35% (so "no effect"
/// shows the photo, not a colour that reads as evidence).
pub fn diverging_alpha(t: f32) -> f32 {
    ((t.abs() - 0.05) / 0.30).clamp(0.0, 1.0)
}

/// What to draw over the image.
#[derive(Clone, Copy, Debug)]
pub struct ComposeSettings {
    /// Columns left of this show the original.
    pub split: u32,
    /// Opacity of the mask tint.
    pub mask_alpha: f32,
    /// Opacity of the CAM overlay (when a CAM is given).
    pub cam_opacity: f32,
}

/// Bilinear sample of a `cw` x `ch` grid placed over the image by `place`, at image pixel
/// (x, y); beyond the outermost cell centres the edge value holds.
pub fn cam_sample(cam: &[f32], (cw, ch): (u32, u32), place: &Placement, x: u32, y: u32) -> f32 {
    let gx = place.grid_coord(0, x);
    let gy = place.grid_coord(1, y);
    let (bx, by) = (gx.floor(), gy.floor());
    let (fx, fy) = (gx - bx, gy - by);
    let at = |x: i64, y: i64| {
        let cx = x.clamp(0, i64::from(cw) - 1) as usize;
        let cy = y.clamp(0, i64::from(ch) - 1) as usize;
        cam[cy * cw as usize + cx]
    };
    let (x, y) = (bx as i64, by as i64);
    let top = at(x, y) + (at(x + 1, y) - at(x, y)) * fx;
    let bottom = at(x, y + 1) + (at(x + 1, y + 1) - at(x, y + 1)) * fx;
    top + (bottom - top) * fy
}

/// A grid of values drawn over the picture.
#[derive(Clone, Copy, Debug)]
pub struct Overlay<'a> {
    /// Row-major values: 0..1, or −1..1 when `signed`.
    pub values: &'a [f32],
    /// Columns and rows.
    pub grid: (u32, u32),
    /// Where the cells sit over the image.
    pub place: Placement,
    /// Drawn diverging (transparent near 0) rather than in viridis.
    pub signed: bool,
}

/// The composed picture. The overlay is a grid of values (placed by its [`Placement`]): 0..1 in
/// viridis, or with `signed` set −1..1 in the diverging map, transparent near 0.
pub fn compose(
    original: &RgbaImage,
    modified: &RgbaImage,
    mask: &GrayImage,
    cam: Option<Overlay<'_>>,
    s: &ComposeSettings,
) -> RgbaImage {
    let (w, h) = original.dimensions();
    RgbaImage::from_fn(w, h, |x, y| {
        let src = if x < s.split { original } else { modified };
        let p = src.get_pixel(x, y);
        let mut rgb = [0, 1, 2].map(|c| f32::from(p[c]) / 255.0);
        if x >= s.split && mask.get_pixel(x, y)[0] != 0 {
            rgb = [0, 1, 2].map(|c| rgb[c] + (MASK_TINT[c] - rgb[c]) * s.mask_alpha);
        }
        if let Some(o) = &cam {
            let v = cam_sample(o.values, o.grid, &o.place, x, y);
            let (color, alpha) = if o.signed {
                let t = v.clamp(-1.0, 1.0);
                (diverging(t), s.cam_opacity * diverging_alpha(t))
            } else {
                (viridis(v), s.cam_opacity)
            };
            rgb = [0, 1, 2].map(|c| rgb[c] + (color[c] - rgb[c]) * alpha);
        }
        image::Rgba([
            (rgb[0] * 255.0).round() as u8,
            (rgb[1] * 255.0).round() as u8,
            (rgb[2] * 255.0).round() as u8,
            255,
        ])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ModelKind;
    use crate::models::receptive::{centres, layers};

    /// An impulse in feature cell `(j, i)` of `kind`'s grid, composed over a `size` image: the
    /// brightest pixel must be the cell's receptive-field centre computed from the layers.
    fn impulse_lands_at_the_receptive_field_centre(kind: ModelKind, input: u32, grid: u32) {
        let size = (2 * input, input); // a non-square photo, squashed to the input
        let (j, i) = (3u32, 5u32);
        let mut cam = vec![0.0; (grid * grid) as usize];
        cam[(i * grid + j) as usize] = 1.0;
        let place = Placement::receptive(kind, input, size);
        let peak = (0..size.1)
            .flat_map(|y| (0..size.0).map(move |x| (x, y)))
            .max_by(|a, b| {
                let va = cam_sample(&cam, (grid, grid), &place, a.0, a.1);
                let vb = cam_sample(&cam, (grid, grid), &place, b.0, b.1);
                va.total_cmp(&vb)
            })
            .unwrap();
        let (start, stride) = centres(&layers(kind));
        // Input pixel index of the centre, back in image pixels (x squashed by 2).
        let want_x = ((start + stride * j as f32 + 0.5) * 2.0 - 0.5).round() as i64;
        let want_y = (start + stride * i as f32).round() as i64;
        assert!(
            (i64::from(peak.0) - want_x).abs() <= 1 && i64::from(peak.1) == want_y,
            "{kind:?}: peak at {peak:?}, receptive field centre at ({want_x}, {want_y})"
        );
        // The even split would have put it elsewhere (that is the bug this guards).
        let even = Placement::even((grid, grid), size);
        let even_y = (even.origin[1] + even.step[1] * i as f32 - 0.5).round() as i64;
        assert_ne!(even_y, want_y);
    }

    #[test]
    fn cam_impulse_lands_at_squeezenet_receptive_field_centre() {
        impulse_lands_at_the_receptive_field_centre(ModelKind::SqueezeNet, 227, 14);
    }

    #[test]
    fn cam_impulse_lands_at_mobilenet_receptive_field_centre() {
        impulse_lands_at_the_receptive_field_centre(ModelKind::MobileNetV2, 224, 7);
    }

    #[test]
    fn cam_sample_interpolates_between_cells() {
        let grid = [0.0, 1.0];
        let even = Placement::even((2, 1), (4, 1));
        assert_eq!(cam_sample(&grid, (2, 1), &even, 0, 0), 0.0);
        assert_eq!(cam_sample(&grid, (2, 1), &even, 3, 0), 1.0);
        let mid = cam_sample(&grid, (2, 1), &even, 2, 0);
        assert!(mid > 0.5 && mid < 1.0, "{mid}");
    }
}
