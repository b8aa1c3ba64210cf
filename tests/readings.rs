//! Numbers that never lie: the real binary on fixture procfs trees that change between ticks
//! (`--path.procfs`, `--path.sysfs`), and every view — `/system`, `/network`, `/history`,
//! `/metrics`, `/api/4` — checked after the change.
//!
//! A one-tick spike is caught in `/history` (it keeps every tick) or in the websocket stream
//! (every frame), not by polling.

mod common;
use common::{request, wait_until, Server};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A private copy of fixture `host`'s `/proc` and `/sys`, removed when dropped.
struct Tree(PathBuf);

impl Tree {
    fn new(host: &str, test: &str) -> Tree {
        let dir =
            std::env::temp_dir().join(format!("psmonitor-readings-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(host);
        for sub in ["proc", "sys"] {
            let ok = std::process::Command::new("cp")
                .args(["-r"])
                .arg(src.join(sub))
                .arg(&dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "copying the {host} fixture");
        }
        Tree(dir)
    }

    /// Replaces `proc/<rel>` at once (a rename, so the server never reads half a file).
    fn write(&self, rel: &str, text: &str) {
        let path = self.0.join("proc").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let tmp = path.with_extension("new");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }

    fn serve(&self) -> Server {
        let proc = self.0.join("proc");
        let sys = self.0.join("sys");
        Server::start(&[
            "--interval",
            "100",
            "--path.procfs",
            proc.to_str().unwrap(),
            "--path.sysfs",
            sys.to_str().unwrap(),
        ])
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `t` of the newest `/history` point.
fn newest(s: &Server) -> f64 {
    s.get_json("/history")
        .as_array()
        .and_then(|p| p.last())
        .and_then(|p| p["t"].as_f64())
        .unwrap_or(0.0)
}

/// Waits for `n` more ticks to be recorded.
fn ticks(s: &Server, n: usize) {
    for _ in 0..n {
        let t = newest(s);
        assert!(wait_until(20, || newest(s) > t), "the sampler stopped");
    }
}

const NET_HEAD: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
";

fn net_dev(rx: u64) -> String {
    format!("{NET_HEAD}    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n  eth0: {rx} 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n")
}

/// eth0's received bytes leap from 500 to 2^64 − 10 and then grow by a kilobyte: no view ever
/// shows more than the kilobyte's rate (the leap is a reset: 0 for its tick, then a new
/// baseline), and the spike never reaches `/history`.
#[test]
fn a_counter_that_leaps_is_a_reset() {
    let tree = Tree::new("vm", "leap");
    tree.write("net/dev", &net_dev(500));
    let s = tree.serve();
    ticks(&s, 2);
    tree.write("net/dev", &net_dev(u64::MAX - 10_000));
    ticks(&s, 2);
    tree.write("net/dev", &net_dev(u64::MAX - 9_000));
    ticks(&s, 2);
    let history = s.get_json("/history");
    let top = history
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["net_in"].as_f64().unwrap_or(0.0))
        .fold(0.0, f64::max);
    // A kilobyte in one 100 ms tick (give or take a slow tick) is well under 1 MB/s.
    assert!(top < 1.0, "a spike of {top} MB/s in /history: {history}");
    assert!(
        top > 0.0,
        "the kilobyte after the reset was not counted: {history}"
    );
    let net = s.get_json("/network");
    assert!(
        net["averages"]["eth0"]["in"].as_f64().unwrap() < 1.0,
        "{net}"
    );
    for item in s.get_json("/api/4/network").as_array().unwrap() {
        let rate = item["bytes_recv_rate_per_sec"].as_f64().unwrap();
        assert!((0.0..1e6).contains(&rate), "{item}");
        assert!(item["bytes_recv"].as_u64().unwrap() <= 1000, "{item}");
    }
}

fn stat(cpus: &[(u32, u64, u64)]) -> String {
    let mut text = String::from("cpu  1000 0 1000 100000 0 0 0 0 0 0\n");
    for (n, user, idle) in cpus {
        text.push_str(&format!("cpu{n} {user} 0 0 {idle} 0 0 0 0 0 0\n"));
    }
    text.push_str(
        "intr 0\nctxt 0\nbtime 1700000000\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n",
    );
    text
}

/// cpu1 goes offline (its line vanishes): cpu2 keeps its number in `/api/4/percpu` and
/// `/metrics`, and no CPU is compared with another's counters (cpu2, busier than cpu1 ever
/// was, would otherwise show a burst in the websocket stream).
#[test]
fn an_offline_cpu_does_not_shift_the_others() {
    let tree = Tree::new("vm", "offline");
    let all = [
        (0, 100, 100_000),
        (1, 100, 100_000),
        (2, 200_000, 100),
        (3, 100, 100_000),
    ];
    tree.write("stat", &stat(&all));
    let s = tree.serve();
    ticks(&s, 2);
    let mut ws = s.session();
    tree.write("stat", &stat(&[all[0], all[2], all[3]]));
    ticks(&s, 3);
    // Every frame since the change: nothing moved, so every CPU is idle.
    let mut frames = 0;
    while let Ok(tungstenite::Message::Text(t)) = ws.read() {
        frames += 1;
        assert!(frames < 100, "no frame with three CPUs");
        // The greeting is not JSON.
        let Ok(v) = serde_json::from_str::<Value>(&t) else {
            continue;
        };
        let cores = &v["cpu"]["cores"];
        if cores.as_array().is_some_and(|c| c.len() == 3) {
            assert_eq!(cores, &serde_json::json!([0.0, 0.0, 0.0]), "{v}");
            break;
        }
    }
    let percpu = s.get_json("/api/4/percpu");
    let numbers: Vec<u64> = percpu
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cpu_number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [0, 2, 3], "{percpu}");
    for c in percpu.as_array().unwrap() {
        for (k, v) in c.as_object().unwrap() {
            if let Some(x) = v.as_f64() {
                assert!(k == "cpu_number" || (0.0..=100.0).contains(&x), "{c}");
            }
        }
    }
    let metrics = request(s.addr, "GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains("psmonitor_cpu_core_usage_percent{cpu=\"2\"}"),
        "{metrics}"
    );
    assert!(!metrics.contains("psmonitor_cpu_core_usage_percent{cpu=\"1\"}"));
}

/// `/proc/PID/stat` of a process named `comm`, started at `start`, with `ticks` of CPU.
fn pid_stat(pid: u32, comm: &str, ticks: u64, start: u64) -> String {
    format!("{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 100 0 0 0 {ticks} 0 0 0 20 0 1 0 {start} 1000000 250 18446744073709551615\n")
}

/// Pid 4242 exits and a new process gets its pid (a new start time) with more CPU ticks
/// than the old one had: it starts from nothing instead of inheriting the old one's
/// counters, so no tick shows it near 1,000,000 % (`/history` keeps each tick's top CPU).
#[test]
fn a_reused_pid_starts_over() {
    let tree = Tree::new("vm", "pidreuse");
    tree.write("4242/stat", &pid_stat(4242, "old", 5, 100));
    let s = tree.serve();
    ticks(&s, 2);
    tree.write("4242/stat", &pid_stat(4242, "new", 1_000_000_000, 999_999));
    ticks(&s, 3);
    let history = s.get_json("/history");
    for p in history.as_array().unwrap() {
        for top in p["top_cpu"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| !t.is_null())
        {
            let v = top["value"]
                .as_f64()
                .or_else(|| top.get(1).and_then(Value::as_f64));
            assert!(v.is_some_and(|v| v <= 100.0 * 64.0), "{p}");
        }
    }
    let list = s.get_json("/api/4/processlist");
    let new = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == 4242)
        .expect("pid 4242");
    assert_eq!(new["cpu_percent"], 0.0, "{new}");
}

/// A 64 KiB `comm` (the kernel's is 16 bytes; a fixture or a hostile tree is not bound by
/// that) is cut to 256 bytes in every view.
#[test]
fn long_names_are_capped() {
    let tree = Tree::new("vm", "comm");
    let long = "x".repeat(64 * 1024);
    tree.write("4243/stat", &pid_stat(4243, &long, 5, 100));
    let s = tree.serve();
    ticks(&s, 2);
    let system = s.get_json("/system");
    let names: Vec<&str> = system["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("xxx")), "{names:?}");
    assert!(names.iter().all(|n| n.len() <= 256), "{names:?}");
    for p in s.get_json("/api/4/processlist").as_array().unwrap() {
        assert!(p["name"].as_str().unwrap().len() <= 256);
    }
}
