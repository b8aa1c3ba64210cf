//! Running as a service: graceful stop, health, token auth, one-shot snapshots.

mod common;
use common::{close_of, request, run_cli, wait_until, Server};
use serde_json::Value;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

#[test]
fn sigterm_closes_sessions_with_1001_and_exits_0() {
    let mut s = Server::start(&["--interval", "200"]);
    let mut clients: Vec<_> = (0..2)
        .map(|_| {
            let mut ws = s.session();
            ws.read().unwrap(); // greeting
            ws
        })
        .collect();
    assert!(wait_until(5, || s.clients() == 2));
    s.signal(libc::SIGTERM);
    for ws in &mut clients {
        assert_eq!(close_of(ws).0, CloseCode::Away);
    }
    assert_eq!(exit_code(&mut s), Some(0));
    assert!(s.log().contains("SIGTERM received"), "{}", s.log());
}

#[test]
fn sigint_also_stops_cleanly() {
    let mut s = Server::start(&[]);
    s.signal(libc::SIGINT);
    assert_eq!(exit_code(&mut s), Some(0));
}

/// Waits up to 5 s for the server to exit and returns its exit code.
fn exit_code(s: &mut Server) -> Option<i32> {
    let status = s.wait_exit(5).expect("server exited");
    status.code()
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

/// Every data endpoint, with the method that reads it: the fixed routes and every plugin of
/// the Glances API the server lists (asked with `bearer`), whole and by field.
fn data_endpoints(s: &Server, bearer: &str) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&str, String)> = [
        ("GET", "/system"),
        ("GET", "/network"),
        ("GET", "/metrics"),
        ("GET", "/history"),
        ("GET", "/fleet"),
        ("POST", "/"),
        ("POST", "/index.html"),
        ("GET", "/api/4/all"),
        ("GET", "/api/4/pluginslist"),
        ("GET", "/api/4/cpu/total"),
        ("GET", "/api/4/mem/percent"),
    ]
    .map(|(m, p)| (m, p.to_owned()))
    .into();
    let list = request(
        s.addr,
        "GET",
        "/api/4/pluginslist",
        &[("Authorization", bearer)],
        b"",
    );
    let plugins = list.json();
    let plugins = plugins.as_array().expect("pluginslist is a list");
    assert!(plugins.len() >= 10, "{plugins:?}");
    for p in plugins {
        out.push(("GET", format!("/api/4/{}", p.as_str().unwrap())));
    }
    out
}

