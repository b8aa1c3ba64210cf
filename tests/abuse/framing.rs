//! Request framing: HTTP/2 bytes, ambiguous framing (request smuggling), the standard forms
//! that must be served, `HEAD` on the websocket paths, and bursts of connections.

use super::common::{read_response, read_until_closed, responses};
use super::{assert_refused, connect, get, send_new, show, watched, GUARD};
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

/// `curl --http2-prior-knowledge` and the h2c preface: a `505` at once and the slot freed, so
/// more of them than `--max-connections` never lock anyone out.
#[test]
fn http2_request_lines_get_505_and_free_their_slot() {
    let w = watched(&["--max-connections", "8"]);
    let prior = b"GET /health HTTP/2.0\r\nHost: localhost\r\n\r\n".to_vec();
    // What curl --http2-prior-knowledge sends first: the preface, then a SETTINGS frame.
    let mut preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    preface.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    for round in 0..40 {
        for sent in [&prior, &preface] {
            let mut s = send_new(w.addr(), sent);
            assert_refused(&mut s, sent, &[505], &format!("round {round}"));
        }
    }
    // Forty rounds of two are ten times the cap: had any kept its slot, this would be a 503.
    assert_eq!(get(w.addr(), "/health"), Ok(200));
    w.check("HTTP/2 request lines");
}

/// Every ambiguous framing of RFC 9112 is refused with a JSON 400 (501 for an unsupported
/// coding) and the connection closed: nothing after it can be read as a second request.
#[test]
fn ambiguous_framing_is_refused_and_closed() {
    let w = watched(&[]);
    let smuggled = "GET /system HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let cases: Vec<(&str, String, u16)> = vec![
        ("two Content-Lengths", format!("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 44\r\n\r\nhello{smuggled}"), 400),
        ("the same Content-Length twice", "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello".into(), 400),
        ("Content-Length: abc", format!("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n{smuggled}"), 400),
        ("Content-Length: -1", format!("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n{smuggled}"), 400),
        ("Content-Length: +5", "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: +5\r\n\r\nhello".into(), 400),
        ("Content-Length: 5, 5", "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5, 5\r\n\r\nhello".into(), 400),
        ("Content-Length: 2^64", format!("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 18446744073709551616\r\n\r\n{smuggled}"), 400),
        ("Transfer-Encoding with Content-Length", format!("POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n{smuggled}"), 400),
        ("Transfer-Encoding: xchunked", format!("POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n{smuggled}"), 400),
        ("Transfer-Encoding: gzip", format!("POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n{smuggled}"), 400),
        ("Transfer-Encoding: gzip, chunked", "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".into(), 501),
        ("Transfer-Encoding on HTTP/1.0", format!("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"), 400),
        ("an obs-fold line", format!("POST / HTTP/1.1\r\nHost: localhost\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"), 400),
        ("white space before the colon", "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length : 5\r\n\r\nhello".into(), 400),
        ("a bare CR", format!("GET /system HTTP/1.1\r\nHost: localhost\rX-A: b\r\n\r\n{smuggled}"), 400),
        ("no Host on HTTP/1.1", "GET /system HTTP/1.1\r\n\r\n".into(), 400),
        ("two Hosts", "GET /system HTTP/1.1\r\nHost: localhost\r\nHost: 127.0.0.1\r\n\r\n".into(), 400),
        ("a malformed chunk size", format!("POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{smuggled}"), 400),
    ];
    for (case, sent, want) in &cases {
        let mut s = send_new(w.addr(), sent.as_bytes());
        let r = assert_refused(&mut s, sent.as_bytes(), &[*want], case);
        assert!(r.status == *want, "{case}");
    }
    w.check("ambiguous framing");
}

/// Standard forms the original refused: an absolute-form target (as proxies send) and a
/// chunked body with extensions and a trailer; and one empty line before a request.
#[test]
fn absolute_form_and_trailers_are_served() {
    let w = watched(&[]);
    let addr = w.addr();
    let cases = [
        format!("GET http://{addr}/health HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n"),
        format!("GET HTTP://{addr}/system?processes=2 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
        "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2;x=y\r\n{}\r\n0\r\nX-Checksum: 1\r\nX-More: 2\r\n\r\n".into(),
        "\r\nGET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".into(),
    ];
    for sent in &cases {
        let mut s = send_new(addr, sent.as_bytes());
        let (raw, closed) = read_until_closed(&mut s, GUARD);
        let r = responses(&raw);
        assert!(
            closed && r.len() == 1 && r[0].status == 200,
            "sent {}: got {}",
            show(sent.as_bytes()),
            show(&raw)
        );
    }
    // The absolute-form target's authority is the Host: a foreign one is refused like a
    // foreign Host header.
    let sent = b"GET http://evil.example/system HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut s = send_new(addr, sent);
    let (raw, _) = read_until_closed(&mut s, GUARD);
    assert_eq!(
        responses(&raw).first().map(|r| r.status),
        Some(403),
        "{}",
        show(&raw)
    );
    w.check("absolute-form and trailers");
}

/// `HEAD /ws` and `HEAD /connect` panicked a handler (and, with `RUST_BACKTRACE=1`, left
/// 35 MB resident for good); now a 405 like any other method the path does not take.
#[test]
fn head_on_the_websocket_paths_is_a_405() {
    let w = watched(&[]);
    for _ in 0..20 {
        for path in ["/ws", "/connect", "/connect?id=x"] {
            // A HEAD answer has no body: read its head and the close.
            let sent =
                format!("HEAD {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            let mut s = send_new(w.addr(), sent.as_bytes());
            let (raw, _) = read_until_closed(&mut s, GUARD);
            let head = String::from_utf8_lossy(&raw);
            assert!(head.starts_with("HTTP/1.1 405 "), "HEAD {path}: {head}");
            assert!(head.contains("Allow: GET"), "HEAD {path}: {head}");
        }
    }
    assert!(!w.s.log().contains("panicked"));
    w.check("HEAD on the websocket paths");
}

/// Back-to-back connections while 50 idle ones are open (below the cap): every request of
/// every burst is answered. The task pool once queued two connections for one idle thread,
/// and the second waited for a busy connection until its deadline closed it unanswered.
#[test]
fn bursts_of_connections_are_all_answered() {
    let w = watched(&[
        "--max-connections",
        "64",
        "--max-connections-per-peer",
        "64",
        "--request-timeout",
        "60000",
    ]);
    let idle: Vec<TcpStream> = (0..50).map(|_| connect(w.addr())).collect();
    // Keep-alive requests: each connection holds its thread until the burst is dropped, so a
    // connection queued behind another would wait out the guard.
    let sent = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    for burst in 0..100 {
        let mut conns: Vec<TcpStream> = (0..6).map(|_| connect(w.addr())).collect();
        for s in &mut conns {
            s.write_all(sent).unwrap();
        }
        for (i, s) in conns.iter_mut().enumerate() {
            let status = read_response(s, Duration::from_secs(20)).map(|r| r.status);
            assert_eq!(status, Some(200), "burst {burst}, connection {i}");
        }
    }
    drop(idle);
    w.check("bursts of connections");
}
