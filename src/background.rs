//! Two long-lived threads for the viewer's work off the window's thread, one per [`Lane`]: the
//! live edit's job (fill + classify of the state on screen) and the exploration tools (occlusion
//! and curve batches, class maps, Fill A/B, the other model's classifications). Tasks on a lane
//! run one after another and hand their answers back through a [`Task`] a frame polls.
//!
//! A thread per lane, not per task: burn's wgpu backend gives every OS thread a stream of its
//! own, with memory pools only that stream reuses, so a thread per task would leave a pool of
//! GPU pages behind each time. Two lanes, not one: the live job must never queue behind a
//! tool's batch (seconds on a software adapter).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex, Weak};

use crate::{Error, Result};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Which thread a task runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// The exploration tools' thread.
    Tools,
    /// The live edit's thread: at most one job at a time, the one the tables wait for.
    Live,
}

impl Lane {
    fn name(self) -> &'static str {
        match self {
            Lane::Tools => "unsee-background",
            Lane::Live => "unsee-live",
        }
    }
}

/// Each lane's queue (its thread started on first use, restarted if it ever ended).
static QUEUES: [Mutex<Option<Sender<Job>>>; 2] = [Mutex::new(None), Mutex::new(None)];

/// A task's answer on its way. Dropping it cancels the task: one not started yet is skipped, and
/// a running one can see it through its [`Cancel`].
pub struct Task<T> {
    rx: Receiver<T>,
    _alive: Arc<()>,
}

/// What a running task checks to learn that nobody wants its answer any more.
pub struct Cancel(Weak<()>);

impl Cancel {
    /// Whether the task's [`Task`] was dropped.
    pub fn cancelled(&self) -> bool {
        self.0.strong_count() == 0
    }
}

impl<T> Task<T> {
    /// The answer if it is there (never waits); an error if the task ended without one (it
    /// panicked).
    pub fn try_take(&self) -> Option<Result<T>> {
        match self.rx.try_recv() {
            Ok(answer) => Some(Ok(answer)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(stopped())),
        }
    }

    /// Waits for the answer.
    pub fn wait(&self) -> Result<T> {
        self.rx.recv().map_err(|_| stopped())
    }
}

fn stopped() -> Error {
    Error::Invalid("a background task stopped without an answer".into())
}

/// Queues `work` on the tools' thread; its answer comes back through the returned task.
pub fn spawn<T: Send + 'static>(
    work: impl FnOnce(&Cancel) -> T + Send + 'static,
) -> Result<Task<T>> {
    spawn_on(Lane::Tools, work)
}

/// Queues `work` on `lane`'s thread; its answer comes back through the returned task.
pub fn spawn_on<T: Send + 'static>(
    lane: Lane,
    work: impl FnOnce(&Cancel) -> T + Send + 'static,
) -> Result<Task<T>> {
    let alive = Arc::new(());
    let cancel = Cancel(Arc::downgrade(&alive));
    let (tx, rx) = channel();
    let job: Job = Box::new(move || {
        if cancel.cancelled() {
            return;
        }
        // A dropped receiver (the task was cancelled meanwhile) only means nobody wants it.
        let _ = tx.send(work(&cancel));
    });
    send(lane, job)?;
    Ok(Task { rx, _alive: alive })
}

/// Hands `job` to `lane`'s thread, starting it (again) where needed.
fn send(lane: Lane, job: Job) -> Result<()> {
    let mut queue = QUEUES[lane as usize]
        .lock()
        .map_err(|_| Error::Invalid("the background queue is poisoned".into()))?;
    let job = match queue.as_ref() {
        Some(q) => match q.send(job) {
            Ok(()) => return Ok(()),
            // The thread is gone: the job comes back, for a new one.
            Err(e) => e.0,
        },
        None => job,
    };
    let (tx, rx) = channel::<Job>();
    std::thread::Builder::new()
        .name(lane.name().into())
        .spawn(move || {
            while let Ok(job) = rx.recv() {
                // A task that panics ends without an answer (its task sees it); the thread and
                // the tasks after it go on.
                let _ = catch_unwind(AssertUnwindSafe(job));
            }
        })
        .map_err(|e| Error::Invalid(format!("starting the {} thread: {e}", lane.name())))?;
    tx.send(job)
        .map_err(|_| Error::Invalid("the background thread ended at once".into()))?;
    *queue = Some(tx);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_answer_in_order_and_survive_a_panic() {
        let a = spawn(|_| 1).unwrap();
        let b = spawn(|_| -> i32 { panic!("a task that fails") }).unwrap();
        let c = spawn(|_| 3).unwrap();
        assert_eq!(a.wait().unwrap(), 1);
        assert!(b.wait().is_err(), "a panicked task has no answer");
        assert_eq!(c.wait().unwrap(), 3);
    }

    #[test]
    fn the_live_lane_does_not_wait_for_a_tool() {
        let (go_tx, go_rx) = channel::<()>();
        // Holds the tools' thread until the live task has answered.
        let tool = spawn(move |_| go_rx.recv().is_ok()).unwrap();
        let live = spawn_on(Lane::Live, |_| {
            std::thread::current().name().map(str::to_owned)
        })
        .unwrap();
        assert_eq!(live.wait().unwrap().as_deref(), Some("unsee-live"));
        assert!(tool.try_take().is_none(), "the tool is still held");
        go_tx.send(()).unwrap();
        assert!(tool.wait().unwrap());
    }

    #[test]
    fn a_dropped_task_is_cancelled() {
        let (started_tx, started_rx) = channel();
        let (go_tx, go_rx) = channel::<()>();
        // Holds the thread until the task below has been dropped.
        let first = spawn(move |_| {
            let _ = started_tx.send(());
            let _ = go_rx.recv();
        })
        .unwrap();
        started_rx.recv().unwrap();
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = Arc::clone(&ran);
        drop(spawn(move |_| seen.store(true, std::sync::atomic::Ordering::SeqCst)).unwrap());
        let (cancel_tx, cancel_rx) = channel();
        let watcher = spawn(move |cancel| {
            let _ = cancel_tx.send(());
            // Cancelled while it runs: it sees it.
            while !cancel.cancelled() {
                std::thread::yield_now();
            }
        })
        .unwrap();
        go_tx.send(()).unwrap();
        first.wait().unwrap();
        cancel_rx.recv().unwrap();
        drop(watcher);
        // The queue is in order: once this answers, the two before it have ended.
        spawn(|_| ()).unwrap().wait().unwrap();
        assert!(
            !ran.load(std::sync::atomic::Ordering::SeqCst),
            "a task dropped before it started ran"
        );
    }
}
