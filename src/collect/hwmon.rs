//! `hwmon`: the hardware monitors of `/sys/class/hwmon/hwmon*/` (lm-sensors' data), as
//! node_exporter 1.5.0's `hwmon` collector exposes them.
//!
//! Every file named `<type><n>_<element>` whose type is a known sensor type becomes
//! `node_hwmon_<type>_<element>_<unit>{chip,sensor="<type><n>"}`; `temp1_input` is the sensor's
//! value and drops its element (`node_hwmon_temp_celsius`). The files of the chip's `device`
//! directory count too, which is why a thermal zone's own `temp` shows up as sensor `temp0`
//! (node_exporter does the same). Units: millidegrees, millivolts, milliamperes and
//! milliseconds are divided by 1000, microwatts and microjoules by 10^6.
//!
//! The `chip` label comes from where the `device` link points (`platform_coretemp_0`,
//! `pci0000:00_0000:00:1f_3`, `thermal_thermal_zone0`), because the `hwmonN` numbers change
//! with module load order; without a device, the chip's `name` file, then `hwmonN` itself.
//!
//! Pitfalls: some drivers answer a read with `EAGAIN` or `ENXIO` (a sensor that is not
//! wired), so every file is read once, at most 128 bytes like node_exporter, and a failed read
//! skips that file only. Sentinels are passed on as they are, as node_exporter does: NVMe's
//! unset `temp1_min` is `-273150` (-273.15 °C).
//!
//! Several hwmon directories can share one device (a tri-band MediaTek card registers three
//! radios, all under `ieee80211/phy0`; `asus-nb-wmi` registers two), so their labels would
//! collide and node_exporter 1.5 merged them into one series. As node_exporter 1.12 does, a
//! label shared by several chips gets a suffix: the chip's `name` (`ieee80211_phy0_mt7996_phy0_1`)
//! when no other chip of that label has the same name, else its `hwmonN` directory's name
//! (`dup_hwmon4`, unique on a running system). Unshared labels are left alone.

use super::family::{Family, Harvest, Registration, Roots, Samples, Settings};
use crate::exposition::Kind;
use crate::read::procfs::{parse_float, read_capped, sorted_entries, ATTR_CAP, FILE_CAP};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Registers the `hwmon` family.
pub const REGISTRATION: Registration = Registration {
    name: "hwmon",
    default_enabled: true,
    make: make_family,
};

fn make_family(s: &Settings) -> Box<dyn Family> {
    Box::new(HwmonFamily {
        chips: s.flags.filter("hwmon.chip").ok().flatten(),
        sensors: s.flags.filter("hwmon.sensor").ok().flatten(),
    })
}

/// The sensor types node_exporter knows; files of other types are ignored.
const SENSOR_TYPES: &[&str] = &[
    "vrm",
    "beep_enable",
    "update_interval",
    "in",
    "cpu",
    "fan",
    "pwm",
    "temp",
    "curr",
    "power",
    "energy",
    "humidity",
    "intrusion",
    // Since node_exporter 1.9: GPU clocks (amdgpu's `freq1_input`, in Hz).
    "freq",
];

/// `--collector.hwmon.chip-include/-exclude`, matched against the `chip` label that is
/// written (after disambiguation, as node_exporter 1.12 does), and
/// `--collector.hwmon.sensor-include/-exclude`, matched against `chip;sensor`
/// (`platform_coretemp_0;temp3`) so that one sensor of one chip can be picked; none by default.
struct HwmonFamily {
    chips: Option<super::flags::Filter>,
    sensors: Option<super::flags::Filter>,
}

impl Family for HwmonFamily {
    fn name(&self) -> &'static str {
        "hwmon"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let class = roots.sys("class/hwmon");
        if !crate::read::procfs::is_dir(&class) {
            // The host has no such files: node_exporter's "no data" (success 0).
            return Ok(Arc::new(super::family::NoData));
        }
        let mut out = Samples::default();
        for (dir, chip) in chips(&class) {
            if self.chips.as_ref().is_some_and(|f| f.ignored(&chip)) {
                continue;
            }
            read_chip(&dir, &chip, self.sensors.as_ref(), &mut out);
        }
        Ok(Arc::new(out.sorted()))
    }
}

