//! Shared test helpers: the one GPU context, paths, reference data.

use std::path::PathBuf;
use std::sync::OnceLock;

use unsee::gpu::{GpuContext, GpuOptions};

/// Whether GPU tests must run (CI sets it): then a missing adapter is a failure, not a skip.
pub fn require_gpu() -> bool {
    std::env::var("REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// The process's GPU context, or `None` (test skips) when there is no adapter and GPU tests are
/// not required.
pub fn gpu() -> Option<&'static GpuContext> {
    static GPU: OnceLock<Option<GpuContext>> = OnceLock::new();
    GPU.get_or_init(|| match GpuContext::headless(&GpuOptions::from_arg(None)) {
        Ok(gpu) => {
            eprintln!("GPU tests on {}", gpu.adapter_name());
            Some(gpu)
        }
        Err(e) if require_gpu() => panic!("REQUIRE_GPU=1 but no GPU context: {e}"),
        Err(e) => {
            eprintln!("skipping GPU tests: {e}");
            None
        }
    })
    .as_ref()
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled models folder.
pub fn models_dir() -> PathBuf {
    root().join("models")
}

/// The project's shared assets (`UNSEE_SHARED`, else `../shared` beside the checkout), or `None`
/// (test skips) when absent and GPU tests are not required.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("UNSEE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"));
    if dir.join("paper").is_dir() {
        Some(dir)
    } else if require_gpu() {
        panic!(
            "REQUIRE_GPU=1 but the shared assets are not at {}",
            dir.display()
        );
    } else {
        eprintln!("skipping: no shared assets at {}", dir.display());
        None
    }
}

/// Parses a JSON file under tests/data.
pub fn test_data(name: &str) -> serde_json::Value {
    let path = root().join("tests/data").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Where a failing test may leave files to look at.
pub fn output_dir(test: &str) -> PathBuf {
    let dir = root().join("target/test-output").join(test);
    let _ = std::fs::create_dir_all(&dir);
    dir
}
