//! Paints a finished egui frame into a texture view: texture uploads, tessellation, buffers and
//! one render pass. The window (through `canvas.rs`) and the offscreen figure (`figure.rs`) draw
//! through this one path.

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
    upload_textures(gpu, renderer, &frame.textures);
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
    let extra = render(
        gpu,
        renderer,
        &mut encoder,
        &primitives,
        target,
        (size, frame.pixels_per_point),
        wgpu::LoadOp::Clear(clear),
        label,
    );
    gpu.queue
        .submit(extra.into_iter().chain([encoder.finish()]));
    free_textures(renderer, &frame.textures);
}

/// Uploads the textures `deltas` set (before the primitives that use them are drawn).
pub fn upload_textures(
    gpu: &GpuContext,
    renderer: &mut egui_wgpu::Renderer,
    deltas: &[&egui::TexturesDelta],
) {
    for delta in deltas {
        for (id, images) in &delta.set {
            for image in images {
                renderer.update_texture(&gpu.device, &gpu.queue, *id, image);
            }
        }
    }
}

/// Frees the textures `deltas` free (after the frame that last used them is submitted).
pub fn free_textures(renderer: &mut egui_wgpu::Renderer, deltas: &[&egui::TexturesDelta]) {
    for delta in deltas {
        for id in &delta.free {
            renderer.free_texture(id);
        }
    }
}

/// Records one render pass drawing `primitives` into `target` (`size` pixels at
/// `pixels_per_point`) after `load`; returns the command buffers egui's callbacks made, which
/// must be submitted before `encoder`.
#[allow(clippy::too_many_arguments)]
pub fn render(
    gpu: &GpuContext,
    renderer: &mut egui_wgpu::Renderer,
    encoder: &mut wgpu::CommandEncoder,
    primitives: &[egui::ClippedPrimitive],
    target: &wgpu::TextureView,
    (size, pixels_per_point): ([u32; 2], f32),
    load: wgpu::LoadOp<wgpu::Color>,
    label: &str,
) -> Vec<wgpu::CommandBuffer> {
    let screen = egui_wgpu::ScreenDescriptor {
        size_in_pixels: size,
        pixels_per_point,
    };
    let extra = renderer.update_buffers(&gpu.device, &gpu.queue, encoder, primitives, &screen);
    let pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some(label),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view: target,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load,
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    });
    renderer.render(&mut pass.forget_lifetime(), primitives, &screen);
    extra
}
