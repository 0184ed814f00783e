//! The edit's state machine, without a GPU: which state the screen answers, what the next job
//! must do, and which failures not to retry. Every result carries the key of the state it
//! answers; the scheduler compares keys, never counters, so undo back to an answered state and
//! the same state reached by another path compare equal.

use crate::inpaint::{InpaintParams, Method};
use crate::models::ModelKind;

/// What a fill is a function of: the strokes (up to the undo cursor, the one being drawn
/// included) and the fill settings that matter for the method in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FillKey {
    /// Hash of every segment in painting order (`History::key`).
    pub strokes: u64,
    /// The fill settings, with those the method ignores set to their defaults.
    pub fill: InpaintParams,
}

impl FillKey {
    /// The key of `strokes` filled with `params` (settings the method ignores are normalised so
    /// that changing them starts no work).
    pub fn new(strokes: u64, params: InpaintParams) -> Self {
        let defaults = InpaintParams::default();
        let fill = match params.method {
            Method::Telea => InpaintParams {
                patchmatch: defaults.patchmatch,
                ..params
            },
            Method::PatchMatch => InpaintParams {
                telea: defaults.telea,
                ..params
            },
        };
        Self { strokes, fill }
    }
}

/// The whole edit state a Modified table answers: fill key and model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EditKey {
    /// What the modified image is a function of.
    pub fill: FillKey,
    /// The classifier.
    pub model: ModelKind,
}

/// A fill held by the modified image: which state, and whether it is the canonical fill of that
/// state (a function of the state alone) or a live preview (warm-started from an earlier fill).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filled {
    /// The state filled.
    pub key: FillKey,
    /// False for a warm-started preview made while a stroke was being drawn.
    pub canonical: bool,
}

/// What the next job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Classify the original with `model`.
    Original(ModelKind),
    /// Answer `key` for the modified image.
    Modified {
        /// The state answered.
        key: EditKey,
        /// Fill again (false: the modified image already holds this state's fill).
        refill: bool,
        /// Build on the fill held now (a preview; never for a settled state): PatchMatch from its
        /// correspondences, Telea (GPU path) by filling only what the hole gained.
        warm: bool,
    },
}

impl Plan {
    /// Whether the answer of this plan is canonical for its state.
    pub fn canonical(&self, held: Option<Filled>) -> bool {
        match *self {
            Plan::Original(_) => true,
            Plan::Modified {
                refill: true, warm, ..
            } => !warm,
            Plan::Modified { refill: false, .. } => held.is_some_and(|f| f.canonical),
        }
    }
}

/// The scheduler's memory: what is answered, what the modified image holds, what failed.
#[derive(Clone, Debug, Default)]
pub struct Schedule {
    /// Model of the Original table held.
    pub original: Option<ModelKind>,
    /// State of the Modified table held, and whether it is canonical.
    pub modified: Option<(EditKey, bool)>,
    /// What the modified image holds.
    pub filled: Option<Filled>,
    /// A job is in flight.
    pub busy: bool,
    /// The plan that failed, and why: not retried until the state changes.
    pub failed: Option<(Plan, String)>,
    /// The job in flight has overwritten the modified image (see [`Schedule::overwritten`]).
    overwrote: bool,
}

impl Schedule {
    /// Whether the Modified table answers `key` as a settled state must be answered: canonical,
    /// or a preview while the stroke is still being drawn.
    pub fn answers(&self, key: &EditKey, drawing: bool) -> bool {
        self.original == Some(key.model)
            && self
                .modified
                .is_some_and(|(k, canonical)| k == *key && (canonical || drawing))
    }

    /// Whether nothing is in flight and the tables answer `key`.
    pub fn settled(&self, key: &EditKey, drawing: bool) -> bool {
        !self.busy && self.answers(key, drawing)
    }

