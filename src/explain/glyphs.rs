//! A 3x5 pixel font for the numbers on colour bars and the labels of curve plots: digits, sign,
//! point, exponent and the capitals the labels use; no font file or text shaper enters the build.

use image::{Rgba, RgbaImage};

/// Rows of a glyph, top to bottom, 3 bits each (bit 2 = left column).
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        '+' => [0b000, 0b010, 0b111, 0b010, 0b000],
        'e' => [0b000, 0b111, 0b111, 0b100, 0b111],
        'A' => [0b010, 0b101, 0b111, 0b101, 0b101],
        'C' => [0b011, 0b100, 0b100, 0b100, 0b011],
        'D' => [0b110, 0b101, 0b101, 0b101, 0b110],
        'E' => [0b111, 0b100, 0b110, 0b100, 0b111],
        'G' => [0b011, 0b100, 0b101, 0b101, 0b011],
        'I' => [0b111, 0b010, 0b010, 0b010, 0b111],
        'L' => [0b100, 0b100, 0b100, 0b100, 0b111],
        'M' => [0b101, 0b111, 0b111, 0b101, 0b101],
        'N' => [0b110, 0b101, 0b101, 0b101, 0b101],
        'O' => [0b010, 0b101, 0b101, 0b101, 0b010],
        'P' => [0b110, 0b101, 0b110, 0b100, 0b100],
        'R' => [0b110, 0b101, 0b110, 0b101, 0b101],
        'S' => [0b011, 0b100, 0b010, 0b001, 0b110],
        'T' => [0b111, 0b010, 0b010, 0b010, 0b010],
        'U' => [0b101, 0b101, 0b101, 0b101, 0b111],
        ':' => [0b000, 0b010, 0b000, 0b010, 0b000],
        ' ' => [0; 5],
        _ => return None,
    })
}

/// Width in pixels of `text` drawn at `scale` (a glyph is 3 wide plus 1 of spacing).
pub fn text_width(text: &str, scale: u32) -> u32 {
    (text.chars().count() as u32 * 4).saturating_sub(1) * scale
}

/// Height in pixels of a line at `scale`.
pub fn text_height(scale: u32) -> u32 {
    5 * scale
}

/// Draws `text` with its top-left corner at (x, y), lower case as capitals; characters without a
/// glyph are left blank, pixels outside the image are clipped.
pub fn draw_text(img: &mut RgbaImage, x: i64, y: i64, text: &str, scale: u32, colour: Rgba<u8>) {
    let s = i64::from(scale.max(1));
    for (k, c) in text.chars().enumerate() {
        let Some(rows) = glyph(c).or_else(|| glyph(c.to_ascii_uppercase())) else {
            continue;
        };
        let gx = x + k as i64 * 4 * s;
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..3 {
                if bits & (0b100 >> col) == 0 {
                    continue;
                }
                for dy in 0..s {
                    for dx in 0..s {
                        let (px, py) = (gx + col * s + dx, y + row as i64 * s + dy);
                        if px >= 0
                            && py >= 0
                            && px < i64::from(img.width())
                            && py < i64::from(img.height())
                        {
                            img.put_pixel(px as u32, py as u32, colour);
                        }
                    }
                }
            }
        }
    }
}

/// A short label for a scale value: 3 significant digits, exponent form outside 0.01..10000.
pub fn number(v: f32) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(0.01..10_000.0).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_use_only_drawable_characters() {
        for v in [0.0, 1.5, -2.25, 0.0123, 123.4, 1e-5, -3e6, 9999.0] {
            let s = number(v);
            assert!(s.chars().all(|c| glyph(c).is_some()), "{s}");
        }
    }

    #[test]
    fn text_is_drawn_and_clipped() {
        let mut img = RgbaImage::new(10, 6);
        draw_text(&mut img, 0, 0, "1", 1, Rgba([255, 0, 0, 255]));
        // '1': top row is the middle pixel only.
        assert_eq!(img.get_pixel(1, 0)[0], 255);
        assert_eq!(img.get_pixel(0, 0)[0], 0);
        draw_text(&mut img, 8, 4, "888", 2, Rgba([0, 255, 0, 255]));
        assert_eq!(text_width("888", 2), 22);
    }
}
