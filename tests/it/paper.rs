//! Reproduction of the 2018 paper's figures (SqueezeNet, original images) with the `paper2018`
//! preset. The photos are in shared/paper (unknown license: read there, never copied).

use unsee::classify::ClassifyPipeline;
use unsee::image_io;
use unsee::models::{ModelKind, Preset};

use crate::common;

/// (photo, the figure's top-5 as (class index, %)).
const FIGURES: [(&str, [(usize, f32); 5]); 2] = [
    // baseball, ballplayer, racket, tennis ball, crutch
    (
        "baseball.jpg",
        [
            (429, 66.60),
            (981, 11.96),
            (752, 4.76),
            (852, 2.35),
            (523, 2.22),
        ],
    ),
    // dock, drilling platform, liner, schooner, pirate
    (
        "sailboat.jpg",
        [
            (536, 52.00),
            (540, 28.05),
            (628, 15.92),
            (780, 1.59),
            (724, 1.40),
        ],
    ),
];

#[test]
fn paper2018_reproduces_the_figures() {
    let Some(gpu) = common::gpu() else { return };
    let Some(shared) = common::shared_dir() else {
        return;
    };
    // Both inference paths: the shared GPU and burn's CPU backend.
    for on_gpu in [true, false] {
        let pipeline = ClassifyPipeline::with_inference(
            gpu,
            ModelKind::SqueezeNet,
            Preset::Paper2018,
            &common::models_dir(),
            on_gpu,
        )
        .unwrap();
        check_figures(gpu, &pipeline, &shared);
    }
}

fn check_figures(
    gpu: &unsee::gpu::GpuContext,
    pipeline: &ClassifyPipeline,
    shared: &std::path::Path,
) {
    for (photo, figure) in FIGURES {
        let img = image_io::load_image(&shared.join("paper").join(photo)).unwrap();
        let top = pipeline.classify_image(gpu, &img, 5).unwrap();
        let got: Vec<(usize, f32)> = top
            .iter()
            .map(|p| (p.index, p.probability * 100.0))
            .collect();
        eprintln!("{photo}: {got:?}");
        // Same five classes; the first three in the figure's order; each within 4 points.
        let mut ours: Vec<usize> = got.iter().map(|g| g.0).collect();
        let mut theirs: Vec<usize> = figure.iter().map(|f| f.0).collect();
        assert_eq!(
            &ours[..3],
            &theirs[..3],
            "{photo}: first three differ: {got:?}"
        );
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(ours, theirs, "{photo}: top-5 classes differ: {got:?}");
        for (index, percent) in figure {
            let p = got
                .iter()
                .find(|g| g.0 == index)
                .map(|g| g.1)
                .unwrap_or(0.0);
            assert!(
                (p - percent).abs() <= 4.0,
                "{photo}: class {index} {p:.2}% vs figure {percent}%"
            );
        }
    }
}
