//! Creating, uploading and reading back RGBA8 textures. The 256-byte row padding of
//! texture↔buffer copies lives here and nowhere else.

use image::RgbaImage;

use crate::{Error, Result};

/// Format of every working image texture: linear 8-bit RGBA (pixel values as stored in the file;
/// the classifiers were trained on those, not on linearised sRGB).
pub const IMAGE_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// Creates an RGBA8 texture holding `img`, usable by shaders, copies and storage writes.
pub fn upload_rgba(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    img: &RgbaImage,
    label: &str,
) -> Result<wgpu::Texture> {
    let (width, height) = img.dimensions();
    let max = device.limits().max_texture_dimension_2d;
    if width > max || height > max {
        return Err(Error::Invalid(format!(
            "image {width}x{height} exceeds the GPU's texture limit of {max} pixels a side"
        )));
    }
    let texture = create_2d(
        device,
        (width, height),
        IMAGE_FORMAT,
        wgpu::TextureUsages::TEXTURE_BINDING
            | wgpu::TextureUsages::STORAGE_BINDING
            | wgpu::TextureUsages::COPY_DST
            | wgpu::TextureUsages::COPY_SRC,
        label,
    );
    queue.write_texture(
        texture.as_image_copy(),
        img.as_raw(),
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(4 * width),
            rows_per_image: Some(height),
        },
        extent(width, height),
    );
    Ok(texture)
}

/// A plain 2D texture (one mip level, one sample) of `size` pixels.
pub fn create_2d(
    device: &wgpu::Device,
    (width, height): (u32, u32),
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
    label: &str,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: extent(width, height),
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage,
        view_formats: &[],
    })
}

/// A 2D extent of one layer.
pub fn extent(width: u32, height: u32) -> wgpu::Extent3d {
    wgpu::Extent3d {
        width,
        height,
        depth_or_array_layers: 1,
    }
}

/// Reads a 4-byte-per-texel texture back as raw rows (blocking). For tests and saving.
pub fn read_texels(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
) -> Result<Vec<u8>> {
    let (width, height) = (texture.width(), texture.height());
    let unpadded = 4 * width;
    let padded =
        unpadded.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    let buffer = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("texture.readback"),
        size: u64::from(padded) * u64::from(height),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("texture.readback"),
    });
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded),
                rows_per_image: Some(height),
            },
        },
        extent(width, height),
    );
    queue.submit([encoder.finish()]);
    let bytes = read_buffer(device, &buffer)?;
    let mut out = Vec::with_capacity((unpadded * height) as usize);
    for row in bytes.chunks_exact(padded as usize) {
        out.extend_from_slice(&row[..unpadded as usize]);
    }
    Ok(out)
}

/// Reads an R32Float mask texture back as a mask image (non-zero = erased). Blocking.
pub fn read_mask(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
) -> Result<image::GrayImage> {
    let texels = read_texels(device, queue, texture)?;
    let values: Vec<u8> = texels
        .chunks_exact(4)
        .map(|b| {
            if f32::from_le_bytes([b[0], b[1], b[2], b[3]]) > 0.0 {
                255
            } else {
                0
            }
        })
        .collect();
    image::GrayImage::from_raw(texture.width(), texture.height(), values)
        .ok_or_else(|| Error::Gpu("mask readback has the wrong size".into()))
}

/// Reads an RGBA8 texture back into an image (blocking). For tests, saving and export: never
/// on the frame path.
pub fn read_rgba(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
) -> Result<RgbaImage> {
    let texels = read_texels(device, queue, texture)?;
    RgbaImage::from_raw(texture.width(), texture.height(), texels)
        .ok_or_else(|| Error::Gpu("texture readback has the wrong size".into()))
}

/// Maps a `MAP_READ` buffer and copies its contents out (blocking).
pub fn read_buffer(device: &wgpu::Device, buffer: &wgpu::Buffer) -> Result<Vec<u8>> {
    super::readback::count_wait();
    let (tx, rx) = std::sync::mpsc::channel();
    buffer.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::Gpu(e.to_string()))?;
    rx.recv()
        .map_err(|_| Error::Gpu("buffer mapping was dropped".into()))?
        .map_err(|e| Error::Gpu(format!("mapping a buffer for reading: {e}")))?;
    let data = buffer
        .get_mapped_range(..)
        .map_err(|e| Error::Gpu(format!("reading a mapped buffer: {e:?}")))?
        .to_vec();
    buffer.unmap();
    Ok(data)
}

/// Format of mask textures: one byte per pixel, non-zero = erase.
pub const MASK_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::R8Unorm;

/// Creates an R8 mask texture holding `mask` (non-zero = erase).
pub fn upload_mask(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    mask: &image::GrayImage,
    label: &str,
) -> wgpu::Texture {
    let (width, height) = mask.dimensions();
    let texture = create_2d(
        device,
        (width, height),
        MASK_FORMAT,
        wgpu::TextureUsages::TEXTURE_BINDING
            | wgpu::TextureUsages::COPY_DST
            | wgpu::TextureUsages::COPY_SRC,
        label,
    );
    queue.write_texture(
        texture.as_image_copy(),
        mask.as_raw(),
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(width),
            rows_per_image: Some(height),
        },
        extent(width, height),
    );
    texture
}
