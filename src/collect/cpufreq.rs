//! `cpufreq`: per-CPU frequencies from sysfs `devices/system/cpu/cpuN/cpufreq/` (node_exporter
//! 1.5.0's `cpufreq` collector: `node_cpu_frequency_{,min_,max_}hertz` and
//! `node_cpu_scaling_frequency_{,min_,max_}hertz`, by `cpu`).
//!
//! sysfs gives kHz; the metrics are Hz. `cpuinfo_*` is what the hardware can do and
//! `scaling_*` what the governor is allowed and chose. `cpuinfo_cur_freq` is readable by root
//! only (and some drivers, intel_pstate among them, do not provide it), so without it there is
//! no `node_cpu_frequency_hertz`; `scaling_cur_freq` is the one to use. VMs usually have no
//! cpufreq at all: no samples. The hardware limits `cpuinfo_{min,max}_freq` are read once per
//! CPU, the rest every tick.
//!
//! node_exporter 1.12 (since 1.6) adds `node_cpu_scaling_governor{cpu,governor}`: one series
//! per governor of `scaling_available_governors`, 1 for the one in `scaling_governor`, 0 for
//! the others; none for a CPU without a governor (intel_pstate in active mode lists only
//! `performance powersave`, and that is what shows).

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::read_u64;
use std::collections::HashMap;
use std::sync::Arc;

/// Registers the `cpufreq` family.
pub const REGISTRATION: Registration = Registration {
    name: "cpufreq",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(CpufreqFamily::default())
}

#[derive(Default)]
struct CpufreqFamily {
    buf: Vec<u8>,
    /// `cpuinfo_min_freq` and `cpuinfo_max_freq` (kHz) per CPU: hardware limits, fixed.
    limits: HashMap<u32, [Option<u64>; 2]>,
}

/// The files read, in [`Cpu::khz`] order.
const FILES: [&str; 6] = [
    "cpuinfo_cur_freq",
    "cpuinfo_min_freq",
    "cpuinfo_max_freq",
    "scaling_cur_freq",
    "scaling_min_freq",
    "scaling_max_freq",
];

/// The families written, in [`Cpu::khz`] order.
const FAMILIES: [(&str, &str); 6] = [
    (
        "node_cpu_frequency_hertz",
        "Current cpu thread frequency in hertz.",
    ),
    (
        "node_cpu_frequency_min_hertz",
        "Minimum cpu thread frequency in hertz.",
    ),
    (
        "node_cpu_frequency_max_hertz",
        "Maximum cpu thread frequency in hertz.",
    ),
    (
        "node_cpu_scaling_frequency_hertz",
        "Current scaled CPU thread frequency in hertz.",
    ),
    (
        "node_cpu_scaling_frequency_min_hertz",
        "Minimum scaled CPU thread frequency in hertz.",
    ),
    (
        "node_cpu_scaling_frequency_max_hertz",
        "Maximum scaled CPU thread frequency in hertz.",
    ),
];

/// One CPU's frequencies in kHz, as [`FILES`] orders them; a file that is missing,
/// unreadable or not a number is `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cpu {
    pub cpu: u32,
    pub khz: [Option<u64>; 6],
    /// The available governors, each with whether it is the CPU's current one.
    pub governors: Vec<(String, bool)>,
}

/// The governors of `scaling_available_governors`, the one in `scaling_governor` marked.
fn governors(freq: &std::path::Path) -> Vec<(String, bool)> {
    let read =
        |f: &str| crate::read::procfs::read_capped(&freq.join(f), crate::read::procfs::FILE_CAP);
    let Ok(current) = read("scaling_governor") else {
        return Vec::new();
    };
    let current = current.trim();
    if current.is_empty() {
        return Vec::new();
    }
    read("scaling_available_governors")
        .unwrap_or_default()
        .split_whitespace()
        .map(|g| (g.to_owned(), g == current))
        .collect()
}

/// One tick: the CPUs that have cpufreq, by number.
#[derive(Debug, Default, PartialEq)]
pub struct Cpufreq(pub Vec<Cpu>);

impl Family for CpufreqFamily {
    fn name(&self) -> &'static str {
        "cpufreq"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let dir = roots.sys("devices/system/cpu");
        let cpus = super::cpu::sysfs_cpus(&dir);
        let mut out = Vec::with_capacity(cpus.len());
        for cpu in cpus {
            // CPUs of one policy share its directory: named by it, it is read once a tick.
            // Absent (a VM): `readlink` said so, no `stat` needed to say it again.
            let Some(freq) =
                crate::read::procfs::resolved_present(&dir.join(format!("cpu{cpu}/cpufreq")))
            else {
                continue;
            };
            if !freq.is_dir() {
                continue;
            }
            let limits = match self.limits.get(&cpu) {
                Some(l) => *l,
                None => {
                    let l = [
                        read_u64(freq.join(FILES[1]), &mut self.buf),
                        read_u64(freq.join(FILES[2]), &mut self.buf),
                    ];
                    self.limits.insert(cpu, l);
                    l
                }
            };
            let khz = [
                read_u64(freq.join(FILES[0]), &mut self.buf),
                limits[0],
                limits[1],
                read_u64(freq.join(FILES[3]), &mut self.buf),
                read_u64(freq.join(FILES[4]), &mut self.buf),
                read_u64(freq.join(FILES[5]), &mut self.buf),
            ];
            out.push(Cpu {
                cpu,
                khz,
                governors: governors(&freq),
            });
        }
        Ok(Arc::new(Cpufreq(out)))
    }
}

