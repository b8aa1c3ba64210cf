//! `thermal_zone`: the kernel's thermal zones and cooling devices from `/sys/class/thermal/`
//! (`thermal_zoneN/{type,temp}`, `cooling_deviceN/{type,cur_state,max_state}`), as
//! node_exporter 1.5.0's `thermal_zone` collector exposes them.
//!
//! Pitfalls: `temp` is in millidegrees and may be negative; a zone whose `temp` read fails
//! (`ENODATA` from a Wi-Fi card that is down, `EAGAIN` from a sleeping sensor) is skipped, as
//! is a zone without `policy` (node_exporter needs all three). `cur_state` is `-1` on
//! `intel_powerclamp` when idle. The `zone` and `name` labels are what follows
//! `thermal_zone` / `cooling_device` in the directory name.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::{numbered_entries, read_capped, read_capped_number, ATTR_CAP, FILE_CAP};
use std::path::Path;
use std::sync::Arc;

/// Registers the `thermal_zone` family.
pub const REGISTRATION: Registration = Registration {
    name: "thermal_zone",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(ThermalZoneFamily)
}

struct ThermalZoneFamily;

/// One zone's temperature.
#[derive(Debug)]
struct Zone {
    zone: String,
    kind: String,
    celsius: f64,
}

/// One cooling device's throttle states.
#[derive(Debug)]
struct Cooling {
    name: String,
    kind: String,
    cur: i64,
    max: i64,
}

/// A tick's zones and cooling devices.
#[derive(Debug, Default)]
struct Reading {
    zones: Vec<Zone>,
    cooling: Vec<Cooling>,
}

/// A sysfs attribute trimmed as procfs' `SysReadFile` trims it.
fn attr(dir: &Path, file: &str) -> Option<String> {
    read_capped(&dir.join(file), ATTR_CAP)
        .ok()
        .map(|s| s.trim().to_owned())
}

fn zone(dir: &Path, number: String) -> Option<Zone> {
    let kind = attr(dir, "type")?;
    attr(dir, "policy")?;
    let temp: i64 = read_capped_number(&dir.join("temp"), FILE_CAP)?;
    Some(Zone {
        zone: number,
        kind,
        celsius: temp as f64 / 1000.0,
    })
}

fn cooling(dir: &Path, number: String) -> Option<Cooling> {
    Some(Cooling {
        name: number,
        kind: attr(dir, "type")?,
        max: attr(dir, "max_state")?.parse().ok()?,
        cur: attr(dir, "cur_state")?.parse().ok()?,
    })
}

impl Family for ThermalZoneFamily {
    fn name(&self) -> &'static str {
        "thermal_zone"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let class = roots.sys("class/thermal");
        let zones = numbered_entries(&class, "thermal_zone")
            .into_iter()
            .filter_map(|(entry, n)| zone(&crate::read::procfs::resolved(&class.join(entry)), n))
            .collect();
        let cooling = numbered_entries(&class, "cooling_device")
            .into_iter()
            .filter_map(|(entry, n)| cooling(&crate::read::procfs::resolved(&class.join(entry)), n))
            .collect();
        Ok(Arc::new(Reading { zones, cooling }))
    }
}

impl Harvest for Reading {
    fn render(&self, out: &mut Encoder) {
        let mut f = out.family(
            "node_cooling_device_cur_state",
            Kind::Gauge,
            "Current throttle state of the cooling device",
        );
        for c in &self.cooling {
            f.sample(&[("name", &c.name), ("type", &c.kind)], c.cur as f64);
        }
        let mut f = out.family(
            "node_cooling_device_max_state",
            Kind::Gauge,
            "Maximum throttle state of the cooling device",
        );
        for c in &self.cooling {
            f.sample(&[("name", &c.name), ("type", &c.kind)], c.max as f64);
        }
        let mut f = out.family(
            "node_thermal_zone_temp",
            Kind::Gauge,
            "Zone temperature in Celsius",
        );
        for z in &self.zones {
            f.sample(&[("type", &z.kind), ("zone", &z.zone)], z.celsius);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{run, value};

    fn samples(text: &str) -> usize {
        text.lines().filter(|l| !l.starts_with('#')).count()
    }

    #[test]
    fn pi() {
        let t = run(&REGISTRATION, "pi");
        assert_eq!(
            value(
                &t,
                "node_thermal_zone_temp{type=\"cpu-thermal\",zone=\"0\"}"
            ),
            Some(47.85)
        );
        assert_eq!(samples(&t), 1, "{t}");
    }

    #[test]
    fn laptop() {
        let t = run(&REGISTRATION, "laptop");
        for (kind, zone, v) in [
            ("acpitz", 0, 50.0),
            ("x86_pkg_temp", 1, 52.0),
            ("iwlwifi_1", 2, 42.0),
        ] {
            let s = format!("node_thermal_zone_temp{{type=\"{kind}\",zone=\"{zone}\"}}");
            assert_eq!(value(&t, &s), Some(v), "{s}");
        }
        for n in 0..8 {
            let l = format!("{{name=\"{n}\",type=\"Processor\"}}");
            assert_eq!(
                value(&t, &format!("node_cooling_device_cur_state{l}")),
                Some(0.0)
            );
            assert_eq!(
                value(&t, &format!("node_cooling_device_max_state{l}")),
                Some(3.0)
            );
        }
        let l = "{name=\"8\",type=\"intel_powerclamp\"}";
        assert_eq!(
            value(&t, &format!("node_cooling_device_cur_state{l}")),
            Some(-1.0)
        );
        assert_eq!(
            value(&t, &format!("node_cooling_device_max_state{l}")),
            Some(100.0)
        );
        let l = "{name=\"9\",type=\"TCC Offset\"}";
        assert_eq!(
            value(&t, &format!("node_cooling_device_cur_state{l}")),
            Some(5.0)
        );
        assert_eq!(
            value(&t, &format!("node_cooling_device_max_state{l}")),
            Some(63.0)
        );
        assert_eq!(samples(&t), 3 + 2 * 10, "{t}");
    }

    #[test]
    fn hostile() {
        let t = run(&REGISTRATION, "hostile");
        assert_eq!(
            value(&t, "node_thermal_zone_temp{type=\"good\",zone=\"0\"}"),
            Some(45.0)
        );
        // Not UTF-8: shown lossily. Below zero: kept.
        assert_eq!(
            value(
                &t,
                "node_thermal_zone_temp{type=\"bad\u{fffd}type\",zone=\"3\"}"
            ),
            Some(-12.0)
        );
        // `passive` is not exposed, so an unparsable one does not matter.
        assert_eq!(
            value(
                &t,
                "node_thermal_zone_temp{type=\"passive_bad\",zone=\"4\"}"
            ),
            Some(1.0)
        );
        // No policy, `hot` as temperature, `thermal_zoneX`: skipped.
        assert!(!t.contains("nopolicy") && !t.contains("\"hot\"") && !t.contains("nomatch"));
        assert_eq!(
            value(&t, "node_cooling_device_cur_state{name=\"0\",type=\"Fan\"}"),
            Some(-1.0)
        );
        assert_eq!(
            value(&t, "node_cooling_device_max_state{name=\"2\",type=\"Big\"}"),
            None,
            "cur_state overflows i64: the device is skipped"
        );
        assert!(!t.contains("Empty"));
        assert_eq!(samples(&t), 3 + 2, "{t}");
    }

    #[test]
    fn no_thermal_is_empty() {
        assert_eq!(run(&REGISTRATION, "vm"), "");
    }
}