    /// The next job for state `key` (`drawing`: a stroke is still being drawn; `brush`: that
    /// stroke erases rather than restores), or none: busy, answered, or failed for this state.
    pub fn next(&self, key: &EditKey, drawing: bool, brush: bool) -> Option<Plan> {
        if self.busy {
            return None;
        }
        let plan = if self.original != Some(key.model) {
            Plan::Original(key.model)
        } else if self.answers(key, drawing) {
            return None;
        } else {
            let holds = |canonical_needed: bool| {
                self.filled
                    .is_some_and(|f| f.key == key.fill && (f.canonical || !canonical_needed))
            };
            let refill = !holds(!drawing);
            // A warm start builds on the previous fill (PatchMatch: its correspondences; Telea:
            // its pixels, filling only the hole's new part): only a live preview, only while the
            // hole grows (a brush stroke) and under the same settings.
            let warm = refill
                && drawing
                && brush
                && self.filled.is_some_and(|f| f.key.fill == key.fill.fill);
            Plan::Modified {
                key: *key,
                refill,
                warm,
            }
        };
        match &self.failed {
            Some((failed, _)) if *failed == plan => None,
            _ => Some(plan),
        }
    }

    /// A job for `plan` started.
    pub fn started(&mut self, plan: &Plan) {
        self.busy = true;
        self.failed = None;
        if matches!(plan, Plan::Modified { refill: true, .. }) {
            // The modified image is being overwritten: until this job lands it holds no state.
            self.filled = None;
        }
    }

    /// The job for `plan` landed; `canonical` as `Plan::canonical` said at its start.
    pub fn landed(&mut self, plan: &Plan, canonical: bool) {
        self.busy = false;
        self.overwrote = false;
        match *plan {
            Plan::Original(model) => self.original = Some(model),
            Plan::Modified { key, refill, .. } => {
                if refill {
                    self.filled = Some(Filled {
                        key: key.fill,
                        canonical,
                    });
                }
                self.modified = Some((key, canonical));
            }
        }
    }

    /// The job for `plan` failed (to start, or on its way): remember it so the same state is not
    /// tried again every frame.
    pub fn failed(&mut self, plan: Plan, why: String) {
        self.busy = false;
        // The table no longer matches the picture: it answers no state (undo back to the state
        // it named fills that again, rather than pairing the table with another state's fill).
        if std::mem::take(&mut self.overwrote) {
            self.modified = None;
        }
        self.failed = Some((plan, why));
    }

