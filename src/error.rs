//! The library's error type: every failure a user can cause or meet, named in one line.

use std::path::PathBuf;

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in unsee, phrased for the person who ran it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image file could not be opened or read.
    // `cause` is not named `source`: thiserror would chain it, and `{:#}` would print the OS error
    // a second time after the message that already holds it.
    #[error("cannot read image {path}: {cause}")]
    ImageRead {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The file was read but is not an image we can decode (wrong format, truncated, empty).
    #[error("cannot decode image {path}: {reason}")]
    ImageDecode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The image (or its header's claim) exceeds what unsee accepts.
    #[error("image {path} is {width}x{height}, larger than unsee accepts ({limit})")]
    ImageTooLarge {
        /// The file.
        path: PathBuf,
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The limit that was exceeded, in words.
        limit: String,
    },
    /// The image is too small to classify meaningfully.
    #[error("image {path} is {width}x{height}; unsee needs at least {min}x{min} pixels")]
    ImageTooSmall {
        /// The file.
        path: PathBuf,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Minimum side.
        min: u32,
    },
    /// A weights file is absent.
    #[error(
        "weights file {path} is missing (expected sha256 {expected_sha256}); restore it from the repository's models/ folder"
    )]
    WeightsMissing {
        /// The file looked for.
        path: PathBuf,
        /// The checksum the file must have.
        expected_sha256: &'static str,
    },
    /// A weights file exists but is not the file unsee ships.
    #[error("weights file {path} is corrupt: sha256 {actual} but expected {expected_sha256}")]
    WeightsCorrupt {
        /// The file.
        path: PathBuf,
        /// What it hashed to.
        actual: String,
        /// What it should hash to.
        expected_sha256: &'static str,
    },
    /// A weights file has the right checksum but a tensor is missing or malformed (a code bug).
    #[error("weights file {path}: {reason}")]
    WeightsFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The label file is missing or malformed.
    #[error("labels file {path}: {reason}")]
    Labels {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No GPU adapter (not even a software one) is available.
    #[error(
        "no GPU adapter found; install a Vulkan driver (on Debian/Ubuntu without a GPU: apt-get install mesa-vulkan-drivers libvulkan1)"
    )]
    NoAdapter,
    /// `--adapter NAME` matched no adapter.
    #[error("no GPU adapter matches {wanted:?}; available: {available}")]
    AdapterNotFound {
        /// What the user asked for.
        wanted: String,
        /// The adapters present, comma separated.
        available: String,
    },
    /// The adapter refused to create a device.
    #[error("the GPU adapter {adapter} could not create a device: {reason}")]
    RequestDevice {
        /// The adapter's name.
        adapter: String,
        /// Why.
        reason: String,
    },
    /// burn could not take over our device.
    #[error("burn could not use the GPU device: {0}")]
    BurnInit(String),
    /// A GPU operation failed (validation, out of memory, lost device).
    #[error("GPU error: {0}")]
    Gpu(String),
    /// An output file could not be written (the file that was there is left as it was).
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file (or folder).
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A recorded session is unreadable or asks for something unsee does not allow.
    #[error("session {path}: {reason}")]
    Session {
        /// The session.json.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A request made no sense (for example a mask of the wrong size).
    #[error("{0}")]
    Invalid(String),
}

/// Ok when a mask of size `mask` fits an image of size `image`, else the error users see.
pub fn check_mask_size(mask: (u32, u32), image: (u32, u32)) -> Result<()> {
    if mask == image {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "the mask is {}x{} but the image is {}x{}",
        mask.0, mask.1, image.0, image.1
    )))
}
