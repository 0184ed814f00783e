//! The allowed range of every number a user can give unsee, in one place: the command line's value
//! parsers and the session checks read the same constants, so a session cannot ask for more work
//! than the command line allows.

use std::ops::RangeInclusive;

/// Telea's neighbourhood radius ε, pixels (`inpaint --radius`, a session's `fill.radius`).
pub const TELEA_RADIUS: RangeInclusive<u32> = 1..=100;
/// PatchMatch's patch side, pixels; odd (a session's `fill.patch`).
pub const PATCH: RangeInclusive<u32> = 3..=15;
/// PatchMatch's EM iterations per level (a session's `fill.iterations`; the viewer's slider).
pub const ITERATIONS: RangeInclusive<u32> = 1..=10;
/// Brush radius, image pixels (a stroke's `radius`; ½ is a mask applied as row runs).
pub const BRUSH_RADIUS: RangeInclusive<f32> = 0.5..=200.0;
/// How far outside the image a stroke point may lie, as a multiple of the largest image side:
/// points past the edge are legitimate (a stroke that leaves the window), far ones are not.
pub const POINT_REACH: f32 = 2.0 * crate::image_io::MAX_SIDE as f32;
/// Strokes in one session: each one is a fill and a classification when replayed.
pub const MAX_STROKES: usize = 5_000;
/// Capsules (points plus row runs) in one session, all strokes together: a whole-image mask of
/// the viewer's working size applied in one step is about 0.5 million runs.
pub const MAX_SEGMENTS: usize = 2_000_000;
/// Rows of a recorded table (there are 1000 classes).
pub const MAX_TABLE_ROWS: usize = 1000;
/// Longest class label in a recorded table, bytes.
pub const MAX_LABEL_BYTES: usize = 1000;
/// Largest session.json read, bytes (a session at [`MAX_SEGMENTS`] is about 100 MB).
pub const MAX_SESSION_BYTES: u64 = 256 << 20;
/// Occlusion grid, cells per side (`explain --grid`): one cell would erase the whole image.
pub const GRID: RangeInclusive<u32> = 2..=64;
/// Sliding occlusion window and stride, fractions of the image's shorter side (`explain --window`,
/// `--stride`): at most 1024 windows a side at the smallest stride.
pub const WINDOW_FRACTION: RangeInclusive<f32> = 0.01..=1.0;
/// Steps of a deletion or insertion curve (`evaluate --steps`): each is a fill and a
/// classification.
pub const CURVE_STEPS: RangeInclusive<u32> = 2..=200;
/// Pixels a mask grows or shrinks by in one operation (the viewer's Grow/Shrink).
pub const MASK_GROW: RangeInclusive<u32> = 1..=256;
/// Threshold of a suggested mask, fraction of the map's range (`explain --threshold`).
pub const THRESHOLD: RangeInclusive<f32> = 0.0..=1.0;
/// Timed runs per bench case (`bench --runs`).
pub const RUNS: RangeInclusive<usize> = 1..=10_000;
/// Classes printed by `classify --top`.
pub const TOP: RangeInclusive<u16> = 1..=1000;
/// Frames of a scripted viewer run (`view --frames`).
pub const FRAMES: RangeInclusive<u32> = 1..=100_000;

/// `unsee view --offscreen --refresh-hz`: the display refresh the offscreen frames are paced
/// to (0: unpaced).
pub const REFRESH_HZ: RangeInclusive<u32> = 0..=1000;

/// `range` as the `i64` bounds clap's integer value parsers take.
pub fn clap_range<T: Copy + Into<i64>>(range: &RangeInclusive<T>) -> RangeInclusive<i64> {
    (*range.start()).into()..=(*range.end()).into()
}

/// Parses a floating-point argument and checks it lies in `range` (NaN never does): the message
/// names the range, as clap's integer parsers do.
pub fn parse_f32_in(text: &str, range: &RangeInclusive<f32>) -> Result<f32, String> {
    let value: f32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{value} is not in {}..={}",
            range.start(),
            range.end()
        ))
    }
}

/// Checks `value` lies in `range`; the error names the field (for sessions).
pub fn check<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    range: &RangeInclusive<T>,
) -> Result<T, String> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{field} is {value}, outside {}..={}",
            range.start(),
            range.end()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_outside_the_range_and_nan_are_refused() {
        assert_eq!(parse_f32_in("0.6", &THRESHOLD), Ok(0.6));
        assert_eq!(parse_f32_in("1", &THRESHOLD), Ok(1.0));
        for bad in ["NaN", "nan", "2", "-1", "inf", "-0.01", "x", ""] {
            assert!(parse_f32_in(bad, &THRESHOLD).is_err(), "{bad}");
        }
    }

    #[test]
    fn check_names_the_field_and_range() {
        assert_eq!(check("fill.radius", 5, &TELEA_RADIUS), Ok(5));
        let e = check("fill.radius", u32::MAX, &TELEA_RADIUS).unwrap_err();
        assert!(e.contains("fill.radius") && e.contains("1..=100"), "{e}");
        assert!(check("radius", f32::NAN, &BRUSH_RADIUS).is_err());
    }
}
