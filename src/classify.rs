//! Classification on the shared GPU: working image texture → GPU preprocessing straight into
//! burn's input buffer → model → softmax on the GPU → 1000 probabilities read back (4 KB), the
//! only readback.

use std::path::Path;

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use image::RgbaImage;

use crate::gpu::{GpuContext, burn_buffer, texture};
use crate::models::{
    Classifier, InputSpec, Labels, ModelKind, ModelOutput, Prediction, Preset, top_k,
};
use crate::passes::PreprocessPass;
use crate::{Error, Result};

/// A classifier ready to run on images that live on the GPU.
pub struct ClassifyPipeline {
    /// Which model.
    pub kind: ModelKind,
    /// Which preprocessing.
    pub preset: Preset,
    /// The input the model expects.
    pub spec: InputSpec,
    /// Class names.
    pub labels: Labels,
    model: Classifier,
    preprocess: PreprocessPass,
}

impl ClassifyPipeline {
    /// Loads `kind` (weights and labels from `models_dir`) onto `gpu`.
    pub fn new(
        gpu: &GpuContext,
        kind: ModelKind,
        preset: Preset,
        models_dir: &Path,
    ) -> Result<Self> {
        if preset == Preset::Paper2018 && kind != ModelKind::SqueezeNet {
            return Err(Error::Invalid(
                "the paper2018 preset reproduces the 2018 demo's SqueezeNet; use it with --model squeezenet".into(),
            ));
        }
        let labels = Labels::load(models_dir)?;
        let model = Classifier::load(kind, preset, models_dir, &gpu.burn)?;
        let preprocess = PreprocessPass::new(&gpu.device)?;
        Ok(Self {
            kind,
            preset,
            spec: InputSpec::for_model(kind, preset),
            labels,
            model,
            preprocess,
        })
    }

    /// Builds the model input from an RGBA8 texture on the GPU, writing burn's buffer in place.
    pub fn input_from_texture(&self, gpu: &GpuContext, image: &wgpu::Texture) -> Result<Tensor<4>> {
        let s = self.spec.size as usize;
        let input = Tensor::<4>::empty([1, 3, s, s], &gpu.burn);
        burn_buffer::with_tensor_buffer(&input, |binding| {
            let mut encoder = gpu
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("preprocess.encoder"),
                });
            self.preprocess
                .encode(&gpu.device, &mut encoder, image, &binding, &self.spec);
            gpu.queue.submit([encoder.finish()]);
        })?;
        Ok(input)
    }

    /// Runs the model on an input tensor (lazily: nothing is read back).
    pub fn forward(&self, input: Tensor<4>) -> ModelOutput {
        self.model.forward(input)
    }

    /// Class activation map of `class` from a forward pass's feature map (see
    /// [`Classifier::class_activation`]).
    pub fn class_activation(&self, features: &Tensor<4>, class: usize) -> Tensor<2> {
        self.model.class_activation(features, class)
    }

    /// Class probabilities for the image in `image` (blocking on the 4 KB readback).
    pub fn probabilities(&self, gpu: &GpuContext, image: &wgpu::Texture) -> Result<Vec<f32>> {
        let input = self.input_from_texture(gpu, image)?;
        let out = self.forward(input);
        read_probabilities(gpu, out.logits)
    }

    /// Uploads `img`, classifies it and returns the `k` most probable classes.
    pub fn classify_image(
        &self,
        gpu: &GpuContext,
        img: &RgbaImage,
        k: usize,
    ) -> Result<Vec<Prediction>> {
        let texture = texture::upload_rgba(&gpu.device, &gpu.queue, img, "classify.image")?;
        let probs = self.probabilities(gpu, &texture)?;
        Ok(top_k(&probs, &self.labels, k))
    }
}

/// Softmax on the GPU, then reads the `[1, 1000]` probabilities back.
pub fn read_probabilities(gpu: &GpuContext, logits: Tensor<2>) -> Result<Vec<f32>> {
    let data = softmax(logits, 1)
        .try_into_data()
        .map_err(|e| Error::Gpu(format!("reading class scores: {e:?}")))?;
    gpu.health.check()?;
    data.try_into_vec::<f32>()
        .map_err(|e| Error::Gpu(format!("class scores have an unexpected type: {e:?}")))
}

/// Reads logits back without softmax (for comparisons against reference logits).
pub fn read_logits(gpu: &GpuContext, logits: Tensor<2>) -> Result<Vec<f32>> {
    let data = logits
        .try_into_data()
        .map_err(|e| Error::Gpu(format!("reading logits: {e:?}")))?;
    gpu.health.check()?;
    data.try_into_vec::<f32>()
        .map_err(|e| Error::Gpu(format!("logits have an unexpected type: {e:?}")))
}
