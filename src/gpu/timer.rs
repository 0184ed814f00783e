//! GPU time between two points of the queue, from timestamp queries (where the adapter has them).
//! Stamps are written by empty compute passes submitted on the shared queue, so they also bracket
//! work that burn submits in between.

use crate::Result;

/// Measures GPU time between [`GpuTimer::start`] and [`GpuTimer::stop`].
pub struct GpuTimer {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    period_ns: f64,
}

impl GpuTimer {
    /// A timer, or `None` when the device lacks timestamp queries.
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Option<Self> {
        if !device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        let queries = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("timer.queries"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: 16,
                usage,
                mapped_at_creation: false,
            })
        };
        Some(Self {
            queries,
            resolve: buffer(
                "timer.resolve",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            readback: buffer(
                "timer.readback",
                wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            ),
            period_ns: f64::from(queue.get_timestamp_period()),
        })
    }

    fn stamp(&self, device: &wgpu::Device, queue: &wgpu::Queue, index: u32) {
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("timer.stamp"),
        });
        encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("timer.stamp"),
            timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                query_set: &self.queries,
                beginning_of_pass_write_index: Some(index),
                end_of_pass_write_index: None,
            }),
        });
        queue.submit([encoder.finish()]);
    }

    /// Submits the start stamp.
    pub fn start(&self, device: &wgpu::Device, queue: &wgpu::Queue) {
        self.stamp(device, queue, 0);
    }

    /// Submits the stop stamp (after everything submitted since `start`).
    pub fn stop(&self, device: &wgpu::Device, queue: &wgpu::Queue) {
        self.stamp(device, queue, 1);
    }

    /// Waits for the stamps and returns the time between them in milliseconds.
    pub fn read_ms(&self, device: &wgpu::Device, queue: &wgpu::Queue) -> Result<f64> {
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("timer.resolve"),
        });
        encoder.resolve_query_set(&self.queries, 0..2, &self.resolve, 0);
        encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, 16);
        queue.submit([encoder.finish()]);
        let bytes = super::texture::read_buffer(device, &self.readback)?;
        let t0 = u64::from_le_bytes(bytes[0..8].try_into().unwrap_or_default());
        let t1 = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or_default());
        Ok(t1.saturating_sub(t0) as f64 * self.period_ns / 1e6)
    }
}

type MapState = std::sync::Arc<std::sync::Mutex<Option<bool>>>;

/// Three stamps on the queue — before a fill, between fill and classification, after it — read
/// back without blocking: the viewer's per-stage GPU times.
pub struct StageTimer {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    period_ns: f64,
    pending: Option<(wgpu::Buffer, MapState)>,
    /// The last reading's staging buffer, unmapped, for the next one: a job creates none.
    spare: Option<wgpu::Buffer>,
    /// Staging buffers created so far.
    created: usize,
}

impl StageTimer {
    /// A timer, or `None` without timestamp queries.
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Option<Self> {
        if !device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        Some(Self {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("stages.queries"),
                ty: wgpu::QueryType::Timestamp,
                count: 3,
            }),
            resolve: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("stages.resolve"),
                size: 24,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            period_ns: f64::from(queue.get_timestamp_period()),
            pending: None,
            spare: None,
            created: 0,
        })
    }

    /// Staging buffers this timer has created (one at steady state).
    pub fn created(&self) -> usize {
        self.created
    }

    /// Submits stamp `index` (0, 1 or 2).
    pub fn stamp(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, index: u32) {
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("stages.stamp"),
        });
        encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("stages.stamp"),
            timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                query_set: &self.queries,
                beginning_of_pass_write_index: Some(index),
                end_of_pass_write_index: None,
            }),
        });
        if index == 2 {
            // A reading still pending keeps its buffer (dropped with it if replaced).
            let staging = self.spare.take().unwrap_or_else(|| {
                self.created += 1;
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("stages.readback"),
                    size: 24,
                    usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
                    mapped_at_creation: false,
                })
            });
            encoder.resolve_query_set(&self.queries, 0..3, &self.resolve, 0);
            encoder.copy_buffer_to_buffer(&self.resolve, 0, &staging, 0, 24);
            queue.submit([encoder.finish()]);
            let state: MapState = MapState::default();
            let done = state.clone();
            staging.map_async(wgpu::MapMode::Read, .., move |r| {
                if let Ok(mut s) = done.lock() {
                    *s = Some(r.is_ok());
                }
            });
            self.pending = Some((staging, state));
        } else {
            queue.submit([encoder.finish()]);
        }
    }

    /// (fill ms, classify ms) once the stamps have landed (polls without waiting).
    pub fn take_ms(&mut self, device: &wgpu::Device) -> Option<(f64, f64)> {
        let _ = device.poll(wgpu::PollType::Poll);
        let ok = self.pending.as_ref()?.1.lock().ok()?.take()?;
        let (buffer, _) = self.pending.take()?;
        if !ok {
            return None;
        }
        let t: Vec<u64> = {
            let view = buffer.get_mapped_range(..).ok()?;
            bytemuck::pod_collect_to_vec::<u8, u64>(&view)
        };
        buffer.unmap();
        self.spare = Some(buffer);
        let ms = |a: u64, b: u64| b.saturating_sub(a) as f64 * self.period_ns / 1e6;
        Some((ms(t[0], t[1]), ms(t[1], t[2])))
    }
}
