//! PatchMatch on the GPU against its CPU mirror, on periodic textures against Telea, and its
//! invariants and edge cases.

use image::{GrayImage, RgbaImage};
use unsee::cpu;
use unsee::inpaint::{InpaintParams, Inpainter, Method};
use unsee::passes::patchmatch::schedule;
use unsee::passes::{PatchMatchCache, PatchMatchParams};

use crate::common;

fn params(seed: u32) -> InpaintParams {
    InpaintParams {
        method: Method::PatchMatch,
        patchmatch: PatchMatchParams {
            seed,
            ..PatchMatchParams::default()
        },
        ..InpaintParams::default()
    }
}

fn rect_mask(w: u32, h: u32, x0: u32, y0: u32, x1: u32, y1: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        image::Luma([if (x0..x1).contains(&x) && (y0..y1).contains(&y) {
            255
        } else {
            0
        }])
    })
}

fn psnr_in(a: &RgbaImage, truth: &RgbaImage, mask: &GrayImage) -> f64 {
    let (mut se, mut n) = (0f64, 0f64);
    for ((p, q), m) in a.pixels().zip(truth.pixels()).zip(mask.pixels()) {
        if m[0] != 0 {
            for c in 0..3 {
                se += (f64::from(p[c]) - f64::from(q[c])).powi(2);
                n += 1.0;
            }
        }
    }
    if se == 0.0 {
        99.0
    } else {
        10.0 * (255.0f64.powi(2) * n / se).log10()
    }
}

/// Periodic test images: diagonal stripes, a checkerboard, a tiled crop of a photo.
fn periodic(size: u32) -> Vec<(&'static str, RgbaImage)> {
    let photo = unsee::image_io::load_image(&common::models_dir().join("gallery/squirrel_cls.jpg"))
        .unwrap();
    let tile = image::imageops::crop_imm(&photo, 100, 100, 24, 24).to_image();
    vec![
        (
            "stripes",
            RgbaImage::from_fn(size, size, |x, y| {
                let v = if ((x + 2 * y) / 5) % 2 == 0 { 40 } else { 220 };
                image::Rgba([v, 255 - v, v / 2 + 60, 255])
            }),
        ),
        (
            "checkerboard",
            RgbaImage::from_fn(size, size, |x, y| {
                let v = if (x / 6 + y / 6) % 2 == 0 { 30 } else { 230 };
                image::Rgba([v, v, 255 - v, 255])
            }),
        ),
        (
            "tiled photo",
            RgbaImage::from_fn(size, size, |x, y| *tile.get_pixel(x % 24, y % 24)),
        ),
    ]
}

