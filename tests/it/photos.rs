//! Top-5 on the bundled photos against onnxruntime with the same preprocessing
//! (references: scripts/make_references.py, which decodes with Pillow).

use unsee::classify::ClassifyPipeline;
use unsee::gpu::texture;
use unsee::image_io;
use unsee::models::{ModelKind, Preset};

use crate::common;

#[test]
fn gallery_top5_matches_onnxruntime() {
    let Some(gpu) = common::gpu() else { return };
    let refs = common::test_data("ref_top5.json");
    let gallery = common::models_dir().join("gallery");
    for kind in ModelKind::ALL {
        let pipeline =
            ClassifyPipeline::new(gpu, kind, Preset::Default, &common::models_dir()).unwrap();
        for (photo, by_model) in refs.as_object().unwrap() {
            let img = image_io::load_image(&gallery.join(photo)).unwrap();
            let tex = texture::upload_rgba(&gpu.device, &gpu.queue, &img, "test.photo").unwrap();
            let probs = pipeline.probabilities(gpu, &tex).unwrap();
            let ours = unsee::models::top_k(&probs, &pipeline.labels, 5);
            let expected = by_model[kind.name()].as_array().unwrap();
            // PNGs decode identically everywhere; JPEG decoders (Pillow's libjpeg vs the image
            // crate's) differ by ±1 level on some pixels, which moves probabilities slightly.
            let tolerance = if photo.ends_with(".png") { 0.005 } else { 0.02 };
            let report = format!(
                "{}/{photo}: ours {:?}",
                kind.name(),
                ours.iter()
                    .map(|p| (p.index, p.probability))
                    .collect::<Vec<_>>()
            );
            assert_eq!(
                ours[0].index as u64,
                expected[0]["index"].as_u64().unwrap(),
                "top-1 differs: {report}"
            );
            for e in expected {
                let index = e["index"].as_u64().unwrap() as usize;
                let p_ref = e["probability"].as_f64().unwrap() as f32;
                let diff = (probs[index] - p_ref).abs();
                assert!(
                    diff <= tolerance,
                    "class {index}: {} vs {p_ref} ({report})",
                    probs[index]
                );
                // A class clearly inside the reference top-5 must be in ours too; near-ties at the
                // cut-off may swap with the sixth.
                let fifth = expected[4]["probability"].as_f64().unwrap() as f32;
                if p_ref > fifth + 2.0 * tolerance {
                    assert!(
                        ours.iter().any(|p| p.index == index),
                        "class {index} missing: {report}"
                    );
                }
            }
        }
    }
}
