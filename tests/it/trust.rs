//! Can an explanation be trusted: Grad-CAM against CAM, deletion curves and sliding occlusion on a
//! synthetic photo whose object is known exactly, the log-odds scale for an unlikely class.

use image::{GrayImage, RgbaImage};
use unsee::classify::ClassifyPipeline;
use unsee::explain::curves::{self, Curve};
use unsee::explain::evaluate::{self, EvalSettings};
use unsee::explain::gradcam::{self, GradMethod};
use unsee::explain::variants::Eraser;
use unsee::explain::{self, Score, Windows};
use unsee::gpu::GpuContext;
use unsee::inpaint::{InpaintParams, Inpainter};
use unsee::models::probe::Probe;
use unsee::models::{ModelKind, Preset};

use crate::common;

/// The dog of dog.jpg (x 0.12–0.45, y 0.33–0.97 of the photo) pasted at a known place on a plain
/// grey 224² background, and the mask of exactly the pasted pixels.
fn dog_on_plain() -> (RgbaImage, GrayImage) {
    let photo = unsee::image_io::load_image(&common::models_dir().join("gallery/dog.jpg")).unwrap();
    let (w, h) = photo.dimensions();
    let (x0, y0) = ((w as f32 * 0.12) as u32, (h as f32 * 0.33) as u32);
    let (x1, y1) = ((w as f32 * 0.45) as u32, (h as f32 * 0.97) as u32);
    let crop = image::imageops::crop_imm(&photo, x0, y0, x1 - x0, y1 - y0).to_image();
    let crop = image::imageops::resize(&crop, 100, 150, image::imageops::FilterType::Triangle);
    let mut img = RgbaImage::from_pixel(224, 224, image::Rgba([128, 128, 128, 255]));
    let mut mask = GrayImage::new(224, 224);
    let (px, py) = (100, 50);
    image::imageops::overlay(&mut img, &crop, px, py);
    for y in py..py + 150 {
        for x in px..px + 100 {
            mask.put_pixel(x as u32, y as u32, image::Luma([255]));
        }
    }
    (img, mask)
}

/// An engine of its own (the viewer's editor holds one) with inference on burn's CPU backend.
fn cpu_engine() -> unsee::engine::Engine {
    let gpu = GpuContext::headless(&unsee::gpu::GpuOptions::from_arg(None)).unwrap();
    unsee::engine::Engine::with_inference(
        gpu,
        common::models_dir(),
        unsee::classify::Inference::Cpu,
    )
    .unwrap()
}

fn cpu_pipeline(gpu: &GpuContext, kind: ModelKind) -> ClassifyPipeline {
    ClassifyPipeline::with_inference(gpu, kind, Preset::Default, &common::models_dir(), false)
        .unwrap()
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (
        a.iter().map(|&v| f64::from(v)).sum::<f64>() / n,
        b.iter().map(|&v| f64::from(v)).sum::<f64>() / n,
    );
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x) - ma, f64::from(y) - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt().max(1e-30)
}

#[test]
fn gradcam_at_the_last_layer_is_cam() {
    let Some(gpu) = common::gpu() else { return };
    let img = unsee::image_io::load_image(&common::models_dir().join("gallery/dog.jpg")).unwrap();
    for (kind, on_gpu) in [
        (ModelKind::SqueezeNet, false),
        (ModelKind::MobileNetV2, false),
        (ModelKind::SqueezeNet, true),
    ] {
        let pipeline = ClassifyPipeline::with_inference(
            gpu,
            kind,
            Preset::Default,
            &common::models_dir(),
            on_gpu,
        )
        .unwrap();
        let view = evaluate::model_view(&pipeline, &img);
        let class = pipeline.classify_image(gpu, &view, 1).unwrap()[0].index;
        let cam = explain::cam_map(gpu, &pipeline, &view, class).unwrap();
        for method in [GradMethod::GradCam, GradMethod::HiResCam] {
            let grad = gradcam::gradient_map(
                gpu,
                &pipeline,
                pipeline.input_from_image(&view),
                class,
                gradcam::last_layer(kind),
                method,
            )
            .unwrap();
            assert_eq!(grad.grid, cam.grid);
            let r = correlation(&grad.values, &cam.values);
            eprintln!("{} {method:?} (GPU {on_gpu}): r = {r:.5}", kind.name());
            assert!(r >= 0.99, "{} {method:?}: correlation {r}", kind.name());
        }
    }
}

