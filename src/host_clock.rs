//! The host's own CPU time, for measuring what a frame costs the CPU with the time spent blocked
//! on the GPU left out: `thread_cpu_ns` and a lap timer over it.

/// Nanoseconds of CPU time this thread has used (`CLOCK_THREAD_CPUTIME_ID`); `None` where the
/// OS has no such clock. Time spent blocked (waiting on the GPU) is not counted.
pub fn thread_cpu_ns() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Laps of this thread's CPU time (wall time where the OS has no thread clock).
pub struct Lap {
    cpu: Option<u64>,
    wall: std::time::Instant,
}

impl Lap {
    /// Starts the first lap now.
    pub fn start() -> Self {
        Self {
            cpu: thread_cpu_ns(),
            wall: std::time::Instant::now(),
        }
    }

    /// Milliseconds since the start or the previous lap; starts the next one.
    pub fn lap(&mut self) -> f64 {
        let now = Self::start();
        let ms = match (self.cpu, now.cpu) {
            (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e6,
            _ => now.wall.duration_since(self.wall).as_secs_f64() * 1e3,
        };
        *self = now;
        ms
    }
}

/// Where the host's CPU time went in the last live job on the GPU path (ms each): the frame's
/// thread paints and hands the job over; the live lane's thread does the rest.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct HostPhases {
    /// Recording the new strokes into the GPU mask (the CPU copy is painted as they arrive).
    pub paint: f64,
    /// Copying the mask in queue order and handing the job to the live lane (frame thread).
    pub handoff: f64,
    /// The hole's box and depth (the fill's plan).
    pub plan: f64,
    /// Recording and submitting the fill.
    pub fill: f64,
    /// Preprocessing and the classifier's forward pass, recorded on burn's queue and flushed.
    pub classify: f64,
    /// Starting the scores' readback.
    pub readback: f64,
}
