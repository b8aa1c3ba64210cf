//! `/history` against the real binary: tiers and the bounded answer, a wall clock that jumps,
//! and the abuse the history door must survive (pipelined hang-ups from several addresses,
//! slow readers inside a 64 MB memory cgroup).

mod common;

use common::{connect_from, read_response, request, wait_until, Server};
use serde_json::Value;
use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

fn history(s: &Server, q: &str) -> (Vec<Value>, common::Resp) {
    let r = request(s.addr, "GET", &format!("/history{q}"), &[], b"");
    assert_eq!(r.status, 200, "{q}: {}", r.text());
    (r.json().as_array().expect("an array").clone(), r)
}

#[test]
fn a_month_comes_from_the_minute_tier_in_at_most_2000_points() {
    let s = Server::start(&["--test-history-fill", &(40 * 86_400).to_string()]);
    let health = s.get_json("/health");
    let points = health["history_points"].as_u64().unwrap();
    let bytes = health["history_bytes"].as_u64().unwrap();
    // 3 600 raw, 43 200 minutes, 960 hours.
    assert!(points >= 47_000, "{health}");
    assert!(
        bytes / points <= 80,
        "{} bytes a point: {health}",
        bytes / points
    );
    assert!(health["history_seconds"].as_u64().unwrap() >= 30 * 86_400);
    assert!(health["history_disk_bytes"].is_null(), "memory only");
    for (seconds, tier, step, most) in [
        (300, "raw", "1", 301),
        (3600, "raw", "2", 1801),
        (7 * 86_400, "1m", "303", 2000),
        (30 * 86_400, "1m", "1297", 2000),
        (365 * 86_400, "1h", "15776", 2000),
    ] {
        let (got, r) = history(&s, &format!("?seconds={seconds}"));
        assert_eq!(r.header("X-History-Tier"), Some(tier), "{seconds}");
        assert_eq!(r.header("X-History-Step"), Some(step), "{seconds}");
        assert!(
            !got.is_empty() && got.len() <= most,
            "{seconds}: {}",
            got.len()
        );
        let ts: Vec<f64> = got.iter().map(|p| p["t"].as_f64().unwrap()).collect();
        assert!(ts.windows(2).all(|w| w[0] < w[1]), "{seconds}: in order");
        if tier != "raw" {
            let p = &got[0];
            assert!(p["cpu_min"].as_f64() <= p["cpu"].as_f64(), "{p}");
            assert!(p["cpu_max"].as_f64() >= p["cpu"].as_f64(), "{p}");
        }
    }
    // A step larger than the cap's is kept.
    let (got, r) = history(&s, "?seconds=2592000&step=86400&fields=cpu");
    assert_eq!(r.header("X-History-Step"), Some("86400"));
    assert!((30..=31).contains(&got.len()), "{}", got.len());
}

/// Writes the wall-clock offset the server adds to its history points.
fn set_offset(file: &PathBuf, seconds: f64) {
    std::fs::write(file, seconds.to_string()).unwrap();
}

