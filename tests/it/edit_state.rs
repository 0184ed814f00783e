//! The live-edit loop's contract, headless: a settled state's fill and tables are a function of
//! the state alone (strokes, settings, seed, model), whatever path led there; a changed setting
//! refills; the window's scripted edit saves a session that `unsee replay` reproduces.

use std::process::Command;

use unsee::classify::Inference;
use unsee::editor::{Editor, Stroke, ViewSettings};
use unsee::engine::Engine;
use unsee::gpu::texture::read_rgba;
use unsee::gpu::{GpuContext, GpuOptions};
use unsee::image_io;
use unsee::inpaint::{InpaintParams, Method};
use unsee::models::ModelKind;
use unsee::passes::{PatchMatchParams, TeleaParams};

use crate::common;

fn engine(inference: Inference) -> Option<(Engine, image::RgbaImage)> {
    common::gpu()?;
    let gpu = GpuContext::headless(&GpuOptions::from_arg(None)).unwrap();
    let engine = Engine::with_inference(gpu, common::models_dir(), inference).unwrap();
    let img = image_io::load_image(&common::models_dir().join("gallery/dog.jpg")).unwrap();
    let img = image::imageops::resize(&img, 192, 144, image::imageops::FilterType::Triangle);
    Some((engine, img))
}

fn patchmatch(seed: u32) -> ViewSettings {
    ViewSettings {
        inpaint: InpaintParams {
            method: Method::PatchMatch,
            patchmatch: PatchMatchParams {
                seed,
                ..PatchMatchParams::default()
            },
            ..InpaintParams::default()
        },
        ..ViewSettings::default()
    }
}

/// The modified image as the GPU holds it now.
fn modified(engine: &Engine, editor: &Editor) -> image::RgbaImage {
    let g = &engine.gpu;
    read_rgba(&g.device, &g.queue, editor.modified()).unwrap()
}

/// A whole brush stroke through `points`: pressed, dragged, released, with no frame between.
fn draw(editor: &mut Editor, radius: f32, points: &[(f32, f32)]) {
    editor.begin_stroke(false, radius, points[0]);
    for &p in &points[1..] {
        editor.extend_stroke(p);
    }
    editor.end_stroke();
}

/// The modified image and probabilities of the settled state.
fn result(engine: &mut Engine, editor: &mut Editor, s: &ViewSettings) -> (Vec<u8>, Vec<f32>) {
    editor.settle(engine, s).unwrap();
    assert!(editor.is_current(s), "settled");
    (
        modified(engine, editor).into_raw(),
        editor
            .modified_scores
            .as_ref()
            .unwrap()
            .probabilities
            .clone(),
    )
}

/// Paints a zig-zag live: a frame (with its warm-started preview) after every pointer move.
fn paint_live(
    engine: &mut Engine,
    editor: &mut Editor,
    s: &ViewSettings,
    restore: bool,
    points: &[(f32, f32)],
) {
    editor.begin_stroke(restore, 7.0, points[0]);
    for &p in &points[1..] {
        editor.extend_stroke(p);
        // While drawing, settle accepts a preview: this is what a live frame shows.
        editor.settle(engine, s).unwrap();
    }
    editor.end_stroke();
}

