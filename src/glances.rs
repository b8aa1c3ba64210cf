//! The subset of Glances' REST API v4 that Home Assistant's Glances integration (PyPI
//! `glances-api`) and Homepage's `glances` widgets read, built from the latest snapshot.
//!
//! Field names, units and shapes are Glances 4's: sizes in bytes, shares in percent, and for
//! counters the amount moved since the previous sample plus `time_since_update` (clients divide
//! one by the other) next to Glances' own `*_rate_per_sec` and `*_gauge` (since boot). Only the
//! fields those clients read, and a few neighbours that come free, are sent; see README.

use crate::collect::{cpu, Snapshot};
use crate::model::{round, Sensor, SensorKind};
use serde_json::{json, Map, Value};

/// The Glances version whose API is spoken (what `/api/4/status` and `/api/4/version` say;
/// clients check the major version).
pub const VERSION: &str = "4.5.8";

/// The plugins served, in `/api/4/pluginslist` order.
pub const PLUGINS: [&str; 16] = [
    "cpu",
    "percpu",
    "mem",
    "memswap",
    "load",
    "quicklook",
    "system",
    "uptime",
    "fs",
    "diskio",
    "network",
    "sensors",
    "processcount",
    "processlist",
    "containers",
    "gpu",
];

/// What a `/api/4/...` path asks for.
#[derive(Debug, PartialEq)]
pub enum Target<'a> {
    All,
    PluginsList,
    /// `/api/4/status`: `{"version": ...}`, what Glances' clients probe first.
    Status,
    /// `/api/4/version`: the version as a JSON string.
    Version,
    Plugin(&'a str, Option<&'a str>),
}

/// Parses `/api/4/all`, `/api/4/pluginslist`, `/api/4/PLUGIN` and `/api/4/PLUGIN/FIELD`;
/// `None` for any other path, an unknown plugin included (so it gets the usual 404).
pub fn target(path: &str) -> Option<Target<'_>> {
    let rest = path.strip_prefix("/api/4/")?.trim_end_matches('/');
    let (plugin, field) = match rest.split_once('/') {
        Some((p, f)) if !f.is_empty() && !f.contains('/') => (p, Some(f)),
        Some(_) => return None,
        None => (rest, None),
    };
    match (plugin, field) {
        ("all", None) => Some(Target::All),
        ("pluginslist", None) => Some(Target::PluginsList),
        ("status", None) => Some(Target::Status),
        ("version", None) => Some(Target::Version),
        (p, f) if PLUGINS.contains(&p) => Some(Target::Plugin(p, f)),
        _ => None,
    }
}

/// The answer for `t`; `None` when the field is not in the plugin (a 404).
pub fn answer(t: &Target<'_>, s: &Snapshot) -> Option<Value> {
    match t {
        Target::All => Some(all(s)),
        Target::PluginsList => Some(json!(PLUGINS)),
        Target::Status => Some(json!({ "version": VERSION })),
        Target::Version => Some(json!(VERSION)),
        Target::Plugin(name, None) => plugin(name, s),
        Target::Plugin(name, Some(f)) => field(&plugin(name, s)?, f),
    }
}

/// `/api/4/all`: every plugin under its name, as `get_ha_sensor_data()` reads it.
pub fn all(s: &Snapshot) -> Value {
    // Inserted, not collected: `collect` into a map sorts, one more copy of the sort (src/sort.rs).
    let mut map = Map::new();
    for p in PLUGINS {
        if let Some(v) = plugin(p, s) {
            map.insert(p.to_string(), v);
        }
    }
    Value::Object(map)
}

/// One plugin's stats.
pub fn plugin(name: &str, s: &Snapshot) -> Option<Value> {
    Some(match name {
        "cpu" => cpu_total(s),
        "percpu" => Value::Array(percpu(s)),
        "mem" => mem(s),
        "memswap" => memswap(s),
        "load" => load(s),
        "quicklook" => quicklook(s),
        "system" => system(s),
        "uptime" => json!(uptime(s.system.uptime_seconds)),
        "fs" => Value::Array(fs(s)),
        "diskio" => Value::Array(diskio(s)),
        "network" => Value::Array(network(s)),
        "sensors" => Value::Array(sensors(s)),
        "processcount" => processcount(s),
        "processlist" => Value::Array(processlist(s)),
        "containers" => Value::Array(containers(s)),
        "gpu" => json!([]),
        _ => return None,
    })
}

