//! Classification on the shared GPU: working image texture → GPU preprocessing straight into
//! burn's input buffer → model → softmax on the GPU → 1000 probabilities read back (4 KB), the
//! only readback. Where the only adapter is a software rasterizer, inference runs on burn's CPU
//! backend instead (`Inference::Auto`), with the CPU preprocessing reference: about 20x faster
//! there than the same kernels on lavapipe.

use std::path::Path;

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use image::RgbaImage;

use crate::gpu::{GpuContext, burn_buffer, texture};
use crate::models::probe::Probe;
use crate::models::{
    Classifier, InputSpec, Labels, ModelKind, ModelOutput, Prediction, Preset, top_k,
};
use crate::passes::PreprocessPass;
use crate::{Error, Result};

/// Where the classifier runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Inference {
    /// The GPU, unless the only adapter is a software rasterizer: then the CPU.
    #[default]
    Auto,
    /// burn's wgpu backend on the shared device.
    Gpu,
    /// burn's CPU backend (flex).
    Cpu,
}

impl Inference {
    /// Whether inference runs on the GPU for this adapter.
    pub fn on_gpu(self, gpu: &GpuContext) -> bool {
        match self {
            Inference::Auto => !gpu.software,
            Inference::Gpu => true,
            Inference::Cpu => false,
        }
    }

    /// Words for status bars and reports.
    pub fn describe(on_gpu: bool) -> &'static str {
        if on_gpu {
            "GPU (burn wgpu)"
        } else {
            "CPU (burn flex)"
        }
    }
}

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
    /// Inference runs on the shared GPU (else on the CPU).
    pub on_gpu: bool,
    device: burn::tensor::Device,
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
        Self::with_inference(gpu, kind, preset, models_dir, true)
    }

    /// Loads `kind` for inference on the GPU (`on_gpu`) or on the CPU.
    pub fn with_inference(
        gpu: &GpuContext,
        kind: ModelKind,
        preset: Preset,
        models_dir: &Path,
        on_gpu: bool,
    ) -> Result<Self> {
        if preset == Preset::Paper2018 && kind != ModelKind::SqueezeNet {
            return Err(Error::Invalid(
                "the paper2018 preset reproduces the 2018 demo's SqueezeNet; use it with --model squeezenet".into(),
            ));
        }
        let labels = Labels::load(models_dir)?;
        let device = if on_gpu {
            gpu.burn.clone()
        } else {
            crate::models::cpu_layers::init_threads();
            burn::tensor::Device::flex()
        };
        let model = Classifier::load(kind, preset, models_dir, &device)?;
        let preprocess = PreprocessPass::new(&gpu.device)?;
        Ok(Self {
            kind,
            preset,
            spec: InputSpec::for_model(kind, preset),
            labels,
            on_gpu,
            device,
            model,
            preprocess,
        })
    }

    /// Builds the model input from an image in CPU memory (the CPU preprocessing reference).
    pub fn input_from_image(&self, img: &RgbaImage) -> Tensor<4> {
        let s = self.spec.size as usize;
        let values = crate::cpu::preprocess::preprocess(img, &self.spec);
        Tensor::from_data(
            burn::tensor::TensorData::new(values, [1, 3, s, s]),
            &self.device,
        )
    }

    /// Builds the model input from an RGBA8 texture on the GPU, writing burn's buffer in place
    /// (with CPU inference: reads the texture back and preprocesses on the CPU).
    pub fn input_from_texture(&self, gpu: &GpuContext, image: &wgpu::Texture) -> Result<Tensor<4>> {
        if !self.on_gpu {
            let img = texture::read_rgba(&gpu.device, &gpu.queue, image)?;
            return Ok(self.input_from_image(&img));
        }
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

    /// Builds a batch of model inputs from images inside one RGBA8 texture (the tiles of an
    /// atlas), all in one pass into one `[n, 3, s, s]` tensor on the GPU: one flush of burn's queue
    /// for the batch rather than one per image. GPU inference only.
    pub fn inputs_from_tiles(
        &self,
        gpu: &GpuContext,
        atlas: &wgpu::Texture,
        items: &[crate::passes::preprocess::Item],
    ) -> Result<Tensor<4>> {
        if !self.on_gpu {
            return Err(Error::Gpu(
                "batched GPU preprocessing needs GPU inference".into(),
            ));
        }
        let s = self.spec.size as usize;
        let input = Tensor::<4>::empty([items.len(), 3, s, s], &gpu.burn);
        burn_buffer::with_tensor_buffer(&input, |binding| {
            let mut encoder = gpu
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("preprocess.batch_encoder"),
                });
            self.preprocess.encode_items(
                &gpu.device,
                &mut encoder,
                atlas,
                &binding,
                &self.spec,
                items,
            );
            gpu.queue.submit([encoder.finish()]);
        })?;
        Ok(input)
    }

    /// Runs the model on an input tensor (lazily: nothing is read back).
    pub fn forward(&self, input: Tensor<4>) -> ModelOutput {
        self.model.forward(input)
    }

    /// The forward pass of `img` on burn's CPU backend, preprocessing included, on one hold of the
    /// pool's threads (`cpu_layers::on_pool`): they are woken once per image, not once per
    /// preprocessing loop and again for the layers (each wake-up ~60 µs on the 2-core VM).
    pub fn forward_image(&self, img: &RgbaImage) -> ModelOutput {
        crate::models::cpu_layers::on_pool(|| self.forward(self.input_from_image(img)))
    }

    /// [`ClassifyPipeline::forward`], reporting every layer's output to `probe`.
    pub fn forward_probed(&self, input: Tensor<4>, probe: &mut (impl Probe + Send)) -> ModelOutput {
        self.model.forward_probed(input, probe)
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
        let probs = if self.on_gpu {
            let texture = texture::upload_rgba(&gpu.device, &gpu.queue, img, "classify.image")?;
            self.probabilities(gpu, &texture)?
        } else {
            read_probabilities(gpu, self.forward_image(img).logits)?
        };
        Ok(top_k(&probs, &self.labels, k))
    }
}

/// Softmax (on the GPU for GPU tensors), then reads the `[1, 1000]` probabilities back.
pub fn read_probabilities(gpu: &GpuContext, logits: Tensor<2>) -> Result<Vec<f32>> {
    if crate::gpu::burn_buffer::is_wgpu(&logits) {
        crate::gpu::readback::count_wait();
    }
    let probabilities = probabilities_of(logits);
    gpu.health.check()?;
    probabilities
}

/// Softmax of `logits`, read into CPU memory (blocking; the CPU path's worker threads call this
/// directly, as they have no GPU to check).
pub fn probabilities_of(logits: Tensor<2>) -> Result<Vec<f32>> {
    softmax(logits, 1)
        .try_into_data()
        .map_err(|e| Error::Gpu(format!("reading class scores: {e:?}")))?
        .try_into_vec::<f32>()
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

#[cfg(test)]
mod send_check {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn pipeline_and_tensors_cross_threads() {
        assert_send_sync::<super::ClassifyPipeline>();
        assert_send_sync::<burn::tensor::Tensor<4>>();
    }
}
