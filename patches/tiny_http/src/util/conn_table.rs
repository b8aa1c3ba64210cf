//! PATCH: the table of open connections, for the connection caps and for shedding.
//!
//! The original had no cap at all; the first patch refused newcomers once the cap was reached,
//! so 70 half-open connections from one address locked every other client out. Now each
//! connection records what it is doing, and a newcomer that finds the table full takes the
//! place of an idle keep-alive connection or of the slowest client (one trickling its head
//! or reading its answer for over a second); only when every connection is busy in a handler
//! is the newcomer refused. Each peer (an IPv4 address, an IPv6 /64) has its own cap too.
//!
//! The caps alone left a hole: 8 addresses each holding 15 half-sent heads (under the per-peer
//! cap) and reopening them when shed kept all 64 slots young, and a scrape from anyone else
//! got a 503. So the table is also shared fairly between peers (as a fair queue shares a link,
//! max-min): a newcomer whose peer holds fewer connections than another peer takes the place
//! of one of that peer's connections part-way through its request, however young. See
//! `ConnTable::admit`.

use std::collections::HashMap;
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
    ///
    /// A full table sheds, in this order: the longest-idle keep-alive connection; else, for a
    /// newcomer from a peer holding fewer than its fair share, a connection part-way through
    /// its request (in a head or a body) of the peer holding the most, however young
    /// (`fair_victim`); else the slowest connection (in a head, a body or a write for over
    /// `slow_after`), from the peer holding the most first. A connection in a handler is never
    /// shed, and a young one writing an answer is not either (the work is done; it is shed
    /// once slow).
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
        let idle = |s: &Slot, phase| phase == Phase::Idle && s.age(now) >= grace && s.unread() == 0;
        if mine >= self.max_per_peer {
            // Over its own cap a peer can only trade its own idle connection for a new one.
            let own_idle =
                |s: &Slot, phase| (s.peer == key && idle(s, phase)).then(|| (0, s.age(now)));
            if !shed_one(&mut slots, own_idle) {
                return Err(Full::Peer);
            }
        } else if slots.len() >= self.max {
            let held = peer_counts(&slots);
            let held = |s: &Slot| s.peer.and_then(|p| held.get(&p).copied()).unwrap_or(1);
            let idlest = |s: &Slot, phase| idle(s, phase).then(|| (0, s.age(now)));
            let fair = |s: &Slot, phase| {
                (key.is_some() && fair_victim(mine, held(s), phase)).then(|| (held(s), s.age(now)))
            };
            let slowest = |s: &Slot, phase| {
                (matches!(phase, Phase::Head | Phase::Body | Phase::Writing) && s.age(now) >= slow)
                    .then(|| (held(s), s.age(now)))
            };
            if !shed_one(&mut slots, idlest)
                && !shed_one(&mut slots, fair)
                && !shed_one(&mut slots, slowest)
            {
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

/// Whether a newcomer from a peer holding `mine` connections may take the place of a
/// connection in `phase` of a peer holding `theirs`, when the table is full.
///
/// Only connections part-way through sending their request (in a head or a body) give way:
/// their clients have cost nothing yet and can retry, while a handler's work is under way, an
/// answer being written is done, and an idle connection younger than `IDLE_GRACE` may have
/// its request on the way (older idle ones are shed first anyway). The newcomer takes the
/// place if its peer still holds fewer afterwards than the victim's did (`mine + 1 < theirs`:
/// the spread between the two narrows, so two peers cannot take a slot back and forth), or if
/// its peer holds none at all (every peer gets its turn, even when more addresses than slots
/// share the table).
fn fair_victim(mine: usize, theirs: usize, phase: Phase) -> bool {
    matches!(phase, Phase::Head | Phase::Body) && (mine + 1 < theirs || mine == 0)
}

/// How many connections each peer holds.
fn peer_counts(slots: &[Arc<Slot>]) -> HashMap<PeerKey, usize> {
    let mut held = HashMap::new();
    for p in slots.iter().filter_map(|s| s.peer) {
        *held.entry(p).or_insert(0) += 1;
    }
    held
}

/// Sheds the slot `rank` ranks highest (it ranks a slot, in the phase given, or leaves it out
/// with `None`), trying the next if one moves on meanwhile, and removes it from the table;
/// false if there was none. A slot is shed only from the phase it was ranked in, so one that
/// has just handed its request to a handler is not.
fn shed_one(
    slots: &mut Vec<Arc<Slot>>,
    rank: impl Fn(&Slot, Phase) -> Option<(usize, u64)>,
) -> bool {
    let mut candidates: Vec<((usize, u64), usize, Phase)> = slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let phase = s.phase();
            rank(s, phase).map(|r| (r, i, phase))
        })
        .collect();
    // PATCH: the highest ranked picked at each try (the first usually sheds) rather than a
    // sort, which would be another copy of std's sort in the binary.
    while let Some(k) = (0..candidates.len()).max_by_key(|&k| candidates[k].0) {
        let (_, i, phase) = candidates.swap_remove(k);
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

    /// A table whose clock started a minute ago, so a slot can be made older with `at`.
    fn table(max: usize, max_per_peer: usize) -> Arc<ConnTable> {
        Arc::new(ConnTable {
            epoch: Instant::now()
                .checked_sub(Duration::from_secs(60))
                .expect("the clock has run for a minute"),
            ..ConnTable::new(max, max_per_peer, Duration::from_secs(10))
        })
    }

    /// Puts `a` in `phase`, as if it had entered it `ms` milliseconds ago.
    fn at(a: &Admitted, phase: Phase, ms: u64) {
        assert!(a.slot.set(phase));
        a.slot.since.fetch_sub(ms, Ordering::Relaxed);
    }

    /// `n` connections admitted from the address `ip`.
    fn from(t: &Arc<ConnTable>, ip: &str, n: usize) -> Vec<Admitted> {
        (0..n)
            .map(|i| t.admit(addr(&format!("{ip}:{i}")), None).unwrap())
            .collect()
    }

    fn shed(a: &Admitted) -> bool {
        a.slot.phase() == Phase::Shed
    }

    /// The red team's attack in small: the table full of young heads from peers under their
    /// own cap. A newcomer from a peer holding fewer takes the place of a head of the peer
    /// holding the most (the oldest of them); a connection in a handler or writing is spared.
    #[test]
    fn a_full_table_is_shared_fairly_between_peers() {
        let t = table(6, 4);
        let a = from(&t, "10.0.0.1", 4);
        let b = from(&t, "10.0.0.2", 2);
        at(&a[0], Phase::Handling, 30);
        at(&a[1], Phase::Writing, 20);
        at(&a[2], Phase::Head, 10);
        at(&a[3], Phase::Body, 5);
        at(&b[0], Phase::Head, 50);
        at(&b[1], Phase::Head, 40);
        // A newcomer from a third peer: the oldest head or body of the peer holding four,
        // although b's heads are older.
        let c = t.admit(addr("10.0.0.3:1"), None).unwrap();
        assert_eq!(
            a.iter().chain(&b).map(shed).collect::<Vec<_>>(),
            [false, false, true, false, false, false]
        );
        at(&c, Phase::Head, 0);
        // a (3) and b (2) now: b's next newcomer would leave it holding as many as a, not
        // fewer, so it is refused rather than start a tug of war; so is a's.
        assert_eq!(t.admit(addr("10.0.0.2:9"), None).err(), Some(Full::Table));
        assert_eq!(t.admit(addr("10.0.0.1:9"), None).err(), Some(Full::Table));
        // A peer holding none still gets a turn: a's body, its last request part-way, goes.
        let d = t.admit(addr("10.0.0.4:1"), None).unwrap();
        assert!(shed(&a[3]));
        at(&d, Phase::Handling, 0);
        // Then the peers hold 2 (a: in a handler and writing), 2 (b), 1 and 1: another
        // newcomer takes b's oldest head; a's connections are never candidates.
        let e = t.admit(addr("10.0.0.5:1"), None).unwrap();
        assert!(shed(&b[0]) && !shed(&b[1]));
        at(&e, Phase::Handling, 0);
        // Every peer holds one; a sixth peer still takes the oldest head.
        let f = t.admit(addr("10.0.0.6:1"), None).unwrap();
        assert!(shed(&b[1]) && !shed(&c));
        // Nothing but handlers and writes, and c's young head; its peer holds one, as does
        // the newcomer's now: refused.
        at(&f, Phase::Handling, 0);
        assert_eq!(t.admit(addr("10.0.0.6:2"), None).err(), Some(Full::Table));
        assert!(!shed(&a[0]) && !shed(&a[1]) && !shed(&c));
        assert_eq!(t.len(), 6);
    }

    /// A peer's own newcomers take no young head from a peer holding fewer; slow connections
    /// are shed for them, from the peer holding the most first; a handler never is.
    #[test]
    fn one_peer_keeps_its_young_heads_and_slow_ones_go_from_the_biggest_peer() {
        let t = table(4, 4);
        let a = from(&t, "10.0.0.1", 3);
        for x in &a {
            at(x, Phase::Head, 0);
        }
        let b = t.admit(addr("10.0.0.2:1"), None).unwrap();
        at(&b, Phase::Head, 0);
        assert_eq!(t.admit(addr("10.0.0.1:9"), None).err(), Some(Full::Table));
        // Past slow_after: b's head is the slowest, but a holds more.
        at(&b, Phase::Head, 30_000);
        at(&a[1], Phase::Writing, 20_000);
        let n = t.admit(addr("10.0.0.1:9"), None).unwrap();
        assert!(shed(&a[1]) && !shed(&b));
        // A handler, however old, never.
        at(&n, Phase::Handling, 30_000);
        at(&a[0], Phase::Handling, 30_000);
        at(&a[2], Phase::Handling, 30_000);
        let m = t.admit(addr("10.0.0.1:8"), None).unwrap();
        assert!(shed(&b));
        at(&m, Phase::Handling, 30_000);
        assert_eq!(t.admit(addr("10.0.0.3:1"), None).err(), Some(Full::Table));
    }

    /// A slot that moves on after it was ranked is not shed from its new phase.
    #[test]
    fn a_slot_is_shed_only_from_the_phase_it_was_picked_in() {
        let t = table(2, 2);
        let a = t.admit(addr("10.0.0.1:1"), None).unwrap();
        let b = t.admit(addr("10.0.0.1:2"), None).unwrap();
        at(&a, Phase::Head, 0);
        at(&b, Phase::Head, 0);
        let mut slots = t.lock();
        let shed_any = shed_one(&mut slots, |s, phase| {
            // The connection hands its request over between the ranking and the swap.
            let _ = s.set(Phase::Handling);
            (phase == Phase::Head).then_some((0, 0))
        });
        assert!(!shed_any);
        assert_eq!(slots.len(), 2);
        drop(slots);
        assert!(!shed(&a) && !shed(&b));
    }
}
