//! GPU-free planning shared by the GPU passes (`passes/`) and their CPU references (`cpu/`):
//! where a hole is and how deep, and PatchMatch's pyramid and step schedule. Nothing here touches
//! a device, so `cpu/` never depends on `passes/`.

pub mod hole;
pub mod patchmatch;

pub use hole::HoleBounds;
pub use patchmatch::{PatchMatchParams, Step};
