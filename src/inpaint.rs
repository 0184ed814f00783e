//! Inpainting behind one entry point: which method, and a blocking helper for whole images (the
//! CLI, tests and benches; the viewer's live job records the passes on its own thread instead).

use image::{GrayImage, RgbaImage};

use crate::gpu::{GpuContext, texture};
use crate::passes::patchmatch::plan_levels;
use crate::passes::{
    HoleBounds, PatchMatchCache, PatchMatchParams, PatchMatchPass, TeleaParams, TeleaPass,
};
use crate::{Result, cpu};

/// How to fill the erased region.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Method {
    /// Telea 2004: fast marching from the hole's edge, weighted average of nearby known pixels.
    #[default]
    #[value(name = "telea")]
    #[serde(rename = "telea")]
    Telea,
    /// PatchMatch (Barnes 2009) in Wexler's EM scheme: copies texture from elsewhere in the photo.
    #[value(name = "patchmatch")]
    #[serde(rename = "patchmatch")]
    PatchMatch,
}

impl Method {
    /// Both methods, in menu order.
    pub const ALL: [Method; 2] = [Method::Telea, Method::PatchMatch];

    /// The name people know it by.
    pub fn display_name(self) -> &'static str {
        match self {
            Method::Telea => "Telea",
            Method::PatchMatch => "PatchMatch",
        }
    }
}

/// Settings of both methods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct InpaintParams {
    /// Which method.
    pub method: Method,
    /// Telea's settings.
    pub telea: TeleaParams,
    /// PatchMatch's settings.
    pub patchmatch: PatchMatchParams,
}

/// The GPU inpainting passes, built once (a clone shares them: another thread — the live lane,
/// the tools' — records with its own handle).
#[derive(Clone)]
pub struct Inpainter {
    telea: TeleaPass,
    patchmatch: PatchMatchPass,
}

impl Inpainter {
    /// Builds the pipelines.
    pub fn new(device: &wgpu::Device) -> Result<Self> {
        Ok(Self {
            telea: TeleaPass::new(device)?,
            patchmatch: PatchMatchPass::new(device)?,
        })
    }

    /// The Telea pass, for callers that record into their own encoder.
    pub fn telea(&self) -> &TeleaPass {
        &self.telea
    }

    /// The PatchMatch pass, for callers that record into their own encoder.
    pub fn patchmatch(&self) -> &PatchMatchPass {
        &self.patchmatch
    }

    /// Records a fill of `mask` (bounded by `hole`, rasterised on the CPU as `plan`) from `image`
    /// into `output`. PatchMatch warm-starts from `cache` when `warm` is set and the cache holds a
    /// fill of this image.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        image: &wgpu::Texture,
        mask: &wgpu::Texture,
        output: &wgpu::Texture,
        plan: &GrayImage,
        hole: &HoleBounds,
        params: &InpaintParams,
        cache: &mut PatchMatchCache,
        warm: bool,
    ) -> Result<()> {
        match params.method {
            Method::Telea => {
                self.telea
                    .encode(device, encoder, image, mask, output, hole, &params.telea)
            }
            Method::PatchMatch => {
                let levels = plan_levels(plan, hole.depth, &params.patchmatch)?;
                self.patchmatch.encode(
                    device,
                    encoder,
                    image,
                    mask,
                    output,
                    levels,
                    &params.patchmatch,
                    cache,
                    warm,
                )
            }
        }
    }

    /// Fills the non-zero pixels of `mask` in `img` on the GPU and reads the result back.
    pub fn inpaint_image(
        &self,
        gpu: &GpuContext,
        img: &RgbaImage,
        mask: &GrayImage,
        params: &InpaintParams,
    ) -> Result<RgbaImage> {
        self.inpaint_image_with(gpu, img, mask, params, &mut PatchMatchCache::default())
    }

    /// [`Self::inpaint_image`] keeping PatchMatch's buffers in `cache` (to read its NNF after).
    pub fn inpaint_image_with(
        &self,
        gpu: &GpuContext,
        img: &RgbaImage,
        mask: &GrayImage,
        params: &InpaintParams,
        cache: &mut PatchMatchCache,
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
        self.encode(
            &gpu.device,
            &mut encoder,
            &image,
            &mask_tex,
            &image,
            mask,
            &hole,
            params,
            cache,
            false,
        )?;
        gpu.queue.submit([encoder.finish()]);
        let out = texture::read_rgba(&gpu.device, &gpu.queue, &image)?;
        gpu.health.check()?;
        Ok(out)
    }
}
