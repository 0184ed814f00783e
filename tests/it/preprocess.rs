//! The GPU preprocessing pass against its CPU reference (`unsee::cpu::preprocess`).

use image::RgbaImage;
use unsee::classify::ClassifyPipeline;
use unsee::cpu;
use unsee::gpu::texture;
use unsee::models::{ModelKind, Preset};

use crate::common;

/// A deterministic test image with edges, gradients and noise-like texture.
fn test_image(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        let n = (x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663)) % 251;
        image::Rgba([
            ((x * 255) / w) as u8,
            if (x / 7 + y / 5) % 2 == 0 { 30 } else { 220 },
            n as u8,
            255,
        ])
    })
}

#[test]
fn gpu_preprocess_matches_cpu_reference() {
    let Some(gpu) = common::gpu() else { return };
    let models = common::models_dir();
    for (kind, preset) in [
        (ModelKind::SqueezeNet, Preset::Default),
        (ModelKind::MobileNetV2, Preset::Default),
        (ModelKind::SqueezeNet, Preset::Paper2018),
    ] {
        let pipeline = ClassifyPipeline::new(gpu, kind, preset, &models).unwrap();
        // Downscale (non-integer, anisotropic), identity-ish and upscale.
        for (w, h) in [(640, 333), (227, 227), (50, 91)] {
            let img = test_image(w, h);
            let tex = texture::upload_rgba(&gpu.device, &gpu.queue, &img, "test.image").unwrap();
            let input = pipeline.input_from_texture(gpu, &tex).unwrap();
            let got: Vec<f32> = input.try_into_data().unwrap().try_into_vec().unwrap();
            gpu.health.check().unwrap();
            let want = cpu::preprocess::preprocess(&img, &pipeline.spec);
            assert_eq!(got.len(), want.len());
            let max_abs = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            let max_diff = got
                .iter()
                .zip(&want)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            // f32 on both sides, summed in different orders.
            assert!(
                max_diff <= 1e-4 * max_abs.max(1.0),
                "{kind:?}/{preset:?} {w}x{h}: max|Δ| {max_diff} (max |v| {max_abs})"
            );
        }
    }
}

/// A batch preprocessed from the tiles of an atlas equals each tile preprocessed alone.
#[test]
fn tiles_of_an_atlas_preprocess_as_one_batch() {
    use unsee::passes::preprocess::Item;
    let Some(gpu) = common::gpu() else { return };
    let pipeline = ClassifyPipeline::new(
        gpu,
        ModelKind::SqueezeNet,
        Preset::Default,
        &common::models_dir(),
    )
    .unwrap();
    let tiles: Vec<RgbaImage> = (0..3).map(|k| test_image(61 + 7 * k, 45)).collect();
    let (w, h) = (75, 45);
    let mut atlas = RgbaImage::new(3 * w, h);
    let mut items = Vec::new();
    for (k, t) in tiles.iter().enumerate() {
        let x = k as u32 * w;
        image::imageops::replace(&mut atlas, t, i64::from(x), 0);
        // Batch entries in reverse: the index, not the order, decides where a tile goes.
        items.push(Item {
            origin: (x, 0),
            size: t.dimensions(),
            index: 2 - k as u32,
        });
    }
    let tex = texture::upload_rgba(&gpu.device, &gpu.queue, &atlas, "atlas").unwrap();
    let batch = pipeline
        .inputs_from_tiles(gpu, &tex, &items)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let s = pipeline.spec.size as usize;
    let plane = 3 * s * s;
    for (k, t) in tiles.iter().enumerate() {
        let alone = texture::upload_rgba(&gpu.device, &gpu.queue, t, "tile").unwrap();
        let want = pipeline
            .input_from_texture(gpu, &alone)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let got = &batch[(2 - k) * plane..(3 - k) * plane];
        assert_eq!(got, &want[..], "tile {k}");
    }
}