#[test]
fn patchmatch_gpu_matches_cpu_mirror() {
    let Some(gpu) = common::gpu() else { return };
    let inpainter = Inpainter::new(&gpu.device).unwrap();
    let dog = unsee::image_io::load_image(&common::models_dir().join("gallery/dog.jpg")).unwrap();
    let small = image::imageops::resize(&dog, 96, 72, image::imageops::FilterType::Triangle);
    let mut stroke = GrayImage::new(96, 72);
    cpu::paint::paint_segment(&mut stroke, (20.0, 30.0), (70.0, 40.0), 5.0, true);
    let cases = [
        ("dog", small, stroke),
        (
            "stripes",
            periodic(64).remove(0).1,
            rect_mask(64, 64, 20, 24, 40, 44),
        ),
    ];
    for (name, img, mask) in cases {
        let p = params(7);
        let mut cache = PatchMatchCache::default();
        let ours = inpainter
            .inpaint_image_with(gpu, &img, &mask, &p, &mut cache)
            .unwrap();
        let nnf = cache.read_nnf(&gpu.device, &gpu.queue).unwrap();
        let mirror = cpu::patchmatch::patchmatch(&img, &mask, &p.patchmatch).unwrap();
        let cost = |v: &mut dyn Iterator<Item = (f32, bool)>| {
            v.filter(|x| x.1).map(|x| f64::from(x.0)).sum::<f64>()
        };
        let gpu_cost = cost(&mut nnf.iter().map(|m| (m.2, m.3)));
        let cpu_cost = cost(&mut mirror.nnf.iter().map(|(m, t)| (m.dist, *t)));
        let same = nnf
            .iter()
            .zip(&mirror.nnf)
            .filter(|(g, (c, _))| (g.0, g.1) == c.s)
            .count();
        eprintln!(
            "patchmatch/{name}: NNF cost GPU {gpu_cost:.4} CPU {cpu_cost:.4}, {same} of {} matches identical",
            nnf.len()
        );
        assert!(
            (gpu_cost - cpu_cost).abs() <= 0.01 * cpu_cost.max(1e-6),
            "{name}: NNF cost {gpu_cost} vs {cpu_cost}"
        );
        let (mut sum, mut n) = (0u64, 0u64);
        for ((a, b), m) in ours.pixels().zip(mirror.image.pixels()).zip(mask.pixels()) {
            if m[0] != 0 {
                sum += (0..3).map(|c| u64::from(a[c].abs_diff(b[c]))).sum::<u64>();
                n += 3;
            }
        }
        let mean = sum as f64 / n as f64;
        assert!(mean <= 2.0, "{name}: mean |Δ| {mean:.2} levels in the hole");
    }
}

#[test]
fn patchmatch_synthesizes_texture_and_keeps_invariants() {
    let Some(gpu) = common::gpu() else { return };
    let inpainter = Inpainter::new(&gpu.device).unwrap();
    let mask = rect_mask(128, 128, 50, 44, 80, 84);
    for (name, img) in periodic(128) {
        let mut cache = PatchMatchCache::default();
        let pm = inpainter
            .inpaint_image_with(gpu, &img, &mask, &params(1), &mut cache)
            .unwrap();
        let telea = inpainter
            .inpaint_image(gpu, &img, &mask, &InpaintParams::default())
            .unwrap();
        let (pm_db, telea_db) = (psnr_in(&pm, &img, &mask), psnr_in(&telea, &img, &mask));
        eprintln!("patchmatch/{name}: PSNR in hole {pm_db:.2} dB, Telea {telea_db:.2} dB");
        assert!(pm_db >= 25.0, "{name}: {pm_db:.2} dB");
        assert!(
            pm_db >= telea_db + 5.0,
            "{name}: {pm_db:.2} dB vs Telea {telea_db:.2}"
        );

        // Outside the mask: bit for bit.
        for ((a, b), m) in pm.pixels().zip(img.pixels()).zip(mask.pixels()) {
            if m[0] == 0 {
                assert_eq!(a, b, "{name}: a pixel outside the mask changed");
            }
        }
        // Every target's source patch lies in known pixels, inside the image.
        let r = 3i32;
        for (i, (sx, sy, _, is_target)) in cache
            .read_nnf(&gpu.device, &gpu.queue)
            .unwrap()
            .into_iter()
            .enumerate()
        {
            if !is_target {
                continue;
            }
            for dy in -r..=r {
                for dx in -r..=r {
                    let (x, y) = (sx + dx, sy + dy);
                    assert!(
                        (0..128).contains(&x) && (0..128).contains(&y),
                        "{name}: pixel {i} source off the image"
                    );
                    assert_eq!(
                        mask.get_pixel(x as u32, y as u32)[0],
                        0,
                        "{name}: pixel {i} copies from the hole"
                    );
                }
            }
        }
    }
    // Same seed, same fill.
    let img = periodic(128).remove(2).1;
    let a = inpainter
        .inpaint_image(gpu, &img, &mask, &params(5))
        .unwrap();
    let b = inpainter
        .inpaint_image(gpu, &img, &mask, &params(5))
        .unwrap();
    assert_eq!(a, b, "same seed gave different fills");
}

