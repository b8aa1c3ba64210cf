//! Websocket sessions that listen: pongs and close replies at once whatever the interval,
//! close codes for invalid input, clean disconnects logged as such, and snapshots of any size.

use super::common::{wait_until, Ws};
use super::{end_of, frame, session, watched, GUARD};
use std::io::{ErrorKind, Write};
use std::time::{Duration, Instant};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

/// Reads until a message `want` accepts arrives; panics after `guard`.
fn read_until(ws: &mut Ws, guard: Duration, case: &str, want: impl Fn(&Message) -> bool) {
    let end = Instant::now() + guard;
    loop {
        match ws.read() {
            Ok(m) if want(&m) => return,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("{case}: {e}"),
        }
        assert!(Instant::now() < end, "{case}: nothing within {guard:?}");
    }
}

/// At `--interval 60000` pongs waited for the next tick, and Python's `websockets` client, on
/// its defaults, dropped the session (`1011 keepalive ping timeout`). Now they come at once,
/// and so does the reply to a close.
#[test]
fn pings_and_closes_are_answered_within_moments_at_a_long_interval() {
    let w = watched(&["--interval", "60000"]);
    let mut ws = session(&w);
    // The first snapshot (sent at connect), then nothing for a minute.
    read_until(
        &mut ws,
        GUARD,
        "first frame",
        |m| matches!(m, Message::Text(t) if t.as_str().starts_with('{')),
    );
    for i in 0..20u8 {
        ws.send(Message::Ping(vec![i].into())).unwrap();
        // Well under the interval: the session did not wait for a tick.
        read_until(
            &mut ws,
            Duration::from_secs(5),
            "a pong",
            |m| matches!(m, Message::Pong(p) if p.as_ref() == [i]),
        );
    }
    ws.send(Message::text("hello")).unwrap();
    read_until(
        &mut ws,
        Duration::from_secs(5),
        "the echo",
        |m| matches!(m, Message::Text(t) if t.as_str() == "message received hello"),
    );
    ws.close(None).unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        match ws.read() {
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Ok(_) => {}
            Err(e) => panic!("closing: {e}"),
        }
        assert!(
            Instant::now() < end,
            "no close reply within 5 s at a 60 s interval"
        );
    }
    w.check("pings at a long interval");
}

/// Sends a raw masked frame on the session's socket and returns the close code it ends with
/// (`None`: the connection ended without a close frame).
fn close_code_after(w: &super::Watched, raw: &[u8], case: &str) -> Option<CloseCode> {
    let mut ws = session(w);
    ws.get_mut().write_all(raw).unwrap();
    end_of(&mut ws, case)
}

/// Invalid UTF-8 in a text frame or a close reason is a 1007; a close frame with a code no one
/// may send, or a one-byte payload, is a 1002. Each with a close frame, never a bare hang-up.
#[test]
fn invalid_utf8_is_1007_and_bad_closes_are_1002() {
    let w = watched(&[]);
    let mask = Some([1, 2, 3, 4]);
    let bad_text = frame(0x81, b"ab\xff\xfe", mask);
    assert_eq!(
        close_code_after(&w, &bad_text, "invalid UTF-8 text"),
        Some(CloseCode::Invalid)
    );
    let mut reason = 1000u16.to_be_bytes().to_vec();
    reason.extend_from_slice(b"bye \xc3\x28");
    assert_eq!(
        close_code_after(
            &w,
            &frame(0x88, &reason, mask),
            "invalid UTF-8 close reason"
        ),
        Some(CloseCode::Invalid)
    );
    for (case, payload) in [
        ("close code 1005", 1005u16.to_be_bytes().to_vec()),
        ("close code 999", 999u16.to_be_bytes().to_vec()),
        ("a one-byte close payload", vec![3u8]),
    ] {
        assert_eq!(
            close_code_after(&w, &frame(0x88, &payload, mask), case),
            Some(CloseCode::Protocol),
            "{case}"
        );
    }
    w.check("invalid UTF-8 and bad closes");
}

/// A client that disconnects without a close frame is logged as such, not as a protocol error.
#[test]
fn an_abrupt_disconnect_is_logged_as_one() {
    let w = watched(&[]);
    for _ in 0..3 {
        let ws = session(&w);
        drop(ws); // the TCP connection ends, no close frame
    }
    assert!(
        wait_until(10, || w
            .s
            .log()
            .matches("client disconnected without a close frame")
            .count()
            >= 3),
        "{}",
        w.s.log()
    );
    assert!(!w.s.log().contains("protocol error"), "{}", w.s.log());
    w.check("abrupt disconnects");
}

