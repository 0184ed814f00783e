//! Which pixels of the window a frame changes: its egui shapes compared with the last painted
//! frame's, plus the regions of textures whose contents changed under unchanged primitives. A
//! software rasterizer then shades only those pixels: on llvmpipe a whole 1400x900 repaint is
//! most of a painting frame, while a stroke changes a few thousand pixels.
//!
//! Pure CPU bookkeeping (no device): `canvas.rs` paints what this decides.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use egui::epaint::{ClippedPrimitive, ClippedShape, Mesh, Primitive, Shape};

/// A rectangle of window pixels, `[x0, x1) × [y0, y1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelRect {
    /// Left column.
    pub x0: u32,
    /// Top row.
    pub y0: u32,
    /// One past the right column.
    pub x1: u32,
    /// One past the bottom row.
    pub y1: u32,
}

impl PixelRect {
    /// The whole of a `size` window.
    pub fn whole(size: [u32; 2]) -> Self {
        Self {
            x0: 0,
            y0: 0,
            x1: size[0],
            y1: size[1],
        }
    }

    /// Whether it holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.x1 <= self.x0 || self.y1 <= self.y0
    }

    /// Its pixel count.
    pub fn area(&self) -> u64 {
        if self.is_empty() {
            0
        } else {
            u64::from(self.x1 - self.x0) * u64::from(self.y1 - self.y0)
        }
    }

    fn union(self, o: Self) -> Self {
        Self {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }

    fn intersect(self, o: Self) -> Self {
        Self {
            x0: self.x0.max(o.x0),
            y0: self.y0.max(o.y0),
            x1: self.x1.min(o.x1),
            y1: self.y1.min(o.y1),
        }
    }

    /// Whether the two overlap or lie within `gap` pixels of each other (worth one rectangle).
    fn near(&self, o: &Self, gap: u32) -> bool {
        self.x0 <= o.x1 + gap
            && o.x0 <= self.x1 + gap
            && self.y0 <= o.y1 + gap
            && o.y0 <= self.y1 + gap
    }

    /// The same rectangle in points: egui-wgpu rounds `points · ppp` back to these pixels.
    pub fn to_points(self, pixels_per_point: f32) -> egui::Rect {
        egui::Rect::from_min_max(
            egui::pos2(
                self.x0 as f32 / pixels_per_point,
                self.y0 as f32 / pixels_per_point,
            ),
            egui::pos2(
                self.x1 as f32 / pixels_per_point,
                self.y1 as f32 / pixels_per_point,
            ),
        )
    }
}

/// A texture whose contents changed since the last painted frame (egui cannot see that: the
/// primitives that show it are the same).
#[derive(Clone, Copy, Debug)]
pub struct TextureChange {
    /// The texture, as egui knows it.
    pub id: egui::TextureId,
    /// Its size in texels.
    pub size: (u32, u32),
    /// The texels that changed (x0, y0, x1, y1, exclusive); `None`: all of them.
    pub rect: Option<[u32; 4]>,
}

/// What a frame must repaint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Damage {
    /// Everything (first frame, a resize, a new font atlas, reordered primitives).
    Whole,
    /// These disjoint rectangles; none when the frame shows what the last one did.
    Rects(Vec<PixelRect>),
}

impl Damage {
    /// Pixels it repaints in a `size` window.
    pub fn area(&self, size: [u32; 2]) -> u64 {
        match self {
            Damage::Whole => PixelRect::whole(size).area(),
            Damage::Rects(r) => r.iter().map(PixelRect::area).sum(),
        }
    }
}

/// Rectangles closer than this are painted as one (each costs a background quad and a pass over
/// the primitives).
const MERGE_GAP: u32 = 16;
/// More rectangles than this after merging are painted as their union.
const MAX_RECTS: usize = 16;

/// A painted primitive: what it draws (a hash) and which pixels it may touch.
#[derive(Clone, Copy)]
struct Painted {
    key: u64,
    bounds: Option<PixelRect>,
}

/// What a frame's shapes draw (a hash each) and where, taken before they are tessellated.
pub struct ShapeSummary {
    painted: Vec<Painted>,
    /// A callback or a transformed shape: compared by nothing, painted whole.
    opaque: bool,
}