fn auth_checks(s: &Server, token: &str) {
    let bearer = format!("Bearer {token}");
    for (method, path) in data_endpoints(s, &bearer) {
        let path = path.as_str();
        let none = request(s.addr, method, path, &[], b"");
        assert_eq!(none.status, 401, "{method} {path} without a token");
        // The Glances API asks for Basic, as its clients (Home Assistant, Homepage) speak it.
        let scheme = if path.starts_with("/api/4/") {
            "Basic"
        } else {
            "Bearer"
        };
        let challenge = none.header("WWW-Authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with(scheme),
            "{method} {path}: {challenge}"
        );
        assert!(none.json()["error"].is_string(), "{method} {path}");
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
    let mut ws = s.ws(&format!("/ws?id={id}"));
    assert!(matches!(ws.read().unwrap(), Message::Text(_)));
    assert!(!s.log().contains(token), "the token never reaches the log");
}

#[test]
fn token_from_env() {
    let token = "env-token-5d1f0c";
    let s = Server::builder()
        .args(&["--log-level", "debug"])
        .env("PSMONITOR_TOKEN", token)
        .start();
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
    let out = run_cli(&["--token-file", "/nonexistent/token"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn no_token_warning_only_off_loopback() {
    let s = Server::start(&["--address", "0.0.0.0"]);
    assert!(wait_until(5, || s.log().contains("without a token")));
    // The warning would be written before the signal thread starts: once that thread has
    // answered a SIGHUP in the log, a warning that was coming is there.
    let quiet = Server::start(&[]);
    quiet.signal(libc::SIGHUP);
    assert!(wait_until(10, || quiet.log().contains("SIGHUP received")));
    assert!(!quiet.log().contains("without a token"));
}

#[test]
fn serves_under_a_lowered_open_file_limit() {
    // Soft and hard both lowered: the server can raise its soft limit only as far as the hard.
    let s = Server::builder().rlimit_nofile(128).start();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", s.pid())).unwrap();
    let open_files: Vec<&str> = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .expect("/proc/PID/limits has `Max open files`")
        .split_whitespace()
        .collect();
    assert_eq!(open_files[..2], ["128", "128"], "soft and hard:\n{limits}");
    assert_eq!(s.first_answer("/system").status, 200);
    let mut ws = s.session();
    assert!(matches!(ws.read().unwrap(), Message::Text(_)));
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
        let out = run_cli(&args, &[]);
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
    let out = run_cli(&["snapshot", "disks"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

/// SIGUSR1, SIGUSR2 and the other signals whose default action ends a process killed the
/// server without a word (status 129 and kin). Now each is logged and ignored.
#[test]
fn stray_signals_are_logged_and_ignored() {
    let mut s = Server::start(&["--interval", "200"]);
    let mut ws = s.session();
    ws.read().unwrap(); // greeting
    let rt = libc::SIGRTMIN() + 5;
    let signals = [
        (libc::SIGUSR1, "SIGUSR1".to_owned()),
        (libc::SIGUSR2, "SIGUSR2".to_owned()),
        (libc::SIGALRM, "SIGALRM".to_owned()),
        (libc::SIGPOLL, "SIGPOLL".to_owned()),
        (rt, format!("signal {rt}")),
    ];
    for (sig, name) in &signals {
        s.signal(*sig);
        assert!(
            wait_until(5, || s.log().contains(&format!("{name} received: ignored"))),
            "{name} is logged:\n{}",
            s.log()
        );
    }
    assert!(
        s.wait_exit(1).is_none(),
        "still running after stray signals"
    );
    assert_eq!(request(s.addr, "GET", "/health", &[], b"").status, 200);
    // The session still streams.
    let mut frames = 0;
    while frames < 2 {
        if let Message::Text(t) = ws.read().unwrap() {
            frames += usize::from(t.as_str().starts_with('{'));
        }
    }
    assert!(s.log().matches("received: ignored").count() >= signals.len());
}

/// SIGHUP re-reads the token file; a missing or empty file keeps the old token and logs an
/// error.
#[test]
fn sighup_rereads_the_token_file() {
    let path = std::env::temp_dir().join(format!("psmonitor-hup-{}", std::process::id()));
    std::fs::write(&path, "first-token\n").unwrap();
    let s = Server::start(&["--token-file", path.to_str().unwrap()]);
    let status = |token: &str| {
        let bearer = format!("Bearer {token}");
        request(s.addr, "GET", "/system", &[("Authorization", &bearer)], b"").status
    };
    assert_eq!(status("first-token"), 200);
    std::fs::write(&path, "second-token").unwrap();
    s.signal(libc::SIGHUP);
    assert!(
        wait_until(5, || s.log().contains("token re-read")),
        "{}",
        s.log()
    );
    assert_eq!(status("second-token"), 200);
    assert_eq!(status("first-token"), 401);
    std::fs::write(&path, "  \n").unwrap();
    s.signal(libc::SIGHUP);
    assert!(
        wait_until(5, || s.log().contains("is empty")),
        "{}",
        s.log()
    );
    assert_eq!(
        status("second-token"),
        200,
        "an empty file keeps the old token"
    );
    std::fs::remove_file(&path).unwrap();
    s.signal(libc::SIGHUP);
    assert!(
        wait_until(5, || s.log().contains("cannot read the token file")),
        "{}",
        s.log()
    );
    assert_eq!(
        status("second-token"),
        200,
        "a missing file keeps the old token"
    );
    assert!(s.log().contains("ERROR"), "{}", s.log());
    assert!(
        !s.log().contains("second-token"),
        "the token is never logged"
    );
}

/// `--open` says whether a browser opened: `xdg-open` exits 3 when it finds none, and that is
/// a warning with the address to visit, not "opened".
#[test]
fn open_reports_whether_a_browser_opened() {
    let dir = std::env::temp_dir().join(format!("psmonitor-open-{}", std::process::id()));
    for (status, says) in [
        (3, "could not open a browser (xdg-open failed"),
        (0, "opened http://"),
    ] {
        std::fs::create_dir_all(&dir).unwrap();
        let opener = dir.join("xdg-open");
        std::fs::write(&opener, format!("#!/bin/sh\nexit {status}\n")).unwrap();
        std::fs::set_permissions(&opener, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let path = format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let s = Server::builder()
            .args(&["--open"])
            .env("PATH", &path)
            .start();
        assert!(
            wait_until(10, || s.log().contains(says)),
            "exit {status}: {}",
            s.log()
        );
        let other = if status == 0 {
            "could not open"
        } else {
            "opened http://"
        };
        assert!(!s.log().contains(other), "{}", s.log());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The server starts over once at start-up with glibc's tunables (`heap::TUNABLES`: a small
/// per-thread malloc cache, no cache of exited threads' stacks) added to its environment,
/// keeping its pid, name and arguments; a tunable the operator sets is kept as set.
#[test]
fn starts_over_once_with_glibc_tunables_keeping_pid_name_and_the_operators_own() {
    // What the process was started with, as the kernel keeps it (glibc rewrites the
    // variable's `:` separators in place, hence the join).
    let environ = |s: &Server| {
        let raw = std::fs::read(format!("/proc/{}/environ", s.pid())).unwrap();
        String::from_utf8_lossy(&raw).replace('\0', ":")
    };
    let s = Server::builder().args(&["--interval", "500"]).start();
    let env = environ(&s);
    assert!(env.contains("PSMONITOR_TUNABLES_APPLIED=1"), "{env}");
    assert!(env.contains("GLIBC_TUNABLES="), "{env}");
    for kv in [
        "glibc.malloc.tcache_count=1",
        "glibc.pthread.stack_cache_size=0",
    ] {
        assert!(env.contains(kv), "{kv} in {env}");
    }
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", s.pid())).unwrap();
    assert_eq!(comm.trim(), "psmonitor");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", s.pid())).unwrap();
    assert!(
        cmdline.ends_with(b"--interval\x00500\x00"),
        "{}",
        String::from_utf8_lossy(&cmdline)
    );
    assert_eq!(s.get_json("/health")["status"], "ok");

    let s = Server::builder()
        .env("GLIBC_TUNABLES", "glibc.malloc.tcache_count=3")
        .start();
    let env = environ(&s);
    assert!(env.contains("glibc.malloc.tcache_count=3"), "{env}");
    assert!(!env.contains("glibc.malloc.tcache_count=1"), "{env}");
    assert!(env.contains("glibc.pthread.stack_cache_size=0"), "{env}");
}
