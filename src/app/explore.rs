//! The viewer's "beyond the paper" tools: occlusion maps by inpainting (computed a batch per
//! frame), suggested masks, the other model's answer, the three fills side by side, and the
//! probability history of pinned classes across the edit.

use image::RgbaImage;

use crate::classify::ClassifyPipeline;
use crate::editor::Editor;
use crate::engine::Engine;
use crate::explain::{Map, OcclusionRun};
use crate::gpu::texture;
use crate::inpaint::{InpaintParams, Method};
use crate::models::{ModelKind, Prediction, top_k};
use crate::{Result, cpu};

/// Cells per batch of an occlusion run in the viewer (one batch per frame).
const BATCH: usize = 8;

/// A top-5 under some condition (another model, another fill).
#[derive(Clone, Debug)]
pub struct Comparison {
    /// What was compared (e.g. "MobileNetV2, modified", "PatchMatch").
    pub title: String,
    /// Its top-5.
    pub top5: Vec<Prediction>,
}

/// The tools' state.
#[derive(Default)]
pub struct Explore {
    /// Occlusion grid size.
    pub grid: u32,
    /// Suggested-mask threshold (0..1 of the map's range).
    pub threshold: f32,
    run: Option<OcclusionRun>,
    /// The last finished occlusion map, and its class.
    pub occlusion: Option<(usize, Map)>,
    /// Results of the Fill A/B button.
    pub comparisons: Vec<Comparison>,
    /// The other model's tables, with the edit generation and the main model they answer.
    pub both: Option<((u64, ModelKind), Vec<Comparison>)>,
    /// Classes whose probability is plotted across the edit.
    pub pinned: Vec<usize>,
    /// (edit generation, probabilities of the pinned classes) per answered edit.
    pub history: Vec<(u64, Vec<f32>)>,
}

impl Explore {
    /// Fresh state for a newly opened image.
    pub fn new() -> Self {
        Self {
            grid: 10,
            threshold: 0.6,
            ..Self::default()
        }
    }

    /// Progress of a running occlusion map.
    pub fn progress(&self) -> Option<(usize, usize)> {
        self.run.as_ref().map(OcclusionRun::progress)
    }

    /// Starts an occlusion map of `class` on the original image.
    pub fn start_occlusion(
        &mut self,
        engine: &mut Engine,
        editor: &Editor,
        model: ModelKind,
        class: usize,
    ) -> Result<()> {
        engine.pipeline(model)?;
        let pipeline = engine.loaded(model).expect("loaded above");
        self.run = Some(OcclusionRun::new(
            &engine.gpu,
            pipeline,
            editor.original_image(),
            class,
            self.grid,
        )?);
        Ok(())
    }

    /// One batch of the running occlusion map; true when a map just finished.
    pub fn step(
        &mut self,
        engine: &Engine,
        editor: &Editor,
        model: ModelKind,
        fill: &InpaintParams,
    ) -> Result<bool> {
        let (Some(run), Some(pipeline)) = (&mut self.run, engine.loaded(model)) else {
            return Ok(false);
        };
        run.step(
            &engine.gpu,
            &engine.inpainter,
            pipeline,
            editor.original_image(),
            fill,
            BATCH,
        )?;
        if let Some(map) = run.finished() {
            self.occlusion = Some((run.class, map));
            self.run = None;
            return Ok(true);
        }
        Ok(false)
    }

    /// Records the pinned classes' probabilities for an answered edit (once per generation).
    pub fn record(&mut self, generation: u64, probabilities: &[f32]) {
        if self.pinned.is_empty() || self.history.last().is_some_and(|(g, _)| *g == generation) {
            return;
        }
        let values = self
            .pinned
            .iter()
            .map(|&c| probabilities.get(c).copied().unwrap_or(0.0))
            .collect();
        self.history.push((generation, values));
        if self.history.len() > 200 {
            self.history.remove(0);
        }
    }

    /// Pins or unpins a class (the history restarts).
    pub fn toggle_pin(&mut self, class: usize) {
        if let Some(i) = self.pinned.iter().position(|&c| c == class) {
            self.pinned.remove(i);
        } else {
            self.pinned.push(class);
        }
        self.history.clear();
    }
}

/// The top-5 of `img` with `pipeline`.
fn top5_of(
    engine: &Engine,
    pipeline: &ClassifyPipeline,
    img: &RgbaImage,
) -> Result<Vec<Prediction>> {
    pipeline.classify_image(&engine.gpu, img, 5)
}

