//! One peer must not starve the others: connection, session and worker caps per peer, slow
//! readers, and running out of file descriptors. Other peers are the loopback addresses
//! `127.0.0.2` and `127.0.0.3` (all of 127/8 is loopback).

use super::common::{
    connect_from, read_response, read_until_closed, request, responses, ws_handshake, Server,
};
use super::{get, show, watched, GUARD};
use serde_json::Value;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tungstenite::Message;

/// `GET path` from the peer `from`; the status, or why there was none.
fn get_from(from: &str, addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = connect_from(from, addr);
    let sent = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    s.write_all(sent.as_bytes()).ok()?;
    read_response(&mut s, GUARD).map(|r| r.status)
}

/// `POST /` from `from` over a new connection: the status and, on 200, the worker id.
fn post_from(from: &str, addr: SocketAddr) -> (u16, Option<String>) {
    let mut s = connect_from(from, addr);
    let sent =
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    s.write_all(sent.as_bytes()).unwrap();
    let r = read_response(&mut s, GUARD).expect("an answer to POST /");
    let id = (r.status == 200).then(|| r.json()["id"].as_str().unwrap_or("").to_owned());
    (r.status, id)
}

/// Polls `hog` (without blocking) until at least `want` of its connections were closed by the
/// server, or 30 s passed; returns how many were closed and how many of them got a 503 first.
fn hog_outcome(hog: &mut [TcpStream], want: usize) -> (usize, usize) {
    use std::io::Read;
    let mut got: Vec<(Vec<u8>, bool)> = vec![(Vec::new(), false); hog.len()];
    let count = |got: &[(Vec<u8>, bool)]| got.iter().filter(|(_, ended)| *ended).count();
    super::common::wait_until(30, || {
        for (s, (raw, ended)) in hog.iter_mut().zip(got.iter_mut()) {
            s.set_nonblocking(true).unwrap();
            let mut buf = [0u8; 4096];
            while !*ended {
                match s.read(&mut buf) {
                    Ok(0) => *ended = true,
                    Ok(n) => raw.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => *ended = true,
                }
            }
        }
        count(&got) >= want
    });
    let refused = got
        .iter()
        .filter(|(raw, ended)| *ended && responses(raw).first().is_some_and(|r| r.status == 503))
        .count();
    (count(&got), refused)
}

/// 70 half-open connections (a head begun, never finished) from one address took every slot:
/// 0 of 100 other requests were served. Now that peer has its own cap, and others are served.
#[test]
fn half_open_connections_from_one_peer_do_not_lock_others_out() {
    let w = watched(&["--request-timeout", "30000"]);
    let addr = w.addr();
    let mut hog: Vec<TcpStream> = Vec::new();
    for _ in 0..70 {
        let mut s = connect_from("127.0.0.2", addr);
        let _ = s.write_all(b"GET /system HTTP/1.1\r\nHost: local");
        hog.push(s);
    }
    // The hog holds at most its cap (16): past it, a newcomer of its own took the place of one
    // of its connections the server had not begun reading, or was refused with a JSON 503.
    // Wait for that to have happened to all 54 (the event), then ask from another peer.
    let (closed, refused) = hog_outcome(&mut hog, 54);
    let served = (0..100)
        .filter(|_| get_from("127.0.0.3", addr, "/system") == Some(200))
        .count();
    assert_eq!(
        served, 100,
        "requests from another peer served while one holds 70 half-open"
    );
    assert!(
        closed >= 54,
        "the hog kept {} connections open, its cap is 16",
        70 - closed
    );
    assert!(
        refused > 0,
        "none of the hog's connections was refused with a 503"
    );
    drop(hog);
    w.check("70 half-open connections from one peer");
}

/// A client flooding `POST /` got 36 of 50 other clients' `POST /` refused. Now it gets a 429
/// past its own cap (32) and every other peer's workers are created and claimable.
#[test]
fn a_post_flood_from_one_peer_leaves_others_their_workers() {
    let w = watched(&[]);
    let addr = w.addr();
    let flood: Vec<u16> = (0..200).map(|_| post_from("127.0.0.2", addr).0).collect();
    let ok = flood.iter().filter(|s| **s == 200).count();
    assert!(
        ok <= 32,
        "the flooding peer holds at most its cap ({ok} workers)"
    );
    assert!(
        flood.iter().all(|s| *s == 200 || *s == 429),
        "200 or 429: {flood:?}"
    );
    let mut others = 0;
    for _ in 0..50 {
        let (status, id) = post_from("127.0.0.3", addr);
        assert_eq!(status, 200, "another peer's POST /");
        let ws = ws_handshake(
            connect_from("127.0.0.3", addr),
            &format!("/connect?id={}", id.unwrap()),
        );
        others += 1;
        drop(ws);
    }
    assert_eq!(others, 50);
    w.check("a POST flood from one peer");
}

