//! `stat`: the kernel-wide counters of `/proc/stat` (node_exporter's `stat` collector): boot
//! time, context switches, forks, interrupts, and runnable and blocked processes, and with
//! `--collector.stat.softirq` (off by default, as node_exporter 1.12) `node_softirqs_total
//! {vector}` from the `softirq` line (its total, then one count per vector in the kernel's
//! order: hi timer net_tx net_rx block block_iopoll tasklet sched hrtimer rcu). The per-CPU
//! lines are the `cpu` family's. A `softirq` line with fewer than the ten vectors leaves the
//! softirq series out (procfs fails the whole collector on it).

use super::family::{Family, Harvest, Registration, Settings, Shared};
use crate::exposition::{Encoder, Kind};
use crate::read::stat::Stat as ReadStat;

/// Registers the `stat` family.
pub const REGISTRATION: Registration = Registration {
    name: "stat",
    default_enabled: true,
    make: make_family,
};

fn make_family(settings: &Settings) -> Box<dyn Family> {
    let show_softirq = settings.flags.switch("stat.softirq");
    Box::new(Shared::new(
        "stat",
        "stat",
        crate::read::stat::read,
        move |s: &ReadStat| Ok(view(s, show_softirq)),
    ))
}

/// The softirq vectors of the `softirq` line, in the kernel's order (`softirq_to_name`).
const VECTORS: [&str; 10] = [
    "hi",
    "timer",
    "net_tx",
    "net_rx",
    "block",
    "block_iopoll",
    "tasklet",
    "sched",
    "hrtimer",
    "rcu",
];

/// One tick's kernel-wide lines of `/proc/stat`, as [`crate::read::stat`] parsed them; a line
/// the kernel did not write (or wrote garbage on) is `None` and its metric is left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Counters {
    /// The reading, without its per-CPU lines (the `cpu` family's, not kept here).
    pub stat: ReadStat,
    /// `--collector.stat.softirq`.
    pub show_softirq: bool,
}

/// The family's view of `/proc/stat`: its kernel-wide lines, copied (the reading is shared by
/// the tick's other views and a harvest outlives the tick).
pub fn view(s: &ReadStat, show_softirq: bool) -> Counters {
    Counters {
        stat: ReadStat {
            cpus: Vec::new(),
            ..*s
        },
        show_softirq,
    }
}

