//! The window canvas repaints only what changed between frames, and its pixels equal a whole
//! repaint of the same frame: a label that changes, a shape that moves over an image, and a
//! rectangle of the image's texels rewritten under an unchanged quad.

use image::RgbaImage;
use unsee::gpu::canvas::{WindowCanvas, clear_color};
use unsee::gpu::damage::{Damage, TextureChange};
use unsee::gpu::egui_paint::{self, EguiFrame};
use unsee::gpu::texture::{self, IMAGE_FORMAT, read_rgba};

use crate::common;

const SIZE: [u32; 2] = [480, 320];
const BACKGROUND: egui::Color32 = egui::Color32::from_rgb(20, 20, 23);
/// Texels of the image rewritten before frame 2.
const REWRITTEN: [u32; 4] = [8, 8, 24, 20];

fn target(gpu: &unsee::gpu::GpuContext) -> wgpu::Texture {
    gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("test.canvas.out"),
        size: texture::extent(SIZE[0], SIZE[1]),
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: IMAGE_FORMAT,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT
            | wgpu::TextureUsages::COPY_SRC
            | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    })
}

/// Frame `n` of a small viewer-like window: a side panel whose first label counts frames, and
/// an image with a red square moving over it.
fn frame(ctx: &egui::Context, ppp: f32, n: u32, image: egui::TextureId) -> egui::FullOutput {
    let raw = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(SIZE[0] as f32 / ppp, SIZE[1] as f32 / ppp),
        )),
        viewports: std::iter::once((
            egui::ViewportId::ROOT,
            egui::ViewportInfo {
                native_pixels_per_point: Some(ppp),
                ..Default::default()
            },
        ))
        .collect(),
        ..Default::default()
    };
    ctx.run_ui(raw, |ui| {
        egui::Panel::left("panel").show(ui, |ui| {
            ui.label(format!("frame {n}"));
            // Every digit from the start: no glyph is added to the atlas later.
            ui.label("0123456789");
            let _ = ui.button("a button");
        });
        egui::CentralPanel::default()
            .frame(egui::Frame::NONE)
            .show(ui, |ui| {
                let r = ui.image((image, egui::vec2(128.0, 96.0))).rect;
                let at = r.min + egui::vec2(10.0 + 30.0 * n as f32, 20.0);
                ui.painter().rect_filled(
                    egui::Rect::from_min_size(at, egui::vec2(16.0, 16.0)),
                    2.0,
                    egui::Color32::from_rgba_premultiplied(200, 0, 0, 200),
                );
            });
    })
}

#[test]
fn a_partial_repaint_equals_a_whole_one() {
    let Some(gpu) = common::gpu() else { return };
    for ppp in [1.0, 1.5] {
        let pixels = RgbaImage::from_fn(64, 48, |x, y| {
            image::Rgba([(x * 4) as u8, (y * 5) as u8, 120, 255])
        });
        let image = texture::upload_rgba(&gpu.device, &gpu.queue, &pixels, "test.image").unwrap();
        let view = image.create_view(&Default::default());
        // One renderer paints through the canvas, the other whole frames.
        let renderer = || {
            let mut r = egui_wgpu::Renderer::new(
                &gpu.device,
                IMAGE_FORMAT,
                egui_wgpu::RendererOptions::default(),
            );
            let id = r.register_native_texture(&gpu.device, &view, wgpu::FilterMode::Linear);
            (r, id)
        };
        let (mut partial, id) = renderer();
        let (mut whole, id_whole) = renderer();
        assert_eq!(id, id_whole);
        let ctx = egui::Context::default();
        let mut canvas = WindowCanvas::new(IMAGE_FORMAT);
        let (out, reference) = (target(gpu), target(gpu));
        let reference_view = reference.create_view(&Default::default());
        // The first layout pass creates the font atlas, and the first tessellation adds the
        // tessellator's discs to it (uploaded with the next frame): both renderers need both.
        let first = frame(&ctx, ppp, 0, id);
        let _ = ctx.tessellate(first.shapes.clone(), first.pixels_per_point);
        for n in 0..3 {
            let mut changes = Vec::new();
            if n == 2 {
                let [x0, y0, x1, y1] = REWRITTEN;
                let patch = vec![255u8; (4 * (x1 - x0) * (y1 - y0)) as usize];
                gpu.queue.write_texture(
                    wgpu::TexelCopyTextureInfo {
                        origin: wgpu::Origin3d { x: x0, y: y0, z: 0 },
                        ..image.as_image_copy()
                    },
                    &patch,
                    wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(4 * (x1 - x0)),
                        rows_per_image: None,
                    },
                    texture::extent(x1 - x0, y1 - y0),
                );
                changes.push(TextureChange {
                    id,
                    size: (64, 48),
                    rect: Some(REWRITTEN),
                });
            }
            let output = frame(&ctx, ppp, n, id);
            let mut deltas = vec![&output.textures_delta];
            if n == 0 {
                deltas.insert(0, &first.textures_delta);
            }
            let damage = canvas.paint(
                gpu,
                &mut partial,
                &ctx,
                EguiFrame {
                    shapes: output.shapes.clone(),
                    textures: deltas.clone(),
                    pixels_per_point: output.pixels_per_point,
                },
                &changes,
                &out,
                BACKGROUND,
                "test.partial",
            );
            egui_paint::paint(
                gpu,
                &mut whole,
                &ctx,
                EguiFrame {
                    shapes: output.shapes,
                    textures: deltas,
                    pixels_per_point: output.pixels_per_point,
                },
                &reference_view,
                SIZE,
                clear_color(BACKGROUND, IMAGE_FORMAT),
                "test.whole",
            );
            if n == 0 {
                assert_eq!(damage, Damage::Whole, "the first frame is painted whole");
            } else {
                let area = damage.area(SIZE);
                assert!(
                    matches!(&damage, Damage::Rects(r) if !r.is_empty()),
                    "ppp {ppp}, frame {n}: {damage:?}"
                );
                assert!(
                    area * 4 < u64::from(SIZE[0] * SIZE[1]),
                    "ppp {ppp}, frame {n}: {area} pixels repainted"
                );
            }
            let got = read_rgba(&gpu.device, &gpu.queue, &out).unwrap();
            let want = read_rgba(&gpu.device, &gpu.queue, &reference).unwrap();
            let differ = got
                .pixels()
                .zip(want.pixels())
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(differ, 0, "ppp {ppp}, frame {n}: pixels differ");
        }
    }
}