/// Reads the greeting, or the full-capacity message, of a new session from `from`.
fn first_text(s: &Server, from: &str) -> String {
    let (status, id) = post_from(from, s.addr);
    assert_eq!(status, 200);
    let mut ws = ws_handshake(
        connect_from(from, s.addr),
        &format!("/connect?id={}", id.unwrap()),
    );
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => return t.as_str().to_owned(),
            Ok(_) => {}
            Err(e) => panic!("session from {from}: {e}"),
        }
    }
}

/// One client could hold all `--max-clients` sessions; now at most `--max-clients-per-peer`.
#[test]
fn one_peer_cannot_hold_every_session() {
    let w = watched(&["--max-clients", "20", "--max-clients-per-peer", "5"]);
    let mut held = Vec::new();
    for i in 0..5 {
        let (_, id) = post_from("127.0.0.2", w.addr());
        let mut ws = ws_handshake(
            connect_from("127.0.0.2", w.addr()),
            &format!("/connect?id={}", id.unwrap()),
        );
        let Ok(Message::Text(t)) = ws.read() else {
            panic!("session {i}: no greeting");
        };
        assert!(t.as_str().starts_with("connected"), "session {i}: {t}");
        held.push(ws);
    }
    assert_eq!(
        first_text(&w.s, "127.0.0.2"),
        "Server is at full capacity. Please try again later.",
        "the sixth session from the same peer"
    );
    assert!(
        first_text(&w.s, "127.0.0.3").starts_with("connected"),
        "another peer still gets a session"
    );
    drop(held);
    w.check("sessions from one peer");
}

/// Eight clients that pipeline large answers and read none: each answer waits for its client,
/// on that connection's thread, not on a handler thread (there are 4), so other clients are
/// answered at once. (With handlers writing, every one was blocked for the write timeout.)
#[test]
fn slow_readers_do_not_hold_the_handler_threads() {
    // A handler stuck writing to a slow reader would be stuck for the request timeout (ten
    // minutes here), far past the guard of every request below: a request that is answered at
    // all was not queued behind one. No wall-clock limit is needed.
    let w = watched(&[
        "--request-timeout",
        "600000",
        "--max-connections-per-peer",
        "64",
    ]);
    let addr = w.addr();
    let one = b"GET /system?processes=100 HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut readers = Vec::new();
    for _ in 0..8 {
        let mut s = super::common::connect_with(addr, None, Some(4096));
        s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        // Far more than the socket buffers hold (each answer is several kB).
        for _ in 0..400 {
            if s.write_all(one).is_err() {
                break;
            }
        }
        readers.push(s);
    }
    // Wait until the server is answering every reader (answers wait in its socket), the event
    // the handlers would be stuck behind.
    for (i, s) in readers.iter().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut b = [0u8; 1];
        assert_eq!(s.peek(&mut b).ok(), Some(1), "reader {i} got no answer");
    }
    for i in 0..20 {
        assert_eq!(
            get(addr, "/system"),
            Ok(200),
            "request {i} with 8 slow readers"
        );
    }
    drop(readers);
    w.check("slow readers");
}

/// Websocket sessions fill the open-file limit: the accept path sheds connections instead of
/// panicking (it once did, leaving a process with no listener), and once the sessions leave
/// the server serves again.
#[test]
fn running_out_of_file_descriptors_keeps_the_listener() {
    let s = Server::builder()
        .args(&[
            "--interval",
            "200",
            "--max-clients",
            "1000",
            "--max-clients-per-peer",
            "1000",
            "--max-pending-per-peer",
            "1000",
        ])
        .rlimit_nofile(48)
        .start();
    assert_eq!(s.first_answer("/health").status, 200);
    let mut sessions = Vec::new();
    let mut failures = 0;
    for _ in 0..60 {
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.session()));
        match opened {
            Ok(mut ws) => {
                let _ = ws
                    .get_ref()
                    .set_read_timeout(Some(Duration::from_millis(500)));
                match ws.read() {
                    Ok(Message::Text(t)) if t.as_str().starts_with("connected") => {
                        sessions.push(ws)
                    }
                    _ => failures += 1,
                }
            }
            Err(_) => failures += 1,
        }
        if failures >= 5 {
            break;
        }
    }
    assert!(
        failures >= 5,
        "the descriptors ran out ({} sessions open)",
        sessions.len()
    );
    // At the limit: a connection is answered (a 503 from the reserve descriptor) or closed,
    // never left hanging, and the process is alive.
    for _ in 0..5 {
        let mut c = TcpStream::connect(s.addr).expect("the listener still accepts");
        let _ = c.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let (raw, closed) = read_until_closed(&mut c, GUARD);
        let status = responses(&raw).first().map(|r| r.status);
        assert!(
            closed || status == Some(200),
            "at the fd limit: {} (still open)",
            show(&raw)
        );
        if let Some(st) = status {
            assert!(matches!(st, 200 | 503), "at the fd limit: {}", show(&raw));
        }
    }
    drop(sessions);
    let mut last = None;
    let back = super::common::wait_until(15, || {
        last = super::common::try_request(s.addr, "GET", "/health").map(|r| r.status);
        last == Some(200)
    });
    assert!(
        back,
        "served again after the sessions left (last {last:?})\n{}",
        s.log()
    );
    let log = s.log();
    assert!(!log.contains("panicked"), "{log}");
    let r = request(s.addr, "GET", "/system", &[], b"");
    assert_eq!(r.status, 200);
    let _: Value = r.json();
}

