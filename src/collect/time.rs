//! `time`: the system clock and its clock sources (node_exporter's `time` collector):
//! `node_time_seconds`, `node_time_zone_offset_seconds{time_zone}`, and from sysfs
//! `devices/system/clocksource/clocksource*/` the available and current clock sources.
//!
//! The clock is read when `/metrics` renders, not at the tick, so that
//! `node_time_seconds - timestamp(node_time_seconds)` measures this host's clock against
//! Prometheus' rather than the age of the tick. The time zone is the one psmonitor runs in
//! (`TZ`, else `/etc/localtime`), as for node_exporter. The `device` label is the clock source
//! directory's position in name order, which is what node_exporter writes (not the number in
//! its name; they agree on every real host, which has one, `clocksource0`).

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::read_lossy;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Registers the `time` family.
pub const REGISTRATION: Registration = Registration {
    name: "time",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(TimeFamily::default())
}

#[derive(Default)]
struct TimeFamily {
    buf: Vec<u8>,
}

/// One clock source device: the sources it offers and the one in use (`None` if unreadable).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Clocksource {
    pub available: Vec<String>,
    pub current: Option<String>,
}

/// One tick: the clock source devices, in name order.
#[derive(Debug, Default, PartialEq)]
pub struct TimeHarvest {
    pub clocksources: Vec<Clocksource>,
}

impl TimeFamily {
    fn clocksources(&mut self, roots: &Roots) -> Vec<Clocksource> {
        let dir = roots.sys("devices/system/clocksource");
        // node_exporter's glob `clocksource[0-9]*`, in its (byte) order.
        let names: Vec<std::ffi::OsString> = crate::read::procfs::sorted_entries(&dir)
            .into_iter()
            .filter(|n| {
                n.as_encoded_bytes()
                    .strip_prefix(b"clocksource")
                    .is_some_and(|r| r.first().is_some_and(u8::is_ascii_digit))
            })
            .collect();
        names
            .iter()
            .map(|name| {
                let dev = dir.join(name);
                let available = match read_lossy(dev.join("available_clocksource"), &mut self.buf) {
                    Ok(text) => text.split_whitespace().map(str::to_owned).collect(),
                    Err(_) => Vec::new(),
                };
                let current = read_lossy(dev.join("current_clocksource"), &mut self.buf)
                    .ok()
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty());
                Clocksource { available, current }
            })
            .collect()
    }
}

impl Family for TimeFamily {
    fn name(&self) -> &'static str {
        "time"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        Ok(Arc::new(TimeHarvest {
            clocksources: self.clocksources(roots),
        }))
    }
}

