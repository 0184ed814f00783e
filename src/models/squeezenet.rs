//! SqueezeNet 1.1 (Iandola et al. 2016) as torchvision lays it out, with the original Caffe
//! weights: conv 3x3/2 → fire modules → 1x1 conv to 1000 class maps → global average.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::{Device, Tensor};

use super::ModelOutput;
use super::cpu_layers::{self, Act};
use super::probe::{NoProbe, Probe};
use super::weights::{WeightFile, WeightFileSpec};
use crate::Result;

/// The weights unsee ships for SqueezeNet 1.1.
pub const WEIGHTS: WeightFileSpec = WeightFileSpec {
    file: "squeezenet1_1_caffe_bgr.safetensors",
    sha256: "8b7e9f7807f6fd4e68fc1acd5e857d230d55248913a00700a5219bd68d6295fa",
};

/// Fire module: a 1x1 squeeze, then 1x1 and 3x3 expands concatenated on channels.
#[derive(Module, Debug)]
pub struct Fire {
    squeeze: Conv2d,
    expand1x1: Conv2d,
    expand3x3: Conv2d,
}

impl Fire {
    fn forward(&self, x: Tensor<4>, index: usize, probe: &mut impl Probe) -> Tensor<4> {
        let s = probe.tap(
            &format_args!("fire{index}.squeeze"),
            cpu_layers::conv(x, &self.squeeze, Act::Relu),
        );
        // Both expands write their own channels of one output: the concatenation is free.
        probe.tap(
            &format_args!("fire{index}.expand"),
            cpu_layers::conv_cat(s, &[&self.expand1x1, &self.expand3x3], Act::Relu),
        )
    }
}

/// SqueezeNet 1.1.
#[derive(Module, Debug)]
pub struct SqueezeNet {
    conv1: Conv2d,
    fires: Vec<Fire>,
    conv10: Conv2d,
    pool: MaxPool2d,
}

/// (torchvision index, input channels, squeeze, expand) of the eight fire modules.
const FIRES: [(usize, usize, usize, usize); 8] = [
    (3, 64, 16, 64),
    (4, 128, 16, 64),
    (6, 128, 32, 128),
    (7, 256, 32, 128),
    (9, 256, 48, 192),
    (10, 384, 48, 192),
    (11, 384, 64, 256),
    (12, 512, 64, 256),
];

impl SqueezeNet {
    /// Builds the network from `weights`. `ceil_mode` selects Caffe's ceil-mode max pooling (what
    /// the weights were trained with) or floor mode (the 2018 demo, and torchvision).
    pub fn load(weights: &mut WeightFile, ceil_mode: bool, device: &Device) -> Result<Self> {
        let conv1 = conv(weights, "features.0", [64, 3, 3, 3], 2, 0, device)?;
        let fires = FIRES
            .iter()
            .map(|&(i, cin, s, e)| {
                let p = format!("features.{i}");
                Ok(Fire {
                    squeeze: conv(
                        weights,
                        &format!("{p}.squeeze"),
                        [s, cin, 1, 1],
                        1,
                        0,
                        device,
                    )?,
                    expand1x1: conv(
                        weights,
                        &format!("{p}.expand1x1"),
                        [e, s, 1, 1],
                        1,
                        0,
                        device,
                    )?,
                    expand3x3: conv(
                        weights,
                        &format!("{p}.expand3x3"),
                        [e, s, 3, 3],
                        1,
                        1,
                        device,
                    )?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let conv10 = conv(weights, "classifier.1", [1000, 512, 1, 1], 1, 0, device)?;
        let pool = MaxPool2dConfig::new([3, 3])
            .with_strides([2, 2])
            .with_ceil_mode(ceil_mode)
            .init();
        Ok(Self {
            conv1,
            fires,
            conv10,
            pool,
        })
    }

    /// Runs the network on `[n, 3, h, w]`. The feature map returned is the ReLU'd class-map tensor
    /// `[n, 1000, h', w']` whose spatial mean is the logits: its channel k is class k's CAM.
    pub fn forward(&self, x: Tensor<4>) -> ModelOutput {
        self.forward_probed(x, &mut NoProbe)
    }

    /// [`SqueezeNet::forward`], reporting every stage to `probe`.
    pub fn forward_probed(&self, x: Tensor<4>, probe: &mut impl Probe) -> ModelOutput {
        let x = probe.tap(&"conv1", cpu_layers::conv(x, &self.conv1, Act::Relu));
        let mut x = cpu_layers::max_pool(x, &self.pool);
        probe.stage(&"pool1", &x);
        for (i, fire) in self.fires.iter().enumerate() {
            x = fire.forward(x, i + 2, probe);
            // Pools follow fire3 and fire5 (indices 1 and 3 here).
            if i == 1 || i == 3 {
                x = cpu_layers::max_pool(x, &self.pool);
                probe.stage(&format_args!("pool{}", i + 2), &x);
            }
        }
        // Dropout precedes conv10 in training only.
        let maps = probe.tap(&"conv10", cpu_layers::conv(x, &self.conv10, Act::Relu));
        let [n, c, h, w] = maps.dims();
        let logits = maps
            .clone()
            .reshape([n, c, h * w])
            .mean_dim(2)
            .reshape([n, c]);
        probe.stage(&"mean", &logits.clone().reshape([n, c, 1, 1]));
        ModelOutput {
            logits,
            features: maps,
        }
    }
}

/// A convolution with bias from `prefix.weight` / `prefix.bias`.
fn conv(
    weights: &mut WeightFile,
    prefix: &str,
    shape: [usize; 4],
    stride: usize,
    padding: usize,
    device: &Device,
) -> Result<Conv2d> {
    let weight = weights.tensor(&format!("{prefix}.weight"), shape, device)?;
    let bias = weights.tensor(&format!("{prefix}.bias"), [shape[0]], device)?;
    Ok(super::conv2d(weight, Some(bias), stride, padding, 1))
}
