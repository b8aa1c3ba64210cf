//! Temperature sensors from hwmon (`/sys/class/hwmon`) and thermal zones (`/sys/class/thermal`),
//! hwmon fans and voltages, batteries from `/sys/class/power_supply`, and the choice of which
//! temperature is "the CPU temperature".
//!
//! The original read `sensors_temperatures()['coretemp']` and crashed everywhere else (AMD, ARM,
//! VMs). Here every sensor is listed, the CPU one is picked by a priority list, and a host with
//! none gets `null`. Sensor files are discovered once a minute; each tick only reads the
//! `*_input`/`temp` (and batteries' `capacity`/`status`) files found then. Temperatures come
//! first, in the order they always had; fans, voltages and batteries follow.

use crate::model::{round, GlancesSensor, Sensor, SensorKind};
use crate::read::procfs::read_into;
use std::path::{Path, PathBuf};

/// A discovered sensor: where to read it and what to call it.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub name: String,
    pub label: String,
    /// The input file; a battery's directory.
    pub path: PathBuf,
    pub kind: Kind,
    /// How Glances names and bounds it, if Glances lists it ([`glances_names`]).
    pub glances: Option<GlancesName>,
}

/// A sensor's Glances label and psutil's thresholds (whole °C), fixed at discovery.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GlancesName {
    pub label: String,
    pub warning: Option<i64>,
    pub critical: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Millidegrees (hwmon `temp*_input`).
    Hwmon,
    /// Millidegrees (a thermal zone's `temp`).
    ThermalZone,
    /// RPM (hwmon `fan*_input`).
    Fan,
    /// Millivolts (hwmon `in*_input`).
    Voltage,
    /// A `power_supply` directory of `type` `Battery` (`capacity` percent, `status`).
    Battery,
}

/// hwmon input file prefixes, in the order they are listed per chip.
const HWMON: [(&str, Kind); 3] = [
    ("temp", Kind::Hwmon),
    ("fan", Kind::Fan),
    ("in", Kind::Voltage),
];

/// Lists every temperature, fan and voltage input and every battery under `root` (normally
/// `/sys/class`).
pub fn discover(root: &Path) -> Vec<Source> {
    let mut out = Vec::new();
    // Fans, voltages and batteries, listed after all temperatures.
    let mut rest = Vec::new();
    // Chips and zones by their real place, as the hwmon and thermal_zone families name them,
    // so a tick reads each input once for both.
    for dir in sorted_dirs(&root.join("hwmon")) {
        let dir = crate::read::procfs::resolved(&dir);
        let Some(chip) = read_trim(&dir.join("name")) else {
            continue;
        };
        // One directory read per chip, as before: every (prefix, number, path) input.
        let mut inputs: Vec<(usize, u32, PathBuf)> = crate::read::procfs::entries(&dir)
            .iter()
            .flat_map(|e| e.iter())
            .filter_map(|e| {
                let f = e.name.to_str()?;
                let stem = f.strip_suffix("_input")?;
                HWMON.iter().enumerate().find_map(|(i, (prefix, _))| {
                    let n = stem.strip_prefix(prefix)?.parse().ok()?;
                    Some((i, n, dir.join(&e.name)))
                })
            })
            .collect();
        crate::sort::sort(&mut inputs);
        for (i, n, path) in inputs {
            let (prefix, kind) = HWMON[i];
            let label = read_trim(&dir.join(format!("{prefix}{n}_label")))
                .unwrap_or_else(|| format!("{prefix}{n}"));
            let source = Source {
                name: chip.clone(),
                label,
                path,
                kind,
                glances: None,
            };
            if kind == Kind::Hwmon {
                out.push(source);
            } else {
                rest.push(source);
            }
        }
    }
    for dir in sorted_dirs(&root.join("thermal")) {
        let dir = crate::read::procfs::resolved(&dir);
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
            glances: None,
        });
    }
    // A battery is named in the class (`battery_status` finds the mains beside it) and read
    // by its real place.
    for dir in sorted_dirs(&root.join("power_supply")) {
        let Some(supply) = dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if read_trim(&crate::read::procfs::resolved(&dir).join("type")).as_deref()
            != Some("Battery")
        {
            continue;
        }
        rest.push(Source {
            name: supply.to_owned(),
            label: supply.to_owned(),
            path: dir.clone(),
            kind: Kind::Battery,
            glances: None,
        });
    }
    out.append(&mut rest);
    glances_names(&mut out);
    out
}

