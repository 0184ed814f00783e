//! Bad input to `unsee classify`: each a clear one-line error naming the problem and a non-zero
//! exit, never a panic. Valid-but-unusual images (grayscale, 16-bit, alpha) are classified.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common;

/// Runs the unsee binary with `args` and extra environment `envs`.
pub fn unsee(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_unsee"));
    cmd.args(args).env_remove("RUST_LOG");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("running unsee")
}

/// Asserts a failure whose stderr is one `error:` line containing every string in `needles`.
pub fn assert_one_line_error(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "expected one error line: {stderr}");
    assert!(!errors.is_empty(), "no error line: {stderr}");
    let line = errors[0];
    for n in needles {
        assert!(line.contains(n), "error line {line:?} lacks {n:?}");
    }
}

/// This module's scratch folder.
pub fn scratch() -> PathBuf {
    let dir = common::output_dir("cli_errors");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `bytes` to `dir/name`; returns the path as a string.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// Saves `img` as `dir/name`; returns the path as a string.
pub fn save(dir: &Path, name: &str, img: image::DynamicImage) -> String {
    let path = dir.join(name);
    img.save(&path).unwrap();
    path.display().to_string()
}

/// A bundled gallery photo's path.
pub fn photo(name: &str) -> String {
    common::models_dir()
        .join("gallery")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn unreadable_images_are_one_line_errors() {
    let dir = scratch();
    let missing = dir.join("does-not-exist.jpg").display().to_string();
    assert_one_line_error(
        &unsee(&["classify", &missing], &[]),
        &["does-not-exist.jpg"],
    );

    let directory = dir.display().to_string();
    assert_one_line_error(
        &unsee(&["classify", &directory], &[]),
        &["cannot read image"],
    );

    let empty = write(&dir, "empty.jpg", b"");
    assert_one_line_error(&unsee(&["classify", &empty], &[]), &["empty.jpg", "empty"]);

    let jpeg = std::fs::read(common::models_dir().join("gallery/dog.jpg")).unwrap();
    let truncated = write(&dir, "truncated.jpg", &jpeg[..jpeg.len() / 2]);
    assert_one_line_error(&unsee(&["classify", &truncated], &[]), &["truncated.jpg"]);

    let text = write(&dir, "text.png", b"this is not an image at all\n");
    assert_one_line_error(&unsee(&["classify", &text], &[]), &["text.png"]);

    let tiny = save(&dir, "tiny.png", image::DynamicImage::new_rgb8(1, 1));
    assert_one_line_error(&unsee(&["classify", &tiny], &[]), &["tiny.png", "1x1"]);

    let huge = write(&dir, "huge.png", &png_header(100_000, 100_000));
    assert_one_line_error(
        &unsee(&["classify", &huge], &[]),
        &["huge.png", "100000x100000"],
    );
}

#[test]
fn bad_weights_and_arguments_are_one_line_errors() {
    let dir = scratch();
    let models = dir.join("models-missing");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::copy(
        common::models_dir().join("imagenet_classes.txt"),
        models.join("imagenet_classes.txt"),
    )
    .unwrap();
    let models_arg = models.display().to_string();
    let out = unsee(
        &["classify", "--models", &models_arg, &photo("coffee.png")],
        &[],
    );
    assert_one_line_error(
        &out,
        &["squeezenet1_1_caffe_bgr.safetensors", "missing", "8b7e9f78"],
    );

    let corrupt = dir.join("models-corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    std::fs::copy(
        common::models_dir().join("imagenet_classes.txt"),
        corrupt.join("imagenet_classes.txt"),
    )
    .unwrap();
    let mut weights = std::fs::read(common::models_dir().join("mobilenet_v2.safetensors")).unwrap();
    let mid = weights.len() / 2;
    weights[mid] ^= 0x40;
    std::fs::write(corrupt.join("mobilenet_v2.safetensors"), weights).unwrap();
    let corrupt_arg = corrupt.display().to_string();
    let out = unsee(
        &[
            "classify",
            "--model",
            "mobilenet",
            "--models",
            &corrupt_arg,
            &photo("coffee.png"),
        ],
        &[],
    );
    assert_one_line_error(&out, &["mobilenet_v2.safetensors", "corrupt", "64613519"]);

    let out = unsee(
        &["classify", "--model", "alexnet", &photo("coffee.png")],
        &[],
    );
    assert_one_line_error(&out, &["alexnet"]);

    let out = unsee(
        &[
            "classify",
            "--adapter",
            "no-such-gpu-anywhere",
            &photo("coffee.png"),
        ],
        &[],
    );
    assert_one_line_error(&out, &["no GPU adapter matches", "no-such-gpu-anywhere"]);

    // No Vulkan driver at all: the error says what to install.
    let out = unsee(
        &["classify", &photo("coffee.png")],
        &[
            ("WGPU_BACKEND", "vulkan"),
            ("VK_ICD_FILENAMES", "/nonexistent.json"),
            ("VK_DRIVER_FILES", "/nonexistent.json"),
        ],
    );
    assert_one_line_error(&out, &["no GPU adapter found", "mesa-vulkan-drivers"]);
}

#[test]
fn bad_inpaint_masks_are_one_line_errors() {
    let dir = scratch();
    let image = photo("coffee.png");
    let small = save(
        &dir,
        "small_mask.png",
        image::DynamicImage::new_luma8(64, 64),
    );
    let out_path = dir.join("out.png").display().to_string();
    let out = unsee(&["inpaint", "--mask", &small, &image, "-o", &out_path], &[]);
    assert_one_line_error(&out, &["small_mask.png", "64x64"]);

    let (w, h) = image::image_dimensions(common::models_dir().join("gallery/coffee.png")).unwrap();
    let full = save(
        &dir,
        "full_mask.png",
        image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(w, h, image::Luma([255]))),
    );
    let out = unsee(&["inpaint", "--mask", &full, &image, "-o", &out_path], &[]);
    assert_one_line_error(&out, &["full_mask.png", "whole image"]);

    // PatchMatch with no 7x7 patch of known pixels left: a clear error, not garbage.
    let small = save(&dir, "small16.png", image::DynamicImage::new_rgb8(16, 16));
    let mut m = image::GrayImage::new(16, 16);
    for y in 2..14 {
        for x in 2..14 {
            m.put_pixel(x, y, image::Luma([255]));
        }
    }
    let big_hole = save(&dir, "big_hole.png", image::DynamicImage::ImageLuma8(m));
    let out = unsee(
        &[
            "inpaint",
            "--method",
            "patchmatch",
            "--mask",
            &big_hole,
            &small,
            "-o",
            &out_path,
        ],
        &[],
    );
    assert_one_line_error(&out, &["7x7 patch of known pixels"]);
}

#[test]
fn unusual_pixel_formats_are_classified() {
    if common::gpu().is_none() {
        return;
    }
    let dir = scratch();
    let src = image::open(common::models_dir().join("gallery/coffee.png")).unwrap();
    let gray = save(
        &dir,
        "gray.png",
        image::DynamicImage::ImageLuma8(src.to_luma8()),
    );
    let deep = save(
        &dir,
        "deep16.png",
        image::DynamicImage::ImageRgb16(src.to_rgb16()),
    );
    let alpha = save(
        &dir,
        "alpha.png",
        image::DynamicImage::ImageRgba8(src.to_rgba8()),
    );
    let out = unsee(&["classify", "--json", &gray, &deep, &alpha], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = json.as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        assert_eq!(r["model"], "squeezenet");
        let top5 = r["top5"].as_array().unwrap();
        assert_eq!(top5.len(), 5);
        let p: Vec<f64> = top5
            .iter()
            .map(|t| t["probability"].as_f64().unwrap())
            .collect();
        assert!(p.windows(2).all(|w| w[0] >= w[1]) && p.iter().all(|&x| (0.0..=1.0).contains(&x)));
    }
    // Colour and 16-bit versions of the espresso photo are still espresso (class 967).
    assert_eq!(results[1]["top5"][0]["index"], 967, "{}", results[1]);
    assert_eq!(results[2]["top5"][0]["index"], 967, "{}", results[2]);
}

/// A PNG whose IHDR claims `w` x `h`, followed by an empty IDAT and IEND (a few dozen bytes).
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    for (kind, data) in [(b"IHDR", &ihdr[..]), (b"IDAT", &[][..]), (b"IEND", &[][..])] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        png.extend_from_slice(&body);
        png.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn numeric_options_are_range_checked_and_show_their_range() {
    use unsee::limits;
    let range =
        |start: &dyn std::fmt::Display, end: &dyn std::fmt::Display| format!("{start}..={end}");
    let photo = photo("coffee.png");
    // (subcommand and the other arguments it needs, option, range, values outside it)
    let cases: [(&[&str], &str, String, &[&str]); 6] = [
        (
            &["inpaint", "--mask", "m.png", "-o", "o.png", &photo],
            "--radius",
            range(limits::TELEA_RADIUS.start(), limits::TELEA_RADIUS.end()),
            &["0", "101", "-1", "4294967295", "x"],
        ),
        (
            &["explain", "-o", "o.png", &photo],
            "--grid",
            range(limits::GRID.start(), limits::GRID.end()),
            &["0", "1", "65"],
        ),
        (
            &["explain", "-o", "o.png", &photo],
            "--threshold",
            range(limits::THRESHOLD.start(), limits::THRESHOLD.end()),
            &["NaN", "2", "-1", "inf", "x"],
        ),
        (
            &["bench", "--quick"],
            "--runs",
            range(limits::RUNS.start(), limits::RUNS.end()),
            &["0", "10001", "-1"],
        ),
        (
            &["classify", &photo],
            "--top",
            range(limits::TOP.start(), limits::TOP.end()),
            &["0", "1001"],
        ),
        (
            &["view"],
            "--frames",
            range(limits::FRAMES.start(), limits::FRAMES.end()),
            &["0", "100001"],
        ),
    ];
    for (base, option, range, bad) in cases {
        for value in bad {
            // `--opt=value`: a negative value is then a value, not an option.
            let pair = format!("{option}={value}");
            let mut args = base.to_vec();
            args.push(&pair);
            let out = unsee(&args, &[]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains(option) && !stderr.contains("panicked"),
                "{args:?}: {stderr}"
            );
        }
        let help = unsee(&[base[0], "--help"], &[]);
        let help = String::from_utf8_lossy(&help.stdout);
        // The option's entry: its line and the description lines up to the next option.
        let mut lines = help
            .lines()
            .skip_while(|l| !l.trim_start().starts_with(option));
        let first = lines
            .next()
            .unwrap_or_else(|| panic!("{option} not in {} --help", base[0]));
        let line = std::iter::once(first)
            .chain(lines.take_while(|l| !l.trim_start().starts_with('-')))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(line.contains(&range), "{option}: {line:?} lacks {range}");
    }
}

#[test]
fn an_os_error_is_printed_once() {
    let missing = scratch().join("no-such-photo.jpg");
    let out = unsee(&["classify", missing.to_str().unwrap()], &[]);
    assert_one_line_error(&out, &["no-such-photo.jpg"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");

    // A file where an output folder should be: the message names it (not a bare "File exists").
    let file = write(&scratch(), "in-the-way", b"x");
    let out = unsee(&["bench", "--quick", "--save-inputs", &file], &[]);
    assert_one_line_error(&out, &["in-the-way", "in the way"]);
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn an_occlusion_grid_finer_than_the_image_is_refused() {
    if common::gpu().is_none() {
        return;
    }
    let dir = scratch();
    let small = save(&dir, "small20.png", image::DynamicImage::new_rgb8(20, 16));
    let out = dir.join("grid_map.png").display().to_string();
    let res = unsee(&["explain", "--grid", "17", &small, "-o", &out], &[]);
    assert_one_line_error(&res, &["grid 17", "20x16", "at most 16"]);
    assert!(!Path::new(&out).exists());
}
