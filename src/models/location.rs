//! Where the weights and labels are: one search order, and every file from the one folder it
//! finds, so a copied tree missing a file fails naming that folder instead of quietly reading
//! another copy.

use std::path::{Path, PathBuf};

/// The models folder chosen, and how.
#[derive(Clone, Debug)]
pub struct ModelsDir {
    /// The folder every weight and label file is read from.
    pub dir: PathBuf,
    /// Where the choice came from: `--models`, `UNSEE_MODELS`, "beside the executable" or "the
    /// source tree".
    pub origin: &'static str,
    /// Every folder considered, in order, up to and including the chosen one.
    pub looked: Vec<PathBuf>,
}

impl ModelsDir {
    /// One line for errors: the folder, where the choice came from, and what else was searched.
    pub fn describe(&self) -> String {
        let looked: Vec<String> = self
            .looked
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        format!(
            "models folder {} (from {}; search order: --models, UNSEE_MODELS, beside the executable, the source tree; looked in: {})",
            self.dir.display(),
            self.origin,
            looked.join(", ")
        )
    }
}

/// The models folder: `explicit` (`--models`), else `$UNSEE_MODELS`, else the first existing
/// folder of `models/` beside the executable, `models/` two levels up from it (cargo's target
/// folder inside a checkout), and the source tree's `models/`. Whichever is chosen is used as it
/// is: a file missing there is an error (naming [`ModelsDir::describe`]), never read from the next
/// folder. When no candidate exists the source tree's is returned, for the errors to name.
pub fn locate(explicit: Option<&Path>) -> ModelsDir {
    if let Some(dir) = explicit {
        return chosen(dir.to_owned(), "--models", Vec::new());
    }
    if let Some(dir) = std::env::var_os("UNSEE_MODELS").filter(|d| !d.is_empty()) {
        return chosen(PathBuf::from(dir), "UNSEE_MODELS", Vec::new());
    }
    let mut looked = Vec::new();
    let mut last = None;
    for (dir, origin) in candidates() {
        if dir.is_dir() {
            return chosen(dir, origin, looked);
        }
        looked.push(dir.clone());
        last = Some((dir, origin));
    }
    let (dir, origin) = last.unwrap_or_else(|| (PathBuf::from("models"), "the source tree"));
    looked.pop();
    chosen(dir, origin, looked)
}

fn chosen(dir: PathBuf, origin: &'static str, mut looked: Vec<PathBuf>) -> ModelsDir {
    looked.push(dir.clone());
    ModelsDir {
        dir,
        origin,
        looked,
    }
}

/// The automatic search, in order.
fn candidates() -> Vec<(PathBuf, &'static str)> {
    let mut out = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
    {
        out.push((exe_dir.join("models"), "beside the executable"));
        out.push((exe_dir.join("../../models"), "beside the executable"));
    }
    out.push((
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"),
        "the source tree",
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_folder_is_used_as_given() {
        let m = locate(Some(Path::new("/nowhere/models")));
        assert_eq!(m.dir, Path::new("/nowhere/models"));
        assert_eq!(m.origin, "--models");
        assert!(m.describe().contains("/nowhere/models"));
    }

    #[test]
    fn the_search_ends_at_the_first_existing_folder() {
        if std::env::var_os("UNSEE_MODELS").is_some() {
            return; // the environment decides, not the search
        }
        let m = locate(None);
        assert!(m.dir.is_dir(), "{}", m.describe());
        // Every folder before the chosen one was looked at and did not exist.
        let (last, before) = m.looked.split_last().unwrap();
        assert_eq!(last, &m.dir);
        assert!(before.iter().all(|p| !p.is_dir()));
    }
}