/// Names the sensors Glances 4.5 lists as it names them, from psutil's
/// `sensors_temperatures()`/`sensors_fans()`/`sensors_battery()`:
/// - hwmon inputs in psutil's order (paths sorted as text: `hwmon10` before `hwmon2`), grouped
///   by chip name; an input without a label is `CHIP N` (N its index in its chip's group:
///   `cpu_thermal 0` on a Pi, `acpitz 0`, `nct6775 0`), a label seen before gets ` 1`, ` 2`…;
///   `warning` and `critical` are the input's `_max` and `_crit`;
/// - thermal zones only on a host with no hwmon temperature at all (psutil's fallback), so a
///   zone never duplicates its hwmon sensor; their thresholds are the `high` and `critical`
///   trip points;
/// - one battery, `Battery`: the first power supply named `BAT*` or `*battery*`;
/// - voltages never.
pub fn glances_names(sources: &mut [Source]) {
    let text = |s: &Source| s.path.to_string_lossy().into_owned();
    let hwmon_temps = sources.iter().any(|s| s.kind == Kind::Hwmon);
    for kind in [Kind::Hwmon, Kind::Fan, Kind::ThermalZone] {
        if kind == Kind::ThermalZone && hwmon_temps {
            continue;
        }
        let mut order: Vec<usize> = (0..sources.len())
            .filter(|&i| sources[i].kind == kind)
            .collect();
        crate::sort::sort_by_key(&mut order, |&i| text(&sources[i]));
        // Chips in order of first appearance, each with its inputs in psutil's order.
        let mut chips: Vec<(String, Vec<usize>)> = Vec::new();
        for i in order {
            match chips.iter_mut().find(|(c, _)| *c == sources[i].name) {
                Some((_, v)) => v.push(i),
                None => chips.push((sources[i].name.clone(), vec![i])),
            }
        }
        let mut seen: Vec<String> = Vec::new();
        for (chip, inputs) in chips {
            let mut again = 1;
            for (n, i) in inputs.into_iter().enumerate() {
                let (own, mut warning, mut critical) = psutil_label(&sources[i]);
                // psutil fills a missing (or zero) threshold with the other one.
                let set = |t: Option<f64>| t.filter(|v| *v != 0.0);
                match (set(warning), set(critical)) {
                    (Some(w), None) => critical = Some(w),
                    (None, Some(c)) => warning = Some(c),
                    _ => {}
                }
                let whole = |t: Option<f64>| t.map(|v| v as i64);
                let (warning, critical) = (whole(warning), whole(critical));
                let label = if own.is_empty() {
                    format!("{chip} {n}")
                } else if seen.contains(&own) {
                    again += 1;
                    format!("{own} {}", again - 1)
                } else {
                    own
                };
                seen.push(label.clone());
                sources[i].glances = Some(GlancesName {
                    label,
                    warning,
                    critical,
                });
            }
        }
    }
    let psutil_battery = |s: &Source| {
        s.kind == Kind::Battery
            && (s.name.starts_with("BAT") || s.name.to_lowercase().contains("battery"))
    };
    if let Some(first) = sources
        .iter_mut()
        .filter(|s| psutil_battery(s))
        .min_by(|a, b| a.name.cmp(&b.name))
    {
        first.glances = Some(GlancesName {
            label: "Battery".into(),
            ..GlancesName::default()
        });
    }
}

/// psutil's label of an input (empty where the chip gives none) and its `high` and
/// `critical` in °C.
fn psutil_label(s: &Source) -> (String, Option<f64>, Option<f64>) {
    let milli = |p: PathBuf| -> Option<f64> {
        let v: f64 = read_trim(&p)?.parse().ok()?;
        Some(v / 1000.0)
    };
    match s.kind {
        Kind::ThermalZone => {
            let Some(dir) = s.path.parent() else {
                return (String::new(), None, None);
            };
            let (mut high, mut critical) = (None, None);
            for n in 0..32 {
                match read_trim(&dir.join(format!("trip_point_{n}_type"))).as_deref() {
                    Some("critical") => critical = milli(dir.join(format!("trip_point_{n}_temp"))),
                    Some("high") => high = milli(dir.join(format!("trip_point_{n}_temp"))),
                    Some(_) => {}
                    None => break,
                }
            }
            (String::new(), high, critical)
        }
        _ => {
            let stem = text_stem(&s.path);
            let label = read_trim(&PathBuf::from(format!("{stem}_label"))).unwrap_or_default();
            if s.kind == Kind::Fan {
                return (label, None, None);
            }
            (
                label,
                milli(PathBuf::from(format!("{stem}_max"))),
                milli(PathBuf::from(format!("{stem}_crit"))),
            )
        }
    }
}

