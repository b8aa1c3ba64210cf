//! The Glances API v4 subset against the real binary: Home Assistant's own client library
//! (PyPI `glances-api`), each field Homepage's glances widgets read, and the token as Basic.

mod common;
use common::{request, Server};
use serde_json::Value;
use std::process::Command;

/// Home Assistant's client, `Glances(host, port, version=4).get_ha_sensor_data()`, printed as
/// JSON; the optional third and fourth arguments are the user name and password.
const HA_CLIENT: &str = r#"
import asyncio, json, sys
from glances_api import Glances

async def main():
    user, password = (sys.argv[3:5] + [None, None])[:2]
    g = Glances(host=sys.argv[1], port=int(sys.argv[2]), version=4,
                username=user, password=password)
    print(json.dumps(await g.get_ha_sensor_data()))

asyncio.run(main())
"#;

/// A server whose first snapshot stays the latest for the whole test, so `/system` and
/// `/api/4/...` describe the same moment.
fn still_server(env: &[(&str, &str)]) -> Server {
    let mut b = Server::builder().args(&["--interval", "60000"]);
    for (k, v) in env {
        b = b.env(k, v);
    }
    let s = b.start();
    assert_eq!(s.first_answer("/health").status, 200);
    s
}

/// Runs [`HA_CLIENT`] against `s`; its JSON, or the failure's output.
fn ha_sensor_data(s: &Server, auth: &[&str]) -> Result<Value, String> {
    common::ensure_python("glances_api", &["glances-api"]);
    let port = s.addr.port().to_string();
    let out = Command::new("python3")
        .args(["-c", HA_CLIENT, "127.0.0.1", &port])
        .args(auth)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).expect("JSON from the client"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is a number"))
}

/// `a` and `b` within `tol` of each other.
fn near(what: &str, a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

#[test]
fn home_assistant_client_reads_every_sensor_in_the_right_units() {
    let s = still_server(&[]);
    let ha = ha_sensor_data(&s, &[]).unwrap();
    let sys = s.get_json("/system");
    for key in [
        "fs",
        "mem",
        "memswap",
        "load",
        "processcount",
        "cpu",
        "percpu",
        "network",
        "uptime",
        "diskio",
    ] {
        assert!(!ha[key].is_null(), "{key} missing in {ha}");
    }
    // The client turns bytes into GiB (fs, swap) and MiB (mem): bytes in, our GiB out.
    let root = &ha["fs"]["/"];
    near(
        "fs used",
        f(&root["disk_use"]),
        f(&sys["disk"]["used"]),
        0.1,
    );
    near(
        "fs free",
        f(&root["disk_free"]),
        f(&sys["disk"]["free"]),
        0.1,
    );
    assert_eq!(root["disk_use_percent"], sys["disk"]["percent"]);
    let mem = &ha["mem"];
    assert_eq!(mem["memory_use_percent"], sys["mem"]["percent"]);
    // Glances' `used` (total − available) and `free` (MemFree), in MiB.
    let ours = s.get_json("/api/4/mem");
    let mib = |v: &Value| f(v) / (1u64 << 20) as f64;
    near(
        "mem used MiB",
        f(&mem["memory_use"]),
        mib(&ours["used"]),
        12.0,
    );
    near(
        "mem free MiB",
        f(&mem["memory_free"]),
        mib(&ours["free"]),
        12.0,
    );
    near(
        "swap free",
        f(&ha["memswap"]["swap_free"]),
        f(&sys["swap"]["free"]),
        0.1,
    );
    assert_eq!(ha["load"]["processor_load_1m"], sys["load"][0]);
    assert_eq!(ha["load"]["processor_load"], sys["load"][2]);
    let pc = &ha["processcount"];
    assert_eq!(pc["process_total"], sys["process_count"]);
    assert!(f(&pc["process_thread"]) >= f(&pc["process_total"]));
    assert_eq!(ha["cpu"]["cpu_use_percent"], sys["cpu"]["usage"]);
    let percpu = ha["percpu"].as_object().unwrap();
    assert_eq!(percpu.len(), sys["cpu"]["cores"].as_array().unwrap().len());
    assert_eq!(percpu["0"]["cpu_use_percent"], sys["cpu"]["cores"][0]);
    // Interfaces as Glances lists them by default: never `lo`; each with its rates.
    let net = ha["network"].as_object().unwrap();
    assert!(!net.contains_key("lo"), "{ha}");
    for (name, i) in net {
        assert_eq!(i["is_up"], true, "{name}");
        assert!(f(&i["rx"]) >= 0.0 && f(&i["speed"]) >= 0.0, "{i}");
    }
    let up = sys["uptime_seconds"].as_u64().unwrap();
    let clock = format!("{}:{:02}:", up % 86_400 / 3600, up % 3600 / 60);
    assert!(ha["uptime"].as_str().unwrap().contains(&clock), "{ha}");
    let disks = ha["diskio"].as_object().unwrap();
    let names: Vec<&str> = sys["diskio"].as_array().map_or(vec![], |d| {
        d.iter().map(|d| d["name"].as_str().unwrap()).collect()
    });
    assert_eq!(disks.keys().map(String::as_str).collect::<Vec<_>>(), names);
}

/// `GET /api/4/PATH`, 200 and its JSON.
fn glances(s: &Server, path: &str) -> Value {
    s.get_json(&format!("/api/4/{path}"))
}

/// The item of a Glances list whose `item[item.key]` is `name`, as Homepage finds it.
fn by_key<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|i| i[i["key"].as_str().unwrap()] == name)
        .unwrap_or_else(|| panic!("{name} in {list}"))
}

