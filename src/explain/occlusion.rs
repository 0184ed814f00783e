//! Occlusion by inpainting (Zeiler & Fergus 2014, with the patch inpainted rather than greyed):
//! erase a window, reclassify, score the drop; windows slide with their own size and stride, and
//! each cell of the map averages the windows that cover it.

use std::sync::Arc;

use image::{GrayImage, RgbaImage};

use super::Map;
use super::batches::ErasedBatches;
use super::variants::Eraser;
use crate::classify::ClassifyPipeline;
use crate::gpu::GpuContext;
use crate::inpaint::{InpaintParams, Inpainter};
use crate::{Error, Result};

/// The scale a drop is measured on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Score {
    /// The drop in the class's log-odds ln(p / (1 − p)): as readable for a class at 0.01% as for
    /// one at 90% (a probability barely moves near 0 or 1).
    #[default]
    #[value(name = "log-odds")]
    LogOdds,
    /// The drop in the class's probability.
    #[value(name = "probability")]
    Probability,
}

impl Score {
    /// `p` on this scale.
    pub fn of(self, p: f32) -> f32 {
        match self {
            Score::LogOdds => log_odds(p),
            Score::Probability => p,
        }
    }

    /// The CLI / JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Score::LogOdds => "log-odds",
            Score::Probability => "probability",
        }
    }
}

/// ln(p / (1 − p)), with `p` kept within 1e-12 of 0 and 1 (a softmax can round to either).
pub fn log_odds(p: f32) -> f32 {
    let p = f64::from(p).clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln() as f32
}

/// The windows an occlusion run erases and the grid of the map it makes.
#[derive(Clone, Debug, PartialEq)]
pub struct Windows {
    /// Pixel rectangles [x0, y0, x1, y1), erased one at a time.
    pub rects: Vec<[u32; 4]>,
    /// Columns and rows of the map: each cell averages the windows covering its centre.
    pub grid: (u32, u32),
}

impl Windows {
    /// The cells of an `n` x `n` grid, each erased once (window = stride = cell).
    pub fn grid((w, h): (u32, u32), n: u32) -> Result<Self> {
        crate::limits::check("the occlusion grid", n, &crate::limits::GRID)
            .map_err(Error::Invalid)?;
        if n > w.min(h) {
            // Some cells would be empty: nothing to erase there.
            return Err(Error::Invalid(format!(
                "the occlusion grid {n} is finer than the {w}x{h} image: use at most {}",
                w.min(h)
            )));
        }
        let rects = (0..n)
            .flat_map(|y| (0..n).map(move |x| (x, y)))
            .map(|cell| super::cell_rect((w, h), (n, n), cell))
            .collect();
        Ok(Self {
            rects,
            grid: (n, n),
        })
    }

    /// Square windows of side `window`, every `stride` pixels (both fractions of the shorter
    /// side); the last window of a row or column lies flush with the far edge, so every pixel is
    /// covered. The map has a cell per stride.
    pub fn sliding((w, h): (u32, u32), window: f32, stride: f32) -> Result<Self> {
        let range = &crate::limits::WINDOW_FRACTION;
        crate::limits::check("the occlusion window", window, range).map_err(Error::Invalid)?;
        crate::limits::check("the occlusion stride", stride, range).map_err(Error::Invalid)?;
        if stride > window {
            return Err(Error::Invalid(format!(
                "the occlusion stride {stride} is larger than the window {window}: pixels between windows would never be erased"
            )));
        }
        let short = w.min(h);
        if short < 2 {
            return Err(Error::Invalid(format!(
                "a {w}x{h} image is too small to occlude"
            )));
        }
        let px = |f: f32| ((f * short as f32).round() as u32).clamp(1, short);
        let (win, step) = (px(window), px(stride));
        if win >= short && w == h {
            return Err(Error::Invalid(
                "an occlusion window of the whole image leaves nothing to inpaint from".into(),
            ));
        }
        let starts = |len: u32| {
            let mut v: Vec<u32> = (0..)
                .map(|i| i * step)
                .take_while(|&s| s + win < len)
                .collect();
            v.push(len.saturating_sub(win));
            v.dedup();
            v
        };
        let (xs, ys) = (starts(w), starts(h));
        let rects = ys
            .iter()
            .flat_map(|&y| {
                xs.iter()
                    .map(move |&x| [x, y, (x + win).min(w), (y + win).min(h)])
            })
            .collect();
        let cells = |len: u32| ((len as f32 / step as f32).round() as u32).clamp(1, len);
        Ok(Self {
            rects,
            grid: (cells(w), cells(h)),
        })
    }

