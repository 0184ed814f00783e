//! The score readback: right values, and staging buffers reused from job to job.

use burn::tensor::{Tensor, TensorData};
use unsee::gpu::readback::{Readback, StagingPool};

use crate::common;

#[test]
fn readbacks_reuse_their_staging_buffers() {
    let Some(gpu) = common::gpu() else { return };
    let pool = StagingPool::default();
    for round in 0..4 {
        let values: Vec<f32> = (0..1000).map(|i| (i * (round + 1)) as f32 * 0.5).collect();
        let tensor = Tensor::<1>::from_data(TensorData::new(values.clone(), [1000]), &gpu.burn);
        let readback = Readback::start_in(gpu, &pool, &tensor).unwrap();
        assert_eq!(readback.wait(&gpu.device).unwrap(), values, "round {round}");
        assert_eq!(pool.len(), 1, "round {round}: the buffer went back");
    }
    // One readback dropped once its copy has landed (a cancelled job) returns its buffer too.
    let tensor = Tensor::<1>::zeros([1000], &gpu.burn);
    let dropped = Readback::start_in(gpu, &pool, &tensor).unwrap();
    assert_eq!(pool.len(), 0, "the only buffer is in use");
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
    drop(dropped);
    assert_eq!(pool.len(), 1);
    assert_eq!(pool.created(), 1, "five readbacks, one staging buffer");

    // One dropped before its copy has even been waited for: its buffer, maybe still being
    // mapped, is not put back; the next readback still reads right.
    let pending = Readback::start_in(gpu, &pool, &tensor).unwrap();
    drop(pending);
    let values: Vec<f32> = (0..1000).map(|i| i as f32).collect();
    let tensor = Tensor::<1>::from_data(TensorData::new(values.clone(), [1000]), &gpu.burn);
    let readback = Readback::start_in(gpu, &pool, &tensor).unwrap();
    assert_eq!(readback.wait(&gpu.device).unwrap(), values);
    assert!(
        pool.len() <= 2 && pool.created() <= 2,
        "{} kept",
        pool.len()
    );
}

#[test]
fn stage_timer_reuses_its_staging_buffer() {
    let Some(gpu) = common::gpu() else { return };
    // Adapters without timestamp queries have no stage timer (nothing to reuse).
    let Some(mut timer) = unsee::gpu::timer::StageTimer::new(&gpu.device, &gpu.queue) else {
        return;
    };
    for round in 0..4 {
        for index in 0..3 {
            timer.stamp(&gpu.device, &gpu.queue, index);
        }
        let mut reading = None;
        for _ in 0..1000 {
            reading = timer.take_ms(&gpu.device);
            if reading.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let (fill, classify) = reading.unwrap_or_else(|| panic!("round {round}: no reading"));
        assert!(fill >= 0.0 && classify >= 0.0);
    }
    assert_eq!(timer.created(), 1, "four readings, one staging buffer");
}
