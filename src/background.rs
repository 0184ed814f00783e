//! One long-lived thread for the viewer's background work (occlusion and curve batches, class
//! maps, Fill A/B, the other model's classifications): tasks run one after another, off the
//! window's thread, and hand their answers back through a [`Task`] a frame polls.
//!
//! One thread, not one per task: burn's wgpu backend gives every OS thread a stream of its own,
//! with memory pools only that stream reuses, so a thread per task would leave a pool of GPU
//! pages behind each time. The live CPU job keeps its own worker (`editor::cpu_path`): it must
//! never queue behind a background task.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex, Weak};

use crate::{Error, Result};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The background thread's queue (started on first use, restarted if it ever ended).
static QUEUE: Mutex<Option<Sender<Job>>> = Mutex::new(None);

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

/// Queues `work` on the background thread; its answer comes back through the returned task.
pub fn spawn<T: Send + 'static>(
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
    send(job)?;
    Ok(Task { rx, _alive: alive })
}

/// Hands `job` to the thread, starting it (again) where needed.
fn send(job: Job) -> Result<()> {
    let mut queue = QUEUE
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
        .name("unsee-background".into())
        .spawn(move || {
            while let Ok(job) = rx.recv() {
                // A task that panics ends without an answer (its task sees it); the thread and
                // the tasks after it go on.
                let _ = catch_unwind(AssertUnwindSafe(job));
            }
        })
        .map_err(|e| Error::Invalid(format!("starting the background thread: {e}")))?;
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
