//! `timex`: the kernel's NTP discipline state from `adjtimex(2)` (node_exporter's `timex`
//! collector: every `node_timex_*` family of 1.5.0).
//!
//! A read-only call (`modes` = 0) needs no privilege, but a seccomp filter or container may
//! refuse it with EPERM: that host simply has no timex metrics. Units differ per field, as in
//! adjtimex(2)'s NOTES: `offset` and `jitter` are microseconds, or nanoseconds when the status
//! has `STA_NANO`; `maxerror`, `esterror` and `tick` are always microseconds; `freq`, `ppsfreq`
//! and `stabil` are ppm with a 16-bit fraction ("scaled ppm"), shown as a ratio;
//! `node_timex_sync_status` is 0 when the call returns `TIME_ERROR` (clock not synchronised),
//! else 1. `node_timex_pps_shift_seconds` is the PPS interval's log2 exponent, unconverted,
//! under the name node_exporter gives it.

use super::family::{Empty, Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use std::sync::Arc;

/// Registers the `timex` family.
pub const REGISTRATION: Registration = Registration {
    name: "timex",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(TimexFamily)
}

struct TimexFamily;

/// Scaled ppm (ppm with a 16-bit fraction) per unit of ratio.
const PPM16FRAC: f64 = 1_000_000.0 * 65_536.0;

/// The `adjtimex(2)` fields node_exporter reports, as the kernel gives them (`long` is 32 bits
/// on 32-bit ARM boards).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Raw {
    /// The call's return value: the clock state (`TIME_OK` ... `TIME_ERROR`).
    pub state: i32,
    pub offset: libc::c_long,
    pub freq: libc::c_long,
    pub maxerror: libc::c_long,
    pub esterror: libc::c_long,
    pub status: i32,
    pub constant: libc::c_long,
    pub tick: libc::c_long,
    pub ppsfreq: libc::c_long,
    pub jitter: libc::c_long,
    pub shift: i32,
    pub stabil: libc::c_long,
    pub jitcnt: libc::c_long,
    pub calcnt: libc::c_long,
    pub errcnt: libc::c_long,
    pub stbcnt: libc::c_long,
    pub tai: i32,
}

/// Reads the kernel's state without changing it; `Ok(None)` if the call is not permitted.
pub fn adjtimex() -> Result<Option<Raw>, String> {
    let mut t = std::mem::MaybeUninit::<libc::timex>::zeroed();
    // SAFETY: `t` is a zeroed timex, so `modes` is 0: the call only reads the kernel's state
    // into it.
    let state = unsafe { libc::adjtimex(t.as_mut_ptr()) };
    if state < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            return Ok(None);
        }
        return Err(format!("adjtimex: {e}"));
    }
    // SAFETY: adjtimex succeeded and filled the (zero-initialised) struct.
    let t = unsafe { t.assume_init() };
    Ok(Some(Raw {
        state,
        offset: t.offset,
        freq: t.freq,
        maxerror: t.maxerror,
        esterror: t.esterror,
        status: t.status,
        constant: t.constant,
        tick: t.tick,
        ppsfreq: t.ppsfreq,
        jitter: t.jitter,
        shift: t.shift,
        stabil: t.stabil,
        jitcnt: t.jitcnt,
        calcnt: t.calcnt,
        errcnt: t.errcnt,
        stbcnt: t.stbcnt,
        tai: t.tai,
    }))
}

impl Family for TimexFamily {
    fn name(&self) -> &'static str {
        "timex"
    }

    fn harvest(&mut self, _: &Roots) -> Result<Arc<dyn Harvest>, String> {
        Ok(match adjtimex()? {
            Some(raw) => Arc::new(raw),
            None => Arc::new(Empty),
        })
    }
}

impl Raw {
    /// The families as node_exporter writes them: name, type, help and value in base units.
    pub fn metrics(&self) -> [(&'static str, Kind, &'static str, f64); 17] {
        let per_second = if self.status & libc::STA_NANO != 0 {
            1e9
        } else {
            1e6
        };
        let sync = if self.state == libc::TIME_ERROR {
            0.0
        } else {
            1.0
        };
        use Kind::{Counter, Gauge};
        [
            (
                "node_timex_offset_seconds",
                Gauge,
                "Time offset in between local system and reference clock.",
                self.offset as f64 / per_second,
            ),
            (
                "node_timex_frequency_adjustment_ratio",
                Gauge,
                "Local clock frequency adjustment.",
                1.0 + self.freq as f64 / PPM16FRAC,
            ),
            (
                "node_timex_maxerror_seconds",
                Gauge,
                "Maximum error in seconds.",
                self.maxerror as f64 / 1e6,
            ),
            (
                "node_timex_estimated_error_seconds",
                Gauge,
                "Estimated error in seconds.",
                self.esterror as f64 / 1e6,
            ),
            (
                "node_timex_status",
                Gauge,
                "Value of the status array bits.",
                f64::from(self.status),
            ),
            (
                "node_timex_loop_time_constant",
                Gauge,
                "Phase-locked loop time constant.",
                self.constant as f64,
            ),
            (
                "node_timex_tick_seconds",
                Gauge,
                "Seconds between clock ticks.",
                self.tick as f64 / 1e6,
            ),
            (
                "node_timex_pps_frequency_hertz",
                Gauge,
                "Pulse per second frequency.",
                self.ppsfreq as f64 / PPM16FRAC,
            ),
            (
                "node_timex_pps_jitter_seconds",
                Gauge,
                "Pulse per second jitter.",
                self.jitter as f64 / per_second,
            ),
            (
                "node_timex_pps_shift_seconds",
                Gauge,
                "Pulse per second interval duration.",
                f64::from(self.shift),
            ),
            (
                "node_timex_pps_stability_hertz",
                Gauge,
                "Pulse per second stability, average of recent frequency changes.",
                self.stabil as f64 / PPM16FRAC,
            ),
            (
                "node_timex_pps_jitter_total",
                Counter,
                "Pulse per second count of jitter limit exceeded events.",
                self.jitcnt as f64,
            ),
            (
                "node_timex_pps_calibration_total",
                Counter,
                "Pulse per second count of calibration intervals.",
                self.calcnt as f64,
            ),
            (
                "node_timex_pps_error_total",
                Counter,
                "Pulse per second count of calibration errors.",
                self.errcnt as f64,
            ),
            (
                "node_timex_pps_stability_exceeded_total",
                Counter,
                "Pulse per second count of stability limit exceeded events.",
                self.stbcnt as f64,
            ),
            (
                "node_timex_tai_offset_seconds",
                Gauge,
                "International Atomic Time (TAI) offset.",
                f64::from(self.tai),
            ),
            (
                "node_timex_sync_status",
                Gauge,
                "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
                sync,
            ),
        ]
    }
}

