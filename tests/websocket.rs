//! Websocket sessions against the real binary, with a real websocket client (tungstenite).

mod common;
use common::{close_of, request, wait_until, Server, Ws};
use serde_json::Value;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

/// Reads the next data or close message, skipping pongs.
fn next(ws: &mut Ws) -> Message {
    loop {
        match ws.read().expect("read") {
            Message::Pong(_) | Message::Ping(_) => continue,
            m => return m,
        }
    }
}

fn text(ws: &mut Ws) -> String {
    match next(ws) {
        Message::Text(t) => t.as_str().to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

#[test]
fn streams_paced_system_frames_on_both_paths() {
    let s = Server::start(&["--interval", "200"]);
    for path in ["/connect", "/ws"] {
        let id = s.worker();
        let mut ws = s.ws(&format!("{path}?id={id}"));
        assert_eq!(text(&mut ws), "connected to monitor, transmitting data...");
        let mut stamps = Vec::new();
        for _ in 0..5 {
            let frame: Value = serde_json::from_str(&text(&mut ws)).expect("JSON frame");
            stamps.push(frame["timestamp"].as_f64().expect("timestamp"));
            assert!(frame["processes"].as_array().is_some_and(|p| !p.is_empty()));
            assert!(frame["uptime"].is_string());
            assert!(frame["cpu"]["usage"].is_f64());
            assert!(frame["mem"]["percent"].is_f64());
            assert!(frame["platform"]["uptime"].is_string());
        }
        // One fresh snapshot per frame, paced by the sampler (not spinning): the samples
        // behind consecutive frames are at least half an interval apart. Measured on the
        // server's clock, so a client delayed by a busy machine cannot make it flaky.
        for w in stamps.windows(2) {
            let gap = w[1] - w[0];
            assert!(gap >= 0.1, "frames sampled {gap:.3} s apart");
        }
        assert_eq!(s.clients(), 1);
        ws.close(None).unwrap();
        let _ = ws.flush();
        assert!(wait_until(10, || s.clients() == 0));
    }
}

#[test]
fn network_stream_sends_network_objects() {
    let s = Server::start(&["--interval", "200"]);
    let id = s.worker();
    let mut ws = s.ws(&format!("/connect?id={id}&stream=network"));
    assert_eq!(text(&mut ws), "connected to monitor, transmitting data...");
    for _ in 0..2 {
        let f: Value = serde_json::from_str(&text(&mut ws)).unwrap();
        assert!(
            f["interfaces"].is_array() && f["statistics"].is_object() && f["averages"].is_object()
        );
        assert!(f.get("processes").is_none());
    }
}

#[test]
fn answers_ping_text_and_close() {
    let s = Server::start(&["--interval", "200"]);
    let mut ws = s.session();
    text(&mut ws);
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .unwrap();
    let mut got_pong = false;
    for _ in 0..10 {
        if let Message::Pong(p) = ws.read().unwrap() {
            assert_eq!(&p[..], b"are you there");
            got_pong = true;
            break;
        }
    }
    assert!(got_pong, "ping answered within a few frames");

    ws.send(Message::text("hello")).unwrap();
    let mut echoed = false;
    for _ in 0..10 {
        if let Message::Text(t) = next(&mut ws) {
            if t.as_str() == "message received hello" {
                echoed = true;
                break;
            }
            assert!(t.starts_with('{'), "only JSON frames besides the echo: {t}");
        }
    }
    assert!(echoed);

    // The client's close is honoured: the server replies with a close frame.
    ws.close(None).unwrap();
    let mut replied = false;
    for _ in 0..20 {
        match ws.read() {
            Ok(Message::Close(_)) => {
                replied = true;
                break;
            }
            Ok(_) => continue,
            Err(tungstenite::Error::ConnectionClosed) => {
                replied = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(replied, "server answered the close");
    assert!(wait_until(10, || s.clients() == 0));
}

#[test]
fn invalid_expired_and_reused_ids_get_1008() {
    // Workers expire after 1 s instead of 3 s.
    let s = Server::start(&["--test-worker-ttl", "1000"]);
    let check = |path: String| {
        let mut ws = s.ws(&path);
        let (code, reason) = close_of(&mut ws);
        assert_eq!(code, CloseCode::Policy, "{path}");
        assert_eq!(reason, "Invalid worker id");
    };
    check("/connect?id=not-a-uuid".into());
    check("/connect".into());
    check("/ws?id=6f1c0b5e-4d7a-4c1e-9f1a-2b3c4d5e6f70".into());

    let id = s.worker();
    let _first = s.ws(&format!("/connect?id={id}"));
    check(format!("/connect?id={id}"));

    let stale = s.worker();
    assert!(
        wait_until(20, || s.pending_workers() == 0.0),
        "the unclaimed worker expires"
    );
    check(format!("/connect?id={stale}"));
    assert!(
        s.log().contains("invalid worker id"),
        "rejections are logged"
    );
}

#[test]
fn client_over_capacity_gets_message_and_1013() {
    // All 20 from one address: lift the per-peer cap to reach the global one.
    let s = Server::start(&["--max-clients-per-peer", "100"]);
    let mut open = Vec::new();
    for _ in 0..20 {
        let mut ws = s.session();
        text(&mut ws);
        open.push(ws);
    }
    assert_eq!(s.clients(), 20);
    let mut ws = s.session();
    assert_eq!(
        text(&mut ws),
        "Server is at full capacity. Please try again later."
    );
    let (code, _) = close_of(&mut ws);
    assert_eq!(code, CloseCode::Again);
    drop(open);
    assert!(wait_until(10, || s.clients() == 0));
}

#[test]
fn session_ends_when_client_vanishes() {
    let s = Server::start(&["--interval", "200"]);
    for _ in 0..3 {
        let mut ws = s.session();
        text(&mut ws);
        // Drop the TCP connection without a close frame.
        ws.get_mut().shutdown(std::net::Shutdown::Both).unwrap();
        drop(ws);
    }
    assert!(
        wait_until(10, || s.clients() == 0),
        "sessions noticed the vanished peers"
    );
    assert!(s.log().contains("websocket session closed"));
}

#[test]
fn bad_handshakes_are_refused_before_upgrading() {
    let s = Server::start(&[]);
    let key = ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    let v13 = ("Sec-WebSocket-Version", "13");
    let handshake = |path: &str, extra: &[(&str, &str)]| {
        let mut headers = vec![("Upgrade", "websocket"), ("Connection", "Upgrade")];
        headers.extend_from_slice(extra);
        request(s.addr, "GET", path, &headers, b"")
    };
    let r = handshake("/connect?id=x", &[key, ("Sec-WebSocket-Version", "8")]);
    assert_eq!(r.status, 426);
    assert_eq!(r.header("Sec-WebSocket-Version"), Some("13"));
    assert_eq!(handshake("/connect?id=x", &[v13]).status, 400, "no key");
    let short = ("Sec-WebSocket-Key", "short");
    assert_eq!(
        handshake("/connect?id=x", &[v13, short]).status,
        400,
        "bad key"
    );
    let r = handshake("/connect?id=x&stream=disk", &[key, v13]);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["parameter"], "stream");
    assert_eq!(request(s.addr, "GET", "/system", &[], b"").status, 200);
}

#[test]
fn oversized_client_frame_closes_the_session_only() {
    let s = Server::start(&["--interval", "200"]);
    let mut big = s.session();
    text(&mut big);
    let mut other = s.session();
    text(&mut other);
    let _ = big.send(Message::text("x".repeat(200 * 1024)));
    assert!(
        wait_until(10, || s.clients() == 1),
        "the oversized sender is dropped"
    );
    // The other session keeps streaming.
    let f: Value = serde_json::from_str(&text(&mut other)).unwrap();
    assert!(f["cpu"].is_object());
}
