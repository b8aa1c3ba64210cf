//! psmonitor's own process, as every Prometheus client library reports its own: the
//! `process_*` families (`process_cpu_seconds_total`, `process_resident_memory_bytes`, ...).
//!
//! Read from `/proc/self` (always this process's, whatever `--path.procfs` says) once per tick
//! on the sampler thread, like everything else; dashboards graph them per scrape interval, so
//! one tick of lag does not matter.

use crate::exposition::{Encoder, Kind};
use crate::read::procfs::read_into;

/// One reading of `/proc/self`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnProcess {
    pub cpu_seconds: f64,
    pub resident_bytes: f64,
    pub virtual_bytes: f64,
    /// `None`: unlimited.
    pub virtual_max_bytes: Option<f64>,
    pub start_time_seconds: f64,
    pub open_fds: f64,
    pub max_fds: Option<f64>,
}

impl OwnProcess {
    /// Reads `/proc/self`; `boot_time` (seconds since the epoch) dates the start time and
    /// `hz` turns clock ticks into seconds.
    pub fn read(boot_time: f64, hz: f64, page_size: f64, buf: &mut Vec<u8>) -> OwnProcess {
        let mut p = OwnProcess::default();
        if let Ok(text) = read_into("/proc/self/stat", buf) {
            // Fields after the `comm`, which may hold spaces and parentheses.
            if let Some(rest) = text.rsplit_once(')').map(|(_, r)| r) {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
                // `rest` starts at field 3 (state): utime is field 14, stime 15, starttime
                // 22, vsize 23, rss 24.
                p.cpu_seconds = (n(11) + n(12)) / hz;
                p.start_time_seconds = boot_time + n(19) / hz;
                p.virtual_bytes = n(20);
                p.resident_bytes = n(21) * page_size;
            }
        }
        if let Ok(text) = read_into("/proc/self/limits", buf) {
            p.max_fds = soft_limit(text, "Max open files");
            p.virtual_max_bytes = soft_limit(text, "Max address space");
        }
        p.open_fds =
            crate::read::procfs::count_entries(std::path::Path::new("/proc/self/fd"), usize::MAX)
                .unwrap_or(0) as f64;
        p
    }

    /// Writes the `process_*` families with the client libraries' names and help.
    pub fn render(&self, out: &mut Encoder) {
        let g = Kind::Gauge;
        out.one(
            "process_cpu_seconds_total",
            Kind::Counter,
            "Total user and system CPU time spent in seconds.",
            &[],
            self.cpu_seconds,
        );
        if let Some(m) = self.max_fds {
            out.one(
                "process_max_fds",
                g,
                "Maximum number of open file descriptors.",
                &[],
                m,
            );
        }
        out.one(
            "process_open_fds",
            g,
            "Number of open file descriptors.",
            &[],
            self.open_fds,
        );
        out.one(
            "process_resident_memory_bytes",
            g,
            "Resident memory size in bytes.",
            &[],
            self.resident_bytes,
        );
        out.one(
            "process_start_time_seconds",
            g,
            "Start time of the process since unix epoch in seconds.",
            &[],
            self.start_time_seconds,
        );
        out.one(
            "process_virtual_memory_bytes",
            g,
            "Virtual memory size in bytes.",
            &[],
            self.virtual_bytes,
        );
        out.one(
            "process_virtual_memory_max_bytes",
            g,
            "Maximum amount of virtual memory available in bytes.",
            &[],
            // The client libraries report "unlimited" as the largest u64.
            self.virtual_max_bytes.unwrap_or(u64::MAX as f64),
        );
    }
}

/// The soft limit of `name` in `/proc/self/limits` (`None` when unlimited or unreadable).
fn soft_limit(text: &str, name: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse() {
        let text =
            "Limit                     Soft Limit           Hard Limit           Units     \n\
Max open files            1024                 524288               files     \n\
Max address space         unlimited            unlimited            bytes     \n";
        assert_eq!(soft_limit(text, "Max open files"), Some(1024.0));
        assert_eq!(soft_limit(text, "Max address space"), None);
    }

    #[test]
    fn reads_itself() {
        let p = OwnProcess::read(1.0e9, 100.0, 4096.0, &mut Vec::new());
        assert!(p.resident_bytes > 0.0 && p.virtual_bytes >= p.resident_bytes);
        assert!(p.open_fds >= 3.0);
        assert!(p.start_time_seconds > 1.0e9);
        let mut e = Encoder::default();
        p.render(&mut e);
        assert!(e
            .text()
            .contains("# TYPE process_cpu_seconds_total counter\n"));
    }
}
