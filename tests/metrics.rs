//! `/metrics` checked by real promtool and scraped by a real Prometheus server; `/history`.
//! Needs Debian's `prometheus` package (promtool and prometheus): installed when missing if we
//! are root with apt (as `.ci/run` does); fails loudly without it.

mod common;
use common::{request, wait_until, Server};
use std::collections::HashMap;

fn scrape(s: &Server) -> String {
    let r = request(s.addr, "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    r.text()
}

/// `name{labels}` → value for every sample line.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

#[test]
fn promtool_accepts_the_exposition() {
    common::ensure_tool("promtool", "prometheus");
    let s = Server::start(&["--interval", "200"]);
    let text = scrape(&s);
    common::promtool_check(&text);
    // Every family has HELP and TYPE.
    let families: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .collect();
    assert!(families.len() > 30);
    for f in families {
        let name = f.split_whitespace().next().unwrap();
        assert!(text.contains(&format!("# HELP {name} ")), "{name} has HELP");
    }
}

#[test]
fn series_are_complete_and_counters_monotonic() {
    let s = Server::start(&["--interval", "200"]);
    let first = samples(&scrape(&s));
    for key in [
        "node_load1",
        "node_memory_MemTotal_bytes",
        "node_memory_MemAvailable_bytes",
        "node_memory_SwapTotal_bytes",
        "node_memory_SwapFree_bytes",
        "node_boot_time_seconds",
        "node_time_seconds",
        "psmonitor_cpu_usage_percent",
        "psmonitor_websocket_clients",
        "psmonitor_snapshots_total",
        "psmonitor_sampler_duration_seconds",
    ] {
        assert!(first.contains_key(key), "{key} present");
    }
    let has = |prefix: &str| first.keys().any(|k| k.starts_with(prefix));
    assert!(has("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}"));
    assert!(has("node_filesystem_avail_bytes{device="));
    assert!(first
        .keys()
        .any(|k| k.starts_with("node_filesystem_size_bytes{") && k.contains("mountpoint=\"/\"")));
    // Every device but lo, as Debian's node_exporter (`--collector.netdev.device-exclude=^lo$`).
    assert!(has("node_network_receive_bytes_total{device="));
    assert!(!has("node_network_receive_bytes_total{device=\"lo\"}"));
    assert!(has("node_uname_info{"));
    assert!(has("psmonitor_process_resident_memory_bytes{name="));
    assert!(has("psmonitor_build_info{version="));
    // Wait for a few more ticks, then every counter is >= its earlier value.
    let ticks = first["psmonitor_snapshots_total"];
    assert!(wait_until(10, || samples(&scrape(&s))
        ["psmonitor_snapshots_total"]
        >= ticks + 3.0));
    let second = samples(&scrape(&s));
    let text = scrape(&s);
    let counters: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter(|l| l.ends_with(" counter"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert!(counters.len() >= 9);
    for (k, v) in &first {
        let family = k.split('{').next().unwrap();
        if counters.contains(&family) {
            // Only series of things that come and go (processes, containers, interfaces) may
            // vanish between two scrapes; any other missing series is a failure, not a skip.
            let Some(after) = second.get(k) else {
                let transient = ["psmonitor_process_", "container_", "node_network_"];
                assert!(
                    transient.iter().any(|p| family.starts_with(p)),
                    "{k} vanished"
                );
                continue;
            };
            assert!(after >= v, "{k} went from {v} to {after}");
        }
    }
}

#[test]
fn prometheus_scrapes_it() {
    let s = Server::start(&["--interval", "200"]);
    let job = format!("    static_configs:\n      - targets: ['{}']\n", s.addr);
    let prom = common::Prometheus::start("plain", &job);
    let up = prom.up(40);
    let cpu = up && wait_until(20, || !prom.query("node_cpu_seconds_total").is_empty());
    let rate = cpu
        && wait_until(20, || {
            !prom
                .query("rate(node_cpu_seconds_total{mode!=\"idle\"}[1m])")
                .is_empty()
        });
    assert!(up, "Prometheus sees the target up");
    assert!(cpu, "node_cpu_seconds_total arrived");
    assert!(rate, "a Grafana-style rate() query works on the series");
}

/// The collectors whose `node_scrape_collector_success` series a scrape holds.
fn collectors(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("node_scrape_collector_success{collector=\""))
        .filter_map(|l| l.split('"').next())
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

/// node_exporter's `collect[]` and `exclude[]` scrape parameters, brackets raw (`curl -g`) or
/// percent-encoded (as Prometheus sends a job's `params`), at /metrics and the telemetry
/// path: only the families named (and psmonitor's figures about itself), or all but those;
/// a collector that does not exist or is not enabled is a 400 naming the parameter.
#[test]
fn collect_and_exclude_select_collectors() {
    let s = Server::start(&["--no-collector.stat", "--web.telemetry-path=/node"]);
    let get = |path: &str, headers: &[(&str, &str)]| request(s.addr, "GET", path, headers, b"");
    let all = collectors(&scrape(&s));
    assert!(
        all.len() > 10 && !all.contains(&"stat".to_owned()),
        "{all:?}"
    );
    for path in [
        "/metrics?collect[]=cpu&collect[]=meminfo",
        "/metrics?collect%5B%5D=meminfo&collect%5b%5d=cpu",
        "/node?collect[]=meminfo&collect%5B%5D=cpu&collect[]=cpu",
    ] {
        let r = get(path, &[]);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let text = r.text();
        assert_eq!(collectors(&text), ["cpu", "meminfo"], "{path}");
        let node: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("node_") && !l.starts_with("node_scrape_collector_"))
            .collect();
        assert!(node
            .iter()
            .any(|l| l.starts_with("node_cpu_seconds_total{")));
        assert!(node
            .iter()
            .any(|l| l.starts_with("node_memory_MemTotal_bytes ")));
        assert!(
            node.iter()
                .all(|l| l.starts_with("node_cpu_") || l.starts_with("node_memory_")),
            "{path}: {node:?}"
        );
        // psmonitor's own figures stay, as node_exporter's process_* and go_* do.
        assert!(text.contains("\nprocess_resident_memory_bytes "), "{path}");
    }
    let r = get("/metrics?exclude[]=cpu&exclude[]=nosuch", &[]);
    assert_eq!(r.status, 200);
    let rest: Vec<String> = all.iter().filter(|c| *c != "cpu").cloned().collect();
    assert_eq!(collectors(&r.text()), rest);
    assert!(!r.text().contains("\nnode_cpu_seconds_total{"));
    // Gzipped (Prometheus asks for it): the same families.
    let r = get("/metrics?collect[]=loadavg", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    let text = common::gunzip(&r.body);
    assert_eq!(collectors(&text), ["loadavg"]);
    assert!(text.contains("\nnode_load1 "), "{text}");
    for (path, parameter, says) in [
        (
            "/metrics?collect[]=nosuch",
            "collect[]",
            "no collector 'nosuch'",
        ),
        (
            "/metrics?collect[]=cpu&collect[]=",
            "collect[]",
            "no collector ''",
        ),
        (
            "/metrics?collect%5B%5D=stat",
            "collect[]",
            "collector 'stat' is not enabled",
        ),
        (
            "/node?collect[]=cpu&exclude[]=meminfo",
            "exclude[]",
            "do not go together",
        ),
    ] {
        let r = get(path, &[]);
        assert_eq!(r.status, 400, "{path}");
        let body = r.json();
        assert_eq!(body["parameter"], parameter, "{path}: {body}");
        assert!(
            body["reason"].as_str().unwrap().contains(says),
            "{path}: {body}"
        );
    }
    // curl as the node_exporter docs write it (-g: the brackets as they are).
    common::ensure_tool("curl", "curl");
    let url = format!(
        "http://{}/metrics?collect[]=loadavg&collect[]=meminfo",
        s.addr
    );
    let out = std::process::Command::new("curl")
        .args(["-sgf", &url])
        .output()
        .expect("run curl");
    assert!(out.status.success(), "curl -g {url}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(collectors(&text), ["loadavg", "meminfo"]);
}

/// A Prometheus job's `params: {collect[]: [loadavg]}` (sent percent-encoded) scrapes only
/// that collector.
#[test]
fn prometheus_job_params_select_collectors() {
    let s = Server::start(&["--interval", "200"]);
    let job = format!(
        "    params:\n      collect[]: ['loadavg']\n    static_configs:\n      - targets: ['{}']\n",
        s.addr
    );
    let prom = common::Prometheus::start("collect", &job);
    assert!(
        prom.up(40),
        "Prometheus sees the target up: {}",
        prom.last_error()
    );
    assert!(
        wait_until(20, || !prom.query("node_load1").is_empty()),
        "node_load1 arrived"
    );
    let scraped = prom.query("node_scrape_collector_success");
    assert_eq!(scraped.len(), 1, "{scraped:?}");
    assert_eq!(scraped[0]["metric"]["collector"], "loadavg");
    assert!(prom.query("node_cpu_seconds_total").is_empty());
}

#[test]
fn history_grows_in_order_and_stays_bounded() {
    // 1 s of history at 100 ms keeps 10 points.
    let s = Server::start(&["--interval", "100", "--history", "1"]);
    let points = |q: &str| -> Vec<serde_json::Value> {
        s.get_json(&format!("/history{q}"))
            .as_array()
            .unwrap()
            .clone()
    };
    // Beyond its second, /history answers from the minute tier: one open minute so far.
    assert!(
        wait_until(10, || points("?seconds=1").len() >= 2),
        "history grows"
    );
    let minutes = points("?seconds=300").len();
    assert!((1..=2).contains(&minutes), "{minutes}");
    let mut metrics = HashMap::new();
    assert!(wait_until(10, || {
        metrics = samples(&scrape(&s));
        metrics["psmonitor_snapshots_total"] > 15.0
    }));
    assert_eq!(metrics["psmonitor_history_capacity_points"], 10.0);
    // Every tier: the raw tier's 10 at most, and the minute tier's, which has one point or,
    // when the test runs across a minute of the wall clock, two (a fresh-clone CI run did).
    assert!(
        metrics["psmonitor_history_points"] <= 12.0,
        "bounded at its limit: {}",
        metrics["psmonitor_history_points"]
    );
    let all = points("?seconds=1");
    assert!(!all.is_empty() && all.len() <= 10);
    let ts: Vec<f64> = all.iter().map(|p| p["t"].as_f64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "oldest first: {ts:?}");
    let p = &all[0];
    for k in ["cpu", "mem", "swap", "disk", "net_in", "net_out", "load1"] {
        assert!(p[k].is_number(), "{k}");
    }
    assert!(p["temp"].is_null() || p["temp"].is_number());
    assert!(p["top_mem"].as_array().unwrap()[0]["name"].is_string());
    assert!(p["top_cpu"].as_array().unwrap().len() == 3);
    for bad in ["?seconds=0", "?seconds=63072001", "?seconds=abc"] {
        let r = request(s.addr, "GET", &format!("/history{bad}"), &[], b"");
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.json()["parameter"], "seconds");
    }
}

/// Sensors that exist are reported, each with its chip, label and reading: the laptop
/// fixture's hwmon chips and thermal zones, with known answers.
#[test]
fn existing_sensors_are_reported() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/laptop");
    let s = Server::start(&[
        "--path.sysfs",
        &format!("{fixture}/sys"),
        "--path.procfs",
        &format!("{fixture}/proc"),
    ]);
    let v = s.get_json("/system");
    let sensors = v["sensors"].as_array().unwrap();
    let temp = |name: &str, label: &str| {
        sensors
            .iter()
            .find(|x| x["name"] == name && x["label"] == label)
            .unwrap_or_else(|| panic!("{name}/{label} missing in {sensors:?}"))["temp"]
            .as_f64()
    };
    for (name, label, want) in [
        ("acpitz", "temp1", 50.0),
        ("nvme", "Composite", 38.85),
        ("nvme", "Sensor 2", 44.85),
        ("coretemp", "Package id 0", 56.0),
        ("coretemp", "Core 3", 54.0),
        ("thinkpad", "temp2", 41.0),
        ("iwlwifi_1", "temp1", 42.0),
        ("x86_pkg_temp", "thermal_zone1", 52.0),
    ] {
        assert_eq!(temp(name, label), Some(want), "{name}/{label}");
    }
    let of_type = |t: &str| sensors.iter().filter(|x| x["type"] == t).count();
    assert_eq!(of_type("temperature"), 15, "{sensors:?}");
    let fan = sensors.iter().find(|x| x["type"] == "fan").unwrap();
    assert_eq!(
        (&fan["name"], &fan["rpm"]),
        (&"thinkpad".into(), &2845.into())
    );
    let volts = sensors.iter().find(|x| x["type"] == "voltage").unwrap();
    assert_eq!(volts["volts"], 12.456);
    // The CPU's temperature is coretemp's package sensor.
    assert_eq!(v["cpu"]["temp"], 56.0);
}

#[test]
fn sensors_match_what_the_host_exposes() {
    let s = Server::start(&[]);
    let v = s.get_json("/system");
    let hwmon = std::fs::read_dir("/sys/class/hwmon")
        .map(|d| d.count())
        .unwrap_or(0);
    let zones = std::fs::read_dir("/sys/class/thermal")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("thermal_zone"))
                .count()
        })
        .unwrap_or(0);
    let sensors = v["sensors"].as_array().unwrap();
    if hwmon + zones == 0 {
        assert!(sensors.is_empty());
        assert!(v["cpu"]["temp"].is_null());
    }
    for x in sensors {
        assert!(x["name"].is_string() && x["label"].is_string());
        if x["type"] == "temperature" {
            assert!((-60.0..=200.0).contains(&x["temp"].as_f64().unwrap()));
        }
    }
    let load = v["load"].as_array().unwrap();
    assert!(load.iter().all(|l| l.as_f64().unwrap() >= 0.0));
    let swap = &v["swap"];
    assert!(swap["used"].as_f64().unwrap() <= swap["total"].as_f64().unwrap());
    for d in v["disks"].as_array().unwrap() {
        let fs = d["fstype"].as_str().unwrap();
        assert!(
            !["tmpfs", "proc", "overlay", "sysfs", "devtmpfs"].contains(&fs),
            "{fs} is noise"
        );
    }
}

/// Nobody scraping: the families are not read each tick (the last harvest is kept); the first
/// scrape restarts them, so a later scrape shows fresh counters.
#[test]
fn families_are_read_while_scraped() {
    let s = Server::start(&["--interval", "200"]);
    // Several ticks pass unscraped (/health is no scrape).
    s.wait_ticks(5);
    let series = "node_context_switches_total";
    let first = samples(&scrape(&s))[series];
    assert!(
        wait_until(10, || samples(&scrape(&s))[series] > first),
        "{series} moves once scraped"
    );
}