/// Clients that send a body a byte at a time, within every cap: bodies are read on their
/// connections' threads, never by a handler, so other requests are answered meanwhile. With
/// `Connection: upgrade` on such a POST the body's deadline and framing once went away.
#[test]
fn slow_bodies_do_not_hold_the_handler_threads() {
    // As above: a handler held by a slow body would be held for ten minutes, far past the
    // guard of each request, so being answered at all is the check.
    let w = watched(&["--request-timeout", "600000"]);
    let addr = w.addr();
    let heads = [
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2000\r\n\r\n{",
        "POST / HTTP/1.1\r\nHost: localhost\r\nConnection: upgrade\r\nContent-Length: 10\r\n\r\n{",
        "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{",
    ];
    let mut slow: Vec<TcpStream> = Vec::new();
    for head in heads {
        for _ in 0..4 {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(head.as_bytes()).unwrap();
            slow.push(s);
        }
    }
    for round in 0..10 {
        for s in &mut slow {
            let _ = s.write_all(b" ");
        }
        assert_eq!(get(addr, "/health"), Ok(200), "round {round}");
    }
    drop(slow);
    w.check("slow bodies");
}

/// One attacking peer's connections: each sends a request head without its blank line and,
/// when the server closes it, reopens at once (a refused one, answered 503, a moment later).
struct HalfHeads {
    from: String,
    conns: Vec<(TcpStream, Vec<u8>)>,
}

/// The bytes of a head that never ends.
const HALF_HEAD: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n";

impl HalfHeads {
    fn open(from: &str, addr: SocketAddr) -> (TcpStream, Vec<u8>) {
        let mut s = connect_from(from, addr);
        let _ = s.write_all(HALF_HEAD);
        s.set_nonblocking(true).unwrap();
        (s, Vec::new())
    }

    /// Reopens every connection the server has ended; counts those shed for a newcomer (closed
    /// without a word, or since told so with a 503 that says "shed") in `shed` and those
    /// refused with a 503 (the table full) in `refused`.
    fn poll(&mut self, addr: SocketAddr, shed: &AtomicUsize, refused: &AtomicUsize) {
        use std::io::Read;
        for conn in &mut self.conns {
            let mut buf = [0u8; 1024];
            let ended = loop {
                match conn.0.read(&mut buf) {
                    Ok(0) => break true,
                    Ok(n) => conn.1.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
                    Err(_) => break true,
                }
            };
            if !ended {
                continue;
            }
            if conn.1.is_empty() || show(&conn.1).contains("shed") {
                shed.fetch_add(1, Ordering::Relaxed);
            } else {
                refused.fetch_add(1, Ordering::Relaxed);
                // A refused client retries after a moment rather than spinning the machine.
                std::thread::sleep(Duration::from_millis(20));
            }
            *conn = Self::open(&self.from, addr);
        }
    }
}

/// Eight addresses (127.0.0.2 to .9), each holding 15 connections (under its cap of 16) that
/// send a head without its blank line and reopen as soon as they are shed, kept the table of
/// 64 full of young heads the shedding spared: 95 of 96 scrapes from 127.0.0.1 got a 503. Now
/// a newcomer from a peer holding fewer connections takes the place of a head of the peer
/// holding the most once it is a quarter of a second old (a scrape that comes while every head
/// is younger is refused with a 503 and retried as told, `Retry-After: 1`; the old code
/// refused every retry too). Connections count as young for ten minutes here
/// (`--test-slow-after`), so only that rule can let the scrapes in; the attackers' heads stay
/// for the 30 s deadline.
#[test]
fn half_heads_spread_over_many_peers_leave_other_peers_served() {
    const PEERS: usize = 8;
    const PER_PEER: usize = 15;
    const SCRAPES: usize = 30;
    let w = watched(&["--request-timeout", "30000", "--test-slow-after", "600000"]);
    let addr = w.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let shed = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = (0..PEERS)
        .map(|i| {
            let from = format!("127.0.0.{}", i + 2);
            let (stop, shed, refused) = (stop.clone(), shed.clone(), refused.clone());
            std::thread::spawn(move || {
                let conns = (0..PER_PEER)
                    .map(|_| HalfHeads::open(&from, addr))
                    .collect();
                let mut peer = HalfHeads { from, conns };
                while !stop.load(Ordering::Relaxed) {
                    peer.poll(addr, &shed, &refused);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect();
    // The event: the 120 connections do not fit in 64, so the rest were refused; the table is
    // full of half-heads.
    assert!(
        super::common::wait_until(30, || refused.load(Ordering::Relaxed)
            >= PEERS * PER_PEER - 64),
        "the attackers filled the table ({} refused)",
        refused.load(Ordering::Relaxed)
    );
    let (served, statuses) = while_attacked(attackers, &stop, SCRAPES, || {
        get_as_told(addr, "/metrics", None)
    });
    // Every one: the scraper's address holds one connection at most (its last, closing), each
    // attacker's about eight; a connection in a handler is never shed, and the fair-share rule
    // takes from the address holding the most, never the scraper's.
    assert_eq!(
        served, SCRAPES,
        "scrapes from 127.0.0.1 served while {PEERS} peers hold {PER_PEER} half-heads each: \
         {statuses:?}"
    );
    // Each scrape that found the table full took an attacker's place, and it reopened.
    assert!(
        shed.load(Ordering::Relaxed) > 0,
        "no attacker connection was shed"
    );
    w.check("half-heads from many peers");
}

/// `attackers` threads hammering with one half-head from each of `peers` addresses
/// (127.0.1.1 on), each reopened when the server ends it; stops when `stop` is set.
fn half_heads_from_many(
    addr: SocketAddr,
    peers: usize,
    stop: &Arc<AtomicBool>,
    shed: &Arc<AtomicUsize>,
    refused: &Arc<AtomicUsize>,
) -> Vec<std::thread::JoinHandle<()>> {
    const THREADS: usize = 4;
    (0..THREADS)
        .map(|t| {
            let (stop, shed, refused) = (stop.clone(), shed.clone(), refused.clone());
            std::thread::spawn(move || {
                let mut mine: Vec<HalfHeads> = (0..peers)
                    .filter(|i| i % THREADS == t)
                    .map(|i| {
                        let from = format!("127.0.{}.{}", 1 + i / 250, 1 + i % 250);
                        let conns = vec![HalfHeads::open(&from, addr)];
                        HalfHeads { from, conns }
                    })
                    .collect();
                while !stop.load(Ordering::Relaxed) {
                    for peer in &mut mine {
                        peer.poll(addr, &shed, &refused);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect()
}

/// Makes `n` requests with `request` while the `attackers` threads go on, then stops and joins
/// them: how many were served (200), and every status.
fn while_attacked(
    attackers: Vec<std::thread::JoinHandle<()>>,
    stop: &AtomicBool,
    n: usize,
    request: impl Fn() -> Option<u16>,
) -> (usize, Vec<Option<u16>>) {
    let statuses: Vec<Option<u16>> = (0..n).map(|_| request()).collect();
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.join().expect("an attacker thread");
    }
    let served = statuses.iter().filter(|s| **s == Some(200)).count();
    (served, statuses)
}

/// `GET path` from 127.0.0.1, its head sent in two writes `gap` apart if given (a client a
/// round trip away, or one that writes its head line by line); a 503 is retried as it says
/// (`Retry-After: 1`), twice at most. The status, or why there was none.
fn get_as_told(addr: SocketAddr, path: &str, gap: Option<Duration>) -> Option<u16> {
    for _ in 0..3 {
        let mut s = connect_from("127.0.0.1", addr);
        s.set_nodelay(true).unwrap();
        let head = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
        s.write_all(head.as_bytes()).ok()?;
        if let Some(gap) = gap {
            std::thread::sleep(gap);
        }
        let _ = s.write_all(b"Connection: close\r\n\r\n");
        let (raw, _) = read_until_closed(&mut s, GUARD);
        let status = responses(&raw).first().map(|r| r.status);
        if status != Some(503) {
            return status;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Some(503)
}

/// 200 addresses (more than the 64 slots), each holding one half-sent head and reopening it
/// as soon as it is shed: a newcomer from an address holding none took the place of the
/// youngest heads too, so a request whose head came in two writes was always cut between them
/// (0 of 20 served). Now a connection is taken by the fair-share rule only after a quarter of
/// a second in its phase, a peer's last one only by a peer not itself refused or shed lately
/// (the attackers, who are, cannot take the heads back as soon as they age), and a connection
/// cut while sending its request is told so with a 503. Every request is served; one that
/// came when no head was old enough is refused with a 503 and retried as told.
#[test]
fn a_head_in_two_writes_is_served_under_half_heads_from_more_addresses_than_slots() {
    const PEERS: usize = 200;
    const REQUESTS: usize = 20;
    let w = watched(&["--request-timeout", "30000"]);
    let addr = w.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let shed = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let attackers = half_heads_from_many(addr, PEERS, &stop, &shed, &refused);
    // The event: the table is full of half-heads (the attackers beyond it were refused or shed
    // each other).
    assert!(
        super::common::wait_until(60, || refused.load(Ordering::Relaxed)
            + shed.load(Ordering::Relaxed)
            >= PEERS - 64),
        "the attackers filled the table ({} refused, {} shed)",
        refused.load(Ordering::Relaxed),
        shed.load(Ordering::Relaxed)
    );
    let (served, statuses) = while_attacked(attackers, &stop, REQUESTS, || {
        get_as_told(addr, "/health", Some(Duration::from_millis(200)))
    });
    assert_eq!(
        served, REQUESTS,
        "heads in two writes from 127.0.0.1 served while {PEERS} peers hold a half-head each: \
         {statuses:?}"
    );
    w.check("half-heads from more addresses than slots");
}

/// 5 addresses, 14 connections each (under the per-peer cap of 16), each pipelining 60
/// `GET /metrics` with a 1 KiB receive buffer and reading nothing, reopened when the server
/// ends them: every connection sat in a blocked write, which was shed only once slow, and the
/// fair-share rule skipped writes, so scrapes from anyone else got a 503 (1 of 20 served).
/// Now the fair-share rule takes a write a quarter of a second old from the peer holding the
/// most; a scrape that comes while every write is younger is refused with a 503 and retried
/// as told (`Retry-After: 1`), and is then served. Connections count as young for ten minutes here (`--test-slow-after`), so only that
/// rule can let the scrapes in.
#[test]
fn pipelining_non_readers_on_five_peers_leave_scrapes_served() {
    const PEERS: usize = 5;
    const PER_PEER: usize = 14;
    const SCRAPES: usize = 20;
    let w = watched(&["--request-timeout", "120000", "--test-slow-after", "600000"]);
    let addr = w.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let ended = Arc::new(AtomicUsize::new(0));
    let open = move |from: &str| {
        let mut s = super::common::connect_with(addr, Some(from), Some(1024));
        s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = s.write_all(&b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(60));
        s
    };
    let attackers: Vec<_> = (0..PEERS)
        .map(|i| {
            let from = format!("127.0.0.{}", i + 2);
            let (stop, ended) = (stop.clone(), ended.clone());
            std::thread::spawn(move || {
                use std::os::fd::AsRawFd;
                let mut conns: Vec<TcpStream> = (0..PER_PEER).map(|_| open(&from)).collect();
                while !stop.load(Ordering::Relaxed) {
                    for c in &mut conns {
                        // Ended by the server (refused, shed or timed out), without reading
                        // the answers waiting in it.
                        let mut p = libc::pollfd {
                            fd: c.as_raw_fd(),
                            events: libc::POLLRDHUP,
                            revents: 0,
                        };
                        // SAFETY: one pollfd, on a socket this thread owns.
                        let n = unsafe { libc::poll(&mut p, 1, 0) };
                        if n == 1
                            && p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
                        {
                            ended.fetch_add(1, Ordering::Relaxed);
                            *c = open(&from);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    // The event: 70 connections do not fit in 64, so some were ended; the table is full.
    assert!(
        super::common::wait_until(60, || ended.load(Ordering::Relaxed)
            >= PEERS * PER_PEER - 64),
        "the attackers filled the table ({} ended)",
        ended.load(Ordering::Relaxed)
    );
    let (served, statuses) = while_attacked(attackers, &stop, SCRAPES, || {
        get_as_told(addr, "/metrics", None)
    });
    assert_eq!(
        served, SCRAPES,
        "scrapes from 127.0.0.1 served while {PEERS} peers hold {PER_PEER} never-read \
         pipelines each: {statuses:?}"
    );
    w.check("never-reading pipeliners from five peers");
}
