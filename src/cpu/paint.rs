//! CPU reference of `shaders/paint.wgsl`: a brush segment (a capsule) stamped into a mask.

use image::GrayImage;

/// The pixels a brush segment covers: centre within `radius` of the segment a–b (a disk when
/// a = b). Calls `set(x, y)` for each.
pub fn capsule_pixels(
    (w, h): (u32, u32),
    a: (f32, f32),
    b: (f32, f32),
    radius: f32,
    mut set: impl FnMut(u32, u32),
) {
    let [x0, y0, x1, y1] = capsule_bounds((w, h), a, b, radius);
    for y in y0..y1 {
        for x in x0..x1 {
            if in_capsule((x as f32 + 0.5, y as f32 + 0.5), a, b, radius) {
                set(x, y);
            }
        }
    }
}

/// Pixel bounds [x0, y0, x1, y1) of a capsule, clipped to the image.
pub fn capsule_bounds((w, h): (u32, u32), a: (f32, f32), b: (f32, f32), radius: f32) -> [u32; 4] {
    let x0 = (a.0.min(b.0) - radius).floor().clamp(0.0, w as f32) as u32;
    let y0 = (a.1.min(b.1) - radius).floor().clamp(0.0, h as f32) as u32;
    let x1 = (a.0.max(b.0) + radius).ceil().clamp(0.0, w as f32) as u32;
    let y1 = (a.1.max(b.1) + radius).ceil().clamp(0.0, h as f32) as u32;
    [x0, y0, x1, y1]
}

/// Whether point p lies within `radius` of the segment a–b (same arithmetic as the shader).
pub fn in_capsule(p: (f32, f32), a: (f32, f32), b: (f32, f32), radius: f32) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (ex, ey) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
    ex * ex + ey * ey <= radius * radius
}

/// Stamps a segment into `mask`: 255 to erase the image there, 0 to restore it.
pub fn paint_segment(mask: &mut GrayImage, a: (f32, f32), b: (f32, f32), radius: f32, erase: bool) {
    let value = if erase { 255 } else { 0 };
    let dims = mask.dimensions();
    capsule_pixels(dims, a, b, radius, |x, y| {
        mask.put_pixel(x, y, image::Luma([value]))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_and_capsule_cover_what_they_should() {
        let mut m = GrayImage::new(20, 10);
        paint_segment(&mut m, (5.0, 5.0), (5.0, 5.0), 2.0, true);
        let n = m.pixels().filter(|p| p[0] != 0).count();
        assert!((10..=16).contains(&n), "{n}"); // π·2² ≈ 12.6
        paint_segment(&mut m, (2.0, 5.0), (18.0, 5.0), 1.0, true);
        assert_eq!(m.get_pixel(10, 4)[0], 255);
        assert_eq!(m.get_pixel(10, 7)[0], 0);
        paint_segment(&mut m, (0.0, 0.0), (20.0, 10.0), 100.0, false);
        assert!(m.pixels().all(|p| p[0] == 0));
    }
}
