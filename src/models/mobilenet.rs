//! MobileNetV2 1.0 (Sandler et al. 2018) as torchvision lays it out. BatchNorm is folded into the
//! preceding convolution at load time (inference only): half the kernels, same numbers.

use burn::module::Module;
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor};

use super::ModelOutput;
use super::cpu_layers::{self, Act};
use super::probe::{NoProbe, Probe};
use super::weights::{WeightFile, WeightFileSpec, to_device};
use crate::Result;

/// The weights unsee ships for MobileNetV2.
pub const WEIGHTS: WeightFileSpec = WeightFileSpec {
    file: "mobilenet_v2.safetensors",
    sha256: "64613519ea50e7350cc88f99770c320fc9e3900cb38f5de3afe7945fea431f1f",
};

/// torchvision's BatchNorm epsilon.
const BN_EPS: f32 = 1e-5;

/// A convolution with folded BatchNorm, optionally followed by ReLU6.
#[derive(Module, Debug)]
pub struct ConvBn {
    conv: Conv2d,
    #[module(skip)]
    relu6: bool,
}

impl ConvBn {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let act = if self.relu6 { Act::Relu6 } else { Act::Linear };
        cpu_layers::conv(x, &self.conv, act)
    }

    /// `act(conv(x) + residual)`: the add fused into the convolution on the CPU backend.
    fn forward_adding(&self, x: Tensor<4>, residual: Tensor<4>) -> Tensor<4> {
        let act = if self.relu6 { Act::Relu6 } else { Act::Linear };
        cpu_layers::conv_residual(x, &self.conv, act, residual)
    }
}

/// Inverted residual block: 1x1 expand (absent when t = 1), 3x3 depthwise, 1x1 linear projection,
/// and a skip connection when the shape is kept.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    expand: Option<ConvBn>,
    depthwise: ConvBn,
    project: ConvBn,
    #[module(skip)]
    residual: bool,
}

impl InvertedResidual {
    fn forward(&self, x: Tensor<4>, index: usize, probe: &mut impl Probe) -> Tensor<4> {
        if !probe.sees_layers()
            && let Some(y) = cpu_layers::inverted_residual(
                &x,
                self.expand.as_ref().map(|e| &e.conv),
                &self.depthwise.conv,
                &self.project.conv,
                self.residual,
            )
        {
            return probe.tap(&format_args!("block{index}"), y);
        }
        let mut y = x.clone();
        if let Some(expand) = &self.expand {
            y = probe.tap(&format_args!("block{index}.expand"), expand.forward(y));
        }
        let y = probe.tap(
            &format_args!("block{index}.depthwise"),
            self.depthwise.forward(y),
        );
        let y = if self.residual {
            self.project.forward_adding(y, x)
        } else {
            self.project.forward(y)
        };
        probe.tap(&format_args!("block{index}.project"), y)
    }
}

/// MobileNetV2 1.0.
#[derive(Module, Debug)]
pub struct MobileNetV2 {
    stem: ConvBn,
    blocks: Vec<InvertedResidual>,
    head: ConvBn,
    classifier: Linear,
}

/// (expansion t, output channels c, repeats n, first stride s), from the paper's Table 2.
pub(super) const SETTINGS: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

