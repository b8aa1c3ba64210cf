//! TLS and users with the real clients: curl, Prometheus (`tls_config` and `basic_auth`), Home
//! Assistant's `glances-api` with `ssl=True`, the websocket over `wss://`, a client certificate
//! required and refused, a certificate renewed on SIGHUP, plain HTTP to the TLS port, and a
//! silent TLS connection closed by the request deadline.

mod common;
use common::tls::{self as t, Pki};
use common::{run_cli, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

fn tls_server(pki: &Pki, extra: &str, args: &[&str]) -> Server {
    let config = pki.web_config(&format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}"
    ));
    let mut all = vec!["--interval", "200", "--web.config.file", &config];
    all.extend_from_slice(args);
    let s = Server::start(&all);
    assert!(s.log().contains("listening on https://"), "{}", s.log());
    s
}

#[test]
fn curl_reads_it_over_tls_and_plain_http_is_told_to_use_https() {
    let pki = Pki::new("curl");
    let s = tls_server(&pki, "", &[]);
    let url = format!("https://localhost:{}/system", s.addr.port());
    let out = Command::new("curl")
        .args(["-sS", "--cacert", &pki.path("ca.crt"), "--resolve"])
        .arg(format!("localhost:{}:127.0.0.1", s.addr.port()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON over TLS");
    assert!(v["cpu"].is_object());
    // Plain HTTP gets a plain answer at once and the connection closes; never a hang.
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.write_all(format!("GET /system HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr).as_bytes())
        .unwrap();
    let (raw, closed) = common::read_until_closed(&mut c, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&raw);
    assert!(closed, "closed");
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("use https://"), "{text}");
    // The worker URL says wss://.
    let r = t::get(s.addr, pki.client(false), "/health", &[]).unwrap();
    assert_eq!(r.status, 200);
    assert!(!s.log().contains("panicked"));
}

#[test]
fn prometheus_scrapes_over_tls_with_basic_auth() {
    let pki = Pki::new("prom");
    let hash = bcrypt::hash("secret", 4).unwrap();
    let s = tls_server(
        &pki,
        &format!("basic_auth_users:\n  prometheus: {hash}\n"),
        &[],
    );
    let job = format!(
        "    scheme: https\n    tls_config:\n      ca_file: {}\n      server_name: localhost\n    basic_auth:\n      username: prometheus\n      password: secret\n    static_configs:\n      - targets: ['{}']\n",
        pki.path("ca.crt"),
        s.addr
    );
    let prom = common::Prometheus::start("tls", &job);
    assert!(prom.up(40), "up == 1 over TLS: {}", prom.last_error());
    assert!(common::wait_until(20, || !prom
        .query("node_load1")
        .is_empty()));
}

/// Home Assistant's client with `ssl=True` (its httpx client trusting our CA) and a user.
#[test]
fn home_assistant_reads_it_over_tls() {
    common::ensure_python("glances_api, httpx", &["glances-api"]);
    let pki = Pki::new("ha");
    let hash = bcrypt::hash("secret", 4).unwrap();
    let s = tls_server(
        &pki,
        &format!("basic_auth_users:\n  homeassistant: {hash}\n"),
        &[],
    );
    let script = r#"
import asyncio, json, sys, ssl, httpx
from glances_api import Glances

async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[3])
    client = httpx.AsyncClient(verify=ctx)
    g = Glances(host="localhost", port=int(sys.argv[1]), version=4, ssl=True,
                username="homeassistant", password=sys.argv[2], httpx_client=client)
    print(json.dumps(await g.get_ha_sensor_data()))

asyncio.run(main())
"#;
    let port = s.addr.port().to_string();
    let run = |password: &str| {
        Command::new("python3")
            .args(["-c", script, &port, password, &pki.path("ca.crt")])
            .output()
            .unwrap()
    };
    let out = run("secret");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["cpu"]["cpu_use_percent"].is_number(), "{v}");
    let refused = run("wrong");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("GlancesApiAuthorizationError"));
}

