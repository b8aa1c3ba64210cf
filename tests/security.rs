//! The loose doors of a review, each shut and checked against the real binary: the dashboard's
//! security headers, strict `Accept-Encoding` weights, weak `If-None-Match`, a `Host` with an
//! impossible port, repeated query parameters, an upgrade with a body, and `--web.cors-origin`.

mod common;
use common::{request, run_cli, Server};
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn the_dashboard_is_sent_with_security_headers() {
    let s = Server::start(&[]);
    for path in ["/", "/app.js", "/style.css"] {
        let r = request(s.addr, "GET", path, &[], b"");
        assert_eq!(r.status, 200, "{path}");
        let csp = r.header("Content-Security-Policy").expect("a CSP");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "connect-src 'self' http: https: ws: wss:",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} in {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(r.header("X-Frame-Options"), Some("DENY"), "{path}");
        assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(r.header("Referrer-Policy"), Some("no-referrer"));
    }
}

#[test]
fn accept_encoding_weights_are_read_strictly() {
    let s = Server::start(&[]);
    let encoding = |value: &str| {
        let r = request(s.addr, "GET", "/", &[("Accept-Encoding", value)], b"");
        assert_eq!(r.status, 200, "{value}");
        r.header("Content-Encoding").map(str::to_owned)
    };
    for refused in [
        "gzip;q=bogus",
        "gzip;q=-1",
        "gzip;q=2",
        "gzip ; q = 0",
        "x-gzip;q=0",
        "gzip;q=0, *",
    ] {
        assert_eq!(encoding(refused), None, "Accept-Encoding: {refused}");
    }
    for taken in [
        "gzip",
        "x-gzip",
        "gzip ; q = 0.5",
        "*",
        "br;q=1, gzip;q=0.001",
    ] {
        assert_eq!(
            encoding(taken).as_deref(),
            Some("gzip"),
            "Accept-Encoding: {taken}"
        );
    }
    // /metrics reads the same header the same way.
    let r = request(
        s.addr,
        "GET",
        "/metrics",
        &[("Accept-Encoding", "gzip;q=2")],
        b"",
    );
    assert_eq!(r.header("Content-Encoding"), None);
}

#[test]
fn a_weak_validator_gets_304() {
    let s = Server::start(&[]);
    let r = request(s.addr, "GET", "/", &[], b"");
    let etag = r.header("ETag").expect("ETag").to_owned();
    let weak = format!("W/{etag}");
    let r = request(s.addr, "GET", "/", &[("If-None-Match", &weak)], b"");
    assert_eq!(r.status, 304, "If-None-Match: {weak}");
    let listed = format!("\"other\", W/{etag}");
    let r = request(s.addr, "GET", "/", &[("If-None-Match", &listed)], b"");
    assert_eq!(r.status, 304, "If-None-Match: {listed}");
    let r = request(s.addr, "GET", "/", &[("If-None-Match", "W/\"other\"")], b"");
    assert_eq!(r.status, 200);
}

#[test]
fn a_host_with_an_impossible_port_is_refused() {
    let plain = Server::start(&[]);
    let token = Server::builder().env("PSMONITOR_TOKEN", "t0ken").start();
    let auth = ("Authorization", "Bearer t0ken");
    for s in [&plain, &token] {
        for host in ["[::1]:99999", "127.0.0.1:65536", "localhost:http", "[::1]x"] {
            let r = request(s.addr, "GET", "/system", &[("Host", host), auth], b"");
            assert_eq!(r.status, 400, "Host: {host}: {}", r.text());
            assert!(r.json()["error"].as_str().unwrap().contains(host));
        }
        let r = request(
            s.addr,
            "GET",
            "/system",
            &[("Host", "[::1]:65535"), auth],
            b"",
        );
        assert_eq!(r.status, 200);
    }
}

#[test]
fn repeated_query_parameters_are_refused() {
    let s = Server::start(&[]);
    for (path, name) in [
        ("/system?processes=500&processes=5", "processes"),
        ("/system?sort=cpu&sort=mem", "sort"),
        ("/history?seconds=10&seconds=20", "seconds"),
        (
            "/connect?id=x&id=00000000-0000-0000-0000-000000000000",
            "id",
        ),
        ("/ws?stream=network&stream=system", "stream"),
    ] {
        let v = common::assert_bad_parameter(s.addr, path, name);
        assert_eq!(v["reason"], "given more than once", "{path}");
    }
    // A repeated id cannot pick the one that was registered.
    let id = s.worker();
    let path = format!("/connect?id=bogus&id={id}");
    common::assert_bad_parameter(s.addr, &path, "id");
}

