//! `pressure`: pressure stall information from `/proc/pressure/{cpu,io,memory,irq}`
//! (node_exporter 1.12's `pressure` collector).
//!
//! Each file has a `some` line (time at least one task was stalled) and, except `cpu` before
//! Linux 5.13, a `full` line (time all non-idle tasks were stalled at once); `total=` is
//! microseconds, written here as seconds. node_exporter 1.5.0 maps `cpu some`, `io some` and
//! `memory some` to `*_waiting_seconds_total` and `io full` and `memory full` to
//! `*_stalled_seconds_total`. node_exporter 1.12 adds `cpu full` (`cpu_stalled`, since 1.8)
//! and `irq full` (`irq_stalled`, since 1.9; `/proc/pressure/irq` exists from Linux 6.1 with
//! `CONFIG_IRQ_TIME_ACCOUNTING`, and has only a `full` line). The files are missing
//! before Linux 4.20 or without `CONFIG_PSI`, and fail with EOPNOTSUPP when the kernel was
//! booted with `psi=0`: then there are no samples.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use std::sync::Arc;

/// Registers the `pressure` family.
pub const REGISTRATION: Registration = Registration {
    name: "pressure",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(PressureFamily)
}

#[derive(Default)]
struct PressureFamily;

/// The families: file, line, name and help.
const FAMILIES: [(&str, &str, &str, &str); 7] = [
    (
        "cpu",
        "some",
        "node_pressure_cpu_waiting_seconds_total",
        "Total time in seconds that processes have waited for CPU time",
    ),
    (
        "cpu",
        "full",
        "node_pressure_cpu_stalled_seconds_total",
        "Total time in seconds no process could make progress due to CPU congestion",
    ),
    (
        "irq",
        "full",
        "node_pressure_irq_stalled_seconds_total",
        "Total time in seconds no process could make progress due to IRQ congestion",
    ),
    (
        "io",
        "some",
        "node_pressure_io_waiting_seconds_total",
        "Total time in seconds that processes have waited due to IO congestion",
    ),
    (
        "io",
        "full",
        "node_pressure_io_stalled_seconds_total",
        "Total time in seconds no process could make progress due to IO congestion",
    ),
    (
        "memory",
        "some",
        "node_pressure_memory_waiting_seconds_total",
        "Total time in seconds that processes have waited for memory",
    ),
    (
        "memory",
        "full",
        "node_pressure_memory_stalled_seconds_total",
        "Total time in seconds no process could make progress due to memory congestion",
    ),
];

/// One tick: microseconds per [`FAMILIES`] entry; `None` where the file or line is missing or
/// garbled.
#[derive(Debug, Default, PartialEq)]
pub struct Pressure(pub [Option<u64>; 7]);

/// The family's view of a pressure file: the `total=` microseconds of the first `kind`
/// (`some` or `full`) line that has a valid one.
pub fn first_total(p: &crate::read::pressure::Pressure, kind: &str) -> Option<u64> {
    p.0.iter().filter(|l| l.kind == kind).find_map(|l| l.total)
}

impl Family for PressureFamily {
    fn name(&self) -> &'static str {
        "pressure"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let mut totals = [None; 7];
        for file in ["cpu", "io", "memory", "irq"] {
            // Missing, EOPNOTSUPP (psi=0) or unreadable: that resource has no samples.
            let reading = crate::read::pressure::read(&roots.proc(&format!("pressure/{file}")));
            let Ok(Some(lines)) = reading.present() else {
                continue;
            };
            for (slot, (f, kind, ..)) in totals.iter_mut().zip(FAMILIES) {
                if f == file {
                    *slot = first_total(lines, kind);
                }
            }
        }
        Ok(Arc::new(Pressure(totals)))
    }
}