#[test]
fn the_websocket_streams_over_wss() {
    let pki = Pki::new("wss");
    let s = tls_server(&pki, "", &[]);
    let r = t::get(s.addr, pki.client(false), "/health", &[]).unwrap();
    assert_eq!(r.status, 200);
    let mut post = t::connect(s.addr, pki.client(false)).unwrap();
    post.write_all(
        b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = post.read_to_end(&mut raw);
    let created = common::responses(&raw).remove(0).json();
    let url = created["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("wss://localhost"), "{url}");
    let id = created["id"].as_str().unwrap();
    let stream = t::connect(s.addr, pki.client(false)).unwrap();
    let (mut ws, resp) =
        tungstenite::client(format!("wss://localhost/connect?id={id}"), stream).expect("wss");
    assert_eq!(resp.status(), 101);
    let greeting = ws.read().unwrap();
    assert!(greeting.to_text().unwrap().contains("connected"));
    for _ in 0..3 {
        let frame = ws.read().unwrap();
        let v: serde_json::Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
        assert!(v["cpu"].is_object());
    }
    ws.send(tungstenite::Message::Ping(vec![1, 2].into()))
        .unwrap();
    let pong = loop {
        match ws.read().unwrap() {
            tungstenite::Message::Pong(p) => break p,
            _ => continue,
        }
    };
    assert_eq!(&pong[..], &[1, 2]);
    ws.close(None).unwrap();
    assert!(common::wait_until(10, || {
        t::get(s.addr, pki.client(false), "/health", &[]).is_ok_and(|r| r.json()["clients"] == 0)
    }));
}

#[test]
fn a_client_certificate_is_required_and_verified() {
    let pki = Pki::new("mtls");
    let s = tls_server(
        &pki,
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
        &[],
    );
    let ok = t::get(s.addr, pki.client(true), "/system", &[]).expect("with the client cert");
    assert_eq!(ok.status, 200);
    assert!(
        t::get(s.addr, pki.client(false), "/system", &[]).is_err(),
        "refused without"
    );
    // A certificate from another CA is refused too.
    let other = Pki::new("mtls-other");
    let stranger = {
        let mut p = Pki {
            dir: other.dir.clone(),
        };
        std::fs::copy(pki.dir.join("ca.crt"), p.dir.join("ca.crt.server")).unwrap();
        // Trust the server's CA, present the stranger's client certificate.
        std::fs::copy(pki.dir.join("ca.crt"), p.dir.join("ca.crt")).unwrap();
        let c = p.client(true);
        p.dir = std::env::temp_dir().join("psm-nothing-to-remove");
        c
    };
    assert!(
        t::get(s.addr, stranger, "/system", &[]).is_err(),
        "a stranger's cert"
    );
    assert!(!s.log().contains("panicked"));
}

#[test]
fn a_renewed_certificate_is_served_after_sighup() {
    let pki = Pki::new("renew");
    let s = tls_server(&pki, "", &[]);
    let served = |s: &Server| {
        let c = t::connect(s.addr, pki.client(false)).unwrap();
        c.conn.peer_certificates().unwrap()[0].to_vec()
    };
    assert_eq!(served(&s), pki.der("server"));
    let old = pki.der("server");
    pki.issue(
        "server",
        "localhost",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
    );
    assert_ne!(pki.der("server"), old);
    s.signal(libc::SIGHUP);
    assert!(
        common::wait_until(5, || s.log().contains("certificate re-read")),
        "{}",
        s.log()
    );
    assert_eq!(
        served(&s),
        pki.der("server"),
        "a new connection gets the new certificate"
    );
    // A key that does not fit is refused; the renewed pair stays.
    std::fs::copy(pki.dir.join("client.key"), pki.dir.join("server.key")).unwrap();
    s.signal(libc::SIGHUP);
    assert!(
        common::wait_until(5, || s.log().contains("do not go together")),
        "{}",
        s.log()
    );
    assert_eq!(served(&s), pki.der("server"));
}

/// A connection that never finishes its handshake is closed by the request deadline, like a
/// slow head, and others are served meanwhile.
#[test]
fn a_silent_tls_connection_is_closed_by_the_deadline() {
    let pki = Pki::new("slow");
    let s = tls_server(&pki, "", &["--request-timeout", "500"]);
    let mut silent = TcpStream::connect(s.addr).unwrap();
    let mut half = TcpStream::connect(s.addr).unwrap();
    half.write_all(&[0x16, 0x03, 0x01]).unwrap(); // the start of a ClientHello, no more
    assert_eq!(
        t::get(s.addr, pki.client(false), "/health", &[])
            .unwrap()
            .status,
        200
    );
    for c in [&mut silent, &mut half] {
        let (_, closed) = common::read_until_closed(c, Duration::from_secs(10));
        assert!(closed, "closed by the deadline");
    }
}

#[test]
fn tls_mistakes_stop_the_start() {
    let pki = Pki::new("bad");
    std::fs::copy(pki.dir.join("client.key"), pki.dir.join("wrong.key")).unwrap();
    for (extra, says) in [
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: wrong.key\n", "do not go together"),
        ("tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n", "no PEM certificate"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS10\n", "TLS10"),
    ] {
        let path = pki.web_config(extra);
        let out = run_cli(&["--web.config.file", &path], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{extra}: {err}");
    }
}
