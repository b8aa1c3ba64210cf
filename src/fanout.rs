//! Fan-out from the sampler to websocket sessions.
//!
//! Each session has a bounded(1) channel. The sampler keeps a clone of the receiving end too,
//! so when a slow session has not taken the previous frame yet, the sampler removes it and puts
//! the newest one in: a session that cannot keep up gets the newest snapshot, never a queue,
//! and the sampler never blocks on a session.
//!
//! A session must also answer its client at once (pongs, close replies), so it waits on its
//! socket and its channel together with `poll(2)`; a channel has no descriptor, so each one
//! comes with a [`Doorbell`] (an eventfd) that the sampler rings after each send, and that
//! [`Hub::stop`] rings to tell every session the server is stopping.

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tiny_http::PeerKey;
use tungstenite::Utf8Bytes;

/// An eventfd a session polls on: rung by the sampler and at shutdown.
pub struct Doorbell(OwnedFd);

impl Doorbell {
    fn new() -> std::io::Result<Doorbell> {
        // SAFETY: eventfd returns a new descriptor or -1; we own it from here.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor no one else owns.
        Ok(Doorbell(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    fn ring(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our eventfd; failure (counter full) only
        // means it is rung already.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Resets the bell after a wake-up.
    pub fn clear(&self) {
        let mut n: u64 = 0;
        // SAFETY: reads 8 bytes into a valid u64; EAGAIN (not rung) is fine.
        unsafe { libc::read(self.0.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Why a session was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `--max-clients` sessions are open.
    Full,
    /// `--max-clients-per-peer` sessions from this peer are open.
    PeerFull,
    /// No descriptor for the doorbell (the fd limit).
    Resources,
    /// The server is stopping.
    Stopping,
}

/// Which object a session streams (`stream=` on `/connect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The `/system` object plus `"uptime"`, the original's frame (the default).
    System,
    /// The `/network` object.
    Network,
    /// System, network and a longer process list in one frame, for the dashboard.
    Dashboard,
    /// A compact frame for a fleet page watching many hosts.
    Summary,
}

impl Stream {
    /// Every stream with its `stream=` name, so parsing and the 400 listing them agree.
    pub const ALL: [(&'static str, Stream); 4] = [
        ("system", Stream::System),
        ("network", Stream::Network),
        ("dashboard", Stream::Dashboard),
        ("summary", Stream::Summary),
    ];

    /// The stream named `name`, if any.
    pub fn named(name: &str) -> Option<Stream> {
        Stream::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
    }
}

/// The frames of one tick, built once and shared by reference count.
#[derive(Clone)]
pub struct Frames {
    pub system: Utf8Bytes,
    pub network: Utf8Bytes,
    /// `{"system": <system frame>, "network": <network frame>, "processes": [...]}`.
    pub dashboard: Utf8Bytes,
    /// The [`crate::model::Summary`] of the tick.
    pub summary: Utf8Bytes,
}

impl Frames {
    /// The frame a session of `stream` gets, for the hub and for a session's first frame.
    pub fn of(&self, stream: Stream) -> &Utf8Bytes {
        match stream {
            Stream::System => &self.system,
            Stream::Network => &self.network,
            Stream::Dashboard => &self.dashboard,
            Stream::Summary => &self.summary,
        }
    }
}

struct Sub {
    id: u64,
    stream: Stream,
    peer: Option<PeerKey>,
    tx: Sender<Utf8Bytes>,
    rx: Receiver<Utf8Bytes>,
    bell: Arc<Doorbell>,
}

/// The set of live sessions.
#[derive(Default)]
pub struct Hub {
    subs: Mutex<Vec<Sub>>,
    next: AtomicU64,
    delivered: AtomicU64,
    stopping: AtomicBool,
}

/// A session's place in the hub; dropping it leaves the hub.
pub struct Subscription {
    id: u64,
    hub: Arc<Hub>,
    /// Frames for this session, newest wins.
    pub frames: Receiver<Utf8Bytes>,
    /// Rung after each frame and when the server stops.
    pub bell: Arc<Doorbell>,
}

impl Subscription {
    /// True once the server is stopping: the session closes with 1001.
    pub fn stopping(&self) -> bool {
        self.hub.stopping.load(Ordering::Acquire)
    }
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

    /// Joins the hub unless `max` sessions, or `max_per_peer` from `peer`, are in it already.
    pub fn try_subscribe(
        self: &Arc<Self>,
        stream: Stream,
        peer: Option<PeerKey>,
        max: usize,
        max_per_peer: usize,
    ) -> Result<Subscription, Refused> {
        let mut subs = self.lock();
        if self.stopping.load(Ordering::Acquire) {
            return Err(Refused::Stopping);
        }
        if subs.len() >= max {
            return Err(Refused::Full);
        }
        if peer.is_some() && subs.iter().filter(|s| s.peer == peer).count() >= max_per_peer {
            return Err(Refused::PeerFull);
        }
        let bell = Arc::new(Doorbell::new().map_err(|_| Refused::Resources)?);
        let (tx, rx) = bounded(1);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        subs.push(Sub {
            id,
            stream,
            peer,
            tx,
            rx: rx.clone(),
            bell: Arc::clone(&bell),
        });
        Ok(Subscription {
            id,
            hub: Arc::clone(self),
            frames: rx,
            bell,
        })
    }

    /// Tells every session that the server is stopping, and refuses new ones.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        for s in self.lock().iter() {
            s.bell.ring();
        }
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
            let mut msg = frames.of(s.stream).clone();
            for _ in 0..2 {
                match s.tx.try_send(msg) {
                    Ok(()) => {
                        self.delivered.fetch_add(1, Ordering::Relaxed);
                        s.bell.ring();
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
            dashboard: Utf8Bytes::from(format!("d{n}")),
            summary: Utf8Bytes::from(format!("u{n}")),
        }
    }

    #[test]
    fn newest_wins_and_capacity_holds() {
        let hub = Arc::new(Hub::default());
        let a = hub.try_subscribe(Stream::System, None, 4, 4).unwrap();
        let b = hub.try_subscribe(Stream::Network, None, 4, 4).unwrap();
        let c = hub.try_subscribe(Stream::Dashboard, None, 4, 4).unwrap();
        let d = hub.try_subscribe(Stream::Summary, None, 4, 4).unwrap();
        assert_eq!(
            hub.try_subscribe(Stream::System, None, 4, 4).err(),
            Some(Refused::Full)
        );
        for i in 0..5 {
            hub.publish(&frames(&i.to_string()));
        }
        assert_eq!(a.frames.try_recv().unwrap().as_str(), "s4");
        assert!(a.frames.try_recv().is_err());
        assert_eq!(b.frames.try_recv().unwrap().as_str(), "n4");
        assert_eq!(c.frames.try_recv().unwrap().as_str(), "d4");
        assert_eq!(d.frames.try_recv().unwrap().as_str(), "u4");
        drop(a);
        assert_eq!(hub.len(), 3);
        assert!(hub.try_subscribe(Stream::System, None, 4, 4).is_ok());
    }

    #[test]
    fn per_peer_cap_and_stop() {
        let peer = |s: &str| tiny_http::PeerKey::of(Some(s.parse().unwrap()));
        let hub = Arc::new(Hub::default());
        let a = hub
            .try_subscribe(Stream::System, peer("127.0.0.2:1"), 10, 1)
            .unwrap();
        assert_eq!(
            hub.try_subscribe(Stream::System, peer("127.0.0.2:2"), 10, 1)
                .err(),
            Some(Refused::PeerFull)
        );
        let b = hub
            .try_subscribe(Stream::System, peer("127.0.0.3:1"), 10, 1)
            .unwrap();
        hub.publish(&frames("1"));
        // The doorbell is rung: its eventfd reads 1.
        let mut n = 0u64;
        // SAFETY: reads 8 bytes into a valid u64.
        let r = unsafe { libc::read(b.bell.fd(), (&mut n as *mut u64).cast(), 8) };
        assert_eq!((r, n), (8, 1));
        hub.stop();
        assert!(a.stopping() && b.stopping());
        assert_eq!(
            hub.try_subscribe(Stream::System, None, 10, 10).err(),
            Some(Refused::Stopping)
        );
    }
}