impl Harvest for Cpufreq {
    fn render(&self, out: &mut Encoder) {
        let ids: Vec<String> = self.0.iter().map(|c| c.cpu.to_string()).collect();
        for (i, (name, help)) in FAMILIES.iter().enumerate() {
            let mut f = out.family(name, Kind::Gauge, help);
            for (c, id) in self.0.iter().zip(&ids) {
                if let Some(khz) = c.khz[i] {
                    f.sample(&[("cpu", id)], khz as f64 * 1000.0);
                }
            }
        }
        let mut f = out.family(
            "node_cpu_scaling_governor",
            Kind::Gauge,
            "Current enabled CPU frequency governor.",
        );
        for (c, id) in self.0.iter().zip(&ids) {
            for (governor, on) in &c.governors {
                f.sample(
                    &[("cpu", id), ("governor", governor)],
                    f64::from(u8::from(*on)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, run, value};

    #[test]
    fn pi_fixture() {
        let text = run(&REGISTRATION, "pi");
        // node_exporter 1.6+: every available governor, the current one 1.
        assert_values(
            &text,
            &[
                (
                    r#"node_cpu_scaling_governor{cpu="0",governor="ondemand"}"#,
                    1.0,
                ),
                (
                    r#"node_cpu_scaling_governor{cpu="0",governor="performance"}"#,
                    0.0,
                ),
            ],
        );
        assert!(text.contains("# TYPE node_cpu_scaling_governor gauge\n"));
        assert_values(
            &text,
            &[
                (
                    r#"node_cpu_scaling_frequency_hertz{cpu="2"}"#,
                    1_500_000_000.0,
                ),
                (r#"node_cpu_frequency_max_hertz{cpu="0"}"#, 1_800_000_000.0),
                (r#"node_cpu_frequency_min_hertz{cpu="3"}"#, 600_000_000.0),
                (
                    r#"node_cpu_scaling_frequency_min_hertz{cpu="1"}"#,
                    600_000_000.0,
                ),
            ],
        );
        // The four cores share one policy (cpuN/cpufreq are links to it).
        assert_eq!(
            value(&text, r#"node_cpu_frequency_hertz{cpu="1"}"#),
            Some(1_500_000_000.0)
        );
        assert_eq!(
            text.matches("node_cpu_scaling_frequency_max_hertz{")
                .count(),
            4
        );
        assert!(text.contains("# TYPE node_cpu_scaling_frequency_hertz gauge\n"));
    }

    #[test]
    fn laptop_fixture() {
        let text = run(&REGISTRATION, "laptop");
        assert_values(
            &text,
            &[
                (
                    r#"node_cpu_scaling_frequency_hertz{cpu="5"}"#,
                    2_100_000_000.0,
                ),
                (
                    r#"node_cpu_scaling_frequency_hertz{cpu="7"}"#,
                    3_912_345_000.0,
                ),
                (
                    r#"node_cpu_scaling_frequency_max_hertz{cpu="0"}"#,
                    4_700_000_000.0,
                ),
                (r#"node_cpu_frequency_min_hertz{cpu="6"}"#, 400_000_000.0),
            ],
        );
        assert_eq!(text.matches("node_cpu_scaling_frequency_hertz{").count(), 8);
        // intel_pstate has no cpuinfo_cur_freq.
        assert!(!text.contains("node_cpu_frequency_hertz"));
    }

    #[test]
    fn vm_has_none() {
        assert_eq!(run(&REGISTRATION, "vm"), "");
    }

    #[test]
    fn hostile_fixture() {
        let text = run(&REGISTRATION, "hostile");
        // cpu0: text in scaling_cur_freq, a negative minimum, u64::MAX maximum, an empty
        // cpuinfo_max_freq, a good cpuinfo_cur_freq.
        assert_eq!(
            value(&text, r#"node_cpu_frequency_hertz{cpu="0"}"#),
            Some(1_000_000_000.0)
        );
        assert!(!text.contains("node_cpu_frequency_max_hertz"));
        assert_eq!(
            value(&text, r#"node_cpu_scaling_frequency_hertz{cpu="0"}"#),
            None
        );
        assert_eq!(
            value(&text, r#"node_cpu_scaling_frequency_min_hertz{cpu="0"}"#),
            None
        );
        assert_eq!(
            value(&text, r#"node_cpu_scaling_frequency_max_hertz{cpu="0"}"#),
            Some(18_446_744_073_709_551_615_000.0)
        );
        // cpu1: an empty cpufreq directory; cpu2: cpufreq is a file. Neither writes anything.
        assert!(!text.contains("cpu=\"1\""));
        assert!(!text.contains("cpu=\"2\""));
    }
}
