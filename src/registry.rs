//! The worker registry: `POST /` registers a worker, the websocket claims it once by id.
//!
//! One thread owns the table and is reached over a channel, so there is no lock to contend and
//! expiry needs no timer per worker: the thread wakes for the oldest deadline. Ids are random
//! UUID v4 (the original used CPython addresses: reused and guessable). Unclaimed workers expire
//! after [`TTL`]; the table is capped so a flood of `POST /` cannot grow memory.

use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use tiny_http::PeerKey;
use uuid::Uuid;

/// How long a worker waits to be claimed.
pub const TTL: Duration = Duration::from_secs(3);

/// Why a worker could not be registered.
#[derive(Debug, PartialEq)]
pub enum RegisterError {
    /// `max_pending` workers are waiting already.
    Full,
    /// `max_per_peer` workers of this peer are waiting already.
    PeerFull,
    /// The registry thread is gone (only during shutdown).
    Gone,
}

enum Cmd {
    Register(Option<PeerKey>, Sender<Result<Uuid, RegisterError>>),
    Claim(Uuid, Sender<bool>),
    Pending(Sender<usize>),
}

/// A handle to the registry thread; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    tx: Sender<Cmd>,
}

impl Registry {
    /// Starts the registry thread, holding at most `limits.total` unclaimed workers (and
    /// `limits.per_peer` of one peer) for `limits.ttl` each.
    pub fn spawn(limits: Limits) -> std::io::Result<Registry> {
        let (tx, rx) = unbounded();
        std::thread::Builder::new()
            .name("registry".into())
            .stack_size(128 * 1024)
            .spawn(move || run(rx, limits))?;
        Ok(Registry { tx })
    }

    fn ask<T>(&self, make: impl FnOnce(Sender<T>) -> Cmd) -> Option<T> {
        let (reply, answer) = bounded(1);
        self.tx.send(make(reply)).ok()?;
        answer.recv().ok()
    }

    /// Registers a new worker for `peer` and returns its id.
    pub fn register(&self, peer: Option<PeerKey>) -> Result<Uuid, RegisterError> {
        self.ask(|r| Cmd::Register(peer, r))
            .unwrap_or(Err(RegisterError::Gone))
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

/// The registry's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub total: usize,
    pub per_peer: usize,
    pub ttl: Duration,
}

/// A pending worker: when it expires and whose it is.
struct Pending {
    deadline: Instant,
    peer: Option<PeerKey>,
}

/// Takes a worker that left the table off its peer's count.
fn forget(per_peer: &mut HashMap<PeerKey, usize>, p: &Pending) {
    if let Some(k) = p.peer {
        if let Some(n) = per_peer.get_mut(&k) {
            *n -= 1;
            if *n == 0 {
                per_peer.remove(&k);
            }
        }
    }
}

fn run(rx: Receiver<Cmd>, limits: Limits) {
    let mut table: HashMap<Uuid, Pending> = HashMap::new();
    // Pending workers per peer, so one client flooding `POST /` cannot take every place.
    let mut per_peer: HashMap<PeerKey, usize> = HashMap::new();

    // Deadlines in insertion order, which is also expiry order.
    let mut order: VecDeque<(Instant, Uuid)> = VecDeque::new();
    loop {
        let now = Instant::now();
        while let Some(&(deadline, id)) = order.front() {
            if deadline > now {
                break;
            }
            order.pop_front();
            if let Some(p) = table.remove(&id) {
                forget(&mut per_peer, &p);
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
            Cmd::Register(peer, reply) => {
                let mine = peer.and_then(|k| per_peer.get(&k).copied()).unwrap_or(0);
                let answer = if table.len() >= limits.total {
                    Err(RegisterError::Full)
                } else if mine >= limits.per_peer {
                    Err(RegisterError::PeerFull)
                } else {
                    let id = Uuid::new_v4();
                    let deadline = Instant::now() + limits.ttl;
                    table.insert(id, Pending { deadline, peer });
                    if let Some(k) = peer {
                        *per_peer.entry(k).or_insert(0) += 1;
                    }
                    order.push_back((deadline, id));
                    Ok(id)
                };
                let _ = reply.send(answer);
            }
            Cmd::Claim(id, reply) => {
                let claimed = table.remove(&id);
                if let Some(p) = &claimed {
                    forget(&mut per_peer, p);
                }
                let ok = claimed.is_some_and(|p| p.deadline > Instant::now());
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

    fn limits(total: usize, per_peer: usize, ttl: Duration) -> Limits {
        Limits {
            total,
            per_peer,
            ttl,
        }
    }

    fn peer(s: &str) -> Option<PeerKey> {
        PeerKey::of(Some(s.parse().unwrap()))
    }

    #[test]
    fn claim_once_and_cap() {
        let w = Registry::spawn(limits(2, 2, TTL)).unwrap();
        let a = w.register(None).unwrap();
        let _b = w.register(None).unwrap();
        assert_eq!(w.register(None), Err(RegisterError::Full));
        assert!(w.claim(a));
        assert!(!w.claim(a), "an id is single-use");
        assert!(!w.claim(Uuid::new_v4()));
        assert_eq!(w.pending(), 1);
        assert!(w.register(None).is_ok(), "claiming frees a place");
    }

    #[test]
    fn one_peer_cannot_take_every_place() {
        let w = Registry::spawn(limits(10, 2, TTL)).unwrap();
        let a = w.register(peer("127.0.0.2:1")).unwrap();
        w.register(peer("127.0.0.2:2")).unwrap();
        assert_eq!(
            w.register(peer("127.0.0.2:3")),
            Err(RegisterError::PeerFull)
        );
        assert!(w.register(peer("127.0.0.3:1")).is_ok());
        assert!(w.claim(a));
        assert!(
            w.register(peer("127.0.0.2:4")).is_ok(),
            "a claim frees the peer's place"
        );
    }

    #[test]
    fn unclaimed_workers_expire() {
        let (tx, rx) = unbounded();
        std::thread::spawn(move || run(rx, limits(10, 1, Duration::from_millis(50))));
        let w = Registry { tx };
        let id = w.register(peer("127.0.0.2:1")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while w.pending() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(w.pending(), 0);
        assert!(!w.claim(id));
        assert!(
            w.register(peer("127.0.0.2:1")).is_ok(),
            "expiry frees the peer's place"
        );
    }
}