#[test]
fn a_clock_jump_neither_reorders_nor_loses_points() {
    let dir = tempdir("clock");
    let offset = dir.join("offset");
    set_offset(&offset, 0.0);
    let s = Server::start(&[
        "--interval",
        "100",
        "--test-wall-offset-file",
        offset.to_str().unwrap(),
    ]);
    let ts = |q: &str| -> Vec<f64> {
        history(&s, q)
            .0
            .iter()
            .map(|p| p["t"].as_f64().unwrap())
            .collect()
    };
    assert!(wait_until(20, || ts("?seconds=3").len() >= 30), "30 points");
    set_offset(&offset, -3600.0);
    let jumped = |t: &[f64]| t.windows(2).filter(|w| w[1] < w[0] - 1800.0).count();
    assert!(
        wait_until(20, || {
            let t = ts("?seconds=3");
            t.len() == 30 && jumped(&t) == 1 && t.last() < t.first()
        }),
        "after the jump back, the newest 3 s are 30 points with one step back: {:?}",
        ts("?seconds=3")
    );
    // Forward two hours, then back to the true time: the hour shows every point held.
    set_offset(&offset, 3600.0);
    assert!(wait_until(20, || ts("?seconds=1").last() > Some(&(now() + 1800.0))));
    set_offset(&offset, 0.0);
    assert!(wait_until(20, || ts("?seconds=1").last() < Some(&(now() + 60.0))));
    // Everything held (a few hundred raw points), in arrival order: between the three jumps,
    // one point every 100 ms with no gap (nothing lost), and each jump exactly once.
    let all = ts("?seconds=150"); // raw: 200 s at 100 ms would be over the 2 000-point cap
    let steps: Vec<f64> = all.windows(2).map(|w| w[1] - w[0]).collect();
    let back = steps.iter().filter(|d| **d < -1800.0).count();
    let forward = steps.iter().filter(|d| **d > 1800.0).count();
    assert_eq!((back, forward), (2, 1), "{steps:?}");
    assert!(
        steps
            .iter()
            .all(|d| d.abs() > 1800.0 || (0.0..1.0).contains(d)),
        "no gap, no reordering: {steps:?}"
    );
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A fresh directory on /dev/shm: a tmpfs, where fsync costs nothing (on a shared disk under
/// load one can take seconds, and a killed process in fsync cannot die until it returns).
fn tempdir(name: &str) -> PathBuf {
    let dir = PathBuf::from("/dev/shm").join(format!("psmonitor-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Sockets the server process holds open.
fn sockets(s: &Server) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", s.pid()))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn pipelined_hang_ups_from_several_addresses_are_dropped() {
    // Half an hour at 1 s: each answer is ~1 800 points, about 600 KB.
    let s = Server::start(&["--test-history-fill", "1800", "--log-level", "debug"]);
    let idle = sockets(&s);
    let request = "GET /history?seconds=3600 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(300);
    let mut conns: Vec<TcpStream> = Vec::new();
    for a in 2..6 {
        for _ in 0..16 {
            let mut c = connect_from(&format!("127.0.0.{a}"), s.addr);
            c.write_all(request.as_bytes()).unwrap();
            conns.push(c);
        }
    }
    // Each has its first answer coming; then they all hang up with it unread.
    for c in &mut conns {
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut b = [0; 1];
        c.peek(&mut b).expect("an answer starts");
    }
    drop(conns);
    assert!(
        wait_until(60, || sockets(&s) <= idle),
        "the server closes the 64 connections ({} sockets, {idle} idle)",
        sockets(&s)
    );
    let served = s.log().matches("GET /history").count();
    assert!(
        served <= 64 * 3,
        "{served} of 19 200 pipelined requests handled after the hang-ups"
    );
    assert_eq!(request_status(&s, "/system"), 200);
}

fn request_status(s: &Server, path: &str) -> u16 {
    request(s.addr, "GET", path, &[], b"").status
}

/// A child of this process's memory cgroup (v1 or v2) limited to `bytes`; the test fails when
/// none can be made (run as root, as .ci/run does).
fn memory_cgroup(bytes: u64) -> (PathBuf, &'static str) {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let v1 = own
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_owned()));
    let (base, limit_file, events) = match v1 {
        Some(p) => (
            PathBuf::from(format!("/sys/fs/cgroup/memory{p}")),
            "memory.limit_in_bytes",
            "memory.oom_control",
        ),
        None => {
            let p = own
                .lines()
                .find_map(|l| l.strip_prefix("0::"))
                .expect("a cgroup v2 line in /proc/self/cgroup");
            (
                PathBuf::from(format!("/sys/fs/cgroup{p}")),
                "memory.max",
                "memory.events",
            )
        }
    };
    let dir = base.join(format!("psmonitor-history-{}", std::process::id()));
    let _ = std::fs::remove_dir(&dir);
    std::fs::create_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot make the memory cgroup {}: {e}", dir.display()));
    std::fs::write(dir.join(limit_file), bytes.to_string())
        .unwrap_or_else(|e| panic!("cannot limit {}: {e}", dir.display()));
    (dir, events)
}

fn oom_kills(dir: &std::path::Path, events: &str) -> u64 {
    std::fs::read_to_string(dir.join(events))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn slow_readers_in_a_64_mb_cgroup_get_503_and_the_server_lives() {
    let (cgroup, events) = memory_cgroup(64 << 20);
    let mut s = Server::builder()
        .args(&["--interval", "100", "--test-history-fill", "3600"])
        .cgroup(&cgroup)
        .start();
    // 64 connections from 4 addresses ask for an hour at 100 ms (2 000 points, ~700 KB) and
    // never read.
    let mut readers = Vec::new();
    for a in 2..6 {
        for _ in 0..15 {
            let mut c = common::connect_with(s.addr, Some(&format!("127.0.0.{a}")), Some(4096));
            c.write_all(b"GET /history?seconds=3600 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                .unwrap();
            readers.push(c);
        }
    }
    assert!(
        wait_until(60, || s.log().contains("answers waiting for slow readers")),
        "the budget fills and says so: {}",
        s.log()
    );
    let r = request(s.addr, "GET", "/history?seconds=3600", &[], b"");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("Retry-After").is_some());
    assert_eq!(
        request_status(&s, "/health"),
        200,
        "small answers still go out"
    );
    assert_eq!(
        s.log().matches("answers waiting for slow readers").count(),
        1,
        "logged once"
    );
    let rss = s.rss_kb();
    eprintln!("RSS with 60 slow readers: {rss} kB");
    assert!(rss < 48 * 1024, "RSS {rss} kB");
    assert_eq!(oom_kills(&cgroup, events), 0);
    assert!(s.child.try_wait().unwrap().is_none(), "the server lives");
    // Readers that read get their answers, and the budget is given back.
    for c in &mut readers {
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    }
    for c in readers.iter_mut().take(3) {
        let r = read_response(c, Duration::from_secs(30)).expect("the answer");
        assert!(r.status == 200 || r.status == 503, "{}", r.status);
    }
    drop(readers);
    assert!(wait_until(30, || request_status(
        &s,
        "/history?seconds=3600"
    ) == 200));
    s.signal(libc::SIGTERM);
    s.wait_exit(10);
    let _ = std::fs::remove_dir(&cgroup);
}

fn health_u64(s: &Server, key: &str) -> u64 {
    s.get_json("/health")[key].as_u64().unwrap_or(0)
}

/// A server keeping its history in `dir`, saving every 200 ms instead of every minute.
fn saving(dir: &std::path::Path) -> Server {
    Server::start(&[
        "--interval",
        "100",
        "--state-dir",
        dir.to_str().unwrap(),
        "--test-save-every",
        "200",
    ])
}

/// Raw points (the newest 150 s at 100 ms: 1 500 points, under the 2 000 cap that would
/// otherwise turn them into 1 s buckets) that look like real ones (no garbage).
fn sane_points(s: &Server) -> usize {
    let (points, _) = history(s, "?seconds=150");
    let now = now();
    for p in &points {
        let t = p["t"].as_f64().unwrap();
        assert!((now - 7200.0..now + 60.0).contains(&t), "{p}");
        assert!((0.0..=100.0).contains(&p["cpu"].as_f64().unwrap()), "{p}");
    }
    points.len()
}

#[test]
fn the_history_survives_sigterm_and_kill_9() {
    let dir = tempdir("state");
    let mut s = saving(&dir);
    assert!(wait_until(20, || health_u64(&s, "history_points") >= 20));
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(10).is_some_and(|st| st.success()));
    let mut s = saving(&dir);
    assert!(s.log().contains("history loaded from"), "{}", s.log());
    let loaded = health_u64(&s, "history_points");
    assert!(loaded >= 20, "{loaded} points after SIGTERM");
    // kill -9 between writes: what was saved before is there after.
    let held = health_u64(&s, "history_points");
    let disk = health_u64(&s, "history_disk_bytes");
    assert!(wait_until(20, || health_u64(&s, "history_disk_bytes") > disk));
    let grown = health_u64(&s, "history_disk_bytes");
    assert!(wait_until(20, || health_u64(&s, "history_disk_bytes") > grown));
    s.signal(libc::SIGKILL);
    s.wait_exit(10);
    let s = saving(&dir);
    assert!(
        health_u64(&s, "history_points") >= held,
        "{} points after kill -9, {held} held before",
        health_u64(&s, "history_points")
    );
    assert!(sane_points(&s) > 0);
    for e in std::fs::read_dir(&dir).unwrap() {
        let m = e.unwrap().metadata().unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777;
        assert_eq!(mode, 0o600, "files only the service user reads");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Stops `s` cleanly (so every point is saved).
fn stop(mut s: Server) {
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(10).is_some_and(|st| st.success()));
}

fn set_aside(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        })
        .count()
}

#[test]
fn torn_and_corrupt_state_files_are_set_aside_never_served() {
    let dir = tempdir("corrupt");
    let s = saving(&dir);
    assert!(wait_until(20, || health_u64(&s, "history_points") >= 20));
    stop(s);
    // A journal torn in its last record: the records before it are kept.
    let journal = dir.join("journal.0");
    let bytes = std::fs::read(&journal).unwrap();
    std::fs::write(&journal, &bytes[..bytes.len() - 3]).unwrap();
    let s = saving(&dir);
    assert!(s.log().contains("set aside"), "{}", s.log());
    assert_eq!(set_aside(&dir), 1);
    assert!(health_u64(&s, "history_points") >= 10, "the good records");
    assert!(sane_points(&s) >= 10);
    stop(s);
    // The image (written when the journal was set aside) full of random bytes; then a journal
    // of random bytes too.
    let image = dir.join("history.img");
    assert!(image.exists());
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    };
    let len = std::fs::metadata(&image).unwrap().len() as usize;
    std::fs::write(&image, noise(len)).unwrap();
    let journals: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("journal.") && !n.contains("corrupt")
        })
        .collect();
    for j in &journals {
        std::fs::write(j, noise(5000)).unwrap();
    }
    let s = saving(&dir);
    assert!(s.log().contains("set aside"), "{}", s.log());
    assert!(set_aside(&dir) >= 2, "the image too");
    let _ = sane_points(&s);
    assert_eq!(request_status(&s, "/system"), 200);
    // A state directory that is a file: logged, memory only.
    drop(s);
    let file = dir.join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let s = Server::start(&["--state-dir", file.to_str().unwrap()]);
    assert!(s.log().contains("memory only"), "{}", s.log());
    assert_eq!(request_status(&s, "/history"), 200);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_disk_is_logged_once_and_the_history_goes_on() {
    let dir = tempdir("full");
    let status = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=16k",
            "tmpfs",
            dir.to_str().unwrap(),
        ])
        .status()
        .expect("mount (run as root, as .ci/run does)");
    assert!(status.success(), "mount a 16 KiB tmpfs (needs root)");
    let s = saving(&dir);
    assert!(
        wait_until(60, || s.log().contains("cannot save the history")),
        "{}",
        s.log()
    );
    let before = health_u64(&s, "history_points");
    assert!(wait_until(20, || health_u64(&s, "history_points") > before + 10));
    assert_eq!(
        s.log().matches("cannot save the history").count(),
        1,
        "logged once"
    );
    assert!(sane_points(&s) > 0);
    drop(s);
    let _ = std::process::Command::new("umount").arg(&dir).status();
    let _ = std::fs::remove_dir_all(&dir);
}
