//! Grad-CAM (Selvaraju et al. 2017) and HiResCAM (Draelos & Carin 2020) at any convolutional
//! layer, with burn's autodiff on the device the classifier runs on.
//!
//! The forward pass is split at the chosen layer by a [`Probe`]: everything before it runs as
//! usual, its output is handed on as an autodiff-tracked leaf, and the weights stay constants
//! (untracked tensors are constants to a tracked operation). One backward pass from the class's
//! logit gives the gradient at that layer.

use std::fmt::Display;

use burn::tensor::Tensor;

use super::{Map, check_class};
use crate::classify::ClassifyPipeline;
use crate::gpu::{GpuContext, burn_buffer};
use crate::models::ModelKind;
use crate::models::probe::Probe;
use crate::{Error, Result};

/// Which gradient map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GradMethod {
    /// Σ_c mean(∂y/∂A_c) · A_c: channel weights from the spatially averaged gradient.
    GradCam,
    /// Σ_c ∂y/∂A_c ⊙ A_c: the gradient kept per position (faithful to the score for models
    /// that end in global average pooling).
    HiResCam,
}

/// The layers of `kind` where a gradient map can be taken, input to output (the names the models'
/// forward passes report; `explain --layer` takes them). Built once: the viewer asks every frame.
pub fn layers(kind: ModelKind) -> &'static [String] {
    static LISTS: std::sync::OnceLock<[Vec<String>; 2]> = std::sync::OnceLock::new();
    let lists = LISTS.get_or_init(|| ModelKind::ALL.map(layer_list));
    &lists[ModelKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)]
}

fn layer_list(kind: ModelKind) -> Vec<String> {
    match kind {
        ModelKind::SqueezeNet => std::iter::once("conv1".to_string())
            .chain((2..=9).flat_map(|i| [format!("fire{i}.squeeze"), format!("fire{i}.expand")]))
            .chain(std::iter::once("conv10".to_string()))
            .collect(),
        ModelKind::MobileNetV2 => std::iter::once("stem".to_string())
            .chain((1..=17).flat_map(|i| {
                // Block 1 keeps its 32 channels (expansion 1): no expanding 1x1.
                let expand = (i > 1).then(|| format!("block{i}.expand"));
                expand
                    .into_iter()
                    .chain([format!("block{i}.depthwise"), format!("block{i}.project")])
            }))
            .chain(std::iter::once("head".to_string()))
            .collect(),
    }
}

/// The default layer: the last convolutional one (where CAM is taken).
pub fn last_layer(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::SqueezeNet => "conv10",
        ModelKind::MobileNetV2 => "head",
    }
}

/// Splits a forward pass at `layer`: that stage's output goes on as a tracked leaf.
struct SplitAt<'a> {
    layer: &'a str,
    activation: Option<Tensor<4>>,
}

impl Probe for SplitAt<'_> {
    fn stage(&mut self, _name: &dyn Display, _out: &Tensor<4>) {}

    fn tap(&mut self, name: &dyn Display, out: Tensor<4>) -> Tensor<4> {
        if self.activation.is_some() || name.to_string() != self.layer {
            return out;
        }
        let leaf = out.autodiff().require_grad();
        self.activation = Some(leaf.clone());
        leaf
    }
}

/// A gradient map before its ReLU: `grid` = the layer's (width, height), values unnormalised.
/// Shown maps take [`Map::positive`] of it (the evidence for the class).
pub fn gradient_map(
    gpu: &GpuContext,
    pipeline: &ClassifyPipeline,
    input: Tensor<4>,
    class: usize,
    layer: &str,
    method: GradMethod,
) -> Result<Map> {
    let map = gradient_tensor(pipeline, input, class, layer, method)?;
    let [h, w] = map.dims();
    if burn_buffer::is_wgpu(&map) {
        gpu.health.check()?;
    }
    let values = map
        .try_into_data()
        .map_err(|e| Error::Gpu(format!("reading the gradient map: {e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| Error::Gpu(format!("gradient map has an unexpected type: {e:?}")))?;
    Ok(Map {
        grid: (w as u32, h as u32),
        values,
    })
}

/// [`gradient_map`] as an `[h, w]` tensor left on the classifier's device (nothing is read back:
/// the viewer draws it straight from burn's buffer).
pub fn gradient_tensor(
    pipeline: &ClassifyPipeline,
    input: Tensor<4>,
    class: usize,
    layer: &str,
    method: GradMethod,
) -> Result<Tensor<2>> {
    check_class(class)?;
    let names = layers(pipeline.kind);
    if !names.iter().any(|n| n == layer) {
        return Err(Error::Invalid(format!(
            "{layer:?} is not a layer of {}: one of {}",
            pipeline.kind.name(),
            names.join(", ")
        )));
    }
    let mut split = SplitAt {
        layer,
        activation: None,
    };
    let out = pipeline.forward_probed(input, &mut split);
    let activation = split
        .activation
        .ok_or_else(|| Error::Gpu(format!("the forward pass never reached the layer {layer}")))?;
    // Grad-CAM differentiates the class's score before the softmax.
    let score = out.logits.slice([0..1, class..class + 1]).sum();
    let grads = score.backward();
    let grad = activation
        .grad(&grads)
        .ok_or_else(|| Error::Gpu(format!("no gradient reached the layer {layer}")))?;
    let a = activation.inner();
    let [_, c, h, w] = a.dims();
    let weighted = match method {
        GradMethod::GradCam => {
            let weights = grad
                .reshape([1, c, h * w])
                .mean_dim(2)
                .reshape([1, c, 1, 1]);
            a.mul(weights.expand([1, c, h, w]))
        }
        GradMethod::HiResCam => a.mul(grad),
    };
    Ok(weighted.sum_dim(1).reshape([h, w]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_lists_end_at_the_cam_layer() {
        for kind in ModelKind::ALL {
            let names = layers(kind);
            assert_eq!(names.last().map(String::as_str), Some(last_layer(kind)));
            let mut unique = names.to_vec();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), names.len());
        }
        assert_eq!(layers(ModelKind::SqueezeNet).len(), 18);
        // stem, 16 expands, 17 depthwise, 17 projects, head.
        assert_eq!(layers(ModelKind::MobileNetV2).len(), 52);
    }
}
