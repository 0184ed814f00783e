//! Explanations beyond the paper: where the model's evidence for a class lies, and how far such
//! a map can be trusted.
//!
//! - [`occlusion`]: erase windows by inpainting (not a grey patch, which is itself out of
//!   distribution), classify the variants in batches, map the drop in the class's log-odds.
//! - [`gradcam`]: Grad-CAM and HiResCAM at any convolutional layer, by burn's autodiff.
//! - Class activation maps as grids ([`cam_map`]), suggested masks ([`suggested_mask`]).
//! - [`curves`]: deletion and insertion curves, removal by inpainting (as in ROAD).
//! - [`colormap`]: diverging and sequential colour maps, overlays with a colour bar.

pub mod batches;
pub mod colormap;
pub mod curves;
pub mod evaluate;
pub mod glyphs;
pub mod gradcam;
pub mod occlusion;
pub mod plot;
pub mod variants;

use image::{GrayImage, RgbaImage};

pub use occlusion::{OcclusionRun, Score, Windows, occlusion_map};

use crate::classify::ClassifyPipeline;
use crate::cpu::compose::cam_sample;
use crate::gpu::readback::Readback;
use crate::gpu::{GpuContext, burn_buffer, texture};
use crate::{Error, Result, cam};

/// Refuses a class index outside ImageNet's 1000.
pub fn check_class(class: usize) -> Result<()> {
    if class >= crate::models::CLASSES {
        return Err(Error::Invalid(format!(
            "class {class} is not an ImageNet class (0..999)"
        )));
    }
    Ok(())
}

/// A map over the image: `grid` = (columns, rows) of `values`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Map {
    /// Columns and rows.
    pub grid: (u32, u32),
    /// One value per cell, row-major.
    pub values: Vec<f32>,
}

impl Map {
    /// Value of cell (x, y).
    pub fn at(&self, x: u32, y: u32) -> f32 {
        self.values[(y * self.grid.0 + x) as usize]
    }

    /// The cell with the largest value.
    pub fn argmax(&self) -> (u32, u32) {
        let i = (0..self.values.len())
            .max_by(|&a, &b| self.values[a].total_cmp(&self.values[b]))
            .unwrap_or(0) as u32;
        (i % self.grid.0, i / self.grid.0)
    }

    /// The map with its negative values set to zero (the evidence for a class, where the
    /// evidence against is not shown).
    pub fn positive(&self) -> Map {
        Map {
            grid: self.grid,
            values: self.values.iter().map(|v| v.max(0.0)).collect(),
        }
    }

    /// The largest |value| (0 for an empty map).
    pub fn max_abs(&self) -> f32 {
        self.values.iter().fold(0.0, |m, v| m.max(v.abs()))
    }

    /// The map rescaled to 0..1 (min to max).
    pub fn normalized(&self) -> Map {
        let lo = self.values.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = self
            .values
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        let span = (hi - lo).max(1e-12);
        Map {
            grid: self.grid,
            values: self.values.iter().map(|v| (v - lo) / span).collect(),
        }
    }

    /// Bilinear value at image pixel (x, y) of a `size` image (cells cover the image evenly).
    pub fn sample(&self, size: (u32, u32), x: u32, y: u32) -> f32 {
        let place = crate::models::receptive::Placement::even(self.grid, size);
        cam_sample(&self.values, self.grid, &place, x, y)
    }
}

/// Cell `(cx, cy)` of a `grid` over a `w` x `h` image as a pixel rectangle [x0, y0, x1, y1).
pub fn cell_rect((w, h): (u32, u32), grid: (u32, u32), (cx, cy): (u32, u32)) -> [u32; 4] {
    [
        cx * w / grid.0,
        cy * h / grid.1,
        (cx + 1) * w / grid.0,
        (cy + 1) * h / grid.1,
    ]
}

/// The class activation map of `class` on `img`, normalised to 0..1, as a grid (waits for it;
/// [`cam_map_on_worker`] does not).
pub fn cam_map(
    gpu: &GpuContext,
    pipeline: &ClassifyPipeline,
    img: &RgbaImage,
    class: usize,
) -> Result<Map> {
    check_class(class)?;
    let input = if pipeline.on_gpu {
        let tex = texture::upload_rgba(&gpu.device, &gpu.queue, img, "explain.image")?;
        pipeline.input_from_texture(gpu, &tex)?
    } else {
        pipeline.input_from_image(img)
    };
    PendingMap::start(gpu, cam_tensor(pipeline, input, class))?.wait(gpu)
}

/// [`cam_map`] computed on the background thread (with its own handles to the device), for a
/// window's frame: the frame neither records the forward pass (burn may wait for the GPU while
/// it records) nor waits for the map; a later frame takes it.
pub fn cam_map_on_worker(
    gpu: &GpuContext,
    pipeline: &std::sync::Arc<ClassifyPipeline>,
    img: std::sync::Arc<RgbaImage>,
    class: usize,
) -> Result<PendingMap> {
    let (gpu, pipeline) = (gpu.clone(), std::sync::Arc::clone(pipeline));
    PendingMap::on_worker(move || cam_map(&gpu, &pipeline, &img, class))
}

