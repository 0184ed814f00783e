//! Paints a finished egui frame into a texture view: texture uploads, tessellation, buffers and
//! one render pass. The window and the offscreen figure (`figure.rs`) draw through this one path.

use super::GpuContext;

/// One egui frame to paint.
pub struct EguiFrame<'a> {
    /// The frame's shapes.
    pub shapes: Vec<egui::epaint::ClippedShape>,
    /// Texture uploads (all of them, in order: a first layout pass's included).
    pub textures: Vec<&'a egui::TexturesDelta>,
    /// Points to pixels.
    pub pixels_per_point: f32,
}

/// Paints `frame` into `target` (`size` pixels), cleared to `clear` first, and submits. Textures
/// the frame frees are freed afterwards.
#[allow(clippy::too_many_arguments)]
pub fn paint(
    gpu: &GpuContext,
    renderer: &mut egui_wgpu::Renderer,
    ctx: &egui::Context,
    frame: EguiFrame<'_>,
    target: &wgpu::TextureView,
    size: [u32; 2],
    clear: wgpu::Color,
    label: &str,
) {
    let primitives = ctx.tessellate(frame.shapes, frame.pixels_per_point);
    for delta in &frame.textures {
        for (id, images) in &delta.set {
            for image in images {
                renderer.update_texture(&gpu.device, &gpu.queue, *id, image);
            }
        }
    }
    let screen = egui_wgpu::ScreenDescriptor {
        size_in_pixels: size,
        pixels_per_point: frame.pixels_per_point,
    };
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
    let extra =
        renderer.update_buffers(&gpu.device, &gpu.queue, &mut encoder, &primitives, &screen);
    {
        let pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some(label),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(clear),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        renderer.render(&mut pass.forget_lifetime(), &primitives, &screen);
    }
    gpu.queue
        .submit(extra.into_iter().chain([encoder.finish()]));
    for delta in &frame.textures {
        for id in &delta.free {
            renderer.free_texture(id);
        }
    }
}