impl Harvest for Raw {
    fn render(&self, out: &mut Encoder) {
        for (name, kind, help, v) in self.metrics() {
            out.one(name, kind, help, &[], v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{run, value};

    #[test]
    fn units_follow_sta_nano() {
        let micro = Raw {
            offset: 1_500,
            jitter: 250,
            maxerror: 16_000_000,
            esterror: 16_000_000,
            tick: 10_000,
            freq: 65_536 * 12, // 12 ppm
            ppsfreq: -65_536,
            stabil: 65_536 / 2,
            status: libc::STA_PLL,
            shift: 2,
            tai: 37,
            jitcnt: 1,
            calcnt: 2,
            errcnt: 3,
            stbcnt: 4,
            constant: 7,
            state: libc::TIME_OK,
        };
        let mut out = Encoder::default();
        micro.render(&mut out);
        let text = out.finish();
        assert_eq!(value(&text, "node_timex_offset_seconds"), Some(0.0015));
        assert_eq!(value(&text, "node_timex_pps_jitter_seconds"), Some(0.00025));
        assert_eq!(value(&text, "node_timex_maxerror_seconds"), Some(16.0));
        assert_eq!(value(&text, "node_timex_tick_seconds"), Some(0.01));
        // Two roundings (divide, add): compare to within an ulp or so.
        let ratio = value(&text, "node_timex_frequency_adjustment_ratio").unwrap();
        assert!((ratio - 1.000012).abs() < 1e-12, "{ratio}");
        assert_eq!(
            value(&text, "node_timex_pps_frequency_hertz"),
            Some(-0.000001)
        );
        assert_eq!(
            value(&text, "node_timex_pps_stability_hertz"),
            Some(0.0000005)
        );
        assert_eq!(value(&text, "node_timex_status"), Some(1.0));
        assert_eq!(value(&text, "node_timex_loop_time_constant"), Some(7.0));
        assert_eq!(value(&text, "node_timex_pps_shift_seconds"), Some(2.0));
        assert_eq!(value(&text, "node_timex_tai_offset_seconds"), Some(37.0));
        assert_eq!(
            value(&text, "node_timex_pps_stability_exceeded_total"),
            Some(4.0)
        );
        assert_eq!(value(&text, "node_timex_sync_status"), Some(1.0));
        assert!(text.contains("# TYPE node_timex_pps_error_total counter\n"));
        assert!(text.contains("# TYPE node_timex_offset_seconds gauge\n"));
        assert_eq!(text.matches("# TYPE ").count(), 17);

        // STA_NANO: offset and jitter are nanoseconds; the rest keep their units.
        let nano = Raw {
            status: libc::STA_NANO | libc::STA_UNSYNC,
            state: libc::TIME_ERROR,
            ..micro
        };
        let mut out = Encoder::default();
        nano.render(&mut out);
        let text = out.finish();
        assert_eq!(value(&text, "node_timex_offset_seconds"), Some(0.0000015));
        assert_eq!(
            value(&text, "node_timex_pps_jitter_seconds"),
            Some(0.00000025)
        );
        assert_eq!(value(&text, "node_timex_maxerror_seconds"), Some(16.0));
        assert_eq!(value(&text, "node_timex_sync_status"), Some(0.0));
    }

    #[test]
    fn real_host() {
        // The syscall itself: every family, with this kernel's tick (USER_HZ is not HZ, but
        // `tick` is 1e6 / USER_HZ microseconds on every Linux).
        let text = run(&REGISTRATION, "vm");
        assert_eq!(text.matches("# TYPE node_timex_").count(), 17, "{text}");
        assert_eq!(value(&text, "node_timex_tick_seconds"), Some(0.01));
        let sync = value(&text, "node_timex_sync_status").unwrap();
        assert!(sync == 0.0 || sync == 1.0);
        let raw = adjtimex().unwrap().unwrap();
        assert_eq!(
            value(&text, "node_timex_status"),
            Some(f64::from(raw.status))
        );
    }
}
