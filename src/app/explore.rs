//! The viewer's "beyond the paper" tools: occlusion maps by inpainting (a batch in flight at a
//! time, polled per frame), suggested masks, the other model's answer, the three fills side by
//! side, and the probability history of pinned classes across the edit.

use std::sync::mpsc::{Receiver, TryRecvError, channel};

use image::RgbaImage;

use crate::background::Task;
use crate::classify::ClassifyPipeline;
use crate::editor::side::{PendingScores, Which};
use crate::editor::{EditKey, Editor};
use crate::engine::Engine;
use crate::explain::evaluate::DEFAULT_WINDOW;
use crate::explain::variants::{Batching, Eraser, PendingRows};
use crate::explain::{Map, OcclusionRun, Score, Windows};
use crate::inpaint::{InpaintParams, Method};
use crate::models::{ModelKind, Prediction, top_k};
use crate::{Error, Result, cpu};

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
    /// The running occlusion map and the model and fill it is made with.
    run: Option<(ModelKind, InpaintParams, OcclusionRun)>,
    /// The last finished occlusion map, its class, and the model and fill it was made with.
    pub occlusion: Option<(usize, Map)>,
    occlusion_made_with: Option<(ModelKind, InpaintParams)>,
    /// Results of the Fill A/B button, with the state they answer.
    pub comparisons: Option<(EditKey, Vec<Comparison>)>,
    /// A Fill A/B comparison in progress.
    pub fill_ab: Option<FillComparison>,
    /// The other model's tables, with the state (and main model) they answer.
    pub both: Option<(EditKey, Vec<Comparison>)>,
    /// The other model's background classifications.
    pub other: OtherModel,
    /// A suggested mask waiting for its CAM.
    pub suggestion: Option<PendingSuggestion>,
    /// Classes whose probability is plotted across the edit.
    pub pinned: Vec<usize>,
    /// (state, probabilities of the pinned classes) per settled state.
    pub history: Vec<(EditKey, Vec<f32>)>,
    /// The last finished deletion/insertion curves, with what they answer.
    pub curves: Option<super::curves::Curves>,
    /// Curves being computed.
    pub curve_run: Option<super::curves::CurveRun>,
    /// Curves that failed: not retried until the settings change.
    pub curves_failed: Option<super::curves::CurveKey>,
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
        self.run.as_ref().map(|(_, _, r)| r.progress())
    }

    /// Starts an occlusion map of `class` on the original image.
    pub fn start_occlusion(
        &mut self,
        engine: &mut Engine,
        editor: &Editor,
        model: ModelKind,
        class: usize,
        fill: &InpaintParams,
    ) -> Result<()> {
        engine.pipeline(model)?;
        let pipeline = engine.require(model)?;
        let img = editor.original_image();
        let run = OcclusionRun::new(
            &engine.gpu,
            pipeline,
            img,
            class,
            // Sliding windows: `grid` cells across the shorter side, each window at least the
            // default 1/5 of it (BENCHMARKS.md: single cells are too small to remove an object).
            {
                let stride = 1.0 / self.grid.max(1) as f32;
                Windows::sliding(img.dimensions(), DEFAULT_WINDOW.max(stride), stride)?
            },
            Score::LogOdds,
        )?;
        self.run = Some((model, *fill, run));
        Ok(())
    }

    /// One step of the running occlusion map (takes a finished batch, starts the next); true
    /// when the shown map changed (a map just
    /// finished, or one made with another model or fill was dropped). A run whose model or fill
    /// is no longer the current one is cancelled: one map never mixes two. While `live` (the
    /// live fill + classify has work in flight) no batch is started: the live answer goes
    /// first. A batch that fails ends the run.
    pub fn step(
        &mut self,
        engine: &Engine,
        model: ModelKind,
        fill: &InpaintParams,
        live: bool,
    ) -> Result<bool> {
        let now = (model, *fill);
        if self.run.as_ref().is_some_and(|(m, f, _)| (*m, *f) != now) {
            self.run = None;
        }
        if self.occlusion.is_some() && self.occlusion_made_with != Some(now) {
            self.occlusion = None;
            self.occlusion_made_with = None;
            return Ok(true);
        }
        let (Some((_, _, run)), Some(pipeline)) = (&mut self.run, engine.loaded_shared(model))
        else {
            return Ok(false);
        };
        if live {
            return Ok(false);
        }
        let batch = crate::explain::batches::window_batch(&pipeline);
        if let Err(e) = run.step(&engine.gpu, &engine.inpainter, &pipeline, fill, batch) {
            // A failed batch would fail again: the run ends (a new one starts it over).
            self.run = None;
            return Err(e);
        }
        if let Some(map) = run.finished() {
            self.occlusion = Some((run.class, map));
            self.occlusion_made_with = Some(now);
            self.run = None;
            return Ok(true);
        }
        Ok(false)
    }

    /// Records the pinned classes' probabilities for a settled state (once per state in a row).
    pub fn record(&mut self, key: EditKey, probabilities: &[f32]) {
        if self.pinned.is_empty() || self.history.last().is_some_and(|(k, _)| *k == key) {
            return;
        }
        let values = self
            .pinned
            .iter()
            .map(|&c| probabilities.get(c).copied().unwrap_or(0.0))
            .collect();
        self.history.push((key, values));
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

/// A suggested mask whose CAM is on its way: applied when it arrives, if the image and the model
/// are still the ones it was asked for.
pub struct PendingSuggestion {
    /// The model whose CAM it is.
    pub model: ModelKind,
    /// The image it was asked for ([`Editor::image_id`]).
    pub image: u64,
    /// The threshold chosen when it was asked for.
    pub threshold: f32,
    /// The CAM.
    pub map: crate::explain::PendingMap,
}

/// The model that is not `model`.
pub fn other_model(model: ModelKind) -> ModelKind {
    match model {
        ModelKind::SqueezeNet => ModelKind::MobileNetV2,
        ModelKind::MobileNetV2 => ModelKind::SqueezeNet,
    }
}

/// Both models, live: the other model classifies the original once and the modified image of
/// each settled state, on the background thread (one classification asked at a time, polled per
/// frame, no image readback; one for a state left behind is dropped). Its tables are shown only
/// for the state they answer; a state whose classification failed is not asked again.
#[derive(Default)]
pub struct OtherModel {
    /// The other model's probabilities on the original.
    original: Option<(ModelKind, Vec<f32>)>,
    /// Its probabilities on the modified image of a state.
    modified: Option<(EditKey, Vec<f32>)>,
    pending: Option<(Which, EditKey, PendingScores)>,
    /// The state whose classification failed: not asked again until the state changes.
    failed: Option<EditKey>,
}

impl OtherModel {
    /// Whether the classification for state `key` failed (it is not retried).
    pub fn failed(&self, key: EditKey) -> bool {
        self.failed == Some(key)
    }

    /// One frame's step for the state `key` the editor has settled on (the live job goes first:
    /// call only when the editor is current). Returns the tables when they answer `key`.
    pub fn step(
        &mut self,
        engine: &mut Engine,
        editor: &Editor,
        key: EditKey,
    ) -> Result<Option<Vec<Comparison>>> {
        if self.failed(key) {
            return Ok(None);
        }
        let result = self.advance(engine, editor, key);
        if result.is_err() {
            self.failed = Some(key);
            self.pending = None;
        }
        result
    }

    fn advance(
        &mut self,
        engine: &mut Engine,
        editor: &Editor,
        key: EditKey,
    ) -> Result<Option<Vec<Comparison>>> {
        let other = other_model(key.model);
        // A classification of another state's modified image is not waited for: the state
        // moved on (the original's still serves).
        if self
            .pending
            .as_ref()
            .is_some_and(|(which, k, _)| *which == Which::Modified && *k != key)
        {
            self.pending = None;
        }
        if let Some((which, k, pending)) = &self.pending {
            let Some(result) = pending.try_take() else {
                return Ok(None);
            };
            let (which, k) = (*which, *k);
            self.pending = None;
            let probabilities = result?;
            match which {
                Which::Original => self.original = Some((other_model(k.model), probabilities)),
                Which::Modified => self.modified = Some((k, probabilities)),
            }
        }
        let original = self.original.as_ref().filter(|(m, _)| *m == other);
        let modified = self.modified.as_ref().filter(|(k, _)| *k == key);
        match (original, modified) {
            (Some((_, o)), Some((_, m))) => {
                let labels = &engine.pipeline(other)?.labels;
                Ok(Some(vec![
                    Comparison {
                        title: format!("{}, original", other.display_name()),
                        top5: top(o, labels),
                    },
                    Comparison {
                        title: format!("{}, modified", other.display_name()),
                        top5: top(m, labels),
                    },
                ]))
            }
            (o, _) => {
                let which = if o.is_none() {
                    Which::Original
                } else {
                    Which::Modified
                };
                engine.pipeline(other)?;
                self.pending = Some((which, key, editor.classify_async(engine, other, which)?));
                Ok(None)
            }
        }
    }

    /// Whether a classification is in flight.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }
}

/// Fill A/B: the current mask filled three ways (Telea, PatchMatch, the mean colour of the
/// known pixels), each classified — does a change come from the object, or from the fill? For
/// the state it was started on; a changed state cancels it (dropping it). The variants run one
/// after another on the background thread (on the GPU, or on the CPU path, where a full-size CPU
/// PatchMatch takes over a second), polled per frame; dropping the comparison stops the task
/// after its variant.
pub struct FillComparison {
    /// The state compared.
    pub key: EditKey,
    params: InpaintParams,
    done: Vec<Comparison>,
    /// The variants arriving from the background task (dropping the task stops it after its
    /// variant).
    worker: Option<(Receiver<Result<Comparison>>, Task<()>)>,
}

/// How many variants Fill A/B classifies.
const FILL_VARIANTS: usize = Method::ALL.len() + 1;

impl FillComparison {
    /// Starts comparing the fills of state `key`.
    pub fn new(key: EditKey, params: InpaintParams) -> Self {
        Self {
            key,
            params,
            done: Vec::new(),
            worker: None,
        }
    }

    /// Progress (done, total).
    pub fn progress(&self) -> (usize, usize) {
        (self.done.len(), FILL_VARIANTS)
    }

    /// Advances the comparison, never waiting: the first step hands the state's original and
    /// mask to the background thread, which fills and classifies each variant in turn (on the GPU
    /// through the live edit's passes, or on the CPU path), and each step collects what it has
    /// finished. The comparisons once all are done.
    pub fn step(
        &mut self,
        engine: &mut Engine,
        editor: &Editor,
    ) -> Result<Option<Vec<Comparison>>> {
        engine.pipeline(self.key.model)?;
        if self.worker.is_none() {
            let pipeline = engine.require_shared(self.key.model)?;
            let (gpu, inpainter) = (engine.gpu.clone(), engine.inpainter.clone());
            let (img, mask) = (editor.original_shared(), editor.mask_image().clone());
            let params = self.params;
            let (tx, rx) = channel();
            let task = crate::background::spawn(move |cancel| {
                let on = Variants {
                    gpu: &gpu,
                    inpainter: &inpainter,
                    pipeline: &pipeline,
                    img: &img,
                    mask: &mask,
                    params,
                    cancel,
                };
                // On the GPU path the original is uploaded once, on this thread.
                let eraser = match pipeline.on_gpu {
                    true => match Eraser::new(&gpu, &pipeline, &img) {
                        Ok(e) => Some(e),
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    },
                    false => None,
                };
                for i in 0..FILL_VARIANTS {
                    if cancel.cancelled() || tx.send(on.variant(&eraser, i)).is_err() {
                        return;
                    }
                }
            })?;
            self.worker = Some((rx, task));
        }
        let Some((rx, _)) = &self.worker else {
            return Ok(None);
        };
        loop {
            match rx.try_recv() {
                Ok(variant) => self.done.push(variant?),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    if self.done.len() < FILL_VARIANTS {
                        return Err(Error::Invalid("the fill comparison stopped".into()));
                    }
                    break;
                }
            }
        }
        Ok((self.done.len() == FILL_VARIANTS).then(|| self.done.clone()))
    }
}

