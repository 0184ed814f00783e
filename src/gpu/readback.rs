//! Reading a burn tensor back without blocking: copy it into a staging buffer, map it, and let the
//! caller poll: the live job's class scores once a frame; the background thread's batches, maps
//! and other-model scores, which it waits for by polling (never a blocking poll: see `wait`).
//! Staging buffers come from a pool kept on the device, so a job creates none at steady state.

use std::sync::{Arc, Mutex};

use burn::tensor::Tensor;

use super::GpuContext;
use super::burn_buffer::with_tensor_buffer;
use crate::{Error, Result};

type MapState = Arc<Mutex<Option<std::result::Result<(), wgpu::BufferAsyncError>>>>;

/// Staging buffers of finished readbacks (unmapped), waiting to be reused, by exact size. The
/// viewer has a few readbacks in flight at most (the live job, the other model, one batch of an
/// occlusion map or curve, a Fill A/B variant, a CAM), of a few sizes.
#[derive(Clone, Default)]
pub struct StagingPool {
    kept: Arc<Mutex<Vec<wgpu::Buffer>>>,
    created: Arc<std::sync::atomic::AtomicUsize>,
}

/// Buffers the pool keeps.
const POOL_SIZE: usize = 8;

impl StagingPool {
    /// A buffer of `size` bytes: a kept one if there is one, else a new one.
    fn take(&self, device: &wgpu::Device, size: u64) -> wgpu::Buffer {
        let kept = self.kept.lock().ok().and_then(|mut pool| {
            let i = pool.iter().position(|b| b.size() == size)?;
            Some(pool.swap_remove(i))
        });
        kept.unwrap_or_else(|| {
            self.created
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback.staging"),
                size,
                usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
                mapped_at_creation: false,
            })
        })
    }

    /// Keeps `buffer` (unmapped) for the next readback, the oldest going when the pool is full.
    fn give(&self, buffer: wgpu::Buffer) {
        if let Ok(mut pool) = self.kept.lock() {
            if pool.len() >= POOL_SIZE {
                pool.remove(0);
            }
            pool.push(buffer);
        }
    }

    /// Buffers kept now.
    pub fn len(&self) -> usize {
        self.kept.lock().map_or(0, |p| p.len())
    }

    /// Buffers this pool has created so far.
    pub fn created(&self) -> usize {
        self.created.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

thread_local! {
    /// GPU readbacks this thread has waited for.
    static WAITS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many blocking GPU readbacks this thread has made so far ([`Readback::wait`] of a GPU
/// readback, texture and buffer reads, [`crate::classify::read_probabilities`] of GPU scores):
/// what a frame's background work must not do, counted so that tests can say so. Other reads
/// of burn tensors (e.g. a gradient map's) are not counted.
pub fn waits_on_this_thread() -> usize {
    WAITS.with(std::cell::Cell::get)
}

/// Counts a blocking GPU readback on this thread (see [`waits_on_this_thread`]).
pub(crate) fn count_wait() {
    WAITS.with(|w| w.set(w.get() + 1));
}

/// An f32 tensor on its way to the CPU.
pub struct Readback {
    buffer: Option<wgpu::Buffer>,
    /// Where the buffer goes back once its values are read (or it is dropped unmapped).
    pool: StagingPool,
    /// The buffer went back to the pool already.
    returned: std::sync::atomic::AtomicBool,
    state: MapState,
    /// Values already on the CPU (a tensor of burn's CPU backend).
    ready: std::sync::Mutex<Option<Vec<f32>>>,
}

impl Readback {
    /// Starts copying `tensor` (contiguous f32) to the CPU; returns at once. A tensor of burn's
    /// CPU backend is read at once.
    pub fn start<const D: usize>(gpu: &GpuContext, tensor: &Tensor<D>) -> Result<Self> {
        Self::start_in(gpu, &gpu.staging, tensor)
    }

    /// [`Readback::start`] with staging buffers from `pool` (the device's own by default).
    pub fn start_in<const D: usize>(
        gpu: &GpuContext,
        pool: &StagingPool,
        tensor: &Tensor<D>,
    ) -> Result<Self> {
        if !super::burn_buffer::is_wgpu(tensor) {
            let values = tensor
                .clone()
                .try_into_data()
                .map_err(|e| Error::Gpu(format!("reading scores: {e:?}")))?
                .try_into_vec::<f32>()
                .map_err(|e| Error::Gpu(format!("scores have an unexpected type: {e:?}")))?;
            return Ok(Self {
                buffer: None,
                pool: pool.clone(),
                returned: Default::default(),
                state: MapState::default(),
                ready: std::sync::Mutex::new(Some(values)),
            });
        }
        let size = tensor.dims().iter().product::<usize>() as u64 * 4;
        let buffer = pool.take(&gpu.device, size);
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
            pool: pool.clone(),
            returned: Default::default(),
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

    /// Waits for the values: polls the device without blocking in it, a short sleep between
    /// polls. A blocking poll would hold wgpu's device lock for the whole GPU wait, and the
    /// window's `present` on another thread needs that lock: a worker waiting for a background
    /// batch would stall the frame. Polling also never misses a map callback that another
    /// thread's poll or submit runs.
    pub fn wait(&self, device: &wgpu::Device) -> Result<Vec<f32>> {
        if let Some(values) = self.take_ready() {
            return Ok(values);
        }
        count_wait();
        // Sleeps from 50 µs doubling to 2 ms: a short wait (a real GPU's) is noticed at once, and
        // a long one (a software adapter's seconds) costs the cores that do the work little.
        let mut pause = std::time::Duration::from_micros(50);
        loop {
            device
                .poll(wgpu::PollType::Poll)
                .map_err(|e| Error::Gpu(e.to_string()))?;
            let state = self
                .state
                .lock()
                .map_err(|_| Error::Gpu("readback state poisoned".into()))?
                .take();
            if let Some(state) = state {
                return self.finish(state);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(std::time::Duration::from_millis(2));
        }
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
        self.give_back(buffer);
        Ok(values)
    }

    /// Returns the (unmapped) buffer to the pool, once.
    fn give_back(&self, buffer: &wgpu::Buffer) {
        use std::sync::atomic::Ordering;
        if !self.returned.swap(true, Ordering::AcqRel) {
            self.pool.give(buffer.clone());
        }
    }
}

impl Drop for Readback {
    fn drop(&mut self) {
        let Some(buffer) = self.buffer.take() else {
            return;
        };
        if self.returned.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        // A readback dropped before its values were taken (a cancelled job): its buffer can go
        // back only once the map has completed; one still pending is left to wgpu.
        let mapped = self.state.lock().ok().and_then(|mut s| s.take());
        if let Some(Ok(())) = mapped {
            buffer.unmap();
            self.give_back(&buffer);
        }
    }
}
