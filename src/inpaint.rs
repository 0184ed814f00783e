//! Inpainting behind one entry point: which method, and a blocking helper for whole images (the
//! CLI, tests and benches; the viewer records the passes into its own frame instead).

use image::{GrayImage, RgbaImage};

use crate::gpu::{GpuContext, texture};
use crate::passes::{HoleBounds, TeleaParams, TeleaPass};
use crate::{Result, cpu};

/// How to fill the erased region.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Method {
    /// Telea 2004: fast marching from the hole's edge, weighted average of nearby known pixels.
    #[default]
    #[value(name = "telea")]
    #[serde(rename = "telea")]
    Telea,
}

/// The GPU inpainting passes, built once.
pub struct Inpainter {
    telea: TeleaPass,
}

impl Inpainter {
    /// Builds the pipelines.
    pub fn new(device: &wgpu::Device) -> Result<Self> {
        Ok(Self {
            telea: TeleaPass::new(device)?,
        })
    }

    /// The Telea pass, for callers that record into their own encoder.
    pub fn telea(&self) -> &TeleaPass {
        &self.telea
    }

    /// Fills the non-zero pixels of `mask` in `img` on the GPU and reads the result back.
    pub fn inpaint_image(
        &self,
        gpu: &GpuContext,
        img: &RgbaImage,
        mask: &GrayImage,
        params: &TeleaParams,
    ) -> Result<RgbaImage> {
        if !cpu::telea::validate_mask(img.dimensions(), mask)? {
            return Ok(img.clone());
        }
        let Some(hole) = HoleBounds::from_mask(mask) else {
            return Ok(img.clone());
        };
        let image = texture::upload_rgba(&gpu.device, &gpu.queue, img, "inpaint.image")?;
        let mask_tex = texture::upload_mask(&gpu.device, &gpu.queue, mask, "inpaint.mask");
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("inpaint.encoder"),
            });
        self.telea.encode(
            &gpu.device,
            &mut encoder,
            &image,
            &mask_tex,
            &image,
            &hole,
            params,
        )?;
        gpu.queue.submit([encoder.finish()]);
        let out = texture::read_rgba(&gpu.device, &gpu.queue, &image)?;
        gpu.health.check()?;
        Ok(out)
    }
}