/// Processes whose `argv[0]` is ~100 KB made every snapshot 0.5–1 MB and closed every session
/// after its greeting ("Write buffer is full", no close frame). Names are capped now, and
/// frames of any size are sent.
#[test]
fn processes_with_huge_names_do_not_end_the_streams() {
    let dir = std::env::temp_dir().join(format!("psmonitor-longname-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // An executable whose name fills the 15 bytes of `comm`, so the server takes the full
    // name from `argv[0]`, which starts with it; each holds 150 MB so it is among the top
    // processes every frame carries.
    let exe = dir.join("longnamedperlxx");
    std::fs::copy("/usr/bin/perl", &exe).unwrap();
    let long = format!("longnamedperlxx{}", "y".repeat(100_000));
    let mut kids: Vec<std::process::Child> = (0..3)
        .map(|_| {
            use std::os::unix::process::CommandExt;
            std::process::Command::new(&exe)
                .arg0(&long)
                .args(["-e", "$x = 'x' x 150_000_000; sleep 60"])
                .spawn()
                .expect("spawn a process with a long argv[0]")
        })
        .collect();
    let w = watched(&[]);
    let named = |v: &serde_json::Value| -> Vec<String> {
        v["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .filter(|n| n.starts_with("longnamedperlxx"))
            .map(str::to_owned)
            .collect()
    };
    assert!(
        wait_until(20, || !named(&w.s.get_json("/system")).is_empty()),
        "the long-named processes show in /system"
    );
    for n in named(&w.s.get_json("/system")) {
        assert_eq!(n.len(), 256, "a long name is cut at 256 bytes");
    }
    let mut ws = session(&w);
    let mut frames = 0;
    let end = Instant::now() + Duration::from_secs(20);
    while frames < 5 {
        assert!(Instant::now() < end, "only {frames} frames in 20 s");
        match ws.read() {
            Ok(Message::Text(t)) if t.as_str().starts_with('{') => {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                assert!(
                    !named(&v).is_empty(),
                    "the frame carries the long-named processes"
                );
                frames += 1;
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("the stream ended after {frames} frames: {e}"),
        }
    }
    for k in &mut kids {
        let _ = k.kill();
        let _ = k.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
    w.check("huge process names");
}

/// A client that keeps its socket full (a ping flood) once kept the session reading: no frames
/// went out and SIGTERM got no 1001. The session now reads a batch per wake-up.
#[test]
fn a_ping_flood_does_not_stop_the_frames() {
    let w = watched(&[]);
    let mut ws = session(&w);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flood_sock = ws.get_ref().try_clone().unwrap();
    let flooding = std::sync::Arc::clone(&stop);
    let flood = std::thread::spawn(move || {
        let ping = frame(0x89, b"p", Some([9, 9, 9, 9]));
        let burst: Vec<u8> = ping
            .iter()
            .copied()
            .cycle()
            .take(ping.len() * 256)
            .collect();
        while !flooding.load(std::sync::atomic::Ordering::Relaxed) {
            if flood_sock.write_all(&burst).is_err() {
                break;
            }
        }
    });
    let mut frames = 0;
    let end = Instant::now() + Duration::from_secs(15);
    while frames < 3 {
        assert!(
            Instant::now() < end,
            "{frames} frames in 15 s under a ping flood"
        );
        match ws.read() {
            Ok(Message::Text(t)) if t.as_str().starts_with('{') => frames += 1,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("under a ping flood: {e}"),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = flood.join();
    drop(ws);
    w.check("a ping flood");
}

/// `Upgrade: websocket` without `Connection: upgrade` is no handshake: a 426 before the
/// worker is claimed (it once used the id up and answered a bare 500).
#[test]
fn a_handshake_without_the_connection_token_is_a_426() {
    let w = watched(&[]);
    let id = w.s.worker();
    let sent = format!(
        "GET /connect?id={id} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    let mut s = super::send_new(w.addr(), sent.as_bytes());
    let r = super::common::read_response(&mut s, GUARD).expect("an answer");
    assert_eq!(r.status, 426);
    // The id is still good.
    let mut ws = w.s.ws(&format!("/connect?id={id}"));
    let Ok(Message::Text(t)) = ws.read() else {
        panic!("no greeting");
    };
    assert!(t.as_str().starts_with("connected"));
    assert!(
        !w.s.log().contains("failed at the upgrade"),
        "{}",
        w.s.log()
    );
    w.check("a handshake without Connection: upgrade");
}
