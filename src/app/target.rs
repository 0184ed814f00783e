//! Where the viewer's frames go: a window's surface, or (`--offscreen`) a texture the size of
//! the default window, for measuring the frame loop on a GPU machine with no display. The rest
//! of the viewer draws the same way into either.

use std::sync::Arc;
use std::time::Instant;

use winit::window::Window;

/// The window, its surface and egui's link to its events.
pub(super) struct WindowTarget {
    // Field order is drop order: the surface before the window it draws into.
    pub surface: wgpu::Surface<'static>,
    pub config: wgpu::SurfaceConfiguration,
    pub egui_state: egui_winit::State,
    pub window: Arc<Window>,
}

/// A texture standing in for the window: no input but the scripted stroke, no presenting.
pub(super) struct Offscreen {
    texture: wgpu::Texture,
    started: Instant,
}

/// The viewer's frames' destination.
pub(super) enum Target {
    Window(Box<WindowTarget>),
    Offscreen(Offscreen),
}

/// A frame to draw into, from [`Target::acquire`].
pub(super) enum Acquired {
    Surface(wgpu::SurfaceTexture),
    Texture(wgpu::Texture),
}

impl Acquired {
    /// The texture the frame is drawn into.
    pub fn texture(&self) -> &wgpu::Texture {
        match self {
            Acquired::Surface(s) => &s.texture,
            Acquired::Texture(t) => t,
        }
    }
}

impl Offscreen {
    /// A `width` x `height` frame texture of `format` that a canvas can be copied into and a
    /// screenshot read from.
    pub fn new(
        device: &wgpu::Device,
        (width, height): (u32, u32),
        format: wgpu::TextureFormat,
    ) -> Self {
        let texture = crate::gpu::texture::create_2d(
            device,
            (width, height),
            format,
            wgpu::TextureUsages::RENDER_ATTACHMENT
                | wgpu::TextureUsages::COPY_DST
                | wgpu::TextureUsages::COPY_SRC,
            "viewer.offscreen",
        );
        Self {
            texture,
            started: Instant::now(),
        }
    }
}

impl Target {
    /// The window, if there is one.
    pub fn window(&self) -> Option<&Arc<Window>> {
        match self {
            Target::Window(w) => Some(&w.window),
            Target::Offscreen(_) => None,
        }
    }

    /// The frame's size in pixels.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Target::Window(w) => {
                let s = w.window.inner_size();
                (s.width, s.height)
            }
            Target::Offscreen(o) => (o.texture.width(), o.texture.height()),
        }
    }

    /// The size the frames are drawn at (the surface's configuration).
    pub fn configured_size(&self) -> [u32; 2] {
        match self {
            Target::Window(w) => [w.config.width, w.config.height],
            Target::Offscreen(o) => [o.texture.width(), o.texture.height()],
        }
    }

    /// The frames' texture format.
    pub fn format(&self) -> wgpu::TextureFormat {
        match self {
            Target::Window(w) => w.config.format,
            Target::Offscreen(o) => o.texture.format(),
        }
    }

    /// egui's input since the last frame (offscreen: only the screen and the clock).
    pub fn raw_input(&mut self) -> egui::RawInput {
        match self {
            Target::Window(w) => w.egui_state.take_egui_input(&w.window),
            Target::Offscreen(o) => egui::RawInput {
                screen_rect: Some(egui::Rect::from_min_size(
                    egui::Pos2::ZERO,
                    egui::vec2(o.texture.width() as f32, o.texture.height() as f32),
                )),
                time: Some(o.started.elapsed().as_secs_f64()),
                ..Default::default()
            },
        }
    }

    /// Hands egui's requests (cursor, clipboard, …) to the window.
    pub fn platform_output(&mut self, output: egui::PlatformOutput) {
        if let Target::Window(w) = self {
            w.egui_state.handle_platform_output(&w.window, output);
        }
    }

    /// Asks for another frame (the offscreen loop draws them back to back anyway).
    pub fn request_redraw(&self) {
        if let Target::Window(w) = self {
            w.window.request_redraw();
        }
    }

    /// Follows the window's new size.
    pub fn resize(&mut self, device: &wgpu::Device, width: u32, height: u32) {
        if let Target::Window(w) = self {
            w.config.width = width;
            w.config.height = height;
            w.surface.configure(device, &w.config);
        }
    }

    /// The frame to draw into; `None` when this frame is skipped (the surface was out of date
    /// and is configured again, or timed out).
    pub fn acquire(&mut self, device: &wgpu::Device) -> anyhow::Result<Option<Acquired>> {
        let w = match self {
            Target::Window(w) => w,
            Target::Offscreen(o) => return Ok(Some(Acquired::Texture(o.texture.clone()))),
        };
        Ok(match w.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f)
            | wgpu::CurrentSurfaceTexture::Suboptimal(f) => Some(Acquired::Surface(f)),
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                w.surface.configure(device, &w.config);
                None
            }
            wgpu::CurrentSurfaceTexture::Timeout | wgpu::CurrentSurfaceTexture::Occluded => None,
            wgpu::CurrentSurfaceTexture::Validation => {
                anyhow::bail!("the window surface failed validation")
            }
        })
    }

    /// Shows the frame (offscreen: it is already submitted).
    pub fn present(&self, queue: &wgpu::Queue, frame: Acquired) {
        if let Acquired::Surface(f) = frame {
            queue.present(f);
        }
    }
}
