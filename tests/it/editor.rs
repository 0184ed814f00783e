//! The viewer's edit, headless: scripted strokes through the same `Editor` the window drives,
//! pictures rendered to offscreen textures and read back.

use unsee::classify::Inference;
use unsee::cpu::compose::{ComposeSettings, compose};
use unsee::editor::{Editor, ViewSettings};
use unsee::engine::Engine;
use unsee::gpu::texture::{read_mask, read_rgba};
use unsee::gpu::{GpuContext, GpuOptions};
use unsee::image_io;

use crate::common;

/// The dog photo at 256x192 in an editor whose classifiers run where `inference` says.
fn setup(inference: Inference) -> Option<(Engine, Editor)> {
    // The editor's engine holds its own device: these tests need an adapter like the others.
    common::gpu()?;
    let gpu = GpuContext::headless(&GpuOptions::from_arg(None)).unwrap();
    let mut engine = Engine::with_inference(gpu, common::models_dir(), inference).unwrap();
    let img = image_io::load_image(&common::models_dir().join("gallery/dog.jpg")).unwrap();
    let img = image::imageops::resize(&img, 256, 192, image::imageops::FilterType::Triangle);
    let editor = Editor::new(&engine, &img).unwrap();
    engine
        .pipeline(unsee::models::ModelKind::SqueezeNet)
        .unwrap();
    Some((engine, editor))
}

fn paint_dog(editor: &mut Editor) {
    // The dog sits in the lower left (x 35..115, y 65..190 at this size): zig-zag over it.
    let mut y = 70.0;
    editor.begin_stroke(false, 9.0, (40.0, y));
    while y < 190.0 {
        editor.extend_stroke((112.0, y + 6.0));
        editor.extend_stroke((40.0, y + 12.0));
        y += 12.0;
    }
    editor.end_stroke();
}

#[test]
fn editor_with_gpu_inference() {
    scenario(Inference::Gpu);
}

#[test]
fn editor_with_cpu_inference() {
    // What a machine without a GPU runs: fills and classifiers on the CPU, display on lavapipe.
    scenario(Inference::Cpu);
}

