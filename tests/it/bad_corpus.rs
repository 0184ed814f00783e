//! Every command over the corpus of broken inputs in tests/data/bad/ (made by
//! scripts/make_bad_corpus.py): each run fails with exit code 1 or 2, never panics, names the bad
//! file, and leaves every file that was there before byte-identical — outputs included.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::cli_errors::unsee;
use crate::common;

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// The entries of `tests/data/bad/<kind>`, sorted.
fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = common::root().join("tests/data/bad").join(kind);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "empty corpus {}", dir.display());
    entries
}

/// Asserts the run failed cleanly (exit 1 or 2, no panic) with an `error:` line naming `name`.
fn assert_refused(out: &Output, what: &str, name: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        matches!(code, Some(1 | 2)),
        "{what}: exit {code:?}, stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: panic: {stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("error:") && l.contains(name)),
        "{what}: no error line names {name:?}: {stderr}"
    );
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn every_command_refuses_the_bad_corpus_and_keeps_existing_files() {
    let dir = common::output_dir("bad_corpus");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("steps")).unwrap();
    // The good inputs the bad ones are paired with: a 32x32 photo and a mask with one hole.
    let src = image::open(common::models_dir().join("gallery/coffee.png")).unwrap();
    let photo = dir.join("photo.png");
    src.resize_exact(32, 32, image::imageops::FilterType::Triangle)
        .to_rgb8()
        .save(&photo)
        .unwrap();
    let mask = dir.join("mask.png");
    image::GrayImage::from_fn(32, 32, |x, y| {
        image::Luma([if (8..16).contains(&x) && (8..16).contains(&y) {
            255
        } else {
            0
        }])
    })
    .save(&mask)
    .unwrap();
    // Outputs from an earlier run, which no failed run may touch.
    let out_png = dir.join("out.png");
    let out_jpg = dir.join("out.jpg");
    let mask_out = dir.join("mask_out.png");
    let figure = dir.join("figure.png");
    let steps = dir.join("steps");
    for (i, path) in [
        &out_png,
        &out_jpg,
        &mask_out,
        &figure,
        &steps.join("step001_modified.png"),
        &dir.join("out.txt"),
        &dir.join("out.gif"),
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(path, format!("precious output {i}\n")).unwrap();
    }
    let before = snapshot(&dir);
    let corpus_dir = common::root().join("tests/data/bad");
    let corpus_before = snapshot(&corpus_dir);

    let mut runs = 0;
    let mut check = |what: String, args: &[String], name: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_refused(&unsee(&args, &[]), &what, name);
        runs += 1;
    };
    let a = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    for bad in corpus("images") {
        let name = bad.file_name().unwrap().to_string_lossy().into_owned();
        let b = s(&bad);
        check(format!("classify {name}"), &a(&["classify", &b]), &name);
        check(
            format!("classify --json {name} twice"),
            &a(&["classify", "--json", &b, "--top", "1", &b]),
            &name,
        );
        check(
            format!("inpaint photo {name}"),
            &a(&[
                "inpaint",
                "--cpu",
                "--mask",
                &s(&mask),
                &b,
                "-o",
                &s(&out_png),
            ]),
            &name,
        );
        check(
            format!("inpaint mask {name}"),
            &a(&[
                "inpaint",
                "--cpu",
                "--mask",
                &b,
                &s(&photo),
                "-o",
                &s(&out_jpg),
            ]),
            &name,
        );
        check(
            format!("explain {name}"),
            &a(&[
                "explain",
                &b,
                "-o",
                &s(&out_png),
                "--mask-output",
                &s(&mask_out),
            ]),
            &name,
        );
    }
    for bad in corpus("masks") {
        let name = bad.file_name().unwrap().to_string_lossy().into_owned();
        check(
            format!("inpaint mask {name}"),
            &a(&[
                "inpaint",
                "--cpu",
                "--mask",
                &s(&bad),
                &s(&photo),
                "-o",
                &s(&out_png),
            ]),
            &name,
        );
    }
    for bad in corpus("sessions") {
        let name = bad.file_name().unwrap().to_string_lossy().into_owned();
        check(
            format!("replay {name}"),
            &a(&[
                "replay",
                &s(&bad),
                "-o",
                &s(&steps),
                "--figure",
                &s(&figure),
            ]),
            &name,
        );
        check(
            format!("replay {name}/session.json"),
            &a(&["replay", &s(&bad.join("session.json"))]),
            &name,
        );
    }
    // Bad outputs: checked before any work, and an output never replaces an input.
    let (p, m) = (s(&photo), s(&mask));
    for (what, args, name) in [
        (
            "unknown extension",
            vec!["inpaint", "--cpu", "--mask", &m, &p, "-o", "OUT.txt"],
            "out.txt",
        ),
        (
            "no extension",
            vec!["inpaint", "--cpu", "--mask", &m, &p, "-o", "OUT_noext"],
            "out_noext",
        ),
        (
            "output is the photo",
            vec!["inpaint", "--cpu", "--mask", &m, &p, "-o", &p],
            "photo.png",
        ),
        (
            "output is the mask",
            vec!["inpaint", "--cpu", "--mask", &m, &p, "-o", &m],
            "mask.png",
        ),
        (
            "explain output is the photo",
            vec!["explain", &p, "-o", &p],
            "photo.png",
        ),
        (
            "explain outputs clash",
            vec!["explain", &p, "-o", "OUT.png", "--mask-output", "OUT.png"],
            "out.png",
        ),
        (
            "screenshot format",
            vec!["view", &p, "--frames", "1", "--screenshot", "OUT.gif"],
            "out.gif",
        ),
        (
            "screenshot is the photo",
            vec!["view", &p, "--frames", "1", "--screenshot", &p],
            "photo.png",
        ),
        (
            "parent is a file",
            vec!["inpaint", "--cpu", "--mask", &m, &p, "-o", "PHOTO/x.png"],
            "x.png",
        ),
    ] {
        let args: Vec<String> = args
            .iter()
            .map(|x| x.replace("OUT", &s(&dir.join("out"))).replace("PHOTO", &p))
            .collect();
        check(what.to_owned(), &args, name);
    }
    assert!(runs > 100, "only {runs} runs");

    assert_eq!(snapshot(&dir), before, "a failed run changed a file");
    assert_eq!(
        snapshot(&corpus_dir),
        corpus_before,
        "a run changed the corpus"
    );
}
