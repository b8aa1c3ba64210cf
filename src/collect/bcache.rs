//! `bcache`: block-layer SSD caches, from `/sys/fs/bcache/<set-uuid>/`, as node_exporter 1.12's
//! `bcache` collector (through procfs' `bcache` package) exposes them: the cache set's btree and
//! usage gauges `{uuid}`, each backing device's dirty data, writeback controller and
//! `stats_total` counters `{uuid,backing_device}`, each cache device's writes and errors
//! `{uuid,cache_device}`, and with `--collector.bcache.priorityStats` the cache devices'
//! `priority_stats` (unused and metadata percentages: reading that file makes the kernel walk
//! every bucket, hence off by default).
//!
//! Kernel ABI (Documentation/admin-guide/bcache.rst, drivers/md/bcache/sysfs.c): a cache set is
//! a directory named by its UUID beside the `register*` files; `bdevN` and `cacheN` in it are
//! links to the member devices' `bcache/` directories. Sizes and counts are written by
//! `bch_hprint`: `5.6G` is 5 and 6/10.24 of a GiB (its "decimals" are 1024ths over 100, which
//! procfs undoes; node_exporter's values follow that reading), `k`, `M`, `G`, ... are powers of
//! 1024. `writeback_rate_debug` holds `rate:`, `target:`, `proportional:`, `integral:` and
//! `change:` lines, the last three signed.
//!
//! Pitfalls, node_exporter's and kept so series match: `btree_read_average_duration_us` is in
//! microseconds but is scaled by 1e-9 into `_btree_read_average_duration_seconds`;
//! `node_bcache_cache_readaheads_total` is left out while it is 0 (1.12; 1.5 wrote the 0).
//! Where procfs fails the whole collector on one unreadable or malformed value, only that
//! series is left out here.

use super::family::{Family, Harvest, Registration, Roots, Samples, Settings};
use crate::exposition::Kind;
use crate::read::procfs::{numbered_entries, read_capped, sorted_entries, ATTR_CAP, FILE_CAP};
use std::path::Path;
use std::sync::Arc;

/// Registers the `bcache` family.
pub const REGISTRATION: Registration = Registration {
    name: "bcache",
    default_enabled: true,
    make: make_family,
};

fn make_family(settings: &Settings) -> Box<dyn Family> {
    Box::new(BcacheFamily {
        priority_stats: settings.flags.switch("bcache.priorityStats"),
    })
}

struct BcacheFamily {
    /// `--collector.bcache.priorityStats`: also read the costly `priority_stats`.
    priority_stats: bool,
}

/// `bch_hprint`'s pseudo-decimal: `5.6` is 5 + 6/10.24 (procfs' `parsePseudoFloat`).
fn pseudo_float(s: &str) -> Option<f64> {
    let mut parts = s.split('.');
    let int: f64 = parts.next()?.parse().ok()?;
    match parts.next() {
        None => Some(int),
        Some(frac) => Some(int + frac.parse::<f64>().ok()? / 10.24),
    }
}

/// A `bch_hprint` number as procfs' `dehumanize` reads it: a trailing unit letter multiplies
/// by a power of 1024 (an unknown letter by 0, as procfs' map lookup does).
fn dehumanize(s: &str) -> Option<u64> {
    let (&last, head) = s.as_bytes().split_last()?;
    let v = if last > b'9' {
        let power = match last {
            b'k' => 1,
            b'M' => 2,
            b'G' => 3,
            b'T' => 4,
            b'P' => 5,
            b'E' => 6,
            b'Z' => 7,
            b'Y' => 8,
            _ => return pseudo_float(std::str::from_utf8(head).ok()?).map(|_| 0),
        };
        pseudo_float(std::str::from_utf8(head).ok()?)? * 1024f64.powi(power)
    } else {
        s.parse::<f64>().ok()?
    };
    Some(v as u64)
}

/// A signed `bch_hprint` number (`-37.4k`).
fn dehumanize_signed(s: &str) -> Option<f64> {
    match s.strip_prefix('-') {
        Some(rest) => Some(-(dehumanize(rest)? as f64)),
        None => dehumanize(s).map(|v| v as f64),
    }
}

