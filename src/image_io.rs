//! Reading photos from disk safely: size limits checked from the header before any pixel is
//! allocated, every pixel format converted to opaque RGBA8.

use std::io::Cursor;
use std::path::Path;

use image::{GrayImage, ImageReader, RgbaImage};

use crate::{Error, Result};

/// Longest side unsee decodes. Larger images are refused from their header alone.
pub const MAX_SIDE: u32 = 16_384;
/// Most pixels unsee decodes (100 megapixels = 400 MB of RGBA8).
pub const MAX_PIXELS: u64 = 100_000_000;
/// Shortest side unsee accepts: below this a classifier input is mostly interpolation.
pub const MIN_SIDE: u32 = 16;

/// Largest image file read, bytes: a 100-megapixel image stored without compression at 16 bits
/// per channel is 800 MB.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// The formats unsee reads, for messages.
pub const READABLE: &str = "PNG, JPEG, WebP, BMP, TIFF, GIF";

/// Reads and decodes an image file into opaque RGBA8 (alpha composited over white, grayscale and
/// 16-bit images converted), refusing files that are not images or whose header claims a size
/// beyond [`MAX_SIDE`] / [`MAX_PIXELS`] before allocating them.
pub fn load_image(path: &Path) -> Result<RgbaImage> {
    let bytes = read_file(path)?;
    decode_image(&bytes, path)
}

/// The bytes of an image file: a regular file of at most [`MAX_FILE_BYTES`] (a device or a pipe
/// could be endless).
fn read_file(path: &Path) -> Result<Vec<u8>> {
    let read_err = |cause| Error::ImageRead {
        path: path.to_owned(),
        cause,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if meta.is_dir() {
        return Err(read_err(std::io::Error::other("it is a folder")));
    }
    if !meta.is_file() {
        return Err(read_err(std::io::Error::other("not a regular file")));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(read_err(std::io::Error::other(format!(
            "{} bytes, more than the {} MB unsee reads",
            meta.len(),
            MAX_FILE_BYTES >> 20
        ))));
    }
    std::fs::read(path).map_err(read_err)
}

/// Decodes image bytes; `path` is only used to name the file in errors.
pub fn decode_image(bytes: &[u8], path: &Path) -> Result<RgbaImage> {
    let decoded = decode_any(bytes, path)?;
    let has_alpha = decoded.color().has_alpha();
    let mut rgba = decoded.into_rgba8();
    if has_alpha {
        flatten_over_white(&mut rgba);
    }
    Ok(rgba)
}

/// Decodes image bytes as they are (any colour type; a GIF's first frame), with the size limits.
fn decode_any(bytes: &[u8], path: &Path) -> Result<image::DynamicImage> {
    let decode_err = |reason: String| Error::ImageDecode {
        path: path.to_owned(),
        reason,
    };
    if bytes.is_empty() {
        return Err(decode_err("the file is empty".into()));
    }
    let reader = || -> Result<ImageReader<Cursor<&[u8]>>> {
        let reader = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| decode_err(e.to_string()))?;
        match reader.format() {
            None => return Err(decode_err(format!("not an image unsee reads ({READABLE})"))),
            // JPEG decoders fill a cut-off scan with grey instead of failing: look for the
            // end-of-image marker so a truncated download is reported, not classified.
            Some(image::ImageFormat::Jpeg) if !has_jpeg_end(bytes) => {
                return Err(decode_err("truncated JPEG (no end-of-image marker)".into()));
            }
            Some(_) => {}
        }
        Ok(reader)
    };

    let (width, height) = reader()?
        .into_dimensions()
        .map_err(|e| decode_err(e.to_string()))?;
    check_size(path, width, height)?;

    let mut limited = reader()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Decoders may need a little more than the output (e.g. 16-bit intermediates).
    limits.max_alloc = Some(MAX_PIXELS * 8 + (64 << 20));
    limited.limits(limits);
    // A GIF decodes to its first frame.
    limited.decode().map_err(|e| decode_err(e.to_string()))
}

