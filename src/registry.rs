//! The worker registry: `POST /` registers a worker, the websocket claims it once by id.
//!
//! One thread owns the table and is reached over a channel, so there is no lock to contend and
//! expiry needs no timer per worker: the thread wakes for the oldest deadline. Ids are random
//! UUID v4 (the original used CPython addresses: reused and guessable). Unclaimed workers expire
//! after [`TTL`]; the table is capped so a flood of `POST /` cannot grow memory.

use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a worker waits to be claimed.
pub const TTL: Duration = Duration::from_secs(3);

/// Why a worker could not be registered.
#[derive(Debug, PartialEq)]
pub enum RegisterError {
    /// `max_pending` workers are waiting already.
    Full,
    /// The registry thread is gone (only during shutdown).
    Gone,
}

enum Cmd {
    Register(Sender<Result<Uuid, RegisterError>>),
    Claim(Uuid, Sender<bool>),
    Pending(Sender<usize>),
}

/// A handle to the registry thread; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    tx: Sender<Cmd>,
}

impl Registry {
    /// Starts the registry thread, holding at most `max_pending` unclaimed workers for `ttl`.
    pub fn spawn(max_pending: usize, ttl: Duration) -> std::io::Result<Registry> {
        let (tx, rx) = unbounded();
        std::thread::Builder::new()
            .name("registry".into())
            .stack_size(128 * 1024)
            .spawn(move || run(rx, max_pending, ttl))?;
        Ok(Registry { tx })
    }

    fn ask<T>(&self, make: impl FnOnce(Sender<T>) -> Cmd) -> Option<T> {
        let (reply, answer) = bounded(1);
        self.tx.send(make(reply)).ok()?;
        answer.recv().ok()
    }

    /// Registers a new worker and returns its id.
    pub fn register(&self) -> Result<Uuid, RegisterError> {
        self.ask(Cmd::Register).unwrap_or(Err(RegisterError::Gone))
    }

    /// Claims `id`: true once for a registered, unexpired worker; false ever after.
    pub fn claim(&self, id: Uuid) -> bool {
        self.ask(|r| Cmd::Claim(id, r)).unwrap_or(false)
    }

    /// Number of unclaimed workers.
    pub fn pending(&self) -> usize {
        self.ask(Cmd::Pending).unwrap_or(0)
    }
}

fn run(rx: Receiver<Cmd>, max_pending: usize, ttl: Duration) {
    let mut table: HashMap<Uuid, Instant> = HashMap::new();
    // Deadlines in insertion order, which is also expiry order.
    let mut order: VecDeque<(Instant, Uuid)> = VecDeque::new();
    loop {
        let now = Instant::now();
        while let Some(&(deadline, id)) = order.front() {
            if deadline > now {
                break;
            }
            order.pop_front();
            if table.remove(&id).is_some() {
                log::debug!("worker {id} expired unclaimed");
            }
        }
        let cmd = match order.front() {
            Some(&(deadline, _)) => {
                match rx.recv_timeout(deadline.saturating_duration_since(now)) {
                    Ok(cmd) => cmd,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            None => match rx.recv() {
                Ok(cmd) => cmd,
                Err(_) => return,
            },
        };
        match cmd {
            Cmd::Register(reply) => {
                let answer = if table.len() >= max_pending {
                    Err(RegisterError::Full)
                } else {
                    let id = Uuid::new_v4();
                    let deadline = Instant::now() + ttl;
                    table.insert(id, deadline);
                    order.push_back((deadline, id));
                    Ok(id)
                };
                let _ = reply.send(answer);
            }
            Cmd::Claim(id, reply) => {
                let ok = table.remove(&id).is_some_and(|d| d > Instant::now());
                let _ = reply.send(ok);
            }
            Cmd::Pending(reply) => {
                let _ = reply.send(table.len());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_once_and_cap() {
        let w = Registry::spawn(2, TTL).unwrap();
        let a = w.register().unwrap();
        let _b = w.register().unwrap();
        assert_eq!(w.register(), Err(RegisterError::Full));
        assert!(w.claim(a));
        assert!(!w.claim(a), "an id is single-use");
        assert!(!w.claim(Uuid::new_v4()));
        assert_eq!(w.pending(), 1);
        assert!(w.register().is_ok(), "claiming frees a place");
    }

    #[test]
    fn unclaimed_workers_expire() {
        let (tx, rx) = unbounded();
        std::thread::spawn(move || run(rx, 10, Duration::from_millis(50)));
        let w = Registry { tx };
        let id = w.register().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while w.pending() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(w.pending(), 0);
        assert!(!w.claim(id));
    }
}
