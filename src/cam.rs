//! Class activation maps for display: normalised to 0..1 on the GPU, per image or on a scale
//! shared by the original and the modified image (so a drop in evidence shows as a drop).

use burn::tensor::Tensor;

/// Normalises `maps` to 0..1 by min/max: each on its own, or all on their common range. Stays on
/// the GPU (no readback).
pub fn normalize(maps: Vec<Tensor<2>>, common: bool) -> Vec<Tensor<2>> {
    let range = |m: &Tensor<2>| (m.clone().min(), m.clone().max());
    let shared = common.then(|| {
        maps.iter()
            .map(range)
            .reduce(|(lo_a, hi_a), (lo_b, hi_b)| (lo_a.min_pair(lo_b), hi_a.max_pair(hi_b)))
    });
    maps.into_iter()
        .map(|m| {
            let (lo, hi) = shared.clone().flatten().unwrap_or_else(|| range(&m));
            let [h, w] = m.dims();
            let lo = lo.reshape([1, 1]).expand([h, w]);
            let span = (hi.reshape([1, 1]).expand([h, w]) - lo.clone()).clamp_min(1e-12);
            (m - lo).div(span)
        })
        .collect()
}
