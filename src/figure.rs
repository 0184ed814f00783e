//! A figure like the 2018 paper's: original and modified side by side, each above its top-5
//! table (the modified one with the change in percentage points). Drawn with egui into an
//! offscreen texture on the shared device — no window needed — and read back as an image.

use egui::{Color32, RichText};
use image::RgbaImage;

use crate::gpu::{GpuContext, texture};
use crate::session::Row;
use crate::{Error, Result};

/// Width of each image in the figure, in pixels.
const IMAGE_WIDTH: f32 = 360.0;

/// Renders the figure: `title` on top, the two images, their tables below.
pub fn render(
    gpu: &GpuContext,
    title: &str,
    original: &RgbaImage,
    modified: &RgbaImage,
    original_rows: &[Row],
    modified_rows: &[Row],
) -> Result<RgbaImage> {
    let image_h = IMAGE_WIDTH * original.height() as f32 / original.width().max(1) as f32;
    let (w, h) = ((IMAGE_WIDTH * 2.0 + 60.0) as u32, (image_h + 180.0) as u32);
    let format = texture::IMAGE_FORMAT;
    let target = texture::create_2d(
        &gpu.device,
        (w, h),
        format,
        wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        "figure.target",
    );
    let mut renderer =
        egui_wgpu::Renderer::new(&gpu.device, format, egui_wgpu::RendererOptions::default());
    let register = |r: &mut egui_wgpu::Renderer, img: &RgbaImage| -> Result<egui::TextureId> {
        let t = texture::upload_rgba(&gpu.device, &gpu.queue, img, "figure.image")?;
        Ok(r.register_native_texture(
            &gpu.device,
            &t.create_view(&Default::default()),
            wgpu::FilterMode::Linear,
        ))
    };
    let ids = [
        register(&mut renderer, original)?,
        register(&mut renderer, modified)?,
    ];

    let ctx = egui::Context::default();
    ctx.set_visuals(egui::Visuals::light());
    let raw = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(w as f32, h as f32),
        )),
        ..Default::default()
    };
    let pass = |ctx: &egui::Context| {
        ctx.run_ui(raw.clone(), |ui| {
            egui::CentralPanel::default().show(ui, |ui| {
                ui.label(RichText::new(title).strong().size(16.0));
                ui.columns(2, |cols| {
                    for (k, col) in cols.iter_mut().enumerate() {
                        col.label(
                            RichText::new(if k == 0 { "Original" } else { "Modified" }).strong(),
                        );
                        col.image((ids[k], egui::vec2(IMAGE_WIDTH, image_h)));
                        let rows = if k == 0 { original_rows } else { modified_rows };
                        egui::Grid::new(k)
                            .striped(true)
                            .num_columns(3)
                            .show(col, |ui| {
                                for row in rows {
                                    ui.label(crate::models::labels::short_label(&row.label));
                                    ui.label(format!("{:.2}%", row.probability * 100.0));
                                    if k == 1 {
                                        let before = original_rows
                                            .iter()
                                            .find(|r| r.index == row.index)
                                            .map(|r| r.probability);
                                        if let Some(b) = before {
                                            let d = (row.probability - b) * 100.0;
                                            let color = if d >= 0.0 {
                                                Color32::from_rgb(30, 140, 50)
                                            } else {
                                                Color32::from_rgb(200, 40, 40)
                                            };
                                            ui.colored_label(
                                                color,
                                                format!(
                                                    "{}{:.2} pp",
                                                    if d >= 0.0 { "+" } else { "-" },
                                                    d.abs()
                                                ),
                                            );
                                        } else {
                                            ui.label("new");
                                        }
                                    }
                                    ui.end_row();
                                }
                            });
                    }
                });
            });
        })
    };
    // The first pass lays out (and creates the font atlas); the second draws with the layout
    // settled. Both passes' texture uploads are needed.
    let first = pass(&ctx);
    let output = pass(&ctx);
    let view = target.create_view(&Default::default());
    crate::gpu::egui_paint::paint(
        gpu,
        &mut renderer,
        &ctx,
        crate::gpu::egui_paint::EguiFrame {
            shapes: output.shapes,
            textures: vec![&first.textures_delta, &output.textures_delta],
            pixels_per_point: output.pixels_per_point,
        },
        &view,
        [w, h],
        wgpu::Color::WHITE,
        "figure.pass",
    );
    let img = texture::read_rgba(&gpu.device, &gpu.queue, &target)?;
    gpu.health.check()?;
    if img.width() != w {
        return Err(Error::Gpu("figure readback has the wrong size".into()));
    }
    Ok(img)
}
