//! Occlusion by inpainting and CAM maps on a real photo; suggested masks.

use unsee::classify::ClassifyPipeline;
use unsee::explain::{self, Map, Score, Windows};
use unsee::inpaint::{InpaintParams, Inpainter};
use unsee::models::{ModelKind, Preset};

use crate::common;

fn dog() -> image::RgbaImage {
    let img = unsee::image_io::load_image(&common::models_dir().join("gallery/dog.jpg")).unwrap();
    image::imageops::resize(&img, 256, 192, image::imageops::FilterType::Triangle)
}

/// `kind` on the GPU or on burn's CPU backend (the software path's classifier).
fn classifier(gpu: &unsee::gpu::GpuContext, kind: ModelKind, on_gpu: bool) -> ClassifyPipeline {
    ClassifyPipeline::with_inference(gpu, kind, Preset::Default, &common::models_dir(), on_gpu)
        .unwrap()
}

/// Centre of a cell as fractions of the image.
fn centre(map: &Map, (x, y): (u32, u32)) -> (f32, f32) {
    (
        (x as f32 + 0.5) / map.grid.0 as f32,
        (y as f32 + 0.5) / map.grid.1 as f32,
    )
}

/// The dog in dog.jpg: x 0.12–0.45, y 0.33–0.97 of the image (a margin of half a cell added).
fn over_the_dog((x, y): (f32, f32)) -> bool {
    (0.05..0.52).contains(&x) && (0.26..1.0).contains(&y)
}

#[test]
fn occlusion_by_inpainting_finds_the_dog() {
    let Some(gpu) = common::gpu() else { return };
    let img = dog();
    let inpainter = Inpainter::new(&gpu.device).unwrap();
    for kind in ModelKind::ALL {
        // Burn's CPU backend: 49 variants in a few seconds even without a GPU.
        let pipeline = classifier(gpu, kind, false);
        let class = pipeline.classify_image(gpu, &img, 1).unwrap()[0].index;
        let mut calls = 0;
        let map = explain::occlusion_map(
            gpu,
            &inpainter,
            &pipeline,
            &img,
            class,
            Windows::grid(img.dimensions(), 7).unwrap(),
            Score::Probability,
            &InpaintParams::default(),
            16,
            |_, _| calls += 1,
        )
        .unwrap();
        assert_eq!(map.values.len(), 49);
        assert_eq!(calls, 4, "progress after each batch of 16");
        let best = map.argmax();
        eprintln!(
            "{}: class {class} ({}), strongest cell {best:?}, drop {:.3}",
            kind.name(),
            pipeline.labels.name(class),
            map.at(best.0, best.1)
        );
        assert!(
            over_the_dog(centre(&map, best)),
            "{}: strongest cell {best:?} is not over the dog",
            kind.name()
        );
        assert!(
            map.at(best.0, best.1) > 0.05,
            "{}: erasing the dog barely matters",
            kind.name()
        );
    }

    // The GPU path (fills on the GPU, preprocessing into burn's buffer) agrees with the CPU one.
    let gpu_pipe = ClassifyPipeline::new(
        gpu,
        ModelKind::SqueezeNet,
        Preset::Default,
        &common::models_dir(),
    )
    .unwrap();
    let cpu_pipe = classifier(gpu, ModelKind::SqueezeNet, false);
    let class = cpu_pipe.classify_image(gpu, &img, 1).unwrap()[0].index;
    let run = |p: &ClassifyPipeline| {
        explain::occlusion_map(
            gpu,
            &inpainter,
            p,
            &img,
            class,
            Windows::grid(img.dimensions(), 2).unwrap(),
            Score::Probability,
            &InpaintParams::default(),
            4,
            |_, _| (),
        )
        .unwrap()
    };
    let (a, b) = (run(&gpu_pipe), run(&cpu_pipe));
    for (x, y) in a.values.iter().zip(&b.values) {
        assert!(
            (x - y).abs() < 0.02,
            "GPU {:?} vs CPU {:?}",
            a.values,
            b.values
        );
    }
}

