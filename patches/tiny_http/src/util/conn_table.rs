//! PATCH: the table of open connections, for the connection caps and for shedding.
//!
//! The original had no cap at all; the first patch refused newcomers once the cap was reached,
//! so 70 half-open connections from one address locked every other client out. Now each
//! connection records what it is doing, and a newcomer that finds the table full takes the
//! place of an idle keep-alive connection or of the slowest client (one trickling its head
//! or reading its answer for over a second); only when every connection is busy in a handler
//! is the newcomer refused. Each peer (an IPv4 address, an IPv6 /64) has its own cap too.

use std::net::{IpAddr, Shutdown, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::connection::Connection;

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Waiting for the first byte of a request (a kept-alive connection between requests).
    Idle = 0,
    /// Reading a request head.
    Head = 1,
    /// Reading a request body (bodies up to 64 KiB are read before a handler gets them).
    Body = 2,
    /// A handler has the request.
    Handling = 3,
    /// Writing an answer to the client.
    Writing = 4,
    /// Shed for a newcomer: the socket is shut down and the connection ends.
    Shed = 5,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Idle,
            1 => Phase::Head,
            2 => Phase::Body,
            3 => Phase::Handling,
            4 => Phase::Writing,
            _ => Phase::Shed,
        }
    }
}

/// An idle connection younger than this is not shed: it may be a new one whose request is on
/// its way.
const IDLE_GRACE: Duration = Duration::from_millis(100);

/// Who a connection belongs to, for the per-peer cap: an IPv4 address, or the /64 of an IPv6
/// one (a single host usually has a whole /64 to pick addresses from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerKey(u128);

impl PeerKey {
    pub fn of(addr: Option<SocketAddr>) -> Option<PeerKey> {
        let ip = addr?.ip();
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        Some(PeerKey(match ip {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            IpAddr::V6(v6) => (u128::from(v6) >> 64 << 64) | 1,
        }))
    }
}

/// One open connection's entry.
pub struct Slot {
    id: u64,
    peer: Option<PeerKey>,
    socket: Option<Arc<Connection>>,
    phase: AtomicU8,
    /// When the phase began, in milliseconds since the table's epoch.
    since: AtomicU64,
    epoch: Instant,
}

