//! The edit's pictures: class activation maps (or an occlusion map) and the composed images the
//! viewer shows.

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use super::{CamKey, CamMethod, ComposeKey, Editor, ViewSettings};
use crate::cpu::compose::ComposeSettings;
use crate::engine::Engine;
use crate::explain::gradcam;
use crate::gpu::burn_buffer::with_tensor_buffer;
use crate::models::receptive::Placement;
use crate::passes::compose::{CamOverlay, ComposeTarget, OverlaySource};
use crate::{Error, Result, cam};

impl Editor {
    /// Brings the CAMs up to the answered state and the chosen class, method and layer (`wait`:
    /// block for maps computed on a worker, as `settle` does).
    pub(super) fn update_cams(
        &mut self,
        engine: &Engine,
        settings: &ViewSettings,
        wait: bool,
    ) -> Result<()> {
        let Some(class) = settings.cam_class else {
            self.cams = None;
            return Ok(());
        };
        // Another model's CAM is never shown: it goes as soon as the model changes.
        if self
            .cams
            .as_ref()
            .is_some_and(|(k, _, _)| k.model != settings.model)
        {
            self.cams = None;
        }
        let (Some(orig), Some(modi)) = (&self.original_scores, &self.modified_scores) else {
            return Ok(());
        };
        if orig.model != settings.model || modi.model != settings.model {
            return Ok(());
        }
        let layer_name = settings.layer_name();
        let last = layer_name == gradcam::last_layer(settings.model);
        let (layer, even) = match settings.cam_method {
            CamMethod::Cam => (None, false),
            CamMethod::Gradient(_) => (
                gradcam::layers(settings.model)
                    .iter()
                    .position(|l| l == layer_name),
                !last,
            ),
        };
        let key = CamKey {
            class,
            method: settings.cam_method,
            layer,
            even,
            common: settings.cam_common_scale,
            answered: self.answered_key(),
            canonical: self.schedule.modified.is_some_and(|(_, c)| c),
            model: settings.model,
        };
        if self.cams.as_ref().is_some_and(|(k, _, _)| *k == key) {
            return Ok(());
        }
        let Some(pipeline) = engine.loaded(settings.model) else {
            return Ok(());
        };
        let maps = match settings.cam_method {
            CamMethod::Cam => vec![
                pipeline.class_activation(&orig.features, class),
                pipeline.class_activation(&modi.features, class),
            ],
            CamMethod::Gradient(method) => {
                // The modified texture must hold the image the table answers: wait for the
                // settled state (the previous maps stay, keyed to the previous answer).
                if !self.is_current(settings) {
                    return Ok(());
                }
                if !pipeline.on_gpu {
                    // On the CPU a backward pass takes a frame or more: it runs on a worker
                    // thread, and the maps land in a later frame (keyed, so a changed state
                    // drops them).
                    return self.gradient_maps_on_worker(engine, settings, key, wait);
                }
                let gpu = &engine.gpu;
                let map = |image: &wgpu::Texture| -> Result<Tensor<2>> {
                    let input = pipeline.input_from_texture(gpu, image)?;
                    gradcam::gradient_tensor(pipeline, input, class, layer_name, method).map(relu)
                };
                vec![map(&self.original)?, map(&self.modified)?]
            }
        };
        let mut normed = cam::normalize(maps, settings.cam_common_scale).into_iter();
        let (a, b) = (normed.next(), normed.next());
        if let (Some(a), Some(b)) = (a, b) {
            self.cams = Some((key, a, b));
        }
        Ok(())
    }

