//! The viewer's deletion and insertion curves of the chosen class: how fast removing what the
//! overlay (CAM, or a gradient map at its layer) ranks first takes the class away, against a
//! random order. Computed on the original as the classifier sees it, in the background with one
//! batch of variants in flight (polled per frame); a change of model, class, method, layer or
//! fill cancels the run. Starting a run computes the map of the original once, waiting for it.

use image::GrayImage;

use crate::Result;
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

/// Curves being computed.
pub struct CurveRun {
    /// What they will answer.
    pub key: CurveKey,
    masks: Vec<GrayImage>,
    batches: ErasedBatches,
}

impl CurveRun {
    /// Prepares the run: the map of the original at the model's input size, both pixel orders,
    /// all the masks.
    pub fn new(engine: &mut Engine, editor: &Editor, key: CurveKey) -> Result<Self> {
        engine.pipeline(key.model)?;
        let pipeline = engine.require(key.model)?;
        let gpu = &engine.gpu;
        let view = evaluate::model_view(pipeline, editor.original_image());
        let size = view.dimensions();
        let gradient = match key.method {
            CamMethod::Cam => None,
            CamMethod::Gradient(method) => Some((method, key.layer)),
        };
        let (map, place) = evaluate::class_map(gpu, pipeline, &view, key.class, gradient)?;
        let orders = [
            curves::order_by_map(&map, &place, size),
            curves::random_order(size, evaluate::random_block(size), 0),
        ];
        let masks: Vec<GrayImage> = orders
            .iter()
            .flat_map(|order| {
                [Direction::Deletion, Direction::Insertion]
                    .into_iter()
                    .flat_map(move |d| curves::masks(order, size, STEPS, d))
            })
            .collect();
        let eraser = Eraser::new(gpu, pipeline, &view)?;
        let total = masks.len();
        Ok(Self {
            batches: ErasedBatches::new(eraser, key.class, total),
            key,
            masks,
        })
    }

    /// (variants done, variants in all).
    pub fn progress(&self) -> (usize, usize) {
        self.batches.progress()
    }

    /// Takes the batch that is done (on the GPU, or on the CPU path's worker thread) and starts
    /// the next; never waits, never computes a batch on the calling thread. The curves once all
    /// are done.
    pub fn step(&mut self, engine: &Engine) -> Result<Option<Curves>> {
        let Some(pipeline) = engine.loaded_shared(self.key.model) else {
            return Ok(None);
        };
        let masks = &self.masks;
        self.batches.step(
            &engine.gpu,
            &engine.inpainter,
            &pipeline,
            &self.key.fill,
            window_batch(&pipeline),
            |range| masks[range].to_vec(),
        )?;
        let (done, total) = self.batches.progress();
        if done < total {
            return Ok(None);
        }
        let probabilities = self.batches.done();
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