/// `/api/4/PLUGIN/FIELD` as Glances answers it: `{FIELD: value}` for a plugin that is one
/// object, `{FIELD: [value of each item]}` for a list (`{FIELD: []}` for an empty one).
pub fn field(stats: &Value, name: &str) -> Option<Value> {
    let value = match stats {
        Value::Object(m) => m.get(name)?.clone(),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| i.get(name).cloned())
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    };
    Some(json!({ name: value }))
}

/// The containers plugin, from cgroupfs (`containers` in `/system`), in Glances 4's shape:
/// Homepage reads `cpu_percent`, `memory.usage` and `memory.inactive_file`; Glances' own UI
/// `name`, `status`, `engine`, `image` (a list of tags) and `cpu.total`.
pub fn containers(s: &Snapshot) -> Vec<Value> {
    s.system
        .containers
        .iter()
        .map(|c| {
            json!({
                "key": "name",
                "name": c.name,
                "id": c.id,
                "image": c.image.iter().collect::<Vec<_>>(),
                "status": c.status,
                "engine": c.runtime,
                "cpu": {"total": c.cpu_percent},
                "cpu_percent": c.cpu_percent,
                "memory": {
                    "usage": c.memory_usage,
                    "limit": c.memory_limit,
                    "inactive_file": c.memory_inactive_file,
                },
                "memory_usage": c.memory_usage,
                "io": {"ior": c.io_read_bytes, "iow": c.io_write_bytes},
                "pids": c.pids,
            })
        })
        .collect()
}

/// The interval a counter delta covers. On the very first sample nothing has moved yet, and 1
/// keeps clients that divide by it (both do) away from a division by zero.
fn since(s: &Snapshot) -> f64 {
    if s.elapsed_secs > 0.0 {
        round(s.elapsed_secs, 3)
    } else {
        1.0
    }
}

/// Per-mode shares under Glances' names, one decimal.
fn modes(shares: &[f64; 8]) -> Map<String, Value> {
    let mut map = Map::new();
    for (m, v) in cpu::MODES.iter().zip(shares) {
        map.insert(m.to_string(), json!(round(*v, 1)));
    }
    map
}

/// `cpu`: `total` busy percent and the share of each mode.
fn cpu_total(s: &Snapshot) -> Value {
    let mut m = modes(&s.cpu.modes);
    m.insert("total".into(), json!(s.system.cpu.usage));
    m.insert("cpucore".into(), json!(s.system.cpu.count));
    m.insert("time_since_update".into(), json!(since(s)));
    Value::Object(m)
}

/// `percpu`: one item per online CPU, keyed by its `cpu_number`.
fn percpu(s: &Snapshot) -> Vec<Value> {
    s.cpu
        .core_modes
        .iter()
        .zip(&s.system.cpu.cores)
        .zip(&s.cpu.numbers)
        .map(|((shares, total), n)| {
            let mut m = modes(shares);
            m.insert("key".into(), json!("cpu_number"));
            m.insert("cpu_number".into(), json!(n));
            m.insert("total".into(), json!(total));
            Value::Object(m)
        })
        .collect()
}

/// `mem` in bytes, as psutil and Glances 4.5 report it: `free` is `MemFree`, `used` is
/// `total - available`, so `used / total` is `percent`, the same percent as `/system`.
fn mem(s: &Snapshot) -> Value {
    let m = &s.mem;
    json!({
        "total": m.total,
        "available": m.available,
        "percent": s.system.mem.percent,
        "used": m.total.saturating_sub(m.available),
        "free": m.free,
        "active": m.active,
        "inactive": m.inactive,
        "buffers": m.buffers,
        "cached": m.cached,
        "shared": m.shared,
    })
}

