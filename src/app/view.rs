//! The image area of the window: the composed picture with zoom, pan and painting.

use super::pointer::{StrokeEvent, map_points, stroke_events};
use super::state::ViewerState;
use super::ui::Action;
use crate::editor::{PictureDamage, Region};
use crate::gpu::damage::TextureChange;

/// The image area: shows the picture, zooms (wheel), pans (right or middle drag), paints
/// (left drag); `[` `]` size the brush, Ctrl+Z / Ctrl+Shift+Z undo and redo, Tab shows the
/// original. Returns the stroke events in image pixels (every raw pointer event from press to
/// release) and the key actions.
pub(super) fn image_view(
    ui: &mut egui::Ui,
    state: &mut ViewerState,
    (iw, ih): (u32, u32),
    texture: egui::TextureId,
) -> (Vec<StrokeEvent<(f32, f32)>>, Vec<Action>) {
    let area = ui.available_rect_before_wrap();
    let response = ui.allocate_rect(area, egui::Sense::click_and_drag());
    let fit = (area.width() / iw as f32).min(area.height() / ih as f32);
    let scale = fit * state.zoom;
    let center = area.center() + egui::vec2(state.pan.0, state.pan.1);
    let rect =
        egui::Rect::from_center_size(center, egui::vec2(iw as f32 * scale, ih as f32 * scale));
    let painter = ui.painter_at(area);
    painter.image(
        texture,
        rect,
        egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
        egui::Color32::WHITE,
    );
    let to_image = |p: egui::Pos2| ((p.x - rect.min.x) / scale, (p.y - rect.min.y) / scale);

    // A press starts a stroke only over the image area and not over a panel or a popup on it.
    let over_image = |p: egui::Pos2| {
        area.contains(p) && ui.ctx().layer_id_at(p).is_none_or(|l| l == ui.layer_id())
    };
    // The events are copied out first: egui's context must not be asked (layer_id_at) while its
    // input is locked.
    let (scroll, keys, events) = ui.input(|i| {
        let undo = i.modifiers.command && i.key_pressed(egui::Key::Z);
        (
            i.smooth_scroll_delta.y,
            (
                i.key_pressed(egui::Key::OpenBracket),
                i.key_pressed(egui::Key::CloseBracket),
                undo && !i.modifiers.shift,
                undo && i.modifiers.shift,
                i.key_down(egui::Key::Tab),
            ),
            i.events.clone(),
        )
    });
    let strokes = map_points(
        stroke_events(&mut state.painting, &events, over_image),
        to_image,
    );
    state.show_original = keys.4;
    if keys.0 {
        state.step_radius(false);
    }
    if keys.1 {
        state.step_radius(true);
    }
    if let Some(hover) = response.hover_pos() {
        if scroll != 0.0 {
            let c = hover - area.center();
            state.zoom_at((scroll / 200.0).exp(), (c.x, c.y));
        }
        painter.circle_stroke(
            hover,
            state.brush_radius * scale,
            egui::Stroke::new(1.0, egui::Color32::WHITE),
        );
    }
    if response.dragged_by(egui::PointerButton::Secondary)
        || response.dragged_by(egui::PointerButton::Middle)
    {
        let d = response.drag_delta();
        state.pan = (state.pan.0 + d.x, state.pan.1 + d.y);
    }
    let mut actions = Vec::new();
    if keys.2 {
        actions.push(Action::Undo);
    }
    if keys.3 {
        actions.push(Action::Redo);
    }
    (strokes, actions)
}

/// The window's view of what the editor's pictures redrew: the edited picture (`ids.0`) and the
/// original's (`ids.1`), both `size` texels.
pub fn picture_changes(
    size: (u32, u32),
    damage: PictureDamage,
    (display, original): (egui::TextureId, egui::TextureId),
) -> Vec<TextureChange> {
    [(display, damage.display), (original, damage.original)]
        .into_iter()
        .filter_map(|(id, region)| {
            let rect = match region {
                Region::None => return None,
                Region::Rect(r) => Some(r),
                Region::Whole => None,
            };
            Some(TextureChange { id, size, rect })
        })
        .collect()
}
