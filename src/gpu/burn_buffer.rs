//! Reaching the `wgpu::Buffer` behind a burn tensor, so our own WGSL passes can write a model's
//! input (or read its feature maps) in place, on the shared device, with no copy through the CPU.

use burn::backend::Wgpu;
use burn::tensor::Tensor;
use cubecl::wgpu::{AutoCompiler, WgpuServer};

use crate::{Error, Result};

/// Where a tensor's elements live: a buffer range valid while the tensor is alive.
pub struct TensorBinding<'a> {
    /// The buffer holding the tensor (shared with other allocations).
    pub buffer: &'a wgpu::Buffer,
    /// Byte offset of the tensor's first element.
    pub offset: u64,
    /// Byte size of the tensor's elements.
    pub size: u64,
}

impl TensorBinding<'_> {
    /// The binding resource for a bind group entry.
    pub fn as_binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.buffer,
            offset: self.offset,
            size: wgpu::BufferSize::new(self.size),
        })
    }
}

/// Runs `f` with the buffer range of `tensor`, which must be a contiguous f32 tensor on a wgpu
/// device. Pending burn work is flushed to the queue first, so anything `f` submits on the shared
/// queue runs after it, and burn work enqueued afterwards runs after `f`'s. The allocation stays
/// pinned while `f` runs; `f` must submit its work before returning.
pub fn with_tensor_buffer<const D: usize, R>(
    tensor: &Tensor<D>,
    f: impl FnOnce(TensorBinding<'_>) -> R,
) -> Result<R> {
    let primitive = tensor
        .clone()
        .try_into_primitive::<Wgpu>()
        .map_err(|e| Error::Gpu(format!("tensor is not on the wgpu backend: {e:?}")))?;
    if primitive.dtype != burn::tensor::DType::F32 {
        return Err(Error::Gpu(format!(
            "expected an f32 tensor, got {:?}",
            primitive.dtype
        )));
    }
    // Conv outputs may be channels-last; our kernels index NCHW row-major.
    if !primitive.is_contiguous() {
        return Err(Error::Gpu(
            "tensor is not contiguous row-major; call into_contiguous first".into(),
        ));
    }
    let elements: u64 = tensor.dims().iter().map(|&d| d as u64).product();
    primitive
        .client
        .flush()
        .map_err(|e| Error::Gpu(format!("flushing burn's queue: {e:?}")))?;
    let managed = primitive
        .client
        .get_resource::<WgpuServer<AutoCompiler>>(primitive.handle.clone())
        .map_err(|e| Error::Gpu(format!("reaching the tensor's buffer: {e:?}")))?;
    let resource = managed.resource();
    let size = elements * 4;
    if resource.size < size {
        return Err(Error::Gpu(format!(
            "tensor buffer holds {} bytes, {size} needed",
            resource.size
        )));
    }
    let out = f(TensorBinding {
        buffer: &resource.buffer,
        offset: resource.offset,
        size,
    });
    drop(managed);
    Ok(out)
}

/// Submits burn's pending work on `tensor`'s device to the shared queue (without waiting), so
/// that what we submit next runs after it.
pub fn flush<const D: usize>(tensor: &Tensor<D>) -> Result<()> {
    let primitive = tensor
        .clone()
        .try_into_primitive::<Wgpu>()
        .map_err(|e| Error::Gpu(format!("tensor is not on the wgpu backend: {e:?}")))?;
    primitive
        .client
        .flush()
        .map_err(|e| Error::Gpu(format!("flushing burn's queue: {e:?}")))
}

/// Whether `tensor` lives on burn's wgpu backend (else on the CPU backend).
pub fn is_wgpu<const D: usize>(tensor: &Tensor<D>) -> bool {
    tensor.clone().try_into_primitive::<Wgpu>().is_ok()
}
