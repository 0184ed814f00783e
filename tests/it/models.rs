//! Both models against onnxruntime on fixed inputs (references: scripts/make_references.py).

use burn::tensor::{Tensor, TensorData};
use unsee::classify::read_logits;
use unsee::models::{Classifier, ModelKind, Preset};

use crate::common;

/// The deterministic input pattern of `scripts/make_references.py::pattern`, `[1, 3, s, s]`.
fn pattern(size: usize, amplitude: f64, offset: f64) -> Vec<f32> {
    let mut out = Vec::with_capacity(3 * size * size);
    for c in 0..3 {
        for y in 0..size {
            for x in 0..size {
                let (c, y, x) = (c as f64, y as f64, x as f64);
                let v = (0.07 * x + 0.11 * y + 1.3 * c).sin()
                    + 0.5 * (0.013 * x * y / size as f64 * 7.0 + c).cos();
                out.push((offset + amplitude * v) as f32);
            }
        }
    }
    out
}

#[test]
fn logits_match_onnxruntime() {
    let Some(gpu) = common::gpu() else { return };
    let refs = common::test_data("ref_logits.json");
    for kind in ModelKind::ALL {
        let r = &refs[kind.name()];
        let size = r["size"].as_u64().unwrap() as usize;
        let input = pattern(
            size,
            r["amplitude"].as_f64().unwrap(),
            r["offset"].as_f64().unwrap(),
        );
        let expected: Vec<f32> = r["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();

        // Both inference paths: burn's wgpu backend on the shared device, and its CPU backend.
        for (place, device) in [
            ("gpu", gpu.burn.clone()),
            ("cpu", burn::tensor::Device::flex()),
        ] {
            let model =
                Classifier::load(kind, Preset::Default, &common::models_dir(), &device).unwrap();
            let x =
                Tensor::<4>::from_data(TensorData::new(input.clone(), [1, 3, size, size]), &device);
            let got = read_logits(gpu, model.forward(x).logits).unwrap();
            let max_ref = expected.iter().fold(0f32, |m, v| m.max(v.abs()));
            let max_diff = got
                .iter()
                .zip(&expected)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            eprintln!(
                "{}/{place}: max|Δlogit| = {max_diff:.2e}, max|logit| = {max_ref:.2}",
                kind.name()
            );
            assert!(
                max_diff <= 1e-3 * max_ref,
                "{}/{place}: max|Δ| {max_diff} > 1e-3 · {max_ref}",
                kind.name()
            );
        }
    }
}
