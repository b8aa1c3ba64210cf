//! The ARM release binaries (arm64, armhf) served under qemu-user, as on a board: `/system`,
//! `/network`, `/metrics` (promtool, node_* present), `POST /` and a websocket stream,
//! `/api/4/all`, and a clean stop on SIGTERM; then TLS (ring's code for that architecture, and
//! on armhf our code in Thumb-2 calling it) with a client certificate required.
//!
//! Ignored in a plain `cargo test`: `scripts/test-arm` builds the binaries with
//! `scripts/release` and runs these with `PSMONITOR_ARM64_BIN` / `PSMONITOR_ARMHF_BIN` set (CI
//! runs it). Run without those variables, a test fails saying so: it never passes untested.
//!
//! The binaries are static, as released: a dynamically linked one would be run with the cross
//! glibc's loader (`qemu-... -L /usr/aarch64-linux-gnu`), which is not what a board runs.

mod common;
use common::tls::{self as t, Pki};
use common::{ensure_tool, request, Server, Ws};
use tungstenite::Message;

/// The binary named by `var`, and the emulator for it.
fn binary(var: &str, qemu: &str) -> (String, String) {
    ensure_tool(qemu, "qemu-user-static");
    let bin = std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run scripts/test-arm, which builds the binary and sets it")
    });
    assert!(
        std::path::Path::new(&bin).is_file(),
        "{var}={bin}: no such file"
    );
    (bin, qemu.to_owned())
}

fn next_text(ws: &mut Ws) -> String {
    loop {
        match ws.read().expect("websocket read") {
            Message::Text(t) => return t.as_str().to_owned(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

fn serves_like_a_board(var: &str, qemu: &str, machine: &str, bits: &str) {
    let (bin, qemu) = binary(var, qemu);
    ensure_tool("promtool", "prometheus");
    let mut s = Server::builder()
        .runner(&qemu)
        .bin(&bin)
        .args(&["--interval", "500", "--log-level", "info"])
        .start();

    // `/system` once the first snapshot is there.
    let r = s.first_answer("/system");
    assert_eq!(r.status, 200, "/system: {}", r.text());
    let system = r.json();
    assert!(system["cpu"].is_object(), "{system}");
    assert!(system["mem"].is_object(), "{system}");

    let network = s.get_json("/network");
    assert!(network.is_object() || network.is_array(), "{network}");
    assert!(
        network.to_string().contains("\"lo\""),
        "/network has lo: {network}"
    );

    let metrics = request(s.addr, "GET", "/metrics", &[], b"");
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    // The machine is the emulated board's (uname(2) as qemu-user answers it).
    assert!(
        text.contains(&format!("machine=\"{machine}\"")),
        "node_uname_info names {machine}"
    );
    for family in [
        "node_cpu_seconds_total",
        "node_memory_MemTotal_bytes",
        "node_network_receive_bytes_total",
        "node_uname_info",
    ] {
        assert!(
            text.contains(&format!("\n{family}")),
            "/metrics has {family}"
        );
    }
    common::promtool_check(&text);

    // The original's flow: POST / for a worker id, then its websocket streams frames.
    let mut ws = s.session();
    let greeting = next_text(&mut ws);
    assert!(!greeting.is_empty());
    for _ in 0..2 {
        let frame: serde_json::Value =
            serde_json::from_str(&next_text(&mut ws)).expect("a JSON frame");
        assert!(frame["cpu"].is_object(), "{frame}");
    }
    drop(ws);

    let all = s.get_json("/api/4/all");
    assert!(all["cpu"].is_object() && all["mem"].is_object(), "{all}");
    assert_eq!(all["system"]["platform"], bits, "{}", all["system"]);

    s.signal(libc::SIGTERM);
    let exit = s.wait_exit(10).expect("an exit within 10 s of SIGTERM");
    assert!(exit.success(), "exit after SIGTERM: {exit}\n{}", s.log());
    assert!(s.log().contains("SIGTERM received"), "{}", s.log());

    // HTTPS with an ECDSA P-256 certificate, a client certificate verified against a CA.
    let pki = Pki::new(&format!("board-{bits}"));
    let config = pki.web_config(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    );
    let s = Server::builder()
        .runner(&qemu)
        .bin(&bin)
        .args(&["--interval", "500", "--web.config.file", &config])
        .start();
    assert!(s.log().contains("listening on https://"), "{}", s.log());
    let ok = t::get(s.addr, pki.client(true), "/system", &[]).expect("with the client cert");
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(
        t::get(s.addr, pki.client(false), "/system", &[]).is_err(),
        "refused without a client certificate"
    );
}

#[test]
#[ignore = "needs the arm64 release binary: scripts/test-arm"]
fn arm64_binary_serves_under_qemu() {
    serves_like_a_board(
        "PSMONITOR_ARM64_BIN",
        "qemu-aarch64-static",
        "aarch64",
        "64bit",
    );
}

#[test]
#[ignore = "needs the armhf release binary: scripts/test-arm"]
fn armhf_binary_serves_under_qemu() {
    serves_like_a_board("PSMONITOR_ARMHF_BIN", "qemu-arm-static", "armv7l", "32bit");
}
