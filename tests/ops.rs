//! Running as a service: graceful stop, health, token auth, one-shot snapshots.

mod common;
use common::{request, wait_until, Server};
use serde_json::Value;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

#[test]
fn sigterm_closes_sessions_with_1001_and_exits_0() {
    let mut s = Server::start(&["--interval", "200"]);
    let mut clients: Vec<_> = (0..2)
        .map(|_| {
            let id = s.worker();
            let tcp = TcpStream::connect(s.addr).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let (mut ws, _) =
                tungstenite::client(format!("ws://{}/connect?id={id}", s.addr), tcp).unwrap();
            ws.read().unwrap(); // greeting
            ws
        })
        .collect();
    assert!(wait_until(5, || s.clients() == 2));
    let pid = s.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    for ws in &mut clients {
        let code = loop {
            match ws.read() {
                Ok(Message::Close(f)) => break f.map(|f| f.code),
                Ok(_) => continue,
                Err(e) => panic!("no close frame before the connection ended: {e}"),
            }
        };
        assert_eq!(code, Some(CloseCode::Away));
    }
    assert_eq!(exit_code(&mut s), Some(0));
    assert!(s.log().contains("SIGTERM received"), "{}", s.log());
}

#[test]
fn sigint_also_stops_cleanly() {
    let mut s = Server::start(&[]);
    let pid = s.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    assert_eq!(exit_code(&mut s), Some(0));
}

/// Waits up to 5 s for the server to exit and returns its exit code.
fn exit_code(s: &mut Server) -> Option<i32> {
    let mut status = None;
    assert!(
        wait_until(5, || {
            status = s.child.try_wait().unwrap();
            status.is_some()
        }),
        "server exited"
    );
    status.and_then(|st| st.code())
}

#[test]
fn stalled_sampler_makes_health_503() {
    let s = Server::start(&["--interval", "100", "--test-stall-sampler-after", "300"]);
    let r = request(s.addr, "GET", "/health", &[], b"");
    let first = r.json();
    assert!(first["status"] == "ok" || first["status"] == "stalled");
    let stalled = wait_until(10, || {
        let r = request(s.addr, "GET", "/health", &[], b"");
        r.status == 503 && r.json()["status"] == "stalled"
    });
    assert!(stalled, "health reports the stall");
    let v = request(s.addr, "GET", "/health", &[], b"").json();
    assert!(v["last_sample_age_ms"].as_u64().unwrap() >= 300);
}

fn auth_checks(s: &Server, token: &str) {
    let bearer = format!("Bearer {token}");
    for (method, path) in [("GET", "/system"), ("GET", "/network"), ("POST", "/")] {
        let none = request(s.addr, method, path, &[], b"");
        assert_eq!(none.status, 401, "{method} {path} without a token");
        assert!(none
            .header("WWW-Authenticate")
            .unwrap()
            .starts_with("Bearer"));
        assert!(none.json()["error"].is_string());
        let wrong = request(
            s.addr,
            method,
            path,
            &[("Authorization", "Bearer nope")],
            b"",
        );
        assert_eq!(wrong.status, 401, "{method} {path} with a wrong token");
        let right = request(s.addr, method, path, &[("Authorization", &bearer)], b"");
        assert_eq!(right.status, 200, "{method} {path} with the token");
    }
    // Open: health, the dashboard, CORS preflight.
    assert_eq!(request(s.addr, "GET", "/health", &[], b"").status, 200);
    assert_eq!(request(s.addr, "GET", "/", &[], b"").status, 200);
    assert_eq!(request(s.addr, "OPTIONS", "/system", &[], b"").status, 204);
    // The websocket is authorised by its worker id alone.
    let r = request(s.addr, "POST", "/", &[("Authorization", &bearer)], b"");
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let tcp = TcpStream::connect(s.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (mut ws, _) = tungstenite::client(format!("ws://{}/ws?id={id}", s.addr), tcp).unwrap();
    assert!(matches!(ws.read().unwrap(), Message::Text(_)));
    assert!(!s.log().contains(token), "the token never reaches the log");
}

#[test]
fn token_from_env() {
    let token = "env-token-5d1f0c";
    let s = Server::start_env(&["--log-level", "debug"], &[("PSMONITOR_TOKEN", token)]);
    auth_checks(&s, token);
}

#[test]
fn token_from_file() {
    let token = "file-token-9a8b7c";
    let path = std::env::temp_dir().join(format!("psm-token-{}", std::process::id()));
    std::fs::write(&path, format!("{token}\n")).unwrap();
    let s = Server::start(&[
        "--token-file",
        path.to_str().unwrap(),
        "--log-level",
        "debug",
    ]);
    auth_checks(&s, token);
    std::fs::remove_file(&path).ok();
    let out = Command::new(env!("CARGO_BIN_EXE_psmonitor"))
        .args(["--token-file", "/nonexistent/token"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn no_token_warning_only_off_loopback() {
    let s = Server::start(&["--address", "0.0.0.0"]);
    assert!(wait_until(5, || s.log().contains("without a token")));
    let quiet = Server::start(&[]);
    assert!(!quiet.log().contains("without a token"));
}

/// The set of key paths in a JSON value (array elements merged).
fn shape(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{prefix}.{k}");
                out.push(p.clone());
                shape(x, &p, out);
            }
        }
        Value::Array(a) => {
            if let Some(x) = a.first() {
                shape(x, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

fn keys(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    shape(v, "", &mut out);
    out.sort();
    out.dedup();
    out
}

#[test]
fn snapshot_matches_the_endpoints() {
    let s = Server::start(&[]);
    for (args, path) in [
        (vec!["snapshot"], "/system"),
        (vec!["snapshot", "system", "--pretty"], "/system"),
        (vec!["snapshot", "network"], "/network"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_psmonitor"))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let snap: Value = serde_json::from_slice(&out.stdout).expect("snapshot is JSON");
        let live = s.get_json(path);
        let (mut a, mut b) = (keys(&snap), keys(&live));
        // Optional parts (Wi-Fi, sensors) may differ in presence, not in naming.
        a.retain(|k| !k.starts_with(".wireless.") && !k.starts_with(".sensors[]"));
        b.retain(|k| !k.starts_with(".wireless.") && !k.starts_with(".sensors[]"));
        assert_eq!(a, b, "{args:?} has the shape of {path}");
        if path == "/system" {
            let usage = snap["cpu"]["usage"].as_f64().unwrap();
            assert!((0.0..=100.0).contains(&usage));
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_psmonitor"))
        .args(["snapshot", "disks"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
