//! Property test over session values: random sessions, each field in range or (now and then)
//! hostile. A session is accepted exactly when every value lies in the ranges of
//! `unsee::limits`, parsing never panics, and accepted sessions replay without panicking within
//! a time bound. Seeded, so a failure reproduces; `UNSEE_SESSION_CASES` sets how many sessions.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use unsee::classify::Inference;
use unsee::editor::{Editor, ViewSettings};
use unsee::engine::Engine;
use unsee::gpu::{GpuContext, GpuOptions};
use unsee::limits;
use unsee::session::Session;

use crate::common;

/// SplitMix64: small, seeded, good enough to spread test values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }
}

/// How often one field is made hostile: low enough that about half the sessions are valid.
const HOSTILE: f32 = 0.03;

/// Draws session values; remembers whether any drawn value was out of range.
struct Generator {
    rng: Rng,
    valid: bool,
}

impl Generator {
    /// `good` most of the time, else one of `bad` (and the session is invalid).
    fn field(&mut self, good: Value, bad: &[Value]) -> Value {
        if self.rng.chance(HOSTILE) {
            self.valid = false;
            self.rng.pick(bad)
        } else {
            good
        }
    }

    /// A coordinate in and somewhat around an image side.
    fn coord(&mut self, side: u32) -> f32 {
        self.rng.unit() * (side as f32 + 40.0) - 20.0
    }

    fn stroke(&mut self, size: (u32, u32)) -> Value {
        let mut points = Vec::new();
        for _ in 0..self.rng.below(6) {
            let p = json!([self.coord(size.0), self.coord(size.1)]);
            let bad = [
                json!([1e30, 0.0]),
                json!([0.0, -1e30]),
                json!([f32::MAX, 1.0]),
                json!([1.0]),
            ];
            points.push(self.field(p, &bad));
        }
        let mut runs = Vec::new();
        for _ in 0..self.rng.below(3) {
            let (y, x0) = (self.coord(size.1), self.coord(size.0));
            runs.push(self.field(json!([x0, y, x0 + 5.0, y]), &[json!([0.5, 0.5, 1e40, 0.5])]));
        }
        let (lo, hi) = (*limits::BRUSH_RADIUS.start(), *limits::BRUSH_RADIUS.end());
        let r = lo + self.rng.unit() * (hi - lo);
        let bad = [
            json!(0.0),
            json!(-1.0),
            json!(201.0),
            json!(1e9),
            json!(f32::NAN),
        ];
        let r = self.field(json!(r), &bad);
        let restore = self.rng.chance(0.2);
        json!({ "restore": restore, "radius": r, "points": points, "runs": runs })
    }

    fn table(&mut self) -> Value {
        let mut rows = Vec::new();
        for _ in 0..self.rng.below(6) {
            let index = self.rng.below(1000);
            let index = self.field(json!(index), &[json!(1000), json!(u64::MAX), json!(-1)]);
            let p = self.rng.unit();
            let p = self.field(json!(p), &[json!(1.5), json!(-0.1), json!(f32::INFINITY)]);
            rows.push(json!({ "index": index, "label": "some class", "probability": p }));
        }
        Value::Array(rows)
    }

    /// One random session as JSON, for an image of `size`.
    fn session(&mut self, size: (u32, u32)) -> Value {
        let bad_images = [
            json!("/etc/passwd"),
            json!("../original.png"),
            json!("sub/original.png"),
            json!(""),
            json!("."),
        ];
        let image = self.field(json!("original.png"), &bad_images);
        let model = json!(self.rng.pick(&["squeezenet", "mobilenet"]));
        let model = self.field(model, &[json!("alexnet"), json!(3)]);
        let method = json!(self.rng.pick(&["telea", "patchmatch"]));
        let method = self.field(method, &[json!("blur")]);
        let radius = 1 + self.rng.below(u64::from(*limits::TELEA_RADIUS.end()));
        let bad = [json!(0), json!(101), json!(u32::MAX), json!(-1)];
        let radius = self.field(json!(radius), &bad);
        let odd_sizes = u64::from((limits::PATCH.end() - limits::PATCH.start()) / 2 + 1);
        let patch = u64::from(*limits::PATCH.start()) + 2 * self.rng.below(odd_sizes);
        let patch = self.field(
            json!(patch),
            &[json!(1), json!(8), json!(17), json!(u32::MAX)],
        );
        let iterations = 1 + self.rng.below(u64::from(*limits::ITERATIONS.end()));
        let iterations = self.field(json!(iterations), &[json!(0), json!(11), json!(u32::MAX)]);
        let seed = self.rng.next() as u32;
        let mut strokes: Vec<Value> = (0..self.rng.below(4)).map(|_| self.stroke(size)).collect();
        if self.rng.chance(HOSTILE) {
            self.valid = false;
            let dot = json!({ "restore": false, "radius": 1.0, "points": [[1.0, 1.0]] });
            strokes = vec![dot; limits::MAX_STROKES + 1];
        }
        let (original, modified) = (self.table(), self.table());
        json!({
            "image": image,
            "model": model,
            "fill": { "method": method, "radius": radius, "patch": patch, "iterations": iterations, "seed": seed },
            "strokes": strokes,
            "original": original,
            "modified": modified,
        })
    }
}

