//! The compose pass against its CPU reference with an overlay: a CAM in viridis and a signed map
//! (an occlusion map) in the diverging map, transparent near zero.

use image::{GrayImage, RgbaImage};
use unsee::cpu::compose::{ComposeSettings, Overlay, compose};
use unsee::gpu::burn_buffer::TensorBinding;
use unsee::gpu::texture::{self, IMAGE_FORMAT, read_rgba};
use unsee::models::receptive::Placement;
use unsee::passes::ComposePass;
use unsee::passes::compose::{CamOverlay, ComposeTarget, OverlaySource};
use unsee::passes::paint::PAINT_MASK_FORMAT;
use wgpu::util::DeviceExt;

use crate::common;

#[test]
fn overlays_match_the_cpu_reference() {
    let Some(gpu) = common::gpu() else { return };
    let (dev, queue) = (&gpu.device, &gpu.queue);
    let (w, h) = (48, 32);
    let original = RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([(x * 5) as u8, (y * 7) as u8, 90, 255])
    });
    let modified = RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([200, (x * 3) as u8, (y * 6) as u8, 255])
    });
    let mask = GrayImage::from_fn(w, h, |x, y| image::Luma([u8::from(x > 30 && y < 12) * 255]));
    let tex_o = texture::upload_rgba(dev, queue, &original, "o").unwrap();
    let tex_m = texture::upload_rgba(dev, queue, &modified, "m").unwrap();
    let mask_f32: Vec<f32> = mask
        .pixels()
        .map(|p| f32::from(u8::from(p[0] != 0)))
        .collect();
    let tex_mask = dev.create_texture_with_data(
        queue,
        &wgpu::TextureDescriptor {
            label: Some("mask"),
            size: texture::extent(w, h),
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: PAINT_MASK_FORMAT,
            usage: wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        },
        wgpu::util::TextureDataOrder::LayerMajor,
        bytemuck::cast_slice(&mask_f32),
    );
    let output = dev.create_texture(&wgpu::TextureDescriptor {
        label: Some("out"),
        size: texture::extent(w, h),
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: IMAGE_FORMAT,
        usage: wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let pass = ComposePass::new(dev).unwrap();
    // One target for every composition below: its kept buffers and bind groups must give what
    // fresh ones would.
    let target = ComposeTarget::new(dev, &tex_o, &tex_m, &tex_mask, &output);
    let settings = ComposeSettings {
        split: 10,
        mask_alpha: 0.4,
        cam_opacity: 0.8,
    };
    // A 4x3 grid: signed values from −1 to 1 (zero included), or 0..1.
    let signed_values: Vec<f32> = (0..12).map(|i| i as f32 / 5.5 - 1.0).collect();
    for signed in [false, true] {
        let values: Vec<f32> = if signed {
            signed_values.clone()
        } else {
            signed_values.iter().map(|v| (v + 1.0) / 2.0).collect()
        };
        let buffer = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("cam"),
            contents: bytemuck::cast_slice(&values),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let binding = TensorBinding {
            buffer: &buffer,
            offset: 0,
            size: (values.len() * 4) as u64,
        };
        let placement = Placement::even((4, 3), (w, h));
        let mut enc = dev.create_command_encoder(&Default::default());
        pass.encode(
            dev,
            queue,
            &mut enc,
            &target,
            Some(CamOverlay {
                source: if signed {
                    OverlaySource::Gpu(&binding)
                } else {
                    // The target's own overlay buffer (maps from the CPU).
                    OverlaySource::Cpu(&values)
                },
                size: (4, 3),
                placement,
                signed,
            }),
            &settings,
            None,
        );
        queue.submit([enc.finish()]);
        let got = read_rgba(dev, queue, &output).unwrap();
        let want = compose(
            &original,
            &modified,
            &mask,
            Some(Overlay {
                values: &values,
                grid: (4, 3),
                place: placement,
                signed,
            }),
            &settings,
        );
        let worst = worst_difference(&got, &want);
        assert!(worst <= 1, "signed {signed}: max |Δ| {worst} levels");
        if signed {
            // Where the map is near zero the picture is untouched by it.
            let plain = compose(&original, &modified, &mask, None, &settings);
            let untouched = want
                .pixels()
                .zip(plain.pixels())
                .filter(|(a, b)| a == b)
                .count();
            assert!(untouched > 0 && untouched < (w * h) as usize, "{untouched}");
        }
    }
    // A map from the CPU larger than the target's overlay buffer (4096 values): it grows, and
    // the new values, not the earlier ones, are drawn.
    let grid = (70u32, 65u32);
    let values: Vec<f32> = (0..grid.0 * grid.1)
        .map(|i| ((i * 37) % 101) as f32 / 100.0)
        .collect();
    let placement = Placement::even(grid, (w, h));
    let mut enc = dev.create_command_encoder(&Default::default());
    pass.encode(
        dev,
        queue,
        &mut enc,
        &target,
        Some(CamOverlay {
            source: OverlaySource::Cpu(&values),
            size: grid,
            placement,
            signed: false,
        }),
        &settings,
        None,
    );
    queue.submit([enc.finish()]);
    let got = read_rgba(dev, queue, &output).unwrap();
    let want = compose(
        &original,
        &modified,
        &mask,
        Some(Overlay {
            values: &values,
            grid,
            place: placement,
            signed: false,
        }),
        &settings,
    );
    let worst = worst_difference(&got, &want);
    assert!(worst <= 1, "grown overlay: max |Δ| {worst} levels");

    // A rectangle redraws only itself: inside it the new settings, outside the old picture.
    let other = ComposeSettings {
        split: 40,
        mask_alpha: 0.9,
        cam_opacity: 0.0,
    };
    let rect = [5, 4, 37, 15];
    for (s, r) in [(&settings, None), (&other, Some(rect))] {
        let mut enc = dev.create_command_encoder(&Default::default());
        pass.encode(dev, queue, &mut enc, &target, None, s, r);
        queue.submit([enc.finish()]);
    }
    let got = read_rgba(dev, queue, &output).unwrap();
    let before = compose(&original, &modified, &mask, None, &settings);
    let after = compose(&original, &modified, &mask, None, &other);
    let mut inside = 0;
    for (x, y, p) in got.enumerate_pixels() {
        let within = (rect[0]..rect[2]).contains(&x) && (rect[1]..rect[3]).contains(&y);
        let want = if within {
            after.get_pixel(x, y)
        } else {
            before.get_pixel(x, y)
        };
        let d = (0..3).map(|c| p[c].abs_diff(want[c])).max().unwrap();
        assert!(d <= 1, "({x}, {y}) inside {within}: |Δ| {d}");
        inside += usize::from(within && before.get_pixel(x, y) != after.get_pixel(x, y));
    }
    assert!(inside > 0, "the settings change the rectangle");
}

/// The largest difference, in levels, of any colour channel of any pixel.
fn worst_difference(a: &image::RgbaImage, b: &image::RgbaImage) -> u8 {
    a.pixels()
        .zip(b.pixels())
        .map(|(a, b)| (0..3).map(|c| a[c].abs_diff(b[c])).max().unwrap_or(0))
        .max()
        .unwrap_or(0)
}
