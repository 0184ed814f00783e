//! Masks in and out of the editor: import and export round-trip byte for byte; grow, shrink and
//! invert on the GPU equal their CPU reference; grow then shrink gives a convex mask back; each
//! is one undoable step.

use unsee::classify::Inference;
use unsee::cpu::morphology::{self, MaskOp};
use unsee::editor::{Editor, ViewSettings};
use unsee::engine::Engine;
use unsee::gpu::texture::read_mask;
use unsee::gpu::{GpuContext, GpuOptions};
use unsee::passes::paint::{PAINT_MASK_FORMAT, PaintPass, Segment};

use crate::common;

fn setup() -> Option<(Engine, Editor)> {
    common::gpu()?;
    let gpu = GpuContext::headless(&GpuOptions::from_arg(None)).unwrap();
    let mut engine = Engine::with_inference(gpu, common::models_dir(), Inference::Cpu).unwrap();
    engine
        .pipeline(unsee::models::ModelKind::SqueezeNet)
        .unwrap();
    let img = unsee::image_io::load_image(&common::models_dir().join("gallery/dog.jpg")).unwrap();
    let img = image::imageops::resize(&img, 160, 120, image::imageops::FilterType::Triangle);
    let editor = Editor::new(&engine, &img).unwrap();
    Some((engine, editor))
}

/// The GPU mask after the editor has caught up, checked against the CPU copy.
fn gpu_mask(engine: &mut Engine, editor: &mut Editor, what: &str) -> image::GrayImage {
    editor.settle(engine, &ViewSettings::default()).unwrap();
    let gpu = &engine.gpu;
    let mask = read_mask(&gpu.device, &gpu.queue, editor.mask_texture()).unwrap();
    assert_eq!(
        &mask,
        editor.mask_image(),
        "{what}: GPU mask differs from the CPU reference"
    );
    mask
}

#[test]
fn grow_shrink_invert_on_the_gpu_match_the_reference_and_undo() {
    let Some((mut engine, mut editor)) = setup() else {
        return;
    };
    // A convex mask: one dot of the brush.
    editor.begin_stroke(false, 14.0, (70.0, 60.0));
    editor.end_stroke();
    let disc = gpu_mask(&mut engine, &mut editor, "dot");

    editor.apply_op(MaskOp::Grow(6)).unwrap();
    let grown = gpu_mask(&mut engine, &mut editor, "grow");
    let mut want = disc.clone();
    morphology::apply(&mut want, MaskOp::Grow(6));
    assert_eq!(grown, want);
    assert!(grown.iter().filter(|&&v| v != 0).count() > disc.iter().filter(|&&v| v != 0).count());

    editor.apply_op(MaskOp::Shrink(6)).unwrap();
    assert_eq!(
        gpu_mask(&mut engine, &mut editor, "shrink"),
        disc,
        "grow then shrink"
    );

    editor.apply_op(MaskOp::Invert).unwrap();
    let inverted = gpu_mask(&mut engine, &mut editor, "invert");
    assert!(
        inverted
            .pixels()
            .zip(disc.pixels())
            .all(|(a, b)| (a[0] == 0) != (b[0] == 0))
    );

    // Each operation is one step: three undos give the dot back (the GPU replays the steps).
    for _ in 0..3 {
        assert!(editor.undo());
    }
    assert_eq!(gpu_mask(&mut engine, &mut editor, "undone"), disc);
    assert!(editor.redo());
    assert_eq!(gpu_mask(&mut engine, &mut editor, "redone"), grown);

    // Out-of-range radii are refused, not applied.
    assert!(editor.apply_op(MaskOp::Grow(0)).is_err());
    assert!(editor.apply_op(MaskOp::Shrink(100_000)).is_err());
}

#[test]
fn masks_import_and_export_byte_exactly() {
    let Some((mut engine, mut editor)) = setup() else {
        return;
    };
    // Some paint first: an imported mask replaces it.
    editor.begin_stroke(false, 20.0, (20.0, 20.0));
    editor.end_stroke();
    let blob = image::GrayImage::from_fn(160, 120, |x, y| {
        let ring = ((x as i32 - 90).pow(2) + (y as i32 - 50).pow(2)) as f32;
        let on = (100.0..900.0).contains(&ring) || (x + 3 * y) % 37 == 0;
        image::Luma([u8::from(on) * 255])
    });
    let dir = common::output_dir("mask_ops");
    let file = dir.join("in.png");
    unsee::output::write_image(&file, &image::DynamicImage::ImageLuma8(blob.clone())).unwrap();

    let loaded = unsee::image_io::load_mask(&file).unwrap();
    editor.set_mask(&loaded).unwrap();
    assert_eq!(gpu_mask(&mut engine, &mut editor, "imported"), blob);

    let out = dir.join("out.png");
    unsee::output::write_image(
        &out,
        &image::DynamicImage::ImageLuma8(editor.mask_image().clone()),
    )
    .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&file).unwrap());

    // Undo brings back the painted dot, not an empty mask.
    assert!(editor.undo());
    let dot = gpu_mask(&mut engine, &mut editor, "undo import");
    assert_ne!(dot.get_pixel(20, 20)[0], 0);
    // A mask of another size is refused.
    assert!(editor.set_mask(&image::GrayImage::new(10, 10)).is_err());
}

#[test]
fn a_kept_paint_target_paints_like_the_reference_and_grows() {
    let Some(gpu) = common::gpu() else { return };
    let (dev, queue) = (&gpu.device, &gpu.queue);
    let (w, h) = (96u32, 64u32);
    let mask = dev.create_texture(&wgpu::TextureDescriptor {
        label: Some("mask"),
        size: unsee::gpu::texture::extent(w, h),
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: PAINT_MASK_FORMAT,
        usage: wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let pass = PaintPass::new(dev).unwrap();
    let mut target = pass.target(dev, &mask);
    let mut want = image::GrayImage::new(w, h);
    // A first submit of a few segments, then one of 150 (more than the kept buffer holds), some
    // of them erasers: every submit goes through the same target.
    for (round, count) in [(0u32, 5usize), (1, 150)] {
        let segments: Vec<Segment> = (0..count)
            .map(|i| {
                let t = i as f32 + round as f32 * 0.37;
                Segment {
                    a: ((t * 7.3) % w as f32, (t * 3.1) % h as f32),
                    b: ((t * 5.7 + 9.0) % w as f32, (t * 2.3 + 4.0) % h as f32),
                    radius: 1.5 + (i % 4) as f32,
                    erase: i % 5 != 4,
                }
            })
            .collect();
        for s in &segments {
            unsee::cpu::paint::paint_segment(&mut want, s.a, s.b, s.radius, s.erase);
        }
        let mut enc = dev.create_command_encoder(&Default::default());
        pass.encode(dev, queue, &mut enc, &mut target, round == 0, &segments);
        queue.submit([enc.finish()]);
        let got = read_mask(dev, queue, &mask).unwrap();
        let differ = got
            .pixels()
            .zip(want.pixels())
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(
            differ, 0,
            "round {round}: {differ} pixels differ from the reference"
        );
    }
}