impl Harvest for Counters {
    fn render(&self, out: &mut Encoder) {
        let s = &self.stat;
        for (name, kind, help, v) in [
            (
                "node_intr_total",
                Kind::Counter,
                "Total number of interrupts serviced.",
                s.intr,
            ),
            (
                "node_context_switches_total",
                Kind::Counter,
                "Total number of context switches.",
                s.ctxt,
            ),
            (
                "node_forks_total",
                Kind::Counter,
                "Total number of forks.",
                s.processes,
            ),
            (
                "node_boot_time_seconds",
                Kind::Gauge,
                "Node boot time, in unixtime.",
                s.btime,
            ),
            (
                "node_procs_running",
                Kind::Gauge,
                "Number of processes in runnable state.",
                s.procs_running,
            ),
            (
                "node_procs_blocked",
                Kind::Gauge,
                "Number of processes blocked waiting for I/O to complete.",
                s.procs_blocked,
            ),
        ] {
            if let Some(v) = v {
                out.one(name, kind, help, &[], v as f64);
            }
        }
        if let Some(counts) = s.softirq.filter(|_| self.show_softirq) {
            let mut f = out.family(
                "node_softirqs_total",
                Kind::Counter,
                "Number of softirq calls.",
            );
            for (vector, n) in VECTORS.iter().zip(counts) {
                f.sample(&[("vector", vector)], n as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, run, value};
    use proptest::prelude::*;

    use crate::read::stat::parse;

    #[test]
    fn vm_fixture() {
        let text = run(&REGISTRATION, "vm");
        assert_values(
            &text,
            &[
                ("node_boot_time_seconds", 1_796_148_028.0),
                ("node_context_switches_total", 19_783_557.0),
                ("node_forks_total", 141_452.0),
                ("node_intr_total", 3_971_143.0),
                ("node_procs_running", 1.0),
                ("node_procs_blocked", 0.0),
            ],
        );
        assert!(text.contains("# TYPE node_forks_total counter\n"));
        assert!(text.contains("# TYPE node_procs_running gauge\n"));
        // The per-CPU lines belong to the cpu family.
        assert!(!text.contains("node_cpu"));
    }

    #[test]
    fn softirqs_when_asked() {
        assert!(!run(&REGISTRATION, "vm").contains("node_softirqs_total"));
        let mut flags = crate::collect::flags::Values::default();
        flags.take("stat.softirq", "true").unwrap();
        let settings = Settings {
            flags,
            ..Default::default()
        };
        let text = crate::collect::family::testing::render(&mut *make_family(&settings), "vm");
        assert_values(
            &text,
            &[
                ("node_softirqs_total{vector=\"hi\"}", 0.0),
                ("node_softirqs_total{vector=\"net_rx\"}", 11_655_117.0),
                ("node_softirqs_total{vector=\"rcu\"}", 931_850.0),
            ],
        );
        assert_eq!(text.matches("node_softirqs_total{").count(), 10);
        assert_eq!(parse("softirq 1 2 3\n").softirq, None, "short: left out");
        assert_eq!(parse("softirq 1 2 3 4 5 6 7 8 9 10 x\n").softirq, None);
    }

    #[test]
    fn other_fixtures() {
        let text = run(&REGISTRATION, "pi");
        assert_eq!(value(&text, "node_boot_time_seconds"), Some(1733036400.0));
        let text = run(&REGISTRATION, "laptop");
        assert_eq!(value(&text, "node_procs_blocked"), Some(1.0));
    }

    #[test]
    fn hostile_lines_are_left_out() {
        let text = run(&REGISTRATION, "hostile");
        // `intr` has no number, `ctxt` a negative one, `btime` text: all left out.
        assert_eq!(value(&text, "node_intr_total"), None);
        assert_eq!(value(&text, "node_context_switches_total"), None);
        assert_eq!(value(&text, "node_boot_time_seconds"), None);
        assert!(!text.contains("node_intr_total"));
        assert_eq!(
            value(&text, "node_forks_total"),
            Some(18446744073709551615.0)
        );
    }

    #[test]
    fn missing_file_is_empty() {
        let mut out = Encoder::default();
        (REGISTRATION.make)(&Default::default())
            .harvest(&crate::collect::family::Roots::under(
                "/nonexistent/psmonitor",
            ))
            .unwrap()
            .render(&mut out);
        assert_eq!(out.finish(), "");
    }

    proptest! {
        #![proptest_config(crate::testing::cases(256))]

        /// Any text parses; a counter is never made up (set only from a line that starts
        /// with its key), and lines after any text are read, the last one winning, without
        /// disturbing the others.
        #[test]
        fn any_text(text in any::<String>(), ctxt in any::<u64>(), btime in any::<u32>()) {
            let s = parse(&text);
            for (key, v) in [
                ("intr", s.intr),
                ("ctxt", s.ctxt),
                ("processes", s.processes),
                ("btime", s.btime),
                ("procs_running", s.procs_running),
                ("procs_blocked", s.procs_blocked),
            ] {
                if v.is_some() {
                    prop_assert!(
                        text.lines().any(|l| l.split_whitespace().next() == Some(key)),
                        "{} without a line", key
                    );
                }
            }
            let later = parse(&format!("{text}\nctxt {ctxt}\nbtime {btime}\n"));
            prop_assert_eq!(later.ctxt, Some(ctxt));
            prop_assert_eq!(later.btime, Some(u64::from(btime)));
            prop_assert_eq!(later.intr, s.intr);
            prop_assert_eq!(later.procs_blocked, s.procs_blocked);
        }

        #[test]
        fn generated(intr in any::<u64>(), ctxt in any::<u64>(), btime in any::<u32>(),
                     running in 0u64..10_000, junk in "[a-z_]{1,12} [0-9 ]{0,20}") {
            let text = format!(
                "cpu  1 2 3 4\n{junk}\nintr {intr} 0 1 2\nctxt {ctxt}\nbtime {btime}\nprocs_running {running}\n"
            );
            let s = parse(&text);
            prop_assert_eq!(s.intr, Some(intr));
            prop_assert_eq!(s.ctxt, Some(ctxt));
            prop_assert_eq!(s.btime, Some(u64::from(btime)));
            prop_assert_eq!(s.procs_running, Some(running));
        }
    }
}
