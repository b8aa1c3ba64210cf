//! `tapestats`: SCSI tape drive I/O statistics from `/sys/class/scsi_tape/stN/stats/`, as
//! node_exporter 1.12's `tapestats` collector (through procfs' `SCSITapeClass`) exposes them:
//! `node_tape_{io_now,io_time_seconds_total,io_others_total,read_bytes_total,
//! reads_completed_total,read_time_seconds_total,written_bytes_total,writes_completed_total,
//! write_time_seconds_total,residual_total}{device}`.
//!
//! Kernel ABI (Documentation/scsi/st.rst, "Sysfs and statistics for tape devices"): each drive
//! appears several times in the class (`st0`, the no-rewind `nst0`, the mode variants `st0a`,
//! `st0l`, `st0m`, ...) with the same counters, so only `st<N>` is read (procfs' `^st\d+$`);
//! times are in nanoseconds (written here in seconds), `in_flight` is a gauge. Numbers are
//! parsed as Go's `ParseUint(s, 0, 64)` (`0x` hex, a leading `0` octal).
//!
//! Pitfalls: without the class directory (no `st` driver) the family is "no data", as
//! node_exporter says; `--collector.tapestats.ignored-devices` (default `^$`) leaves drives
//! out by name. Where procfs fails the whole collector (a drive without `stats/`, a counter
//! that is unreadable or not a number) only that drive or counter is left out here; a counter
//! file the kernel does not write reads 0, as in procfs.

use super::family::{Family, Harvest, NoData, Registration, Roots, Samples, Settings};
use crate::exposition::Kind;
use crate::read::procfs::{parse_int, read_capped, sorted_entries, ATTR_CAP};
use regex_lite::Regex;
use std::sync::Arc;

/// Registers the `tapestats` family.
pub const REGISTRATION: Registration = Registration {
    name: "tapestats",
    default_enabled: true,
    make: make_family,
};

fn make_family(settings: &Settings) -> Box<dyn Family> {
    Box::new(TapestatsFamily {
        ignored: settings.flags.pattern("tapestats.ignored-devices"),
    })
}

struct TapestatsFamily {
    /// `--collector.tapestats.ignored-devices`; `None` is node_exporter's `^$`.
    ignored: Option<Regex>,
}

/// (metric, help, kind, stats file, scale to node_exporter's unit).
const COUNTERS: [(&str, &str, Kind, &str, f64); 10] = [
    ("node_tape_io_now", "The number of I/Os currently outstanding to this device.", Kind::Gauge, "in_flight", 1.0),
    ("node_tape_io_time_seconds_total", "The amount of time spent waiting for all I/O to complete (including read and write). This includes tape movement commands such as seeking between file or set marks and implicit tape movement such as when rewind on close tape devices are used.", Kind::Counter, "io_ns", 1e-9),
    ("node_tape_io_others_total", "The number of I/Os issued to the tape drive other than read or write commands. The time taken to complete these commands uses the following calculation io_time_seconds_total-read_time_seconds_total-write_time_seconds_total", Kind::Counter, "other_cnt", 1.0),
    ("node_tape_read_bytes_total", "The number of bytes read from the tape drive.", Kind::Counter, "read_byte_cnt", 1.0),
    ("node_tape_reads_completed_total", "The number of read requests issued to the tape drive.", Kind::Counter, "read_cnt", 1.0),
    ("node_tape_read_time_seconds_total", "The amount of time spent waiting for read requests to complete.", Kind::Counter, "read_ns", 1e-9),
    ("node_tape_residual_total", "The number of times during a read or write we found the residual amount to be non-zero. This should mean that a program is issuing a read larger thean the block size on tape. For write not all data made it to tape.", Kind::Counter, "resid_cnt", 1.0),
    ("node_tape_written_bytes_total", "The number of bytes written to the tape drive.", Kind::Counter, "write_byte_cnt", 1.0),
    ("node_tape_writes_completed_total", "The number of write requests issued to the tape drive.", Kind::Counter, "write_cnt", 1.0),
    ("node_tape_write_time_seconds_total", "The amount of time spent waiting for write requests to complete.", Kind::Counter, "write_ns", 1e-9),
];