/// PatchMatch (and Telea): paint, erase, undo, redo live; then the same strokes in a fresh editor
/// in one step, and stroke by stroke as `unsee replay` does: the same bytes and tables.
fn same_state_same_bytes(inference: Inference, s: &ViewSettings) {
    let Some((mut engine, img)) = engine(inference) else {
        return;
    };
    engine.pipeline(ModelKind::SqueezeNet).unwrap();
    let mut live = Editor::new(&engine, &img).unwrap();
    live.settle(&mut engine, s).unwrap();
    let a = [(40.0, 40.0), (120.0, 50.0), (60.0, 70.0), (140.0, 90.0)];
    let b = [(50.0, 45.0), (110.0, 60.0)];
    let c = [(30.0, 110.0), (160.0, 115.0), (90.0, 125.0)];
    paint_live(&mut engine, &mut live, s, false, &a);
    paint_live(&mut engine, &mut live, s, true, &b);
    paint_live(&mut engine, &mut live, s, false, &c);
    let three = result(&mut engine, &mut live, s);
    assert!(live.undo());
    let two = result(&mut engine, &mut live, s);
    assert_ne!(two.0, three.0, "undo changed the picture");
    assert!(live.redo());
    let redone = result(&mut engine, &mut live, s);
    assert!(redone == three, "redo gives back the same bytes and table");
    let strokes: Vec<Stroke> = live.history().strokes().to_vec();
    assert_eq!(strokes.len(), 3);

    let mut fresh = Editor::new(&engine, &img).unwrap();
    for stroke in &strokes {
        fresh.push_stroke(stroke.clone());
    }
    assert!(
        result(&mut engine, &mut fresh, s) == three,
        "a fresh editor with the same strokes"
    );

    let mut replayed = Editor::new(&engine, &img).unwrap();
    replayed.settle(&mut engine, s).unwrap();
    for stroke in &strokes {
        replayed.push_stroke(stroke.clone());
        replayed.settle(&mut engine, s).unwrap();
    }
    assert!(
        result(&mut engine, &mut replayed, s) == three,
        "stroke by stroke, as unsee replay does"
    );

    // A model switch and back: no refill, the same bytes.
    let other = ViewSettings {
        model: ModelKind::MobileNetV2,
        ..s.clone()
    };
    result(&mut engine, &mut live, &other);
    assert!(
        result(&mut engine, &mut live, s) == three,
        "model there and back"
    );

    // The edit saved as the viewer saves it (paint, erase, undo, redo) and run by the real
    // `unsee replay`: the same tables.
    let name = format!(
        "same_state_{}_{inference:?}",
        s.inpaint.method.display_name()
    );
    let dir = common::output_dir(&name).join("session");
    let _ = std::fs::remove_dir_all(&dir);
    unsee::app::save::write_session(&dir, &live, &engine, s, true).unwrap();
    // Replay runs on the path the session records (GPU Telea and the CPU path's Telea are two
    // fills), whatever this machine would pick by itself.
    let path = match inference {
        Inference::Gpu => "gpu",
        _ => "cpu",
    };
    let models = common::models_dir();
    let replay = crate::cli_errors::unsee(
        &["replay", &dir.to_string_lossy()],
        &[("UNSEE_MODELS", &models.to_string_lossy())],
    );
    let out = String::from_utf8_lossy(&replay.stdout);
    assert!(
        out.contains(&format!("\"replayed_on\": \"{path}\"")),
        "{out}"
    );
    assert!(
        replay.status.success() && out.contains("\"reproduced\": true"),
        "unsee replay of the saved edit: {out}{}",
        String::from_utf8_lossy(&replay.stderr)
    );
}

#[test]
fn patchmatch_state_gives_the_same_bytes_on_every_path_gpu() {
    same_state_same_bytes(Inference::Gpu, &patchmatch(5));
}

#[test]
fn patchmatch_state_gives_the_same_bytes_on_every_path_cpu() {
    same_state_same_bytes(Inference::Cpu, &patchmatch(5));
}

#[test]
fn telea_state_gives_the_same_bytes_on_every_path() {
    same_state_same_bytes(Inference::Gpu, &ViewSettings::default());
}

#[test]
fn a_fill_setting_change_refills_and_reclassifies() {
    let Some((mut engine, img)) = engine(Inference::Gpu) else {
        return;
    };
    let s = ViewSettings::default();
    let mut editor = Editor::new(&engine, &img).unwrap();
    editor.push_stroke(Stroke {
        restore: false,
        radius: 12.0,
        points: vec![(30.0, 60.0), (170.0, 80.0)],
        runs: Vec::new(),
        op: None,
    });
    let before = result(&mut engine, &mut editor, &s);
    let answered = editor.answered_key();
    let wide = ViewSettings {
        inpaint: InpaintParams {
            telea: TeleaParams { radius: 15 },
            ..s.inpaint
        },
        ..s.clone()
    };
    assert!(
        !editor.is_current(&wide) && !editor.answers(&wide),
        "the old table is not the answer to the new setting"
    );
    let after = result(&mut engine, &mut editor, &wide);
    assert_ne!(before.0, after.0, "a wider radius fills differently");
    assert_ne!(editor.answered_key(), answered);
    assert_eq!(editor.answered_key(), Some(editor.key(&wide)));
    // A PatchMatch setting means nothing to Telea: still current, no work.
    let seeded = ViewSettings {
        inpaint: InpaintParams {
            patchmatch: PatchMatchParams {
                seed: 9,
                ..PatchMatchParams::default()
            },
            ..wide.inpaint
        },
        ..wide.clone()
    };
    assert!(editor.is_current(&seeded));
}

