//! Everything built once per process and shared by every edit: the GPU, the passes, the loaded
//! classifiers (loaded on first use, kept while the process lives).

use std::path::PathBuf;
use std::sync::Arc;

use crate::Result;
use crate::classify::{ClassifyPipeline, Inference};
use crate::gpu::GpuContext;
use crate::inpaint::Inpainter;
use crate::models::{ModelKind, Preset};
use crate::passes::{ComposePass, MorphologyPass, PaintPass};

/// The GPU context, its passes and the classifiers.
pub struct Engine {
    /// The one device.
    pub gpu: GpuContext,
    /// Telea (and later PatchMatch).
    pub inpainter: Inpainter,
    /// Brush strokes into the mask.
    pub paint: PaintPass,
    /// Clears, inverts, grows and shrinks the mask.
    pub morphology: MorphologyPass,
    /// The viewer's picture.
    pub compose: ComposePass,
    /// Classifiers run on the GPU (else on burn's CPU backend).
    pub inference_on_gpu: bool,
    models_dir: PathBuf,
    pipelines: Vec<Arc<ClassifyPipeline>>,
}

impl Engine {
    /// Builds the passes on `gpu`; classifiers load from `models_dir` when first asked for, and
    /// run where `Inference::Auto` puts them.
    pub fn new(gpu: GpuContext, models_dir: PathBuf) -> Result<Self> {
        Self::with_inference(gpu, models_dir, Inference::Auto)
    }

    /// [`Engine::new`] with an explicit choice of where the classifiers run.
    pub fn with_inference(
        gpu: GpuContext,
        models_dir: PathBuf,
        inference: Inference,
    ) -> Result<Self> {
        Ok(Self {
            inference_on_gpu: inference.on_gpu(&gpu),
            inpainter: Inpainter::new(&gpu.device)?,
            paint: PaintPass::new(&gpu.device)?,
            morphology: MorphologyPass::new(&gpu.device)?,
            compose: ComposePass::new(&gpu.device)?,
            gpu,
            models_dir,
            pipelines: Vec::new(),
        })
    }

    /// The classifier `kind`, loading its weights the first time.
    pub fn pipeline(&mut self, kind: ModelKind) -> Result<&ClassifyPipeline> {
        if let Some(i) = self.pipelines.iter().position(|p| p.kind == kind) {
            return Ok(&self.pipelines[i]);
        }
        let pipeline = ClassifyPipeline::with_inference(
            &self.gpu,
            kind,
            Preset::Default,
            &self.models_dir,
            self.inference_on_gpu,
        )?;
        self.pipelines.push(Arc::new(pipeline));
        Ok(self.pipelines.last().expect("just pushed"))
    }

    /// The classifier `kind` if it is already loaded.
    pub fn loaded(&self, kind: ModelKind) -> Option<&ClassifyPipeline> {
        self.pipelines.iter().find(|p| p.kind == kind).map(|p| &**p)
    }

    /// The classifier `kind`, which the caller has loaded (`pipeline`); an error otherwise.
    pub fn require(&self, kind: ModelKind) -> Result<&ClassifyPipeline> {
        self.loaded(kind).ok_or_else(|| not_loaded(kind))
    }

    /// [`Engine::require`], shareable with a worker thread.
    pub fn require_shared(&self, kind: ModelKind) -> Result<Arc<ClassifyPipeline>> {
        self.loaded_shared(kind).ok_or_else(|| not_loaded(kind))
    }

    /// The classifier `kind`, shareable with a worker thread, if it is already loaded.
    pub fn loaded_shared(&self, kind: ModelKind) -> Option<Arc<ClassifyPipeline>> {
        self.pipelines.iter().find(|p| p.kind == kind).cloned()
    }
}

fn not_loaded(kind: ModelKind) -> crate::Error {
    crate::Error::Invalid(format!("{} is not loaded", kind.display_name()))
}
