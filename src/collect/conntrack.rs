//! `conntrack`: the netfilter connection table's size and limit
//! (`/proc/sys/net/netfilter/nf_conntrack_{count,max}`) and its per-CPU event counters summed
//! over CPUs (`/proc/net/stat/nf_conntrack`), as node_exporter 1.5.0's `conntrack` collector.
//!
//! The files exist only while the `nf_conntrack` module is loaded (a firewall with state
//! rules, Docker); without them there are no samples. Each file is read on its own: one that
//! is missing or unparsable drops its own samples only (node_exporter stops at the first such
//! file, in the order count, max, stat). The stat table is a header line then one line per
//! CPU of hex columns, whose positions have been stable since 2.6.35 (17 columns; 16 before,
//! without `search_restart`) while the header's names changed (`searched` became `clashres`,
//! `delete_list` `chainlength`), so columns are taken by position. Its first column is the
//! global entry count, repeated per CPU: not summed. The counters are gauges there.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::read_lossy;
use std::io;
use std::sync::Arc;

/// Registers the `conntrack` family.
pub const REGISTRATION: Registration = Registration {
    name: "conntrack",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(ConntrackFamily { buf: Vec::new() })
}

/// The summed stat columns: position, metric name, help.
const STATS: [(usize, &str, &str); 8] = [
    (
        10,
        "node_nf_conntrack_stat_drop",
        "Number of packets dropped due to conntrack failure.",
    ),
    (
        11,
        "node_nf_conntrack_stat_early_drop",
        "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
    ),
    (
        2,
        "node_nf_conntrack_stat_found",
        "Number of searched entries which were successful.",
    ),
    (
        5,
        "node_nf_conntrack_stat_ignore",
        "Number of packets seen which are already connected to a conntrack entry.",
    ),
    (
        8,
        "node_nf_conntrack_stat_insert",
        "Number of entries inserted into the list.",
    ),
    (
        9,
        "node_nf_conntrack_stat_insert_failed",
        "Number of entries for which list insertion was attempted but failed.",
    ),
    (
        4,
        "node_nf_conntrack_stat_invalid",
        "Number of packets seen which can not be tracked.",
    ),
    (
        16,
        "node_nf_conntrack_stat_search_restart",
        "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
    ),
];

/// One tick's reading; each part is `None` when its file could not be read.
#[derive(Debug, Default)]
struct ConntrackHarvest {
    entries: Option<u64>,
    limit: Option<u64>,
    /// [`STATS`]' sums, if the stat table was read.
    stats: Option<[u64; STATS.len()]>,
}

/// Sums the per-CPU lines of `/proc/net/stat/nf_conntrack`. A line that is not 16 or 17 hex
/// columns is skipped; a 16-column line (before 2.6.35) adds nothing to `search_restart`.
fn sum_stats(text: &str) -> [u64; STATS.len()] {
    let mut sums = [0u64; STATS.len()];
    for line in text.lines().skip(1) {
        let cols: Option<Vec<u64>> = line
            .split_ascii_whitespace()
            .map(|c| {
                let hex = c.bytes().all(|b| b.is_ascii_hexdigit());
                hex.then(|| u64::from_str_radix(c, 16).ok()).flatten()
            })
            .collect();
        let Some(cols) = cols.filter(|c| c.len() == 16 || c.len() == 17) else {
            continue;
        };
        for (sum, &(pos, _, _)) in sums.iter_mut().zip(&STATS) {
            *sum = sum.saturating_add(cols.get(pos).copied().unwrap_or(0));
        }
    }
    sums
}

struct ConntrackFamily {
    buf: Vec<u8>,
}

impl Family for ConntrackFamily {
    fn name(&self) -> &'static str {
        "conntrack"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let mut error = None;
        let mut read = |file: &str, buf: &mut Vec<u8>| {
            let path = roots.proc(file);
            match read_lossy(&path, buf) {
                Ok(text) => Some(text.into_owned()),
                Err(e) => {
                    if e.kind() != io::ErrorKind::NotFound {
                        error = Some(format!("{}: {e}", path.display()));
                    }
                    None
                }
            }
        };
        let number = |text: Option<String>| text.and_then(|t| t.trim().parse().ok());
        let h = ConntrackHarvest {
            entries: number(read("sys/net/netfilter/nf_conntrack_count", &mut self.buf)),
            limit: number(read("sys/net/netfilter/nf_conntrack_max", &mut self.buf)),
            stats: read("net/stat/nf_conntrack", &mut self.buf).map(|t| sum_stats(&t)),
        };
        let nothing = h.entries.is_none() && h.limit.is_none() && h.stats.is_none();
        if let (true, Some(e)) = (nothing, error) {
            return Err(e);
        }
        if nothing {
            // No conntrack module: node_exporter's "no data" (success 0).
            return Ok(Arc::new(super::family::NoData));
        }
        Ok(Arc::new(h))
    }
}

