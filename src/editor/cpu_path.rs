//! The edit's jobs on the CPU, for machines whose only adapter is a software rasterizer: fill with
//! the CPU implementation, upload the result for display, classify on burn's CPU backend.

use std::time::Instant;

use image::RgbaImage;

use super::{Editor, Job, JobKind, ViewSettings};
use crate::engine::Engine;
use crate::gpu::readback::Readback;
use crate::gpu::texture;
use crate::inpaint::{InpaintParams, Method};
use crate::{Result, cpu};

impl Editor {
    /// The job on the CPU (software adapters): fill with the CPU implementation, upload the result
    /// for display, classify on burn's CPU backend. Its scores are ready at once.
    pub(super) fn start_cpu_job(
        &mut self,
        engine: &mut Engine,
        settings: &ViewSettings,
        kind: JobKind,
        started: Instant,
    ) -> Result<()> {
        let model = settings.model;
        let fill_start = Instant::now();
        let image = match kind {
            JobKind::Original => self.original_cpu.clone(),
            JobKind::Modified { .. } => {
                let filled = self.fill_cpu(&settings.inpaint)?;
                self.stats.inpaint_ms = fill_start.elapsed().as_secs_f64() * 1e3;
                let (w, h) = self.size;
                engine.gpu.queue.write_texture(
                    self.modified.as_image_copy(),
                    filled.as_raw(),
                    wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(4 * w),
                        rows_per_image: Some(h),
                    },
                    texture::extent(w, h),
                );
                filled
            }
        };
        let classify_start = Instant::now();
        let pipeline = engine.loaded(model).expect("loaded by start_job");
        let out = pipeline.forward(pipeline.input_from_image(&image));
        let probabilities = burn::tensor::activation::softmax(out.logits, 1);
        let readback = Readback::start(&engine.gpu, &probabilities)?;
        self.stats.classify_ms = classify_start.elapsed().as_secs_f64() * 1e3;
        self.job = Some(Job {
            kind,
            model,
            readback,
            features: out.features,
            started,
        });
        Ok(())
    }

    /// The modified image filled on the CPU (PatchMatch falls back to Telea where it cannot work).
    fn fill_cpu(&mut self, params: &InpaintParams) -> Result<RgbaImage> {
        self.notice = None;
        if !cpu::telea::validate_mask(self.size, &self.hole_plan)? {
            return Ok(self.original_cpu.clone());
        }
        match params.method {
            Method::Telea => {
                cpu::telea::telea(&self.original_cpu, &self.hole_plan, params.telea.radius)
            }
            Method::PatchMatch => {
                match cpu::patchmatch::patchmatch(
                    &self.original_cpu,
                    &self.hole_plan,
                    &params.patchmatch,
                ) {
                    Ok(r) => Ok(r.image),
                    Err(e) => {
                        self.notice = Some(format!("{e}; filled with Telea instead"));
                        cpu::telea::telea(&self.original_cpu, &self.hole_plan, params.telea.radius)
                    }
                }
            }
        }
    }
}
