//! `powersupplyclass`: batteries, AC adapters and USB supplies from
//! `/sys/class/power_supply/<name>/`, as node_exporter 1.5.0's `powersupplyclass` collector
//! exposes them: one gauge per numeric attribute (`node_power_supply_<attr>{power_supply}`) and
//! `node_power_supply_info` with the text attributes as labels (only those the supply has, so
//! the label set differs between supplies).
//!
//! Units follow node_exporter, not the metric names: the kernel's microamperes, microvolts,
//! microwatts and microwatt-hours are divided by 10^6 (so `energy_full` is in watt-hours) and
//! tenths of a degree by 10; a few attributes are renamed (`energy_now` → `energy_watthour`,
//! `voltage_now` → `voltage_volt`, `cycle_count` → `cyclecount` ...).
//!
//! Pitfalls: numbers are parsed as Go's `ParseInt(s, 0, 64)` does, so `0x10` is hex and `017`
//! octal. Batteries answer some reads with `ENODEV` or `EIO` (an empty bay, a busy EC): such a
//! file is skipped, where node_exporter fails the whole collector. Links (`device`,
//! `subsystem`) and directories (`power`, `hwmonN`) are not attributes.

use super::family::{Family, Harvest, Registration, Roots, Samples, Settings};
use crate::exposition::Kind;
use crate::read::procfs::{parse_int, read_capped, sorted_entries, ATTR_CAP};
use std::sync::Arc;

/// Registers the `powersupplyclass` family.
pub const REGISTRATION: Registration = Registration {
    name: "powersupplyclass",
    default_enabled: true,
    make: make_family,
};

fn make_family(settings: &Settings) -> Box<dyn Family> {
    Box::new(PowersupplyclassFamily(
        settings.flags.pattern("powersupply.ignored-supplies"),
    ))
}

/// Numeric attributes: file, metric name (after `node_power_supply_`), divisor.
const NUMBERS: &[(&str, &str, f64)] = &[
    ("authentic", "authentic", 1.0),
    ("calibrate", "calibrate", 1.0),
    ("capacity", "capacity", 1.0),
    ("capacity_alert_max", "capacity_alert_max", 1.0),
    ("capacity_alert_min", "capacity_alert_min", 1.0),
    ("cycle_count", "cyclecount", 1.0),
    ("online", "online", 1.0),
    ("present", "present", 1.0),
    ("time_to_empty_now", "time_to_empty_seconds", 1.0),
    ("time_to_full_now", "time_to_full_seconds", 1.0),
    ("current_boot", "current_boot", 1e6),
    ("current_max", "current_max", 1e6),
    ("current_now", "current_ampere", 1e6),
    ("energy_empty", "energy_empty", 1e6),
    ("energy_empty_design", "energy_empty_design", 1e6),
    ("energy_full", "energy_full", 1e6),
    ("energy_full_design", "energy_full_design", 1e6),
    ("energy_now", "energy_watthour", 1e6),
    ("voltage_boot", "voltage_boot", 1e6),
    ("voltage_max", "voltage_max", 1e6),
    ("voltage_max_design", "voltage_max_design", 1e6),
    ("voltage_min", "voltage_min", 1e6),
    ("voltage_min_design", "voltage_min_design", 1e6),
    ("voltage_now", "voltage_volt", 1e6),
    ("voltage_ocv", "voltage_ocv", 1e6),
    ("charge_control_limit", "charge_control_limit", 1e6),
    ("charge_control_limit_max", "charge_control_limit_max", 1e6),
    ("charge_counter", "charge_counter", 1e6),
    ("charge_empty", "charge_empty", 1e6),
    ("charge_empty_design", "charge_empty_design", 1e6),
    ("charge_full", "charge_full", 1e6),
    ("charge_full_design", "charge_full_design", 1e6),
    ("charge_now", "charge_ampere", 1e6),
    ("charge_term_current", "charge_term_current", 1e6),
    ("constant_charge_current", "constant_charge_current", 1e6),
    (
        "constant_charge_current_max",
        "constant_charge_current_max",
        1e6,
    ),
    ("constant_charge_voltage", "constant_charge_voltage", 1e6),
    (
        "constant_charge_voltage_max",
        "constant_charge_voltage_max",
        1e6,
    ),
    ("precharge_current", "precharge_current", 1e6),
    ("input_current_limit", "input_current_limit", 1e6),
    ("power_now", "power_watt", 1e6),
    ("temp", "temp_celsius", 10.0),
    ("temp_alert_max", "temp_alert_max_celsius", 10.0),
    ("temp_alert_min", "temp_alert_min_celsius", 10.0),
    ("temp_ambient", "temp_ambient_celsius", 10.0),
    ("temp_ambient_max", "temp_ambient_max_celsius", 10.0),
    ("temp_ambient_min", "temp_ambient_min_celsius", 10.0),
    ("temp_max", "temp_max_celsius", 10.0),
    ("temp_min", "temp_min_celsius", 10.0),
];

