//! Brush strokes from egui's raw pointer events: every position from press to release goes into
//! the stroke — the press point, every move, and the moves and release that arrive in the same
//! frame as the release — however slow the frames are.

/// A pointer action on the image, in the coordinates of the events it came from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StrokeEvent<P> {
    /// The primary button went down here.
    Begin(P),
    /// The pointer moved here with the button down.
    Extend(P),
    /// The button was released (or the pointer left the window).
    End,
}

/// Turns one frame's raw events into stroke events. `painting` carries over between frames;
/// `starts_here` says whether a press at a point begins a stroke (over the image, not a panel).
pub fn stroke_events(
    painting: &mut bool,
    events: &[egui::Event],
    starts_here: impl Fn(egui::Pos2) -> bool,
) -> Vec<StrokeEvent<egui::Pos2>> {
    let mut out = Vec::new();
    for event in events {
        match *event {
            egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed: true,
                ..
            } if !*painting && starts_here(pos) => {
                *painting = true;
                out.push(StrokeEvent::Begin(pos));
            }
            egui::Event::PointerMoved(pos) if *painting => out.push(StrokeEvent::Extend(pos)),
            egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed: false,
                ..
            } if *painting => {
                *painting = false;
                out.push(StrokeEvent::Extend(pos));
                out.push(StrokeEvent::End);
            }
            egui::Event::PointerGone | egui::Event::WindowFocused(false) if *painting => {
                *painting = false;
                out.push(StrokeEvent::End);
            }
            _ => {}
        }
    }
    out
}

/// Maps the points of stroke events through `f` (screen to image pixels).
pub fn map_points<P, Q>(events: Vec<StrokeEvent<P>>, f: impl Fn(P) -> Q) -> Vec<StrokeEvent<Q>> {
    events
        .into_iter()
        .map(|e| match e {
            StrokeEvent::Begin(p) => StrokeEvent::Begin(f(p)),
            StrokeEvent::Extend(p) => StrokeEvent::Extend(f(p)),
            StrokeEvent::End => StrokeEvent::End,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::{Event, PointerButton, Pos2, pos2};

    fn button(pos: Pos2, pressed: bool) -> Event {
        Event::PointerButton {
            pos,
            button: PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        }
    }

    /// The points a whole stroke collects over frames, through the editor's history.
    fn points(frames: &[Vec<Event>]) -> Vec<(f32, f32)> {
        let mut painting = false;
        let mut history = crate::editor::History::default();
        for events in frames {
            for e in map_points(stroke_events(&mut painting, events, |_| true), |p| {
                (p.x, p.y)
            }) {
                match e {
                    StrokeEvent::Begin(p) => {
                        history.begin(false, 2.0, p);
                    }
                    StrokeEvent::Extend(p) => {
                        history.extend(p);
                    }
                    StrokeEvent::End => history.end(),
                }
            }
        }
        assert!(!painting);
        history
            .strokes()
            .iter()
            .flat_map(|s| s.points.clone())
            .collect()
    }

    #[test]
    fn slow_frames_keep_every_point() {
        // A drag through four positions where each frame (at ~250 ms) brings several events:
        // the press point and the moves of the release frame must not be lost.
        let p = [
            pos2(1.0, 1.0),
            pos2(5.0, 2.0),
            pos2(9.0, 3.0),
            pos2(13.0, 4.0),
        ];
        let frames = vec![
            vec![button(p[0], true), Event::PointerMoved(p[1])],
            vec![Event::PointerMoved(p[2])],
            vec![Event::PointerMoved(p[3]), button(p[3], false)],
        ];
        assert_eq!(
            points(&frames),
            p.iter().map(|q| (q.x, q.y)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn press_and_release_in_one_frame_is_a_dot() {
        let frames = vec![vec![
            button(pos2(3.0, 3.0), true),
            button(pos2(3.0, 3.0), false),
        ]];
        assert_eq!(points(&frames), vec![(3.0, 3.0)]);
    }

    #[test]
    fn a_release_point_elsewhere_is_kept() {
        let frames = vec![
            vec![button(pos2(0.0, 0.0), true)],
            vec![
                button(pos2(4.0, 0.0), false),
                Event::PointerMoved(pos2(9.0, 9.0)),
            ],
        ];
        assert_eq!(points(&frames), vec![(0.0, 0.0), (4.0, 0.0)]);
    }

    #[test]
    fn presses_outside_the_image_and_other_buttons_paint_nothing() {
        let mut painting = false;
        let events = vec![
            button(pos2(-5.0, 0.0), true),
            Event::PointerMoved(pos2(1.0, 1.0)),
            Event::PointerButton {
                pos: pos2(2.0, 2.0),
                button: PointerButton::Secondary,
                pressed: true,
                modifiers: egui::Modifiers::NONE,
            },
        ];
        assert!(stroke_events(&mut painting, &events, |p| p.x >= 0.0).is_empty());
        assert!(!painting);
    }

    #[test]
    fn leaving_the_window_ends_the_stroke() {
        let mut painting = false;
        let events = vec![button(pos2(1.0, 1.0), true), Event::PointerGone];
        let out = stroke_events(&mut painting, &events, |_| true);
        assert_eq!(out.last(), Some(&StrokeEvent::End));
        assert!(!painting);
    }
}