#[test]
fn every_listed_layer_is_a_stage_of_the_forward_pass() {
    let Some(gpu) = common::gpu() else { return };
    struct Names(Vec<String>);
    impl Probe for Names {
        fn stage(&mut self, name: &dyn std::fmt::Display, _: &burn::tensor::Tensor<4>) {
            self.0.push(name.to_string());
        }
    }
    for kind in ModelKind::ALL {
        let pipeline = cpu_pipeline(gpu, kind);
        let s = pipeline.spec.size;
        let input = pipeline.input_from_image(&RgbaImage::new(s, s));
        let mut names = Names(Vec::new());
        pipeline.forward_probed(input, &mut names);
        for layer in gradcam::layers(kind) {
            assert!(
                names.0.contains(layer),
                "{}: {layer} is listed but never reported",
                kind.name()
            );
        }
        // A layer that is not there is refused with the list.
        let input = pipeline.input_from_image(&RgbaImage::new(s, s));
        let err = gradcam::gradient_map(gpu, &pipeline, input, 1, "pool9", GradMethod::GradCam)
            .unwrap_err()
            .to_string();
        assert!(err.contains(gradcam::last_layer(kind)), "{err}");
    }
}

#[test]
fn deleting_the_object_first_drops_the_class_faster_than_random() {
    let Some(gpu) = common::gpu() else { return };
    let (img, object) = dog_on_plain();
    let inpainter = Inpainter::new(&gpu.device).unwrap();
    for kind in ModelKind::ALL {
        let pipeline = cpu_pipeline(gpu, kind);
        let view = evaluate::model_view(&pipeline, &img);
        let object = image::imageops::resize(
            &object,
            view.width(),
            view.height(),
            image::imageops::FilterType::Nearest,
        );
        let class = pipeline.classify_image(gpu, &view, 1).unwrap().remove(0);
        eprintln!("{}: {} {:.3}", kind.name(), class.label, class.probability);
        let settings = EvalSettings {
            steps: 10,
            ..EvalSettings::default()
        };
        let eraser = Eraser::new(gpu, &pipeline, &view).unwrap();
        let size = view.dimensions();
        // The object's pixels first, then the background, each in the random baseline's order.
        let random = curves::random_order(size, evaluate::random_block(size), 0);
        let inside = |i: &u32| object.as_raw()[*i as usize] != 0;
        let object_first: Vec<u32> = random
            .iter()
            .copied()
            .filter(inside)
            .chain(random.iter().copied().filter(|i| !inside(i)))
            .collect();
        let run = |order: &[u32]| -> (Curve, Curve) {
            evaluate::curves_of(
                gpu,
                &inpainter,
                &pipeline,
                &eraser,
                order,
                class.index,
                &settings,
            )
            .unwrap()
        };
        let (truth, _) = run(&object_first);
        let (chance, _) = run(&random);
        eprintln!(
            "{}: deletion AUC object first {:.4}, random {:.4}; {:?} vs {:?}",
            kind.name(),
            truth.auc(),
            chance.auc(),
            truth.probabilities,
            chance.probabilities
        );
        assert!((truth.probabilities[0] - class.probability).abs() < 0.02);
        assert!(
            truth.auc() < chance.auc(),
            "{}: removing the object first ({}) should beat random order ({})",
            kind.name(),
            truth.auc(),
            chance.auc()
        );
    }
}

