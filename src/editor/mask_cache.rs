//! The CPU masks of the edit's recent settled states, by the strokes' key: an undo or redo back
//! to one of them takes its mask at once instead of rasterising every stroke again (0.8 ms for
//! four strokes at 1024², and growing with the history).

use std::sync::Arc;

use image::GrayImage;

/// The most bytes of masks kept (at least one mask, whatever its size).
const BUDGET_BYTES: usize = 64 << 20;

/// Recent masks, newest last.
#[derive(Default)]
pub(super) struct MaskCache {
    masks: Vec<(u64, Arc<GrayImage>)>,
}

impl MaskCache {
    /// Remembers `mask` as the mask of the strokes keyed `key` (shared, not copied).
    pub fn remember(&mut self, key: u64, mask: &Arc<GrayImage>) {
        self.masks.retain(|(k, _)| *k != key);
        self.masks.push((key, Arc::clone(mask)));
        let bytes = mask.as_raw().len().max(1);
        let keep = (BUDGET_BYTES / bytes).max(1);
        if self.masks.len() > keep {
            self.masks.drain(..self.masks.len() - keep);
        }
    }

    /// The mask of the strokes keyed `key`, if remembered.
    pub fn get(&self, key: u64) -> Option<Arc<GrayImage>> {
        self.masks
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, m)| Arc::clone(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_come_back_by_key_and_the_oldest_go_first() {
        let mut cache = MaskCache::default();
        // 16 MiB masks: four fit the budget.
        let mask = |v| Arc::new(GrayImage::from_pixel(4096, 4096, image::Luma([v])));
        for k in 0..6u8 {
            cache.remember(u64::from(k), &mask(k));
        }
        assert!(cache.get(0).is_none() && cache.get(1).is_none());
        for k in 2..6u8 {
            assert_eq!(cache.get(u64::from(k)).unwrap().get_pixel(0, 0)[0], k);
        }
        // Remembering a key again refreshes it: it outlives the others.
        cache.remember(2, &mask(9));
        cache.remember(7, &mask(7));
        assert!(cache.get(3).is_none());
        assert_eq!(cache.get(2).unwrap().get_pixel(0, 0)[0], 9);
    }
}
