//! The real window (under Xvfb where there is no display): a scripted stroke, a screenshot, and
//! pixel checks that it shows the image, the mask overlay and the tables.

use std::path::Path;
use std::process::{Command, Output};

use image::RgbaImage;

use crate::common;

/// Runs `unsee view` with `args`: on the current display, else under `xvfb-run`. `None` (skip)
/// when neither exists and GPU tests are not required.
pub(crate) fn run_view(args: &[&str]) -> Option<Output> {
    let bin = env!("CARGO_BIN_EXE_unsee");
    let has_display =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let mut cmd = if has_display {
        Command::new(bin)
    } else if Command::new("xvfb-run").arg("--help").output().is_ok() {
        let mut c = Command::new("xvfb-run");
        c.args(["-a", "-s", "-screen 0 1600x1000x24", bin]);
        c
    } else if common::require_gpu() {
        panic!(
            "REQUIRE_GPU=1 but there is no display and no xvfb-run (apt-get install xvfb xauth)"
        );
    } else {
        eprintln!("skipping: no display and no xvfb-run");
        return None;
    };
    cmd.arg("view").args(args).env_remove("RUST_LOG");
    Some(cmd.output().expect("running unsee view"))
}

fn screenshot(args: &[&str], path: &Path) -> Option<RgbaImage> {
    let path_s = path.display().to_string();
    let mut all = vec!["--frames", "12", "--screenshot", path_s.as_str()];
    all.extend_from_slice(args);
    let out = run_view(&all)?;
    assert!(
        out.status.success(),
        "unsee view failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(image::open(path).expect("a screenshot").to_rgba8())
}

#[test]
fn window_shows_image_mask_and_tables() {
    if common::gpu().is_none() {
        return;
    }
    let dir = common::output_dir("window");
    let photo = common::models_dir()
        .join("gallery/dog.jpg")
        .display()
        .to_string();
    let Some(edited) = screenshot(&[&photo], &dir.join("stroke.png")) else {
        return;
    };
    let Some(plain) = screenshot(&[&photo, "--no-stroke"], &dir.join("plain.png")) else {
        return;
    };
    assert_eq!(edited.dimensions(), plain.dimensions());
    let (w, h) = plain.dimensions();
    assert!(w >= 800 && h >= 500, "window {w}x{h}");

    // The side panel is about the left 390 points; the image fills the rest.
    let panel = (w as f32 * 0.28) as u32;
    let luma = |p: &image::Rgba<u8>| {
        0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
    };

    // The image is there: the central area of the untouched run has photo-like variety.
    let central: Vec<f32> = (panel..w)
        .step_by(3)
        .flat_map(|x| (h / 10..h * 8 / 10).step_by(3).map(move |y| (x, y)))
        .map(|(x, y)| luma(plain.get_pixel(x, y)))
        .collect();
    let mean = central.iter().sum::<f32>() / central.len() as f32;
    let sd =
        (central.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / central.len() as f32).sqrt();
    assert!(sd > 30.0, "central area looks flat (sd {sd:.1}): no image?");

    // The stroke shows: pixels in the image area differ, and they lean to the mask's red tint.
    let (mut changed, mut redder) = (0usize, 0usize);
    for y in 0..h {
        for x in panel..w {
            let (a, b) = (edited.get_pixel(x, y), plain.get_pixel(x, y));
            if a != b {
                changed += 1;
                let red = |p: &image::Rgba<u8>| i32::from(p[0]) - i32::from(p[1]);
                if red(a) > red(b) {
                    redder += 1;
                }
            }
        }
    }
    assert!(
        changed > 5000,
        "only {changed} pixels of the image area changed"
    );
    assert!(
        redder * 10 > changed * 6,
        "{redder} of {changed} changed pixels are redder"
    );

    // The tables show text, and the Modified table's numbers changed with the stroke.
    let bright = |img: &RgbaImage| {
        (0..panel)
            .flat_map(|x| (h / 2..h).map(move |y| (x, y)))
            .filter(|&(x, y)| luma(img.get_pixel(x, y)) > 150.0)
            .count()
    };
    assert!(bright(&plain) > 500, "no text in the tables area");
    let table_changes = (0..panel)
        .flat_map(|x| (h / 2..h).map(move |y| (x, y)))
        .filter(|&(x, y)| edited.get_pixel(x, y) != plain.get_pixel(x, y))
        .count();
    assert!(
        table_changes > 200,
        "the tables did not change with the stroke ({table_changes} pixels)"
    );
}

#[test]
fn window_reports_unreadable_image() {
    if common::gpu().is_none() {
        return;
    }
    let dir = common::output_dir("window");
    let bad = dir.join("not-an-image.png");
    std::fs::write(&bad, b"hello").unwrap();
    let bad_s = bad.display().to_string();
    let Some(out) = run_view(&[&bad_s, "--frames", "2"]) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("not-an-image.png"), "{stderr}");
}

/// `--offscreen` draws the same frames with no display at all (a GPU machine with none): the
/// scripted stroke is painted, the tables answer it, and the measurements are printed.
#[test]
fn the_viewer_runs_offscreen_without_a_display() {
    if common::gpu().is_none() {
        return;
    }
    let dir = common::output_dir("window_offscreen");
    let shot = dir.join("offscreen.png");
    let photo = common::models_dir().join("gallery/dog.jpg");
    let out = Command::new(env!("CARGO_BIN_EXE_unsee"))
        .arg("view")
        .arg(&photo)
        .args(["--frames", "12", "--offscreen", "--screenshot"])
        .arg(&shot)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "unsee view --offscreen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["frames"], 12);
    assert!(report["fps"].as_f64().is_some_and(|f| f > 0.0), "{report}");
    assert!(report["painting_fps"].as_f64().is_some(), "{report}");
    assert!(
        report["last_stroke_to_answer_ms"]
            .as_f64()
            .is_some_and(|ms| ms > 0.0),
        "the stroke was answered: {report}"
    );
    let img = image::open(&shot).unwrap().to_rgba8();
    assert_eq!(img.dimensions(), (1400, 900), "the default window's size");
    // The panel's dark background and the photo's variety are both there.
    let luma: Vec<f32> = img
        .pixels()
        .step_by(97)
        .map(|p| f32::from(p[0]) + f32::from(p[1]) + f32::from(p[2]))
        .collect();
    let mean = luma.iter().sum::<f32>() / luma.len() as f32;
    let sd = (luma.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / luma.len() as f32).sqrt();
    assert!(sd > 60.0, "a flat frame (sd {sd:.1}): nothing drawn?");
}
