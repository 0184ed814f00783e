//! Reading a burn tensor back without blocking: copy it into a staging buffer, map it, and let the
//! caller poll once a frame. This is the viewer's only per-frame readback (1000 class scores).

use std::sync::{Arc, Mutex};

use burn::tensor::Tensor;

use super::GpuContext;
use super::burn_buffer::with_tensor_buffer;
use crate::{Error, Result};

type MapState = Arc<Mutex<Option<std::result::Result<(), wgpu::BufferAsyncError>>>>;

/// An f32 tensor on its way to the CPU.
pub struct Readback {
    buffer: Option<wgpu::Buffer>,
    state: MapState,
    /// Values already on the CPU (a tensor of burn's CPU backend).
    ready: std::sync::Mutex<Option<Vec<f32>>>,
}

impl Readback {
    /// Starts copying `tensor` (contiguous f32) to the CPU; returns at once. A tensor of burn's
    /// CPU backend is read at once.
    pub fn start<const D: usize>(gpu: &GpuContext, tensor: &Tensor<D>) -> Result<Self> {
        if !super::burn_buffer::is_wgpu(tensor) {
            let values = tensor
                .clone()
                .try_into_data()
                .map_err(|e| Error::Gpu(format!("reading scores: {e:?}")))?
                .try_into_vec::<f32>()
                .map_err(|e| Error::Gpu(format!("scores have an unexpected type: {e:?}")))?;
            return Ok(Self {
                buffer: None,
                state: MapState::default(),
                ready: std::sync::Mutex::new(Some(values)),
            });
        }
        let size = tensor.dims().iter().product::<usize>() as u64 * 4;
        let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback.staging"),
            size,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        with_tensor_buffer(tensor, |src| {
            let mut encoder = gpu
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("readback.copy"),
                });
            encoder.copy_buffer_to_buffer(src.buffer, src.offset, &buffer, 0, size);
            gpu.queue.submit([encoder.finish()]);
        })?;
        let state: MapState = Arc::default();
        let done = state.clone();
        buffer.map_async(wgpu::MapMode::Read, .., move |r| {
            if let Ok(mut s) = done.lock() {
                *s = Some(r);
            }
        });
        Ok(Self {
            buffer: Some(buffer),
            state,
            ready: std::sync::Mutex::new(None),
        })
    }

    fn take_ready(&self) -> Option<Vec<f32>> {
        self.ready.lock().ok()?.take()
    }

    /// The values if the copy has finished (polls the device without waiting), else `None`.
    pub fn try_take(&self, device: &wgpu::Device) -> Option<Result<Vec<f32>>> {
        if let Some(values) = self.take_ready() {
            return Some(Ok(values));
        }
        let _ = device.poll(wgpu::PollType::Poll);
        let state = self.state.lock().ok()?.take()?;
        Some(self.finish(state))
    }

    /// Waits for the values.
    pub fn wait(&self, device: &wgpu::Device) -> Result<Vec<f32>> {
        if let Some(values) = self.take_ready() {
            return Ok(values);
        }
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(e.to_string()))?;
        let state = self
            .state
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .ok_or_else(|| Error::Gpu("readback did not complete".into()))?;
        self.finish(state)
    }

    fn finish(&self, state: std::result::Result<(), wgpu::BufferAsyncError>) -> Result<Vec<f32>> {
        state.map_err(|e| Error::Gpu(format!("reading scores back: {e}")))?;
        let buffer = self
            .buffer
            .as_ref()
            .ok_or_else(|| Error::Gpu("readback has no buffer".into()))?;
        let values = {
            let view = buffer
                .get_mapped_range(..)
                .map_err(|e| Error::Gpu(format!("reading scores back: {e:?}")))?;
            bytemuck::pod_collect_to_vec::<u8, f32>(&view)
        };
        buffer.unmap();
        Ok(values)
    }
}