impl ShapeSummary {
    /// The summary of `shapes` in a `size` window at `pixels_per_point`. Shapes are the unit of
    /// comparison: egui merges a panel's shapes into one mesh, so one changed label would change
    /// the whole panel's primitive.
    pub fn of(shapes: &[ClippedShape], pixels_per_point: f32, size: [u32; 2]) -> Self {
        let mut opaque = false;
        let painted = shapes
            .iter()
            .map(|s| {
                opaque |= s.transform_after_tessellation != egui::emath::TSTransform::IDENTITY
                    || has_callback(&s.shape);
                let mut h = std::collections::hash_map::DefaultHasher::new();
                hash_rect(s.clip_rect, &mut h);
                hash_shape(&s.shape, &mut h);
                Painted {
                    key: h.finish(),
                    bounds: to_pixels(
                        shape_bounds(&s.shape).intersect(s.clip_rect),
                        pixels_per_point,
                        size,
                    ),
                }
            })
            .collect();
        Self { painted, opaque }
    }
}

/// Where `shape` may draw: its visual bounds, and for a text also its layout rectangle and every
/// row's mesh (a selection highlight reaches past the glyphs, to the end of a row).
fn shape_bounds(shape: &Shape) -> egui::Rect {
    let mut bounds = shape.visual_bounding_rect();
    if let Shape::Text(t) = shape
        && t.angle == 0.0
    {
        let at = t.pos.to_vec2();
        bounds = bounds.union(t.galley.rect.translate(at));
        for placed in &t.galley.rows {
            let mesh = placed.row.visuals.mesh_bounds;
            if mesh.is_positive() {
                bounds = bounds.union(mesh.translate(at + placed.pos.to_vec2()));
            }
        }
    }
    bounds
}

fn has_callback(shape: &Shape) -> bool {
    match shape {
        Shape::Callback(_) => true,
        Shape::Vec(v) => v.iter().any(has_callback),
        _ => false,
    }
}

fn hash_rect(r: egui::Rect, h: &mut impl Hasher) {
    for v in [r.min.x, r.min.y, r.max.x, r.max.y] {
        v.to_bits().hash(h);
    }
}

/// Everything `shape` draws, hashed: a text by its layout job and placement (not its galley's
/// address, which a freed galley's successor may reuse), a mesh by its bytes, the small shapes by
/// their full description.
fn hash_shape(shape: &Shape, h: &mut impl Hasher) {
    std::mem::discriminant(shape).hash(h);
    match shape {
        Shape::Text(t) => {
            t.galley.job.hash(h);
            hash_rect(t.galley.rect, h);
            // The rows' meshes too: egui draws a text selection by recolouring them in place,
            // the layout job unchanged.
            for placed in &t.galley.rows {
                let mesh = &placed.row.visuals.mesh;
                (placed.pos.x.to_bits(), placed.pos.y.to_bits()).hash(h);
                h.write(bytemuck::cast_slice(&mesh.indices));
                h.write(bytemuck::cast_slice(&mesh.vertices));
            }
            for v in [t.pos.x, t.pos.y, t.opacity_factor, t.angle] {
                v.to_bits().hash(h);
            }
            (t.fallback_color, t.override_text_color).hash(h);
            (t.underline.width.to_bits(), t.underline.color).hash(h);
        }
        Shape::Mesh(m) => {
            m.texture_id.hash(h);
            h.write(bytemuck::cast_slice(&m.indices));
            h.write(bytemuck::cast_slice(&m.vertices));
        }
        Shape::Vec(v) => {
            v.len().hash(h);
            for s in v {
                hash_shape(s, h);
            }
        }
        // Never painted incrementally (see `ShapeSummary::opaque`).
        Shape::Callback(_) => {}
        other => hash_debug(other, h),
    }
}

/// Feeds `value`'s `Debug` text to `h` as it is written, without building the string (run for
/// every small shape of every painted frame).
pub fn hash_debug(value: &impl std::fmt::Debug, h: &mut impl Hasher) {
    struct Feed<'a, H: Hasher>(&'a mut H);
    impl<H: Hasher> std::fmt::Write for Feed<'_, H> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.write(s.as_bytes());
            Ok(())
        }
    }
    // Writing into a hasher cannot fail.
    let _ = std::fmt::write(&mut Feed(h), format_args!("{value:?}"));
}

/// The last painted frame's shapes, to compare the next frame with.
#[derive(Default)]
pub struct DamageTracker {
    last: Vec<Painted>,
    size: [u32; 2],
    pixels_per_point: f32,
    valid: bool,
}

impl DamageTracker {
    /// Forgets the last frame: the next one is painted whole (the window's contents are unknown,
    /// or a texture was replaced).
    pub fn invalidate(&mut self) {
        self.valid = false;
    }