#[test]
fn an_upgrade_with_a_body_is_told_what_is_wrong() {
    let s = Server::start(&[]);
    let id = s.worker();
    let handshake = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
                     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    for framing in [
        "Content-Length: 5\r\n\r\nhello",
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ] {
        let mut c = TcpStream::connect(s.addr).unwrap();
        let head = format!(
            "GET /connect?id={id} HTTP/1.1\r\nHost: {}\r\n{handshake}{framing}",
            s.addr
        );
        c.write_all(head.as_bytes()).unwrap();
        let r = common::read_response(&mut c, Duration::from_secs(10)).expect("an answer");
        assert_eq!(r.status, 400, "{framing:?}: {}", r.text());
        assert!(r.text().contains("must not have a body"), "{}", r.text());
    }
    // The worker was not spent: a proper handshake still gets its session.
    let mut ws = s.ws(&format!("/connect?id={id}"));
    let greeting = ws.read().expect("the greeting");
    assert!(greeting.to_text().unwrap().contains("connected"));
}

#[test]
fn cors_origins_can_be_listed() {
    let s = Server::start(&[
        "--web.cors-origin",
        "https://grafana.lan,http://pi.lan:4500",
    ]);
    let get = |origin: Option<&str>| {
        let headers: Vec<(&str, &str)> = origin.map(|o| ("Origin", o)).into_iter().collect();
        request(s.addr, "GET", "/system", &headers, b"")
    };
    for origin in ["https://grafana.lan", "http://pi.lan:4500"] {
        let r = get(Some(origin));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some(origin));
        assert!(r.headers.iter().any(|(k, v)| k == "Vary" && v == "Origin"));
    }
    for other in [Some("http://evil.example"), Some("null"), None] {
        let r = get(other);
        assert_eq!(
            r.status, 200,
            "served: CORS only stops a browser reading it"
        );
        assert_eq!(r.header("Access-Control-Allow-Origin"), None, "{other:?}");
    }
    // Preflights and errors follow the same list.
    let pre = request(
        s.addr,
        "OPTIONS",
        "/system",
        &[("Origin", "https://grafana.lan")],
        b"",
    );
    assert_eq!(
        pre.header("Access-Control-Allow-Origin"),
        Some("https://grafana.lan")
    );
    let nf = request(
        s.addr,
        "GET",
        "/nope",
        &[("Origin", "http://evil.example")],
        b"",
    );
    assert_eq!(nf.header("Access-Control-Allow-Origin"), None);

    // The default stays `*` (the original's clients rely on it), from the flag or its variable.
    let any = Server::start(&[]);
    let r = request(any.addr, "GET", "/system", &[("Origin", "http://x")], b"");
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
    let env = Server::builder()
        .env("PSMONITOR_WEB_CORS_ORIGIN", "http://pi.lan")
        .start();
    let r = request(env.addr, "GET", "/system", &[("Origin", "http://x")], b"");
    assert_eq!(r.header("Access-Control-Allow-Origin"), None);

    let out = run_cli(&["--web.cors-origin", "pi.lan"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--web.cors-origin"), "{err}");
}

/// A scratch directory for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("psm-sec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mkfifo(path: &std::path::Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// The token file replaced by a FIFO or a link to `/dev/zero`: SIGHUP refuses it at once and
/// keeps the old token (it used to hang the signal thread, so SIGTERM no longer stopped the
/// server, or grow memory by 270 MB a second), and the server still stops on SIGTERM.
#[test]
fn a_token_file_that_is_no_file_is_refused_on_sighup() {
    let dir = scratch("hup");
    let path = dir.join("token");
    std::fs::write(&path, "first-token\n").unwrap();
    let mut s = Server::start(&["--token-file", path.to_str().unwrap()]);
    let ok = |s: &Server| {
        let r = request(
            s.addr,
            "GET",
            "/system",
            &[("Authorization", "Bearer first-token")],
            b"",
        );
        r.status == 200
    };
    assert!(ok(&s));
    let rss_before = s.rss_kb();
    std::fs::remove_file(&path).unwrap();
    mkfifo(&path);
    s.signal(libc::SIGHUP);
    assert!(
        common::wait_until(5, || s.log().contains("a FIFO, not a regular file")),
        "{}",
        s.log()
    );
    assert!(ok(&s), "the old token stays");
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    s.signal(libc::SIGHUP);
    assert!(
        common::wait_until(5, || s.log().contains("a device, not a regular file")),
        "{}",
        s.log()
    );
    assert!(ok(&s), "the old token stays");
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, "x".repeat(1 << 20)).unwrap();
    s.signal(libc::SIGHUP);
    assert!(
        common::wait_until(5, || s.log().contains("larger than 4096 bytes")),
        "{}",
        s.log()
    );
    assert!(ok(&s));
    assert!(s.rss_kb() < rss_before + 8 * 1024, "memory did not grow");
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(5).is_some(), "SIGTERM still stops it");
    std::fs::remove_dir_all(&dir).ok();
}

