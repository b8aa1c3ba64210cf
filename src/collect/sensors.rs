//! Temperature sensors from hwmon (`/sys/class/hwmon`) and thermal zones (`/sys/class/thermal`),
//! and the choice of which one is "the CPU temperature".
//!
//! The original read `sensors_temperatures()['coretemp']` and crashed everywhere else (AMD, ARM,
//! VMs). Here every sensor is listed, the CPU one is picked by a priority list, and a host with
//! none gets `null`. Sensor files are discovered once a minute; each tick only reads the
//! `*_input`/`temp` files found then.

use super::procfs::read_into;
use crate::model::{round, Sensor};
use std::fs;
use std::path::{Path, PathBuf};

/// A discovered sensor: where to read it and what to call it.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub name: String,
    pub label: String,
    pub path: PathBuf,
    /// Thermal zones and hwmon both report millidegrees.
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Hwmon,
    ThermalZone,
}

/// Lists every temperature input under `root` (normally `/sys/class`).
pub fn discover(root: &Path) -> Vec<Source> {
    let mut out = Vec::new();
    for dir in sorted_dirs(&root.join("hwmon")) {
        let Some(chip) = read_trim(&dir.join("name")) else {
            continue;
        };
        let mut inputs: Vec<(u32, PathBuf)> = fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let f = e.file_name().into_string().ok()?;
                let n = f
                    .strip_prefix("temp")?
                    .strip_suffix("_input")?
                    .parse()
                    .ok()?;
                Some((n, e.path()))
            })
            .collect();
        inputs.sort();
        for (n, path) in inputs {
            let label = read_trim(&dir.join(format!("temp{n}_label")))
                .unwrap_or_else(|| format!("temp{n}"));
            out.push(Source {
                name: chip.clone(),
                label,
                path,
                kind: Kind::Hwmon,
            });
        }
    }
    for dir in sorted_dirs(&root.join("thermal")) {
        let Some(zone) = dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !zone.starts_with("thermal_zone") {
            continue;
        }
        let Some(kind) = read_trim(&dir.join("type")) else {
            continue;
        };
        out.push(Source {
            name: kind,
            label: zone.to_owned(),
            path: dir.join("temp"),
            kind: Kind::ThermalZone,
        });
    }
    out
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    // hwmon10 after hwmon9: sort by the trailing number, then by name.
    v.sort_by_key(|p| {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        let digits: String = name
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect();
        let n: u64 = digits
            .chars()
            .rev()
            .collect::<String>()
            .parse()
            .unwrap_or(0);
        (
            name.trim_end_matches(|c: char| c.is_ascii_digit())
                .to_owned(),
            n,
        )
    });
    v
}

fn read_trim(p: &Path) -> Option<String> {
    let s = fs::read_to_string(p).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Reads every source; sensors that fail to read (a sleeping GPU, a removed device) are left out.
pub fn read_all(sources: &[Source], buf: &mut Vec<u8>) -> Vec<Sensor> {
    sources
        .iter()
        .filter_map(|s| {
            let milli: f64 = read_into(&s.path, buf).ok()?.trim().parse().ok()?;
            let temp = milli / 1000.0;
            // Disconnected inputs report absurd values (-273, 127.0 on some boards is real).
            (-60.0..=200.0).contains(&temp).then(|| Sensor {
                name: s.name.clone(),
                label: s.label.clone(),
                temp: round(temp, 2),
            })
        })
        .collect()
}

/// Picks the CPU package temperature: Intel `coretemp` package, AMD `k10temp` Tdie/Tctl,
/// ARM `cpu_thermal`/`soc_thermal`, `x86_pkg_temp`, else the first thermal zone.
pub fn pick_cpu(sensors: &[Sensor]) -> Option<&Sensor> {
    let find = |name: &str, label: Option<&str>| {
        sensors
            .iter()
            .find(|s| s.name == name && label.is_none_or(|l| s.label.starts_with(l)))
    };
    find("coretemp", Some("Package id"))
        .or_else(|| find("coretemp", None))
        .or_else(|| find("k10temp", Some("Tdie")))
        .or_else(|| find("k10temp", Some("Tctl")))
        .or_else(|| find("k10temp", None))
        .or_else(|| find("zenpower", None))
        .or_else(|| find("cpu_thermal", None))
        .or_else(|| find("soc_thermal", None))
        .or_else(|| find("x86_pkg_temp", None))
        .or_else(|| sensors.iter().find(|s| s.label.starts_with("thermal_zone")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, label: &str, temp: f64) -> Sensor {
        Sensor {
            name: name.into(),
            label: label.into(),
            temp,
        }
    }

    #[test]
    fn picks_by_priority() {
        let v = vec![
            s("acpitz", "thermal_zone0", 30.0),
            s("nvme", "Composite", 40.0),
            s("coretemp", "Core 0", 50.0),
            s("coretemp", "Package id 0", 55.0),
        ];
        assert_eq!(pick_cpu(&v).unwrap().temp, 55.0);
        let amd = vec![s("k10temp", "Tctl", 60.0), s("k10temp", "Tccd1", 58.0)];
        assert_eq!(pick_cpu(&amd).unwrap().label, "Tctl");
        let pi = vec![s("rp1_adc", "temp1", 40.0), s("cpu_thermal", "temp1", 47.2)];
        assert_eq!(pick_cpu(&pi).unwrap().name, "cpu_thermal");
        let zone = vec![
            s("nvme", "Composite", 40.0),
            s("acpitz", "thermal_zone3", 27.0),
        ];
        assert_eq!(pick_cpu(&zone).unwrap().label, "thermal_zone3");
        assert!(pick_cpu(&[s("nvme", "Composite", 40.0)]).is_none());
        assert!(pick_cpu(&[]).is_none());
    }

    #[test]
    fn discovers_a_sysfs_tree() {
        let root = std::env::temp_dir().join(format!("psm-sensors-{}", std::process::id()));
        let hw = root.join("hwmon/hwmon2");
        let tz = root.join("thermal/thermal_zone0");
        fs::create_dir_all(&hw).unwrap();
        fs::create_dir_all(&tz).unwrap();
        fs::create_dir_all(root.join("thermal/cooling_device0")).unwrap();
        fs::write(hw.join("name"), "k10temp\n").unwrap();
        fs::write(hw.join("temp1_input"), "61250\n").unwrap();
        fs::write(hw.join("temp1_label"), "Tctl\n").unwrap();
        fs::write(hw.join("temp3_input"), "garbage\n").unwrap();
        fs::write(tz.join("type"), "x86_pkg_temp\n").unwrap();
        fs::write(tz.join("temp"), "-273000\n").unwrap();
        let sources = discover(&root);
        assert_eq!(sources.len(), 3);
        let mut buf = Vec::new();
        let read = read_all(&sources, &mut buf);
        assert_eq!(read.len(), 1, "garbage and -273 °C are dropped: {read:?}");
        assert_eq!(pick_cpu(&read).unwrap().temp, 61.25);
        fs::remove_dir_all(&root).ok();
    }
}
