//! Deletion and insertion curves as a PNG: two panels (probability against the fraction removed
//! or given back), one coloured line per method, each labelled with its area under the curve.

use image::{Rgba, RgbaImage};

use super::evaluate::MethodCurves;
use super::glyphs::{draw_text, number, text_height};

/// Each method's line colour, by its JSON name (the random baseline in grey).
pub fn colour(name: &str) -> Rgba<u8> {
    match name {
        "cam" => Rgba([230, 120, 20, 255]),
        "gradcam" => Rgba([130, 60, 180, 255]),
        "occlusion" => Rgba([20, 150, 80, 255]),
        _ => Rgba([128, 128, 128, 255]),
    }
}

const PANEL_W: u32 = 420;
const PANEL_H: u32 = 300;
const LEFT: u32 = 44;
const RIGHT: u32 = 12;
const TOP: u32 = 22;
const BOTTOM: u32 = 30;
const TEXT: u32 = 2;

/// The plot of `methods`' curves: deletion on the left, insertion on the right.
pub fn plot(methods: &[MethodCurves]) -> RgbaImage {
    let mut img = RgbaImage::from_pixel(2 * PANEL_W, PANEL_H, Rgba([255, 255, 255, 255]));
    let y_max = methods
        .iter()
        .flat_map(|m| {
            m.deletion
                .probabilities
                .iter()
                .chain(&m.insertion.probabilities)
        })
        .fold(0.0f32, |a, &p| a.max(p))
        .max(1e-3);
    for (panel, title) in [(0, "DELETION"), (1, "INSERTION")] {
        let x0 = panel * PANEL_W;
        axes(&mut img, x0, y_max, title);
        for (k, m) in methods.iter().enumerate() {
            let curve = if panel == 0 {
                &m.deletion
            } else {
                &m.insertion
            };
            let c = colour(m.name);
            let at = |f: f32, p: f32| {
                let px = f64::from(x0 + LEFT) + f64::from(f) * f64::from(PANEL_W - LEFT - RIGHT);
                let py = f64::from(PANEL_H - BOTTOM)
                    - f64::from(p / y_max) * f64::from(PANEL_H - BOTTOM - TOP);
                (px, py)
            };
            for (f, p) in curve
                .fractions
                .windows(2)
                .zip(curve.probabilities.windows(2))
            {
                line(&mut img, at(f[0], p[0]), at(f[1], p[1]), c);
            }
            let label = format!("{} {}", m.name.to_uppercase(), number(curve.auc()));
            let ly = TOP + 4 + k as u32 * (text_height(TEXT) + 4);
            draw_text(
                &mut img,
                i64::from(x0 + PANEL_W - RIGHT - 130),
                i64::from(ly),
                &label,
                TEXT,
                c,
            );
        }
    }
    img
}

/// Frame, title and the axes' end values of one panel.
fn axes(img: &mut RgbaImage, x0: u32, y_max: f32, title: &str) {
    let black = Rgba([0, 0, 0, 255]);
    let (l, r) = (x0 + LEFT, x0 + PANEL_W - RIGHT);
    let (t, b) = (TOP, PANEL_H - BOTTOM);
    line(
        img,
        (f64::from(l), f64::from(b)),
        (f64::from(r), f64::from(b)),
        black,
    );
    line(
        img,
        (f64::from(l), f64::from(t)),
        (f64::from(l), f64::from(b)),
        black,
    );
    draw_text(img, i64::from(l), 4, title, TEXT, black);
    let below = i64::from(b + 6);
    draw_text(img, i64::from(l) - 2, below, "0", TEXT, black);
    draw_text(img, i64::from(r) - 6, below, "1", TEXT, black);
    draw_text(img, i64::from(x0 + 4), i64::from(b) - 10, "0", TEXT, black);
    draw_text(
        img,
        i64::from(x0 + 4),
        i64::from(t),
        &number(y_max),
        TEXT,
        black,
    );
}

/// A 2-pixel line from `a` to `b` (clipped).
fn line(img: &mut RgbaImage, a: (f64, f64), b: (f64, f64), c: Rgba<u8>) {
    let n = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).max(1);
    for i in 0..=n {
        let t = i as f64 / n as f64;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let (px, py) = (x.round() as i64 + dx, y.round() as i64 + dy);
            if px >= 0 && py >= 0 && px < i64::from(img.width()) && py < i64::from(img.height()) {
                img.put_pixel(px as u32, py as u32, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::curves::{Curve, fractions};

    #[test]
    fn every_curve_is_drawn_in_its_colour() {
        let curve = |p: Vec<f32>| Curve {
            fractions: fractions(2),
            probabilities: p,
        };
        let methods = vec![
            MethodCurves {
                name: "cam",
                deletion: curve(vec![0.9, 0.2, 0.0]),
                insertion: curve(vec![0.0, 0.5, 0.9]),
            },
            MethodCurves {
                name: "random",
                deletion: curve(vec![0.9, 0.6, 0.0]),
                insertion: curve(vec![0.0, 0.2, 0.9]),
            },
        ];
        let img = plot(&methods);
        assert_eq!(img.dimensions(), (2 * PANEL_W, PANEL_H));
        for name in ["cam", "random"] {
            let n = img.pixels().filter(|p| **p == colour(name)).count();
            assert!(n > 200, "{name}: {n} pixels");
        }
    }
}