#[test]
fn homepage_widgets_find_their_fields() {
    let s = still_server(&[]);
    let sys = s.get_json("/system");
    // cpu and quicklook (cpu, info widgets).
    assert_eq!(glances(&s, "cpu")["total"], sys["cpu"]["usage"]);
    let ql = glances(&s, "quicklook");
    assert!(!ql["cpu_name"].as_str().unwrap().is_empty());
    assert_eq!(ql["cpu"], sys["cpu"]["usage"]);
    assert_eq!(ql["mem"], sys["mem"]["percent"]);
    assert_eq!(ql["swap"], sys["swap"]["percent"]);
    let percpu = ql["percpu"].as_array().unwrap();
    assert_eq!(percpu.len(), sys["cpu"]["count"].as_u64().unwrap() as usize);
    assert_eq!(percpu[0]["total"], sys["cpu"]["cores"][0]);
    // system (info widget).
    let system = glances(&s, "system");
    assert_eq!(system["hostname"], sys["hostname"]);
    // Glances' `NAME VERSION_ID`, not PRETTY_NAME.
    let distro = system["linux_distro"].as_str().unwrap();
    assert!(system["hr_name"].as_str().unwrap().starts_with(distro));
    assert_eq!(system["os_version"], sys["platform"]["kernel"]);
    // mem in bytes: used + free = total, as the memory widget charts them.
    let mem = glances(&s, "mem");
    near(
        "mem total",
        f(&mem["total"]) / (1u64 << 30) as f64,
        f(&sys["mem"]["total"]),
        0.01,
    );
    assert_eq!(f(&mem["used"]) + f(&mem["available"]), f(&mem["total"]));
    assert!(
        f(&mem["free"]) <= f(&mem["available"]),
        "free is MemFree: {mem}"
    );
    // fs by mnt_point, in bytes.
    let root = by_key(&glances(&s, "fs"), "/").clone();
    near(
        "fs size",
        f(&root["size"]) / (1u64 << 30) as f64,
        f(&sys["disk"]["total"]),
        0.01,
    );
    assert!(f(&root["used"]) > 0.0 && f(&root["free"]) > 0.0);
    // network: rx/tx over time_since_update, and the v4 names.
    for i in glances(&s, "network").as_array().unwrap() {
        let name = i["interface_name"].as_str().unwrap();
        assert_eq!(
            by_key(&glances(&s, "network"), name)["interface_name"],
            name
        );
        assert!(name != "lo" && f(&i["time_since_update"]) > 0.0, "{i}");
        for k in [
            "rx",
            "tx",
            "bytes_recv",
            "bytes_sent",
            "bytes_recv_rate_per_sec",
        ] {
            assert!(f(&i[k]) >= 0.0, "{k} in {i}");
        }
    }
    // processlist: the first entries.
    let procs = glances(&s, "processlist");
    let first = &procs[0];
    assert!(!first["name"].as_str().unwrap().is_empty());
    assert!(
        "RSDZTtXIWP".contains(first["status"].as_str().unwrap()),
        "{first}"
    );
    assert!(f(&first["cpu_percent"]) >= 0.0);
    assert!(f(&first["memory_info"]["rss"]) > 0.0, "{first}");
    // Homepage's process widget reads `memory_info.data` with version 4.
    assert!(f(&first["memory_info"]["data"]) > 0.0, "{first}");
    // sensors: each with label, value, and the unit of its type (temperatures, fans,
    // batteries; never a voltage); an empty list on a host without any.
    for x in glances(&s, "sensors").as_array().unwrap() {
        assert!(x["label"].is_string() && x["value"].is_number(), "{x}");
        let unit = match x["type"].as_str() {
            Some("temperature_core") => "C",
            Some("fan_speed") => "R",
            Some("battery") => "%",
            _ => panic!("type of {x}"),
        };
        assert_eq!(x["unit"], unit, "{x}");
    }
    // containers (none yet) and gpu: lists.
    assert!(glances(&s, "containers").is_array());
    assert_eq!(glances(&s, "gpu"), serde_json::json!([]));
    // diskio by disk_name: bytes over time_since_update.
    for d in glances(&s, "diskio").as_array().unwrap() {
        assert!(f(&d["read_bytes"]) >= 0.0 && f(&d["time_since_update"]) > 0.0);
        assert!(d["disk_name"].is_string());
    }
}

