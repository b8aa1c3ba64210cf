//! A fixed pool of handler threads fed by a bounded queue.
//!
//! The accept loop never runs a handler itself, and the number of handler threads never grows:
//! when the queue is full the caller gets the request back to refuse it cheaply (503).

use crossbeam_channel::{bounded, Sender, TrySendError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Handler threads and the queue in front of them.
pub struct Pool<J: Send + 'static> {
    tx: Sender<J>,
}

impl<J: Send + 'static> Pool<J> {
    /// Starts `threads` threads that run `handler` on each job; `queue` jobs may wait.
    pub fn new<F>(threads: usize, queue: usize, handler: F) -> std::io::Result<Pool<J>>
    where
        F: Fn(J) + Send + Sync + 'static,
    {
        let (tx, rx) = bounded::<J>(queue);
        let handler = Arc::new(handler);
        for i in 0..threads {
            let rx = rx.clone();
            let handler = Arc::clone(&handler);
            std::thread::Builder::new()
                .name(format!("pool-{i}"))
                .spawn(move || {
                    for job in rx.iter() {
                        // A bug in one handler must cost one request, not a pool thread.
                        if catch_unwind(AssertUnwindSafe(|| handler(job))).is_err() {
                            log::error!("a request handler panicked; the request was dropped");
                        }
                    }
                })?;
        }
        Ok(Pool { tx })
    }

    /// Queues a job, or hands it back when the queue is full.
    pub fn submit(&self, job: J) -> Result<(), J> {
        self.tx.try_send(job).map_err(|e| match e {
            TrySendError::Full(j) | TrySendError::Disconnected(j) => j,
        })
    }
}
