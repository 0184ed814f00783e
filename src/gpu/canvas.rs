//! The window's picture kept between frames: each frame repaints only the pixels that changed
//! (`damage.rs`) into a canvas texture, then copies the whole canvas into the surface's frame
//! (a swapchain image's old contents are undefined, the canvas's are the last frame's).

use super::GpuContext;
use super::damage::{Damage, DamageTracker, ShapeSummary, TextureChange, redraw_list};
use super::egui_paint::{EguiFrame, free_textures, render, upload_textures};

/// The canvas texture and what it shows.
pub struct WindowCanvas {
    format: wgpu::TextureFormat,
    target: Option<(wgpu::Texture, wgpu::TextureView)>,
    tracker: DamageTracker,
}

impl WindowCanvas {
    /// A canvas for frames of `format` (the surface's); its texture is made on the first paint.
    pub fn new(format: wgpu::TextureFormat) -> Self {
        Self {
            format,
            target: None,
            tracker: DamageTracker::default(),
        }
    }

    /// The next frame repaints everything (e.g. a texture it shows was replaced).
    pub fn invalidate(&mut self) {
        self.tracker.invalidate();
    }

    /// Paints `frame` into the canvas — only where it differs from the last painted frame, given
    /// the texture contents that changed meanwhile (`changes`) — then copies the canvas into
    /// `out` (the surface's frame: same format, `COPY_DST`) and submits. Returns what was
    /// repainted.
    #[allow(clippy::too_many_arguments)]
    pub fn paint(
        &mut self,
        gpu: &GpuContext,
        renderer: &mut egui_wgpu::Renderer,
        ctx: &egui::Context,
        frame: EguiFrame<'_>,
        changes: &[TextureChange],
        out: &wgpu::Texture,
        background: egui::Color32,
        label: &str,
    ) -> Damage {
        let size = [out.width(), out.height()];
        let ppp = frame.pixels_per_point;
        if self
            .target
            .as_ref()
            .is_none_or(|(t, _)| [t.width(), t.height()] != size)
        {
            let texture = super::texture::create_2d(
                &gpu.device,
                (size[0], size[1]),
                self.format,
                wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
                "window.canvas",
            );
            let view = texture.create_view(&Default::default());
            self.target = Some((texture, view));
            self.tracker.invalidate();
        }
        let Some((texture, view)) = &self.target else {
            return Damage::Whole;
        };
        let summary = ShapeSummary::of(&frame.shapes, ppp, size);
        let primitives = ctx.tessellate(frame.shapes, ppp);
        // An egui texture set whole (a new or regrown font atlas) may change pixels under
        // unchanged shapes. A patch (`pos` set) is taken as new glyphs in the font atlas's free
        // space, texels no earlier shape samples: the viewer patches no egui-managed image of
        // its own (its pictures are native textures, reported in `changes`).
        let egui_textures_changed = frame.textures.iter().any(|d| {
            d.set
                .iter()
                .any(|(_, images)| images.iter().any(|i| i.pos.is_none()))
        });
        upload_textures(gpu, renderer, &frame.textures);
        let damage = self.tracker.damage(
            summary,
            &primitives,
            ppp,
            size,
            changes,
            egui_textures_changed,
        );
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
        let extra = match &damage {
            Damage::Whole => render(
                gpu,
                renderer,
                &mut encoder,
                &primitives,
                view,
                (size, ppp),
                wgpu::LoadOp::Clear(clear_color(background, self.format)),
                label,
            ),
            Damage::Rects(rects) if rects.is_empty() => Vec::new(),
            Damage::Rects(rects) => {
                let list = redraw_list(&primitives, rects, ppp, size, background);
                render(
                    gpu,
                    renderer,
                    &mut encoder,
                    &list,
                    view,
                    (size, ppp),
                    wgpu::LoadOp::Load,
                    label,
                )
            }
        };
        encoder.copy_texture_to_texture(
            texture.as_image_copy(),
            out.as_image_copy(),
            super::texture::extent(size[0], size[1]),
        );
        gpu.queue
            .submit(extra.into_iter().chain([encoder.finish()]));
        free_textures(renderer, &frame.textures);
        damage
    }
}

/// `c` as a clear colour of a `format` target, equal to what egui's shader writes for a
/// primitive of colour `c` (it writes gamma values to a non-sRGB target, linear to an sRGB one).
pub fn clear_color(c: egui::Color32, format: wgpu::TextureFormat) -> wgpu::Color {
    let [r, g, b, a] = if format.is_srgb() {
        egui::Rgba::from(c).to_array()
    } else {
        c.to_array().map(|v| f32::from(v) / 255.0)
    };
    wgpu::Color {
        r: f64::from(r),
        g: f64::from(g),
        b: f64::from(b),
        a: f64::from(a),
    }
}