#[test]
fn a_failed_state_reports_once_and_is_not_retried() {
    let Some((mut engine, img)) = engine(Inference::Gpu) else {
        return;
    };
    let s = ViewSettings::default();
    let mut editor = Editor::new(&engine, &img).unwrap();
    editor.settle(&mut engine, &s).unwrap();
    let (w, h) = editor.size;
    editor
        .apply_mask(&image::GrayImage::from_pixel(w, h, image::Luma([255])))
        .unwrap();
    let err = editor.settle(&mut engine, &s).unwrap_err().to_string();
    assert!(err.contains("whole image"), "{err}");
    assert!(editor.failure(&s).is_some());
    // Later frames do not start the failed state again and report nothing new.
    editor.update(&mut engine, &s).unwrap();
    assert!(!editor.has_work(&s));
    // Undo goes back to the state answered before: its answer is still the answer, no work.
    assert!(editor.undo());
    assert!(editor.is_current(&s) && !editor.has_work(&s));
    // A new state is worked on again.
    editor.push_stroke(Stroke {
        restore: false,
        radius: 5.0,
        points: vec![(20.0, 20.0), (60.0, 30.0)],
        runs: Vec::new(),
        op: None,
    });
    assert!(editor.has_work(&s));
    editor.settle(&mut engine, &s).unwrap();
    assert!(editor.is_current(&s));
}

/// `unsee view --frames N --fill F --save DIR`, then `unsee replay DIR`: the same tables.
fn view_save_replay(fill: &str) {
    if common::gpu().is_none() {
        return;
    }
    let dir = common::output_dir(&format!("view_save_{fill}"));
    let session = dir.join("session");
    let _ = std::fs::remove_dir_all(&session);
    let photo = common::models_dir().join("gallery/dog.jpg");
    let session_s = session.display().to_string();
    let photo_s = photo.display().to_string();
    let Some(out) = crate::window::run_view(&[
        &photo_s, "--frames", "10", "--fill", fill, "--save", &session_s,
    ]) else {
        return;
    };
    assert!(
        out.status.success(),
        "unsee view failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replay = Command::new(env!("CARGO_BIN_EXE_unsee"))
        .args(["replay", &session_s])
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "unsee replay disagrees with the saved session: {}{}",
        String::from_utf8_lossy(&replay.stdout),
        String::from_utf8_lossy(&replay.stderr)
    );
}

#[test]
fn view_saves_a_session_that_replays_telea() {
    view_save_replay("telea");
}

#[test]
fn view_saves_a_session_that_replays_patchmatch() {
    view_save_replay("patchmatch");
}