#[test]
fn patchmatch_warm_start_and_edge_cases() {
    let Some(gpu) = common::gpu() else { return };
    let inpainter = Inpainter::new(&gpu.device).unwrap();
    let img = periodic(96).remove(1).1;

    // A warm start (an added stroke) runs far fewer steps and still synthesizes the texture.
    let p = PatchMatchParams::default();
    assert!(schedule(4, &p, true).len() * 3 < schedule(4, &p, false).len());
    let first = rect_mask(96, 96, 30, 30, 50, 50);
    let both = GrayImage::from_fn(96, 96, |x, y| {
        let m = first.get_pixel(x, y)[0] != 0 || ((55..70).contains(&x) && (40..60).contains(&y));
        image::Luma([if m { 255 } else { 0 }])
    });
    let mut cache = PatchMatchCache::default();
    let fresh = inpainter
        .inpaint_image_with(gpu, &img, &first, &params(3), &mut cache)
        .unwrap();
    assert!(psnr_in(&fresh, &img, &first) >= 25.0);
    let warm = warm_fill(gpu, &inpainter, &img, &both, &mut cache);
    let db = psnr_in(&warm, &img, &both);
    assert!(db >= 25.0, "warm start: {db:.2} dB");
    for ((a, b), m) in warm.pixels().zip(img.pixels()).zip(both.pixels()) {
        if m[0] == 0 {
            assert_eq!(a, b);
        }
    }

    // Empty mask: identity. Full mask, wrong size, no 7x7 known patch: clear errors.
    assert_eq!(
        inpainter
            .inpaint_image(gpu, &img, &GrayImage::new(96, 96), &params(0))
            .unwrap(),
        img
    );
    let full = GrayImage::from_pixel(96, 96, image::Luma([255]));
    assert!(
        inpainter
            .inpaint_image(gpu, &img, &full, &params(0))
            .unwrap_err()
            .to_string()
            .contains("whole image")
    );
    let wrong = GrayImage::new(95, 96);
    assert!(
        inpainter
            .inpaint_image(gpu, &img, &wrong, &params(0))
            .unwrap_err()
            .to_string()
            .contains("95x96")
    );
    let frame_left = rect_mask(96, 96, 3, 3, 93, 93);
    let err = inpainter
        .inpaint_image(gpu, &img, &frame_left, &params(0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("7x7 patch of known pixels"), "{err}");
    let tiny = RgbaImage::from_pixel(6, 6, image::Rgba([1, 2, 3, 255]));
    let err = inpainter
        .inpaint_image(gpu, &tiny, &rect_mask(6, 6, 2, 2, 3, 3), &params(0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("too small"), "{err}");
    // A hole on the border is fine.
    let border = rect_mask(96, 96, 0, 70, 20, 96);
    let filled = inpainter
        .inpaint_image(gpu, &img, &border, &params(0))
        .unwrap();
    assert!(psnr_in(&filled, &img, &border) >= 25.0);
}

/// Fills `mask` warm-starting from `cache` (the previous fill of the same image).
fn warm_fill(
    gpu: &unsee::gpu::GpuContext,
    inpainter: &Inpainter,
    img: &RgbaImage,
    mask: &GrayImage,
    cache: &mut PatchMatchCache,
) -> RgbaImage {
    use unsee::gpu::texture;
    let hole = unsee::passes::HoleBounds::from_mask(mask).unwrap();
    let image = texture::upload_rgba(&gpu.device, &gpu.queue, img, "test.image").unwrap();
    let mask_tex = texture::upload_mask(&gpu.device, &gpu.queue, mask, "test.mask");
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    inpainter
        .encode(
            &gpu.device,
            &mut encoder,
            &image,
            &mask_tex,
            &image,
            mask,
            &hole,
            &params(3),
            cache,
            true,
        )
        .unwrap();
    gpu.queue.submit([encoder.finish()]);
    texture::read_rgba(&gpu.device, &gpu.queue, &image).unwrap()
}