    /// The map of per-window `drops`: each cell the mean drop of the windows covering its centre.
    pub fn map(&self, size: (u32, u32), drops: &[f32]) -> Map {
        let (cols, rows) = self.grid;
        let values = (0..rows)
            .flat_map(|cy| (0..cols).map(move |cx| (cx, cy)))
            .map(|cell| {
                let [x0, y0, x1, y1] = super::cell_rect(size, self.grid, cell);
                // Twice the centre, to stay in integers.
                let (cx, cy) = (x0 + x1.max(x0 + 1) - 1, y0 + y1.max(y0 + 1) - 1);
                let (mut sum, mut n) = (0.0f64, 0u32);
                for (r, d) in self.rects.iter().zip(drops) {
                    if (2 * r[0]..2 * r[2]).contains(&cx) && (2 * r[1]..2 * r[3]).contains(&cy) {
                        sum += f64::from(*d);
                        n += 1;
                    }
                }
                if n == 0 {
                    0.0
                } else {
                    (sum / f64::from(n)) as f32
                }
            })
            .collect();
        Map {
            grid: self.grid,
            values,
        }
    }
}

/// An occlusion map being computed, one batch of windows at a time with one batch in flight
/// (so a window can show progress between batches, never waits on the GPU inside a frame, and
/// drops the run when the state changes).
pub struct OcclusionRun {
    /// The class whose score is watched.
    pub class: usize,
    /// The windows erased and the map's grid.
    pub windows: Windows,
    /// The scale of the drops.
    pub score: Score,
    /// Variant 0 is the untouched image (an empty mask: the score the drops are measured from),
    /// variant `i + 1` erases window `i`.
    batches: ErasedBatches,
}

impl OcclusionRun {
    /// Prepares the run (uploads the image on the GPU path; classifies nothing: the untouched
    /// image is the first variant of the first batch).
    pub fn new(
        gpu: &GpuContext,
        pipeline: &ClassifyPipeline,
        img: &RgbaImage,
        class: usize,
        windows: Windows,
        score: Score,
    ) -> Result<Self> {
        super::check_class(class)?;
        let eraser = Eraser::new(gpu, pipeline, img)?;
        let total = windows.rects.len() + 1;
        Ok(Self {
            class,
            windows,
            score,
            batches: ErasedBatches::new(eraser, class, total),
        })
    }

    /// (windows done, windows in all).
    pub fn progress(&self) -> (usize, usize) {
        let (done, total) = self.batches.progress();
        (done.saturating_sub(1), total - 1)
    }

    /// Whether a batch is on the GPU.
    pub fn busy(&self) -> bool {
        self.batches.busy()
    }

    /// The map, once every window is done.
    pub fn finished(&self) -> Option<Map> {
        let (done, total) = self.batches.progress();
        let (&base, erased) = self.batches.done().split_first()?;
        (done == total).then(|| {
            let base = self.score.of(base);
            let drops: Vec<f32> = erased.iter().map(|&p| base - self.score.of(p)).collect();
            self.windows.map(self.batches.image().dimensions(), &drops)
        })
    }

    /// Takes the batch in flight if it is done, and hands the next `batch` windows to a worker
    /// thread when none is in flight; never waits, never records or computes a batch here.
    pub fn step(
        &mut self,
        gpu: &GpuContext,
        inpainter: &Inpainter,
        pipeline: &Arc<ClassifyPipeline>,
        fill: &InpaintParams,
        batch: usize,
    ) -> Result<()> {
        let (rects, size) = (
            self.windows.rects.clone(),
            self.batches.image().dimensions(),
        );
        self.batches
            .step(gpu, inpainter, pipeline, fill, batch, move |range| {
                window_masks(&rects, size)(range)
            })
    }
}

