//! The viewer's deletion and insertion curves of the chosen class: how fast removing what the
//! overlay (CAM, or a gradient map at its layer) ranks first takes the class away, against a
//! random order. Computed on the original as the classifier sees it, in the background with one
//! batch of variants in flight (polled per frame); a change of model, class, method, layer or
//! fill cancels the run. The map of the original that orders the pixels comes the same way:
//! started with the run, taken by a later frame.

use std::sync::Arc;

use image::GrayImage;

use crate::Result;
use crate::editor::{CamMethod, Editor, ViewSettings};
use crate::engine::Engine;
use crate::explain::batches::{ErasedBatches, window_batch};
use crate::explain::curves::{self, Curve, Direction};
use crate::explain::evaluate::{self, MethodCurves};
use crate::explain::variants::Eraser;
use crate::explain::{PendingMap, gradcam};
use crate::inpaint::InpaintParams;
use crate::models::ModelKind;

/// Steps of each curve in the viewer (fewer than `unsee evaluate`'s 20: it runs while you look).
const STEPS: u32 = 10;

/// What a set of curves answers.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveKey {
    /// The classifier.
    pub model: ModelKind,
    /// The class.
    pub class: usize,
    /// The map whose order is tested.
    pub method: CamMethod,
    /// Its layer (gradient maps).
    pub layer: &'static str,
    /// How pixels are removed.
    pub fill: InpaintParams,
}

impl CurveKey {
    /// The curves the settings ask for, if a class is chosen.
    pub fn wanted(settings: &ViewSettings) -> Option<Self> {
        Some(Self {
            model: settings.model,
            class: settings.cam_class?,
            method: settings.cam_method,
            layer: settings.layer_name(),
            fill: settings.inpaint,
        })
    }

    /// A short name of the method tested.
    pub fn method_name(&self) -> String {
        match self.method {
            CamMethod::Cam => "CAM".into(),
            CamMethod::Gradient(gradcam::GradMethod::GradCam) => format!("Grad-CAM {}", self.layer),
            CamMethod::Gradient(gradcam::GradMethod::HiResCam) => {
                format!("HiResCAM {}", self.layer)
            }
        }
    }
}

/// Finished curves: the method's and the random baseline's.
pub struct Curves {
    /// What they answer.
    pub key: CurveKey,
    /// The method first, then `random`.
    pub methods: Vec<MethodCurves>,
}

/// Curves being computed: first the original's map, then the erased variants of both orders, a
/// batch at a time, all on the background thread.
pub struct CurveRun {
    /// What they will answer.
    pub key: CurveKey,
    stage: Stage,
}

/// Where a run stands.
enum Stage {
    /// The map that orders the pixels, on its way; the eraser waits for its masks.
    Map {
        pending: PendingMap,
        view: (u32, u32),
        eraser: Box<Eraser>,
    },
    /// The variants, a batch at a time.
    Variants {
        masks: Arc<Vec<GrayImage>>,
        batches: Box<ErasedBatches>,
    },
    /// Between the two (only while the stage changes).
    Moving,
}

/// Variants in a run: two orders (the map's, random), deletion and insertion, each step.
const VARIANTS: usize = 2 * 2 * (STEPS as usize + 1);

impl CurveRun {
    /// Starts the run: the map of the original at the model's input size is handed to a worker,
    /// not waited for (the masks follow from it in a later step).
    pub fn new(engine: &mut Engine, editor: &Editor, key: CurveKey) -> Result<Self> {
        engine.pipeline(key.model)?;
        let pipeline = engine.require_shared(key.model)?;
        let gpu = &engine.gpu;
        let view = evaluate::model_view(&pipeline, editor.original_image());
        let gradient = match key.method {
            CamMethod::Cam => None,
            CamMethod::Gradient(method) => Some((method, key.layer.to_owned())),
        };
        let eraser = Box::new(Eraser::new(gpu, &pipeline, &view)?);
        let size = view.dimensions();
        let pending = evaluate::start_class_map(gpu, &pipeline, view, key.class, gradient)?;
        Ok(Self {
            key,
            stage: Stage::Map {
                pending,
                view: size,
                eraser,
            },
        })
    }

    /// (variants done, variants in all).
    pub fn progress(&self) -> (usize, usize) {
        match &self.stage {
            Stage::Variants { batches, .. } => batches.progress(),
            Stage::Map { .. } | Stage::Moving => (0, VARIANTS),
        }
    }

    /// Takes what the background thread has done (the map, or a batch of variants) and hands
    /// it the next batch; never waits, never computes a batch on the calling thread. The curves
    /// once all are done.
    pub fn step(&mut self, engine: &Engine) -> Result<Option<Curves>> {
        let Some(pipeline) = engine.loaded_shared(self.key.model) else {
            return Ok(None);
        };
        if let Stage::Map { pending, .. } = &self.stage {
            let Some(map) = pending.try_take(&engine.gpu) else {
                return Ok(None);
            };
            let map = map?;
            let Stage::Map { view, eraser, .. } = std::mem::replace(&mut self.stage, Stage::Moving)
            else {
                return Ok(None);
            };
            let layer = matches!(self.key.method, CamMethod::Gradient(_)).then_some(self.key.layer);
            let place = evaluate::class_map_placement(&pipeline, view, layer, map.grid);
            let orders = [
                curves::order_by_map(&map, &place, view),
                curves::random_order(view, evaluate::random_block(view), 0),
            ];
            let masks: Vec<GrayImage> = orders
                .iter()
                .flat_map(|order| {
                    [Direction::Deletion, Direction::Insertion]
                        .into_iter()
                        .flat_map(move |d| curves::masks(order, view, STEPS, d))
                })
                .collect();
            debug_assert_eq!(masks.len(), VARIANTS);
            let batches = Box::new(ErasedBatches::new(*eraser, self.key.class, masks.len()));
            self.stage = Stage::Variants {
                masks: Arc::new(masks),
                batches,
            };
        }
        let Stage::Variants { masks, batches } = &mut self.stage else {
            return Ok(None);
        };
        batches.step(
            &engine.gpu,
            &engine.inpainter,
            &pipeline,
            &self.key.fill,
            window_batch(&pipeline),
            {
                let masks = Arc::clone(masks);
                move |range| masks[range].to_vec()
            },
        )?;
        let (done, total) = batches.progress();
        if done < total {
            return Ok(None);
        }
        let probabilities = batches.done();
        let per = STEPS as usize + 1;
        let curve = |i: usize| Curve {
            fractions: curves::fractions(STEPS),
            probabilities: probabilities[i * per..(i + 1) * per].to_vec(),
        };
        Ok(Some(Curves {
            key: self.key.clone(),
            methods: vec![
                MethodCurves {
                    name: "map",
                    deletion: curve(0),
                    insertion: curve(1),
                },
                MethodCurves {
                    name: "random",
                    deletion: curve(2),
                    insertion: curve(3),
                },
            ],
        }))
    }
}
