//! How far each explanation of one image can be trusted: the deletion and insertion curves of
//! CAM, Grad-CAM, sliding occlusion and a random order, all on the image the classifier sees
//! (squashed to its input size, so every step is one fill at 224² or 227²).

use burn::tensor::Tensor;
use image::RgbaImage;

use super::curves::{self, Curve, Direction};
use super::gradcam::{self, GradMethod};
use super::occlusion::{Score, Windows};
use super::variants::Eraser;
use super::{Map, PendingMap};
use crate::classify::ClassifyPipeline;
use crate::gpu::{GpuContext, texture};
use crate::inpaint::{InpaintParams, Inpainter};
use crate::models::receptive::Placement;
use crate::{Error, Result};

/// The explanation methods compared, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Explanation {
    /// Class activation map (Zhou et al. 2016) of the last layer.
    Cam,
    /// Grad-CAM at the last convolutional layer.
    Gradcam,
    /// Sliding-window occlusion by inpainting, log-odds drop.
    Occlusion,
    /// Squares of the map's cell size in a seeded random order: the baseline.
    Random,
}

impl Explanation {
    /// Every method, in report order.
    pub const ALL: [Explanation; 4] = [
        Explanation::Cam,
        Explanation::Gradcam,
        Explanation::Occlusion,
        Explanation::Random,
    ];

    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Explanation::Cam => "cam",
            Explanation::Gradcam => "gradcam",
            Explanation::Occlusion => "occlusion",
            Explanation::Random => "random",
        }
    }
}

/// What an evaluation is run with.
#[derive(Clone, Copy, Debug)]
pub struct EvalSettings {
    /// Steps of each curve.
    pub steps: u32,
    /// How pixels are removed.
    pub fill: InpaintParams,
    /// Sliding occlusion's window and stride (fractions of the shorter side).
    pub window: f32,
    /// See `window`.
    pub stride: f32,
    /// Seed of the random baseline's order.
    pub seed: u64,
}

impl Default for EvalSettings {
    fn default() -> Self {
        Self {
            steps: 20,
            fill: InpaintParams::default(),
            window: DEFAULT_WINDOW,
            stride: DEFAULT_STRIDE,
            seed: 0,
        }
    }
}

/// Sliding occlusion's default window, a fraction of the shorter side (BENCHMARKS.md).
pub const DEFAULT_WINDOW: f32 = 0.2;
/// Sliding occlusion's default stride, a fraction of the shorter side.
pub const DEFAULT_STRIDE: f32 = 1.0 / 14.0;

/// One method's curves.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MethodCurves {
    /// The method's JSON name.
    pub name: &'static str,
    /// Probability as the most important pixels are removed.
    pub deletion: Curve,
    /// Probability as they are given back to the fully removed image.
    pub insertion: Curve,
}

/// `img` squashed to `pipeline`'s input size (what the classifier sees).
pub fn model_view(pipeline: &ClassifyPipeline, img: &RgbaImage) -> RgbaImage {
    let s = pipeline.spec.size;
    if img.dimensions() == (s, s) {
        return img.clone();
    }
    image::imageops::resize(img, s, s, image::imageops::FilterType::Triangle)
}

/// The class activation map of `class` on `img` (`gradient`: None), or a gradient map at a layer
/// (ReLU'd: the evidence for the class), with where its cells sit: the last layer's at its
/// receptive-field centres, an earlier layer's spread evenly. Waits for it.
pub fn class_map(
    gpu: &GpuContext,
    pipeline: &ClassifyPipeline,
    img: &RgbaImage,
    class: usize,
    gradient: Option<(GradMethod, &str)>,
) -> Result<(Map, Placement)> {
    let input = class_map_input(gpu, pipeline, img, gradient.is_some())?;
    let map =
        PendingMap::start(gpu, class_map_tensor(pipeline, input, class, gradient)?)?.wait(gpu)?;
    let place = class_map_placement(pipeline, img.dimensions(), gradient.map(|g| g.1), map.grid);
    Ok((map, place))
}

/// The model's input for a class map of `img`: the CAM on the GPU preprocesses the uploaded
/// image there; gradient maps (and the CPU path) preprocess on the CPU.
fn class_map_input(
    gpu: &GpuContext,
    pipeline: &ClassifyPipeline,
    img: &RgbaImage,
    gradient: bool,
) -> Result<Tensor<4>> {
    if pipeline.on_gpu && !gradient {
        let tex = texture::upload_rgba(&gpu.device, &gpu.queue, img, "explain.image")?;
        pipeline.input_from_texture(gpu, &tex)
    } else {
        Ok(pipeline.input_from_image(img))
    }
}

