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
    /// A handler has the request.
    Handling = 2,
    /// Writing an answer to the client.
    Writing = 3,
}

/// A connection that has been in `Head` or `Writing` this long may be shed for a newcomer.
const SLOW_AFTER: Duration = Duration::from_secs(1);

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
    /// Records that the connection entered `phase`.
    pub fn set(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
        self.since
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            0 => Phase::Idle,
            1 => Phase::Head,
            2 => Phase::Handling,
            _ => Phase::Writing,
        }
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
    pub fn new(max: usize, max_per_peer: usize) -> ConnTable {
        ConnTable {
            slots: Mutex::new(Vec::new()),
            next: AtomicU64::new(0),
            epoch: Instant::now(),
            max: max.max(1),
            max_per_peer: max_per_peer.max(1),
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
        if mine >= self.max_per_peer {
            // Over its own cap a peer can only trade its own idle connection for a new one.
            let victim = oldest(&slots, now, |s| s.peer == key && s.phase() == Phase::Idle);
            match victim {
                Some(i) => slots.swap_remove(i).shed(),
                None => return Err(Full::Peer),
            }
        } else if slots.len() >= self.max {
            let slow = SLOW_AFTER.as_millis() as u64;
            let victim = oldest(&slots, now, |s| s.phase() == Phase::Idle).or_else(|| {
                oldest(&slots, now, |s| {
                    matches!(s.phase(), Phase::Head | Phase::Writing) && s.age(now) >= slow
                })
            });
            match victim {
                Some(i) => {
                    let shed = slots.swap_remove(i);
                    log::debug!(
                        "connection table full: shedding a {:?} connection",
                        shed.phase()
                    );
                    shed.shed();
                }
                None => return Err(Full::Table),
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

/// The index of the slot matching `pick` that has been in its phase longest.
fn oldest(slots: &[Arc<Slot>], now: u64, pick: impl Fn(&Slot) -> bool) -> Option<usize> {
    slots
        .iter()
        .enumerate()
        .filter(|(_, s)| pick(s))
        .max_by_key(|(_, s)| s.age(now))
        .map(|(i, _)| i)
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
        let t = Arc::new(ConnTable::new(3, 2));
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
        // An idle one makes room.
        b.slot.set(Phase::Idle);
        let c = t.admit(addr("10.0.0.3:1"), None).unwrap();
        assert_eq!(t.len(), 3);
        drop(b); // already shed: leaving twice is harmless
        assert_eq!(t.len(), 3);
        drop(c);
        assert_eq!(t.len(), 2);
    }
}