#[test]
fn fields_all_pluginslist_and_unknown_plugins() {
    let s = still_server(&[]);
    let plugins = glances(&s, "pluginslist");
    let all = glances(&s, "all");
    for p in plugins.as_array().unwrap() {
        assert!(all.get(p.as_str().unwrap()).is_some(), "{p} in all");
    }
    assert_eq!(
        glances(&s, "cpu/total")["total"],
        s.get_json("/system")["cpu"]["usage"]
    );
    assert!(glances(&s, "fs/mnt_point")["mnt_point"]
        .as_array()
        .unwrap()
        .contains(&Value::from("/")));
    for path in ["/api/4/nope", "/api/4/cpu/nope"] {
        let r = request(s.addr, "GET", path, &[], b"");
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json()["path"], path);
    }
}

#[test]
fn rates_cover_the_interval() {
    // Rates need two ticks: wait for them (the tick counter of /health), not for time. How long
    // a tick took depends on the machine, so time_since_update is checked for what it means
    // (one interval measured once, the same for every plugin), not against the clock.
    let s = Server::start(&["--interval", "300"]);
    s.wait_ticks(3);
    let cpu = glances(&s, "cpu");
    let t = f(&cpu["time_since_update"]);
    assert!(t > 0.0, "time_since_update {t}");
    let all = glances(&s, "all");
    let t = f(&all["cpu"]["time_since_update"]);
    assert!(t > 0.0, "time_since_update {t}");
    for i in all["network"].as_array().unwrap() {
        near("one interval", f(&i["time_since_update"]), t, 1e-9);
    }
    for i in glances(&s, "network").as_array().unwrap() {
        near(
            "rate",
            f(&i["bytes_recv_rate_per_sec"]),
            f(&i["bytes_recv"]) / f(&i["time_since_update"]),
            1.0,
        );
    }
}

#[test]
fn token_is_accepted_as_basic_password() {
    let s = still_server(&[("PSMONITOR_TOKEN", "s3cret-token")]);
    // `homepage:s3cret-token` and `homepage:wrong`.
    let good = [("Authorization", "Basic aG9tZXBhZ2U6czNjcmV0LXRva2Vu")];
    let bad = [("Authorization", "Basic aG9tZXBhZ2U6d3Jvbmc=")];
    let r = request(s.addr, "GET", "/api/4/cpu", &good, b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["total"].is_number());
    for headers in [&[][..], &bad[..]] {
        let r = request(s.addr, "GET", "/api/4/cpu", headers, b"");
        assert_eq!(r.status, 401);
        assert!(r.header("WWW-Authenticate").unwrap().starts_with("Basic"));
    }
    // Home Assistant's client with the token as password, and without.
    let ha = ha_sensor_data(&s, &["homeassistant", "s3cret-token"]).unwrap();
    assert!(ha["cpu"]["cpu_use_percent"].is_number());
    let refused = ha_sensor_data(&s, &[]).unwrap_err();
    assert!(
        refused.contains("GlancesApiAuthorizationError"),
        "{refused}"
    );
}
