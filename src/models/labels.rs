//! The 1000 ImageNet class names.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// File name of the labels inside the models folder.
pub const LABELS_FILE: &str = "imagenet_classes.txt";

/// ImageNet class names, index = class id.
#[derive(Clone, Debug)]
pub struct Labels(Vec<String>);

impl Labels {
    /// Reads `dir/imagenet_classes.txt` (one name per line, 1000 lines).
    pub fn load(dir: &Path) -> Result<Self> {
        let path: PathBuf = dir.join(LABELS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Labels {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let names: Vec<String> = text
            .lines()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        if names.len() != 1000 {
            return Err(Error::Labels {
                path,
                reason: format!("{} class names, expected 1000", names.len()),
            });
        }
        Ok(Self(names))
    }

    /// The name of class `index` (a placeholder for an out-of-range index).
    pub fn name(&self, index: usize) -> &str {
        self.0.get(index).map(String::as_str).unwrap_or("?")
    }

    /// The short name of class `index`: its first synonym ("tabby, tabby cat" → "tabby").
    pub fn short(&self, index: usize) -> &str {
        short_label(self.name(index))
    }

    /// Index of the class whose full name, or one of whose comma-separated synonyms, equals
    /// `query` (case-insensitive).
    pub fn find(&self, query: &str) -> Option<usize> {
        let q = query.trim().to_lowercase();
        self.0.iter().position(|n| {
            n.to_lowercase() == q || n.split(',').any(|s| s.trim().to_lowercase() == q)
        })
    }
}

/// The first synonym of a class name ("tabby, tabby cat" → "tabby"): the one short-label rule.
pub fn short_label(name: &str) -> &str {
    name.split(',').next().unwrap_or(name).trim()
}