#[test]
fn sliding_occlusion_peaks_on_the_object_and_log_odds_reads_unlikely_classes() {
    let Some(gpu) = common::gpu() else { return };
    let (img, object) = dog_on_plain();
    let inpainter = Inpainter::new(&gpu.device).unwrap();
    let pipeline = cpu_pipeline(gpu, ModelKind::MobileNetV2);
    let probs = {
        let input = pipeline.input_from_image(&img);
        unsee::classify::read_probabilities(gpu, pipeline.forward(input).logits).unwrap()
    };
    let top = (0..1000)
        .max_by(|&a, &b| probs[a].total_cmp(&probs[b]))
        .unwrap();
    let windows = || Windows::sliding(img.dimensions(), 0.2, 0.1).unwrap();
    let map = |class, score| {
        explain::occlusion_map(
            gpu,
            &inpainter,
            &pipeline,
            &img,
            class,
            windows(),
            score,
            &InpaintParams::default(),
            32,
            |_, _| (),
        )
        .unwrap()
    };
    let top_map = map(top, Score::LogOdds);
    let (bx, by) = top_map.argmax();
    let [x0, y0, x1, y1] = explain::cell_rect(img.dimensions(), top_map.grid, (bx, by));
    let centre = ((x0 + x1) / 2, (y0 + y1) / 2);
    eprintln!(
        "top class {top}: strongest cell {:?} at {centre:?}",
        (bx, by)
    );
    assert_ne!(
        object.get_pixel(centre.0, centre.1)[0],
        0,
        "the strongest cell {centre:?} is not on the pasted object"
    );

    // A class the photo is not: under 1%. Its probability barely moves anywhere; its log-odds do.
    let unlikely = (0..1000)
        .filter(|&c| probs[c] < 0.01 && probs[c] > 1e-6)
        .min_by(|&a, &b| (probs[a] - 1e-4).abs().total_cmp(&(probs[b] - 1e-4).abs()))
        .unwrap();
    let spread = |m: &explain::Map| {
        let lo = m.values.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = m.values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        hi - lo
    };
    let log_odds = map(unlikely, Score::LogOdds);
    let probability = map(unlikely, Score::Probability);
    eprintln!(
        "class {unlikely} at p = {:.2e}: log-odds spread {:.3}, probability spread {:.2e}",
        probs[unlikely],
        spread(&log_odds),
        spread(&probability)
    );
    assert!(spread(&log_odds) > 0.2, "log-odds map is flat");
    assert!(spread(&probability) < 0.01);
}

#[test]
fn the_viewer_draws_gradient_maps_at_the_chosen_layer() {
    use unsee::editor::{CamMethod, Editor, ViewSettings};
    use unsee::gpu::texture::read_rgba;
    let Some(_) = common::gpu() else { return };
    let mut engine = cpu_engine();
    engine.pipeline(ModelKind::SqueezeNet).unwrap();
    let img = unsee::image_io::load_image(&common::models_dir().join("gallery/dog.jpg")).unwrap();
    let img = image::imageops::resize(&img, 160, 120, image::imageops::FilterType::Triangle);
    let mut editor = Editor::new(&engine, &img).unwrap();
    let mut settings = ViewSettings {
        cam_class: Some(537),
        cam_opacity: 1.0,
        ..ViewSettings::default()
    };
    let mut picture = |settings: &ViewSettings| {
        editor.settle(&mut engine, settings).unwrap();
        let g = &engine.gpu;
        read_rgba(&g.device, &g.queue, editor.display_original()).unwrap()
    };
    let cam = picture(&settings);
    settings.cam_method = CamMethod::Gradient(GradMethod::GradCam);
    // At the last layer Grad-CAM is the CAM (ReLU'd): nearly the same picture.
    let last = picture(&settings);
    settings.cam_layer = gradcam::layers(ModelKind::SqueezeNet)
        .iter()
        .position(|l| l == "fire5.expand");
    assert_eq!(settings.layer_name(), "fire5.expand");
    let earlier = picture(&settings);
    let differ = |a: &RgbaImage, b: &RgbaImage| {
        a.pixels()
            .zip(b.pixels())
            .filter(|(p, q)| p.0.iter().zip(q.0).any(|(x, y)| x.abs_diff(y) > 8))
            .count()
    };
    let n = (160 * 120) as usize;
    eprintln!(
        "pixels differing: CAM vs Grad-CAM last {}, vs fire5.expand {}",
        differ(&cam, &last),
        differ(&cam, &earlier)
    );
    assert!(
        differ(&cam, &last) < n / 10,
        "Grad-CAM at the last layer is the CAM"
    );
    assert!(
        differ(&cam, &earlier) > n / 10,
        "an earlier layer draws another map"
    );
}

