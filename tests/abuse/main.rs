//! Hostile input against the real binary: malformed and oversized requests, idle and slow
//! clients, floods, websocket abuse. After every case the server must still answer
//! `GET /system`, must not have panicked, and its thread count and resident memory must come back
//! near where they were before the case.
//!
//! Every server here runs with `--request-timeout 1000` so timeouts show within a second or two.
//! Deadlines only guard against hangs: nothing here asserts how fast the server is.

#[path = "../common/mod.rs"]
mod common;
mod fairness;
mod framing;
mod hosts;
mod sessions;
use common::{
    read_response, read_responses, read_until_closed, request, responses, wait_until, Resp, Server,
    Ws,
};
use serde_json::Value;
use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

/// `--request-timeout` of every server in this file, in ms.
const TIMEOUT_MS: u64 = 1000;
/// How long a refused connection may take to be answered and closed: the request timeout
/// plus a wide margin for a loaded machine. A guard against hangs, not a speed requirement.
const GUARD: Duration = Duration::from_secs(6);
/// Threads allowed above the baseline once a case is over (short-lived helpers).
const THREAD_SLACK: u64 = 2;
/// Resident memory allowed above the baseline once a case is over, in kB.
const RSS_SLACK_KB: u64 = 8 * 1024;

// ---------------------------------------------------------------------------------------------
// The server under watch

/// A server and the thread count and memory it had before the cases began.
struct Watched {
    s: Server,
    threads: u64,
    rss_kb: u64,
}

/// Starts a server with fast settings plus `extra` (which may set its own `--interval` or
/// `--request-timeout`), warms it up and records its baseline.
fn watched(extra: &[&str]) -> Watched {
    let timeout = TIMEOUT_MS.to_string();
    let mut b = Server::builder();
    for (flag, value) in [
        ("--interval", "200"),
        ("--request-timeout", timeout.as_str()),
    ] {
        if !extra.contains(&flag) {
            b = b.args(&[flag, value]);
        }
    }
    let s = b.args(extra).start();
    let r = s.first_answer("/system");
    assert_eq!(
        r.status,
        200,
        "the server serves /system after start-up: {}",
        r.text()
    );
    // A few of each kind of request, so lazily allocated state is part of the baseline.
    for path in ["/system", "/network", "/health", "/metrics", "/history"] {
        let _ = request(s.addr, "GET", path, &[], b"");
    }
    let _ = request(s.addr, "POST", "/", &[], b"{}");
    let threads = s.threads();
    let rss_kb = s.rss_kb();
    Watched { s, threads, rss_kb }
}

impl Watched {
    fn addr(&self) -> SocketAddr {
        self.s.addr
    }

    /// After a case: `/system` answers 200, nothing panicked, and threads and memory come back
    /// near the baseline (polled: idle connection threads take a few seconds to end).
    fn check(&self, case: &str) {
        let mut last = Err(String::new());
        let served = wait_until(10, || {
            last = get(self.addr(), "/system");
            last == Ok(200)
        });
        assert!(
            served,
            "after {case}: GET /system does not answer 200 (last: {last:?})\n{}",
            self.s.log()
        );
        let log = self.s.log();
        assert!(
            !log.contains("panicked"),
            "after {case}: the server panicked:\n{log}"
        );
        self.settles(case, "threads", 20, self.threads, THREAD_SLACK, || {
            self.s.threads()
        });
        self.settles(case, "kB resident", 10, self.rss_kb, RSS_SLACK_KB, || {
            self.s.rss_kb()
        });
    }

    /// Polls `now` for up to `secs` until it is back within `slack` of its `baseline`.
    fn settles(
        &self,
        case: &str,
        what: &str,
        secs: u64,
        baseline: u64,
        slack: u64,
        now: impl Fn() -> u64,
    ) {
        let mut last = 0;
        let back = wait_until(secs, || {
            last = now();
            last <= baseline + slack
        });
        assert!(
            back,
            "after {case}: {last} {what}, baseline {baseline} (+{slack} allowed)"
        );
    }
}

