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
//! of one of that peer's connections part-way through its request or writing an answer, once
//! it has been so for a quarter of a second (a request in flight for a round trip is not cut);
//! a peer's last one only for a peer holding none that had nothing shed lately. A
//! connection shed while sending its request is told so with a `503`. See `ConnTable::admit`.

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

/// A connection in its phase for less than this is not taken by the fair-share rule
/// (`fair_victim`): a request a round trip or two in flight (a head sent in two writes, a body
/// sent after the head) completes. Well below `Limits::slow_after` (a second), so half-sent
/// heads spread over several addresses still give way long before they are slow.
const FAIR_MIN_AGE: Duration = Duration::from_millis(250);

/// A peer one of whose connections was shed part-way through a request less than this ago
/// does not take another peer's last connection (`fair_victim`); a newcomer refused for that
/// reason (a fresh peer would have found a place) extends it. With more addresses than slots,
/// each holding one half-sent head and reopening it at once when shed, the attackers'
/// newcomers would otherwise take every head as soon as it is `FAIR_MIN_AGE` old, and a
/// legitimate newcomer would find none.
const RECENT: Duration = Duration::from_millis(500);

/// At most this many peers are remembered as recently refused or shed (older entries are
/// dropped first; past it, a peer is not remembered).
const RECENT_MAX: usize = 4096;

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
    /// moved on first. A connection shed part-way through sending its request (in a head or a
    /// body) is first sent `note` (a `503` with `Connection: close`), best effort and without
    /// blocking: its request was never processed, so its client may retry at once.
    fn try_shed(&self, from: Phase, note: Option<&[u8]>) -> bool {
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
            if let Some(note) = note.filter(|_| matches!(from, Phase::Head | Phase::Body)) {
                self.send_now(note);
            }
            self.shed();
        }
        swapped
    }

    /// Writes `bytes` if the socket's buffer has room for them now (never blocks, no SIGPIPE).
    #[allow(unsafe_code)]
    fn send_now(&self, bytes: &[u8]) {
        use std::os::unix::io::AsRawFd;
        let Some(tcp) = self.socket.as_ref().and_then(|s| s.tcp()) else {
            return;
        };
        // SAFETY: send reads `bytes.len()` bytes from a live slice; the descriptor is our
        // socket (the slot holds it open).
        let _ = unsafe {
            libc::send(
                tcp.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
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
    /// What a connection shed part-way through sending its request is told (`with_shed_note`).
    shed_note: Option<Vec<u8>>,
    /// When each peer last had a connection shed part-way, or was refused for it (`RECENT`).
    recent: Mutex<HashMap<PeerKey, u64>>,
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
            shed_note: None,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers that `peer` was shed, or refused for it, at `now` (ms since the epoch).
    fn note_recent(&self, peer: Option<PeerKey>, now: u64) {
        let Some(peer) = peer else { return };
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let window = RECENT.as_millis() as u64;
        if recent.len() >= RECENT_MAX && !recent.contains_key(&peer) {
            recent.retain(|_, at| now.saturating_sub(*at) < window);
            if recent.len() >= RECENT_MAX {
                return;
            }
        }
        recent.insert(peer, now);
    }

    /// Whether `peer` was shed, or refused for it, less than `RECENT` ago.
    fn is_recent(&self, peer: Option<PeerKey>, now: u64) -> bool {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        peer.and_then(|p| recent.get(&p))
            .is_some_and(|at| now.saturating_sub(*at) < RECENT.as_millis() as u64)
    }

    /// Sets the bytes (a whole `503` answer with `Connection: close`) written to a connection
    /// shed while it was sending its request; `None` (plain TCP only: not for TLS) sends none.
    pub fn with_shed_note(self, note: Option<Vec<u8>>) -> ConnTable {
        ConnTable {
            shed_note: note,
            ..self
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
    /// newcomer from a peer holding fewer by two than another, a connection of the peer
    /// holding the most that has been sending its request (a head or a body) or writing an
    /// answer for `FAIR_MIN_AGE` (a peer's last connection, sending its request, only for a
    /// newcomer whose peer holds none and had nothing shed in the last `RECENT`:
    /// `fair_victim`); else the slowest connection (in a head, a body or a write for over
    /// `slow_after`), from the peer holding the most first. A connection in a handler is
    /// never shed, nor one younger than `FAIR_MIN_AGE` unless it is slow. The peer of a
    /// connection shed part-way is remembered for `RECENT`.
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
            if shed_one(&mut slots, own_idle, None).is_none() {
                return Err(Full::Peer);
            }
        } else if slots.len() >= self.max {
            let held = peer_counts(&slots);
            let held = |s: &Slot| s.peer.and_then(|p| held.get(&p).copied()).unwrap_or(1);
            let idlest = |s: &Slot, phase| idle(s, phase).then(|| (0, s.age(now)));
            let fresh = !self.is_recent(key, now);
            let fair = |s: &Slot, phase| {
                (key.is_some() && fair_victim(mine, held(s), phase, s.age(now), fresh))
                    .then(|| (held(s), s.age(now)))
            };
            let slowest = |s: &Slot, phase| {
                (matches!(phase, Phase::Head | Phase::Body | Phase::Writing) && s.age(now) >= slow)
                    .then(|| (held(s), s.age(now)))
            };
            let note = self.shed_note.as_deref();
            if shed_one(&mut slots, idlest, note).is_none() {
                match shed_one(&mut slots, fair, note)
                    .or_else(|| shed_one(&mut slots, slowest, note))
                {
                    Some(victim) => self.note_recent(victim, now),
                    None => {
                        // Refused for having been shed lately, while a fresh peer would have
                        // found a place: the penalty goes on (attackers reopening at once stay
                        // out). A refusal for want of any old enough connection is nobody's
                        // fault and is not remembered, so an impatient client is not locked
                        // out by its own retries.
                        if !fresh
                            && slots
                                .iter()
                                .any(|s| fair_victim(mine, held(s), s.phase(), s.age(now), true))
                        {
                            self.note_recent(key, now);
                        }
                        return Err(Full::Table);
                    }
                }
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
/// connection that has been in `phase` for `age_ms` of a peer holding `theirs`, when the table
/// is full and nothing is idle; `fresh` unless the newcomer's peer had a connection shed
/// part-way through a request in the last `RECENT` (`ConnTable::note_recent`).
///
/// Connections part-way through sending their request (a head or a body) give way, and so do
/// ones writing an answer (a client that pipelines requests and never reads holds its
/// connections in writes: 5 addresses could hold the whole table so): their clients can
/// retry, while a handler's work is under way. The victim must have been in its phase for
/// `FAIR_MIN_AGE`, so a request one round trip in flight (or an answer being read) is not
/// cut. The newcomer takes the place if its peer still holds fewer afterwards than the
/// victim's did (`mine + 1 < theirs`: the spread between the two narrows, so two peers cannot
/// take a slot back and forth). A peer's last connection (`theirs == 1`), sending a request,
/// is taken only by a fresh peer holding none: with more addresses than slots, each holding
/// one half-sent head, every peer still gets its turn, but the attackers, shed over and over,
/// do not take the heads a legitimate newcomer needs.
fn fair_victim(mine: usize, theirs: usize, phase: Phase, age_ms: u64, fresh: bool) -> bool {
    let sending = matches!(phase, Phase::Head | Phase::Body);
    (sending || phase == Phase::Writing)
        && age_ms >= FAIR_MIN_AGE.as_millis() as u64
        && (mine + 1 < theirs || (sending && fresh && mine == 0 && theirs == 1))
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
/// the shed slot's peer, or `None` if none was shed. A slot is shed only from the phase it was ranked in, so one that
/// has just handed its request to a handler is not.
fn shed_one(
    slots: &mut Vec<Arc<Slot>>,
    rank: impl Fn(&Slot, Phase) -> Option<(usize, u64)>,
    note: Option<&[u8]>,
) -> Option<Option<PeerKey>> {
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
        if slots[i].try_shed(phase, note) {
            log::debug!("connection table full: shed a {:?} connection", phase);
            return Some(slots.swap_remove(i).peer);
        }
    }
    None
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

    /// The red team's attack in small: the table full of heads from peers under their own
    /// cap. A newcomer from a peer holding fewer takes the place of a head of the peer holding
    /// the most (the oldest of them, once a quarter of a second old); a connection in a
    /// handler, a young write and a peer's last connection are spared.
    #[test]
    fn a_full_table_is_shared_fairly_between_peers() {
        let t = table(6, 4);
        let a = from(&t, "10.0.0.1", 4);
        let b = from(&t, "10.0.0.2", 2);
        at(&a[0], Phase::Handling, 3000);
        at(&a[1], Phase::Writing, 100);
        at(&a[2], Phase::Head, 400);
        at(&a[3], Phase::Body, 300);
        at(&b[0], Phase::Head, 600);
        at(&b[1], Phase::Head, 500);
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
        // A peer holding none: a's body goes (its write is too young).
        let d = t.admit(addr("10.0.0.4:1"), None).unwrap();
        assert!(shed(&a[3]) && !shed(&a[1]));
        at(&d, Phase::Handling, 0);
        // Then the peers hold 2 (a: in a handler and a young write), 2 (b), 1 and 1: another
        // newcomer takes b's oldest head.
        let e = t.admit(addr("10.0.0.5:1"), None).unwrap();
        assert!(shed(&b[0]) && !shed(&b[1]) && !shed(&a[1]));
        at(&e, Phase::Handling, 0);
        // a's write, once old enough, goes for a sixth peer; b's head, its last connection
        // and older, does not.
        at(&a[1], Phase::Writing, 300);
        let f = t.admit(addr("10.0.0.6:1"), None).unwrap();
        assert!(shed(&a[1]) && !shed(&b[1]) && !shed(&c));
        at(&f, Phase::Handling, 0);
        // Every peer holds one now. A peer's last connection goes only to a peer holding none
        // that was not refused or shed lately, once old enough: b's head to a seventh peer.
        at(&b[1], Phase::Head, 5000);
        let g = t.admit(addr("10.0.0.7:1"), None).unwrap();
        assert!(shed(&b[1]) && !shed(&c));
        at(&g, Phase::Handling, 0);
        // b, just shed, does not take c's head back; an eighth peer does.
        at(&c, Phase::Head, 5000);
        assert_eq!(t.admit(addr("10.0.0.2:9"), None).err(), Some(Full::Table));
        assert!(!shed(&c));
        let _h = t.admit(addr("10.0.0.8:1"), None).unwrap();
        assert!(shed(&c) && !shed(&a[0]));
        assert_eq!(t.len(), 6);
    }

    /// 200 addresses each holding one half-sent head and reopening it at once: a peer's last
    /// connection goes only to a newcomer whose peer holds none and had no connection shed in
    /// the last `RECENT` (the attackers do, over and over), once `FAIR_MIN_AGE` old (a request
    /// one round trip in flight is not cut); otherwise once slow.
    #[test]
    fn a_peers_last_connection_goes_only_to_a_fresh_peer_or_when_slow() {
        assert!(!fair_victim(0, 1, Phase::Head, 60_000, false));
        assert!(!fair_victim(0, 1, Phase::Head, 249, true));
        assert!(fair_victim(0, 1, Phase::Head, 250, true));
        assert!(!fair_victim(1, 1, Phase::Head, 60_000, true));
        assert!(!fair_victim(0, 1, Phase::Writing, 60_000, true));
        assert!(fair_victim(0, 2, Phase::Head, 250, false));
        let t = table(3, 4);
        let heads: Vec<_> = (1..=3)
            .map(|i| t.admit(addr(&format!("10.0.0.{i}:1")), None).unwrap())
            .collect();
        for (i, h) in heads.iter().enumerate() {
            at(h, Phase::Head, 100 + i as u64);
        }
        // Every head is young: refused, and not held against the newcomer (an impatient
        // client is not locked out by its own retries): once a head is old, it takes it.
        assert_eq!(t.admit(addr("10.0.0.9:1"), None).err(), Some(Full::Table));
        assert!(!heads.iter().any(shed));
        at(&heads[0], Phase::Head, 2000);
        let n = t.admit(addr("10.0.0.9:1"), None).unwrap();
        assert!(shed(&heads[0]) && !shed(&heads[1]));
        at(&n, Phase::Head, 0);
        // The shed peer, reopening at once, takes no head back, however old; its refusal
        // extends its penalty. A fresh peer takes the head.
        at(&heads[1], Phase::Head, 2000);
        assert_eq!(t.admit(addr("10.0.0.1:2"), None).err(), Some(Full::Table));
        assert!(!shed(&heads[1]));
        let m = t.admit(addr("10.0.0.8:1"), None).unwrap();
        assert!(shed(&heads[1]));
        at(&m, Phase::Head, 0);
        // Past slow_after, a head goes to anyone.
        at(&heads[2], Phase::Head, 20_000);
        let _o = t.admit(addr("10.0.0.1:2"), None).unwrap();
        assert!(shed(&heads[2]) && !shed(&n) && !shed(&m));
    }

    /// The fair-share rule takes no connection younger than `FAIR_MIN_AGE` in its phase: a
    /// head sent in two writes a round trip apart, or a body sent after its head, completes.
    #[test]
    fn the_fair_rule_spares_a_request_younger_than_its_minimum_age() {
        let t = table(3, 4);
        let a = from(&t, "10.0.0.1", 3);
        at(&a[0], Phase::Head, 100);
        at(&a[1], Phase::Body, 200);
        at(&a[2], Phase::Head, 0);
        assert!(!fair_victim(0, 3, Phase::Body, 249, true));
        assert!(fair_victim(0, 3, Phase::Body, 250, true));
        assert_eq!(t.admit(addr("10.0.0.2:1"), None).err(), Some(Full::Table));
        assert!(!a.iter().any(shed));
        at(&a[2], Phase::Head, 300);
        let _b = t.admit(addr("10.0.0.2:1"), None).unwrap();
        assert!(!shed(&a[0]) && !shed(&a[1]) && shed(&a[2]));
    }

    /// Connections writing to clients that do not read (5 addresses pipelining requests and
    /// never reading held the whole table) are taken by the fair-share rule from the peer
    /// holding the most, once past `FAIR_MIN_AGE`; a handler never.
    #[test]
    fn the_fair_rule_takes_writes_of_the_peer_holding_the_most() {
        let t = table(4, 4);
        let a = from(&t, "10.0.0.1", 3);
        let b = t.admit(addr("10.0.0.2:1"), None).unwrap();
        at(&a[0], Phase::Handling, 5000);
        at(&a[1], Phase::Writing, 100);
        at(&a[2], Phase::Writing, 400);
        at(&b, Phase::Writing, 5000);
        assert!(fair_victim(0, 2, Phase::Writing, 250, false));
        assert!(!fair_victim(0, 2, Phase::Handling, 60_000, true));
        let _c = t.admit(addr("10.0.0.3:1"), None).unwrap();
        assert!(!shed(&a[0]) && !shed(&a[1]) && shed(&a[2]) && !shed(&b));
        // a holds 2 now (a handler, a young write): nothing more for the fair rule.
        assert_eq!(t.admit(addr("10.0.0.4:1"), None).err(), Some(Full::Table));
    }

    /// A connection shed while sending its request is told `503` before the close; one shed
    /// while writing an answer is not (its answer is part-way).
    #[test]
    fn a_connection_shed_while_sending_its_request_is_told_so() {
        use std::io::Read;
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let note = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n".to_vec();
        let t = Arc::new(ConnTable {
            epoch: Instant::now()
                .checked_sub(Duration::from_secs(60))
                .expect("the clock has run for a minute"),
            ..ConnTable::new(2, 4, Duration::from_secs(10)).with_shed_note(Some(note.clone()))
        });
        let mut clients = Vec::new();
        let mut admitted = Vec::new();
        for _ in 0..2 {
            clients.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
            let (sock, peer) = listener.accept().unwrap();
            admitted.push(
                t.admit(Some(peer), Some(Arc::new(Connection::from(sock))))
                    .unwrap(),
            );
        }
        at(&admitted[0], Phase::Head, 400);
        at(&admitted[1], Phase::Writing, 300);
        let _n = t.admit(addr("10.0.0.2:1"), None).unwrap();
        assert!(shed(&admitted[0]) && !shed(&admitted[1]));
        let mut got = Vec::new();
        clients[0].read_to_end(&mut got).unwrap();
        assert_eq!(got, note);
        // The writer (its peer's last connection now) goes once slow, in silence.
        at(&admitted[1], Phase::Writing, 20_000);
        let _m = t.admit(addr("10.0.0.3:1"), None).unwrap();
        assert!(shed(&admitted[1]));
        let mut got = Vec::new();
        let _ = clients[1].read_to_end(&mut got);
        assert!(got.is_empty());
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
        let shed_any = shed_one(
            &mut slots,
            |s, phase| {
                // The connection hands its request over between the ranking and the swap.
                let _ = s.set(Phase::Handling);
                (phase == Phase::Head).then_some((0, 0))
            },
            None,
        );
        assert!(shed_any.is_none());
        assert_eq!(slots.len(), 2);
        drop(slots);
        assert!(!shed(&a) && !shed(&b));
    }
}