#[test]
fn random_session_values_are_checked_and_replays_stay_bounded() {
    let cases: u64 = std::env::var("UNSEE_SESSION_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // Replays are the slow part (a fill and a classification per stroke): a few suffice.
    const REPLAYS: usize = 6;
    const REPLAY_BOUND: Duration = Duration::from_secs(60);
    let size = (40, 32);
    let mut generator = Generator {
        rng: Rng(0x5e55_1011),
        valid: true,
    };
    let mut accepted = Vec::new();
    let (mut valid_count, mut invalid_count) = (0, 0);
    for case in 0..cases {
        generator.valid = true;
        let json = generator.session(size);
        let text = serde_json::to_string(&json).unwrap();
        let parsed = Session::parse(&text);
        match (&parsed, generator.valid) {
            (Ok(_), true) => valid_count += 1,
            (Err(e), false) => {
                assert!(!e.is_empty());
                invalid_count += 1;
            }
            (Ok(_), false) => panic!("case {case}: hostile session accepted: {text:.2000}"),
            (Err(e), true) => panic!("case {case}: valid session refused ({e}): {text:.2000}"),
        }
        if let Ok(session) = parsed
            && accepted.len() < REPLAYS
            && !session.strokes.is_empty()
        {
            accepted.push(session);
        }
    }
    assert!(
        valid_count > 0 && invalid_count > 0,
        "{valid_count} valid, {invalid_count} invalid"
    );

    if common::gpu().is_none() {
        return;
    }
    assert_eq!(
        accepted.len(),
        REPLAYS,
        "too few sessions with strokes to replay"
    );
    let gpu = GpuContext::headless(&GpuOptions::from_arg(None)).unwrap();
    let mut engine = Engine::with_inference(gpu, common::models_dir(), Inference::Cpu).unwrap();
    let img = image::open(common::models_dir().join("gallery/coffee.png"))
        .unwrap()
        .resize_exact(size.0, size.1, image::imageops::FilterType::Triangle)
        .to_rgba8();
    for session in accepted {
        let start = Instant::now();
        // As `unsee replay` does: the original, then each stroke settled in turn.
        let result = (|| -> unsee::Result<()> {
            let mut editor = Editor::new(&engine, &img)?;
            let settings = ViewSettings {
                model: session.model,
                inpaint: session.fill.into(),
                ..ViewSettings::default()
            };
            editor.settle(&mut engine, &settings)?;
            for stroke in &session.strokes {
                editor.push_stroke(stroke.clone());
                editor.settle(&mut engine, &settings)?;
            }
            Ok(())
        })();
        let took = start.elapsed();
        // An error (a fill with no known pixels left) is an answer; a panic or a hang is not.
        match result {
            Ok(()) => eprintln!("replayed {} strokes in {took:?}", session.strokes.len()),
            Err(e) => eprintln!("replay refused after {took:?}: {e}"),
        }
        assert!(took < REPLAY_BOUND, "replay took {took:?}: {session:?}");
    }
}

#[test]
fn a_session_at_the_segment_limit_is_accepted_and_one_past_it_refused() {
    let base = |points: usize| {
        json!({
            "image": "original.png",
            "model": "squeezenet",
            "fill": { "method": "telea", "radius": 5, "patch": 7, "iterations": 4, "seed": 0 },
            "strokes": [{ "restore": false, "radius": 1.0, "points": vec![[1.0, 1.0]; points] }],
            "original": [],
            "modified": [],
        })
        .to_string()
    };
    assert!(Session::parse(&base(limits::MAX_SEGMENTS)).is_ok());
    let e = Session::parse(&base(limits::MAX_SEGMENTS + 1)).unwrap_err();
    assert!(e.contains("points and runs"), "{e}");
}