/// `memswap` in bytes.
fn memswap(s: &Snapshot) -> Value {
    let m = &s.mem;
    json!({
        "total": m.swap_total,
        "used": m.swap_total.saturating_sub(m.swap_free),
        "free": m.swap_free,
        "percent": s.system.swap.percent,
        "time_since_update": since(s),
    })
}

fn load(s: &Snapshot) -> Value {
    let [min1, min5, min15] = s.system.load;
    json!({"min1": min1, "min5": min5, "min15": min15, "cpucore": s.system.cpu.count})
}

/// `quicklook`: the summary Homepage's info widget shows (`load` is the 15-minute load as a
/// percent of the CPUs, as Glances 4.5 computes it).
fn quicklook(s: &Snapshot) -> Value {
    let c = &s.system.cpu;
    json!({
        "cpu": c.usage,
        "percpu": percpu(s),
        "mem": s.system.mem.percent,
        "swap": s.system.swap.percent,
        "load": round(s.system.load[2] / c.count.max(1) as f64 * 100.0, 1),
        "cpu_name": s.cpu_name,
        "cpu_hz_current": c.freq.map(|mhz| mhz * 1e6),
        "cpu_log_core": c.count,
    })
}

fn system(s: &Snapshot) -> Value {
    let p = &s.system.platform;
    let bits = if cfg!(target_pointer_width = "64") {
        "64bit"
    } else {
        "32bit"
    };
    json!({
        "os_name": "Linux",
        "hostname": s.system.hostname,
        "platform": bits,
        "linux_distro": s.linux_distro,
        "os_version": p.kernel,
        "hr_name": format!("{} {bits} / Linux {}", s.linux_distro, p.kernel),
    })
}

/// Uptime as Python's `str(timedelta)` writes it (`3 days, 4:05:06`), which is what Glances
/// sends and Home Assistant parses.
pub fn uptime(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let clock = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => clock,
        1 => format!("1 day, {clock}"),
        d => format!("{d} days, {clock}"),
    }
}

/// `fs`: every real mount in bytes; `free` is what non-root users may still write, and
/// `percent` is `used / (used + free)`, like `df` and `/system`.
fn fs(s: &Snapshot) -> Vec<Value> {
    s.disks
        .iter()
        .filter_map(|(m, b)| Some((m, b.as_ref().ok()?)))
        .map(|(m, b)| {
            json!({
                "key": "mnt_point",
                "device_name": m.device,
                "fs_type": m.fstype,
                "mnt_point": m.mountpoint,
                "size": b.size,
                "used": b.size.saturating_sub(b.free),
                "free": b.avail,
                "percent": b.usage().percent,
            })
        })
        .collect()
}

/// `diskio`: per device, the bytes and operations of the interval, their rates and the
/// totals since boot (`*_gauge`).
fn diskio(s: &Snapshot) -> Vec<Value> {
    let t = since(s);
    let moved = |rate: f64| (rate * t).round() as u64;
    s.system
        .diskio
        .iter()
        .map(|d| {
            json!({
                "key": "disk_name",
                "disk_name": d.name,
                "time_since_update": t,
                "read_bytes": moved(d.read_bytes_per_s),
                "write_bytes": moved(d.write_bytes_per_s),
                "read_count": moved(d.reads_per_s),
                "write_count": moved(d.writes_per_s),
                "read_bytes_rate_per_sec": d.read_bytes_per_s,
                "write_bytes_rate_per_sec": d.write_bytes_per_s,
                "read_count_rate_per_sec": d.reads_per_s,
                "write_count_rate_per_sec": d.writes_per_s,
                "read_bytes_gauge": d.read_bytes,
                "write_bytes_gauge": d.write_bytes,
            })
        })
        .collect()
}