/// Strokes, inpainting, reclassification, undo/redo, CAM, model switch, PatchMatch.
fn scenario(inference: Inference) {
    let Some((mut engine, mut editor)) = setup(inference) else {
        return;
    };
    let settings = ViewSettings::default();
    editor.settle(&mut engine, &settings).unwrap();
    let gpu = &engine.gpu;
    let before = editor
        .modified_scores
        .as_ref()
        .unwrap()
        .probabilities
        .clone();
    let original = editor
        .original_scores
        .as_ref()
        .unwrap()
        .probabilities
        .clone();
    assert_eq!(before, original, "no edit: Modified equals Original");
    let original_img = read_rgba(&gpu.device, &gpu.queue, editor.modified()).unwrap();

    // A first stroke, then the dog.
    editor.begin_stroke(false, 6.0, (200.0, 20.0));
    editor.extend_stroke((230.0, 25.0));
    editor.end_stroke();
    editor.settle(&mut engine, &settings).unwrap();
    let gpu = &engine.gpu;
    let mask_one = read_mask(&gpu.device, &gpu.queue, editor.mask_texture()).unwrap();
    let scores_one = editor
        .modified_scores
        .as_ref()
        .unwrap()
        .probabilities
        .clone();

    paint_dog(&mut editor);
    editor.settle(&mut engine, &settings).unwrap();
    let gpu = &engine.gpu;
    let mask = read_mask(&gpu.device, &gpu.queue, editor.mask_texture()).unwrap();
    // The GPU paint pass matches its CPU reference pixel for pixel.
    assert_eq!(
        &mask,
        editor.mask_image(),
        "GPU mask differs from the CPU rasterisation"
    );
    let covered = mask.pixels().filter(|p| p[0] != 0).count();
    assert!(
        covered > 5000,
        "the strokes should cover the dog: {covered} pixels"
    );

    // Inpainting changed pixels inside the mask only.
    let modified = read_rgba(&gpu.device, &gpu.queue, editor.modified()).unwrap();
    let mut changed_inside = 0;
    for ((a, b), m) in modified
        .pixels()
        .zip(original_img.pixels())
        .zip(mask.pixels())
    {
        if m[0] == 0 {
            assert_eq!(a, b, "a pixel outside the mask changed");
        } else if a != b {
            changed_inside += 1;
        }
    }
    assert!(
        changed_inside * 2 > covered,
        "only {changed_inside} of {covered} masked pixels changed"
    );

    // The Modified table changed: the dog's evidence dropped.
    let after = editor
        .modified_scores
        .as_ref()
        .unwrap()
        .probabilities
        .clone();
    let top_orig = argmax(&original);
    assert!(
        after[top_orig] < original[top_orig] - 0.05,
        "top class {top_orig}: {} → {}",
        original[top_orig],
        after[top_orig]
    );

    // Undo restores the previous mask and table exactly; redo brings the edit back.
    assert!(editor.undo());
    editor.settle(&mut engine, &settings).unwrap();
    let gpu = &engine.gpu;
    assert_eq!(
        read_mask(&gpu.device, &gpu.queue, editor.mask_texture()).unwrap(),
        mask_one
    );
    assert_eq!(
        editor.modified_scores.as_ref().unwrap().probabilities,
        scores_one
    );
    // The dog's fill is gone from the modified image and the picture (the CPU path uploads and
    // recomposes only the rectangle that changed).
    let undone = read_rgba(&gpu.device, &gpu.queue, editor.modified()).unwrap();
    for ((a, b), m) in undone
        .pixels()
        .zip(original_img.pixels())
        .zip(mask_one.pixels())
    {
        if m[0] == 0 {
            assert_eq!(a, b, "after undo, a pixel outside the mask differs");
        }
    }
    let want_undone = compose(
        &original_img,
        &undone,
        &mask_one,
        None,
        &ComposeSettings {
            split: 0,
            mask_alpha: settings.mask_alpha,
            cam_opacity: settings.cam_opacity,
        },
    );
    let shown = read_rgba(&gpu.device, &gpu.queue, editor.display()).unwrap();
    assert_max_diff(&shown, &want_undone, 1, "display after undo");
    assert!(editor.redo());
    editor.settle(&mut engine, &settings).unwrap();
    assert_eq!(
        editor.modified_scores.as_ref().unwrap().probabilities,
        after
    );

    // CAM: the picture changes only when a class is chosen, and matches the CPU composition.
    let gpu = &engine.gpu;
    let plain = read_rgba(&gpu.device, &gpu.queue, editor.display()).unwrap();
    let want = compose(
        &original_img,
        &modified,
        &mask,
        None,
        &ComposeSettings {
            split: 0,
            mask_alpha: settings.mask_alpha,
            cam_opacity: settings.cam_opacity,
        },
    );
    assert_max_diff(&plain, &want, 1, "display without CAM");
    let with_cam = ViewSettings {
        cam_class: Some(top_orig),
        ..settings.clone()
    };
    editor.settle(&mut engine, &with_cam).unwrap();
    let gpu = &engine.gpu;
    let overlaid = read_rgba(&gpu.device, &gpu.queue, editor.display()).unwrap();
    let differing = overlaid
        .pixels()
        .zip(plain.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        differing * 2 > plain.pixels().len(),
        "CAM overlay changed only {differing} pixels"
    );
    editor.settle(&mut engine, &settings).unwrap();
    let gpu = &engine.gpu;
    assert_eq!(
        read_rgba(&gpu.device, &gpu.queue, editor.display()).unwrap(),
        plain,
        "CAM off restores the picture"
    );
}

