//! A forward pass's threads held together for its whole length: one of the pool's threads runs
//! the layers, the others wait for each layer's parallel loop by spinning, not sleeping.
//!
//! Why: with rayon's own fork-join per layer, the pool's other threads went to sleep in the gaps
//! between ~50 layers (flex's ops, allocations) and had to be woken for the next one; on the
//! 2-core VM perf put 15% of a MobileNetV2 forward in the kernel's scheduler, and two threads ran
//! it only 1.2x faster than one. Inside a [`region`], a layer's loop is posted to the waiting
//! threads through two atomics and its items are claimed in runs, so a thread that is late
//! (descheduled) before joining delays nobody: the poster does whatever is left, and waits only
//! for threads already inside the job.

use std::any::Any;
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Spins between politeness yields while waiting for a job (~10 µs on the VM): short enough that
/// a busy machine (the viewer's rasterizer threads) gets its cores back, long enough that a
/// layer's gap costs no system call.
const SPINS_PER_YIELD: u32 = 256;

/// A job: run by the poster and by every thread that joins in time; it claims its own items.
type Job<'a> = &'a (dyn Fn() + Sync);

/// What the region's threads share.
struct Shared {
    /// The job's number, bumped when one is posted (the waiting threads watch it).
    posted: AtomicUsize,
    /// The number of the job open to join, 0 when none is.
    open: AtomicUsize,
    /// Threads inside the current job.
    active: AtomicUsize,
    /// The job, valid while `open` names it.
    job: Cell<Option<Job<'static>>>,
    /// The region's work is over: the waiting threads leave.
    done: AtomicBool,
    /// A waiting thread's panic in the current job, resumed on the posting thread.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// The posting thread is inside a job (a parallel loop inside it runs inline).
    in_job: Cell<bool>,
}

// SAFETY: `job` is written only by the posting thread while no other thread can read it (no
// job open and `active` zero), and read by the others only between joining (`active` raised
// while `open` names the job) and leaving; `in_job` is touched by the posting thread alone.
unsafe impl Sync for Shared {}

thread_local! {
    /// The region this thread posts to (its layer thread's), if any.
    static REGION: Cell<Option<&'static Shared>> = const { Cell::new(None) };
}

/// Runs `f` (a whole forward pass) on the first thread of rayon's global pool with the pool's
/// other threads held for its parallel loops ([`run`]); the caller waits once, not around every
/// layer. Called from inside a pool (passes run in parallel, e.g. an explanation's variants),
/// just runs `f`: its loops then go through rayon as usual.
pub fn region<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    let shared = Shared {
        posted: AtomicUsize::new(0),
        open: AtomicUsize::new(0),
        active: AtomicUsize::new(0),
        job: Cell::new(None),
        done: AtomicBool::new(false),
        panic: Mutex::new(None),
        in_job: Cell::new(false),
    };
    let f = std::sync::Mutex::new(Some(f));
    let out = std::sync::Mutex::new(None);
    rayon::broadcast(|ctx| {
        if ctx.index() != 0 {
            wait_for_jobs(&shared);
            return;
        }
        /// Lets the waiting threads go and forgets the region, a panic in `f` included.
        /// Puts back the region this thread was in before (rayon may run another caller's
        /// region on this thread while it waits inside this one's pass, e.g. in a join of
        /// flex's) and lets the waiting threads go.
        struct Leave<'a>(&'a Shared, Option<&'static Shared>);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                REGION.with(|r| r.set(self.1));
                self.0.done.store(true, Ordering::Release);
            }
        }
        // SAFETY: the reference is forgotten (by `Leave`) before `shared` goes out of scope:
        // `broadcast` returns only after this closure has.
        let shared_static: &'static Shared = unsafe { &*std::ptr::from_ref(&shared) };
        let _leave = Leave(&shared, REGION.with(|r| r.replace(Some(shared_static))));
        let f = f.lock().ok().and_then(|mut f| f.take());
        if let Some(f) = f {
            let r = f();
            if let Ok(mut out) = out.lock() {
                *out = Some(r);
            }
        }
    });
    out.into_inner()
        .ok()
        .flatten()
        .unwrap_or_else(|| unreachable!("the region's first thread ran the pass"))
}

/// Whether this thread is a region's layer thread (its loops go to [`run`]).
pub fn in_region() -> bool {
    REGION.with(Cell::get).is_some()
}