/// The other model's top-5 on the original and on the modified image.
pub fn compare_models(
    engine: &mut Engine,
    editor: &Editor,
    model: ModelKind,
) -> Result<Vec<Comparison>> {
    let other = if model == ModelKind::SqueezeNet {
        ModelKind::MobileNetV2
    } else {
        ModelKind::SqueezeNet
    };
    engine.pipeline(other)?;
    let modified = texture::read_rgba(&engine.gpu.device, &engine.gpu.queue, editor.modified())?;
    let pipeline = engine.loaded(other).expect("loaded above");
    Ok(vec![
        Comparison {
            title: format!("{}, original", other.display_name()),
            top5: top5_of(engine, pipeline, editor.original_image())?,
        },
        Comparison {
            title: format!("{}, modified", other.display_name()),
            top5: top5_of(engine, pipeline, &modified)?,
        },
    ])
}

/// The current mask filled three ways (Telea, PatchMatch, the mean colour of the known pixels),
/// each classified: does a change come from the object, or from the fill?
pub fn compare_fills(
    engine: &mut Engine,
    editor: &Editor,
    model: ModelKind,
    params: &InpaintParams,
) -> Result<Vec<Comparison>> {
    engine.pipeline(model)?;
    let (img, mask) = (editor.original_image(), editor.mask_image());
    let mut out = Vec::new();
    for method in Method::ALL {
        let p = InpaintParams { method, ..*params };
        let filled = if engine.inference_on_gpu {
            engine.inpainter.inpaint_image(&engine.gpu, img, mask, &p)
        } else {
            match method {
                Method::Telea => cpu::telea::telea(img, mask, p.telea.radius),
                Method::PatchMatch => {
                    cpu::patchmatch::patchmatch(img, mask, &p.patchmatch).map(|r| r.image)
                }
            }
        };
        let title = method.display_name().to_owned();
        match filled {
            Ok(f) => out.push(Comparison {
                title,
                top5: top5_of(engine, engine.loaded(model).expect("loaded"), &f)?,
            }),
            Err(e) => out.push(Comparison {
                title: format!("{title}: {e}"),
                top5: Vec::new(),
            }),
        }
    }
    let flat = mean_fill(img, mask);
    out.push(Comparison {
        title: "flat mean colour".into(),
        top5: top5_of(engine, engine.loaded(model).expect("loaded"), &flat)?,
    });
    Ok(out)
}

/// The hole filled with the mean colour of the known pixels.
pub fn mean_fill(img: &RgbaImage, mask: &image::GrayImage) -> RgbaImage {
    let (mut sum, mut n) = ([0u64; 3], 0u64);
    for (p, m) in img.pixels().zip(mask.pixels()) {
        if m[0] == 0 {
            for c in 0..3 {
                sum[c] += u64::from(p[c]);
            }
            n += 1;
        }
    }
    let mean = sum.map(|s| (s / n.max(1)) as u8);
    let mut out = img.clone();
    for (p, m) in out.pixels_mut().zip(mask.pixels()) {
        if m[0] != 0 {
            *p = image::Rgba([mean[0], mean[1], mean[2], 255]);
        }
    }
    out
}

/// Labels of a top-5, for quick tables.
pub fn rows(top: &[Prediction]) -> Vec<(String, f32)> {
    top.iter()
        .map(|p| {
            (
                p.label.split(',').next().unwrap_or("?").to_owned(),
                p.probability * 100.0,
            )
        })
        .collect()
}

/// The top-k helper re-exported for the panel.
pub fn top(probabilities: &[f32], labels: &crate::models::Labels) -> Vec<Prediction> {
    top_k(probabilities, labels, 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_fill_paints_the_mean_of_known_pixels_into_the_hole() {
        let img = RgbaImage::from_fn(4, 1, |x, _| image::Rgba([(x * 10) as u8, 0, 0, 255]));
        let mask = image::GrayImage::from_fn(4, 1, |x, _| image::Luma([u8::from(x == 3) * 255]));
        let out = mean_fill(&img, &mask);
        assert_eq!(out.get_pixel(3, 0)[0], 10); // mean of 0, 10, 20
        assert_eq!(out.get_pixel(1, 0), img.get_pixel(1, 0));
    }
}
