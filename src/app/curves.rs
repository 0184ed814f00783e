//! The viewer's deletion and insertion curves of the chosen class: how fast removing what the
//! overlay (CAM, or a gradient map at its layer) ranks first takes the class away, against a
//! random order. Computed on the original as the classifier sees it, in the background with one
//! batch of variants in flight (polled per frame); a change of model, class, method, layer or
//! fill cancels the run. The map of the original that orders the pixels comes the same way:
//! started with the run, taken by a later frame.

use std::sync::Arc;

use image::GrayImage;

use crate::Result;
use crate::background::Task;
use crate::editor::{CamMethod, Editor, ViewSettings};
use crate::engine::Engine;
use crate::explain::batches::{ErasedBatches, window_batch};
use crate::explain::curves::{self, Curve, Direction};
use crate::explain::evaluate::{self, MethodCurves};
use crate::explain::gradcam;
use crate::explain::variants::Eraser;
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
    /// The map that orders the pixels and the masks that follow from it, being made on the
    /// background thread; the eraser waits for them.
    Masks {
        task: Task<Result<Vec<GrayImage>>>,
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
    /// Starts the run: the map of the original at the model's input size, and the masks of
    /// both orders, are handed to the background thread, not waited for.
    pub fn new(engine: &mut Engine, editor: &Editor, key: CurveKey) -> Result<Self> {
        engine.pipeline(key.model)?;
        let pipeline = engine.require_shared(key.model)?;
        let gpu = engine.gpu.clone();
        let view = evaluate::model_view(&pipeline, editor.original_image());
        let eraser = Box::new(Eraser::new(&gpu, &pipeline, &view)?);
        let (class, method, layer) = (key.class, key.method, key.layer);
        let task = crate::background::spawn(move |_| {
            let gradient = match method {
                CamMethod::Cam => None,
                CamMethod::Gradient(method) => Some((method, layer)),
            };
            let map = || evaluate::class_map(&gpu, &pipeline, &view, class, gradient);
            let (map, place) = if pipeline.on_gpu {
                map()?
            } else {
                // The CPU kernels' threads woken once for the whole pass.
                crate::models::cpu_layers::on_pool(map)?
            };
            let size = view.dimensions();
            let orders = [
                curves::order_by_map(&map, &place, size),
                curves::random_order(size, evaluate::random_block(size), 0),
            ];
            Ok(orders
                .iter()
                .flat_map(|order| {
                    [Direction::Deletion, Direction::Insertion]
                        .into_iter()
                        .flat_map(move |d| curves::masks(order, size, STEPS, d))
                })
                .collect())
        })?;
        Ok(Self {
            key,
            stage: Stage::Masks { task, eraser },
        })
    }

    /// (variants done, variants in all).
    pub fn progress(&self) -> (usize, usize) {
        match &self.stage {
            Stage::Variants { batches, .. } => batches.progress(),
            Stage::Masks { .. } | Stage::Moving => (0, VARIANTS),
        }
    }

    /// Takes what the background thread has done (the map, or a batch of variants) and hands
    /// it the next batch; never waits, never computes a batch on the calling thread. The curves
    /// once all are done.
    pub fn step(&mut self, engine: &Engine) -> Result<Option<Curves>> {
        let Some(pipeline) = engine.loaded_shared(self.key.model) else {
            return Ok(None);
        };
        if let Stage::Masks { task, .. } = &self.stage {
            let Some(masks) = task.try_take() else {
                return Ok(None);
            };
            let masks = masks??;
            if masks.len() != VARIANTS {
                return Err(crate::Error::Invalid(format!(
                    "{} masks for {VARIANTS} curve steps",
                    masks.len()
                )));
            }
            let Stage::Masks { eraser, .. } = std::mem::replace(&mut self.stage, Stage::Moving)
            else {
                return Ok(None);
            };
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