impl Harvest for ConntrackHarvest {
    fn render(&self, out: &mut Encoder) {
        if let Some(v) = self.entries {
            out.one(
                "node_nf_conntrack_entries",
                Kind::Gauge,
                "Number of currently allocated flow entries for connection tracking.",
                &[],
                v as f64,
            );
        }
        if let Some(v) = self.limit {
            out.one(
                "node_nf_conntrack_entries_limit",
                Kind::Gauge,
                "Maximum size of connection tracking table.",
                &[],
                v as f64,
            );
        }
        for (&sum, &(_, name, help)) in self.stats.iter().flatten().zip(&STATS) {
            out.one(name, Kind::Gauge, help, &[], sum as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::REGISTRATION;
    use crate::collect::family::testing::{run, value};

    fn ct(text: &str, name: &str) -> Option<f64> {
        value(text, &format!("node_nf_conntrack_{name}"))
    }

    #[test]
    fn vm_has_node_exporters_10_families() {
        let t = run(&REGISTRATION, "vm");
        assert_eq!(ct(&t, "entries"), Some(0.0));
        assert_eq!(ct(&t, "entries_limit"), Some(262144.0));
        assert_eq!(ct(&t, "stat_search_restart"), Some(0.0));
        assert_eq!(t.matches("# TYPE ").count(), 10);
        assert_eq!(t.matches(" gauge\n").count(), 10);
    }

    #[test]
    fn pi_without_the_module_has_nothing() {
        assert_eq!(run(&REGISTRATION, "pi"), "");
    }

    #[test]
    fn laptop_sums_the_cpus() {
        let t = run(&REGISTRATION, "laptop");
        assert_eq!(ct(&t, "entries"), Some(187.0));
        assert_eq!(ct(&t, "entries_limit"), Some(262144.0));
        // Per CPU c of 8: found 10+c, invalid 100c+1, ignore 1000+c, insert_failed c%2,
        // search_restart 2c; the first column (the global count) is not summed.
        assert_eq!(ct(&t, "stat_found"), Some(108.0));
        assert_eq!(ct(&t, "stat_invalid"), Some(2808.0));
        assert_eq!(ct(&t, "stat_ignore"), Some(8028.0));
        assert_eq!(ct(&t, "stat_insert"), Some(0.0));
        assert_eq!(ct(&t, "stat_insert_failed"), Some(4.0));
        assert_eq!(ct(&t, "stat_drop"), Some(0.0));
        assert_eq!(ct(&t, "stat_early_drop"), Some(0.0));
        assert_eq!(ct(&t, "stat_search_restart"), Some(56.0));
    }

    #[test]
    fn hostile_files_and_lines_fail_alone() {
        let t = run(&REGISTRATION, "hostile");
        // `lots` is no number: that sample only is missing.
        assert_eq!(ct(&t, "entries"), None);
        assert_eq!(ct(&t, "entries_limit"), Some(u64::MAX as f64));
        // One 17-column line and one 16-column line (no search_restart); a short and a
        // non-hex line are skipped.
        assert_eq!(ct(&t, "stat_found"), Some(21.0));
        assert_eq!(ct(&t, "stat_invalid"), Some(2.0));
        assert_eq!(ct(&t, "stat_ignore"), Some(4.0));
        assert_eq!(ct(&t, "stat_insert"), Some(6.0));
        assert_eq!(ct(&t, "stat_insert_failed"), Some(8.0));
        assert_eq!(ct(&t, "stat_drop"), Some(12.0));
        assert_eq!(ct(&t, "stat_early_drop"), Some(14.0));
        assert_eq!(ct(&t, "stat_search_restart"), Some(8.0));
    }
}