/// The map of [`class_map`] as an `[h, w]` tensor on the classifier's device.
fn class_map_tensor(
    pipeline: &ClassifyPipeline,
    input: Tensor<4>,
    class: usize,
    gradient: Option<(GradMethod, &str)>,
) -> Result<Tensor<2>> {
    super::check_class(class)?;
    Ok(match gradient {
        None => super::cam_tensor(pipeline, input, class),
        Some((method, layer)) => {
            gradcam::gradient_tensor(pipeline, input, class, layer, method)?.clamp_min(0.0)
        }
    })
}

/// Where the cells of a class map of `grid` over an image of `size` sit: the last layer's at its
/// receptive-field centres (the CAM's, or a gradient map's there: `layer`), an earlier layer's
/// spread evenly.
fn class_map_placement(
    pipeline: &ClassifyPipeline,
    size: (u32, u32),
    layer: Option<&str>,
    grid: (u32, u32),
) -> Placement {
    let (input, kind) = (pipeline.spec.size, pipeline.kind);
    match layer {
        Some(layer) if layer != gradcam::last_layer(kind) => Placement::even(grid, size),
        _ => Placement::receptive(kind, input, size),
    }
}

/// The importance map of `method` for `class` on `view` (an image at the model's input size),
/// with where its cells sit.
pub fn importance(
    gpu: &GpuContext,
    inpainter: &Inpainter,
    pipeline: &ClassifyPipeline,
    view: &RgbaImage,
    class: usize,
    method: Explanation,
    settings: &EvalSettings,
) -> Result<Option<(Map, Placement)>> {
    let size = view.dimensions();
    Ok(match method {
        Explanation::Cam => Some(class_map(gpu, pipeline, view, class, None)?),
        Explanation::Gradcam => {
            let last = gradcam::last_layer(pipeline.kind);
            let gradient = Some((GradMethod::GradCam, last));
            Some(class_map(gpu, pipeline, view, class, gradient)?)
        }
        Explanation::Occlusion => {
            let windows = Windows::sliding(size, settings.window, settings.stride)?;
            let map = super::occlusion_map(
                gpu,
                inpainter,
                pipeline,
                view,
                class,
                windows,
                Score::LogOdds,
                &settings.fill,
                64,
                |_, _| (),
            )?;
            let place = Placement::even(map.grid, size);
            Some((map, place))
        }
        Explanation::Random => None,
    })
}

/// The deletion and insertion curves of `class` on `view` for each of `methods`.
pub fn evaluate(
    gpu: &GpuContext,
    inpainter: &Inpainter,
    pipeline: &ClassifyPipeline,
    view: &RgbaImage,
    class: usize,
    methods: &[Explanation],
    settings: &EvalSettings,
) -> Result<Vec<MethodCurves>> {
    super::check_class(class)?;
    crate::limits::check(
        "the curve steps",
        settings.steps,
        &crate::limits::CURVE_STEPS,
    )
    .map_err(Error::Invalid)?;
    let size = view.dimensions();
    let eraser = Eraser::new(gpu, pipeline, view)?;
    let mut out = Vec::with_capacity(methods.len());
    for &method in methods {
        let order = match importance(gpu, inpainter, pipeline, view, class, method, settings)? {
            Some((map, place)) => curves::order_by_map(&map, &place, size),
            None => curves::random_order(size, random_block(size), settings.seed),
        };
        let (deletion, insertion) =
            curves_of(gpu, inpainter, pipeline, &eraser, &order, class, settings)?;
        out.push(MethodCurves {
            name: method.name(),
            deletion,
            insertion,
        });
    }
    Ok(out)
}

/// The side of the random baseline's squares: 1/14 of the shorter side (16 px at 224²), the
/// scale of the maps' cells.
pub fn random_block((w, h): (u32, u32)) -> u32 {
    (w.min(h) / 14).max(1)
}

/// Both curves of one pixel order, classified in one batch.
pub fn curves_of(
    gpu: &GpuContext,
    inpainter: &Inpainter,
    pipeline: &ClassifyPipeline,
    eraser: &Eraser,
    order: &[u32],
    class: usize,
    settings: &EvalSettings,
) -> Result<(Curve, Curve)> {
    let size = eraser.image().dimensions();
    let steps = settings.steps;
    let mut masks = curves::masks(order, size, steps, Direction::Deletion);
    masks.extend(curves::masks(order, size, steps, Direction::Insertion));
    let probs = eraser.probabilities(gpu, inpainter, pipeline, &masks, &settings.fill)?;
    let mut p: Vec<f32> = probs.iter().map(|p| p[class]).collect();
    let insertion = p.split_off(steps as usize + 1);
    let fractions = curves::fractions(steps);
    Ok((
        Curve {
            fractions: fractions.clone(),
            probabilities: p,
        },
        Curve {
            fractions,
            probabilities: insertion,
        },
    ))
}
