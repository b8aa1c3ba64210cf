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

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

/// A session on `stream` past its greeting.
fn stream_session(s: &Server, stream: &str) -> Ws {
    let id = s.worker();
    let mut ws = s.ws(&format!("/connect?id={id}&stream={stream}"));
    assert_eq!(text(&mut ws), "connected to monitor, transmitting data...");
    ws
}

#[test]
fn dashboard_frames_hold_the_system_frame_network_and_processes() {
    let s = Server::start(&["--interval", "200"]);
    let mut plain = s.session();
    text(&mut plain);
    let mut dash = stream_session(&s, "dashboard");
    // Read both sessions in turn until they carry the same tick: the dashboard's system part
    // is then the default frame byte for byte. Past the first ticks, whose `/system` may
    // lack `diskio` (no rates before a second reading).
    let mut plain_frames = std::collections::HashMap::new();
    let mut same_tick = None;
    for i in 0..20 {
        let p = text(&mut plain);
        let t = serde_json::from_str::<Value>(&p).unwrap()["timestamp"].to_string();
        plain_frames.insert(t, p);
        let d = text(&mut dash);
        let v: Value = serde_json::from_str(&d).expect("a JSON dashboard frame");
        assert_eq!(keys(&v), ["network", "processes", "system"]);
        if let Some(p) = plain_frames
            .get(&v["system"]["timestamp"].to_string())
            .filter(|_| i >= 2)
        {
            same_tick = Some((p.clone(), d, v));
            break;
        }
    }
    let (plain, raw, d) = same_tick.expect("both sessions got frames of one tick");
    let system = s.get_json("/system");
    let network = s.get_json("/network");
    assert!(
        raw.starts_with(&format!("{{\"system\":{plain},\"network\":{{")),
        "the system part is the default frame"
    );
    let sys = &d["system"];
    assert!(sys["uptime"].is_string());
    let mut without_uptime = keys(sys);
    without_uptime.retain(|k| k != "uptime");
    assert_eq!(
        without_uptime,
        keys(&system),
        "the /system object plus uptime"
    );
    assert_eq!(sys["hostname"], system["hostname"]);
    let net = &d["network"];
    assert_eq!(keys(net), keys(&network));
    assert_eq!(net["interfaces"], network["interfaces"]);
    assert_eq!(net["timestamp"], sys["timestamp"], "one tick");
    let procs = d["processes"].as_array().unwrap();
    assert!(!procs.is_empty() && procs.len() <= 50, "{}", procs.len());
    let mut pids: Vec<u64> = procs.iter().map(|p| p["pid"].as_u64().unwrap()).collect();
    for p in procs {
        assert_eq!(keys(p), ["cpu", "mem", "name", "pid", "username"], "{p}");
    }
    let mems: Vec<f64> = procs.iter().map(|p| p["mem"].as_f64().unwrap()).collect();
    assert!(mems.windows(2).all(|w| w[0] >= w[1]), "by memory: {mems:?}");
    // The system part's top 10 by memory are among the top 25 by memory.
    for p in sys["processes"].as_array().unwrap() {
        assert!(pids.contains(&p["pid"].as_u64().unwrap()), "{p}");
    }
    pids.sort_unstable();
    let n = pids.len();
    pids.dedup();
    assert_eq!(pids.len(), n, "unique pids");
}

#[test]
fn summary_frames_are_compact_and_agree_with_system() {
    let s = Server::start(&["--interval", "200"]);
    let mut ws = stream_session(&s, "summary");
    let system = s.get_json("/system");
    for _ in 0..2 {
        let raw = text(&mut ws);
        assert!(raw.len() < 1024, "compact: {} bytes: {raw}", raw.len());
        let u: Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(
            keys(&u),
            [
                "cpu",
                "cpu_count",
                "disk",
                "disk_worst",
                "hostname",
                "interval_ms",
                "load",
                "mem",
                "net_in",
                "net_out",
                "process_count",
                "swap",
                "t",
                "temp",
                "uptime_seconds"
            ]
        );
        assert_eq!(u["hostname"], system["hostname"]);
        assert_eq!(u["cpu_count"], system["cpu"]["count"]);
        assert_eq!(u["interval_ms"], 200);
        assert!(u["t"].as_f64().unwrap() > 1e9);
        assert!(u["uptime_seconds"].is_u64());
        assert!(u["process_count"].as_u64().unwrap() > 1);
        assert_eq!(u["temp"].is_null(), system["cpu"]["temp"].is_null());
        assert_eq!(u["swap"].is_null(), system["swap"]["total"] == 0.0);
        for k in ["cpu", "mem", "disk"] {
            let x = u[k].as_f64().unwrap();
            assert!((0.0..=100.0).contains(&x), "{k} {x}");
        }
        assert_eq!(u["load"].as_array().unwrap().len(), 3);
        assert!(u["net_in"].as_f64().unwrap() >= 0.0 && u["net_out"].as_f64().unwrap() >= 0.0);
        let worst = &u["disk_worst"];
        let mounts: Vec<&Value> = system["disks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| &d["mountpoint"])
            .collect();
        if worst.is_null() {
            assert!(mounts.is_empty(), "no filesystem, no worst one");
            continue;
        }
        assert!(worst["mountpoint"] == "/" || mounts.contains(&&worst["mountpoint"]));
        assert!(worst["percent"].as_f64().unwrap() >= u["disk"].as_f64().unwrap());
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
    let r = handshake("/connect?id=x&stream=bogus", &[key, v13]);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["parameter"], "stream");
    let reason = r.json()["reason"].as_str().unwrap().to_owned();
    for name in ["bogus", "system", "network", "dashboard", "summary"] {
        assert!(reason.contains(name), "{reason} names {name}");
    }
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