/// The settled table answers the full-size fill: the same mask through `unsee inpaint` and
/// `unsee classify` gives the same image and the same probabilities (CPU and GPU paths).
#[test]
fn the_settled_table_equals_the_clis_inpaint_then_classify() {
    for inference in [Inference::Cpu, Inference::Gpu] {
        let Some((mut engine, img)) = engine(inference) else {
            return;
        };
        let s = ViewSettings::default();
        engine.pipeline(s.model).unwrap();
        let mut editor = Editor::new(&engine, &img).unwrap();
        editor.begin_stroke(false, 7.0, (30.0, 60.0));
        for p in [(60.0, 80.0), (90.0, 70.0), (70.0, 120.0)] {
            editor.extend_stroke(p);
        }
        if inference == Inference::Cpu {
            // While the stroke is drawn the CPU path answers with a preview (filled at the
            // model's input size); released, that preview is no longer the answer.
            let start = std::time::Instant::now();
            while !editor.answers(&s) && start.elapsed().as_secs() < 120 {
                editor.update(&mut engine, &s).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            assert!(
                editor.answers(&s),
                "a preview answers while the stroke is drawn"
            );
            editor.end_stroke();
            assert!(
                !editor.answers(&s),
                "a released stroke needs the full-size fill"
            );
            // A stroke released before any preview answered it: a preview still lands first
            // (shown as updating, in a fraction of the full-size fill's time), then the fill.
            editor.settle(&mut engine, &s).unwrap();
            editor.begin_stroke(false, 7.0, (120.0, 30.0));
            editor.extend_stroke((150.0, 50.0));
            editor.end_stroke();
            let key = editor.key(&s);
            let start = std::time::Instant::now();
            while editor.answered_key() != Some(key) && start.elapsed().as_secs() < 120 {
                editor.update(&mut engine, &s).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            assert_eq!(editor.answered_key(), Some(key));
            assert!(
                !editor.answers(&s),
                "the first answer of a released stroke is a preview"
            );
        } else {
            editor.end_stroke();
        }
        let (pixels, probabilities) = result(&mut engine, &mut editor, &s);

        let dir = common::output_dir(&format!("settled_vs_cli_{inference:?}"));
        let (photo, mask, out) = (
            dir.join("photo.png"),
            dir.join("mask.png"),
            dir.join("out.png"),
        );
        unsee::output::write_image(&photo, &image::DynamicImage::ImageRgba8(img.clone())).unwrap();
        unsee::output::write_image(
            &mask,
            &image::DynamicImage::ImageLuma8(editor.mask_image().clone()),
        )
        .unwrap();
        let _ = std::fs::remove_file(&out);
        let run = |args: &[&std::ffi::OsStr]| {
            let o = Command::new(env!("CARGO_BIN_EXE_unsee"))
                .args(args)
                .env("UNSEE_MODELS", common::models_dir())
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            o.stdout
        };
        let os = |s: &str| std::ffi::OsString::from(s);
        let mut inpaint = vec![os("inpaint"), os("--mask"), mask.clone().into(), os("-o")];
        inpaint.extend([out.clone().into(), photo.clone().into()]);
        if inference == Inference::Cpu {
            inpaint.push(os("--cpu"));
        }
        let inpaint: Vec<&std::ffi::OsStr> = inpaint.iter().map(|a| a.as_os_str()).collect();
        run(&inpaint);
        let filled = image_io::load_image(&out).unwrap();
        assert_eq!(
            filled.into_raw(),
            pixels,
            "{inference:?}: the CLI's fill differs from the viewer's"
        );
        let where_ = if inference == Inference::Cpu {
            "cpu"
        } else {
            "gpu"
        };
        let json = run(&[
            os("--inference").as_os_str(),
            os(where_).as_os_str(),
            os("classify").as_os_str(),
            os("--json").as_os_str(),
            os("--top").as_os_str(),
            os("1000").as_os_str(),
            out.as_os_str(),
        ]);
        let report: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let rows = report[0]["top5"].as_array().unwrap();
        assert_eq!(rows.len(), 1000);
        for row in rows {
            let i = row["index"].as_u64().unwrap() as usize;
            let p = row["probability"].as_f64().unwrap() as f32;
            assert!(
                (p - probabilities[i]).abs() <= 1e-6,
                "{inference:?}: class {i}: CLI {p} vs viewer {}",
                probabilities[i]
            );
        }
    }
}

/// GPU path: a stroke painted while the live job is still on the live lane (made late on
/// purpose: every live job in the process sleeps meanwhile) does not reach that job: its fill
/// is the fill of the strokes as they were when it started, byte for byte, and the state after
/// it is filled by the next job.
#[test]
fn a_job_in_flight_fills_the_mask_as_it_was_when_it_started() {
    let Some((mut engine, img)) = engine(Inference::Gpu) else {
        return;
    };
    engine.pipeline(ModelKind::SqueezeNet).unwrap();
    let s = ViewSettings::default();
    let (p0, p1, p2) = ((30.0, 40.0), (90.0, 60.0), (160.0, 120.0));
    let mut fresh = Editor::new(&engine, &img).unwrap();
    draw(&mut fresh, 9.0, &[p0, p1]);
    fresh.settle(&mut engine, &s).unwrap();
    let expected = modified(&engine, &fresh);

    let mut live = Editor::new(&engine, &img).unwrap();
    live.settle(&mut engine, &s).unwrap();
    /// Puts the live lane's delay back however the test ends (other tests share the process).
    struct Delay;
    impl Drop for Delay {
        fn drop(&mut self) {
            unsee::editor::LIVE_DELAY_MS.store(0, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let delay = Delay;
    unsee::editor::LIVE_DELAY_MS.store(600, std::sync::atomic::Ordering::Relaxed);
    live.begin_stroke(false, 9.0, p0);
    live.extend_stroke(p1);
    let first = live.key(&s);
    live.update(&mut engine, &s).unwrap();
    // Painted while the first job sleeps on the live lane, before it records its fill.
    live.extend_stroke(p2);
    live.update(&mut engine, &s).unwrap();
    let started = std::time::Instant::now();
    while live.answered_key() != Some(first) {
        assert!(
            started.elapsed().as_secs() < 120,
            "the first job never landed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        live.update(&mut engine, &s).unwrap();
    }
    // The update that took the first answer started the next job, which sleeps (600 ms) before
    // it writes anything: the modified image still holds the first job's fill.
    let answered = modified(&engine, &live);
    drop(delay);
    assert!(
        answered == expected,
        "the job in flight filled a mask painted after it started"
    );
    live.end_stroke();
    let settled = result(&mut engine, &mut live, &s);
    assert_ne!(
        settled.0,
        expected.into_raw(),
        "the later stroke was filled next"
    );
}

/// GPU path, Telea: while a brush stroke is drawn, a preview fills only what the hole gained
/// (the fill already shown stays as it is), and the released stroke is filled whole: the same
/// bytes as a fresh editor's.
#[test]
fn a_telea_preview_fills_only_the_new_part_and_the_release_fills_whole() {
    let Some((mut engine, img)) = engine(Inference::Gpu) else {
        return;
    };
    engine.pipeline(ModelKind::SqueezeNet).unwrap();
    let s = ViewSettings::default();
    let points = [(30.0, 40.0), (90.0, 60.0), (150.0, 70.0)];
    let mut live = Editor::new(&engine, &img).unwrap();
    live.settle(&mut engine, &s).unwrap();
    live.begin_stroke(false, 8.0, points[0]);
    live.extend_stroke(points[1]);
    live.settle(&mut engine, &s).unwrap();
    let first = modified(&engine, &live);
    let first_hole = live.mask_image().clone();
    live.extend_stroke(points[2]);
    live.settle(&mut engine, &s).unwrap();
    assert!(live.answers(&s), "the preview answers while drawing");
    let preview = modified(&engine, &live);
    let hole = live.mask_image().clone();
    let (mut kept, mut filled) = (0, 0);
    for (x, y, m) in hole.enumerate_pixels() {
        if first_hole.get_pixel(x, y)[0] != 0 {
            assert_eq!(
                preview.get_pixel(x, y),
                first.get_pixel(x, y),
                "({x}, {y}): the preview refilled the part already shown"
            );
            kept += 1;
        } else if m[0] != 0 && preview.get_pixel(x, y) != img.get_pixel(x, y) {
            filled += 1;
        }
    }
    assert!(kept > 0 && filled > 0, "kept {kept}, filled {filled}");
    live.end_stroke();
    let settled = result(&mut engine, &mut live, &s);

    let mut fresh = Editor::new(&engine, &img).unwrap();
    draw(&mut fresh, 8.0, &points);
    assert!(
        settled == result(&mut engine, &mut fresh, &s),
        "the released stroke's fill and table are a fresh editor's"
    );
}

/// GPU path, Telea: a brush stroke that covers the whole image while drawing (a preview would
/// build on the empty mask's fill) is refused as the cold fill refuses it, not shown unfilled.
#[test]
fn a_preview_over_the_whole_image_is_refused() {
    let Some((mut engine, img)) = engine(Inference::Gpu) else {
        return;
    };
    engine.pipeline(ModelKind::SqueezeNet).unwrap();
    let s = ViewSettings::default();
    let mut editor = Editor::new(&engine, &img).unwrap();
    draw(&mut editor, 8.0, &[(30.0, 40.0), (90.0, 60.0)]);
    editor.settle(&mut engine, &s).unwrap();
    // Back to the empty mask, filled (the modified image is the original again).
    assert!(editor.undo());
    editor.settle(&mut engine, &s).unwrap();
    let (w, h) = editor.size;
    editor.begin_stroke(false, 4.0 * w.max(h) as f32, (0.0, 0.0));
    editor.extend_stroke((w as f32, h as f32));
    let err = editor.settle(&mut engine, &s).unwrap_err().to_string();
    assert!(err.contains("whole image"), "{err}");
}