/// The value of the attribute `file` in `dir`, without its newline.
fn value(dir: &Path, file: &str) -> Option<f64> {
    let text = read_capped(&dir.join(file), ATTR_CAP).ok()?;
    dehumanize(text.strip_suffix('\n').unwrap_or(&text)).map(|v| v as f64)
}

/// The lines of a `key: ... value` file (`writeback_rate_debug`, `priority_stats`): for each
/// wanted prefix, the last field with `suffix` trimmed, parsed by `parse`. A wanted line the
/// file lacks reads 0 (procfs' zero value); one that does not parse is `None`.
fn keyed<const N: usize>(
    path: &Path,
    keys: [(&str, &str); N],
    parse: fn(&str) -> Option<f64>,
) -> Option<[Option<f64>; N]> {
    let text = read_capped(path, FILE_CAP).ok()?;
    let mut out = [Some(0.0); N];
    for line in text.lines() {
        for (i, (prefix, suffix)) in keys.iter().enumerate() {
            if line.starts_with(prefix) {
                let last = line.split_whitespace().last().unwrap_or("");
                out[i] = parse(last.strip_suffix(suffix).unwrap_or(last));
            }
        }
    }
    Some(out)
}

/// A metric: name, help, kind and the file or key it comes from.
type Spec = (&'static str, &'static str, Kind, &'static str);

/// The cache set's own attributes, in `<uuid>/`.
const SET: [Spec; 6] = [
    ("node_bcache_average_key_size_sectors", "Average data per key in the btree (sectors).", Kind::Gauge, "average_key_size"),
    ("node_bcache_btree_cache_size_bytes", "Amount of memory currently used by the btree cache.", Kind::Gauge, "btree_cache_size"),
    ("node_bcache_cache_available_percent", "Percentage of cache device without dirty data, usable for writeback (may contain clean cached data).", Kind::Gauge, "cache_available_percent"),
    ("node_bcache_congested", "Congestion.", Kind::Gauge, "congested"),
    ("node_bcache_root_usage_percent", "Percentage of the root btree node in use (tree depth increases if too high).", Kind::Gauge, "root_usage_percent"),
    ("node_bcache_tree_depth", "Depth of the btree.", Kind::Gauge, "tree_depth"),
];

/// In `<uuid>/internal/`.
const INTERNAL: [Spec; 4] = [
    ("node_bcache_active_journal_entries", "Number of journal entries that are newer than the index.", Kind::Gauge, "active_journal_entries"),
    ("node_bcache_btree_nodes", "Total nodes in the btree.", Kind::Gauge, "btree_nodes"),
    ("node_bcache_btree_read_average_duration_seconds", "Average btree read duration.", Kind::Gauge, "btree_read_average_duration_us"),
    ("node_bcache_cache_read_races_total", "Counts instances where while data was being read from the cache, the bucket was reused and invalidated - i.e. where the pointer was stale after the read completed.", Kind::Counter, "cache_read_races"),
];

/// In `bdevN/stats_total/`.
const TOTALS: [Spec; 7] = [
    (
        "node_bcache_bypassed_bytes_total",
        "Amount of IO (both reads and writes) that has bypassed the cache.",
        Kind::Counter,
        "bypassed",
    ),
    (
        "node_bcache_cache_hits_total",
        "Hits counted per individual IO as bcache sees them.",
        Kind::Counter,
        "cache_hits",
    ),
    (
        "node_bcache_cache_misses_total",
        "Misses counted per individual IO as bcache sees them.",
        Kind::Counter,
        "cache_misses",
    ),
    (
        "node_bcache_cache_bypass_hits_total",
        "Hits for IO intended to skip the cache.",
        Kind::Counter,
        "cache_bypass_hits",
    ),
    (
        "node_bcache_cache_bypass_misses_total",
        "Misses for IO intended to skip the cache.",
        Kind::Counter,
        "cache_bypass_misses",
    ),
    (
        "node_bcache_cache_miss_collisions_total",
        "Instances where data insertion from cache miss raced with write (data already present).",
        Kind::Counter,
        "cache_miss_collisions",
    ),
    (
        "node_bcache_cache_readaheads_total",
        "Count of times readahead occurred.",
        Kind::Counter,
        "cache_readaheads",
    ),
];

/// The lines of `bdevN/writeback_rate_debug`: (metric, help, line prefix, suffix).
const WRITEBACK: [(&str, &str, &str, &str); 5] = [
    (
        "node_bcache_dirty_target_bytes",
        "Current dirty data target threshold for this backing device in bytes.",
        "target:",
        "",
    ),
    (
        "node_bcache_writeback_rate",
        "Current writeback rate for this backing device in bytes.",
        "rate:",
        "/sec",
    ),
    (
        "node_bcache_writeback_rate_proportional_term",
        "Current result of proportional controller, part of writeback rate",
        "proportional:",
        "",
    ),
    (
        "node_bcache_writeback_rate_integral_term",
        "Current result of integral controller, part of writeback rate",
        "integral:",
        "",
    ),
    (
        "node_bcache_writeback_change",
        "Last writeback rate change step for this backing device.",
        "change:",
        "/sec",
    ),
];

/// In `cacheN/`.
const CACHE: [Spec; 3] = [
    (
        "node_bcache_io_errors",
        "Number of errors that have occurred, decayed by io_error_halflife.",
        Kind::Gauge,
        "io_errors",
    ),
    (
        "node_bcache_metadata_written_bytes_total",
        "Sum of all non data writes (btree writes and all other metadata).",
        Kind::Counter,
        "metadata_written",
    ),
    (
        "node_bcache_written_bytes_total",
        "Sum of all data that has been written to the cache.",
        Kind::Counter,
        "written",
    ),
];

/// `cacheN/priority_stats` lines: (metric, help, line prefix).
const PRIORITY: [(&str, &str, &str); 2] = [
    (
        "node_bcache_priority_stats_unused_percent",
        "The percentage of the cache that doesn't contain any data.",
        "Unused:",
    ),
    (
        "node_bcache_priority_stats_metadata_percent",
        "Bcache's metadata overhead.",
        "Metadata:",
    ),
];

/// A sample with the set's `uuid` and maybe one more label.
fn push(
    s: &mut Samples,
    spec: (&'static str, &'static str, Kind),
    uuid: &str,
    extra: Option<(&'static str, &str)>,
    v: f64,
) {
    let mut labels = vec![("uuid", uuid.to_owned())];
    labels.extend(extra.map(|(k, v)| (k, v.to_owned())));
    s.push(spec.0, spec.2, spec.1, labels, v);
}

impl BcacheFamily {
    /// One cache set into `s`.
    fn set(&self, dir: &Path, uuid: &str, s: &mut Samples) {
        for (name, help, kind, file) in SET {
            if let Some(v) = value(dir, file) {
                push(s, (name, help, kind), uuid, None, v);
            }
        }
        for (name, help, kind, file) in INTERNAL {
            if let Some(mut v) = value(&dir.join("internal"), file) {
                if file == "btree_read_average_duration_us" {
                    v *= 1e-9;
                }
                push(s, (name, help, kind), uuid, None, v);
            }
        }
        for (entry, _) in numbered_entries(dir, "bdev") {
            let bdev = dir.join(&entry);
            let name = entry.to_string_lossy();
            let label = Some(("backing_device", &*name));
            if let Some(v) = value(&bdev, "dirty_data") {
                let help = "Amount of dirty data for this backing device in the cache.";
                push(
                    s,
                    ("node_bcache_dirty_data_bytes", help, Kind::Gauge),
                    uuid,
                    label,
                    v,
                );
            }
            // Signed for all five: `rate` and `target` are never negative.
            let keys = WRITEBACK.map(|(_, _, prefix, suffix)| (prefix, suffix));
            if let Some(found) = keyed(&bdev.join("writeback_rate_debug"), keys, dehumanize_signed)
            {
                for ((metric, help, _, _), v) in WRITEBACK.iter().zip(found) {
                    if let Some(v) = v {
                        push(s, (metric, help, Kind::Gauge), uuid, label, v);
                    }
                }
            }
            for (metric, help, kind, file) in TOTALS {
                match value(&bdev.join("stats_total"), file) {
                    Some(v) if v != 0.0 || file != "cache_readaheads" => {
                        push(s, (metric, help, kind), uuid, label, v)
                    }
                    _ => {}
                }
            }
        }
        for (entry, _) in numbered_entries(dir, "cache") {
            let cache = dir.join(&entry);
            let name = entry.to_string_lossy();
            let label = Some(("cache_device", &*name));
            for (metric, help, kind, file) in CACHE {
                if let Some(v) = value(&cache, file) {
                    push(s, (metric, help, kind), uuid, label, v);
                }
            }
            if !self.priority_stats {
                continue;
            }
            let keys = PRIORITY.map(|(_, _, prefix)| (prefix, "%"));
            let percent = |v: &str| v.parse::<u64>().ok().map(|v| v as f64);
            if let Some(found) = keyed(&cache.join("priority_stats"), keys, percent) {
                for ((metric, help, _), v) in PRIORITY.iter().zip(found) {
                    if let Some(v) = v {
                        push(s, (metric, help, Kind::Gauge), uuid, label, v);
                    }
                }
            }
        }
    }
}

impl Family for BcacheFamily {
    fn name(&self) -> &'static str {
        "bcache"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        // No bcache is no series, and success (procfs' glob finds nothing).
        let root = roots.sys("fs/bcache");
        let mut s = Samples::default();
        for entry in sorted_entries(&root) {
            let uuid = entry.to_string_lossy();
            let dir = root.join(&entry);
            if uuid.contains('-') && crate::read::procfs::is_dir(&dir) {
                self.set(&dir, &uuid, &mut s);
            }
        }
        Ok(Arc::new(s.sorted()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_close, assert_values, fixture, render, run};

    const U: &str = "uuid=\"2f3a7c1e-8d4b-4e2a-9f61-0c5b7d8e9a10\"";

    fn with_priority_stats(host: &str) -> String {
        let mut f = BcacheFamily {
            priority_stats: true,
        };
        render(&mut f, host)
    }

    #[test]
    fn hprint_numbers_as_procfs_reads_them() {
        assert_eq!(dehumanize("5.6G"), Some(5997854720));
        assert_eq!(dehumanize("36.9k"), Some(37764));
        assert_eq!(dehumanize("1305"), Some(1305));
        assert_eq!(dehumanize("0.0k"), Some(0));
        assert_eq!(dehumanize("7q"), Some(0));
        assert_eq!(dehumanize(""), None);
        assert_eq!(dehumanize("x.yk"), None);
        assert_eq!(dehumanize("1\u{e9}"), None);
        assert_eq!(dehumanize_signed("-37.4k"), Some(-38288.0));
    }

    proptest::proptest! {
        #![proptest_config(crate::testing::cases(256))]

        /// Any text is a number or not, never a panic; plain integers and `bch_hprint`'s
        /// `N.Dk` read as procfs reads them.
        #[test]
        fn any_hprint(text in "(?s).{0,12}", n in 0u64..1 << 50, int in 0u32..1024, frac in 0u32..1024) {
            let _ = dehumanize(&text);
            let _ = dehumanize_signed(&text);
            proptest::prop_assert_eq!(dehumanize(&n.to_string()), Some(n));
            let want = ((f64::from(int) + f64::from(frac) / 10.24) * 1024.0) as u64;
            proptest::prop_assert_eq!(dehumanize(&format!("{int}.{frac}k")), Some(want));
        }
    }

    #[test]
    fn pi_with_an_ssd_cached_usb_disk() {
        let t = run(&REGISTRATION, "pi");
        let b = format!("backing_device=\"bdev0\",{U}");
        let c = format!("cache_device=\"cache0\",{U}");
        assert_values(
            &t,
            &[
                (
                    &format!("node_bcache_average_key_size_sectors{{{U}}}"),
                    37764.0,
                ),
                (
                    &format!("node_bcache_btree_cache_size_bytes{{{U}}}"),
                    13094912.0,
                ),
                (&format!("node_bcache_cache_available_percent{{{U}}}"), 97.0),
                (&format!("node_bcache_tree_depth{{{U}}}"), 1.0),
                (&format!("node_bcache_btree_nodes{{{U}}}"), 9.0),
                (
                    &format!("node_bcache_bypassed_bytes_total{{{b}}}"),
                    5997854720.0,
                ),
                (&format!("node_bcache_cache_hits_total{{{b}}}"), 1130987.0),
                (&format!("node_bcache_cache_readaheads_total{{{b}}}"), 217.0),
                (&format!("node_bcache_dirty_data_bytes{{{b}}}"), 10153984.0),
                (&format!("node_bcache_writeback_rate{{{b}}}"), 4096.0),
                (
                    &format!("node_bcache_dirty_target_bytes{{{b}}}"),
                    1598029824.0,
                ),
                (
                    &format!("node_bcache_writeback_rate_proportional_term{{{b}}}"),
                    -38288.0,
                ),
                (
                    &format!("node_bcache_writeback_rate_integral_term{{{b}}}"),
                    0.0,
                ),
                (&format!("node_bcache_writeback_change{{{b}}}"), -1124.0),
                (
                    &format!("node_bcache_written_bytes_total{{{c}}}"),
                    11916017664.0,
                ),
                (&format!("node_bcache_io_errors{{{c}}}"), 0.0),
            ],
        );
        // Microseconds scaled as if nanoseconds, as node_exporter does.
        assert_close(
            &t,
            &format!("node_bcache_btree_read_average_duration_seconds{{{U}}}"),
            1.305e-6,
        );
        assert!(!t.contains("priority_stats"), "off by default:\n{t}");
        let t = with_priority_stats("pi");
        assert_values(
            &t,
            &[
                (
                    &format!("node_bcache_priority_stats_unused_percent{{{c}}}"),
                    83.0,
                ),
                (
                    &format!("node_bcache_priority_stats_metadata_percent{{{c}}}"),
                    1.0,
                ),
            ],
        );
    }

    #[test]
    fn the_flag_turns_priority_stats_on() {
        let mut settings = Settings::default();
        settings.flags.take("bcache.priorityStats", "true").unwrap();
        let h = (REGISTRATION.make)(&settings)
            .harvest(&fixture("pi"))
            .unwrap();
        let mut out = crate::exposition::Encoder::default();
        h.render(&mut out);
        assert!(out
            .finish()
            .contains("node_bcache_priority_stats_unused_percent{"));
    }

    #[test]
    fn hostile_values_leave_their_series_out() {
        let t = with_priority_stats("hostile");
        let u = "uuid=\"0bad-set\"";
        let b = format!("backing_device=\"bdev0\",{u}");
        assert_values(
            &t,
            &[
                (&format!("node_bcache_congested{{{u}}}"), 0.0),
                // An unknown unit letter multiplies by 0, as procfs.
                (&format!("node_bcache_tree_depth{{{u}}}"), 0.0),
                (&format!("node_bcache_cache_hits_total{{{b}}}"), 3.0),
                (&format!("node_bcache_writeback_rate{{{b}}}"), 0.0),
                (&format!("node_bcache_writeback_change{{{b}}}"), 0.0),
                (&format!("node_bcache_priority_stats_metadata_percent{{cache_device=\"cache0\",{u}}}"), 0.0),
            ],
        );
        for gone in [
            "node_bcache_average_key_size_sectors{",
            "node_bcache_btree_cache_size_bytes{",
            "node_bcache_root_usage_percent{",
            "node_bcache_cache_misses_total{",
            "node_bcache_cache_readaheads_total{",
            "node_bcache_writeback_rate_proportional_term{",
            "node_bcache_priority_stats_unused_percent{",
            "node_bcache_dirty_data_bytes{",
            "register",
        ] {
            assert!(!t.contains(gone), "{gone} in\n{t}");
        }
    }

    #[test]
    fn without_bcache_is_empty() {
        assert_eq!(run(&REGISTRATION, "laptop"), "");
    }
}