/// What Fill A/B's worker computes its variants from.
struct Variants<'a> {
    gpu: &'a crate::gpu::GpuContext,
    inpainter: &'a crate::inpaint::Inpainter,
    pipeline: &'a ClassifyPipeline,
    img: &'a RgbaImage,
    mask: &'a image::GrayImage,
    params: InpaintParams,
    cancel: &'a crate::background::Cancel,
}

impl Variants<'_> {
    /// Variant `i`: the hole filled by the `i`-th method (the mean colour past them) and
    /// classified; on the GPU path (`eraser` given) each fill alone through the live edit's
    /// passes, not the occlusion map's atlas, so its Telea row equals the Modified table. A fill
    /// that cannot run is a row of its own, not the end of the comparison.
    fn variant(&self, eraser: &Option<Eraser>, i: usize) -> Result<Comparison> {
        let Some(&method) = Method::ALL.get(i) else {
            return Ok(Comparison {
                title: "flat mean colour".into(),
                top5: self.top5(&mean_fill(self.img, self.mask))?,
            });
        };
        let title = method.display_name().to_owned();
        let params = InpaintParams {
            method,
            ..self.params
        };
        let row = |e: Error| Comparison {
            title: format!("{title}: {e}"),
            top5: Vec::new(),
        };
        if let Some(eraser) = eraser {
            let masks = std::slice::from_ref(self.mask);
            let started = eraser.start(
                self.gpu,
                self.inpainter,
                self.pipeline,
                masks,
                &params,
                Batching::Single,
                &|| !self.cancel.cancelled(),
            );
            return Ok(match started {
                Ok(pending) => Comparison {
                    top5: self.top(pending.wait(self.gpu)?)?,
                    title,
                },
                Err(e) => row(e),
            });
        }
        let filled = match method {
            Method::Telea => cpu::telea::telea(self.img, self.mask, params.telea.radius),
            Method::PatchMatch => {
                cpu::patchmatch::patchmatch(self.img, self.mask, &params.patchmatch)
                    .map(|r| r.image)
            }
        };
        Ok(match filled {
            Ok(f) => Comparison {
                top5: self.top5(&f)?,
                title,
            },
            Err(e) => row(e),
        })
    }

    /// The top 5 of `img`, given up when the comparison was cancelled.
    fn top5(&self, img: &RgbaImage) -> Result<Vec<Prediction>> {
        if self.cancel.cancelled() {
            return Err(Error::Invalid("the fill comparison was cancelled".into()));
        }
        let rows = if self.pipeline.on_gpu {
            let input = self.pipeline.input_from_image(img);
            PendingRows::start(self.gpu, self.pipeline, vec![input], vec![0])?.wait(self.gpu)?
        } else {
            let logits = self.pipeline.forward_image(img).logits;
            vec![crate::classify::probabilities_of(logits)?]
        };
        self.top(rows)
    }

    /// The top 5 of a batch of one.
    fn top(&self, rows: Vec<Vec<f32>>) -> Result<Vec<Prediction>> {
        let row = rows
            .first()
            .ok_or_else(|| Error::Gpu("no class scores came back".into()))?;
        Ok(top_k(row, &self.pipeline.labels, 5))
    }
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
                crate::models::labels::short_label(&p.label).to_owned(),
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
