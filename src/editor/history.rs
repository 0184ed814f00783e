//! The edit as data: brush strokes, undo and redo. No GPU types: the mask is always the replay of
//! the strokes, so undo restores it exactly.

use crate::cpu::morphology::MaskOp;
use crate::passes::Segment;

/// One step of painting the mask: a brush capsule, or an operation on the whole mask.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaskStep {
    /// Stamp a capsule.
    Paint(Segment),
    /// Clear, invert, grow or shrink the whole mask.
    Op(MaskOp),
}

/// One stroke of the brush or the eraser: the pointer positions between press and release.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stroke {
    /// Eraser (restores the image) rather than brush (erases it).
    pub restore: bool,
    /// Brush radius in image pixels.
    pub radius: f32,
    /// Pointer positions in image pixels.
    pub points: Vec<(f32, f32)>,
    /// Extra unconnected segments `[ax, ay, bx, by]` (a mask applied in one step, as row runs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<[f32; 4]>,
    /// An operation on the whole mask, applied before the points and runs (an imported mask is
    /// a clear followed by its runs; grow, shrink and invert have no points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<MaskOp>,
}

impl Stroke {
    /// A mask applied in one step: each horizontal run of set pixels becomes a capsule of radius
    /// ½ through the run's pixel centres, which covers exactly those pixels.
    pub fn from_mask(mask: &image::GrayImage) -> Self {
        let mut runs = Vec::new();
        for y in 0..mask.height() {
            let mut x = 0;
            while x < mask.width() {
                if mask.get_pixel(x, y)[0] == 0 {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < mask.width() && mask.get_pixel(x, y)[0] != 0 {
                    x += 1;
                }
                let cy = y as f32 + 0.5;
                runs.push([start as f32 + 0.5, cy, x as f32 - 0.5, cy]);
            }
        }
        Self {
            restore: false,
            radius: 0.5,
            points: Vec::new(),
            runs,
            op: None,
        }
    }

    /// The mask becomes exactly `mask` (an imported mask): a clear, then its runs.
    pub fn replacing(mask: &image::GrayImage) -> Self {
        Self {
            op: Some(MaskOp::Clear),
            ..Self::from_mask(mask)
        }
    }

    /// An operation on the whole mask as one undoable step.
    pub fn operation(op: MaskOp) -> Self {
        Self {
            restore: false,
            radius: 0.5,
            points: Vec::new(),
            runs: Vec::new(),
            op: Some(op),
        }
    }
}

impl Stroke {
    /// What the stroke does to the mask, in order: its operation, then its capsules.
    pub fn steps(&self) -> Vec<MaskStep> {
        self.op
            .map(MaskStep::Op)
            .into_iter()
            .chain(self.segments().into_iter().map(MaskStep::Paint))
            .collect()
    }

    /// The capsules the stroke paints: one per pair of consecutive points (so fast pointer moves
    /// leave no gaps), or a dot for a single point.
    pub fn segments(&self) -> Vec<Segment> {
        let seg = |a, b| Segment {
            a,
            b,
            radius: self.radius,
            erase: !self.restore,
        };
        let mut out: Vec<Segment> = match self.points.as_slice() {
            [] => Vec::new(),
            [p] => vec![seg(*p, *p)],
            pts => pts.windows(2).map(|w| seg(w[0], w[1])).collect(),
        };
        out.extend(self.runs.iter().map(|r| seg((r[0], r[1]), (r[2], r[3]))));
        out
    }
}

/// Strokes done, strokes undone, and the stroke being drawn.
#[derive(Clone, Debug, Default)]
pub struct History {
    done: Vec<Stroke>,
    /// `done_keys[i]`: the key of the strokes `done[..=i]` (a hash chain), so that asking for
    /// the key — several times a frame — hashes at most the stroke being drawn.
    done_keys: Vec<u64>,
    undone: Vec<Stroke>,
    current: Option<Stroke>,
}

impl History {
    /// Starts a stroke at `p`; returns the segment to paint now.
    pub fn begin(&mut self, restore: bool, radius: f32, p: (f32, f32)) -> Segment {
        self.end();
        let stroke = Stroke {
            restore,
            radius,
            points: vec![p],
            runs: Vec::new(),
            op: None,
        };
        let seg = stroke.segments()[0];
        self.current = Some(stroke);
        seg
    }

    /// Extends the current stroke to `p`; returns the new segment (none without a stroke or when
    /// the pointer has not moved).
    pub fn extend(&mut self, p: (f32, f32)) -> Option<Segment> {
        let stroke = self.current.as_mut()?;
        let last = *stroke.points.last()?;
        if last == p {
            return None;
        }
        stroke.points.push(p);
        Some(Segment {
            a: last,
            b: p,
            radius: stroke.radius,
            erase: !stroke.restore,
        })
    }

    /// Adds a finished stroke in one step (a suggested mask); returns its steps.
    pub fn push(&mut self, stroke: Stroke) -> Vec<MaskStep> {
        self.end();
        let segments = stroke.steps();
        self.push_done(stroke);
        self.undone.clear();
        segments
    }

    /// Finishes the current stroke (it becomes undoable; redo history is dropped).
    pub fn end(&mut self) {
        if let Some(stroke) = self.current.take() {
            self.push_done(stroke);
            self.undone.clear();
        }
    }