/// Text attributes, which become labels of `node_power_supply_info`.
const TEXTS: &[&str] = &[
    "capacity_level",
    "charge_type",
    "health",
    "manufacturer",
    "model_name",
    "serial_number",
    "status",
    "technology",
    "type",
    "usb_type",
    "scope",
];

/// `--collector.powersupply.ignored-supplies`: supplies whose name it matches (unanchored,
/// as Go's `MatchString`) are left out; node_exporter's default `^$` matches none.
struct PowersupplyclassFamily(Option<regex_lite::Regex>);

impl Family for PowersupplyclassFamily {
    fn name(&self) -> &'static str {
        "powersupplyclass"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let class = roots.sys("class/power_supply");
        let mut out = Samples::default();
        for entry in sorted_entries(&class) {
            let dir = crate::read::procfs::resolved(&class.join(&entry));
            if !crate::read::procfs::is_dir(&dir) {
                continue;
            }
            let supply = entry.to_string_lossy().into_owned();
            if self.0.as_ref().is_some_and(|re| re.is_match(&supply)) {
                continue;
            }
            let mut info = vec![("power_supply", supply.clone())];
            for file in sorted_entries(&dir) {
                let path = dir.join(&file);
                if !crate::read::procfs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                    continue;
                }
                let Ok(raw) = read_capped(&path, ATTR_CAP) else {
                    continue;
                };
                let value = raw.trim();
                let file = file.to_string_lossy();
                if let Some(&(_, metric, divisor)) = NUMBERS.iter().find(|n| n.0 == file) {
                    if let Some(v) = parse_int(value) {
                        let v = if divisor == 1.0 {
                            v as f64
                        } else {
                            v as f64 / divisor
                        };
                        out.push(
                            format!("node_power_supply_{metric}"),
                            Kind::Gauge,
                            format!("{metric} value of /sys/class/power_supply/<power_supply>."),
                            vec![("power_supply", supply.clone())],
                            v,
                        );
                    }
                } else if let Some(&key) = TEXTS.iter().find(|t| **t == file) {
                    if !value.is_empty() {
                        info.push((key, value.to_owned()));
                    }
                }
            }
            out.push(
                "node_power_supply_info",
                Kind::Gauge,
                "info of /sys/class/power_supply/<power_supply>.",
                info,
                1.0,
            );
        }
        Ok(Arc::new(out.sorted()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{run, value};

    #[test]
    fn parses_ints_as_go_base_0() {
        assert_eq!(parse_int("87"), Some(87));
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("0x10"), Some(16));
        assert_eq!(parse_int("017"), Some(15));
        assert_eq!(parse_int("0b11"), Some(3));
        assert_eq!(parse_int("0"), Some(0));
        assert_eq!(parse_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int("9223372036854775808"), None);
        for bad in ["", "-", "0x", "08", "abc", "1.5", " 1", "+-1"] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn laptop() {
        let t = run(&REGISTRATION, "laptop");
        let bat = "{power_supply=\"BAT0\"}";
        for (name, v) in [
            ("capacity", 87.0),
            ("cyclecount", 123.0),
            ("present", 1.0),
            ("energy_full", 52.45),
            ("energy_full_design", 57.0),
            ("energy_watthour", 45.32),
            ("power_watt", 8.123),
            ("voltage_min_design", 11.58),
            ("voltage_volt", 12.456),
        ] {
            assert_eq!(
                value(&t, &format!("node_power_supply_{name}{bat}")),
                Some(v),
                "{name}"
            );
        }
        assert_eq!(
            value(&t, "node_power_supply_online{power_supply=\"AC\"}"),
            Some(1.0)
        );
        let usb = "{power_supply=\"ucsi-source-psy-USBC000:001\"}";
        assert_eq!(
            value(&t, &format!("node_power_supply_online{usb}")),
            Some(0.0)
        );
        assert_eq!(
            value(&t, &format!("node_power_supply_current_max{usb}")),
            Some(3.0)
        );
        assert_eq!(
            value(&t, &format!("node_power_supply_current_ampere{usb}")),
            Some(0.0)
        );
        assert_eq!(
            value(&t, &format!("node_power_supply_voltage_max{usb}")),
            Some(5.0)
        );
        assert_eq!(
            value(&t, "node_power_supply_info{capacity_level=\"Normal\",manufacturer=\"SMP\",model_name=\"5B10W13975\",power_supply=\"BAT0\",serial_number=\"1234\",status=\"Discharging\",technology=\"Li-poly\",type=\"Battery\"}"),
            Some(1.0)
        );
        assert_eq!(
            value(
                &t,
                "node_power_supply_info{power_supply=\"AC\",type=\"Mains\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            value(&t, "node_power_supply_info{power_supply=\"ucsi-source-psy-USBC000:001\",scope=\"System\",type=\"USB\",usb_type=\"[C] PD PD_PPS\"}"),
            Some(1.0)
        );
        assert!(t.contains("# HELP node_power_supply_energy_watthour energy_watthour value of /sys/class/power_supply/<power_supply>.\n# TYPE node_power_supply_energy_watthour gauge\n"));
        // 9 battery numbers, AC online, 6 USB numbers, 3 info.
        assert_eq!(t.lines().filter(|l| !l.starts_with('#')).count(), 19, "{t}");
    }

    #[test]
    fn hostile() {
        let t = run(&REGISTRATION, "hostile");
        let bat = "{power_supply=\"BAT0\"}";
        assert_eq!(value(&t, &format!("node_power_supply_capacity{bat}")), None);
        assert_eq!(
            value(&t, &format!("node_power_supply_energy_watthour{bat}")),
            None
        );
        assert_eq!(value(&t, &format!("node_power_supply_online{bat}")), None);
        assert_eq!(
            value(&t, &format!("node_power_supply_voltage_volt{bat}")),
            Some(16e-6)
        );
        assert_eq!(
            value(&t, &format!("node_power_supply_cyclecount{bat}")),
            Some(-1.0)
        );
        assert_eq!(
            value(&t, &format!("node_power_supply_temp_celsius{bat}")),
            Some(28.5)
        );
        assert_eq!(
            value(&t, &format!("node_power_supply_present{bat}")),
            Some(1.0)
        );
        assert_eq!(
            value(&t, "node_power_supply_online{power_supply=\"AC\"}"),
            Some(15.0)
        );
        // The manufacturer is shown lossily; `technology` is a directory, so no label.
        assert_eq!(
            value(&t, "node_power_supply_info{health=\"Good\",manufacturer=\"ACME\u{fffd} Corp\",power_supply=\"BAT0\",status=\"Unknown\",type=\"Battery\"}"),
            Some(1.0)
        );
        assert!(!t.contains("notadir"));
    }

    #[test]
    fn no_supplies_is_empty() {
        assert_eq!(run(&REGISTRATION, "pi"), "");
        assert_eq!(run(&REGISTRATION, "vm"), "");
    }
}
