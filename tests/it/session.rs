//! A recorded session is replayed stroke by stroke and gives its tables again.

use std::process::Command;

use unsee::classify::Inference;
use unsee::editor::{Editor, Stroke, ViewSettings};
use unsee::engine::Engine;
use unsee::gpu::{GpuContext, GpuOptions};
use unsee::inpaint::{InpaintParams, Method};
use unsee::session::{Session, top5_rows};

use crate::common;

#[test]
fn replay_reproduces_a_recorded_session() {
    if common::gpu().is_none() {
        return;
    }
    let dir = common::output_dir("session");
    let img =
        unsee::image_io::load_image(&common::models_dir().join("gallery/fruits.jpg")).unwrap();
    let img = image::imageops::resize(&img, 240, 180, image::imageops::FilterType::Triangle);
    img.save(dir.join("original.png")).unwrap();

    // Record: two strokes, seeded PatchMatch, MobileNetV2, on the CPU backend.
    let gpu = GpuContext::headless(&GpuOptions::from_arg(None)).unwrap();
    let mut engine = Engine::with_inference(gpu, common::models_dir(), Inference::Cpu).unwrap();
    let mut editor = Editor::new(&engine, &img).unwrap();
    let fill = InpaintParams {
        method: Method::PatchMatch,
        ..Default::default()
    };
    let settings = ViewSettings {
        model: unsee::models::ModelKind::MobileNetV2,
        inpaint: fill,
        ..Default::default()
    };
    let strokes = vec![
        Stroke {
            restore: false,
            radius: 10.0,
            points: vec![(40.0, 60.0), (90.0, 80.0), (120.0, 70.0)],
            runs: vec![],
            op: None,
        },
        Stroke {
            restore: false,
            radius: 6.0,
            points: vec![(150.0, 120.0), (200.0, 150.0)],
            runs: vec![],
            op: None,
        },
        // A whole-mask operation is recorded like a stroke and replayed in order.
        Stroke::operation(unsee::cpu::morphology::MaskOp::Grow(3)),
    ];
    for s in &strokes {
        editor.push_stroke(s.clone());
        editor.settle(&mut engine, &settings).unwrap();
    }
    let labels = engine.loaded(settings.model).unwrap().labels.clone();
    let rows = |p: &[f32]| top5_rows(p, &labels);
    let mut session = Session {
        image: "original.png".into(),
        model: settings.model,
        fill: fill.into(),
        strokes,
        original: rows(&editor.original_scores.as_ref().unwrap().probabilities),
        modified: rows(&editor.modified_scores.as_ref().unwrap().probabilities),
        // As saved before the path was recorded: replay picks its own.
        path: None,
    };
    session.save(&dir).unwrap();

    let replay = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_unsee"))
            .arg("replay")
            .args(args)
            .output()
            .unwrap()
    };
    let steps = dir.join("steps");
    let figure = dir.join("figure.png");
    let out = replay(&[
        dir.to_str().unwrap(),
        "-o",
        steps.to_str().unwrap(),
        "--figure",
        figure.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["reproduced"], true);
    assert_eq!(report["steps"].as_array().unwrap().len(), 3);
    assert!(
        steps.join("step003_mask.png").is_file() && steps.join("step001_modified.png").is_file()
    );

    // A recording whose tables the replay cannot give is reported as such.
    session.modified[0].index = (session.modified[0].index + 1) % 1000;
    let bad = dir.join("tampered");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::copy(dir.join("original.png"), bad.join("original.png")).unwrap();
    session.save(&bad).unwrap();
    let out = replay(&[bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("other tables"));
}