/// At start, a token file that is no regular file, or a token that is not printable ASCII
/// (from a file or the environment), is one line and exit 2, never a hang.
#[test]
fn bad_token_files_and_tokens_stop_the_start() {
    let dir = scratch("start");
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    let accented = dir.join("accented");
    std::fs::write(&accented, "caf\u{e9}-token\n").unwrap();
    let spaced = dir.join("spaced");
    std::fs::write(&spaced, "two words\n").unwrap();
    for (args, env, says) in [
        (vec!["--token-file", fifo.to_str().unwrap()], None, "a FIFO"),
        (vec!["--token-file", "/dev/zero"], None, "a device"),
        (
            vec!["--token-file", accented.to_str().unwrap()],
            None,
            "printable ASCII",
        ),
        (
            vec!["--token-file", spaced.to_str().unwrap()],
            None,
            "printable ASCII",
        ),
        (
            vec![],
            Some("caf\u{e9}"),
            "PSMONITOR_TOKEN holds characters",
        ),
    ] {
        let env: Vec<(&str, &str)> = env.map(|t| ("PSMONITOR_TOKEN", t)).into_iter().collect();
        let out = run_cli(&args, &env);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("caf"), "the token is not echoed: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A web config file in `dir` with `alice`'s password `secret` (bcrypt, cost 4) and `extra`.
fn web_config(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let hash = bcrypt::hash("secret", 4).unwrap();
    let path = dir.join("web.yml");
    std::fs::write(
        &path,
        format!("basic_auth_users:\n  alice: {hash}\n{extra}"),
    )
    .unwrap();
    path
}

fn basic(user: &str, password: &str) -> String {
    use std::fmt::Write as _;
    let raw = format!("{user}:{password}");
    // Standard base64, enough for the tests.
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::from("Basic ");
    for chunk in raw.as_bytes().chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| n << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = write!(out, "{}", A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn basic_auth_users_guard_what_the_token_guards() {
    let dir = scratch("users");
    let config = web_config(
        &dir,
        "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=60\n    X-Frame-Options: SAMEORIGIN\n",
    );
    let s = Server::start(&["--web.config.file", config.to_str().unwrap()]);
    let alice = basic("alice", "secret");
    let get = |path: &str, auth: Option<&str>| {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        request(s.addr, "GET", path, &headers, b"")
    };
    for path in ["/system", "/metrics", "/api/4/cpu", "/", "/app.js"] {
        let r = get(path, None);
        assert_eq!(r.status, 401, "{path}");
        assert!(
            r.header("WWW-Authenticate")
                .unwrap()
                .starts_with("Basic realm="),
            "{path}"
        );
        assert_eq!(
            get(path, Some(&basic("alice", "wrong"))).status,
            401,
            "{path}"
        );
        assert_eq!(
            get(path, Some(&basic("bob", "secret"))).status,
            401,
            "{path}"
        );
        assert_eq!(get(path, Some(&alice)).status, 200, "{path}");
    }
    assert_eq!(get("/health", None).status, 200, "/health stays open");
    // POST / and the websocket: the worker id is got with the user, the socket by the id.
    let r = request(s.addr, "POST", "/", &[("Authorization", &alice)], b"");
    assert_eq!(r.status, 200);
    assert_eq!(request(s.addr, "POST", "/", &[], b"").status, 401);
    // The config's headers on every answer; its X-Frame-Options replaces the dashboard's.
    let page = get("/", Some(&alice));
    assert_eq!(page.header("Strict-Transport-Security"), Some("max-age=60"));
    let frame: Vec<_> = page
        .headers
        .iter()
        .filter(|(k, _)| k == "X-Frame-Options")
        .collect();
    assert_eq!(frame.len(), 1, "{frame:?}");
    assert_eq!(frame[0].1, "SAMEORIGIN");
    assert_eq!(
        get("/system", Some(&alice)).header("Strict-Transport-Security"),
        Some("max-age=60")
    );
    // No Host check with users (a rebinding page has no password).
    let r = request(
        s.addr,
        "GET",
        "/system",
        &[("Host", "evil.example"), ("Authorization", &alice)],
        b"",
    );
    assert_eq!(r.status, 200);

    // With a token too, either admits: Bearer, Basic with the token as password, or a user.
    let both = Server::builder()
        .args(&["--web.config.file", config.to_str().unwrap()])
        .env("PSMONITOR_TOKEN", "t0ken")
        .start();
    for auth in ["Bearer t0ken", &basic("homepage", "t0ken"), &alice] {
        let r = request(both.addr, "GET", "/system", &[("Authorization", auth)], b"");
        assert_eq!(r.status, 200, "{auth}");
    }
    assert_eq!(request(both.addr, "GET", "/system", &[], b"").status, 401);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sighup_rereads_the_web_config_and_keeps_it_when_the_new_one_is_bad() {
    let dir = scratch("webhup");
    let config = web_config(&dir, "");
    let s = Server::start(&["--web.config.file", config.to_str().unwrap()]);
    let status =
        |auth: &str| request(s.addr, "GET", "/system", &[("Authorization", auth)], b"").status;
    assert_eq!(status(&basic("alice", "secret")), 200);
    let hash = bcrypt::hash("other", 4).unwrap();
    std::fs::write(&config, format!("basic_auth_users:\n  carol: {hash}\n")).unwrap();
    s.signal(libc::SIGHUP);
    assert!(
        common::wait_until(5, || s.log().contains("web config re-read")),
        "{}",
        s.log()
    );
    assert_eq!(status(&basic("carol", "other")), 200);
    assert_eq!(status(&basic("alice", "secret")), 401);
    for bad in ["basic_auth_users:\n  dave: plain\n", "colour: blue\n"] {
        std::fs::write(&config, bad).unwrap();
        s.signal(libc::SIGHUP);
        assert!(
            common::wait_until(5, || s.log().contains("the old web config stays in force")),
            "{}",
            s.log()
        );
        assert_eq!(
            status(&basic("carol", "other")),
            200,
            "the old config stays"
        );
    }
    std::fs::remove_file(&config).unwrap();
    mkfifo(&config);
    s.signal(libc::SIGHUP);
    assert!(
        common::wait_until(5, || s.log().contains("a FIFO")),
        "{}",
        s.log()
    );
    assert_eq!(status(&basic("carol", "other")), 200);
    assert!(!s.log().contains(&hash), "no hash is logged");
    std::fs::remove_dir_all(&dir).ok();
}

/// As exporter-toolkit refuses them: one line and exit 2, from the flag or its variable.
#[test]
fn a_bad_web_config_stops_the_start() {
    let dir = scratch("webbad");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let cases = [
        (
            write("unknown.yml", "basic_auth_user:\n  a: b\n"),
            "unknown key 'basic_auth_user'",
        ),
        (
            write("hash.yml", "basic_auth_users:\n  alice: secret\n"),
            "not a bcrypt hash",
        ),
        (
            write(
                "cert.yml",
                "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n",
            ),
            "nope.crt",
        ),
        (
            dir.join("missing.yml").to_str().unwrap().to_owned(),
            "missing.yml",
        ),
        ("/dev/zero".to_owned(), "a device"),
    ];
    for (path, says) in &cases {
        let out = run_cli(&["--web.config.file", path], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{path}: {err}");
    }
    let out = run_cli(&[], &[("PSMONITOR_WEB_CONFIG_FILE", &cases[0].0)]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

/// Prometheus' own `basic_auth` scrapes a server guarded by users.
#[test]
fn prometheus_scrapes_with_basic_auth() {
    let dir = scratch("prom-users");
    let config = web_config(&dir, "");
    let s = Server::start(&[
        "--interval",
        "200",
        "--web.config.file",
        config.to_str().unwrap(),
    ]);
    let job = |password: &str| {
        format!(
            "    basic_auth:\n      username: alice\n      password: {password}\n    static_configs:\n      - targets: ['{}']\n",
            s.addr
        )
    };
    let prom = common::Prometheus::start("users", &job("secret"));
    assert!(prom.up(40), "up == 1 with the user: {}", prom.last_error());
    drop(prom);
    let wrong = common::Prometheus::start("users-wrong", &job("wrong"));
    assert!(
        common::wait_until(40, || wrong.last_error().contains("401")),
        "a wrong password is a 401: {}",
        wrong.last_error()
    );
    std::fs::remove_dir_all(&dir).ok();
}