/// Runs `job` on this thread and on every thread of the region that joins before this thread is
/// done with it; returns once every thread that joined has left it. `job` must claim its items
/// itself (each exactly once), so that it is complete whoever ran it. Outside a region, or inside
/// a job already, runs it here alone. A panic in it, on any thread, is resumed here once every
/// thread has left the job.
pub fn run(job: &(dyn Fn() + Sync)) {
    let Some(shared) = REGION.with(Cell::get) else {
        job();
        return;
    };
    if shared.in_job.get() {
        job();
        return;
    }
    /// Closes the job and waits for the threads inside it, on unwind too: the job borrows the
    /// caller's frame, which must outlive every use of it.
    struct Close<'a>(&'a Shared);
    impl Drop for Close<'_> {
        fn drop(&mut self) {
            let shared = self.0;
            shared.open.store(0, Ordering::SeqCst);
            let mut spins = 0u32;
            while shared.active.load(Ordering::SeqCst) != 0 {
                // A thread that joined and was then descheduled gets its core back.
                spins += 1;
                if spins.is_multiple_of(SPINS_PER_YIELD) {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
            shared.job.set(None);
            shared.in_job.set(false);
        }
    }
    let number = shared.posted.load(Ordering::Relaxed) + 1;
    // SAFETY: no job is open and no thread is inside one (the last `run` waited for that), so
    // nobody reads `job`; the lifetime is erased only until `Close` has run, and by then the job
    // is closed and every joined thread gone.
    let erased: Job<'static> = unsafe { std::mem::transmute::<Job<'_>, Job<'static>>(job) };
    shared.job.set(Some(erased));
    shared.in_job.set(true);
    shared.open.store(number, Ordering::SeqCst);
    shared.posted.store(number, Ordering::Release);
    {
        let _close = Close(shared);
        job();
    }
    if let Some(payload) = shared.panic.lock().ok().and_then(|mut p| p.take()) {
        std::panic::resume_unwind(payload);
    }
}

/// A waiting thread's loop: join every job posted until the region is done.
fn wait_for_jobs(shared: &Shared) {
    let mut seen = 0;
    loop {
        let mut spins = 0u32;
        let number = loop {
            let posted = shared.posted.load(Ordering::Acquire);
            if posted != seen {
                break posted;
            }
            if shared.done.load(Ordering::Acquire) {
                return;
            }
            spins += 1;
            if spins.is_multiple_of(SPINS_PER_YIELD) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        };
        seen = number;
        shared.active.fetch_add(1, Ordering::SeqCst);
        if shared.open.load(Ordering::SeqCst) == number
            && let Some(job) = shared.job.get()
            && let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
            && let Ok(mut slot) = shared.panic.lock()
        {
            // Kept for the posting thread (the job's other items go on; the pass fails there).
            slot.get_or_insert(payload);
        }
        shared.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Calls `f` on every index in `0..n`, each once, spread over the region's threads (or on this
/// thread alone outside one). Indices are claimed in runs, about eight per thread: one claim per
/// index made the threads fight over the counter's cache line (960 depthwise planes of 7x7 ran
/// slower on two threads than on one).
pub fn for_each_index(n: usize, f: impl Fn(usize) + Sync) {
    let run_len = (n / (8 * rayon::current_num_threads().max(1))).max(1);
    let next = AtomicUsize::new(0);
    run(&|| {
        loop {
            let first = next.fetch_add(run_len, Ordering::Relaxed);
            if first >= n {
                break;
            }
            for i in first..(first + run_len).min(n) {
                f(i);
            }
        }
    });
}

/// Calls `f` on every index in `0..n`, each once: on the region's threads inside one, else on
/// rayon's pool (for loops that also run outside a forward pass, e.g. preprocessing).
pub fn parallel_for(n: usize, f: impl Fn(usize) + Sync + Send) {
    if in_region() {
        for_each_index(n, f);
    } else {
        use rayon::prelude::*;
        (0..n).into_par_iter().for_each(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_runs_once_inside_and_outside_a_region() {
        let count = |n: usize| {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            for_each_index(n, |i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            hits.iter().all(|h| h.load(Ordering::Relaxed) == 1)
        };
        assert!(count(1000));
        let all = region(|| {
            assert!(in_region());
            (0..200).all(|k| count(k * 7))
        });
        assert!(all);
        assert!(!in_region());
    }

    #[test]
    fn regions_from_two_threads_at_once_each_run_every_index() {
        // The viewer's CPU job and a Fill A/B worker may classify at the same time.
        let callers: Vec<_> = (0..2)
            .map(|t| {
                std::thread::spawn(move || {
                    (0..50).all(|k| {
                        region(|| {
                            let hits = AtomicUsize::new(0);
                            for_each_index(100 + k + t, |_| {
                                hits.fetch_add(1, Ordering::Relaxed);
                            });
                            hits.load(Ordering::Relaxed) == 100 + k + t
                        })
                    })
                })
            })
            .collect();
        for caller in callers {
            assert!(caller.join().unwrap());
        }
    }

    #[test]
    fn a_panic_in_the_region_lets_the_waiting_threads_go() {
        let caught = std::panic::catch_unwind(|| {
            region(|| {
                for_each_index(4, |_| {});
                panic!("a layer failed");
            })
        });
        assert!(caught.is_err());
        assert!(!in_region());
        // The pool is usable again (its threads left the region).
        assert_eq!(region(|| 7), 7);
    }

    #[test]
    fn a_panic_inside_a_loop_on_any_thread_fails_the_region_and_frees_the_pool() {
        for round in 0..20 {
            let caught = std::panic::catch_unwind(|| {
                region(|| {
                    for_each_index(64, |i| {
                        if i == 40 {
                            panic!("a tile failed");
                        }
                        std::hint::black_box(i);
                    });
                })
            });
            assert!(caught.is_err(), "round {round}");
            assert!(!in_region());
        }
        // A loop inside a loop runs inline, and the pool is usable again.
        let total = AtomicUsize::new(0);
        region(|| {
            for_each_index(8, |_| {
                for_each_index(4, |_| {
                    total.fetch_add(1, Ordering::Relaxed);
                });
            });
        });
        assert_eq!(total.load(Ordering::Relaxed), 32);
    }
}