fn argmax(p: &[f32]) -> usize {
    (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap()
}

fn assert_max_diff(a: &image::RgbaImage, b: &image::RgbaImage, tol: u8, what: &str) {
    let max = a
        .pixels()
        .zip(b.pixels())
        .flat_map(|(p, q)| (0..4).map(move |c| p[c].abs_diff(q[c])))
        .max()
        .unwrap_or(0);
    assert!(max <= tol, "{what}: max |Δ| {max} > {tol}");
}

#[test]
fn viewer_tools_compare_fills_and_models() {
    for inference in [Inference::Cpu, Inference::Gpu] {
        compare_fills_and_models(inference);
    }
}

/// Fill A/B and the other model, as the viewer polls them once a frame.
fn compare_fills_and_models(inference: Inference) {
    let Some((mut engine, mut editor)) = setup(inference) else {
        return;
    };
    let settings = ViewSettings::default();
    paint_dog(&mut editor);
    editor.settle(&mut engine, &settings).unwrap();
    // Fill A/B runs for the state it was started on, on a worker thread polled per frame (on
    // either path). The first poll only starts it (a frame never waits for a fill: on the
    // software adapter a variant takes far longer than handing it over).
    let key = editor.key(&settings);
    let mut run = unsee::app::explore::FillComparison::new(key, settings.inpaint);
    let waits = unsee::gpu::readback::waits_on_this_thread();
    assert!(run.step(&mut engine, &editor).unwrap().is_none());
    assert_eq!(
        run.progress().0,
        0,
        "{inference:?}: a variant was waited for"
    );
    let fills = loop {
        if let Some(done) = run.step(&mut engine, &editor).unwrap() {
            break done;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert_eq!(
        unsee::gpu::readback::waits_on_this_thread(),
        waits,
        "{inference:?}: a step waited for a readback"
    );
    let titles: Vec<&str> = fills.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Telea", "PatchMatch", "flat mean colour"]);
    assert!(fills.iter().all(|c| c.top5.len() == 5));
    // Telea here is the editor's own canonical fill: the same table as the Modified one.
    let modified = editor.modified_scores.as_ref().unwrap();
    for p in &fills[0].top5 {
        let shown = modified.probabilities[p.index];
        assert!(
            (p.probability - shown).abs() <= 1e-5,
            "{inference:?}: class {} is {} in Fill A/B's Telea row, {shown} in the table",
            p.index,
            p.probability
        );
    }
    assert_eq!(fills[0].top5[0].index, argmax(&modified.probabilities));
    // The other model classifies in the background, polled per frame, for the settled state.
    let mut background = unsee::app::explore::OtherModel::default();
    let answered = editor.answered_key().unwrap();
    let other = loop {
        if let Some(c) = background.step(&mut engine, &editor, answered).unwrap() {
            break c;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert_eq!(other.len(), 2);
    assert!(
        other[0].title.starts_with("MobileNetV2"),
        "{}",
        other[0].title
    );
}

/// The other model classifies the modified image on a worker thread; on the GPU it reads a copy
/// made in queue order when asked, so a job that refills the modified texture right after (before
/// the worker has recorded anything) does not change its answer.
#[test]
fn the_other_model_answers_the_image_as_it_was_when_asked() {
    use unsee::editor::side::Which;
    let Some((mut engine, mut editor)) = setup(Inference::Gpu) else {
        return;
    };
    let settings = ViewSettings::default();
    paint_dog(&mut editor);
    editor.settle(&mut engine, &settings).unwrap();
    let other = unsee::models::ModelKind::MobileNetV2;
    engine.pipeline(other).unwrap();
    let pipeline = engine.require(other).unwrap();
    let gpu = &engine.gpu;
    let before = read_rgba(&gpu.device, &gpu.queue, editor.modified()).unwrap();
    let expected = pipeline.classify_image(gpu, &before, 5).unwrap();
    // Asked for, then a new stroke's job refills the texture before the worker (made late on
    // purpose) records anything.
    unsee::editor::side::WORKER_DELAY_MS.store(300, std::sync::atomic::Ordering::Relaxed);
    let pending = editor
        .classify_async(&engine, other, Which::Modified)
        .unwrap();
    unsee::editor::side::WORKER_DELAY_MS.store(0, std::sync::atomic::Ordering::Relaxed);
    editor.begin_stroke(false, 20.0, (150.0, 40.0));
    editor.extend_stroke((230.0, 60.0));
    editor.end_stroke();
    editor.update(&mut engine, &settings).unwrap();
    let probabilities = loop {
        if let Some(p) = pending.try_take() {
            break p.unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    editor.settle(&mut engine, &settings).unwrap();
    let after = read_rgba(&engine.gpu.device, &engine.gpu.queue, editor.modified()).unwrap();
    assert_ne!(before, after, "the new stroke changed the modified image");
    for p in &expected {
        assert!(
            (probabilities[p.index] - p.probability).abs() <= 1e-5,
            "class {}: {} from the worker, {} for the image when asked",
            p.index,
            probabilities[p.index],
            p.probability
        );
    }
}

/// With the device lost, Save still writes the strokes and settings (CPU data), without tables
/// and without a modified image of another state; `unsee replay` then computes the tables.
#[test]
fn a_lost_device_still_saves_the_strokes_and_replay_computes_the_tables() {
    let Some((mut engine, mut editor)) = setup(Inference::Gpu) else {
        return;
    };
    let settings = ViewSettings::default();
    editor.settle(&mut engine, &settings).unwrap();
    let dir = common::output_dir("lost_device_session");
    // An earlier save of another state left a modified.png.
    unsee::app::save::write_session(&dir, &editor, &engine, &settings, true).unwrap();
    assert!(dir.join("modified.png").exists());

    // A stroke on a lost device: it is kept on the CPU, and nothing can answer it.
    engine.gpu.device.destroy();
    paint_dog(&mut editor);
    assert!(!editor.is_current(&settings));
    assert!(
        unsee::app::save::write_session(&dir, &editor, &engine, &settings, true).is_err(),
        "no tables are saved for an edit they do not answer"
    );
    unsee::app::save::write_session(&dir, &editor, &engine, &settings, false).unwrap();
    assert!(
        !dir.join("modified.png").exists(),
        "the old state's picture is gone"
    );
    let mask = image_io::load_image(&dir.join("mask.png")).unwrap();
    let painted = mask.pixels().filter(|p| p[0] != 0).count();
    assert_eq!(
        painted,
        editor.mask_image().pixels().filter(|p| p[0] != 0).count()
    );
    assert!(painted > 1000, "the strokes are in the saved mask");

    let models = common::models_dir();
    let replay = crate::cli_errors::unsee(
        &["replay", &dir.to_string_lossy()],
        &[("UNSEE_MODELS", &models.to_string_lossy())],
    );
    let out = String::from_utf8_lossy(&replay.stdout);
    assert!(
        replay.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert!(out.contains("\"recorded_tables\": false"), "{out}");
}

/// The occlusion map runs in slices between frames, but none while the live job has work: the
/// live answer goes first.
#[test]
fn the_occlusion_map_waits_while_the_live_job_works() {
    let Some((mut engine, mut editor)) = setup(Inference::Cpu) else {
        return;
    };
    let settings = ViewSettings::default();
    editor.settle(&mut engine, &settings).unwrap();
    let mut explore = unsee::app::explore::Explore::new();
    explore.grid = 3;
    let (model, fill) = (settings.model, settings.inpaint);
    explore
        .start_occlusion(&mut engine, &editor, model, 0, &fill)
        .unwrap();
    let total = explore.progress().unwrap().1;
    // A stroke: the live job has work, and the map does not advance.
    paint_dog(&mut editor);
    assert!(editor.has_work(&settings));
    for _ in 0..3 {
        assert!(!explore.step(&engine, model, &fill, true).unwrap());
    }
    assert_eq!(explore.progress(), Some((0, total)));
    // Settled: it runs to the end.
    editor.settle(&mut engine, &settings).unwrap();
    // Frames poll the batch on the worker; each is a step.
    let started = std::time::Instant::now();
    while !explore.step(&engine, model, &fill, false).unwrap() {
        assert!(started.elapsed().as_secs() < 300, "the map never finished");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(explore.occlusion.is_some());
}
