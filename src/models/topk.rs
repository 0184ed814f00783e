//! Turning scores into a ranked list of classes.

use serde::{Deserialize, Serialize};

use super::Labels;

/// One row of a top-k table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// ImageNet class id.
    pub index: usize,
    /// Class name.
    pub label: String,
    /// Softmax probability in 0..1.
    pub probability: f32,
}

/// The `k` most probable classes, most probable first (ties by lower index).
pub fn top_k(probabilities: &[f32], labels: &Labels, k: usize) -> Vec<Prediction> {
    top_indices(probabilities, k)
        .into_iter()
        .map(|index| Prediction {
            index,
            label: labels.name(index).to_owned(),
            probability: probabilities[index],
        })
        .collect()
}

/// The indices of the `k` largest `scores`, largest first, ties by lower index: the one ranking
/// every table uses.
pub fn top_indices(scores: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.truncate(k);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_by_probability_then_index() {
        let names: String = (0..1000).map(|i| format!("class {i}\n")).collect();
        let dir = std::env::temp_dir().join(format!("unsee-topk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(super::super::labels::LABELS_FILE), names).unwrap();
        let labels = Labels::load(&dir).unwrap();
        let mut p = vec![0.0; 1000];
        p[7] = 0.5;
        p[3] = 0.2;
        p[9] = 0.2;
        let top = top_k(&p, &labels, 3);
        let got: Vec<usize> = top.iter().map(|t| t.index).collect();
        assert_eq!(got, [7, 3, 9]);
        assert_eq!(top[0].label, "class 7");
    }
}