/// The chips below `class` with their `chip` labels, shared labels made unique.
fn chips(class: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut found = Vec::new();
    for entry in sorted_entries(class) {
        let dir = crate::read::procfs::resolved(&class.join(&entry));
        // A link to a chip is followed; a dangling link or a plain file is no chip.
        if !crate::read::procfs::is_dir(&dir) {
            continue;
        }
        if let Some(label) = chip_label(&dir) {
            let name = chip_name(&dir);
            found.push((dir, label, name));
        }
    }
    let shared = |label: &str| found.iter().filter(|(_, l, _)| l == label).count() > 1;
    let mut out = Vec::with_capacity(found.len());
    for (dir, label, name) in &found {
        if !shared(label) {
            out.push((dir.clone(), label.clone()));
            continue;
        }
        let unique_name = name.as_ref().filter(|n| {
            let same = found
                .iter()
                .filter(|(_, l, m)| l == label && m.as_ref() == Some(n));
            same.count() == 1
        });
        let suffix = match unique_name {
            Some(n) => n.clone(),
            None => clean_name(&dir.file_name().unwrap_or_default().to_string_lossy()),
        };
        out.push((dir.clone(), format!("{label}_{suffix}")));
    }
    out
}

/// node_exporter's `cleanMetricName`: lower case, anything but `[a-z0-9:_]` made `_`, then
/// `_` trimmed from both ends.
fn clean_name(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            let c = c.to_lowercase().next().unwrap_or(c);
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == ':' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    mapped.trim_matches('_').to_owned()
}

/// The chip's stable name: the device's parent directory and its own name, else the `name`
/// file, else the `hwmonN` directory's real name (node_exporter's `hwmonName`).
fn chip_label(dir: &Path) -> Option<String> {
    if let Ok(dev) = crate::read::procfs::canonicalize(dir.join("device")) {
        let name = dev
            .file_name()
            .map(|n| clean_name(&n.to_string_lossy()))
            .unwrap_or_default();
        let parent = dev
            .parent()
            .and_then(Path::file_name)
            .map(|n| clean_name(&n.to_string_lossy()))
            .unwrap_or_default();
        match (parent.is_empty(), name.is_empty()) {
            (false, false) => return Some(format!("{parent}_{name}")),
            (true, false) => return Some(name),
            _ => {}
        }
    }
    if let Some(name) = chip_name(dir) {
        return Some(name);
    }
    let real = crate::read::procfs::canonicalize(dir).ok()?;
    let name = clean_name(&real.file_name()?.to_string_lossy());
    (!name.is_empty()).then_some(name)
}

/// The chip's `name` file, cleaned; `None` if missing or empty.
fn chip_name(dir: &Path) -> Option<String> {
    let raw = read_capped(&dir.join("name"), FILE_CAP).ok()?;
    let name = clean_name(&raw);
    (!name.is_empty()).then_some(name)
}

/// A sensor file name split as node_exporter's
/// `^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$` splits it (backtracking
/// included), the id as Go's `Atoi` reads it (`temp01` is sensor `temp1`).
fn explode(name: &str) -> Option<(&str, i64, &str)> {
    let b = name.as_bytes();
    let t = b.iter().position(u8::is_ascii_digit).unwrap_or(b.len());
    if t == 0 {
        return None;
    }
    let d = t + b[t..].iter().take_while(|c| c.is_ascii_digit()).count();
    let property_ok = |p: &str| !p.is_empty() && !p.contains('\n');
    let rest = &name[d..];
    let found = if rest.is_empty() {
        Some((&name[..t], &name[t..d], ""))
    } else if let Some(p) = rest.strip_prefix('_').filter(|p| property_ok(p)) {
        Some((&name[..t], &name[t..d], p))
    } else {
        // The type gives back characters up to an `_` that starts the property.
        (1..t)
            .rev()
            .find(|&k| b[k] == b'_' && property_ok(&name[k + 1..]))
            .map(|k| (&name[..k], "", &name[k + 1..]))
    };
    let (kind, id, property) = found?;
    let id = if id.is_empty() { 0 } else { id.parse().ok()? };
    Some((kind, id, property))
}