#[test]
fn the_viewer_computes_deletion_curves_in_slices() {
    use unsee::app::curves::{CurveKey, CurveRun};
    use unsee::classify::Inference;
    use unsee::editor::{Editor, ViewSettings};
    let Some(_) = common::gpu() else { return };
    let img = unsee::image_io::load_image(&common::models_dir().join("gallery/dog.jpg")).unwrap();
    for inference in [Inference::Cpu, Inference::Gpu] {
        let gpu = GpuContext::headless(&unsee::gpu::GpuOptions::from_arg(None)).unwrap();
        let mut engine =
            unsee::engine::Engine::with_inference(gpu, common::models_dir(), inference).unwrap();
        let editor = Editor::new(&engine, &img).unwrap();
        let settings = ViewSettings {
            model: ModelKind::MobileNetV2,
            cam_class: Some(248),
            ..ViewSettings::default()
        };
        let key = CurveKey::wanted(&settings).unwrap();
        let waits = unsee::gpu::readback::waits_on_this_thread();
        let mut run = CurveRun::new(&mut engine, &editor, key.clone()).unwrap();
        let total = run.progress().1;
        assert_eq!(total, 4 * 11, "two orders, two directions, 10 steps");
        // Starting the run only started the map that orders the pixels (on a worker, or on
        // its way back from the GPU): the first frame has nothing to take yet (computed inline,
        // on the CPU path a batch would be done by now).
        if inference == Inference::Cpu {
            assert!(run.step(&engine).unwrap().is_none());
            assert_eq!(run.progress().0, 0, "the map was computed in the frame");
        }
        let mut frames = 0;
        let curves = loop {
            frames += 1;
            if let Some(c) = run.step(&engine).unwrap() {
                break c;
            }
            assert!(run.progress().0 < total);
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert!(frames > 1, "the work is spread over frames");
        assert_eq!(
            unsee::gpu::readback::waits_on_this_thread(),
            waits,
            "{inference:?}: a frame waited for a readback"
        );
        assert_eq!(curves.key, key);
        let (map, random) = (&curves.methods[0], &curves.methods[1]);
        eprintln!(
            "{inference:?}: CAM deletion AUC {:.4} vs random {:.4} in {frames} frames",
            map.deletion.auc(),
            random.deletion.auc()
        );
        assert!(map.deletion.auc() < random.deletion.auc());
    }
}

#[test]
fn evaluate_prints_the_areas_and_writes_the_plots() {
    if common::gpu().is_none() {
        return;
    }
    let dir = common::output_dir("evaluate_cli");
    let plots = dir.join("plots");
    let image = common::models_dir().join("gallery/dog.jpg");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_unsee"))
        .args(["--inference", "cpu", "evaluate", "--model", "mobilenet"])
        .args(["--steps", "4", "--json", "--plots"])
        .arg(&plots)
        .arg(&image)
        .env("UNSEE_MODELS", common::models_dir())
        .output()
        .expect("running unsee evaluate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("evaluate JSON");
    let images = report.as_array().expect("an array, one entry per image");
    assert_eq!(images.len(), 1);
    let r = &images[0];
    assert_eq!(r["model"], "mobilenet");
    assert_eq!(r["image"], image.display().to_string());
    assert!(r["class"].as_u64().unwrap() < 1000);
    let names: Vec<&str> = r["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cam", "gradcam", "occlusion", "random"]);
    for m in r["methods"].as_array().unwrap() {
        for key in ["deletion_auc", "insertion_auc"] {
            let v = m[key].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{key} {v}");
        }
        assert_eq!(m["deletion"].as_array().unwrap().len(), 5);
    }
    let plot = image::open(plots.join("dog_mobilenet_curves.png")).expect("the plot");
    assert!(plot.width() > 400);

    // Bad input is refused by name, before any work.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_unsee"))
        .args(["evaluate", "--steps", "1"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("steps"));
}

#[test]
fn explain_help_lists_every_layer() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_unsee"))
        .args(["explain", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let words: std::collections::HashSet<&str> = help
        .split_whitespace()
        .map(|w| w.trim_end_matches([',', '.']))
        .collect();
    for kind in ModelKind::ALL {
        for layer in gradcam::layers(kind) {
            assert!(
                words.contains(layer.as_str()),
                "`unsee explain --help` does not list {layer}"
            );
        }
    }
}