/// Whether `name` is a drive's primary node, `st<digits>`.
fn is_drive(name: &str) -> bool {
    name.strip_prefix("st")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl Family for TapestatsFamily {
    fn name(&self) -> &'static str {
        "tapestats"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let class = roots.sys("class/scsi_tape");
        if !crate::read::procfs::is_dir(&class) {
            return Ok(Arc::new(NoData));
        }
        let mut s = Samples::default();
        for entry in sorted_entries(&class) {
            let name = entry.to_string_lossy();
            let ignored = match &self.ignored {
                Some(r) => r.is_match(&name),
                None => name.is_empty(),
            };
            let stats = class.join(&entry).join("stats");
            if !is_drive(&name) || ignored || !crate::read::procfs::is_dir(&stats) {
                continue;
            }
            for (metric, help, kind, file, scale) in COUNTERS {
                let v = match read_capped(&stats.join(file), ATTR_CAP) {
                    Ok(text) => parse_int(text.trim()).and_then(|v| u64::try_from(v).ok()),
                    Err(e) if crate::read::procfs::is_absent(&e) => Some(0),
                    Err(_) => None,
                };
                if let Some(v) = v {
                    s.push(
                        metric,
                        kind,
                        help,
                        vec![("device", name.to_string())],
                        v as f64 * scale,
                    );
                }
            }
        }
        Ok(Arc::new(s.sorted()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_close, assert_values, fixture, render, run};

    #[test]
    fn vm_with_an_lto_drive_and_an_idle_one() {
        let t = run(&REGISTRATION, "vm");
        let d = "{device=\"st0\"}";
        assert_values(
            &t,
            &[
                (&format!("node_tape_io_now{d}"), 0.0),
                (&format!("node_tape_io_others_total{d}"), 1409.0),
                (&format!("node_tape_read_bytes_total{d}"), 979.0),
                (&format!("node_tape_reads_completed_total{d}"), 3741.0),
                (&format!("node_tape_residual_total{d}"), 19.0),
                (
                    &format!("node_tape_written_bytes_total{d}"),
                    1496246784000.0,
                ),
                (&format!("node_tape_writes_completed_total{d}"), 53772916.0),
                ("node_tape_written_bytes_total{device=\"st1\"}", 0.0),
            ],
        );
        assert_close(
            &t,
            &format!("node_tape_io_time_seconds_total{d}"),
            9247.01108772,
        );
        assert_close(
            &t,
            &format!("node_tape_read_time_seconds_total{d}"),
            33.788355744,
        );
        assert_close(
            &t,
            &format!("node_tape_write_time_seconds_total{d}"),
            5233.597394395,
        );
        // The no-rewind and mode nodes are the same drive.
        assert!(!t.contains("nst0") && !t.contains("st0a"), "{t}");
        assert_eq!(t.lines().filter(|l| !l.starts_with('#')).count(), 20);
        assert!(t.contains("# TYPE node_tape_io_now gauge\n"));
        assert!(t.contains("# TYPE node_tape_reads_completed_total counter\n"));
    }

    #[test]
    fn ignored_devices_leaves_drives_out() {
        let mut f = TapestatsFamily {
            ignored: Regex::new("^st1$").ok(),
        };
        let t = render(&mut f, "vm");
        assert!(t.contains("{device=\"st0\"}") && !t.contains("{device=\"st1\"}"));
        let mut settings = Settings::default();
        settings
            .flags
            .take("tapestats.ignored-devices", "0")
            .unwrap();
        let h = (REGISTRATION.make)(&settings)
            .harvest(&fixture("vm"))
            .unwrap();
        let mut out = crate::exposition::Encoder::default();
        h.render(&mut out);
        let t = out.finish();
        assert!(!t.contains("{device=\"st0\"}") && t.contains("{device=\"st1\"}"));
    }

    #[test]
    fn hostile_counters_are_left_out() {
        let t = run(&REGISTRATION, "hostile");
        assert_values(
            &t,
            &[
                // Go's base 0: hex, and a leading 0 is octal.
                ("node_tape_reads_completed_total{device=\"st7\"}", 16.0),
                ("node_tape_io_others_total{device=\"st7\"}", 8.0),
                // Not written by the kernel: 0, as procfs.
                ("node_tape_residual_total{device=\"st7\"}", 0.0),
                ("node_tape_residual_total{device=\"st9\"}", 0.0),
            ],
        );
        for gone in [
            "node_tape_writes_completed_total{device=\"st7\"}",
            "node_tape_io_time_seconds_total{device=\"st7\"}",
            "node_tape_io_now{device=\"st7\"}",
            "node_tape_reads_completed_total{device=\"st9\"}",
            "st8",
            "stX",
        ] {
            assert!(!t.contains(gone), "{gone} in\n{t}");
        }
    }

    #[test]
    fn without_tapes_is_no_data() {
        let h = TapestatsFamily { ignored: None }
            .harvest(&fixture("laptop"))
            .unwrap();
        assert!(h.no_data());
        assert!(is_drive("st12") && !is_drive("nst0") && !is_drive("st") && !is_drive("st0a"));
    }
}