/// An occlusion run's step never records or computes a batch on the calling thread: on either
/// path it hands the batch to a worker thread, and a later step takes it once it is done. No
/// readback is waited for on the calling thread, and the map equals the one made waiting for
/// every batch.
#[test]
fn occlusion_steps_never_wait_and_give_the_same_map() {
    let Some(gpu) = common::gpu() else { return };
    let img = dog();
    let inpainter = Inpainter::new(&gpu.device).unwrap();
    for on_gpu in [true, false] {
        let pipeline = std::sync::Arc::new(classifier(gpu, ModelKind::SqueezeNet, on_gpu));
        let class = 0;
        let windows = || Windows::grid(img.dimensions(), 2).unwrap();
        let fill = InpaintParams::default();
        // Starting the run classifies nothing either (the untouched image is a variant).
        let waits = unsee::gpu::readback::waits_on_this_thread();
        let mut run =
            explain::OcclusionRun::new(gpu, &pipeline, &img, class, windows(), Score::Probability)
                .unwrap();
        let started = std::time::Instant::now();
        run.step(gpu, &inpainter, &pipeline, &fill, 2).unwrap();
        // Filling and classifying take milliseconds on any device: done on this thread, the
        // batch would be finished (or at least recorded and waited for inside burn) by now;
        // handed to the worker, it is still in flight.
        assert!(
            run.busy() && run.progress().0 == 0,
            "on_gpu {on_gpu}: the first step computed its batch on the calling thread"
        );
        let mut seen = vec![0];
        let map = loop {
            if let Some(map) = run.finished() {
                break map;
            }
            run.step(gpu, &inpainter, &pipeline, &fill, 2).unwrap();
            if seen.last() != Some(&run.progress().0) {
                seen.push(run.progress().0);
            }
            assert!(started.elapsed().as_secs() < 300, "no progress: {seen:?}");
            std::thread::sleep(std::time::Duration::from_millis(2));
        };
        // Whole batches only: the untouched image and the first window, then two windows a
        // batch.
        assert!(
            seen.iter().all(|d| [0, 1, 3, 4].contains(d)) && seen.last() == Some(&4),
            "{seen:?}"
        );
        assert_eq!(
            unsee::gpu::readback::waits_on_this_thread(),
            waits,
            "starting or stepping the run waited for a readback"
        );
        let waited = explain::occlusion_map(
            gpu,
            &inpainter,
            &pipeline,
            &img,
            class,
            windows(),
            Score::Probability,
            &fill,
            2,
            |_, _| (),
        )
        .unwrap();
        // The same passes on the same device; a tolerance in case two runs pick different
        // kernels.
        assert_eq!(map.grid, waited.grid);
        for (a, b) in map.values.iter().zip(&waited.values) {
            assert!(
                (a - b).abs() <= 1e-5,
                "on_gpu {on_gpu}: {:?} vs {:?}",
                map.values,
                waited.values
            );
        }
    }
}

#[test]
fn cam_maps_and_suggested_masks() {
    let Some(gpu) = common::gpu() else { return };
    let img = dog();
    for on_gpu in [true, false] {
        let pipeline = classifier(gpu, ModelKind::MobileNetV2, on_gpu);
        let class = pipeline.classify_image(gpu, &img, 1).unwrap()[0].index;
        let map = explain::cam_map(gpu, &pipeline, &img, class).unwrap();
        assert_eq!(
            map.grid,
            (7, 7),
            "MobileNetV2's last feature map at 224² is 7x7"
        );
        assert!(map.values.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(
            over_the_dog(centre(&map, map.argmax())),
            "CAM peak {:?} not over the dog",
            map.argmax()
        );
        // The suggested mask is exactly the thresholded (bilinear) map.
        let mask = explain::suggested_mask(&map, img.dimensions(), 0.6);
        let norm = map.normalized();
        for (x, y, m) in mask.enumerate_pixels() {
            assert_eq!(
                m[0] != 0,
                norm.sample(img.dimensions(), x, y) >= 0.6,
                "pixel ({x}, {y})"
            );
        }
        let covered = mask.pixels().filter(|m| m[0] != 0).count();
        assert!(covered > 0 && covered < mask.len() / 2, "{covered} pixels");
        // The viewer's suggestion polls for the map from a worker instead of waiting: the same
        // map.
        let pipeline = std::sync::Arc::new(pipeline);
        let pending =
            explain::cam_map_on_worker(gpu, &pipeline, std::sync::Arc::new(img.clone()), class)
                .unwrap();
        let polled = loop {
            if let Some(map) = pending.try_take(gpu) {
                break map.unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        };
        assert_eq!(polled, map);
    }
}

/// A batch whose answer stops being wanted (its run was cancelled) gives up before the fills
/// still to come, on the CPU path, and answers in full while it is wanted.
#[test]
fn a_cpu_batch_stops_between_its_fills_once_unwanted() {
    let Some(gpu) = common::gpu() else { return };
    let img = dog();
    let inpainter = Inpainter::new(&gpu.device).unwrap();
    let pipeline = classifier(gpu, ModelKind::SqueezeNet, false);
    let eraser = explain::variants::Eraser::new(gpu, &pipeline, &img).unwrap();
    let masks: Vec<image::GrayImage> = (0..6u32)
        .map(|i| {
            image::GrayImage::from_fn(256, 192, |x, y| {
                image::Luma([u8::from((x / 40 == i) && (40..100).contains(&y)) * 255])
            })
        })
        .collect();
    let fill = InpaintParams::default();
    let asked = std::sync::atomic::AtomicUsize::new(0);
    // Wanted for the first variant only.
    let wanted = || asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
    let stopped = eraser.probabilities_while(gpu, &inpainter, &pipeline, &masks, &fill, &wanted);
    assert!(
        stopped.is_err_and(|e| e.to_string().contains("cancelled")),
        "an unwanted batch went on to its end"
    );
    let rows = eraser
        .probabilities_while(gpu, &inpainter, &pipeline, &masks, &fill, &|| true)
        .unwrap();
    assert_eq!(rows.len(), masks.len());
}