    /// The gradient maps of `key` on the CPU path: started on a worker thread for the original
    /// and the image the table answers, picked up when they are done (`wait`: block for them, as
    /// `settle` does; otherwise a later frame picks them up).
    fn gradient_maps_on_worker(
        &mut self,
        engine: &Engine,
        settings: &ViewSettings,
        key: CamKey,
        wait: bool,
    ) -> Result<()> {
        if self.cam_failed == Some(key) {
            return Ok(());
        }
        // Another state's maps are dropped (the worker is not waited for).
        if self.cam_job.as_ref().is_none_or(|(k, _)| *k != key) {
            let CamMethod::Gradient(method) = settings.cam_method else {
                return Ok(());
            };
            let pipeline = engine.require_shared(settings.model)?;
            let images = [
                std::sync::Arc::clone(&self.original_cpu),
                self.filled_cpu
                    .clone()
                    .unwrap_or_else(|| std::sync::Arc::clone(&self.original_cpu)),
            ];
            let (class, layer) = (key.class, settings.layer_name());
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let maps = images
                    .iter()
                    .map(|img| {
                        let input = pipeline.input_from_image(img);
                        gradcam::gradient_tensor(&pipeline, input, class, layer, method).map(relu)
                    })
                    .collect::<Result<Vec<_>>>();
                let _ = tx.send(maps);
            });
            self.cam_job = Some((key, rx));
        }
        let Some((_, rx)) = &self.cam_job else {
            return Ok(());
        };
        let stopped = || Error::Invalid("the gradient map job stopped".into());
        let maps = if wait {
            rx.recv().map_err(|_| stopped())
        } else {
            match rx.try_recv() {
                Ok(maps) => Ok(maps),
                Err(std::sync::mpsc::TryRecvError::Empty) => return Ok(()),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => Err(stopped()),
            }
        };
        self.cam_job = None;
        // A failure is reported once and not retried every frame.
        let maps = match maps.and_then(|m| m) {
            Ok(maps) => maps,
            Err(e) => {
                self.cam_failed = Some(key);
                return Err(e);
            }
        };
        let mut normed = cam::normalize(maps, settings.cam_common_scale).into_iter();
        if let (Some(a), Some(b)) = (normed.next(), normed.next()) {
            self.cams = Some((key, a, b));
        }
        Ok(())
    }

    pub(super) fn compose(&mut self, engine: &Engine, settings: &ViewSettings) -> Result<()> {
        let split = (settings.split.clamp(0.0, 1.0) * self.size.0 as f32).round() as u32;
        let key = ComposeKey {
            mask_version: self.mask_version,
            jobs_landed: self.jobs_landed,
            cam: self.cams.as_ref().map(|c| c.0),
            overlay_version: self.overlay_version,
            split,
            mask_alpha: settings.mask_alpha,
            cam_opacity: settings.cam_opacity,
        };
        if self.composed == Some(key) {
            return Ok(());
        }
        // Only the mask or the modified image changed (a stroke being painted, a fill from the
        // CPU landing): redraw where they changed. A fill the live lane has submitted since the
        // last composition rewrote all of the modified image: redraw it whole, so no picture
        // shows parts of two fills.
        if self
            .lane_wrote
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            self.mask_change = super::Region::Whole;
        }
        let changed = self.mask_change.union(self.modified_change);
        let rect = self
            .composed
            .filter(|k| {
                ComposeKey {
                    mask_version: key.mask_version,
                    jobs_landed: key.jobs_landed,
                    ..*k
                } == key
            })
            .and(match changed {
                super::Region::Rect(r) => Some(r),
                _ => None,
            });
        self.mask_change = super::Region::None;
        self.modified_change = super::Region::None;
        let original_too = self.composed.is_none_or(|k| {
            k.cam != key.cam
                || k.cam_opacity != key.cam_opacity
                || k.overlay_version != key.overlay_version
        });
        self.composed = Some(key);
        self.picture_version += 1;
        let damage = &mut self.picture_damage;
        damage.display = damage
            .display
            .union(rect.map_or(super::Region::Whole, super::Region::Rect));
        if original_too {
            damage.original = super::Region::Whole;
        }
        let cams = self.cams.as_ref();
        self.draw(
            engine,
            &self.compose_display,
            split,
            settings,
            settings.mask_alpha,
            cams.map(|c| &c.2),
            None,
            rect,
        )?;
        if original_too {
            let map = self.original_overlay.as_ref();
            let tensor = if map.is_some() {
                None
            } else {
                cams.map(|c| &c.1)
            };
            self.draw(
                engine,
                &self.compose_original,
                self.size.0,
                settings,
                0.0,
                tensor,
                map,
                None,
            )?;
        }
        Ok(())
    }

    /// Composes one picture into `target`'s output, overlaying a CAM tensor or a map (if any).
    #[allow(clippy::too_many_arguments)]
    fn draw(
        &self,
        engine: &Engine,
        target: &ComposeTarget,
        split: u32,
        settings: &ViewSettings,
        mask_alpha: f32,
        cam: Option<&Tensor<2>>,
        map: Option<&crate::explain::Map>,
        rect: Option<[u32; 4]>,
    ) -> Result<()> {
        let device = &engine.gpu.device;
        let s = ComposeSettings {
            split,
            mask_alpha,
            cam_opacity: settings.cam_opacity,
        };
        let submit = |overlay: Option<CamOverlay<'_>>| {
            let mut encoder = device.create_command_encoder(&Default::default());
            let queue = &engine.gpu.queue;
            engine
                .compose
                .encode(device, queue, &mut encoder, target, overlay, &s, rect);
            queue.submit([encoder.finish()]);
        };
        // A CAM's cells sit at the model's receptive-field centres; a map's, and an earlier
        // layer's gradient map's, cover the image evenly.
        let even = self.cams.as_ref().is_some_and(|(k, _, _)| k.even);
        let receptive = |grid: (u32, u32)| match engine.loaded(settings.model) {
            Some(p) if !even => Placement::receptive(settings.model, p.spec.size, self.size),
            _ => Placement::even(grid, self.size),
        };
        // A map from the CPU (CPU backend CAM, occlusion map): a few hundred values, written
        // into the target's own overlay buffer.
        let upload = |values: &[f32], size: (u32, u32), placement: Placement, signed: bool| {
            submit(Some(CamOverlay {
                source: OverlaySource::Cpu(values),
                size,
                placement,
                signed,
            }));
        };
        match (cam, map) {
            // An occlusion map is signed (a drop in log-odds): −1..1 on its largest |value|.
            (_, Some(m)) => {
                let scale = m.max_abs().max(1e-12);
                let values: Vec<f32> = m.values.iter().map(|v| v / scale).collect();
                upload(&values, m.grid, Placement::even(m.grid, self.size), true);
            }
            (Some(t), None) if crate::gpu::burn_buffer::is_wgpu(t) => {
                let [h, w] = t.dims();
                let size = (w as u32, h as u32);
                with_tensor_buffer(t, |binding| {
                    submit(Some(CamOverlay {
                        source: OverlaySource::Gpu(&binding),
                        size,
                        placement: receptive(size),
                        signed: false,
                    }))
                })?;
            }
            (Some(t), None) => {
                let [h, w] = t.dims();
                let values = t
                    .clone()
                    .try_into_data()
                    .map_err(|e| Error::Gpu(format!("reading the CAM: {e:?}")))?
                    .try_into_vec::<f32>()
                    .map_err(|e| Error::Gpu(format!("CAM has an unexpected type: {e:?}")))?;
                let size = (w as u32, h as u32);
                upload(&values, size, receptive(size), false);
            }
            (None, None) => submit(None),
        }
        Ok(())
    }

    /// Shows `map` (an occlusion map) over the original picture instead of its CAM; `None` goes
    /// back to the CAM.
    pub fn set_original_overlay(&mut self, map: Option<crate::explain::Map>) {
        self.original_overlay = map;
        self.overlay_version += 1;
    }
}