/// The local time zone's abbreviation and offset from UTC in seconds at `secs` since the epoch.
pub fn zone(secs: i64) -> (String, f64) {
    // The libc crate marks musl's `time_t` deprecated (its 32-bit targets are to follow musl
    // 1.2's 64-bit time_t); it and `localtime_r` agree today on every release target.
    #[allow(deprecated)]
    let t = secs as libc::time_t;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: both pointers are valid for the call; localtime_r fills `tm` or returns NULL.
    if unsafe { libc::localtime_r(&t, tm.as_mut_ptr()) }.is_null() {
        return ("UTC".into(), 0.0);
    }
    // SAFETY: localtime_r succeeded, so `tm` is initialised (and it was zeroed before).
    let tm = unsafe { tm.assume_init() };
    let name = if tm.tm_zone.is_null() {
        String::new()
    } else {
        // SAFETY: a non-NULL tm_zone points to a NUL-terminated string in the C library's
        // time zone data, which lives as long as the process.
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    (name, tm.tm_gmtoff as f64)
}

impl Harvest for TimeHarvest {
    fn render(&self, out: &mut Encoder) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        out.one(
            "node_time_seconds",
            Kind::Gauge,
            "System time in seconds since epoch (1970).",
            &[],
            now,
        );
        let (name, offset) = zone(now as i64);
        out.one(
            "node_time_zone_offset_seconds",
            Kind::Gauge,
            "System time zone offset in seconds.",
            &[("time_zone", &name)],
            offset,
        );
        let devices: Vec<String> = (0..self.clocksources.len())
            .map(|i| i.to_string())
            .collect();
        let mut f = out.family(
            "node_time_clocksource_available_info",
            Kind::Gauge,
            "Available clocksources read from '/sys/devices/system/clocksource'.",
        );
        for (c, device) in self.clocksources.iter().zip(&devices) {
            for source in &c.available {
                f.sample(&[("clocksource", source), ("device", device)], 1.0);
            }
        }
        let mut f = out.family(
            "node_time_clocksource_current_info",
            Kind::Gauge,
            "Current clocksource read from '/sys/devices/system/clocksource'.",
        );
        for (c, device) in self.clocksources.iter().zip(&devices) {
            if let Some(source) = &c.current {
                f.sample(&[("clocksource", source), ("device", device)], 1.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{run, value};

    #[test]
    fn vm_fixture_clocksources() {
        let text = run(&REGISTRATION, "vm");
        for series in [
            r#"node_time_clocksource_available_info{clocksource="tsc",device="0"}"#,
            r#"node_time_clocksource_available_info{clocksource="kvm-clock",device="0"}"#,
            r#"node_time_clocksource_current_info{clocksource="tsc",device="0"}"#,
        ] {
            assert_eq!(value(&text, series), Some(1.0), "{series}");
        }
        assert_eq!(
            text.matches("node_time_clocksource_available_info{")
                .count(),
            2
        );
        assert_eq!(
            text.matches("node_time_clocksource_current_info{").count(),
            1
        );
    }

    #[test]
    fn laptop_and_pi_fixtures() {
        let text = run(&REGISTRATION, "laptop");
        assert_eq!(
            text.matches("node_time_clocksource_available_info{")
                .count(),
            3
        );
        assert_eq!(
            value(
                &text,
                r#"node_time_clocksource_available_info{clocksource="acpi_pm",device="0"}"#
            ),
            Some(1.0)
        );
        let text = run(&REGISTRATION, "pi");
        assert_eq!(
            value(
                &text,
                r#"node_time_clocksource_current_info{clocksource="arch_sys_counter",device="0"}"#
            ),
            Some(1.0)
        );
    }

    #[test]
    fn hostile_fixture() {
        let text = run(&REGISTRATION, "hostile");
        // clocksource0: a quote and a non-UTF-8 byte in a name, and current_clocksource is a
        // directory; clocksource1 is fine; "clocksourceX" is not a clock source.
        assert_eq!(
            value(
                &text,
                "node_time_clocksource_available_info{clocksource=\"t\\\"sc\",device=\"0\"}"
            ),
            Some(1.0)
        );
        assert!(text.contains("clocksource=\"h\u{fffd}pet\",device=\"0\""));
        assert!(!text.contains("current_info{clocksource=\"t"));
        assert_eq!(
            value(
                &text,
                r#"node_time_clocksource_current_info{clocksource="jiffies",device="1"}"#
            ),
            Some(1.0)
        );
        assert!(!text.contains("device=\"2\""));
    }

    #[test]
    fn real_clock_and_zone() {
        let text = run(&REGISTRATION, "vm");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let t = value(&text, "node_time_seconds").unwrap();
        assert!((t - now).abs() < 5.0, "{t} vs {now}");
        // The same zone and offset as date(1) sees.
        let date = std::process::Command::new("date")
            .arg("+%Z %z")
            .output()
            .unwrap();
        let date = String::from_utf8_lossy(&date.stdout);
        let (name, hhmm) = date.trim().split_once(' ').unwrap();
        let hhmm: i64 = hhmm.parse().unwrap();
        let offset = (hhmm / 100 * 3600 + hhmm % 100 * 60) as f64;
        let series = format!("node_time_zone_offset_seconds{{time_zone=\"{name}\"}}");
        assert_eq!(value(&text, &series), Some(offset), "{text}");
    }

    #[test]
    fn no_sysfs_still_has_the_clock() {
        let mut out = Encoder::default();
        TimeFamily::default()
            .harvest(&Roots::under("/nonexistent/psmonitor"))
            .unwrap()
            .render(&mut out);
        let text = out.finish();
        assert!(text.contains("node_time_seconds "));
        assert!(!text.contains("clocksource"));
    }
}
