//! `unsee bench --layers` and `--only`: the per-layer report and the case filter, end to end.

use std::process::Command;

use crate::common;

fn bench_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_unsee"))
        .arg("bench")
        .args(args)
        .args(["--json", "--runs", "1"])
        .env("UNSEE_MODELS", common::models_dir())
        .output()
        .expect("running unsee bench");
    assert!(
        out.status.success(),
        "unsee bench {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("bench JSON")
}

#[test]
fn layers_report_every_stage_for_modules_and_lowering() {
    // The bench opens the GPU context first (for the readback path): needs an adapter.
    if common::gpu().is_none() {
        return;
    }
    let report = bench_json(&["--layers", "--model", "squeezenet"]);
    let models = report["models"].as_array().unwrap();
    assert_eq!(models.len(), 2, "{report}");
    for (profile, lowered) in models.iter().zip([false, true]) {
        assert_eq!(profile["model"], "squeezenet");
        assert_eq!(profile["lowered"], lowered);
        let names: Vec<&str> = profile["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        for want in [
            "preprocess",
            "conv1",
            "pool1",
            "fire2.squeeze",
            "fire9.expand",
            "conv10",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        assert_eq!(names.last(), Some(&"softmax+read"));
        let sum: f64 = profile["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["median_ms"].as_f64().unwrap())
            .sum();
        let total = profile["total_ms"].as_f64().unwrap();
        assert!(
            total > 0.0 && (sum - total).abs() <= 1e-6 * total.max(1.0),
            "{sum} vs {total}"
        );
    }
}

#[test]
fn only_runs_the_named_cases() {
    if common::gpu().is_none() {
        return;
    }
    let report = bench_json(&["--quick", "--only", "telea-cpu/227,squeezenet/infer-cpu"]);
    let names: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["squeezenet/infer-cpu", "telea-cpu/227"]);
}