    /// What a frame changes against the last one this tracker saw: its shapes (`summary`), and
    /// the textures in `changes` rewritten meanwhile, shown through `primitives` (the frame's
    /// tessellation, `size` pixels at `pixels_per_point`). Remembers this frame. `whole`: the
    /// caller knows everything changed (e.g. egui's textures were updated).
    pub fn damage(
        &mut self,
        summary: ShapeSummary,
        primitives: &[ClippedPrimitive],
        pixels_per_point: f32,
        size: [u32; 2],
        changes: &[TextureChange],
        whole: bool,
    ) -> Damage {
        let whole = whole
            || summary.opaque
            || !self.valid
            || self.size != size
            || self.pixels_per_point != pixels_per_point;
        let damage = if whole {
            Damage::Whole
        } else {
            self.compare(
                &summary.painted,
                primitives,
                pixels_per_point,
                size,
                changes,
            )
        };
        self.last = summary.painted;
        self.size = size;
        self.pixels_per_point = pixels_per_point;
        self.valid = true;
        damage
    }

    fn compare(
        &self,
        now: &[Painted],
        primitives: &[ClippedPrimitive],
        pixels_per_point: f32,
        size: [u32; 2],
        changes: &[TextureChange],
    ) -> Damage {
        let mut rects = Vec::new();
        // Shapes drawn in both frames are matched by content; the rest (new here, or gone since)
        // damage the pixels they cover.
        let mut before: HashMap<u64, usize> = HashMap::new();
        for p in &self.last {
            *before.entry(p.key).or_default() += 1;
        }
        let mut kept_now = Vec::with_capacity(now.len());
        for p in now {
            match before.get_mut(&p.key) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    kept_now.push(p.key);
                }
                _ => rects.extend(p.bounds),
            }
        }
        let mut kept: HashMap<u64, usize> = HashMap::new();
        for k in &kept_now {
            *kept.entry(*k).or_default() += 1;
        }
        let mut kept_before = Vec::with_capacity(kept_now.len());
        for p in &self.last {
            match kept.get_mut(&p.key) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    kept_before.push(p.key);
                }
                _ => rects.extend(p.bounds),
            }
        }
        // Kept shapes drawn in another order may blend differently where they overlap.
        if kept_now != kept_before {
            return Damage::Whole;
        }
        for p in primitives {
            let Primitive::Mesh(mesh) = &p.primitive else {
                continue;
            };
            let bounds = bounds_of(p, pixels_per_point, size);
            for change in changes.iter().filter(|c| c.id == mesh.texture_id) {
                rects.extend(
                    texture_region(mesh, change, pixels_per_point)
                        .map_or(bounds, |r| bounds.map(|b| b.intersect(r)))
                        .filter(|r| !r.is_empty()),
                );
            }
        }
        Damage::Rects(merge(rects, size))
    }
}

/// The pixels a primitive can touch: its vertices' bounds within its clip rectangle, widened by
/// a pixel for rounding; `None` when it draws nothing.
fn bounds_of(p: &ClippedPrimitive, pixels_per_point: f32, size: [u32; 2]) -> Option<PixelRect> {
    let area = match &p.primitive {
        Primitive::Mesh(mesh) => {
            let (lo, hi) = mesh_bounds(mesh)?;
            egui::Rect::from_min_max(lo, hi).intersect(p.clip_rect)
        }
        Primitive::Callback(_) => p.clip_rect,
    };
    to_pixels(area, pixels_per_point, size)
}

/// The pixels covering `area` (points), one more on each side, within the window.
fn to_pixels(area: egui::Rect, pixels_per_point: f32, size: [u32; 2]) -> Option<PixelRect> {
    if !(area.min.x < area.max.x && area.min.y < area.max.y) {
        return None;
    }
    let lo = |v: f32, n: u32| ((v * pixels_per_point).floor() - 1.0).clamp(0.0, n as f32) as u32;
    let hi = |v: f32, n: u32| ((v * pixels_per_point).ceil() + 1.0).clamp(0.0, n as f32) as u32;
    let r = PixelRect {
        x0: lo(area.min.x, size[0]),
        y0: lo(area.min.y, size[1]),
        x1: hi(area.max.x, size[0]),
        y1: hi(area.max.y, size[1]),
    };
    (!r.is_empty()).then_some(r)
}

fn mesh_bounds(mesh: &Mesh) -> Option<(egui::Pos2, egui::Pos2)> {
    let first = mesh.vertices.first()?.pos;
    Some(
        mesh.vertices
            .iter()
            .fold((first, first), |(lo, hi), v| (lo.min(v.pos), hi.max(v.pos))),
    )
}