impl MobileNetV2 {
    /// Builds the network from torchvision-named `weights`.
    pub fn load(weights: &mut WeightFile, device: &Device) -> Result<Self> {
        let stem = conv_bn(
            weights,
            "features.0.0",
            "features.0.1",
            [32, 3, 3, 3],
            2,
            1,
            1,
            true,
            device,
        )?;
        let mut blocks = Vec::new();
        let mut cin = 32;
        let mut index = 1;
        for (t, c, n, s) in SETTINGS {
            for r in 0..n {
                let stride = if r == 0 { s } else { 1 };
                let hidden = cin * t;
                let p = format!("features.{index}.conv");
                let (expand, dw, proj, bn) = if t == 1 {
                    (None, 0, 1, 2)
                } else {
                    let e = conv_bn(
                        weights,
                        &format!("{p}.0.0"),
                        &format!("{p}.0.1"),
                        [hidden, cin, 1, 1],
                        1,
                        0,
                        1,
                        true,
                        device,
                    )?;
                    (Some(e), 1, 2, 3)
                };
                let depthwise = conv_bn(
                    weights,
                    &format!("{p}.{dw}.0"),
                    &format!("{p}.{dw}.1"),
                    [hidden, 1, 3, 3],
                    stride,
                    1,
                    hidden,
                    true,
                    device,
                )?;
                let project = conv_bn(
                    weights,
                    &format!("{p}.{proj}"),
                    &format!("{p}.{bn}"),
                    [c, hidden, 1, 1],
                    1,
                    0,
                    1,
                    false,
                    device,
                )?;
                blocks.push(InvertedResidual {
                    expand,
                    depthwise,
                    project,
                    residual: stride == 1 && cin == c,
                });
                cin = c;
                index += 1;
            }
        }
        let head = conv_bn(
            weights,
            "features.18.0",
            "features.18.1",
            [1280, 320, 1, 1],
            1,
            0,
            1,
            true,
            device,
        )?;
        // burn's Linear stores [in, out]; torchvision stores [out, in].
        let w = weights.take("classifier.1.weight", &[1000, 1280])?;
        let mut wt = vec![0.0; w.len()];
        for o in 0..1000 {
            for i in 0..1280 {
                wt[i * 1000 + o] = w[o * 1280 + i];
            }
        }
        let classifier = Linear {
            weight: burn::module::Param::from_tensor(to_device(wt, [1280, 1000], device)),
            bias: Some(burn::module::Param::from_tensor(weights.tensor(
                "classifier.1.bias",
                [1000],
                device,
            )?)),
        };
        Ok(Self {
            stem,
            blocks,
            head,
            classifier,
        })
    }

    /// Row `class` of the classifier: weights `[1, 1280]` and bias `[1]`.
    pub fn classifier_row(&self, class: usize) -> (Tensor<2>, Tensor<1>) {
        let weight = self
            .classifier
            .weight
            .val()
            .slice([0..1280, class..class + 1]);
        let bias = self
            .classifier
            .bias
            .as_ref()
            .map(|b| b.val().slice(class..class + 1))
            .unwrap_or_else(|| Tensor::zeros([1], &weight.device()));
        (weight.reshape([1, 1280]), bias)
    }

    /// Runs the network on `[n, 3, h, w]`; the feature map returned is the last one, `[n, 1280,
    /// h/32, w/32]`, whose spatial mean feeds the linear classifier.
    pub fn forward(&self, x: Tensor<4>) -> ModelOutput {
        self.forward_probed(x, &mut NoProbe)
    }

    /// [`MobileNetV2::forward`], reporting every stage to `probe`.
    pub fn forward_probed(&self, x: Tensor<4>, probe: &mut impl Probe) -> ModelOutput {
        let mut x = probe.tap(&"stem", self.stem.forward(x));
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(x, i + 1, probe);
        }
        let features = probe.tap(&"head", self.head.forward(x));
        let [n, c, h, w] = features.dims();
        let pooled = features
            .clone()
            .reshape([n, c, h * w])
            .mean_dim(2)
            .reshape([n, c]);
        // Dropout precedes the classifier in training only.
        let logits = cpu_layers::linear(pooled, &self.classifier);
        probe.stage(&"pool+classifier", &logits.clone().reshape([n, 1000, 1, 1]));
        ModelOutput { logits, features }
    }
}

/// Loads `conv` (no bias) and the BatchNorm `bn` after it, folded into one convolution.
#[allow(clippy::too_many_arguments)]
fn conv_bn(
    weights: &mut WeightFile,
    conv: &str,
    bn: &str,
    shape: [usize; 4],
    stride: usize,
    padding: usize,
    groups: usize,
    relu6: bool,
    device: &Device,
) -> Result<ConvBn> {
    let out = shape[0];
    let mut w = weights.take(&format!("{conv}.weight"), &shape)?;
    let gamma = weights.take(&format!("{bn}.weight"), &[out])?;
    let beta = weights.take(&format!("{bn}.bias"), &[out])?;
    let mean = weights.take(&format!("{bn}.running_mean"), &[out])?;
    let var = weights.take(&format!("{bn}.running_var"), &[out])?;
    let per_out = w.len() / out;
    let mut bias = vec![0.0; out];
    for o in 0..out {
        let scale = gamma[o] / (var[o] + BN_EPS).sqrt();
        for v in &mut w[o * per_out..(o + 1) * per_out] {
            *v *= scale;
        }
        bias[o] = beta[o] - mean[o] * scale;
    }
    let weight = to_device(w, shape, device);
    let bias = to_device(bias, [out], device);
    Ok(ConvBn {
        conv: super::conv2d(weight, Some(bias), stride, padding, groups),
        relu6,
    })
}
