//! The Host check against DNS rebinding: without a token, only this machine's names, IP
//! literals, localhost and names given with `--allowed-hosts` are served.

use super::common::{request, Server};
use super::watched;

/// The status of `GET path` with `Host: host`.
fn status(s: &Server, path: &str, host: &str, extra: &[(&str, &str)]) -> u16 {
    let mut headers = vec![("Host", host)];
    headers.extend_from_slice(extra);
    request(s.addr, "GET", path, &headers, b"").status
}

#[test]
fn foreign_host_names_are_refused_without_a_token() {
    let w = watched(&[]);
    let s = &w.s;
    let port = s.addr.port();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let hostname = hostname.trim();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("{hostname}:{port}"),
        format!("{hostname}.local"),
        "192.0.2.7".to_owned(),
    ] {
        assert_eq!(status(s, "/system", &host, &[]), 200, "Host: {host}");
    }
    for path in [
        "/system", "/network", "/metrics", "/history", "/health", "/",
    ] {
        let r = request(s.addr, "GET", path, &[("Host", "evil.example:4500")], b"");
        assert_eq!(r.status, 403, "GET {path} with Host: evil.example");
        let v = r.json();
        assert!(v["error"].as_str().unwrap().contains("evil.example"));
        assert!(v["reason"]
            .as_str()
            .unwrap()
            .contains("--allowed-hosts evil.example"));
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
    }
    let post = request(s.addr, "POST", "/", &[("Host", "evil.example")], b"");
    assert_eq!(post.status, 403, "no worker for a rebinding page");
    assert!(
        s.log().contains("Host check on"),
        "the accepted names are logged"
    );
    w.check("foreign Host names");
}

#[test]
fn allowed_hosts_and_a_token_let_other_names_in() {
    let s = Server::start(&["--allowed-hosts", "Pi.Example.org,nas.lan"]);
    assert_eq!(status(&s, "/system", "pi.example.org:4500", &[]), 200);
    assert_eq!(status(&s, "/system", "NAS.LAN", &[]), 200);
    assert_eq!(status(&s, "/system", "evil.example", &[]), 403);
    let any = Server::start(&["--allowed-hosts", "*"]);
    assert_eq!(status(&any, "/system", "evil.example", &[]), 200);
    let env = Server::builder()
        .env("PSMONITOR_ALLOWED_HOSTS", "grafana.lan")
        .start();
    assert_eq!(status(&env, "/system", "grafana.lan", &[]), 200);
    // With a token, the token is the protection: any name is served to who has it.
    let token = Server::builder().env("PSMONITOR_TOKEN", "t0ken").start();
    let auth = [("Authorization", "Bearer t0ken")];
    assert_eq!(status(&token, "/system", "evil.example", &auth), 200);
    assert_eq!(status(&token, "/system", "evil.example", &[]), 401);
}