impl Harvest for Pressure {
    fn render(&self, out: &mut Encoder) {
        for (us, (_, _, name, help)) in self.0.iter().zip(FAMILIES) {
            if let Some(us) = us {
                out.one(name, Kind::Counter, help, &[], *us as f64 / 1e6);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, run, value};
    use proptest::prelude::*;

    /// The family's view of a pressure file's text.
    fn total(text: &str, kind: &str) -> Option<u64> {
        first_total(&crate::read::pressure::parse(text), kind)
    }

    #[test]
    fn vm_fixture() {
        let text = run(&REGISTRATION, "vm");
        assert_values(
            &text,
            &[
                ("node_pressure_cpu_waiting_seconds_total", 231.783_784),
                ("node_pressure_io_waiting_seconds_total", 10.234_216),
                ("node_pressure_io_stalled_seconds_total", 8.289_945),
                ("node_pressure_memory_waiting_seconds_total", 0.0),
                ("node_pressure_memory_stalled_seconds_total", 0.0),
            ],
        );
        assert!(text.contains("# TYPE node_pressure_io_stalled_seconds_total counter\n"));
        // Since node_exporter 1.8/1.9: cpu's `full` line and irq's.
        assert!(text.contains("# TYPE node_pressure_irq_stalled_seconds_total counter\n"));
        assert_eq!(
            value(&text, "node_pressure_irq_stalled_seconds_total"),
            Some(1.234_567)
        );
        let cpu_full = std::fs::read_to_string(
            crate::collect::family::testing::fixture("vm").proc("pressure/cpu"),
        )
        .unwrap();
        assert_eq!(
            value(&text, "node_pressure_cpu_stalled_seconds_total"),
            total(&cpu_full, "full").map(|us| us as f64 / 1e6)
        );
    }

    #[test]
    fn laptop_and_pi() {
        let text = run(&REGISTRATION, "laptop");
        assert_eq!(
            value(&text, "node_pressure_memory_stalled_seconds_total"),
            Some(12.5)
        );
        // The Pi's kernel has no PSI.
        assert_eq!(run(&REGISTRATION, "pi"), "");
    }

    #[test]
    fn hostile_fixture() {
        let text = run(&REGISTRATION, "hostile");
        // cpu: total is text; io: only a `some` line; memory: a directory.
        assert_eq!(
            value(&text, "node_pressure_cpu_waiting_seconds_total"),
            None
        );
        assert_eq!(
            value(&text, "node_pressure_io_waiting_seconds_total"),
            Some(18_446_744_073_709.55)
        );
        assert_eq!(value(&text, "node_pressure_io_stalled_seconds_total"), None);
        assert!(!text.contains("memory"));
    }

    proptest! {
        #![proptest_config(crate::testing::cases(256))]

        /// Any text parses; a total comes only from a `total=` field of a line of its kind,
        /// and a valid first line wins over whatever follows, leaving the other kind alone.
        #[test]
        fn any_text(text in any::<String>(), some in any::<u64>()) {
            for kind in ["some", "full"] {
                if let Some(v) = total(&text, kind) {
                    prop_assert!(text.lines().any(|l| {
                        let mut f = l.split_whitespace();
                        f.next() == Some(kind)
                            && f.any(|x| x.strip_prefix("total=").and_then(|n| n.parse().ok()) == Some(v))
                    }), "{}={} without its line", kind, v);
                }
            }
            let first = format!("some avg10=0.00 avg60=0.00 avg300=0.00 total={some}\n{text}");
            prop_assert_eq!(total(&first, "some"), Some(some));
            prop_assert_eq!(total(&first, "full"), total(&text, "full"));
        }

        #[test]
        fn generated(some in any::<u64>(), full in any::<u64>()) {
            let text = format!(
                "some avg10=1.00 avg60=0.50 avg300=0.10 total={some}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total={full}\n"
            );
            prop_assert_eq!(total(&text, "some"), Some(some));
            prop_assert_eq!(total(&text, "full"), Some(full));
        }
    }
}