/// `GET path` on a fresh connection: the status, or what went wrong, with the bytes received.
fn get(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let sent = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    s.write_all(sent.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let (raw, closed) = read_until_closed(&mut s, GUARD);
    match responses(&raw).first() {
        Some(r) => Ok(r.status),
        None => Err(format!(
            "no response to GET {path}: received {} (connection {})",
            show(&raw),
            if closed { "closed" } else { "still open" }
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP

/// Connects with a write timeout, so a write the server stops reading cannot hang the test.
fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Writes `bytes` in chunks, stopping at the first error: a server that refuses early closes
/// (or resets) the connection while the client is still writing. True if all were written.
fn send(s: &mut TcpStream, bytes: &[u8]) -> bool {
    bytes.chunks(64 * 1024).all(|c| s.write_all(c).is_ok())
}

/// Connects and sends `bytes`.
fn send_new(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut s = connect(addr);
    send(&mut s, bytes);
    s
}

/// Bytes for a failure message: escaped, and cut in the middle when long.
fn show(b: &[u8]) -> String {
    if b.len() <= 400 {
        return format!("b\"{}\"", b.escape_ascii());
    }
    format!(
        "b\"{}\" ...({} bytes)... b\"{}\"",
        b[..200].escape_ascii(),
        b.len() - 300,
        b[b.len() - 100..].escape_ascii()
    )
}

/// True if `r` carries a JSON object with an `error` string.
fn is_json_error(r: &Resp) -> bool {
    serde_json::from_slice::<Value>(&r.body).is_ok_and(|v| v["error"].is_string())
}

/// Asserts the server answered one of `want` with a JSON error body and closed the connection.
fn assert_refused(s: &mut TcpStream, sent: &[u8], want: &[u16], case: &str) -> Resp {
    let (raw, closed) = read_until_closed(s, GUARD);
    let got = responses(&raw);
    let Some(r) = got.into_iter().next() else {
        panic!(
            "{case}: no HTTP response (want {want:?}).\n  sent: {}\n  received: {} (connection {})",
            show(sent),
            show(&raw),
            if closed { "closed" } else { "still open" }
        );
    };
    assert!(
        want.contains(&r.status),
        "{case}: status {} (want {want:?}).\n  sent: {}\n  received: {}",
        r.status,
        show(sent),
        show(&raw)
    );
    assert!(
        is_json_error(&r),
        "{case}: the {} has no JSON {{\"error\": ...}} body.\n  sent: {}\n  received: {}",
        r.status,
        show(sent),
        show(&raw)
    );
    assert!(
        closed,
        "{case}: the connection stayed open after the {}.\n  sent: {}\n  received: {}",
        r.status,
        show(sent),
        show(&raw)
    );
    // Only a 505 (tiny_http's own, for HTTP/2+ request lines) keeps the connection.
    assert!(
        r.status == 505
            || r.headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("connection")
                    && v.eq_ignore_ascii_case("close")),
        "{case}: the {} does not say `Connection: close`.\n  received: {}",
        r.status,
        show(&raw)
    );
    r
}

/// Asserts the server closes every one of `idle` (connections on which it owes no answer)
/// within one shared guard, saying nothing (or, at most, a JSON 408).
fn assert_all_closed_quietly(idle: &mut [TcpStream], case: &str) {
    let end = Instant::now() + GUARD;
    for (i, s) in idle.iter_mut().enumerate() {
        let left = end.saturating_duration_since(Instant::now());
        let (raw, closed) = read_until_closed(s, left.max(Duration::from_millis(100)));
        assert!(
            closed,
            "{case}: connection {i} of {} is still open {GUARD:?} later (received {})",
            idle.len(),
            show(&raw)
        );
        if !raw.is_empty() {
            let r = responses(&raw);
            assert!(
                r.len() == 1 && r[0].status == 408 && is_json_error(&r[0]),
                "{case}: connection {i} closed with {} instead of silently (or a JSON 408)",
                show(&raw)
            );
        }
    }
}

/// A small deterministic pseudo-random byte source (xorshift), so failures replay.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Malformed and oversized requests

#[test]
fn malformed_requests_get_a_json_400_and_are_closed() {
    let w = watched(&[]);
    let mut tls_hello = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03".to_vec();
    tls_hello.extend(noise(160, 7));
    tls_hello.extend_from_slice(b"\r\n\r\n");
    let mut random = noise(512, 42);
    random.extend_from_slice(b"\r\n\r\n");
    let mut nul = vec![0u8; 64];
    nul.extend_from_slice(b"\r\n\r\n");
    let bad: &[u16] = &[400];
    let cases: Vec<(&str, Vec<u8>, &[u16])> = vec![
        ("random bytes", random, bad),
        ("NUL bytes", nul, bad),
        ("a TLS ClientHello", tls_hello, bad),
        ("one word", b"HELLO\r\n\r\n".to_vec(), bad),
        ("no HTTP version", b"GET /system\r\n\r\n".to_vec(), bad),
        (
            "unknown HTTP version",
            b"GET /system HTTP/9.9\r\n\r\n".to_vec(),
            &[400, 505],
        ),
        (
            "invalid UTF-8 in the path",
            b"GET /sys\xfftem HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
            bad,
        ),
        (
            "non-ASCII UTF-8 in the path",
            "GET /syst\u{e9}m HTTP/1.1\r\nHost: localhost\r\n\r\n".into(),
            bad,
        ),
        (
            "invalid UTF-8 in the query",
            b"GET /system?processes=\xff\xfe HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
            bad,
        ),
        (
            "invalid UTF-8 in a header",
            b"GET /system HTTP/1.1\r\nHost: localhost\r\nX-Name: \xc3\x28\r\n\r\n".to_vec(),
            bad,
        ),
        (
            "non-ASCII UTF-8 in a header",
            "GET /system HTTP/1.1\r\nHost: localhost\r\nX-Name: caf\u{e9}\r\n\r\n".into(),
            bad,
        ),
        (
            "a header line without a colon",
            b"GET /system HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n".to_vec(),
            bad,
        ),
    ];
    for (case, bytes, want) in &cases {
        let mut s = send_new(w.addr(), bytes);
        assert_refused(&mut s, bytes, want, case);
        w.check(case);
    }

    // Garbage that never ends a line: refused at its first byte that is not ASCII.
    let endless: Vec<u8> = noise(300, 9)
        .into_iter()
        .map(|b| if b == b'\r' || b == b'\n' { b'x' } else { b })
        .collect();
    let mut s = send_new(w.addr(), &endless);
    assert_refused(&mut s, &endless, &[400], "garbage without a line end");
    w.check("garbage without a line end");

    // Bare LF line endings: served (lenient parsing), refused, or timed out; never left hanging.
    let bare = b"GET /system HTTP/1.1\nHost: localhost\nConnection: close\n\n";
    let mut s = send_new(w.addr(), bare);
    let (raw, closed) = read_until_closed(&mut s, GUARD);
    let status = responses(&raw).first().map(|r| r.status);
    assert!(
        closed && matches!(status, Some(200 | 400 | 408)),
        "bare LF line endings: got {} (connection {}); want 200, 400 or 408 and a close",
        show(&raw),
        if closed { "closed" } else { "still open" }
    );
    w.check("bare LF line endings");
}

#[test]
fn percent_encoded_invalid_utf8_is_a_400_naming_the_parameter() {
    let w = watched(&[]);
    for (path, parameter) in [
        ("/system?processes=%ff", "processes"),
        ("/system?processes=%c3%28", "processes"),
        ("/system?sort=%ff%fe", "sort"),
        ("/history?seconds=%e2%82", "seconds"),
        ("/connect?stream=%ff", "stream"),
    ] {
        let r = request(w.addr(), "GET", path, &[], b"");
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert_eq!(r.json()["parameter"], parameter, "{path}");
        assert!(r.json()["error"].is_string(), "{path}");
    }
    // Unknown parameters, however encoded, are ignored; an encoded path is simply not found.
    assert_eq!(
        request(w.addr(), "GET", "/system?%ff%fe=%ff", &[], b"").status,
        200
    );
    let r = request(w.addr(), "GET", "/%ff%fe", &[], b"");
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(is_json_error(&r));
    w.check("percent-encoded invalid UTF-8");
}

/// `GET /system` with `fields` extra header fields of `size` bytes each.
fn head_with(fields: usize, make: impl Fn(usize) -> String) -> Vec<u8> {
    let mut head = String::from("GET /system HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for i in 0..fields {
        head.push_str(&make(i));
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

#[test]
fn oversized_heads_get_a_json_431_and_are_closed() {
    let w = watched(&[]);
    let big_value = format!("X-Big: {}", "a".repeat(1 << 20));
    let cases: Vec<(&str, Vec<u8>, &[u16])> = vec![
        ("a 1 MB header", head_with(1, |_| big_value.clone()), &[431]),
        (
            "10 000 headers",
            head_with(10_000, |i| format!("X-H{i}: v")),
            &[431],
        ),
        (
            "101 header fields in under 1 KiB",
            head_with(99, |i| format!("h{i}:1")),
            &[431],
        ),
        (
            "a 1 MB request line",
            format!(
                "GET /system?x={} HTTP/1.1\r\nHost: localhost\r\n\r\n",
                "a".repeat(1 << 20)
            )
            .into_bytes(),
            &[414, 431],
        ),
    ];
    for (case, bytes, want) in &cases {
        let mut s = connect(w.addr());
        send(&mut s, bytes);
        assert_refused(&mut s, &bytes[..bytes.len().min(2000)], want, case);
        w.check(case);
    }
    // Within the limits: 100 fields, and a 12 KiB head, are served.
    for (case, bytes) in [
        ("100 header fields", head_with(98, |i| format!("h{i}:1"))),
        (
            "a 12 KiB header",
            head_with(1, |_| format!("X-Big: {}", "a".repeat(12 * 1024))),
        ),
    ] {
        let mut s = send_new(w.addr(), &bytes);
        let (raw, _) = read_until_closed(&mut s, GUARD);
        let status = responses(&raw).first().map(|r| r.status);
        assert_eq!(status, Some(200), "{case}: {}", show(&raw));
    }
    w.check("heads within the limits");
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.0, pipelining, keep-alive

#[test]
fn http10_and_pipelined_requests_are_answered_in_order() {
    let w = watched(&[]);

    let sent = b"GET /system HTTP/1.0\r\n\r\n";
    let mut s = send_new(w.addr(), sent);
    let (raw, closed) = read_until_closed(&mut s, GUARD);
    let r = responses(&raw);
    assert!(
        r.len() == 1 && r[0].status == 200 && closed,
        "HTTP/1.0: want one 200 and a close, got {} (closed: {closed})",
        show(&raw)
    );
    assert!(serde_json::from_slice::<Value>(&r[0].body).unwrap()["cpu"].is_object());

    let sent = b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}";
    let mut s = send_new(w.addr(), sent);
    let (raw, closed) = read_until_closed(&mut s, GUARD);
    let r = responses(&raw);
    assert!(
        r.len() == 1 && r[0].status == 200 && closed,
        "HTTP/1.0 POST: {}",
        show(&raw)
    );
    w.check("HTTP/1.0");

    // Three requests in one write: three responses, in order; the last closes.
    let sent = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n\
GET /system?processes=2 HTTP/1.1\r\nHost: localhost\r\n\r\n\
GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let mut s = send_new(w.addr(), sent);
    let (raw, closed) = read_until_closed(&mut s, GUARD);
    let r = responses(&raw);
    let statuses: Vec<u16> = r.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 404], "pipelined: {}", show(&raw));
    assert!(closed, "pipelined: closed after Connection: close");
    assert_eq!(r[0].json()["status"], "ok");
    assert_eq!(r[1].json()["processes"].as_array().unwrap().len(), 2);
    assert_eq!(r[2].json()["path"], "/nope");

    // Three POSTs with bodies: the bodies are framed right, each gets its own worker.
    let one = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nabcde";
    let mut sent = one.repeat(2);
    sent.extend_from_slice(
        b"POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 3\r\n\r\nxyz",
    );
    let mut s = send_new(w.addr(), &sent);
    let (raw, _) = read_until_closed(&mut s, GUARD);
    let ids: Vec<String> = responses(&raw)
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "pipelined POSTs: {}", show(&raw));
    assert!(ids.iter().all(|i| i.len() == 36) && ids[0] != ids[1] && ids[1] != ids[2]);
    w.check("pipelined requests");

    // A bad request in the middle: the one before is answered, the bad one gets 400, and the
    // connection ends there (where the next request would start is unknown).
    let sent = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\nBAD\xff\r\n\r\nGET /system HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut s = send_new(w.addr(), sent);
    let (raw, closed) = read_until_closed(&mut s, GUARD);
    let r = responses(&raw);
    let statuses: Vec<u16> = r.iter().map(|r| r.status).collect();
    assert!(
        statuses == [200, 400] && closed && is_json_error(&r[1]),
        "pipelined with garbage: want [200, 400] and a close.\n  sent: {}\n  received: {} (closed: {closed})",
        show(sent),
        show(&raw)
    );
    w.check("pipelined garbage");

    // Keep-alive: after the pipelined answers, an idle connection is closed silently.
    let sent = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\nGET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut s = send_new(w.addr(), sent);
    let statuses: Vec<u16> = read_responses(&mut s, 2, GUARD)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 200], "keep-alive responses");
    assert_all_closed_quietly(&mut [s], "an idle keep-alive connection");
    w.check("keep-alive idle");
}

// ---------------------------------------------------------------------------------------------
// Idle, slow and many connections

#[test]
fn connecting_and_disconnecting_500_times_leaves_no_trace() {
    let w = watched(&[]);
    for i in 0..500 {
        let mut s = TcpStream::connect(w.addr()).expect("connect");
        match i % 4 {
            0 => {}
            1 => {
                let _ = s.write_all(b"GET /sys");
            }
            2 => {
                // A whole request, then gone before the answer.
                let _ = s.write_all(b"GET /system HTTP/1.1\r\nHost: localhost\r\n\r\n");
            }
            _ => {
                let _ = s.write_all(
                    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{",
                );
            }
        }
        drop(s);
    }
    w.check("500 connects and disconnects");
}

#[test]
fn idle_connections_do_not_hold_up_other_requests() {
    let w = watched(&[
        "--max-connections",
        "300",
        "--max-connections-per-peer",
        "300",
    ]);
    let mut idle: Vec<TcpStream> = (0..200).map(|_| connect(w.addr())).collect();
    // Served while 200 connections sit there saying nothing.
    assert_eq!(
        get(w.addr(), "/system"),
        Ok(200),
        "with 200 idle\n{}",
        w.s.log()
    );
    assert_eq!(request(w.addr(), "POST", "/", &[], b"").status, 200);
    assert_eq!(get(w.addr(), "/health"), Ok(200));
    // Each is closed once it has been idle for the request timeout, without a word.
    assert_all_closed_quietly(&mut idle, "200 idle connections");
    drop(idle);
    w.check("200 idle connections");
}

/// The head and one byte of a 100-byte body: a client trickling its body.
const SLOW_BODY: &[u8] = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{";

#[test]
fn past_max_connections_idle_and_slow_ones_are_shed_young_ones_refuse() {
    // Slow clients stay "young" (not to be shed) for ten minutes here instead of a second
    // (`--test-slow-after`), so that the refusals below do not depend on how quickly the
    // machine set them up. `a_slow_body_past_a_second_is_shed_for_a_newcomer` checks the
    // second itself.
    let w = watched(&[
        "--max-connections",
        "8",
        "--request-timeout",
        "3000",
        "--test-slow-after",
        "600000",
    ]);
    // Websocket sessions are not counted as connections: ten of them leave room for requests.
    let sessions: Vec<Ws> = (0..10).map(|_| session(&w)).collect();
    assert_eq!(
        get(w.addr(), "/system"),
        Ok(200),
        "with 10 websocket sessions open and --max-connections 8"
    );
    // Eight idle connections fill the table; newcomers take their places once they have been
    // idle for 100 ms (a younger one may be a new connection whose request is on its way):
    // each newcomer is retried until then, and a refused one sheds nothing.
    let mut idle: Vec<TcpStream> = (0..8).map(|_| connect(w.addr())).collect();
    for case in ["the 9th connection", "the 10th connection"] {
        assert!(
            wait_until(10, || get(w.addr(), "/system") == Ok(200)),
            "{case} sheds an idle one"
        );
    }
    // A shed connection's socket was shut down before its newcomer was served: closed now.
    let shed = idle
        .iter_mut()
        .map(|s| read_until_closed(s, Duration::from_millis(500)).1)
        .filter(|closed| *closed)
        .count();
    assert!(
        shed >= 2,
        "newcomers took the places of idle connections ({shed} closed)"
    );
    drop(idle);
    // Eight clients that sent a head and one byte of a body: young, so none may be shed,
    // and newcomers get a 503 (none given a thread).
    let mut busy: Vec<TcpStream> = (0..8).map(|_| send_new(w.addr(), SLOW_BODY)).collect();
    let sent = b"GET /system HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let crowd: Vec<TcpStream> = (0..20).map(|_| send_new(w.addr(), sent)).collect();
    // README's bound: 6 (main, accept, sampler, registry, signals, statfs) + --threads (4) +
    // max(--max-connections, 4) + sessions, plus a short-lived `iw` helper.
    let bound = 6 + 4 + 8 + 10 + 1;
    let threads = w.s.threads();
    assert!(
        threads <= bound,
        "{threads} threads with 8 connections, 20 more and 10 sessions; the bound is {bound}"
    );
    for mut s in crowd {
        assert_refused(
            &mut s,
            sent,
            &[503],
            "a newcomer while the slow bodies are young",
        );
    }
    // The slow bodies time out (silently, or a JSON 408), and new connections are served again.
    assert_all_closed_quietly(&mut busy, "slow bodies at the cap");
    drop(busy);
    assert!(
        wait_until(10, || get(w.addr(), "/system") == Ok(200)),
        "served again after the slow bodies timed out"
    );
    drop(sessions);
    assert!(wait_until(10, || w.s.clients() == 0), "sessions closed");
    w.check("the connection cap");
}

#[test]
fn a_slow_body_past_a_second_is_shed_for_a_newcomer() {
    let w = watched(&["--max-connections", "2", "--request-timeout", "5000"]);
    let mut busy: Vec<TcpStream> = (0..2).map(|_| send_new(w.addr(), SLOW_BODY)).collect();
    // Newcomers are refused until one of the bodies has trickled for a second, then one takes
    // the slowest's place (polled: the event is the first 200, whenever it comes).
    assert!(
        wait_until(10, || get(w.addr(), "/system") == Ok(200)),
        "a slow body is shed for a newcomer\n{}",
        w.s.log()
    );
    // The shed one's socket was shut down before the newcomer was served, after a 503 that
    // says so (its request was never processed: it may retry); the other is open.
    let shed = busy
        .iter_mut()
        .map(|s| read_until_closed(s, Duration::from_millis(200)))
        .filter(|(raw, closed)| {
            *closed
                && responses(raw).first().is_some_and(|r| r.status == 503)
                && show(raw).contains("shed for another client")
        })
        .count();
    assert_eq!(shed, 1, "one newcomer, one slow body shed");
    // The other times out (a JSON 408).
    assert_all_closed_quietly(&mut busy, "a slow body at the cap");
    drop(busy);
    w.check("slow bodies past a second");
}

/// Sends `head`, then one byte of `trickle` every 300 ms, until the server answers or closes.
/// Returns what the server sent and whether it closed (false: still open when `guard` passed).
fn trickle(addr: SocketAddr, head: &[u8], trickle: u8, guard: Duration) -> (Vec<u8>, bool) {
    let mut s = connect(addr);
    let _ = s.write_all(head);
    let end = Instant::now() + guard;
    let mut out = Vec::new();
    while Instant::now() < end {
        let (got, closed) = read_until_closed(&mut s, Duration::from_millis(300));
        out.extend(got);
        if closed {
            return (out, true);
        }
        if s.write_all(&[trickle]).is_err() {
            // Closed under us; collect whatever was answered first.
            let (rest, _) = read_until_closed(&mut s, Duration::from_secs(1));
            out.extend(rest);
            return (out, true);
        }
    }
    (out, false)
}

#[test]
fn slow_clients_get_a_json_408_and_are_closed() {
    let w = watched(&[]);
    let addr = w.addr();
    let guard = Duration::from_secs(8);
    let slow_head = std::thread::spawn(move || {
        trickle(
            addr,
            b"GET /system HTTP/1.1\r\nHost: localhost\r\nX-Slow: ",
            b'a',
            guard,
        )
    });
    let slow_body = std::thread::spawn(move || {
        trickle(
            addr,
            b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{\"a\": \"",
            b'b',
            guard,
        )
    });
    // Meanwhile everyone else is served. (The sleep only spreads the three requests over the
    // trickle; no check depends on its length.)
    for _ in 0..3 {
        assert_eq!(get(addr, "/system"), Ok(200), "during slowloris");
        std::thread::sleep(Duration::from_millis(300));
    }
    for (case, t) in [
        ("headers one byte per 300 ms", slow_head),
        ("a body one byte per 300 ms", slow_body),
    ] {
        let (raw, closed) = t.join().unwrap();
        assert!(
            closed,
            "{case}: still open after {guard:?} (received {})",
            show(&raw)
        );
        let r = responses(&raw);
        assert!(
            r.len() == 1 && r[0].status == 408 && is_json_error(&r[0]),
            "{case}: want a JSON 408, got {}",
            show(&raw)
        );
        w.check(case);
    }
}

/// `n` pipelined `POST /`s in one write, the last one closing the connection if `close`.
fn posts(n: usize, close: bool) -> Vec<u8> {
    let one: &[u8] = b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n";
    let mut out = one.repeat(n - 1);
    if close {
        out.extend_from_slice(
            b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    } else {
        out.extend_from_slice(one);
    }
    out
}

#[test]
fn a_flood_of_post_is_capped_at_1024_pending_workers() {
    // One client here: lift its own cap to reach the global one. Workers live 20 s instead of
    // 3 so that none expires before the cap is reached, however slow the machine: the checks
    // below are exact, not loosened by how long the POSTs took.
    let w = watched(&[
        "--max-pending-per-peer",
        "5000",
        "--test-worker-ttl",
        "20000",
    ]);
    // 1 100 POSTs on one keep-alive connection, pipelined 100 at a time (fewer than the 256
    // requests the handler queue holds, so only the worker cap can refuse them).
    // watched() left a worker or so pending; they count against the cap too.
    let already = w.s.pending_workers() as usize;
    let cap = 1024 - already;
    let began = Instant::now();
    let mut s = connect(w.addr());
    let mut r = Vec::new();
    for batch in 0..11 {
        assert!(send(&mut s, &posts(100, false)), "batch {batch} sent");
        let got = read_responses(&mut s, 100, Duration::from_secs(10));
        assert_eq!(got.len(), 100, "batch {batch}: one answer per POST");
        r.extend(got);
    }
    let took = began.elapsed();
    drop(s);
    let ok: Vec<String> = r
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.json()["id"].as_str().unwrap_or("").to_owned())
        .collect();
    let mut distinct = ok.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), ok.len(), "every worker id is new");
    assert!(ok.iter().all(|id| id.len() == 36), "ids are UUIDs");
    assert!(
        r.iter().all(|r| r.status == 200 || r.status == 503),
        "only 200 and 503"
    );
    assert!(
        r.iter().filter(|r| r.status == 503).all(is_json_error),
        "the 503s are JSON errors"
    );
    let first_refusal = r.iter().position(|r| r.status == 503);
    // No worker expired meanwhile: exactly the cap was granted, then only refusals.
    assert_eq!(
        first_refusal,
        Some(cap),
        "with {already} pending before, POST number {} is the first refused ({took:?})",
        cap + 1
    );
    assert!(r[cap..].iter().all(|r| r.status == 503));
    assert!(w.s.pending_workers() <= 1024.0);

    // Then a real flood: 1 100 more in one write. Every one is refused (the cap, or the full
    // handler queue), and nothing grows.
    let sent = posts(1100, true);
    let mut s = connect(w.addr());
    let writer = {
        let mut s = s.try_clone().unwrap();
        std::thread::spawn(move || send(&mut s, &sent))
    };
    let (raw, closed) = read_until_closed(&mut s, Duration::from_secs(20));
    let _ = writer.join();
    let burst = responses(&raw);
    assert!(closed, "the flood's connection ends after its last request");
    assert_eq!(burst.len(), 1100, "one answer per POST");
    let granted = burst.iter().filter(|r| r.status == 200).count();
    assert!(
        burst
            .iter()
            .all(|r| r.status == 200 || (r.status == 503 && is_json_error(r))),
        "only 200 and JSON 503"
    );
    assert_eq!(granted, 0, "workers granted past the cap");
    assert!(w.s.pending_workers() <= 1024.0);
    // Once they expire, workers are granted again.
    assert!(
        wait_until(40, || request(w.addr(), "POST", "/", &[], b"").status
            == 200),
        "POST / works again after the flood's workers expired"
    );
    w.check("a flood of POST /");
}

/// Answers to pipelined requests are written in order, each by the handler thread that made
/// it; a client that pipelines many requests and reads nothing must not leave every handler
/// thread (and the request loop, which answers 503 when the queue is full) waiting for its
/// turn to write to that one socket.
#[test]
fn a_pipelining_client_that_never_reads_does_not_stall_others() {
    let w = watched(&[]);
    // 2 000 requests for large answers in one go, and not a byte of them read back.
    let hog = common::connect_with(w.addr(), None, Some(4096));
    let sent = b"GET /system?processes=100 HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(2000);
    let writer = {
        let mut s = hog.try_clone().unwrap();
        std::thread::spawn(move || send(&mut s, &sent))
    };
    // Wait until the server has taken the requests in and is answering into the socket: 2 kB
    // of answers unread (an answer is larger; the socket holds a few kB, then writes block).
    hog.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut peeked = [0u8; 4096];
    assert!(
        wait_until(10, || hog.peek(&mut peeked).is_ok_and(|n| n >= 2048)),
        "the server answers the pipelining client"
    );
    for i in 0..3 {
        let got = get(w.addr(), "/health");
        assert!(
            matches!(got, Ok(200 | 503)),
            "request {i} from another client while one pipelines without reading: {got:?}\n\
             (the other client sent b\"GET /system?processes=100 HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n\" x 2000 \
             with SO_RCVBUF 4096 and read nothing)"
        );
    }
    let _ = hog.shutdown(std::net::Shutdown::Both);
    drop(hog);
    let _ = writer.join();
    w.check("a pipelining client that never reads");
}

// ---------------------------------------------------------------------------------------------
// Websocket abuse

/// Opens a session (a worker, then the handshake) and reads the greeting.
fn session(w: &Watched) -> Ws {
    session_on(w, TcpStream::connect(w.addr()).unwrap())
}

/// Opens a session over `tcp`, a fresh connection to the server.
fn session_on(w: &Watched, tcp: TcpStream) -> Ws {
    let id = w.s.worker();
    let mut ws = common::ws_handshake(tcp, &format!("/connect?id={id}"));
    let tcp = ws.get_ref();
    tcp.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    tcp.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let end = Instant::now() + GUARD;
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => {
                assert_eq!(t.as_str(), "connected to monitor, transmitting data...");
                return ws;
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
                    && Instant::now() < end => {}
            Err(e) => panic!("no greeting: {e}"),
        }
    }
}

/// A client frame: `first` is FIN/RSV/opcode, the payload masked with `mask` if given.
fn frame(first: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut f = vec![first];
    let bit = if mask.is_some() { 0x80 } else { 0 };
    frame_length(&mut f, bit, payload.len() as u64);
    if let Some(m) = mask {
        f.extend_from_slice(&m);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ m[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

fn frame_length(f: &mut Vec<u8>, mask_bit: u8, len: u64) {
    if len < 126 {
        f.push(mask_bit | len as u8);
    } else if len <= 0xffff {
        f.push(mask_bit | 126);
        f.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        f.push(mask_bit | 127);
        f.extend_from_slice(&len.to_be_bytes());
    }
}

const MASK: Option<[u8; 4]> = Some([0x37, 0xfa, 0x21, 0x3d]);

/// Reads until the server ends the session: `Some(code)` for a close frame (1005 if it had no
/// code), `None` when the connection just ended. Panics if the session still streams after
/// the guard.
fn end_of(ws: &mut Ws, case: &str) -> Option<CloseCode> {
    let end = Instant::now() + GUARD;
    loop {
        match ws.read() {
            Ok(Message::Close(f)) => return Some(f.map_or(CloseCode::Status, |f| f.code)),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return None,
        }
        assert!(
            Instant::now() < end,
            "{case}: the session is still open {GUARD:?} later"
        );
    }
}

#[test]
fn bad_websocket_handshakes_get_400_or_426() {
    let w = watched(&[]);
    let id = w.s.worker();
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let v13 = "Sec-WebSocket-Version: 13\r\n";
    for (case, extra) in [
        ("no key", v13.to_owned()),
        (
            "a malformed key",
            format!("{v13}Sec-WebSocket-Key: not base64!\r\n"),
        ),
        (
            "a key of the wrong length",
            format!("{v13}Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n"),
        ),
        ("version 8", format!("{key}Sec-WebSocket-Version: 8\r\n")),
        ("no version", key.to_owned()),
        (
            "a version that is not a number",
            format!("{key}Sec-WebSocket-Version: thirteen\r\n"),
        ),
    ] {
        let sent = format!(
            "GET /connect?id={id} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{extra}\r\n"
        );
        let mut s = send_new(w.addr(), sent.as_bytes());
        let r = read_response(&mut s, GUARD).unwrap_or_else(|| panic!("{case}: no answer"));
        assert!(
            matches!(r.status, 400 | 426) && is_json_error(&r),
            "{case}: {} {}",
            r.status,
            r.text()
        );
        w.check(case);
    }
    // No Upgrade header at all: a plain GET of the websocket path.
    let r = request(w.addr(), "GET", &format!("/connect?id={id}"), &[], b"");
    assert!(matches!(r.status, 400 | 426) && is_json_error(&r));
    // A good handshake still works afterwards.
    let mut ws = session(&w);
    ws.close(None).unwrap();
    assert!(wait_until(10, || w.s.clients() == 0));
    w.check("bad handshakes");
}

#[test]
fn protocol_violations_end_the_session() {
    let w = watched(&[]);
    // Random bytes behind a header that announces an impossible (> 2^63) length.
    let mut random = vec![0xff, 0xff];
    random.extend(noise(256, 3));
    random[2] |= 0x80;
    let protocol: &[CloseCode] = &[CloseCode::Protocol];
    let cases: Vec<(&str, Vec<u8>, &[CloseCode])> = vec![
        (
            "an unmasked text frame",
            frame(0x81, b"hello", None),
            protocol,
        ),
        ("a reserved opcode", frame(0x83, b"hello", MASK), protocol),
        ("a reserved bit", frame(0xc1, b"hello", MASK), protocol),
        (
            "a ping over 125 bytes",
            frame(0x89, &[b'p'; 126], MASK),
            protocol,
        ),
        (
            "a continuation with nothing to continue",
            frame(0x80, b"x", MASK),
            protocol,
        ),
        (
            "random bytes",
            random,
            &[CloseCode::Protocol, CloseCode::Size],
        ),
    ];
    for (case, bytes, want) in cases {
        let mut ws = session(&w);
        ws.get_mut().write_all(&bytes).unwrap();
        let code = end_of(&mut ws, case);
        assert!(
            code.is_some_and(|c| want.contains(&c)),
            "{case}: closed with {code:?}, want a close frame with one of {want:?}"
        );
        eprintln!("{case}: session ended with {code:?}");
        assert!(
            wait_until(10, || w.s.clients() == 0),
            "{case}: session gone"
        );
        w.check(case);
    }
}

#[test]
fn a_16_mb_frame_is_refused_without_being_read() {
    let w = watched(&[]);
    let peak_before = w.s.status_field("VmHWM");
    let mut ws = session(&w);
    // The header of a 16 MB binary frame, then the payload from another thread.
    let mut head = vec![0x82];
    frame_length(&mut head, 0x80, 16 << 20);
    head.extend_from_slice(&[0, 0, 0, 0]);
    ws.get_mut().write_all(&head).unwrap();
    let mut raw = ws.get_ref().try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![0u8; 64 * 1024];
        let mut sent = 0usize;
        while sent < 16 << 20 && raw.write_all(&chunk).is_ok() {
            sent += chunk.len();
        }
        sent
    });
    let code = end_of(&mut ws, "a 16 MB frame");
    assert_eq!(
        code,
        Some(CloseCode::Size),
        "a 16 MB frame: want a 1009 close"
    );
    drop(ws);
    let sent = writer.join().unwrap();
    eprintln!("16 MB frame: session ended with {code:?} after the client wrote {sent} bytes");
    let peak = w.s.status_field("VmHWM");
    assert!(
        peak < peak_before + 8 * 1024,
        "peak resident memory rose from {peak_before} kB to {peak} kB: the frame was buffered"
    );
    assert!(wait_until(10, || w.s.clients() == 0));
    w.check("a 16 MB frame");

    // A message over 64 KiB in fragments under it is refused too.
    let mut ws = session(&w);
    let part = vec![b'x'; 40_000];
    let mut bytes = frame(0x01, &part, MASK);
    bytes.extend(frame(0x00, &part, MASK));
    bytes.extend(frame(0x80, &part, MASK));
    let _ = ws.get_mut().write_all(&bytes);
    let code = end_of(&mut ws, "a fragmented 120 kB message");
    assert_eq!(
        code,
        Some(CloseCode::Size),
        "a fragmented 120 kB message: want a 1009 close"
    );
    assert!(wait_until(10, || w.s.clients() == 0));

    // Just under the cap is fine, and answered.
    let mut ws = session(&w);
    let text = "y".repeat(60_000);
    ws.send(Message::text(text.clone())).unwrap();
    let want = format!("message received {text}");
    let end = Instant::now() + GUARD;
    loop {
        match ws.read() {
            Ok(Message::Text(t)) if t.as_str() == want => break,
            Ok(Message::Text(_)) => {}
            Ok(m) => panic!("60 kB message: got {m:?}"),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("60 kB message: {e}"),
        }
        assert!(Instant::now() < end, "60 kB message not answered");
    }
    ws.close(None).unwrap();
    assert!(wait_until(10, || w.s.clients() == 0));
    w.check("messages at the frame cap");
}

#[test]
fn a_client_that_stops_reading_harms_no_one_and_is_dropped() {
    let w = watched(&[]);
    // The well-behaved session, read on a thread that records each frame's sample time.
    let mut good = session(&w);
    let stamps = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stamps, done) = (Arc::clone(&stamps), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                match good.read() {
                    Ok(Message::Text(t)) => {
                        if let Ok(v) = serde_json::from_str::<Value>(t.as_str()) {
                            if let Some(ts) = v["timestamp"].as_f64() {
                                stamps.lock().unwrap().push(ts);
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(e) => panic!("the good session ended: {e}"),
                }
            }
            let _ = good.close(None);
            let _ = good.flush();
        })
    };

    // The stalled session: it never reads, and sends 60 kB texts the server answers with
    // 60 kB each, so the server's writes to it block within a few megabytes.
    let stalled = session_on(&w, common::connect_with(w.addr(), None, Some(4096)));
    let mut raw = stalled.get_ref().try_clone().unwrap();
    raw.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let message = frame(0x81, &[b'z'; 60_000], MASK);
    let end = Instant::now() + Duration::from_secs(20);
    while raw.write_all(&message).is_ok() {
        assert!(
            Instant::now() < end,
            "the server kept reading a client that never reads"
        );
    }
    // The server no longer reads from it: its session is blocked writing.
    let stalled_at = Instant::now();
    let rss_stalled = w.s.rss_kb();
    let before = stamps.lock().unwrap().len();
    assert!(
        wait_until(10, || stamps.lock().unwrap().len() >= before + 5),
        "the good session keeps receiving frames while the other is stalled"
    );
    {
        let s = stamps.lock().unwrap();
        assert!(
            s.windows(2).all(|p| p[1] > p[0]),
            "fresh, ordered samples: {s:?}"
        );
    }
    let rss = w.s.rss_kb();
    assert!(
        rss < rss_stalled + 4 * 1024,
        "memory grew from {rss_stalled} kB to {rss} kB behind a stalled client"
    );
    // Dropped at the write timeout (10 s), the other session still there. The guard is wide:
    // the timeout is per socket write, so a write that got part of a frame out before the
    // socket filled takes one timeout to return that part and another to fail, and the drop
    // comes 10 to 30 s after the stall (strace: a 10.08 s sendto returning 51099 bytes, then
    // a 10.24 s one returning EAGAIN).
    assert!(
        wait_until(40, || w.s.clients() == 1),
        "the stalled session is still there {:?} after it stalled\n{}",
        stalled_at.elapsed(),
        w.s.log()
    );
    eprintln!(
        "stalled session dropped {:?} after the stall was seen",
        stalled_at.elapsed()
    );
    let before = stamps.lock().unwrap().len();
    assert!(wait_until(10, || stamps.lock().unwrap().len() >= before + 2));
    done.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    drop(stalled);
    assert!(wait_until(10, || w.s.clients() == 0));
    w.check("a client that stops reading");
}