/// Whether a JPEG's end-of-image marker (FF D9) appears near the end of the file (some writers
/// pad after it).
fn has_jpeg_end(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xff, 0xd9])
}

fn check_size(path: &Path, width: u32, height: u32) -> Result<()> {
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Error::ImageTooLarge {
            path: path.to_owned(),
            width,
            height,
            limit: format!(
                "{MAX_SIDE} pixels a side, {} megapixels",
                MAX_PIXELS / 1_000_000
            ),
        });
    }
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(Error::ImageTooSmall {
            path: path.to_owned(),
            width,
            height,
            min: MIN_SIDE,
        });
    }
    Ok(())
}

/// Reads a mask image: any image format, converted to luminance; non-zero = erase. In a mask with
/// an alpha channel, transparent pixels are kept whatever their colour (a stroke painted on a
/// transparent layer). Use a lossless format (PNG): JPEG noise turns black into small non-zero
/// values.
pub fn load_mask(path: &Path) -> Result<GrayImage> {
    let decoded = decode_any(&read_file(path)?, path)?;
    Ok(mask_from(decoded))
}

/// The mask of a decoded image: luminance, zero where fully transparent.
fn mask_from(img: image::DynamicImage) -> GrayImage {
    if !img.color().has_alpha() {
        return img.into_luma8();
    }
    let la = img.into_luma_alpha8();
    GrayImage::from_fn(la.width(), la.height(), |x, y| {
        let [l, a] = la.get_pixel(x, y).0;
        image::Luma([if a == 0 { 0 } else { l }])
    })
}

/// Composites transparent pixels over white, so the classifier sees what a viewer shows rather
/// than whatever colour hides under alpha = 0.
fn flatten_over_white(img: &mut RgbaImage) {
    for px in img.pixels_mut() {
        let a = u32::from(px[3]);
        for c in 0..3 {
            px[c] = ((u32::from(px[c]) * a + 255 * (255 - a) + 127) / 255) as u8;
        }
        px[3] = 255;
    }
}

/// Scales `img` down (triangle filter) so that its longer side is at most `max_side`; returns it
/// unchanged when it already fits.
pub fn fit_within(img: RgbaImage, max_side: u32) -> RgbaImage {
    let (w, h) = img.dimensions();
    if w.max(h) <= max_side {
        return img;
    }
    let scale = f64::from(max_side) / f64::from(w.max(h));
    let nw = ((f64::from(w) * scale).round() as u32).max(1);
    let nh = ((f64::from(h) * scale).round() as u32).max(1);
    image::imageops::resize(&img, nw, nh, image::imageops::FilterType::Triangle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_keeps_opaque_and_whitens_transparent() {
        let mut img = RgbaImage::from_raw(2, 1, vec![10, 20, 30, 255, 10, 20, 30, 0]).unwrap();
        flatten_over_white(&mut img);
        assert_eq!(img.as_raw(), &[10, 20, 30, 255, 255, 255, 255, 255]);
    }

    #[test]
    fn transparent_mask_pixels_are_kept() {
        let la =
            image::GrayAlphaImage::from_raw(4, 1, vec![255, 0, 255, 255, 0, 255, 255, 40]).unwrap();
        let mask = mask_from(image::DynamicImage::ImageLumaA8(la));
        assert_eq!(mask.as_raw(), &[0, 255, 0, 255]);
        let opaque = GrayImage::from_raw(2, 1, vec![0, 200]).unwrap();
        let mask = mask_from(image::DynamicImage::ImageLuma8(opaque.clone()));
        assert_eq!(mask, opaque);
    }

    #[test]
    fn fit_within_scales_long_side() {
        let img = RgbaImage::new(400, 100);
        let out = fit_within(img, 200);
        assert_eq!(out.dimensions(), (200, 50));
    }
}
