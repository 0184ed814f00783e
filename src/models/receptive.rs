//! Where each cell of a model's last feature map looks: the centre of its receptive field in the
//! input, from the kernels, strides and paddings of the spatial layers. A CAM cell is drawn at
//! that centre, not at the centre of an even split of the image.

use super::ModelKind;

/// One spatial layer: square kernel, stride and padding (1x1 convolutions shift nothing and are
/// left out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layer {
    /// Kernel side.
    pub kernel: u32,
    /// Stride.
    pub stride: u32,
    /// Padding on each side.
    pub padding: u32,
}

const fn layer(kernel: u32, stride: u32, padding: u32) -> Layer {
    Layer {
        kernel,
        stride,
        padding,
    }
}

/// The spatial layers of `kind` in order (SqueezeNet 1.1: conv1, three max pools, the fire
/// modules' 3x3 expands; MobileNetV2: the stem and every depthwise 3x3).
pub fn layers(kind: ModelKind) -> Vec<Layer> {
    match kind {
        ModelKind::SqueezeNet => {
            let pool = layer(3, 2, 0);
            let fire = layer(3, 1, 1);
            let mut l = vec![layer(3, 2, 0), pool, fire, fire, pool, fire, fire, pool];
            l.extend([fire; 4]);
            l
        }
        ModelKind::MobileNetV2 => {
            let mut l = vec![layer(3, 2, 1)];
            for (_, _, n, s) in super::mobilenet::SETTINGS {
                for r in 0..n {
                    l.push(layer(3, if r == 0 { s as u32 } else { 1 }, 1));
                }
            }
            l
        }
    }
}

/// Centre of output cell `j`'s receptive field as an input pixel index: `start + j * stride`.
/// Each layer maps its output index `j` to the input index `j * s - p + (k - 1) / 2`.
pub fn centres(layers: &[Layer]) -> (f32, f32) {
    layers.iter().rev().fold((0.0, 1.0), |(start, stride), l| {
        let s = l.stride as f32;
        (
            start * s - l.padding as f32 + (l.kernel as f32 - 1.0) / 2.0,
            stride * s,
        )
    })
}

/// Where a grid's cells sit over an image, in continuous image coordinates (pixel `x` covers
/// `x..x+1`): cell `j` is centred at `origin + j * step` on each axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// Centre of cell 0, x and y.
    pub origin: [f32; 2],
    /// Distance between cell centres, x and y.
    pub step: [f32; 2],
}

impl Placement {
    /// A grid of `grid` cells covering an image of `size` evenly (occlusion maps).
    pub fn even(grid: (u32, u32), size: (u32, u32)) -> Self {
        let step = [
            size.0 as f32 / grid.0.max(1) as f32,
            size.1 as f32 / grid.1.max(1) as f32,
        ];
        Self {
            origin: [step[0] / 2.0, step[1] / 2.0],
            step,
        }
    }

    /// The feature grid of `kind` fed an `input` x `input` squash of an image of `size`: each
    /// cell at its receptive field's centre.
    pub fn receptive(kind: ModelKind, input: u32, size: (u32, u32)) -> Self {
        let (start, stride) = centres(&layers(kind));
        let scale = [size.0 as f32 / input as f32, size.1 as f32 / input as f32];
        Self {
            origin: scale.map(|s| (start + 0.5) * s),
            step: scale.map(|s| stride * s),
        }
    }

    /// The grid coordinate (fractional cell index) of image pixel `p`'s centre on axis `axis`.
    pub fn grid_coord(&self, axis: usize, p: u32) -> f32 {
        (p as f32 + 0.5 - self.origin[axis]) / self.step[axis]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeezenet_cells_sit_sixteen_pixels_apart_from_fifteen() {
        // conv1 (3, s2, p0) and three pools (3, s2, p0): j → 2j + 1 four times = 16j + 15.
        assert_eq!(centres(&layers(ModelKind::SqueezeNet)), (15.0, 16.0));
    }

    #[test]
    fn mobilenet_cells_start_at_the_corner() {
        // Five stride-2 3x3 layers with padding 1 map j → 2j: 32j.
        assert_eq!(centres(&layers(ModelKind::MobileNetV2)), (0.0, 32.0));
    }

    #[test]
    fn even_placement_matches_the_old_even_split() {
        let p = Placement::even((7, 7), (224, 224));
        assert_eq!(p.origin, [16.0, 16.0]);
        assert_eq!(p.grid_coord(0, 15), (15.5 - 16.0) / 32.0);
    }
}