/// Where `change` shows through `mesh` when the mesh is an axis-aligned textured quad (an
/// image): its texels mapped to the screen, widened by a texel for linear filtering. `None`
/// for any other mesh, or a whole-texture change (then the whole mesh is damaged).
fn texture_region(mesh: &Mesh, change: &TextureChange, pixels_per_point: f32) -> Option<PixelRect> {
    let [tx0, ty0, tx1, ty1] = change.rect?;
    let (lo, hi) = mesh_bounds(mesh)?;
    let uv_lo = mesh
        .vertices
        .iter()
        .fold(mesh.vertices[0].uv, |a, v| a.min(v.uv));
    let uv_hi = mesh
        .vertices
        .iter()
        .fold(mesh.vertices[0].uv, |a, v| a.max(v.uv));
    // Only a quad whose corners map position bounds to uv bounds the same way round.
    let corner_aligned = mesh.vertices.len() == 4
        && mesh.vertices.iter().all(|v| {
            ((v.pos.x == lo.x) == (v.uv.x == uv_lo.x))
                && ((v.pos.x == hi.x) == (v.uv.x == uv_hi.x))
                && ((v.pos.y == lo.y) == (v.uv.y == uv_lo.y))
                && ((v.pos.y == hi.y) == (v.uv.y == uv_hi.y))
        });
    let (du, dv) = (uv_hi.x - uv_lo.x, uv_hi.y - uv_lo.y);
    let (tw, th) = (change.size.0.max(1) as f32, change.size.1.max(1) as f32);
    if !corner_aligned || du <= 0.0 || dv <= 0.0 {
        return None;
    }
    // Points per texel, and where texel coordinate t lands.
    let (sx, sy) = ((hi.x - lo.x) / (du * tw), (hi.y - lo.y) / (dv * th));
    let x = |t: u32| lo.x + (t as f32 - uv_lo.x * tw) * sx;
    let y = |t: u32| lo.y + (t as f32 - uv_lo.y * th) * sy;
    let area = egui::Rect::from_min_max(
        egui::pos2(x(tx0) - sx, y(ty0) - sy),
        egui::pos2(x(tx1) + sx, y(ty1) + sy),
    );
    let far = u32::MAX / 2;
    to_pixels(area, pixels_per_point, [far, far])
}

/// The rectangles within the window, near ones merged, at most [`MAX_RECTS`] (else their union).
fn merge(rects: Vec<PixelRect>, size: [u32; 2]) -> Vec<PixelRect> {
    let window = PixelRect::whole(size);
    let mut out: Vec<PixelRect> = Vec::new();
    for r in rects.into_iter().map(|r| r.intersect(window)) {
        if r.is_empty() {
            continue;
        }
        let mut r = r;
        // Absorb every rectangle it comes near, until none is left near it.
        while let Some(i) = out.iter().position(|o| o.near(&r, MERGE_GAP)) {
            r = r.union(out.swap_remove(i));
        }
        out.push(r);
    }
    if out.len() > MAX_RECTS {
        let all = out.iter().copied().reduce(PixelRect::union);
        out = all.into_iter().collect();
    }
    out
}