/// `network`: per interface Glances lists by default (up, with an address, not `lo` nor
/// `docker*`, see [`crate::collect::network::Link`]) the bytes of the interval (Glances 4's `bytes_recv`/`bytes_sent`
/// and the `rx`/`tx` Homepage's network widget still reads), rates, totals since boot, and
/// `speed` in bit/s (Glances' Mbit × 1048576), which `glances-api` requires.
fn network(s: &Snapshot) -> Vec<Value> {
    let t = since(s);
    let rate = |b: u64| round(b as f64 / t, 1);
    s.net
        .interfaces
        .iter()
        .filter(|(name, _)| s.net.links.get(name).is_some_and(|l| l.glances))
        .map(|(name, c)| {
            let (rx, tx) = s.net.moved.get(name).copied().unwrap_or_default();
            let link = s.net.links.get(name).copied().unwrap_or_default();
            json!({
                "key": "interface_name",
                "interface_name": name,
                "alias": null,
                "time_since_update": t,
                "bytes_recv": rx,
                "bytes_sent": tx,
                "bytes_all": rx + tx,
                "rx": rx,
                "tx": tx,
                "cx": rx + tx,
                "bytes_recv_rate_per_sec": rate(rx),
                "bytes_sent_rate_per_sec": rate(tx),
                "bytes_all_rate_per_sec": rate(rx + tx),
                "bytes_recv_gauge": c.rx_bytes,
                "bytes_sent_gauge": c.tx_bytes,
                "bytes_all_gauge": c.rx_bytes.saturating_add(c.tx_bytes),
                "speed": link.speed_mbps.saturating_mul(1 << 20),
                "is_up": link.up,
            })
        })
        .collect()
}

/// `sensors` as Glances 4.5 lists them: temperatures (`temperature_core`, °C), fans
/// (`fan_speed`, RPM as `R`), then one battery (`battery`, percent, with `status`), each type
/// sorted by label in natural order; labels, whole-number values and `warning`/`critical` as
/// Glances builds them from psutil ([`crate::collect::sensors::glances_names`]). Voltages are
/// left out: Glances has no type for them.
fn sensors(s: &Snapshot) -> Vec<Value> {
    sensors_of(&s.system.sensors)
}

fn sensors_of(list: &[Sensor]) -> Vec<Value> {
    let mut out = Vec::new();
    for (want, unit, kind) in [
        (SensorKind::Temperature, "C", "temperature_core"),
        (SensorKind::Fan, "R", "fan_speed"),
        (SensorKind::Battery, "%", "battery"),
    ] {
        let mut items: Vec<&crate::model::GlancesSensor> = list
            .iter()
            .filter(|x| x.kind == want)
            .filter_map(|x| x.glances.as_ref())
            .collect();
        crate::sort::sort_by_key(&mut items, |a| natural(&a.label));
        items.dedup();
        out.extend(items.into_iter().map(|g| {
            let mut v = json!({
                "key": "label",
                "label": g.label,
                "value": g.value,
                "unit": unit,
                "type": kind,
                "warning": g.warning,
                "critical": g.critical,
            });
            if let Some(status) = &g.status {
                v["status"] = json!(status);
            }
            v
        }));
    }
    out
}

/// Glances' `natural_keys`: text split into runs of digits (compared as numbers) and the rest.
fn natural(text: &str) -> Vec<(String, u128)> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (word, tail) = rest.split_at(digits);
        let end = tail
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (number, tail) = tail.split_at(end);
        parts.push((word.to_owned(), number.parse().unwrap_or(0)));
        rest = tail;
    }
    parts
}

fn processcount(s: &Snapshot) -> Value {
    let p = &s.processes;
    json!({
        "total": p.count,
        "running": p.running,
        "sleeping": p.sleeping,
        "thread": p.threads,
    })
}