/// One sensor's files: element (`input`, `max`, `label`; `""` for a bare `pwm1`) to content.
#[derive(Debug, Default)]
struct Sensor {
    kind: &'static str,
    elements: BTreeMap<String, String>,
}

/// Reads the sensor files of `dir` into `sensors` (later files win, as in node_exporter).
fn collect(dir: &Path, sensors: &mut BTreeMap<String, Sensor>) {
    for entry in sorted_entries(dir) {
        let file = entry.to_string_lossy();
        let Some((kind, id, element)) = explode(&file) else {
            continue;
        };
        let Some(kind) = SENSOR_TYPES.iter().copied().find(|t| *t == kind) else {
            continue;
        };
        let Ok(raw) = read_capped(&dir.join(&entry), ATTR_CAP) else {
            continue;
        };
        let sensor = sensors.entry(format!("{kind}{id}")).or_default();
        sensor.kind = kind;
        sensor
            .elements
            .insert(element.to_owned(), raw.trim_matches('\n').to_owned());
    }
}

/// Adds the series of the chip in `dir`, labelled `chip`.
fn read_chip(
    dir: &Path,
    chip: &str,
    sensors_filter: Option<&super::flags::Filter>,
    out: &mut Samples,
) {
    let mut sensors = BTreeMap::new();
    collect(dir, &mut sensors);
    let device = crate::read::procfs::resolved(&dir.join("device"));
    if crate::read::procfs::is_dir(&device) {
        collect(&device, &mut sensors);
    }
    if let Some(name) = chip_name(dir) {
        out.push(
            "node_hwmon_chip_names",
            Kind::Gauge,
            "Annotation metric for human-readable chip names",
            vec![("chip", chip.to_owned()), ("chip_name", name)],
            1.0,
        );
    }
    for (sensor, data) in &sensors {
        if sensors_filter.is_some_and(|f| f.ignored(&format!("{chip};{sensor}"))) {
            continue;
        }
        emit_sensor(chip, sensor, data, out);
    }
}

