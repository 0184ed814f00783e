//! Reaching the f32 elements of a tensor on burn's CPU backend (flex) without copying, and
//! wrapping a result back into a tensor.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Device, Tensor, TensorData};

/// The contiguous f32 elements of a flex tensor, row-major (a contiguous tensor is read in place:
/// this holds a reference to its storage, no copy).
pub struct Elements {
    tensor: FlexTensor,
}

impl Elements {
    /// The elements of `t`, or `None` when it is not an f32 tensor on the CPU backend. A strided
    /// view is made contiguous first (one copy).
    pub fn of<const D: usize>(t: &Tensor<D>) -> Option<Self> {
        let tensor = t.clone().try_into_primitive::<Flex>().ok()?;
        if tensor.dtype() != DType::F32 {
            return None;
        }
        let tensor = if tensor.as_slice::<f32>().is_some() {
            tensor
        } else {
            tensor.to_contiguous()
        };
        tensor.as_slice::<f32>()?;
        Some(Self { tensor })
    }

    /// The elements.
    pub fn slice(&self) -> &[f32] {
        // `of` checked that this view exists.
        self.tensor.as_slice::<f32>().unwrap_or(&[])
    }
}

/// A tensor on the CPU backend holding `data` (moved, not copied) with `shape`.
pub fn tensor_from<const D: usize>(data: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
    Tensor::from_data(TensorData::new(data, shape), &Device::flex())
}
