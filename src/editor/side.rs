//! Classifications beside the live job (another model on the same edit): started without
//! waiting, on the GPU straight from the edit's textures (no image readback), or on a worker
//! thread on the CPU path; polled once a frame.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use super::Editor;
use crate::engine::Engine;
use crate::gpu::readback::Readback;
use crate::models::ModelKind;
use crate::{Error, Result};

/// Which image of the edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The original photo.
    Original,
    /// The modified image as it is now (the state `Editor::answered_key` names when settled).
    Modified,
}

/// Class probabilities on their way.
pub enum PendingScores {
    /// A GPU readback of the softmax.
    Gpu(Readback),
    /// A worker thread (CPU path).
    Cpu(Receiver<Result<Vec<f32>>>),
}

impl PendingScores {
    /// The probabilities when they are there; never waits.
    pub fn try_take(&self, device: &wgpu::Device) -> Option<Result<Vec<f32>>> {
        match self {
            PendingScores::Gpu(r) => r.try_take(device),
            PendingScores::Cpu(rx) => match rx.try_recv() {
                Ok(r) => Some(r),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => Some(Err(Error::Invalid(
                    "the CPU classification stopped unexpectedly".into(),
                ))),
            },
        }
    }
}

impl Editor {
    /// Starts classifying `which` image with `model` (loaded by the caller). The GPU records the
    /// work now, so it reads the texture as it is at this point of the queue even if a later job
    /// refills it.
    pub fn classify_async(
        &self,
        engine: &Engine,
        model: ModelKind,
        which: Which,
    ) -> Result<PendingScores> {
        let pipeline = engine.require_shared(model)?;
        if engine.inference_on_gpu {
            let texture = match which {
                Which::Original => &self.original,
                Which::Modified => &self.modified,
            };
            let input = pipeline.input_from_texture(&engine.gpu, texture)?;
            let probabilities =
                burn::tensor::activation::softmax(pipeline.forward(input).logits, 1);
            return Ok(PendingScores::Gpu(Readback::start(
                &engine.gpu,
                &probabilities,
            )?));
        }
        let image = match which {
            Which::Original => Arc::clone(&self.original_cpu),
            Which::Modified => self
                .filled_cpu
                .clone()
                .unwrap_or_else(|| Arc::clone(&self.original_cpu)),
        };
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _ = tx.send(super::cpu_path::classify(&pipeline, &image).map(|(p, _)| p));
        });
        Ok(PendingScores::Cpu(rx))
    }
}