    /// Whether a stroke is being drawn.
    pub fn drawing(&self) -> bool {
        self.current.is_some()
    }

    /// Undoes the last stroke; false when there is none.
    pub fn undo(&mut self) -> bool {
        self.end();
        match self.done.pop() {
            Some(s) => {
                self.done_keys.pop();
                self.undone.push(s);
                true
            }
            None => false,
        }
    }

    /// Redoes the last undone stroke; false when there is none.
    pub fn redo(&mut self) -> bool {
        self.end();
        match self.undone.pop() {
            Some(s) => {
                self.push_done(s);
                true
            }
            None => false,
        }
    }

    /// Forgets every stroke (undoable as one step is not offered: Reset is explicit).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// All steps of the finished strokes and the current one, in painting order.
    pub fn steps(&self) -> Vec<MaskStep> {
        self.done
            .iter()
            .chain(self.current.as_ref())
            .flat_map(Stroke::steps)
            .collect()
    }

    /// A key of the mask these strokes paint: a hash chain over every stroke in painting order
    /// (the stroke being drawn included). Equal strokes give equal keys however they were
    /// reached (painted, undone and redone, replayed).
    pub fn key(&self) -> u64 {
        let base = self.done_keys.last().copied().unwrap_or(0);
        self.current.as_ref().map_or(base, |s| chain(base, s))
    }

    fn push_done(&mut self, stroke: Stroke) {
        let base = self.done_keys.last().copied().unwrap_or(0);
        self.done_keys.push(chain(base, &stroke));
        self.done.push(stroke);
    }

    /// The stroke being drawn, if any.
    pub fn current(&self) -> Option<&Stroke> {
        self.current.as_ref()
    }

    /// The finished strokes.
    pub fn strokes(&self) -> &[Stroke] {
        &self.done
    }

    /// Number of strokes that can be undone / redone.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.done.len() + usize::from(self.current.is_some()),
            self.undone.len(),
        )
    }
}

/// The key of the strokes keyed `prev` followed by `s`.
fn chain(prev: u64, s: &Stroke) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    prev.hash(&mut h);
    s.restore.hash(&mut h);
    s.radius.to_bits().hash(&mut h);
    s.points.len().hash(&mut h);
    for (x, y) in &s.points {
        (x.to_bits(), y.to_bits()).hash(&mut h);
    }
    s.runs.len().hash(&mut h);
    for r in &s.runs {
        r.map(f32::to_bits).hash(&mut h);
    }
    s.op.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_redo_and_new_stroke_drops_redo() {
        let mut h = History::default();
        h.begin(false, 3.0, (1.0, 1.0));
        assert_eq!(h.extend((5.0, 1.0)).map(|s| s.b), Some((5.0, 1.0)));
        assert!(h.extend((5.0, 1.0)).is_none());
        h.end();
        h.begin(true, 2.0, (2.0, 2.0));
        h.end();
        assert_eq!(h.counts(), (2, 0));
        assert!(h.undo());
        assert_eq!(h.counts(), (1, 1));
        assert_eq!(h.steps().len(), 1);
        assert!(h.redo());
        assert_eq!(h.steps().len(), 2);
        assert!(h.undo());
        h.begin(false, 1.0, (0.0, 0.0));
        h.end();
        assert!(!h.redo(), "a new stroke drops the redo history");
        assert!(h.undo() && h.undo() && !h.undo());
    }

    #[test]
    fn mask_stroke_paints_exactly_the_mask() {
        let mask = image::GrayImage::from_fn(23, 17, |x, y| {
            image::Luma([u8::from((x * 7 + y * 3) % 5 < 2 || (4..9).contains(&x)) * 255])
        });
        let stroke = Stroke::from_mask(&mask);
        let mut painted = image::GrayImage::new(23, 17);
        for s in stroke.segments() {
            crate::cpu::paint::paint_segment(&mut painted, s.a, s.b, s.radius, s.erase);
        }
        assert_eq!(painted, mask);
    }

    #[test]
    fn key_depends_on_the_strokes_not_on_the_path() {
        let mut a = History::default();
        let empty = a.key();
        a.begin(false, 3.0, (1.0, 1.0));
        a.extend((4.0, 2.0));
        let drawing = a.key();
        a.end();
        assert_eq!(a.key(), drawing, "releasing changes no pixel");
        assert_ne!(a.key(), empty);
        a.begin(true, 3.0, (2.0, 2.0));
        a.end();
        let two = a.key();
        assert!(a.undo());
        assert_eq!(a.key(), drawing);
        assert!(a.redo());
        assert_eq!(a.key(), two);
        let mut b = History::default();
        for s in a.strokes() {
            b.push(s.clone());
        }
        assert_eq!(b.key(), two, "replayed strokes give the same key");
        b.reset();
        assert_eq!(b.key(), empty);
    }

    #[test]
    fn dot_stroke_is_one_segment() {
        let s = Stroke {
            restore: false,
            radius: 4.0,
            points: vec![(3.0, 3.0)],
            runs: Vec::new(),
            op: None,
        };
        assert_eq!(s.segments().len(), 1);
        assert!(s.segments()[0].erase);
    }
}