/// The primitives that repaint `rects`: for each, a background quad, then every primitive that
/// can touch it, clipped to it, in frame order. Painted over the last frame's pixels, this gives
/// the same pixels as painting the whole frame on a `background` clear.
pub fn redraw_list(
    primitives: &[ClippedPrimitive],
    rects: &[PixelRect],
    pixels_per_point: f32,
    size: [u32; 2],
    background: egui::Color32,
) -> Vec<ClippedPrimitive> {
    let bounds: Vec<Option<PixelRect>> = primitives
        .iter()
        .map(|p| bounds_of(p, pixels_per_point, size))
        .collect();
    let mut out = Vec::new();
    for r in rects {
        let clip = r.to_points(pixels_per_point);
        let mut quad = Mesh::default();
        quad.add_colored_rect(clip, background);
        out.push(ClippedPrimitive {
            clip_rect: clip,
            primitive: Primitive::Mesh(quad),
        });
        for (p, b) in primitives.iter().zip(&bounds) {
            if b.is_some_and(|b| !b.intersect(*r).is_empty()) {
                out.push(ClippedPrimitive {
                    clip_rect: p.clip_rect.intersect(clip),
                    primitive: p.primitive.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::emath::TSTransform;
    use egui::{Color32, Rect, TextureId, pos2};

    fn rect(x0: f32, y0: f32, x1: f32, y1: f32) -> Rect {
        Rect::from_min_max(pos2(x0, y0), pos2(x1, y1))
    }

    fn filled(r: Rect, color: Color32) -> ClippedShape {
        ClippedShape {
            clip_rect: Rect::EVERYTHING,
            shape: Shape::rect_filled(r, 0.0, color),
            transform_after_tessellation: TSTransform::IDENTITY,
        }
    }

    fn quad(r: Rect, uv: Rect, texture: TextureId) -> ClippedPrimitive {
        let mut mesh = Mesh::with_texture(texture);
        mesh.add_rect_with_uv(r, uv, Color32::WHITE);
        ClippedPrimitive {
            clip_rect: Rect::EVERYTHING,
            primitive: Primitive::Mesh(mesh),
        }
    }

    const SIZE: [u32; 2] = [400, 300];

    fn damage(t: &mut DamageTracker, shapes: &[ClippedShape], size: [u32; 2]) -> Damage {
        t.damage(
            ShapeSummary::of(shapes, 1.0, size),
            &[],
            1.0,
            size,
            &[],
            false,
        )
    }

    #[test]
    fn an_unchanged_frame_damages_nothing_and_a_first_one_everything() {
        let frame = vec![filled(rect(10.0, 10.0, 50.0, 50.0), Color32::RED)];
        let mut t = DamageTracker::default();
        assert_eq!(damage(&mut t, &frame, SIZE), Damage::Whole);
        assert_eq!(damage(&mut t, &frame, SIZE), Damage::Rects(vec![]));
        assert_eq!(damage(&mut t, &frame, [401, 300]), Damage::Whole);
        t.invalidate();
        assert_eq!(damage(&mut t, &frame, [401, 300]), Damage::Whole);
    }

    #[test]
    fn a_moved_shape_damages_where_it_was_and_where_it_is() {
        let at = |x: f32| {
            vec![
                filled(rect(0.0, 0.0, 400.0, 20.0), Color32::GRAY),
                filled(rect(x, 100.0, x + 10.0, 110.0), Color32::RED),
            ]
        };
        let mut t = DamageTracker::default();
        damage(&mut t, &at(100.0), SIZE);
        let Damage::Rects(mut r) = damage(&mut t, &at(300.0), SIZE) else {
            panic!("expected rectangles");
        };
        r.sort_by_key(|r| r.x0);
        let px = |x0, y0, x1, y1| PixelRect { x0, y0, x1, y1 };
        assert_eq!(r, vec![px(99, 99, 111, 111), px(299, 99, 311, 111)]);
        // A changed colour damages it in place.
        let mut recoloured = at(300.0);
        recoloured[1] = filled(rect(300.0, 100.0, 310.0, 110.0), Color32::BLUE);
        assert_eq!(
            damage(&mut t, &recoloured, SIZE),
            Damage::Rects(vec![px(299, 99, 311, 111)])
        );
    }

    #[test]
    fn a_text_selected_in_place_is_repainted() {
        // egui draws a selection by recolouring the galley's row meshes; the layout job stays.
        let ctx = egui::Context::default();
        let _ = ctx.run_ui(egui::RawInput::default(), |_| {});
        let galley = ctx.fonts_mut(|f| {
            f.layout_no_wrap("dogsled".into(), egui::FontId::default(), Color32::WHITE)
        });
        let text = |g: std::sync::Arc<egui::Galley>| ClippedShape {
            clip_rect: Rect::EVERYTHING,
            shape: Shape::galley(pos2(20.0, 30.0), g, Color32::WHITE),
            transform_after_tessellation: TSTransform::IDENTITY,
        };
        let mut selected = (*galley).clone();
        let row = std::sync::Arc::make_mut(&mut selected.rows[0].row);
        for v in &mut row.visuals.mesh.vertices {
            v.color = Color32::BLUE;
        }
        let mut t = DamageTracker::default();
        damage(&mut t, &[text(galley.clone())], SIZE);
        let Damage::Rects(r) = damage(&mut t, &[text(std::sync::Arc::new(selected))], SIZE) else {
            panic!("expected rectangles");
        };
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].x0 <= 20 && r[0].y0 <= 30 && r[0].x1 > 40, "{r:?}");
    }

    #[test]
    fn a_zoom_change_repaints_everything() {
        let frame = vec![filled(rect(10.0, 10.0, 50.0, 50.0), Color32::RED)];
        let mut t = DamageTracker::default();
        t.damage(
            ShapeSummary::of(&frame, 1.0, SIZE),
            &[],
            1.0,
            SIZE,
            &[],
            false,
        );
        let same = t.damage(
            ShapeSummary::of(&frame, 1.0, SIZE),
            &[],
            1.0,
            SIZE,
            &[],
            false,
        );
        assert_eq!(same, Damage::Rects(vec![]));
        let zoomed = t.damage(
            ShapeSummary::of(&frame, 1.5, SIZE),
            &[],
            1.5,
            SIZE,
            &[],
            false,
        );
        assert_eq!(zoomed, Damage::Whole);
    }

    #[test]
    fn swapped_overlapping_shapes_repaint_everything() {
        let a = filled(rect(0.0, 0.0, 50.0, 50.0), Color32::RED);
        let b = filled(rect(25.0, 25.0, 75.0, 75.0), Color32::BLUE);
        let mut t = DamageTracker::default();
        damage(&mut t, &[a.clone(), b.clone()], SIZE);
        assert_eq!(damage(&mut t, &[b, a], SIZE), Damage::Whole);
    }

    #[test]
    fn a_changed_texture_region_maps_through_the_image_quad() {
        // A 200x100 texture shown at (100, 50) twice as large: texels 10..20 x 5..10 land at
        // 120..140 x 60..70, widened by a texel (2 px) and a pixel of rounding.
        let id = TextureId::User(7);
        let size = [600, 300];
        let on_screen = rect(100.0, 50.0, 500.0, 250.0);
        let primitives = [quad(on_screen, rect(0.0, 0.0, 1.0, 1.0), id)];
        let shapes = [filled(on_screen, Color32::WHITE)];
        let mut t = DamageTracker::default();
        let mut step = |changes: &[TextureChange]| {
            let summary = ShapeSummary::of(&shapes, 1.0, size);
            t.damage(summary, &primitives, 1.0, size, changes, false)
        };
        step(&[]);
        let change = TextureChange {
            id,
            size: (200, 100),
            rect: Some([10, 5, 20, 10]),
        };
        let px = |x0, y0, x1, y1| PixelRect { x0, y0, x1, y1 };
        assert_eq!(step(&[change]), Damage::Rects(vec![px(117, 57, 143, 73)]));
        // The whole texture: the whole quad.
        let whole = TextureChange {
            rect: None,
            ..change
        };
        assert_eq!(step(&[whole]), Damage::Rects(vec![px(99, 49, 501, 251)]));
        // Another texture's change damages nothing here.
        let other = TextureChange {
            id: TextureId::User(8),
            ..change
        };
        assert_eq!(step(&[other]), Damage::Rects(vec![]));
    }

    #[test]
    fn near_rectangles_merge_and_far_ones_stay_apart() {
        let r = |x0, y0, x1, y1| PixelRect { x0, y0, x1, y1 };
        let merged = merge(
            vec![r(0, 0, 10, 10), r(20, 0, 30, 10), r(200, 200, 210, 210)],
            SIZE,
        );
        assert_eq!(merged, vec![r(0, 0, 30, 10), r(200, 200, 210, 210)]);
        // A chain that joins through the last one added.
        let chain = merge(
            vec![r(0, 0, 10, 10), r(100, 0, 110, 10), r(10, 0, 100, 10)],
            SIZE,
        );
        assert_eq!(chain, vec![r(0, 0, 110, 10)]);
        let many: Vec<PixelRect> = (0..40)
            .map(|i| r(i * 9, (i % 2) * 100, i * 9 + 1, (i % 2) * 100 + 1))
            .collect();
        assert!(merge(many, SIZE).len() <= MAX_RECTS);
    }

    #[test]
    fn the_redraw_list_starts_each_rectangle_with_the_background() {
        let near = quad(rect(0.0, 0.0, 50.0, 50.0), Rect::ZERO, TextureId::default());
        let far = quad(
            rect(300.0, 200.0, 310.0, 210.0),
            Rect::ZERO,
            TextureId::default(),
        );
        let rects = [PixelRect {
            x0: 10,
            y0: 10,
            x1: 20,
            y1: 20,
        }];
        let list = redraw_list(&[near, far], &rects, 2.0, SIZE, Color32::BLACK);
        assert_eq!(
            list.len(),
            2,
            "the background and the one primitive reaching the rect"
        );
        assert!(
            list.iter()
                .all(|p| p.clip_rect == rect(5.0, 5.0, 10.0, 10.0))
        );
    }
}