    /// The running job has overwritten the modified image (its fill is recorded on the GPU).
    pub fn overwritten(&mut self) {
        self.overwrote = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(strokes: u64, method: Method, model: ModelKind) -> EditKey {
        EditKey {
            fill: FillKey::new(
                strokes,
                InpaintParams {
                    method,
                    ..InpaintParams::default()
                },
            ),
            model,
        }
    }

    fn run(s: &mut Schedule, key: &EditKey, drawing: bool) -> Option<Plan> {
        let plan = s.next(key, drawing, true)?;
        let canonical = plan.canonical(s.filled);
        s.started(&plan);
        s.landed(&plan, canonical);
        Some(plan)
    }

    #[test]
    fn original_first_then_modified_then_nothing() {
        let mut s = Schedule::default();
        let k = key(1, Method::Telea, ModelKind::SqueezeNet);
        assert_eq!(run(&mut s, &k, false), Some(Plan::Original(k.model)));
        assert!(matches!(
            run(&mut s, &k, false),
            Some(Plan::Modified { refill: true, .. })
        ));
        assert!(s.settled(&k, false));
        assert_eq!(
            s.next(&k, false, true),
            None,
            "an answered state starts nothing"
        );
    }

    #[test]
    fn a_fill_setting_change_makes_the_answer_stale() {
        let mut s = Schedule::default();
        let k = key(1, Method::Telea, ModelKind::SqueezeNet);
        while run(&mut s, &k, false).is_some() {}
        let mut k2 = k;
        k2.fill = FillKey::new(
            1,
            InpaintParams {
                telea: crate::passes::TeleaParams { radius: 9 },
                ..k.fill.fill
            },
        );
        assert!(!s.answers(&k2, false), "the old table no longer answers");
        assert!(matches!(
            s.next(&k2, false, true),
            Some(Plan::Modified { refill: true, .. })
        ));
        // A PatchMatch setting does not matter to Telea: no work.
        let mut k3 = k;
        k3.fill = FillKey::new(
            1,
            InpaintParams {
                patchmatch: crate::passes::PatchMatchParams {
                    seed: 7,
                    ..Default::default()
                },
                ..k.fill.fill
            },
        );
        assert_eq!(k3, k);
    }

    #[test]
    fn model_switch_reclassifies_without_refilling() {
        let mut s = Schedule::default();
        let k = key(3, Method::PatchMatch, ModelKind::SqueezeNet);
        while run(&mut s, &k, false).is_some() {}
        let k2 = EditKey {
            model: ModelKind::MobileNetV2,
            ..k
        };
        assert_eq!(run(&mut s, &k2, false), Some(Plan::Original(k2.model)));
        assert_eq!(
            run(&mut s, &k2, false),
            Some(Plan::Modified {
                key: k2,
                refill: false,
                warm: false
            })
        );
        assert!(s.settled(&k2, false));
    }

    #[test]
    fn previews_are_replaced_by_the_canonical_fill_on_release() {
        let mut s = Schedule::default();
        let k0 = key(0, Method::PatchMatch, ModelKind::SqueezeNet);
        while run(&mut s, &k0, false).is_some() {}
        let k1 = key(1, Method::PatchMatch, ModelKind::SqueezeNet);
        // While drawing: warm previews are answers.
        assert_eq!(
            run(&mut s, &k1, true),
            Some(Plan::Modified {
                key: k1,
                refill: true,
                warm: true
            })
        );
        assert!(s.settled(&k1, true));
        // Released: the same strokes need the canonical (cold) fill.
        assert!(!s.settled(&k1, false));
        assert_eq!(
            run(&mut s, &k1, false),
            Some(Plan::Modified {
                key: k1,
                refill: true,
                warm: false
            })
        );
        assert!(s.settled(&k1, false));
        // Telea previews build on the fill held too.
        let t0 = key(10, Method::Telea, ModelKind::SqueezeNet);
        while run(&mut s, &t0, false).is_some() {}
        let t1 = key(11, Method::Telea, ModelKind::SqueezeNet);
        assert_eq!(
            s.next(&t1, true, true),
            Some(Plan::Modified {
                key: t1,
                refill: true,
                warm: true
            })
        );
        // An eraser stroke never warm-starts.
        let k2 = key(2, Method::PatchMatch, ModelKind::SqueezeNet);
        assert_eq!(
            s.next(&k2, true, false),
            Some(Plan::Modified {
                key: k2,
                refill: true,
                warm: false
            })
        );
    }

    #[test]
    fn a_failed_state_is_not_retried_until_it_changes() {
        let mut s = Schedule::default();
        let k = key(1, Method::Telea, ModelKind::SqueezeNet);
        run(&mut s, &k, false);
        let plan = s.next(&k, false, true).unwrap();
        s.started(&plan);
        s.failed(plan, "the mask covers the whole image".into());
        assert_eq!(s.next(&k, false, true), None, "same state: no retry");
        let k2 = key(2, Method::Telea, ModelKind::SqueezeNet);
        assert!(s.next(&k2, false, true).is_some(), "a new state is tried");
        assert!(s.next(&k, false, true).is_none());
    }

    #[test]
    fn a_refill_failing_after_its_fill_answers_no_state_any_more() {
        let mut s = Schedule::default();
        let k0 = key(0, Method::Telea, ModelKind::SqueezeNet);
        while run(&mut s, &k0, false).is_some() {}
        assert!(s.settled(&k0, false));
        // The next state's fill is recorded, then its classification fails.
        let k1 = key(1, Method::Telea, ModelKind::SqueezeNet);
        let plan = s.next(&k1, false, true).unwrap();
        s.started(&plan);
        s.overwritten();
        s.failed(plan, "out of memory".into());
        // Undo back to k0: the modified image holds k1's fill, so k0 is filled again.
        assert!(!s.answers(&k0, false));
        assert!(matches!(
            s.next(&k0, false, true),
            Some(Plan::Modified { refill: true, .. })
        ));
    }

    #[test]
    fn busy_starts_nothing() {
        let mut s = Schedule::default();
        let k = key(1, Method::Telea, ModelKind::SqueezeNet);
        let plan = s.next(&k, false, true).unwrap();
        s.started(&plan);
        assert_eq!(s.next(&k, false, true), None);
        assert!(!s.settled(&k, false));
    }
}
