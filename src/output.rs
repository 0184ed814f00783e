//! Writing files without ever losing the one already there: the format is checked from the
//! extension before any work, the bytes are encoded in memory, written to a temporary file in the
//! target's folder and renamed over the target only once complete (a rename within one folder is
//! atomic), so a failed or interrupted write leaves the old file as it was.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use image::{DynamicImage, ImageFormat};

use crate::{Error, Result};

/// The extensions unsee writes images to, for messages.
pub const WRITABLE: &str = "png, jpg, jpeg, webp, bmp, tif, tiff";

/// The format an image written to `path` gets, from its extension (case-insensitive); an error
/// naming the path for a missing or unknown extension.
pub fn image_format(path: &Path) -> Result<ImageFormat> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match ext.as_deref() {
        Some("png") => ImageFormat::Png,
        Some("jpg" | "jpeg") => ImageFormat::Jpeg,
        Some("webp") => ImageFormat::WebP,
        Some("bmp") => ImageFormat::Bmp,
        Some("tif" | "tiff") => ImageFormat::Tiff,
        _ => {
            return Err(Error::Write {
                path: path.to_owned(),
                reason: format!("unknown image extension (unsee writes {WRITABLE})"),
            });
        }
    };
    Ok(format)
}

/// Checks, before any work, that an image can be written to `path`: a known extension, an
/// existing folder, and no folder of that name in the way.
pub fn check_image_output(path: &Path) -> Result<ImageFormat> {
    let format = image_format(path)?;
    check_output(path)?;
    Ok(format)
}

/// Checks that a file can be created at `path`: its folder exists and is a folder, and `path` is
/// not itself a folder.
pub fn check_output(path: &Path) -> Result<()> {
    let fail = |reason: String| {
        Err(Error::Write {
            path: path.to_owned(),
            reason,
        })
    };
    if path.is_dir() {
        return fail("it is a folder".into());
    }
    let parent = folder_of(path);
    match std::fs::metadata(&parent) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => fail(format!("{} is not a folder", parent.display())),
        Err(e) => fail(format!("folder {}: {e}", parent.display())),
    }
}

/// Encodes `img` in `path`'s format (JPEG gets RGB: it has no alpha) and writes it atomically.
pub fn write_image(path: &Path, img: &DynamicImage) -> Result<()> {
    let format = image_format(path)?;
    let converted;
    let img = match (format, img) {
        (ImageFormat::Jpeg, DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_)) => img,
        (ImageFormat::Jpeg, _) => {
            converted = DynamicImage::ImageRgb8(img.to_rgb8());
            &converted
        }
        _ => img,
    };
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, format).map_err(|e| Error::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    write_bytes(path, bytes.get_ref())
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |file| file.write_all(bytes))
}

/// Creates a temporary file beside `path`, lets `fill` write it, flushes it to disk and renames it
/// over `path`. On any failure the temporary file is removed and `path` is untouched.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<()> {
    check_output(path)?;
    let fail = |e: std::io::Error| Error::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let (tmp_path, mut file) = create_temp(path).map_err(fail)?;
    let written = (|| {
        // A replaced file keeps its permissions rather than taking the default ones.
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        fill(&mut file)?;
        // On disk before the rename: after a crash the name points at the old or the new
        // contents, never at a file the system had not finished writing.
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp_path, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp_path);
        fail(e)
    })
}

/// Creates a new, uniquely named hidden file in `path`'s folder (never opening an existing one).
fn create_temp(path: &Path) -> std::io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let folder = folder_of(path);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = folder.join(format!(".{name}.{}.{n}.unsee-tmp", std::process::id()));
        match File::options().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The folder `path` lies in (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Creates `dir` (and its parents) for outputs; the error names it.
pub fn create_folder(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Write {
        path: dir.to_owned(),
        reason: if dir.exists() && !dir.is_dir() {
            "a file of that name is in the way".into()
        } else {
            format!("cannot create the folder: {e}")
        },
    })
}

/// Refuses an output that would replace one of the command's inputs (or another output), naming
/// both paths. Paths are compared as the files they reach (links and `..` resolved).
pub fn refuse_overwrite(outputs: &[&Path], inputs: &[&Path]) -> Result<()> {
    for (i, out) in outputs.iter().enumerate() {
        let clash = inputs
            .iter()
            .map(|p| (*p, "input"))
            .chain(outputs[..i].iter().map(|p| (*p, "other output")))
            .find(|(other, _)| same_file(out, other));
        if let Some((other, what)) = clash {
            return Err(Error::Invalid(format!(
                "refusing to write {}: it is the {what} {}",
                out.display(),
                other.display()
            )));
        }
    }
    Ok(())
}

/// Whether `a` and `b` name the same file (or would, for paths not yet created).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
    }
    resolved(a) == resolved(b)
}

/// `path` made absolute with links resolved, as far as it exists.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    match (path.file_name(), folder_of(path).canonicalize()) {
        (Some(name), Ok(dir)) => dir.join(name),
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("unsee-output-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(image_format(Path::new("a.PNG")).unwrap(), ImageFormat::Png);
        assert_eq!(
            image_format(Path::new("a.jpeg")).unwrap(),
            ImageFormat::Jpeg
        );
        for bad in ["a", "a.gif", "a.txt", "a.png.bak"] {
            let e = image_format(Path::new(bad)).unwrap_err().to_string();
            assert!(
                e.contains(bad) && e.contains("unknown image extension"),
                "{e}"
            );
        }
    }

    #[test]
    fn every_writable_format_takes_rgba_and_gray_images() {
        let dir = scratch("formats");
        let rgba = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            17,
            16,
            image::Rgba([10, 200, 30, 255]),
        ));
        let gray =
            DynamicImage::ImageLuma8(image::GrayImage::from_pixel(17, 16, image::Luma([255])));
        for ext in ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"] {
            for (kind, img) in [("rgba", &rgba), ("gray", &gray)] {
                let path = dir.join(format!("{kind}.{ext}"));
                write_image(&path, img).unwrap_or_else(|e| panic!("{ext} {kind}: {e}"));
                let back = image::open(&path).unwrap();
                assert_eq!(back.width(), 17, "{ext} {kind}");
            }
        }
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".unsee-tmp"))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    }

    #[test]
    fn a_write_failing_half_way_leaves_the_old_file() {
        let dir = scratch("half");
        let path = dir.join("precious.png");
        std::fs::write(&path, b"old contents").unwrap();
        let e = write_atomic(&path, |f| {
            f.write_all(b"new con")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("precious.png") && e.to_string().contains("disk full"));
        assert_eq!(std::fs::read(&path).unwrap(), b"old contents");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "temp file left"
        );
        write_bytes(&path, b"new contents").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
    }

    #[test]
    fn outputs_that_are_inputs_are_refused() {
        let dir = scratch("clash");
        let input = dir.join("in.png");
        std::fs::write(&input, b"x").unwrap();
        let via_dots = dir.join("sub/../in.png");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let e = refuse_overwrite(&[&via_dots], &[&input])
            .unwrap_err()
            .to_string();
        assert!(e.contains("in.png") && e.contains("input"), "{e}");
        let new = dir.join("new.png");
        assert!(refuse_overwrite(&[&new], &[&input]).is_ok());
        let e = refuse_overwrite(&[&new, &dir.join("./new.png")], &[&input]).unwrap_err();
        assert!(e.to_string().contains("other output"), "{e}");
    }
}
