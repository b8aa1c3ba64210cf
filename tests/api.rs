//! HTTP API against the real binary: fields, units, errors, CORS, CLI.

mod common;
use common::{request, wait_until, Server};
use serde_json::Value;
use std::process::Command;

type Headers<'a> = &'a [(&'a str, &'a str)];

fn num(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("{path} is a number, got {cur}"))
}

fn assert_usage(v: &Value, key: &str) {
    let (total, used, free, pct) = (
        num(v, &format!("{key}.total")),
        num(v, &format!("{key}.used")),
        num(v, &format!("{key}.free")),
        num(v, &format!("{key}.percent")),
    );
    assert!(total > 0.0, "{key}.total > 0");
    assert!(
        used >= 0.0 && used <= total,
        "{key}: used {used} <= total {total}"
    );
    assert!(
        free >= 0.0 && free <= total,
        "{key}: free {free} <= total {total}"
    );
    assert!((0.0..=100.0).contains(&pct), "{key}.percent in 0..100");
    for x in [total, used, free] {
        assert_eq!((x * 100.0).round() / 100.0, x, "{key}: two decimals");
    }
}

#[test]
fn system_has_every_field_with_sane_values() {
    let s = Server::start(&["--interval", "200"]);
    let v = s.get_json("/system");
    let usage = num(&v, "cpu.usage");
    assert!((0.0..=100.0).contains(&usage));
    // No sensor on a VM: null, never a crash or a made-up value.
    assert!(v["cpu"]["temp"].is_null() || v["cpu"]["temp"].is_f64());
    assert_eq!(
        v["cpu"]["temp"].is_null(),
        v["cpu"]["temp_sensor"].is_null()
    );
    assert!(v["cpu"]["freq"].is_null() || num(&v, "cpu.freq") > 0.0);
    let count = v["cpu"]["count"].as_u64().unwrap();
    assert!(count >= 1);
    assert_eq!(v["cpu"]["cores"].as_array().unwrap().len() as u64, count);
    assert_usage(&v, "mem");
    assert_usage(&v, "disk");
    assert!(!v["user"].as_str().unwrap().is_empty());
    assert!(!v["platform"]["distro"].as_str().unwrap().is_empty());
    assert!(!v["platform"]["kernel"].as_str().unwrap().is_empty());
    let uptime = v["platform"]["uptime"].as_str().unwrap();
    assert!(uptime.contains("sec") || uptime.contains("min"), "{uptime}");
    assert!(v["uptime_seconds"].as_u64().unwrap() > 0);
    assert!(v["process_count"].as_u64().unwrap() > 1);
    assert_eq!(v["load"].as_array().unwrap().len(), 3);
    assert!(v["swap"]["percent"].is_f64());
    assert!(v["sensors"].is_array());
    assert!(v["disks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["mountpoint"] == "/"));
    assert!(!v["hostname"].as_str().unwrap().is_empty());
}

#[test]
fn processes_are_top_ten_sorted_and_aggregated() {
    let s = Server::start(&["--interval", "200"]);
    let v = s.get_json("/system");
    let procs = v["processes"].as_array().unwrap();
    assert!(!procs.is_empty() && procs.len() <= 10);
    let mems: Vec<f64> = procs.iter().map(|p| p["mem"].as_f64().unwrap()).collect();
    assert!(
        mems.windows(2).all(|w| w[0] >= w[1]),
        "sorted by memory: {mems:?}"
    );
    let mut names: Vec<&str> = procs.iter().map(|p| p["name"].as_str().unwrap()).collect();
    let n = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), n, "one row per name");
    for p in procs {
        assert!(p["pid"].as_u64().unwrap() > 0);
        assert!(!p["username"].as_str().unwrap().is_empty());
        assert!((0.0..=100.0 * 64.0).contains(&p["cpu"].as_f64().unwrap()));
    }
    // Aggregation: start three `sleep`s; their group's pid is the lowest of them and the
    // group's memory is the sum (at least 3x one process's share would be flaky; check >=).
    let kids: Vec<_> = (0..3)
        .map(|_| Command::new("sleep").arg("30").spawn().unwrap())
        .collect();
    let lowest = kids.iter().map(|k| k.id()).min().unwrap();
    let found = common::wait_until(10, || {
        let v = s.get_json("/system?processes=100");
        v["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "sleep" && p["pid"].as_u64().unwrap() <= lowest as u64)
    });
    for mut k in kids {
        let _ = k.kill();
        let _ = k.wait();
    }
    assert!(found, "sleep processes are grouped under their lowest pid");
}

#[test]
fn system_query_chooses_count_and_order() {
    let s = Server::start(&["--interval", "200"]);
    let v = s.get_json("/system?processes=3&sort=cpu");
    let procs = v["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 3);
    let cpus: Vec<f64> = procs.iter().map(|p| p["cpu"].as_f64().unwrap()).collect();
    assert!(cpus.windows(2).all(|w| w[0] >= w[1]), "{cpus:?}");
    for (q, param) in [
        ("processes=0", "processes"),
        ("processes=101", "processes"),
        ("processes=ten", "processes"),
        ("sort=name", "sort"),
    ] {
        let body = common::assert_bad_parameter(s.addr, &format!("/system?{q}"), param);
        assert!(body["reason"].as_str().unwrap().len() > 5);
    }
}

#[test]
fn network_has_statistics_and_rates() {
    let s = Server::start(&["--interval", "200"]);
    let v = s.get_json("/network");
    let ifaces: Vec<&str> = v["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert!(ifaces.contains(&"lo"));
    // The original's "N/A" where there is no Wi-Fi (its web.html loops over the keys).
    assert!(
        v["wireless"] == "N/A" || v["wireless"].is_object(),
        "{}",
        v["wireless"]
    );
    if !std::path::Path::new("/proc/net/wireless").exists()
        || std::fs::read_to_string("/proc/net/wireless").is_ok_and(|t| t.lines().count() <= 2)
    {
        assert_eq!(v["wireless"], "N/A", "this host has no Wi-Fi");
    }
    for name in &ifaces {
        let st = &v["statistics"][name];
        for k in ["mb_sent", "mb_received"] {
            assert!(st[k].as_f64().unwrap() >= 0.0);
        }
        for k in ["pk_sent", "pk_received", "error_in", "error_out", "dropout"] {
            assert!(st[k].is_u64(), "{name}.{k}");
        }
        let avg = &v["averages"][name];
        assert!(avg["in"].as_f64().unwrap() >= 0.0 && avg["out"].as_f64().unwrap() >= 0.0);
    }
    // Traffic on loopback shows up as a rate within a few ticks.
    let moved = common::wait_until(10, || {
        for _ in 0..20 {
            let _ = request(s.addr, "GET", "/system", &[], b"");
        }
        s.get_json("/network")["averages"]["lo"]["in"]
            .as_f64()
            .unwrap()
            > 0.0
    });
    assert!(moved, "loopback rate rises under traffic");
}

#[test]
fn post_root_accepts_any_body() {
    let s = Server::start(&[]);
    let bodies: [(Headers, &[u8]); 5] = [
        (
            &[("Content-Type", "application/json")],
            br#"{"connection":"monitor"}"#,
        ),
        (
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"connection=monitor",
        ),
        (&[("Content-Type", "text/plain")], b"[object Object]"),
        (&[], b""),
        (
            &[("Content-Type", "application/octet-stream")],
            &[0xff, 0x00, 0xfe],
        ),
    ];
    let mut ids = Vec::new();
    for (headers, body) in bodies {
        let r = request(s.addr, "POST", "/", headers, body);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        let v = r.json();
        let id = v["id"].as_str().unwrap().to_owned();
        let parsed = uuid_v4(&id);
        assert!(parsed, "{id} is a UUID v4");
        assert!(v["status"].is_null());
        assert_eq!(v["url"], format!("ws://{}/connect?id={id}", s.addr));
        assert!(!v["message"].as_str().unwrap().is_empty());
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "ids are unique");
}

fn uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
        && s.chars()
            .filter(|c| *c != '-')
            .all(|c| c.is_ascii_hexdigit())
}

#[test]
fn errors_are_json_with_the_right_status() {
    let s = Server::start(&[]);
    let r = request(s.addr, "GET", "/nope?x=1", &[], b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "not found");
    assert_eq!(r.json()["path"], "/nope");

    for (m, p) in [
        ("DELETE", "/system"),
        ("PUT", "/"),
        ("POST", "/network"),
        ("POST", "/connect"),
    ] {
        let r = request(s.addr, m, p, &[], b"");
        assert_eq!(r.status, 405, "{m} {p}");
        let allow = r.header("Allow").expect("Allow header");
        assert!(allow.contains("GET"), "{allow}");
        assert!(r.json()["error"].as_str().unwrap().contains(m));
    }

    let big = vec![b'x'; 64 * 1024 + 1];
    let r = request(s.addr, "POST", "/", &[], &big);
    assert_eq!(r.status, 413);
    let ok = vec![b'x'; 64 * 1024];
    assert_eq!(request(s.addr, "POST", "/", &[], &ok).status, 200);

    let r = request(s.addr, "OPTIONS", "/system", &[("Origin", "http://x")], b"");
    assert_eq!(r.status, 204);
    let r2 = request(s.addr, "OPTIONS", "/anything/at/all", &[], b"");
    assert_eq!(r2.status, 204);

    let r = request(s.addr, "GET", "/connect?id=x", &[], b"");
    assert_eq!(
        r.status, 426,
        "plain GET on the websocket path asks for an upgrade"
    );

    // Every answer carries CORS and JSON types.
    for r in [r, request(s.addr, "GET", "/system", &[], b"")] {
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
        assert_eq!(
            r.header("Access-Control-Allow-Methods"),
            Some("GET, POST, OPTIONS")
        );
        assert_eq!(
            r.header("Access-Control-Allow-Headers"),
            Some("x-requested-with, content-type, authorization")
        );
        assert_eq!(r.header("Content-Type"), Some("application/json"));
    }
    // The server is still healthy after all of the above, and logged no panic.
    assert_eq!(request(s.addr, "GET", "/system", &[], b"").status, 200);
    assert!(!s.log().contains("panicked"));
}

#[test]
fn root_serves_the_embedded_page_with_etag() {
    let s = Server::start(&[]);
    let r = request(s.addr, "GET", "/", &[], b"");
    assert_eq!(r.status, 200);
    assert!(r.header("Content-Type").unwrap().starts_with("text/html"));
    assert!(r.text().contains("<html"));
    let etag = r.header("ETag").expect("ETag").to_owned();
    let r2 = request(s.addr, "GET", "/", &[("If-None-Match", &etag)], b"");
    assert_eq!(r2.status, 304);
    assert!(r2.body.is_empty());
    // Every file of the page, gzipped for browsers (its own validator), plain for others.
    for path in [
        "/",
        "/lib.js",
        "/chart.js",
        "/host.js",
        "/fleet.js",
        "/app.js",
        "/style.css",
    ] {
        let plain = request(s.addr, "GET", path, &[], b"");
        let gz = request(
            s.addr,
            "GET",
            path,
            &[("Accept-Encoding", "gzip, deflate")],
            b"",
        );
        assert_eq!((plain.status, gz.status), (200, 200), "{path}");
        assert_eq!(plain.header("Content-Encoding"), None, "{path}");
        assert_eq!(gz.header("Content-Encoding"), Some("gzip"), "{path}");
        assert_eq!(gz.header("Vary"), Some("Accept-Encoding"), "{path}");
        assert_eq!(
            common::gunzip(&gz.body).as_bytes(),
            plain.body,
            "{path} inflates to the file"
        );
        assert!(gz.body.len() * 2 < plain.body.len(), "{path} compresses");
        let tag = gz.header("ETag").unwrap().to_owned();
        assert_ne!(
            Some(tag.as_str()),
            plain.header("ETag"),
            "{path}: one ETag per encoding"
        );
        let again = request(
            s.addr,
            "GET",
            path,
            &[("Accept-Encoding", "gzip"), ("If-None-Match", &tag)],
            b"",
        );
        assert_eq!(again.status, 304, "{path}");
    }
}

#[test]
fn health_reports_ok() {
    let s = Server::start(&["--interval", "200"]);
    let v = s.get_json("/health");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["clients"], 0);
    assert!(v["last_sample_age_ms"].as_u64().unwrap() < 60_000);
    assert_eq!(v["history_seconds"], 3600, "the default --history");
    let s = Server::start(&["--history", "600"]);
    assert_eq!(s.get_json("/health")["history_seconds"], 600);
}

/// The exit code and stderr of `psmonitor ARGS...`, a command that exits at once.
fn run_cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = common::run_cli(args, env);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_mistakes_exit_2_with_one_line() {
    let cases: &[(&[&str], Headers, &str)] = &[
        (&["--port", "abc"], &[], "--port"),
        (&["--port", "70000"], &[], "--port"),
        (&["--interval", "50"], &[], "--interval"),
        (&["--max-clients", "0"], &[], "--max-clients"),
        (&["--threads", "x"], &[], "--threads"),
        (&["--address", "not-an-ip"], &[], "--address"),
        (&["--log-level", "loud"], &[], "--log-level"),
        (&["--port"], &[], "--port"),
        (&["--frobnicate"], &[], "--frobnicate"),
        (&[], &[("PSMONITOR_PORT", "x")], "PSMONITOR_PORT"),
        (&[], &[("PSMONITOR_INTERVAL", "10")], "PSMONITOR_INTERVAL"),
        (&[], &[("RUST_LOG", "psmonitor=loud")], "RUST_LOG"),
        (&["--fleet", "ftp://x"], &[], "--fleet"),
        (&["--fleet=pi, a b"], &[], "--fleet"),
        (&[], &[("PSMONITOR_FLEET", "host:0")], "PSMONITOR_FLEET"),
    ];
    for (args, env, needle) in cases {
        let (code, err) = run_cli(args, env);
        assert_eq!(code, 2, "{args:?} {env:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(needle), "{err} names {needle}");
    }
    let (code, _) = run_cli(&["--version"], &[]);
    assert_eq!(code, 0);
    // A port out of range says the range, not Rust's "number too large to fit in target type".
    for port in ["70000", "99999999999999999999"] {
        let (_, err) = run_cli(&["--port", port], &[]);
        assert!(err.contains("must be between 0 and 65535"), "{err}");
    }
    let out = common::run_cli(&["--help"], &[]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for group in [
        "SERVER:",
        "LIMITS:",
        "COLLECTORS",
        "HISTORY:",
        "FLEET",
        "SECURITY:",
        "LOGGING:",
    ] {
        assert!(help.contains(group), "--help has no {group} group");
    }
}

#[test]
fn port_in_use_exits_1_and_env_settings_apply() {
    let s = Server::builder()
        .env("PSMONITOR_INTERVAL", "250")
        .env("PSMONITOR_MAX_CLIENTS", "7")
        .start();
    assert!(
        s.log().contains("interval 250 ms") && s.log().contains("max clients 7"),
        "{}",
        s.log()
    );
    let Some(e) = Server::builder().port(s.addr.port()).try_start().err() else {
        panic!("a second server started on port {}", s.addr.port());
    };
    assert_eq!(e.code(), Some(1), "{e}");
    let err = e.log;
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cannot listen"), "{err}");
}

#[test]
fn rust_log_directives_filter_by_module() {
    // Default warn, but the server module at info: the listening line shows, session lines don't.
    let s = Server::builder()
        .env("RUST_LOG", "warn,psmonitor::server=info")
        .start();
    let id = s.worker();
    let r = request(s.addr, "GET", &format!("/connect?id={id}"), &[], b"");
    assert_eq!(r.status, 426);
    assert!(s.log().contains("listening on"));
    assert!(!s.log().contains(" INFO  [psmonitor::session]"));
}

/// `diskio` (node_exporter's devices, rates over the interval) and `pressure` (PSI) in
/// `/system`, present where the host has them and absent where it does not.
#[test]
fn system_has_diskio_and_pressure_where_the_host_has_them() {
    // This host: present exactly where the kernel has the files.
    let s = Server::start(&["--interval", "200"]);
    let diskstats = std::path::Path::new("/proc/diskstats").exists();
    assert!(wait_until(5, || s.get_json("/system")["diskio"].is_array()
        || !diskstats));
    let v = s.get_json("/system");
    assert_eq!(
        v["diskio"].is_array(),
        diskstats,
        "diskio present iff /proc/diskstats"
    );
    let psi = std::fs::read_to_string("/proc/pressure/cpu").is_ok();
    assert_eq!(
        v["pressure"].is_object(),
        psi,
        "pressure present iff the kernel has PSI"
    );
    check_diskio_and_pressure(&v);
    // The laptop fixture has both, with known answers: nothing is checked only if present.
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/laptop");
    let s = Server::start(&[
        "--interval",
        "200",
        "--path.procfs",
        &format!("{fixture}/proc"),
        "--path.sysfs",
        &format!("{fixture}/sys"),
    ]);
    assert!(wait_until(5, || s.get_json("/system")["diskio"].is_array()));
    let v = s.get_json("/system");
    check_diskio_and_pressure(&v);
    let nvme = v["diskio"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "nvme0n1")
        .expect("nvme0n1 in diskio");
    assert_eq!(nvme["read_bytes"], 23_387_597_312u64);
    assert_eq!(nvme["write_bytes"], 44_879_012_352u64);
    assert_eq!(v["pressure"]["cpu"]["some"]["avg10"], 1.2);
    assert_eq!(v["pressure"]["io"]["some"]["avg300"], 0.22);
}

/// `diskio` and `pressure`, each checked whenever present (the caller says when they must be).
fn check_diskio_and_pressure(v: &serde_json::Value) {
    for d in v["diskio"].as_array().into_iter().flatten() {
        let name = d["name"].as_str().unwrap();
        assert!(
            !name.starts_with("loop") && !name.starts_with("ram"),
            "{name}"
        );
        for k in [
            "read_bytes_per_s",
            "write_bytes_per_s",
            "reads_per_s",
            "writes_per_s",
        ] {
            assert!(d[k].as_f64().unwrap() >= 0.0, "{name}.{k}");
        }
        let busy = d["busy_percent"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&busy), "{name}.busy_percent {busy}");
        assert!(d["read_bytes"].is_u64() && d["write_bytes"].is_u64());
    }
    if v["pressure"].is_object() {
        for r in ["cpu", "memory", "io"] {
            let some = &v["pressure"][r]["some"];
            for k in ["avg10", "avg60", "avg300"] {
                let x = some[k].as_f64().unwrap();
                assert!((0.0..=100.0).contains(&x), "{r}.some.{k} {x}");
            }
        }
    }
}

#[test]
fn fleet_lists_the_servers_from_the_flag_or_the_environment() {
    let plain = Server::start(&[]);
    assert_eq!(plain.get_json("/fleet"), serde_json::json!({"hosts": []}));
    // Spaces trimmed, empty entries dropped, each kept as written; the flag beats the env.
    let flag = Server::builder()
        .args(&[
            "--fleet",
            " pi.lan, ,nas:4501,[::1]:4500,https://h.example/psm/ ",
        ])
        .env("PSMONITOR_FLEET", "ignored")
        .start();
    assert_eq!(
        flag.get_json("/fleet")["hosts"],
        serde_json::json!(["pi.lan", "nas:4501", "[::1]:4500", "https://h.example/psm/"])
    );
    // Under the token like /system.
    let env = Server::builder()
        .env("PSMONITOR_FLEET", "a,b:1")
        .env("PSMONITOR_TOKEN", "s3cret")
        .start();
    let r = request(env.addr, "GET", "/fleet", &[], b"");
    assert_eq!(r.status, 401, "{}", r.text());
    let bearer = [("Authorization", "Bearer s3cret")];
    let r = request(env.addr, "GET", "/fleet", &bearer, b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), serde_json::json!({"hosts": ["a", "b:1"]}));
}

#[test]
fn history_buckets_and_fields() {
    let s = Server::start(&["--interval", "100"]);
    let get = |q: &str| {
        s.get_json(&format!("/history{q}"))
            .as_array()
            .unwrap()
            .clone()
    };
    assert!(wait_until(10, || get("").len() >= 5), "some history");
    let buckets = get("?step=1&fields=cpu,temp");
    let points = get("");
    assert!(!buckets.is_empty() && buckets.len() <= points.len());
    let mut seconds = Vec::new();
    for b in &buckets {
        let mut keys: Vec<&String> = b.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["cpu", "cpu_max", "cpu_min", "t", "temp"], "{b}");
        assert!((0.0..=100.0).contains(&b["cpu"].as_f64().unwrap()));
        assert!(b["temp"].is_null() || b["temp"].is_number());
        seconds.push(b["t"].as_f64().unwrap().floor());
    }
    assert!(
        seconds.windows(2).all(|w| w[0] < w[1]),
        "one per second: {seconds:?}"
    );
    // One or two buckets of an hour (the last minutes may cross an hour boundary).
    let hours = get("?step=3600&seconds=60");
    assert!((1..=2).contains(&hours.len()), "{}", hours.len());
    assert_eq!(
        hours[0].as_object().unwrap().len(),
        15,
        "every field without fields=, and a mean's cpu and mem min and max"
    );
    assert_eq!(get("?fields=t,load1")[0].as_object().unwrap().len(), 2);
    for (bad, param) in [
        ("step=0", "step"),
        ("step=86401", "step"),
        ("seconds=63072001", "seconds"),
        ("step=1.5", "step"),
        ("step=abc", "step"),
        ("fields=", "fields"),
        ("fields=cpu,bogus", "fields"),
    ] {
        common::assert_bad_parameter(s.addr, &format!("/history?{bad}"), param);
    }
    let body = common::assert_bad_parameter(s.addr, "/history?fields=bogus", "fields");
    let reason = body["reason"].as_str().unwrap();
    for name in [
        "cpu", "temp", "mem", "swap", "disk", "net_in", "net_out", "load1", "top_mem",
    ] {
        assert!(reason.contains(name), "{reason} lists {name}");
    }
}

#[test]
fn history_is_gzipped_when_the_client_accepts_it() {
    let s = Server::start(&["--interval", "100"]);
    let gzip = [("Accept-Encoding", "gzip")];
    let r = request(s.addr, "GET", "/history", &gzip, b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    let points: Value = serde_json::from_str(&common::gunzip(&r.body)).expect("JSON inside");
    assert!(!points.as_array().unwrap().is_empty());
    let plain = request(s.addr, "GET", "/history", &[], b"");
    assert_eq!(plain.header("Content-Encoding"), None);
    assert_eq!(plain.header("Vary"), Some("Accept-Encoding"));
    assert!(plain.json().is_array());
}