/// `processlist`: one item per process, busiest first (CPU, then resident memory), with
/// Glances' fields. psutil's `memory_info.data` (data segment) is not read; it carries the
/// resident memory, the figure Homepage's process widget (which shows `data` for API v4)
/// means.
fn processlist(s: &Snapshot) -> Vec<Value> {
    let total = s.mem.total.max(1) as f64;
    let mut procs: Vec<&crate::collect::processes::Proc> = s.processes.procs.iter().collect();
    crate::sort::sort_by(&mut procs, |a, b| {
        b.cpu.total_cmp(&a.cpu).then(b.rss.cmp(&a.rss))
    });
    let t = since(s);
    procs
        .into_iter()
        .map(|p| {
            json!({
                "key": "pid",
                "pid": p.pid,
                "name": p.name,
                "status": p.status.to_string(),
                "cpu_percent": round(p.cpu, 1),
                "memory_percent": p.rss as f64 / total * 100.0,
                "memory_info": {"rss": p.rss, "vms": p.vms, "data": p.rss},
                "username": p.username,
                "num_threads": p.threads,
                "nice": p.nice,
                "time_since_update": t,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_plugins_and_fields() {
        assert_eq!(target("/api/4/all"), Some(Target::All));
        assert_eq!(target("/api/4/pluginslist"), Some(Target::PluginsList));
        assert_eq!(target("/api/4/cpu"), Some(Target::Plugin("cpu", None)));
        assert_eq!(
            target("/api/4/fs/mnt_point"),
            Some(Target::Plugin("fs", Some("mnt_point")))
        );
        for bad in [
            "/api/4/nope",
            "/api/3/cpu",
            "/api/4/cpu/a/b",
            "/api/4/all/x",
        ] {
            assert_eq!(target(bad), None, "{bad}");
        }
    }

    #[test]
    fn fields_of_objects_and_lists() {
        let cpu = json!({"total": 5.1});
        assert_eq!(field(&cpu, "total"), Some(json!({"total": 5.1})));
        assert_eq!(field(&cpu, "nope"), None);
        let fs = json!([{"mnt_point": "/"}, {"mnt_point": "/boot"}]);
        assert_eq!(
            field(&fs, "mnt_point"),
            Some(json!({"mnt_point": ["/", "/boot"]}))
        );
        assert_eq!(
            field(&json!([]), "mnt_point"),
            Some(json!({"mnt_point": []}))
        );
    }

    #[test]
    fn sensors_as_glances_names_them() {
        use crate::collect::sensors::{discover, read_all};
        let roots = crate::collect::family::testing::fixture("laptop");
        let got = sensors_of(&read_all(&discover(&roots.sys("class")), &mut Vec::new()));
        assert_eq!(got.len(), 14, "12 temperatures, a fan, a battery: {got:?}");
        let labels: Vec<&str> = got.iter().map(|v| v["label"].as_str().unwrap()).collect();
        // Unlabelled inputs are `CHIP N`; thermal zones (which hwmon already has) and
        // voltages are not listed.
        for want in [
            "acpitz 0",
            "thinkpad 0",
            "thinkpad 1",
            "Package id 0",
            "Battery",
        ] {
            assert!(labels.contains(&want), "{want}: {labels:?}");
        }
        assert!(!labels
            .iter()
            .any(|l| l.starts_with("thermal_zone") || *l == "in0"));
        assert_eq!(got[0]["label"], "Composite");
        assert_eq!(
            (got[0]["warning"].clone(), got[0]["critical"].clone()),
            (json!(81), json!(84))
        );
        assert_eq!(got[12]["type"], "fan_speed");
        assert_eq!(got[13]["status"], "Charging");
    }

    #[test]
    fn uptime_reads_like_python_timedelta() {
        assert_eq!(uptime(59), "0:00:59");
        assert_eq!(uptime(3_723), "1:02:03");
        assert_eq!(uptime(86_400 + 61), "1 day, 0:01:01");
        assert_eq!(
            uptime(3 * 86_400 + 4 * 3600 + 5 * 60 + 6),
            "3 days, 4:05:06"
        );
    }

    #[test]
    fn every_plugin_answers_from_a_snapshot() {
        let s = crate::collect::Collector::default().sample(false);
        for p in PLUGINS {
            assert!(plugin(p, &s).is_some(), "{p}");
        }
        assert_eq!(all(&s).as_object().unwrap().len(), PLUGINS.len());
    }
}
