//! CPU reference implementations of the GPU passes, one file per shader with the same name.
//! They favour clarity over speed and are what the GPU results are tested against.

pub mod compose;
pub mod morphology;
pub mod paint;
pub mod patchmatch;
pub mod preprocess;
pub mod telea;
