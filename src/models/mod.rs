//! The two ImageNet classifiers, their weights and labels, and what input each expects.

pub(crate) mod cpu_kernels;
pub mod cpu_layers;
pub mod labels;
pub mod location;
pub mod mobilenet;
pub mod probe;
pub mod receptive;
pub mod squeezenet;
pub mod topk;
pub mod weights;

use std::path::Path;

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor};

use crate::Result;

/// Classes of ImageNet, the classifiers' outputs.
pub const CLASSES: usize = 1000;
pub use labels::Labels;
pub use location::{ModelsDir, locate};
pub use mobilenet::MobileNetV2;
pub use squeezenet::SqueezeNet;
pub use topk::{Prediction, top_indices, top_k};
use weights::WeightFile;

/// Which classifier.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
pub enum ModelKind {
    /// SqueezeNet 1.1, the original Caffe weights (the 2018 demo's model).
    #[value(name = "squeezenet")]
    #[serde(rename = "squeezenet")]
    SqueezeNet,
    /// MobileNetV2 1.0, torchvision's ImageNet weights.
    #[value(name = "mobilenet")]
    #[serde(rename = "mobilenet")]
    MobileNetV2,
}

impl ModelKind {
    /// Both models, in menu order.
    pub const ALL: [ModelKind; 2] = [ModelKind::SqueezeNet, ModelKind::MobileNetV2];

    /// The CLI / JSON name.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::SqueezeNet => "squeezenet",
            ModelKind::MobileNetV2 => "mobilenet",
        }
    }

    /// The name people know it by.
    pub fn display_name(self) -> &'static str {
        match self {
            ModelKind::SqueezeNet => "SqueezeNet 1.1",
            ModelKind::MobileNetV2 => "MobileNetV2",
        }
    }
}

/// How an image becomes model input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// What the weights were trained with.
    #[default]
    #[value(name = "default")]
    Default,
    /// The 2018 demo's SqueezeNet preprocessing, quirks included: RGB order minus the BGR Caffe
    /// means, 227x227, floor-mode pooling. Only meaningful for SqueezeNet.
    #[value(name = "paper2018")]
    Paper2018,
}

/// The input a model expects: `out[c] = (pixel[source[c]] * 255 - mean[c]) * scale[c]`, the whole
/// image squashed (no crop) to `size` x `size`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputSpec {
    /// Side of the square input.
    pub size: u32,
    /// Which RGBA channel feeds each input channel (BGR = [2, 1, 0]).
    pub source: [u32; 3],
    /// Mean subtracted from each input channel, in 0..255 units.
    pub mean: [f32; 3],
    /// Factor applied after subtracting the mean.
    pub scale: [f32; 3],
}

impl InputSpec {
    /// The input for `kind` under `preset`.
    pub fn for_model(kind: ModelKind, preset: Preset) -> Self {
        match (kind, preset) {
            (ModelKind::SqueezeNet, Preset::Default) => Self {
                size: 227,
                source: [2, 1, 0],
                mean: [104.006, 116.669, 122.679],
                scale: [1.0; 3],
            },
            (ModelKind::SqueezeNet, Preset::Paper2018) => Self {
                size: 227,
                source: [0, 1, 2],
                mean: [103.939, 116.779, 123.68],
                scale: [1.0; 3],
            },
            (ModelKind::MobileNetV2, _) => Self {
                size: 224,
                source: [0, 1, 2],
                mean: [0.485 * 255.0, 0.456 * 255.0, 0.406 * 255.0],
                scale: [
                    1.0 / (0.229 * 255.0),
                    1.0 / (0.224 * 255.0),
                    1.0 / (0.225 * 255.0),
                ],
            },
        }
    }
}

/// What one forward pass gives: the logits and the last feature map (for class activation maps).
pub struct ModelOutput {
    /// `[n, 1000]` class scores before softmax.
    pub logits: Tensor<2>,
    /// `[n, c, h, w]`: SqueezeNet's 1000 class maps, MobileNetV2's 1280 features.
    pub features: Tensor<4>,
}

/// A loaded classifier.
#[derive(Debug)]
pub enum Classifier {
    /// SqueezeNet 1.1.
    SqueezeNet(SqueezeNet),
    /// MobileNetV2.
    MobileNetV2(MobileNetV2),
}

impl Classifier {
    /// Loads `kind`'s weights from `models_dir` onto `device`, set up for `preset`.
    pub fn load(
        kind: ModelKind,
        preset: Preset,
        models_dir: &Path,
        device: &Device,
    ) -> Result<Self> {
        Ok(match kind {
            ModelKind::SqueezeNet => {
                let mut w = WeightFile::load(models_dir, squeezenet::WEIGHTS)?;
                // Caffe pooled in ceil mode; the 2018 demo (deeplearn.js) in floor mode.
                let ceil = preset == Preset::Default;
                Classifier::SqueezeNet(SqueezeNet::load(&mut w, ceil, device)?)
            }
            ModelKind::MobileNetV2 => {
                let mut w = WeightFile::load(models_dir, mobilenet::WEIGHTS)?;
                Classifier::MobileNetV2(MobileNetV2::load(&mut w, device)?)
            }
        })
    }

    /// Runs the network on a `[n, 3, s, s]` input.
    pub fn forward(&self, input: Tensor<4>) -> ModelOutput {
        self.forward_probed(input, &mut probe::NoProbe)
    }

    /// [`Classifier::forward`], reporting every stage's output to `probe` (per-layer timings).
    pub fn forward_probed(
        &self,
        input: Tensor<4>,
        probe: &mut (impl probe::Probe + Send),
    ) -> ModelOutput {
        if input.device() == Device::flex() {
            return cpu_layers::on_pool(|| self.forward_layers(input, probe));
        }
        self.forward_layers(input, probe)
    }

    fn forward_layers(&self, input: Tensor<4>, probe: &mut impl probe::Probe) -> ModelOutput {
        match self {
            Classifier::SqueezeNet(m) => m.forward_probed(input, probe),
            Classifier::MobileNetV2(m) => m.forward_probed(input, probe),
        }
    }

    /// Class activation map (Zhou et al. 2016) of class `class` from the `[1, c, h, w]` feature
    /// map of a forward pass: `[h, w]`, on the GPU, unnormalised. Its spatial mean is the class's
    /// logit (SqueezeNet: the class's own map; MobileNetV2: the classifier row applied to the
    /// features, plus the bias).
    pub fn class_activation(&self, features: &Tensor<4>, class: usize) -> Tensor<2> {
        let [_, c, h, w] = features.dims();
        match self {
            Classifier::SqueezeNet(_) => features
                .clone()
                .slice([0..1, class..class + 1])
                .reshape([h, w]),
            Classifier::MobileNetV2(m) => {
                let (weight, bias) = m.classifier_row(class);
                weight
                    .matmul(features.clone().reshape([c, h * w]))
                    .add(bias.reshape([1, 1]).expand([1, h * w]))
                    .reshape([h, w])
            }
        }
    }
}

/// A convolution module from given weights (no random initialisation on the way).
pub(crate) fn conv2d(
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: usize,
    padding: usize,
    groups: usize,
) -> Conv2d {
    let [_, _, kh, kw] = weight.dims();
    Conv2d {
        weight: Param::from_tensor(weight),
        bias: bias.map(Param::from_tensor),
        stride: [stride, stride],
        kernel_size: [kh, kw],
        dilation: [1, 1],
        groups,
        padding: PaddingConfig2d::Explicit(padding, padding, padding, padding),
    }
}