impl Slot {
    /// Records that the connection entered `phase`; false if it was shed (its socket is shut
    /// down, and it should end). A connection that leaves `Idle` before the shedder's swap
    /// is not shed: the two race on one atomic.
    pub fn set(&self, phase: Phase) -> bool {
        let mut cur = self.phase.load(Ordering::Acquire);
        loop {
            if cur == Phase::Shed as u8 {
                return false;
            }
            match self.phase.compare_exchange_weak(
                cur,
                phase as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        self.since
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        true
    }

    fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    /// Bytes received and not yet read: an idle connection with some has a request coming.
    #[allow(unsafe_code)]
    fn unread(&self) -> usize {
        use std::os::unix::io::AsRawFd;
        let Some(tcp) = self.socket.as_ref().and_then(|s| s.tcp()) else {
            return 0;
        };
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int through the pointer; the descriptor is our socket.
        let rc = unsafe { libc::ioctl(tcp.as_raw_fd(), libc::FIONREAD, &mut n) };
        if rc == 0 {
            n.max(0) as usize
        } else {
            0
        }
    }

    /// Takes the slot from `from` to `Shed` and shuts the socket down; false if the connection
    /// moved on first.
    fn try_shed(&self, from: Phase) -> bool {
        let swapped = self
            .phase
            .compare_exchange(
                from as u8,
                Phase::Shed as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        if swapped {
            self.shed();
        }
        swapped
    }

    fn age(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.since.load(Ordering::Relaxed))
    }

    fn shed(&self) {
        if let Some(s) = &self.socket {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// Why a newcomer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// `max_connections` are open and none can be shed.
    Table,
    /// The peer has `max_per_peer` open and none of them is idle.
    Peer,
}

/// The open connections.
pub struct ConnTable {
    slots: Mutex<Vec<Arc<Slot>>>,
    next: AtomicU64,
    epoch: Instant,
    max: usize,
    max_per_peer: usize,
    /// A connection that has been in `Head`, `Body` or `Writing` this long may be shed for a
    /// newcomer (`Limits::slow_after`).
    slow_after: Duration,
}

/// A connection's place in the table; dropping it leaves.
pub struct Admitted {
    pub slot: Arc<Slot>,
    table: Arc<ConnTable>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let id = self.slot.id;
        self.table.lock().retain(|s| s.id != id);
    }
}

impl ConnTable {
    pub fn new(max: usize, max_per_peer: usize, slow_after: Duration) -> ConnTable {
        ConnTable {
            slots: Mutex::new(Vec::new()),
            next: AtomicU64::new(0),
            epoch: Instant::now(),
            max: max.max(1),
            max_per_peer: max_per_peer.max(1),
            slow_after,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Slot>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connections open.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Admits a new connection, shedding another if the caps require it.
    pub fn admit(
        self: &Arc<Self>,
        peer: Option<SocketAddr>,
        socket: Option<Arc<Connection>>,
    ) -> Result<Admitted, Full> {
        let key = PeerKey::of(peer);
        let now = self.epoch.elapsed().as_millis() as u64;
        let mut slots = self.lock();
        let mine = slots
            .iter()
            .filter(|s| key.is_some() && s.peer == key)
            .count();
        let grace = IDLE_GRACE.as_millis() as u64;
        let slow = self.slow_after.as_millis() as u64;
        let idle = |s: &Slot| s.phase() == Phase::Idle && s.age(now) >= grace && s.unread() == 0;
        if mine >= self.max_per_peer {
            // Over its own cap a peer can only trade its own idle connection for a new one.
            if !shed_one(&mut slots, now, |s| s.peer == key && idle(s)) {
                return Err(Full::Peer);
            }
        } else if slots.len() >= self.max {
            let slowest = |s: &Slot| {
                matches!(s.phase(), Phase::Head | Phase::Body | Phase::Writing)
                    && s.age(now) >= slow
            };
            if !shed_one(&mut slots, now, idle) && !shed_one(&mut slots, now, slowest) {
                return Err(Full::Table);
            }
        }
        let slot = Arc::new(Slot {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            peer: key,
            socket,
            phase: AtomicU8::new(Phase::Idle as u8),
            since: AtomicU64::new(now),
            epoch: self.epoch,
        });
        slots.push(slot.clone());
        Ok(Admitted {
            slot,
            table: Arc::clone(self),
        })
    }
}

/// Sheds the slot matching `pick` that has been in its phase longest (trying the next if one
/// moves on meanwhile) and removes it from the table; false if there was none.
fn shed_one(slots: &mut Vec<Arc<Slot>>, now: u64, pick: impl Fn(&Slot) -> bool) -> bool {
    let mut candidates: Vec<(u64, usize)> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| pick(s))
        .map(|(i, s)| (s.age(now), i))
        .collect();
    // PATCH: the oldest picked at each try (the first usually sheds) rather than a sort, which
    // would be another copy of std's sort in the binary.
    while let Some(k) = (0..candidates.len()).max_by_key(|&k| candidates[k]) {
        let (_, i) = candidates.swap_remove(k);
        let phase = slots[i].phase();
        if slots[i].try_shed(phase) {
            log::debug!("connection table full: shed a {:?} connection", phase);
            slots.swap_remove(i);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod test {
    use super::*;

    fn addr(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn peers_are_addresses_and_v6_prefixes() {
        assert_eq!(
            PeerKey::of(addr("127.0.0.2:1")),
            PeerKey::of(addr("127.0.0.2:2"))
        );
        assert_ne!(
            PeerKey::of(addr("127.0.0.2:1")),
            PeerKey::of(addr("127.0.0.3:1"))
        );
        assert_eq!(
            PeerKey::of(addr("[2001:db8::1]:1")),
            PeerKey::of(addr("[2001:db8::ffff]:1"))
        );
        assert_ne!(
            PeerKey::of(addr("[2001:db8:0:1::1]:1")),
            PeerKey::of(addr("[2001:db8::1]:1"))
        );
        assert_eq!(
            PeerKey::of(addr("[::ffff:10.0.0.1]:1")),
            PeerKey::of(addr("10.0.0.1:1"))
        );
    }

    #[test]
    fn caps_and_shedding() {
        let t = Arc::new(ConnTable::new(3, 2, Duration::from_secs(1)));
        let a1 = t.admit(addr("10.0.0.1:1"), None).unwrap();
        let a2 = t.admit(addr("10.0.0.1:2"), None).unwrap();
        a1.slot.set(Phase::Handling);
        a2.slot.set(Phase::Handling);
        // The peer is at its cap with nothing idle.
        assert_eq!(t.admit(addr("10.0.0.1:3"), None).err(), Some(Full::Peer));
        let b = t.admit(addr("10.0.0.2:1"), None).unwrap();
        b.slot.set(Phase::Handling);
        // Full, everyone busy: refused.
        assert_eq!(t.admit(addr("10.0.0.3:1"), None).err(), Some(Full::Table));
        // An idle one makes room, once past its grace period.
        b.slot.set(Phase::Idle);
        assert_eq!(t.admit(addr("10.0.0.3:1"), None).err(), Some(Full::Table));
        std::thread::sleep(IDLE_GRACE + Duration::from_millis(20));
        let c = t.admit(addr("10.0.0.3:1"), None).unwrap();
        assert!(
            !b.slot.set(Phase::Head),
            "a shed connection learns it was shed"
        );
        assert_eq!(t.len(), 3);
        drop(b); // already shed: leaving twice is harmless
        assert_eq!(t.len(), 3);
        drop(c);
        assert_eq!(t.len(), 2);
    }
}