/// `…/temp1` of `…/temp1_input`.
fn text_stem(input: &Path) -> String {
    let t = input.to_string_lossy();
    t.strip_suffix("_input").unwrap_or(&t).to_owned()
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = crate::read::procfs::entries(dir)
        .iter()
        .flat_map(|e| e.iter())
        .map(|e| dir.join(&e.name))
        .collect();
    // hwmon10 after hwmon9: sort by the trailing number, then by name.
    crate::sort::sort_by_key(&mut v, |p| {
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

/// A name or label file, trimmed and capped at [`crate::read::procfs::MAX_NAME`] bytes.
fn read_trim(p: &Path) -> Option<String> {
    let s = crate::read::procfs::read_capped(p, 4 * crate::read::procfs::MAX_NAME).ok()?;
    let s = crate::read::procfs::cap_name(s.trim()).trim_end();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Reads every source; sensors that fail to read (a sleeping GPU, a removed device) or hold
/// garbage are left out, each on its own.
pub fn read_all(sources: &[Source], buf: &mut Vec<u8>) -> Vec<Sensor> {
    sources.iter().filter_map(|s| read_one(s, buf)).collect()
}

fn read_one(s: &Source, buf: &mut Vec<u8>) -> Option<Sensor> {
    let kind = match s.kind {
        Kind::Hwmon | Kind::ThermalZone => SensorKind::Temperature,
        Kind::Fan => SensorKind::Fan,
        Kind::Voltage => SensorKind::Voltage,
        Kind::Battery => SensorKind::Battery,
    };
    let mut out = Sensor::new(&s.name, &s.label, kind);
    let mut glances_value = 0;
    match s.kind {
        Kind::Hwmon | Kind::ThermalZone => {
            let milli: f64 = read_into(&s.path, buf).ok()?.trim().parse().ok()?;
            let temp = milli / 1000.0;
            // Disconnected inputs report absurd values (-273, 127.0 on some boards is real).
            if !(-60.0..=200.0).contains(&temp) {
                return None;
            }
            out.temp = Some(round(temp, 2));
            glances_value = temp as i64;
        }
        Kind::Fan => {
            let rpm: u64 = read_into(&s.path, buf).ok()?.trim().parse().ok()?;
            // No fan spins at a million RPM; a bogus register does.
            if rpm >= 1_000_000 {
                return None;
            }
            out.rpm = Some(rpm);
            glances_value = rpm as i64;
        }
        Kind::Voltage => {
            let milli: i64 = read_into(&s.path, buf).ok()?.trim().parse().ok()?;
            if milli.abs() > 1_000_000 {
                return None;
            }
            out.volts = Some(round(milli as f64 / 1000.0, 3));
        }
        Kind::Battery => {
            let dir = &crate::read::procfs::resolved(&s.path);
            let capacity: u32 = read_into(dir.join("capacity"), buf)
                .ok()?
                .trim()
                .parse()
                .ok()?;
            out.percent = Some(capacity.min(100));
            out.status = read_into(dir.join("status"), buf)
                .ok()
                .map(str::trim)
                .filter(|t| !t.is_empty() && t.len() <= 32)
                .map(str::to_owned);
            if s.glances.is_some() {
                glances_value = battery_percent(dir, buf).unwrap_or(capacity as f64) as i64;
            }
        }
    }
    out.glances = s.glances.as_ref().map(|g| GlancesSensor {
        label: g.label.clone(),
        value: glances_value,
        warning: g.warning,
        critical: g.critical,
        status: (s.kind == Kind::Battery).then(|| battery_status(&s.path, buf)),
    });
    Some(out)
}

/// psutil's battery percent: `energy_now / energy_full` (or `charge_*`) where the battery
/// has them, which is finer than `capacity`.
fn battery_percent(dir: &Path, buf: &mut Vec<u8>) -> Option<f64> {
    let mut num = |a: &str, b: &str| -> Option<f64> {
        [a, b]
            .iter()
            .find_map(|f| read_into(dir.join(f), buf).ok()?.trim().parse().ok())
    };
    let now = num("energy_now", "charge_now")?;
    let full = num("energy_full", "charge_full")?;
    Some(if full > 0.0 { 100.0 * now / full } else { 0.0 })
}

/// Glances' battery `status`: `Charging` when on mains (`AC0/online`, `AC/online`, else the
/// battery's status is `Charging` or `Full`), otherwise `Discharging`. `dir` is the battery
/// in the `power_supply` class; files are read by their real place, as the
/// `powersupplyclass` family reads them, so a tick reads each once.
fn battery_status(dir: &Path, buf: &mut Vec<u8>) -> String {
    let supplies = dir.parent().unwrap_or(dir);
    let online = ["AC0", "AC"].iter().find_map(|f| {
        read_into(
            crate::read::procfs::resolved(&supplies.join(f)).join("online"),
            buf,
        )
        .ok()
        .map(|t| t.trim() == "1")
    });
    let plugged = online.unwrap_or_else(|| {
        read_into(crate::read::procfs::resolved(dir).join("status"), buf)
            .is_ok_and(|t| matches!(t.trim().to_lowercase().as_str(), "charging" | "full"))
    });
    if plugged { "Charging" } else { "Discharging" }.to_owned()
}

/// Picks the CPU package temperature: Intel `coretemp` package, AMD `k10temp` Tdie/Tctl,
/// ARM `cpu_thermal`/`soc_thermal`, `x86_pkg_temp`, else the first thermal zone.
/// Only temperatures are candidates.
pub fn pick_cpu(sensors: &[Sensor]) -> Option<&Sensor> {
    let temps = || {
        sensors
            .iter()
            .filter(|s| s.kind == SensorKind::Temperature && s.temp.is_some())
    };
    let find = |name: &str, label: Option<&str>| {
        temps().find(|s| s.name == name && label.is_none_or(|l| s.label.starts_with(l)))
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
        .or_else(|| temps().find(|s| s.label.starts_with("thermal_zone")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn s(name: &str, label: &str, temp: f64) -> Sensor {
        Sensor {
            temp: Some(temp),
            ..Sensor::new(name, label, SensorKind::Temperature)
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
        assert_eq!(pick_cpu(&v).unwrap().temp, Some(55.0));
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
        assert_eq!(pick_cpu(&read).unwrap().temp, Some(61.25));
        fs::remove_dir_all(&root).ok();
    }

    /// Every sensor read on a fixture host, as `/system` sends it.
    fn on_fixture(host: &str) -> Vec<serde_json::Value> {
        let roots = crate::collect::family::testing::fixture(host);
        let mut buf = Vec::new();
        read_all(&discover(&roots.sys("class")), &mut buf)
            .iter()
            .map(|s| serde_json::to_value(s).unwrap())
            .collect()
    }

    #[test]
    fn laptop_fixture_temperatures_fans_voltages_and_battery() {
        use serde_json::json;
        let got = on_fixture("laptop");
        let t = |name: &str, label: &str, temp: f64| json!({"name": name, "label": label, "temp": temp, "type": "temperature"});
        assert_eq!(
            got,
            vec![
                t("acpitz", "temp1", 50.0),
                t("nvme", "Composite", 38.85),
                t("nvme", "Sensor 1", 38.85),
                t("nvme", "Sensor 2", 44.85),
                t("coretemp", "Package id 0", 56.0),
                t("coretemp", "Core 0", 53.0),
                t("coretemp", "Core 1", 55.0),
                t("coretemp", "Core 2", 51.0),
                t("coretemp", "Core 3", 54.0),
                t("thinkpad", "temp1", 52.0),
                t("thinkpad", "temp2", 41.0),
                t("iwlwifi_1", "temp1", 42.0),
                t("acpitz", "thermal_zone0", 50.0),
                t("x86_pkg_temp", "thermal_zone1", 52.0),
                t("iwlwifi_1", "thermal_zone2", 42.0),
                // The battery's own hwmon chip (hwmon1) has its voltage.
                json!({"name": "BAT0", "label": "in0", "type": "voltage", "volts": 12.456}),
                json!({"name": "thinkpad", "label": "fan1", "type": "fan", "rpm": 2845}),
                // AC (Mains) and the USB-C source are not batteries.
                json!({"name": "BAT0", "label": "BAT0", "type": "battery", "percent": 87,
                       "status": "Discharging"}),
            ]
        );
        // Only temperatures are candidates for the CPU's.
        let roots = crate::collect::family::testing::fixture("laptop");
        let read = read_all(&discover(&roots.sys("class")), &mut Vec::new());
        let cpu = pick_cpu(&read).unwrap();
        assert_eq!((cpu.label.as_str(), cpu.temp), ("Package id 0", Some(56.0)));
        let fans_only: Vec<Sensor> = read
            .into_iter()
            .filter(|s| s.kind != SensorKind::Temperature)
            .collect();
        assert!(pick_cpu(&fans_only).is_none());
    }

    #[test]
    fn hostile_fixture_skips_each_bad_entry_alone() {
        use serde_json::json;
        let got = on_fixture("hostile");
        let others: Vec<_> = got
            .iter()
            .filter(|v| v["type"] != "temperature")
            .cloned()
            .collect();
        // fan1_input is empty, in1x/in9999…9 are not inputs, BAT0's capacity is "abc",
        // AC is Mains and `notadir` a file: only in007 (read as in7) is left.
        assert_eq!(
            others,
            vec![json!({"name": "My Chip!", "label": "in7", "type": "voltage", "volts": 3.3})]
        );
        // Temperatures keep their `temp`; the others never have one.
        for v in &got {
            assert_eq!(v["temp"].is_number(), v["type"] == "temperature", "{v}");
        }
        assert!(got.iter().any(|v| v["type"] == "temperature"));
    }
}
