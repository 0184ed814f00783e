//! Classifications beside the live job (another model on the same edit): on a worker thread,
//! on the GPU straight from the edit's textures (no image readback) or on the CPU path; polled
//! once a frame.

use std::sync::Arc;

use super::Editor;
use crate::Result;
use crate::background::{self, Task};
use crate::engine::Engine;
use crate::gpu::readback::Readback;
use crate::models::ModelKind;

/// Which image of the edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The original photo.
    Original,
    /// The modified image as it is now (the state `Editor::answered_key` names when settled).
    Modified,
}

/// Test seam: milliseconds a GPU classification's task sleeps before it records anything, so a
/// test can make it late on purpose (0, the default, in the program).
#[doc(hidden)]
pub static WORKER_DELAY_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Class probabilities on their way from the background thread. Dropping it cancels a
/// classification not started yet.
pub struct PendingScores(Task<Result<Vec<f32>>>);

impl PendingScores {
    /// The probabilities when they are there; never waits.
    pub fn try_take(&self) -> Option<Result<Vec<f32>>> {
        Some(self.0.try_take()?.and_then(|scores| scores))
    }
}

impl Editor {
    /// Starts classifying `which` image with `model` (loaded by the caller) on the background
    /// thread.
    /// On the GPU the modified image is first copied in queue order (a copy, recorded here
    /// without burn), so the worker classifies it as it is now even if a later job refills it;
    /// the original never changes. The frame records no burn work and waits for nothing.
    pub fn classify_async(
        &self,
        engine: &Engine,
        model: ModelKind,
        which: Which,
    ) -> Result<PendingScores> {
        let pipeline = engine.require_shared(model)?;
        if engine.inference_on_gpu {
            let gpu = engine.gpu.clone();
            let texture = match which {
                Which::Original => self.original.clone(),
                Which::Modified => {
                    let copy = self.modified_copy.get_or_init(|| {
                        super::make_texture(
                            &gpu.device,
                            self.size,
                            crate::gpu::texture::IMAGE_FORMAT,
                            "editor.modified_copy",
                        )
                    });
                    let mut encoder = gpu.device.create_command_encoder(&Default::default());
                    encoder.copy_texture_to_texture(
                        self.modified.as_image_copy(),
                        copy.as_image_copy(),
                        crate::gpu::texture::extent(self.size.0, self.size.1),
                    );
                    gpu.queue.submit([encoder.finish()]);
                    copy.clone()
                }
            };
            let delay = WORKER_DELAY_MS.load(std::sync::atomic::Ordering::Relaxed);
            return Ok(PendingScores(background::spawn(move |_| {
                if delay > 0 {
                    std::thread::sleep(std::time::Duration::from_millis(delay));
                }
                let input = pipeline.input_from_texture(&gpu, &texture)?;
                let probabilities =
                    burn::tensor::activation::softmax(pipeline.forward(input).logits, 1);
                Readback::start(&gpu, &probabilities)?.wait(&gpu.device)
            })?));
        }
        let image = match which {
            Which::Original => Arc::clone(&self.original_cpu),
            Which::Modified => self
                .filled_cpu
                .clone()
                .unwrap_or_else(|| Arc::clone(&self.original_cpu)),
        };
        Ok(PendingScores(background::spawn(move |_| {
            super::cpu_path::classify(&pipeline, &image).map(|(p, _)| p)
        })?))
    }
}