/// The normalised class activation map of `class` for `input`, left on the classifier's device.
pub fn cam_tensor(
    pipeline: &ClassifyPipeline,
    input: burn::tensor::Tensor<4>,
    class: usize,
) -> burn::tensor::Tensor<2> {
    let out = pipeline.forward(input);
    let map = pipeline.class_activation(&out.features, class);
    cam::normalize(vec![map], false).remove(0)
}

/// A map on its way: back from the GPU, or from the background thread.
pub struct PendingMap {
    source: MapSource,
}

enum MapSource {
    /// A readback of an `[h, w]` tensor (on the CPU path, its values already).
    Readback {
        grid: (u32, u32),
        /// Computed on the GPU (whose health then vouches for the values).
        on_gpu: bool,
        readback: Readback,
    },
    /// The background thread's map.
    Worker(crate::background::Task<Result<Map>>),
}

impl PendingMap {
    /// Starts reading the `[h, w]` map `tensor` back (on the CPU backend, reads it now).
    pub fn start(gpu: &GpuContext, tensor: burn::tensor::Tensor<2>) -> Result<Self> {
        let [h, w] = tensor.dims();
        Ok(Self {
            source: MapSource::Readback {
                grid: (w as u32, h as u32),
                on_gpu: burn_buffer::is_wgpu(&tensor),
                readback: Readback::start(gpu, &tensor)?,
            },
        })
    }

    /// The map `work` computes on the background thread.
    pub fn on_worker(work: impl FnOnce() -> Result<Map> + Send + 'static) -> Result<Self> {
        Ok(Self {
            source: MapSource::Worker(crate::background::spawn(move |_| work())?),
        })
    }

    /// The map if it is there (never waits).
    pub fn try_take(&self, gpu: &GpuContext) -> Option<Result<Map>> {
        match &self.source {
            MapSource::Readback { readback, .. } => {
                let values = readback.try_take(&gpu.device)?;
                Some(self.map(gpu, values))
            }
            MapSource::Worker(task) => Some(task.try_take()?.and_then(|map| map)),
        }
    }

    /// The map, waiting for the GPU or the worker.
    pub fn wait(&self, gpu: &GpuContext) -> Result<Map> {
        match &self.source {
            MapSource::Readback { readback, .. } => {
                let values = readback.wait(&gpu.device);
                self.map(gpu, values)
            }
            MapSource::Worker(task) => task.wait()?,
        }
    }

    fn map(&self, gpu: &GpuContext, values: Result<Vec<f32>>) -> Result<Map> {
        let MapSource::Readback { grid, on_gpu, .. } = &self.source else {
            return Err(map_stopped());
        };
        if *on_gpu {
            gpu.health.peek()?;
        }
        map_of(*grid, values?)
    }
}

/// A readback's map asked of a map that has none.
fn map_stopped() -> Error {
    Error::Invalid("the map has no readback".into())
}

/// `values` as a map over `grid` (checked to fit).
pub fn map_of((w, h): (u32, u32), values: Vec<f32>) -> Result<Map> {
    if values.len() != w as usize * h as usize {
        return Err(Error::Gpu(format!(
            "{} map values for a {w}x{h} grid",
            values.len()
        )));
    }
    Ok(Map {
        grid: (w, h),
        values,
    })
}

/// A suggested mask: the pixels where the (normalised) map is at least `threshold`.
pub fn suggested_mask(map: &Map, size: (u32, u32), threshold: f32) -> GrayImage {
    let norm = map.normalized();
    GrayImage::from_fn(size.0, size.1, |x, y| {
        image::Luma([u8::from(norm.sample(size, x, y) >= threshold) * 255])
    })
}

/// `img` with `map` overlaid at `opacity` (cells spread evenly over the image) in the colour map
/// `scale` calls for, with a colour bar underneath.
pub fn overlay(img: &RgbaImage, map: &Map, scale: colormap::Scale, opacity: f32) -> RgbaImage {
    let place = crate::models::receptive::Placement::even(map.grid, img.dimensions());
    colormap::overlay(img, map, &place, scale, opacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_tile_the_image() {
        let size = (100, 70);
        let mut covered = vec![0u8; 100 * 70];
        for cy in 0..7 {
            for cx in 0..7 {
                let [x0, y0, x1, y1] = cell_rect(size, (7, 7), (cx, cy));
                for y in y0..y1 {
                    for x in x0..x1 {
                        covered[(y * 100 + x) as usize] += 1;
                    }
                }
            }
        }
        assert!(covered.iter().all(|&c| c == 1));
    }

    #[test]
    fn suggested_mask_is_the_thresholded_map() {
        let map = Map {
            grid: (2, 1),
            values: vec![0.0, 10.0],
        };
        let mask = suggested_mask(&map, (4, 1), 0.5);
        let norm = map.normalized();
        for x in 0..4 {
            let want = norm.sample((4, 1), x, 0) >= 0.5;
            assert_eq!(mask.get_pixel(x, 0)[0] != 0, want);
        }
        assert_eq!(mask.get_pixel(0, 0)[0], 0);
        assert_eq!(mask.get_pixel(3, 0)[0], 255);
        assert_eq!(map.argmax(), (1, 0));
    }
}