/// The masks of a range of variants over an image of `(w, h)`: variant 0 none (the untouched
/// image), variant `i + 1` window `rects[i]`'s pixels set.
fn window_masks(
    rects: &[[u32; 4]],
    (w, h): (u32, u32),
) -> impl FnOnce(std::ops::Range<usize>) -> Vec<GrayImage> + '_ {
    move |range| {
        range
            .map(|i| match i.checked_sub(1).and_then(|i| rects.get(i)) {
                None => GrayImage::new(w, h),
                Some(&[x0, y0, x1, y1]) => GrayImage::from_fn(w, h, |x, y| {
                    let inside = (x0..x1).contains(&x) && (y0..y1).contains(&y);
                    image::Luma([u8::from(inside) * 255])
                }),
            })
            .collect()
    }
}

/// The occlusion map of `class` over `windows`, on `score`'s scale. Variants are classified in
/// batches of `batch`; `progress(done, total)` is called after each batch.
#[allow(clippy::too_many_arguments)]
pub fn occlusion_map(
    gpu: &GpuContext,
    inpainter: &Inpainter,
    pipeline: &ClassifyPipeline,
    img: &RgbaImage,
    class: usize,
    windows: Windows,
    score: Score,
    fill: &InpaintParams,
    batch: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<Map> {
    let mut run = OcclusionRun::new(gpu, pipeline, img, class, windows, score)?;
    loop {
        if let Some(map) = run.finished() {
            return Ok(map);
        }
        let masks = window_masks(&run.windows.rects, run.batches.image().dimensions());
        run.batches
            .step_waiting(gpu, inpainter, pipeline, fill, batch, masks)?;
        let (done, total) = run.progress();
        progress(done, total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_windows_cover_every_pixel_and_end_flush() {
        let size = (100, 70);
        let w = Windows::sliding(size, 0.2, 0.1).unwrap();
        let mut covered = vec![0u32; 100 * 70];
        for r in &w.rects {
            assert_eq!(r[2] - r[0], 14);
            assert_eq!(r[3] - r[1], 14);
            for y in r[1]..r[3] {
                for x in r[0]..r[2] {
                    covered[(y * 100 + x) as usize] += 1;
                }
            }
        }
        assert!(covered.iter().all(|&c| c > 0));
        assert!(w.rects.iter().any(|r| r[2] == 100 && r[3] == 70));
        assert_eq!(w.grid, (14, 10));
    }

    #[test]
    fn grid_windows_give_back_the_drops() {
        let size = (90, 60);
        let w = Windows::grid(size, 3).unwrap();
        let drops: Vec<f32> = (0..9).map(|i| i as f32).collect();
        assert_eq!(w.map(size, &drops).values, drops);
    }

    #[test]
    fn a_cell_averages_the_windows_over_it() {
        let size = (40, 40);
        let w = Windows::sliding(size, 0.5, 0.25).unwrap();
        // Windows of 20 px every 10 px: starts 0, 10, 20 on each axis.
        assert_eq!(w.rects.len(), 9);
        let drops: Vec<f32> = (0..9).map(|i| if i == 4 { 9.0 } else { 0.0 }).collect();
        let map = w.map(size, &drops);
        assert_eq!(map.grid, (4, 4));
        // The centre window (10..30) covers the four middle cells, each also under 3 others.
        assert_eq!(map.at(1, 1), 9.0 / 4.0);
        assert_eq!(map.at(0, 0), 0.0);
    }

    #[test]
    fn bad_windows_are_refused() {
        assert!(Windows::sliding((100, 100), 0.1, 0.2).is_err());
        assert!(Windows::sliding((100, 100), 0.0, 0.0).is_err());
        assert!(Windows::sliding((100, 100), f32::NAN, 0.1).is_err());
        assert!(Windows::sliding((100, 100), 1.0, 0.5).is_err());
        assert!(Windows::grid((10, 10), 11).is_err());
    }

    #[test]
    fn log_odds_spreads_small_probabilities() {
        assert!((log_odds(0.5)).abs() < 1e-6);
        assert!(log_odds(1e-4) - log_odds(1e-5) > 2.0);
        assert!(log_odds(0.0).is_finite() && log_odds(1.0).is_finite());
    }
}
