//! `schedstat`: per-CPU scheduler time from `/proc/schedstat` (node_exporter's `schedstat`
//! collector: `node_schedstat_{running,waiting}_seconds_total` and
//! `node_schedstat_timeslices_total`, by `cpu`).
//!
//! The file exists only with `CONFIG_SCHEDSTATS` (this VM's kernel has none: no samples). Its
//! `cpuN` lines have nine numbers; the 7th is the time tasks spent running on the CPU and the
//! 8th the time they waited for it, in nanoseconds, the 9th the timeslices run. A line with
//! fewer numbers (another schedstat version) is skipped rather than misread; so are the
//! `domainN` lines.

use super::family::{Family, Harvest, ProcFile, Registration, Settings};
use crate::exposition::{Encoder, Kind};

/// Registers the `schedstat` family.
pub const REGISTRATION: Registration = Registration {
    name: "schedstat",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(ProcFile::new("schedstat", "schedstat", |text| Ok(parse(text))).absent_is_no_data())
}

/// One CPU's line: running and waiting nanoseconds, and timeslices.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cpu {
    pub cpu: u32,
    pub running_ns: u64,
    pub waiting_ns: u64,
    pub timeslices: u64,
}

/// One tick: the CPUs in file order.
#[derive(Debug, Default, PartialEq)]
pub struct Schedstat(pub Vec<Cpu>);

/// Parses `/proc/schedstat`, keeping the `cpuN` lines with at least nine numbers.
pub fn parse(text: &str) -> Schedstat {
    let mut out: Vec<Cpu> = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(cpu) = fields.next().and_then(super::cpu::cpu_number) else {
            continue;
        };
        let numbers: Option<Vec<u64>> = fields.take(9).map(|f| f.parse().ok()).collect();
        let Some(&[_, _, _, _, _, _, running_ns, waiting_ns, timeslices]) = numbers.as_deref()
        else {
            continue;
        };
        if out.iter().all(|c| c.cpu != cpu) {
            out.push(Cpu {
                cpu,
                running_ns,
                waiting_ns,
                timeslices,
            });
        }
    }
    Schedstat(out)
}

impl Harvest for Schedstat {
    fn render(&self, out: &mut Encoder) {
        let ids: Vec<String> = self.0.iter().map(|c| c.cpu.to_string()).collect();
        type Pick = fn(&Cpu) -> f64;
        let families: [(&str, &str, Pick); 3] = [
            (
                "node_schedstat_running_seconds_total",
                "Number of seconds CPU spent running a process.",
                |c| c.running_ns as f64 / 1e9,
            ),
            (
                "node_schedstat_waiting_seconds_total",
                "Number of seconds spent by processing waiting for this CPU.",
                |c| c.waiting_ns as f64 / 1e9,
            ),
            (
                "node_schedstat_timeslices_total",
                "Number of timeslices executed by CPU.",
                |c| c.timeslices as f64,
            ),
        ];
        for (name, help, pick) in families {
            let mut f = out.family(name, Kind::Counter, help);
            for (c, id) in self.0.iter().zip(&ids) {
                f.sample(&[("cpu", id)], pick(c));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, run, value};
    use proptest::prelude::*;

    #[test]
    fn laptop_fixture() {
        let text = run(&REGISTRATION, "laptop");
        assert_values(
            &text,
            &[
                (
                    r#"node_schedstat_running_seconds_total{cpu="0"}"#,
                    2_345.678_901_234,
                ),
                (
                    r#"node_schedstat_waiting_seconds_total{cpu="7"}"#,
                    98.765_432_1,
                ),
                (r#"node_schedstat_timeslices_total{cpu="3"}"#, 4_567_890.0),
            ],
        );
        assert_eq!(text.matches("node_schedstat_timeslices_total{").count(), 8);
        assert!(text.contains("# TYPE node_schedstat_running_seconds_total counter\n"));
    }

    #[test]
    fn vm_has_none() {
        assert_eq!(run(&REGISTRATION, "vm"), "");
    }

    #[test]
    fn hostile_fixture() {
        let text = run(&REGISTRATION, "hostile");
        // cpu0 good, cpu1 short, cpu2 has text, cpu0 again (kept once), cpuX not a CPU.
        assert_eq!(
            value(&text, r#"node_schedstat_timeslices_total{cpu="0"}"#),
            Some(9.0)
        );
        assert_eq!(text.matches("node_schedstat_timeslices_total{").count(), 1);
        assert_eq!(
            value(&text, r#"node_schedstat_running_seconds_total{cpu="0"}"#),
            Some(18_446_744_073.709_553)
        );
    }

    proptest! {
        #![proptest_config(crate::testing::cases(256))]

        /// Any text parses into CPUs listed once each, no more than it has lines; a CPU's
        /// first line wins, whatever follows it.
        #[test]
        fn any_text(text in any::<String>(), v in proptest::collection::vec(any::<u64>(), 9)) {
            let s = parse(&text).0;
            prop_assert!(s.len() <= text.lines().count());
            for (i, c) in s.iter().enumerate() {
                prop_assert!(s[..i].iter().all(|o| o.cpu != c.cpu), "cpu{} twice", c.cpu);
            }
            let line: Vec<String> = v.iter().map(u64::to_string).collect();
            let first = parse(&format!("cpu4 {}\n{text}", line.join(" "))).0;
            prop_assert_eq!(first[0], Cpu { cpu: 4, running_ns: v[6], waiting_ns: v[7], timeslices: v[8] });
            prop_assert_eq!(first.iter().filter(|c| c.cpu == 4).count(), 1);
        }

        #[test]
        fn generated(v in proptest::collection::vec(any::<u64>(), 9)) {
            let line: Vec<String> = v.iter().map(u64::to_string).collect();
            let text = format!("version 15\ntimestamp 1\ncpu4 {}\ndomain0 3 1 2 3\n", line.join(" "));
            let s = parse(&text);
            prop_assert_eq!(s.0, vec![Cpu { cpu: 4, running_ns: v[6], waiting_ns: v[7], timeslices: v[8] }]);
        }
    }
}