/// Writes one sensor's families, named and scaled as node_exporter 1.5.0 does.
fn emit_sensor(chip: &str, sensor: &str, data: &Sensor, out: &mut Samples) {
    let labels = || vec![("chip", chip.to_owned()), ("sensor", sensor.to_owned())];
    let bare = data.elements.get("").map(String::as_str);
    let kind = data.kind;
    match kind {
        "beep_enable" => {
            let v = f64::from(u8::from(bare == Some("1")));
            out.push(
                "node_hwmon_beep_enabled",
                Kind::Gauge,
                "Hardware beep enabled",
                labels(),
                v,
            );
            return;
        }
        "vrm" => {
            if let Some(v) = bare.and_then(parse_float) {
                out.push(
                    "node_hwmon_voltage_regulator_version",
                    Kind::Gauge,
                    "Hardware voltage regulator",
                    labels(),
                    v,
                );
            }
            return;
        }
        "update_interval" => {
            if let Some(v) = bare.and_then(parse_float) {
                out.push(
                    "node_hwmon_update_interval_seconds",
                    Kind::Gauge,
                    "Hardware monitor update interval",
                    labels(),
                    v * 0.001,
                );
            }
            return;
        }
        _ => {}
    }
    for (element, value) in &data.elements {
        if element == "label" {
            let mut l = labels();
            l.push(("label", value.clone()));
            out.push(
                "node_hwmon_sensor_label",
                Kind::Gauge,
                "Label for given chip and sensor",
                l,
                1.0,
            );
            continue;
        }
        let mut name = format!("node_hwmon_{kind}");
        if element == "input" {
            if bare.is_some() {
                name.push_str("_input");
            }
        } else if !element.is_empty() {
            name.push('_');
            name.push_str(&clean_name(element));
        }
        let Some(v) = parse_float(value) else {
            continue;
        };
        let e = element.as_str();
        let (suffix, help, value, counter): (&str, String, f64, bool) = match (kind, e) {
            (_, "fault" | "alarm") => ("", format!("Hardware sensor {e} status ({kind})"), v, false),
            (_, "beep") => (
                "_enabled",
                "Hardware monitor sensor has beeping enabled".into(),
                v,
                false,
            ),
            ("in" | "cpu", _) => (
                "_volts",
                format!("Hardware monitor for voltage ({e})"),
                v * 0.001,
                false,
            ),
            ("temp", _) if e != "type" => (
                "_celsius",
                format!(
                    "Hardware monitor for temperature ({})",
                    if e.is_empty() { "input" } else { e }
                ),
                v * 0.001,
                false,
            ),
            ("curr", _) => (
                "_amps",
                format!("Hardware monitor for current ({e})"),
                v * 0.001,
                false,
            ),
            ("energy", _) => (
                "_joule_total",
                format!("Hardware monitor for joules used so far ({e})"),
                v / 1_000_000.0,
                true,
            ),
            ("power", "accuracy") => (
                "",
                "Hardware monitor power meter accuracy, as a ratio".into(),
                v / 1_000_000.0,
                false,
            ),
            ("power", "average_interval" | "average_interval_min" | "average_interval_max") => (
                "_seconds",
                format!("Hardware monitor power usage update interval ({e})"),
                v * 0.001,
                false,
            ),
            ("power", _) => (
                "_watt",
                format!("Hardware monitor for power usage in watts ({e})"),
                v / 1_000_000.0,
                false,
            ),
            ("humidity", _) => (
                "",
                format!("Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a percentage) ({e})"),
                v / 1_000_000.0,
                false,
            ),
            ("freq", "input") => (
                "_freq_mhz",
                "Hardware monitor for GPU frequency in MHz".into(),
                v / 1_000_000.0,
                false,
            ),
            ("fan", "input" | "min" | "max" | "target") => (
                "_rpm",
                format!("Hardware monitor for fan revolutions per minute ({e})"),
                v,
                false,
            ),
            _ => ("", format!("Hardware monitor {kind} element {e}"), v, false),
        };
        name.push_str(suffix);
        let kind = if counter { Kind::Counter } else { Kind::Gauge };
        out.push(name, kind, help, labels(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_close, run, value};

    #[test]
    fn splits_file_names_as_the_regex_does() {
        assert_eq!(explode("temp1_input"), Some(("temp", 1, "input")));
        assert_eq!(
            explode("temp10_crit_alarm"),
            Some(("temp", 10, "crit_alarm"))
        );
        assert_eq!(explode("pwm1"), Some(("pwm", 1, "")));
        assert_eq!(explode("update_interval"), Some(("update_interval", 0, "")));
        assert_eq!(explode("in007_input"), Some(("in", 7, "input")));
        assert_eq!(explode("temp_a1b"), Some(("temp", 0, "a1b")));
        assert_eq!(explode("temp1x"), None);
        assert_eq!(explode("temp1_"), None);
        assert_eq!(explode("1abc"), None);
        assert_eq!(explode("in99999999999999999999_input"), None);
    }

    #[test]
    fn cleans_names_as_node_exporter() {
        assert_eq!(clean_name("My Chip!\n"), "my_chip");
        assert_eq!(clean_name("coretemp.0"), "coretemp_0");
        assert_eq!(clean_name("0000:00:1f.3"), "0000:00:1f_3");
        assert_eq!(clean_name("__"), "");
    }

    #[test]
    fn pi() {
        let t = run(&REGISTRATION, "pi");
        let tz = "chip=\"thermal_thermal_zone0\"";
        assert_close(
            &t,
            &format!("node_hwmon_temp_celsius{{{tz},sensor=\"temp1\"}}"),
            47.85,
        );
        // The thermal zone's own `temp` file, read through `device/`.
        assert_close(
            &t,
            &format!("node_hwmon_temp_celsius{{{tz},sensor=\"temp0\"}}"),
            47.85,
        );
        let rpi = "chip=\"soc:firmware_raspberrypi_hwmon\"";
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_in_lcrit_alarm_volts{{{rpi},sensor=\"in0\"}}")
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_chip_names{{{rpi},chip_name=\"rpi_volt\"}}")
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_chip_names{{{tz},chip_name=\"cpu_thermal\"}}")
            ),
            Some(1.0)
        );
        assert!(t.contains("# HELP node_hwmon_temp_celsius Hardware monitor for temperature (input)\n# TYPE node_hwmon_temp_celsius gauge\n"));
        assert_eq!(t.matches("# TYPE").count(), 3, "{t}");
        assert_eq!(t.lines().filter(|l| !l.starts_with('#')).count(), 5, "{t}");
    }

    #[test]
    fn laptop() {
        let t = run(&REGISTRATION, "laptop");
        let core = "chip=\"platform_coretemp_0\"";
        assert_close(
            &t,
            &format!("node_hwmon_temp_celsius{{{core},sensor=\"temp1\"}}"),
            56.0,
        );
        assert_close(
            &t,
            &format!("node_hwmon_temp_crit_celsius{{{core},sensor=\"temp5\"}}"),
            100.0,
        );
        assert_close(
            &t,
            &format!("node_hwmon_temp_max_celsius{{{core},sensor=\"temp3\"}}"),
            100.0,
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_temp_crit_alarm_celsius{{{core},sensor=\"temp2\"}}")
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &t,
                &format!(
                    "node_hwmon_sensor_label{{{core},label=\"Package id 0\",sensor=\"temp1\"}}"
                )
            ),
            Some(1.0)
        );
        let nvme = "chip=\"nvme_nvme0\"";
        assert_close(
            &t,
            &format!("node_hwmon_temp_min_celsius{{{nvme},sensor=\"temp1\"}}"),
            -273.15,
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_temp_alarm{{{nvme},sensor=\"temp1\"}}")
            ),
            Some(0.0)
        );
        let tp = "chip=\"platform_thinkpad_hwmon\"";
        assert_eq!(
            value(&t, &format!("node_hwmon_fan_rpm{{{tp},sensor=\"fan1\"}}")),
            Some(2845.0)
        );
        assert_eq!(
            value(&t, &format!("node_hwmon_pwm{{{tp},sensor=\"pwm1\"}}")),
            Some(128.0)
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_pwm_enable{{{tp},sensor=\"pwm1\"}}")
            ),
            Some(2.0)
        );
        assert!(t.contains("# HELP node_hwmon_pwm Hardware monitor pwm element \n"));
        assert_close(
            &t,
            "node_hwmon_in_volts{chip=\"power_supply_bat0\",sensor=\"in0\"}",
            12.456,
        );
        assert_eq!(
            value(
                &t,
                "node_hwmon_chip_names{chip=\"power_supply_bat0\",chip_name=\"bat0\"}"
            ),
            Some(1.0)
        );
        assert_close(
            &t,
            "node_hwmon_temp_celsius{chip=\"thermal_thermal_zone2\",sensor=\"temp0\"}",
            42.0,
        );
        // 6 chips, 8 labels, 14 temperatures, 5 + 7 + 8 + 3 crit_alarm/crit/max/min, fan, pwm x2, in, alarm.
        assert_eq!(t.matches("node_hwmon_chip_names{").count(), 6);
        assert_eq!(t.lines().filter(|l| !l.starts_with('#')).count(), 56, "{t}");
    }

    #[test]
    fn sensor_filter_matches_chip_semicolon_sensor() {
        let render_with = |name: &str, pattern: &str| {
            let mut flags = crate::collect::flags::Values::default();
            flags.take(name, pattern).unwrap();
            let settings = Settings {
                flags,
                ..Default::default()
            };
            crate::collect::family::testing::render(&mut *make_family(&settings), "laptop")
        };
        let all = run(&REGISTRATION, "laptop");
        let tp = "node_hwmon_fan_rpm{chip=\"platform_thinkpad_hwmon\",sensor=\"fan1\"}";
        let pwm = "node_hwmon_pwm{chip=\"platform_thinkpad_hwmon\",sensor=\"pwm1\"}";
        assert!(all.contains(tp) && all.contains(pwm));
        // One sensor of one chip out; the chip's other sensors and the other chips stay.
        let t = render_with("hwmon.sensor-exclude", "^platform_thinkpad_hwmon;fan1$");
        assert!(!t.contains(tp) && t.contains(pwm), "{t}");
        assert_eq!(t.matches("node_hwmon_chip_names{").count(), 6);
        // Only fans: a chip's name series stays (it is not a sensor), its other sensors go.
        let t = render_with("hwmon.sensor-include", ";fan");
        assert!(t.contains(tp) && !t.contains(pwm), "{t}");
        assert!(!t.contains("node_hwmon_temp_celsius"));
    }

    #[test]
    fn hostile() {
        let t = run(&REGISTRATION, "hostile");
        let c = "chip=\"platform_hostile\"";
        // `abc` is no number; the label is shown lossily.
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_temp_celsius{{{c},sensor=\"temp1\"}}")
            ),
            None
        );
        assert_eq!(
            value(
                &t,
                &format!(
                    "node_hwmon_sensor_label{{{c},label=\"Bad\u{fffd}Label\",sensor=\"temp1\"}}"
                )
            ),
            Some(1.0)
        );
        assert_close(
            &t,
            &format!("node_hwmon_temp_celsius{{{c},sensor=\"temp2\"}}"),
            18446744073709551615.0 * 0.001,
        );
        assert_close(
            &t,
            &format!("node_hwmon_temp_celsius{{{c},sensor=\"temp3\"}}"),
            -5.0,
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_temp_crit_alarm_celsius{{{c},sensor=\"temp3\"}}")
            ),
            Some(0.001)
        );
        assert_eq!(
            value(&t, &format!("node_hwmon_fan_rpm{{{c},sensor=\"fan1\"}}")),
            None
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_temp_celsius{{{c},sensor=\"temp4\"}}")
            ),
            None
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_temp_celsius{{{c},sensor=\"temp6\"}}")
            ),
            None
        );
        assert_close(
            &t,
            &format!("node_hwmon_in_volts{{{c},sensor=\"in7\"}}"),
            3.3,
        );
        assert_close(
            &t,
            &format!("node_hwmon_power_average_watt{{{c},sensor=\"power1\"}}"),
            12.5,
        );
        assert_close(
            &t,
            &format!("node_hwmon_power_accuracy{{{c},sensor=\"power1\"}}"),
            0.05,
        );
        assert_close(
            &t,
            &format!("node_hwmon_power_average_interval_seconds{{{c},sensor=\"power1\"}}"),
            1.0,
        );
        assert_close(
            &t,
            &format!("node_hwmon_curr_amps{{{c},sensor=\"curr1\"}}"),
            1.5,
        );
        assert_close(
            &t,
            &format!("node_hwmon_energy_joule_total{{{c},sensor=\"energy1\"}}"),
            3.0,
        );
        assert!(t.contains("# TYPE node_hwmon_energy_joule_total counter\n"));
        assert_close(
            &t,
            &format!("node_hwmon_humidity{{{c},sensor=\"humidity1\"}}"),
            45.0,
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_intrusion_alarm{{{c},sensor=\"intrusion0\"}}")
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_beep_enabled{{{c},sensor=\"beep_enable0\"}}")
            ),
            Some(1.0)
        );
        assert_close(
            &t,
            &format!("node_hwmon_update_interval_seconds{{{c},sensor=\"update_interval0\"}}"),
            2.0,
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_voltage_regulator_version{{{c},sensor=\"vrm0\"}}")
            ),
            Some(90.0)
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_fan_beep_enabled{{{c},sensor=\"fan1\"}}")
            ),
            Some(1.0)
        );
        assert_eq!(
            value(&t, &format!("node_hwmon_fan_fault{{{c},sensor=\"fan1\"}}")),
            Some(0.0)
        );
        assert_eq!(
            value(&t, &format!("node_hwmon_fan_pulses{{{c},sensor=\"fan1\"}}")),
            Some(2.0)
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_fan_target_rpm{{{c},sensor=\"fan1\"}}")
            ),
            Some(1200.0)
        );
        assert_eq!(
            value(&t, &format!("node_hwmon_temp_type{{{c},sensor=\"temp5\"}}")),
            Some(4.0)
        );
        assert_eq!(
            value(
                &t,
                &format!("node_hwmon_chip_names{{{c},chip_name=\"my_chip\"}}")
            ),
            Some(1.0)
        );
        assert!(!t.contains("foo"), "{t}");
        // No name and no device: the directory's name. A non-UTF-8 directory: its `name`.
        assert_close(
            &t,
            "node_hwmon_temp_celsius{chip=\"hwmon2\",sensor=\"temp1\"}",
            30.0,
        );
        assert_close(
            &t,
            "node_hwmon_temp_celsius{chip=\"odd_name\",sensor=\"temp1\"}",
            1.0,
        );
        // Two chips called `dup` (the same name, so their directories tell them apart): each
        // keeps its own series, as in node_exporter 1.12 (1.5 kept the first one's).
        assert_close(
            &t,
            "node_hwmon_temp_celsius{chip=\"dup_hwmon4\",sensor=\"temp1\"}",
            11.0,
        );
        assert_close(
            &t,
            "node_hwmon_temp_celsius{chip=\"dup_hwmon5\",sensor=\"temp1\"}",
            22.0,
        );
        assert_close(
            &t,
            "node_hwmon_temp_celsius{chip=\"dup_hwmon5\",sensor=\"temp2\"}",
            33.0,
        );
        assert!(!t.contains("chip=\"dup\""), "{t}");
        // A GPU clock (node_exporter 1.9+): Hz as MHz.
        assert_close(
            &t,
            &format!("node_hwmon_freq_freq_mhz{{{c},sensor=\"freq1\"}}"),
            1800.0,
        );
        assert!(t.contains("# TYPE node_hwmon_freq_freq_mhz gauge\n"));
        // Three radios of one card, all under `ieee80211/phy0`: told apart by their names.
        for (radio, temp) in [(0, 41.0), (1, 42.0), (2, 43.0)] {
            let chip = format!("ieee80211_phy0_mt7996_phy0_{radio}");
            assert_close(
                &t,
                &format!("node_hwmon_temp_celsius{{chip=\"{chip}\",sensor=\"temp1\"}}"),
                temp,
            );
            assert_eq!(
                value(
                    &t,
                    &format!("node_hwmon_chip_names{{chip=\"{chip}\",chip_name=\"mt7996_phy0_{radio}\"}}")
                ),
                Some(1.0)
            );
        }
        // Each family once.
        let mut types: Vec<&str> = t.lines().filter(|l| l.starts_with("# TYPE")).collect();
        let n = types.len();
        types.dedup();
        assert_eq!(types.len(), n);
    }

    #[test]
    fn no_hwmon_is_empty() {
        assert_eq!(run(&REGISTRATION, "vm"), "");
    }
}
