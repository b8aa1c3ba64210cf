//! `kernel_hung`: how many tasks the kernel's hung-task detector has caught, from
//! `/proc/sys/kernel/hung_task_detect_count`, as node_exporter 1.12's `kernel_hung` collector
//! (default on) exposes it: the counter `node_kernel_hung_tasks_total` (its first version,
//! off by default, called it `node_kernel_hung_task_detect_count` with another family's HELP).
//!
//! Kernel ABI (Documentation/admin-guide/sysctl/kernel.rst, Linux 6.13+): one decimal count
//! of tasks found in uninterruptible sleep (`D`) for longer than `hung_task_timeout_secs`
//! since boot, the "task blocked for more than 120 seconds" of the kernel log: a stuck NFS
//! server or a dying disk, seen from the kernel's side. The file exists only with
//! `CONFIG_DETECT_HUNG_TASK` on a 6.13+ kernel; without it this is "no data", as in
//! node_exporter 1.12 (its first version failed the collector instead).
//! Debian's node_exporter 1.5 predates it, so the module's tests are the comparison.

use super::family::{Family, Harvest, ProcFile, Registration, Settings};
use crate::exposition::{Encoder, Kind};

/// Registers the `kernel_hung` family.
pub const REGISTRATION: Registration = Registration {
    name: "kernel_hung",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(
        ProcFile::new("kernel_hung", "sys/kernel/hung_task_detect_count", parse)
            .absent_is_no_data(),
    )
}

/// The count of hung tasks since boot.
#[derive(Debug, PartialEq)]
pub struct HungTasks(u64);

/// The file's one unsigned number; anything else fails the family this tick, as in
/// node_exporter.
pub fn parse(text: &str) -> Result<HungTasks, String> {
    text.trim()
        .parse()
        .map(HungTasks)
        .map_err(|e| format!("hung_task_detect_count {:?}: {e}", text.trim()))
}

impl Harvest for HungTasks {
    fn render(&self, out: &mut Encoder) {
        out.one(
            "node_kernel_hung_tasks_total",
            Kind::Counter,
            "Total number of tasks that have been detected as hung since the system booted.",
            &[],
            self.0 as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{fixture, run, value};

    #[test]
    fn vm_has_caught_three() {
        let t = run(&REGISTRATION, "vm");
        assert_eq!(value(&t, "node_kernel_hung_tasks_total"), Some(3.0));
        assert!(t.contains("# TYPE node_kernel_hung_tasks_total counter\n"));
        assert!(t.contains("# HELP node_kernel_hung_tasks_total Total number of tasks that have been detected as hung since the system booted.\n"));
    }

    #[test]
    fn hostile_tree_fails_the_family_this_tick() {
        assert!((REGISTRATION.make)(&Settings::default())
            .harvest(&fixture("hostile"))
            .is_err());
    }

    #[test]
    fn hostile_values_fail_and_a_kernel_without_it_is_no_data() {
        for bad in ["", "-1", "x", "1 2", "18446744073709551616"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse("18446744073709551615\n"), Ok(HungTasks(u64::MAX)));
        let h = (REGISTRATION.make)(&Settings::default())
            .harvest(&fixture("laptop"))
            .unwrap();
        assert!(h.no_data());
    }
}
