//! psmonitor's Glances API against the real Glances 4.5.8 (PyPI, in a venv under the target
//! directory; `.ci/run` installs python3-venv), on the same input: the fixture hosts' `/sys`
//! seen by Glances through a private mount namespace (`unshare -m`, the fixture bind-mounted
//! over `/sys`; needs root, as CI runs) and by psmonitor through `--path.sysfs`, and this
//! host itself for the rest. Compared: every field Home Assistant's `glances-api` and
//! Homepage's widgets read that is stable between two readings.

mod common;
use common::Server;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The Glances whose API psmonitor speaks.
const GLANCES: &str = "glances==4.5.8";

/// The venv's `glances`, created on first use (tests of this binary share it).
fn glances() -> PathBuf {
    static ONCE: Mutex<()> = Mutex::new(());
    let _one = ONCE.lock().unwrap_or_else(|e| e.into_inner());
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("glances-4.5.8");
    let bin = venv.join("bin/glances");
    if !bin.exists() {
        common::ensure_tool("python3", "python3");
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "python3 -m venv failed: apt-get install -y python3-venv"
        );
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", GLANCES])
            .status();
        assert!(
            pip.is_ok_and(|s| s.success()),
            "pip install {GLANCES} failed"
        );
    }
    bin
}

/// Glances' `--stdout-json` line for `plugins`, on this host or with `sys` bind-mounted over
/// `/sys` in a private mount namespace.
fn glances_json(plugins: &str, sys: Option<&Path>) -> Value {
    let bin = glances();
    let run = format!("{} --stdout-json {plugins} --stop-after 2", bin.display());
    let out = match sys {
        None => Command::new("sh").args(["-c", &run]).output(),
        Some(sys) => Command::new("unshare")
            .args(["-m", "sh", "-c"])
            .arg(format!(
                "mount --make-rprivate / && mount --bind {} /sys && {run}",
                sys.display()
            ))
            .output(),
    }
    .expect("running glances");
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().rev().find(|l| l.starts_with('{'));
    serde_json::from_str(last.unwrap_or_default()).unwrap_or_else(|e| {
        panic!(
            "no JSON from glances ({e}); needs root for unshare -m: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn fixture_sys(host: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(host)
        .join("sys")
}

/// Items keyed and sorted, with only `fields`, for a comparison that ignores the order of
/// items Glances leaves open (its de-duplication goes through a set).
fn items(list: &Value, fields: &[&str]) -> Vec<Vec<(String, Value)>> {
    let mut out: Vec<Vec<(String, Value)>> = list
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|i| {
            fields
                .iter()
                .map(|f| (f.to_string(), i.get(*f).cloned().unwrap_or(Value::Null)))
                .collect()
        })
        .collect();
    out.sort_by_key(|i| format!("{i:?}"));
    out
}

/// Sensors of the laptop (hwmon chips with and without labels, thresholds, an NVMe, a fan,
/// a battery on mains, thermal zones that duplicate hwmon) and the Pi (one unlabelled
/// `cpu_thermal`): labels, values, units, types, thresholds and status as Glances'.
#[test]
fn sensors_match_glances_on_fixture_hosts() {
    for host in ["laptop", "pi"] {
        let sys = fixture_sys(host);
        let theirs = glances_json("sensors", Some(&sys));
        let s = Server::start(&["--path.sysfs", sys.to_str().unwrap()]);
        let ours = s.get_json("/api/4/sensors");
        let fields = [
            "label", "value", "unit", "type", "warning", "critical", "status", "key",
        ];
        assert_eq!(
            items(&ours, &fields),
            items(&theirs["sensors"], &fields),
            "{host}: ours {ours}\ntheirs {}",
            theirs["sensors"]
        );
        assert!(!ours.as_array().unwrap().is_empty(), "{host}: no sensors");
    }
}

/// This host: the fields of `mem`, `system`, `load`, `fs`, `network` and `processcount`
/// that do not move between two readings, and the lists' keys.
#[test]
fn host_plugins_match_glances() {
    let theirs = glances_json("mem,memswap,system,load,fs,network,percpu", None);
    let s = Server::start(&[]);
    let ours = |p: &str| s.get_json(&format!("/api/4/{p}"));
    assert_eq!(ours("system"), theirs["system"], "system");
    let (m, t) = (ours("mem"), &theirs["mem"]);
    assert_eq!(m["total"], t["total"]);
    // MemFree, not MemAvailable: far apart on any host with a page cache; within 5 % of
    // total of each other whatever moved between the two readings.
    let near = |a: &Value, b: &Value| {
        (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 0.05 * t["total"].as_f64().unwrap()
    };
    for f in ["free", "available", "used", "cached"] {
        assert!(near(&m[f], &t[f]), "mem.{f}: ours {m}, theirs {t}");
    }
    assert_eq!(ours("memswap")["total"], theirs["memswap"]["total"]);
    assert_eq!(ours("load")["cpucore"], theirs["load"]["cpucore"]);
    let keys = |v: &Value, k: &str| items(v, &[k]);
    assert_eq!(
        keys(&ours("fs"), "mnt_point"),
        keys(&theirs["fs"], "mnt_point"),
        "fs"
    );
    assert_eq!(
        items(
            &ours("fs"),
            &["mnt_point", "device_name", "fs_type", "size", "key"]
        ),
        items(
            &theirs["fs"],
            &["mnt_point", "device_name", "fs_type", "size", "key"]
        ),
    );
    assert_eq!(
        keys(&ours("network"), "interface_name"),
        keys(&theirs["network"], "interface_name"),
        "network: ours {}, theirs {}",
        ours("network"),
        theirs["network"]
    );
    assert_eq!(
        keys(&ours("percpu"), "cpu_number"),
        keys(&theirs["percpu"], "cpu_number")
    );
    // What a client reads off each network item is there, with Glances' types.
    for (o, t) in ours("network")
        .as_array()
        .unwrap()
        .iter()
        .zip(theirs["network"].as_array().unwrap())
    {
        for f in [
            "bytes_recv",
            "bytes_sent",
            "bytes_recv_gauge",
            "bytes_sent_gauge",
            "speed",
            "time_since_update",
            "alias",
            "key",
        ] {
            assert_eq!(
                std::mem::discriminant(&o[f]),
                std::mem::discriminant(&t[f]),
                "network.{f}: ours {o}, theirs {t}"
            );
        }
    }
}

/// `status`, `version`, a list plugin's empty field, and `all` gzipped.
#[test]
fn status_version_empty_fields_and_gzip() {
    let s = Server::start(&[]);
    assert_eq!(
        s.get_json("/api/4/status"),
        serde_json::json!({"version": "4.5.8"})
    );
    assert_eq!(s.get_json("/api/4/version"), serde_json::json!("4.5.8"));
    assert_eq!(
        s.get_json("/api/4/gpu/name"),
        serde_json::json!({"name": []})
    );
    let r = common::request(
        s.addr,
        "GET",
        "/api/4/all",
        &[("Accept-Encoding", "gzip")],
        b"",
    );
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    let all: Value = serde_json::from_str(&common::gunzip(&r.body)).unwrap();
    assert!(all["processlist"].as_array().is_some_and(|p| !p.is_empty()));
    // One item per process: no pid twice, and psmonitor itself is there.
    let pids = items(&all["processlist"], &["pid"]);
    let mut unique = pids.clone();
    unique.dedup();
    assert_eq!(pids.len(), unique.len());
    assert!(all["processlist"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["pid"] == s.pid()));
}
