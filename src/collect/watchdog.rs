//! `watchdog`: the hardware and software watchdogs of `/sys/class/watchdog/watchdogN/`, as
//! node_exporter 1.12's `watchdog` collector (new in 1.8, through procfs' `WatchdogClass`)
//! exposes them: one gauge per numeric attribute (`bootstatus`, `fw_version`, `nowayout`,
//! `timeleft`, `timeout`, `pretimeout`, `access_cs0`), by `name`, and `node_watchdog_info`
//! with the string attributes (`options`, `identity`, `state`, `status`,
//! `pretimeout_governor`) as labels.
//!
//! Kernel ABI (Documentation/ABI/testing/sysfs-class-watchdog): every attribute is optional;
//! a driver shows only what it supports (`timeleft` needs a driver that can read the counter,
//! `pretimeout` and its governor need `CONFIG_WATCHDOG_PRETIMEOUT_GOV`), so a missing or
//! unreadable file leaves its gauge out and its label empty, as node_exporter does. The
//! numbers are decimal integers; `bootstatus` is a bit mask (`WDIOF_*`, why the last boot
//! happened). Reading these files never pets or starts the watchdog (only opening
//! `/dev/watchdogN` does). Without the class directory the host has no watchdog driver:
//! node_exporter's "no data".

use super::family::{Family, Harvest, NoData, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::{parse_int, read_capped, sorted_entries, ATTR_CAP};
use std::sync::Arc;

/// Registers the `watchdog` family.
pub const REGISTRATION: Registration = Registration {
    name: "watchdog",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(WatchdogFamily)
}

/// The numeric attributes: file and metric name.
const GAUGES: [(&str, &str); 7] = [
    ("access_cs0", "node_watchdog_access_cs0"),
    ("bootstatus", "node_watchdog_bootstatus"),
    ("fw_version", "node_watchdog_fw_version"),
    ("nowayout", "node_watchdog_nowayout"),
    ("pretimeout", "node_watchdog_pretimeout_seconds"),
    ("timeleft", "node_watchdog_timeleft_seconds"),
    ("timeout", "node_watchdog_timeout_seconds"),
];

/// The string attributes, as the labels of `node_watchdog_info`.
const INFO: [&str; 5] = [
    "identity",
    "options",
    "pretimeout_governor",
    "state",
    "status",
];

/// One watchdog's attributes.
#[derive(Debug)]
struct Watchdog {
    name: String,
    numbers: [Option<i64>; GAUGES.len()],
    info: [String; INFO.len()],
}

/// One tick's watchdogs, by name.
#[derive(Debug)]
struct Reading(Vec<Watchdog>);

struct WatchdogFamily;

impl Family for WatchdogFamily {
    fn name(&self) -> &'static str {
        "watchdog"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let class = roots.sys("class/watchdog");
        if !crate::read::procfs::is_dir(&class) {
            return Ok(Arc::new(NoData));
        }
        let mut found = Vec::new();
        for entry in sorted_entries(&class) {
            let dir = class.join(&entry);
            if !crate::read::procfs::is_dir(&dir) {
                continue;
            }
            let attr = |file: &str| {
                read_capped(&dir.join(file), ATTR_CAP)
                    .ok()
                    .map(|s| s.trim().to_owned())
            };
            found.push(Watchdog {
                name: entry.to_string_lossy().into_owned(),
                numbers: GAUGES.map(|(file, _)| attr(file).and_then(|v| parse_int(&v))),
                info: INFO.map(|file| attr(file).unwrap_or_default()),
            });
        }
        Ok(Arc::new(Reading(found)))
    }
}

impl Harvest for Reading {
    fn render(&self, out: &mut Encoder) {
        for (i, (file, name)) in GAUGES.iter().enumerate() {
            let help = format!("Value of /sys/class/watchdog/<watchdog>/{file}");
            let mut f = out.family(name, Kind::Gauge, &help);
            for w in &self.0 {
                if let Some(v) = w.numbers[i] {
                    f.sample(&[("name", &w.name)], v as f64);
                }
            }
        }
        let mut f = out.family(
            "node_watchdog_info",
            Kind::Gauge,
            "Info of /sys/class/watchdog/<watchdog>",
        );
        for w in &self.0 {
            let mut labels: Vec<(&str, &str)> = vec![("name", &w.name)];
            labels.extend(INFO.iter().zip(&w.info).map(|(k, v)| (*k, v.as_str())));
            crate::sort::sort_by_key(&mut labels, |(k, _)| *k);
            f.sample(&labels, 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, run};

    #[test]
    fn laptop_has_a_hardware_and_a_software_watchdog() {
        let t = run(&REGISTRATION, "laptop");
        assert_values(
            &t,
            &[
                ("node_watchdog_bootstatus{name=\"watchdog0\"}", 1.0),
                ("node_watchdog_fw_version{name=\"watchdog0\"}", 2.0),
                ("node_watchdog_nowayout{name=\"watchdog0\"}", 0.0),
                ("node_watchdog_timeleft_seconds{name=\"watchdog0\"}", 300.0),
                ("node_watchdog_timeout_seconds{name=\"watchdog0\"}", 60.0),
                ("node_watchdog_pretimeout_seconds{name=\"watchdog0\"}", 120.0),
                ("node_watchdog_access_cs0{name=\"watchdog0\"}", 0.0),
                (
                    "node_watchdog_info{identity=\"Software Watchdog\",name=\"watchdog0\",options=\"0x8380\",pretimeout_governor=\"noop\",state=\"active\",status=\"0x8000\"}",
                    1.0,
                ),
                ("node_watchdog_timeout_seconds{name=\"watchdog1\"}", 30.0),
                // Only what the driver has: empty labels, no gauges.
                (
                    "node_watchdog_info{identity=\"iTCO_wdt\",name=\"watchdog1\",options=\"\",pretimeout_governor=\"\",state=\"inactive\",status=\"\"}",
                    1.0,
                ),
            ],
        );
        assert!(!t.contains("node_watchdog_timeleft_seconds{name=\"watchdog1\"}"));
        assert!(!t.contains("node_watchdog_bootstatus{name=\"watchdog1\"}"));
        assert!(t.contains("# TYPE node_watchdog_info gauge\n"));
    }

    #[test]
    fn no_watchdog_is_no_data() {
        let h = WatchdogFamily
            .harvest(&crate::collect::family::testing::fixture("vm"))
            .unwrap();
        assert!(h.no_data());
    }
}
