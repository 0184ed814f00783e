//! A private runtime folder for the process when `XDG_RUNTIME_DIR` is unset (headless machines,
//! su sessions): Mesa's Vulkan drivers load libwayland, which prints an error line per device
//! without one, even when all goes well.

use std::path::PathBuf;

/// The folder made for this process; removed (if still empty of anything but ours) on drop.
pub struct RuntimeDir(Option<PathBuf>);

impl RuntimeDir {
    /// Sets `XDG_RUNTIME_DIR` to a new folder only this user can enter, unless it already names
    /// an existing folder by an absolute path (what libwayland, loaded by Mesa, accepts).
    ///
    /// # Safety
    /// Changes the environment: call before any other thread exists.
    pub unsafe fn ensure() -> Self {
        let usable = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .is_some_and(|d| d.is_absolute() && d.is_dir());
        if usable {
            return Self(None);
        }
        let Some(dir) = fresh_dir(&std::env::temp_dir(), std::process::id()) else {
            // Not being able to quiet Mesa is no reason to fail the command.
            return Self(None);
        };
        // SAFETY: the caller guarantees no other thread reads or writes the environment.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        Self(Some(dir))
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Creates and returns a new private folder for process `pid` in `tmp`. A folder of that id may
/// be left by an earlier process with the same id that was killed before it could remove it:
/// it is never adopted; the next free name is taken.
fn fresh_dir(tmp: &std::path::Path, pid: u32) -> Option<PathBuf> {
    (0..64)
        .map(|n| tmp.join(format!("unsee-runtime-{pid}-{n}")))
        .find(|dir| create_private(dir).is_ok())
}

/// Creates `dir` with mode 0700; fails if it exists (never adopts a folder someone else made).
fn create_private(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_left_by_an_earlier_process_is_not_adopted() {
        let tmp = std::env::temp_dir().join(format!("unsee-runtime-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        // What a killed process with the same id left behind.
        let stale = tmp.join("unsee-runtime-42-0");
        std::fs::create_dir(&stale).unwrap();
        let dir = fresh_dir(&tmp, 42).unwrap();
        assert_ne!(dir, stale);
        assert!(dir.is_dir());
        assert_eq!(fresh_dir(&tmp, 43), Some(tmp.join("unsee-runtime-43-0")));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
