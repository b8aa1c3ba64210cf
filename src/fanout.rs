//! Fan-out from the sampler to websocket sessions.
//!
//! Each session has a bounded(1) channel. The sampler keeps a clone of the receiving end too,
//! so when a slow session has not taken the previous frame yet, the sampler removes it and puts
//! the newest one in: a session that cannot keep up gets the newest snapshot, never a queue,
//! and the sampler never blocks on a session.

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tungstenite::Utf8Bytes;

/// Which object a session streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    System,
    Network,
}

/// The frames of one tick, built once and shared by reference count.
#[derive(Clone)]
pub struct Frames {
    pub system: Utf8Bytes,
    pub network: Utf8Bytes,
}

struct Sub {
    id: u64,
    stream: Stream,
    tx: Sender<Utf8Bytes>,
    rx: Receiver<Utf8Bytes>,
}

/// The set of live sessions.
#[derive(Default)]
pub struct Hub {
    subs: Mutex<Vec<Sub>>,
    next: AtomicU64,
    delivered: AtomicU64,
}

/// A session's place in the hub; dropping it leaves the hub.
pub struct Subscription {
    id: u64,
    hub: Arc<Hub>,
    /// Frames for this session, newest wins.
    pub frames: Receiver<Utf8Bytes>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.lock().retain(|s| s.id != self.id);
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, Vec<Sub>> {
        // A panic elsewhere must not take the fan-out down with it.
        self.subs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Joins the hub unless `max` sessions are already in it.
    pub fn try_subscribe(self: &Arc<Self>, stream: Stream, max: usize) -> Option<Subscription> {
        let mut subs = self.lock();
        if subs.len() >= max {
            return None;
        }
        let (tx, rx) = bounded(1);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        subs.push(Sub {
            id,
            stream,
            tx,
            rx: rx.clone(),
        });
        Some(Subscription {
            id,
            hub: Arc::clone(self),
            frames: rx,
        })
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Frames handed to sessions since start (for `/metrics`).
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Hands this tick's frame to every session without ever blocking.
    pub fn publish(&self, frames: &Frames) {
        let subs = self.lock();
        for s in subs.iter() {
            let frame = match s.stream {
                Stream::System => &frames.system,
                Stream::Network => &frames.network,
            };
            let mut msg = frame.clone();
            for _ in 0..2 {
                match s.tx.try_send(msg) {
                    Ok(()) => {
                        self.delivered.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Err(TrySendError::Full(m)) => {
                        // Drop the stale frame the session has not read yet.
                        let _ = s.rx.try_recv();
                        msg = m;
                    }
                    Err(TrySendError::Disconnected(_)) => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: &str) -> Frames {
        Frames {
            system: Utf8Bytes::from(format!("s{n}")),
            network: Utf8Bytes::from(format!("n{n}")),
        }
    }

    #[test]
    fn newest_wins_and_capacity_holds() {
        let hub = Arc::new(Hub::default());
        let a = hub.try_subscribe(Stream::System, 2).unwrap();
        let b = hub.try_subscribe(Stream::Network, 2).unwrap();
        assert!(hub.try_subscribe(Stream::System, 2).is_none());
        for i in 0..5 {
            hub.publish(&frames(&i.to_string()));
        }
        assert_eq!(a.frames.try_recv().unwrap().as_str(), "s4");
        assert!(a.frames.try_recv().is_err());
        assert_eq!(b.frames.try_recv().unwrap().as_str(), "n4");
        drop(a);
        assert_eq!(hub.len(), 1);
        assert!(hub.try_subscribe(Stream::System, 2).is_some());
    }
}
