//! `bcachefs`: mounted bcachefs filesystems from `/sys/fs/bcachefs/<uuid>/`, as node_exporter
//! 1.12's `bcachefs` collector (new in 1.12, through procfs' `bcachefs` package) exposes them:
//! `node_bcachefs_info{uuid}`, `_btree_cache_size_bytes`, `_compression_{compressed,
//! uncompressed}_bytes{algorithm}`, `_errors_total{error_type}`, `_btree_writes_total` and
//! `_btree_write_average_size_bytes{type}`, one `node_bcachefs_<counter>_total` per file of
//! `counters/` (its "since filesystem creation" value), and per member device `dev-N`
//! `_device_info{device,label,state}`, `_device_{bucket_size_bytes,buckets,durability}`,
//! `_device_io_done_bytes_total{operation,data_type}` and `_device_io_errors_total{type}`.
//!
//! Kernel ABI (fs/bcachefs/sysfs.c, Documentation/filesystems/bcachefs): sizes are printed
//! human-readable with 1024-based unit letters (`1.5G`, `542k`); `compression_stats` and
//! `btree_write_stats` are tables under a header line; `errors` is `name count timestamp`
//! lines; each counter file has `since mount:` and `since filesystem creation:` lines;
//! `io_done` has `read:` and `write:` sections of `data_type : bytes`; `io_errors` has an
//! "IO errors since filesystem creation" section before a "since <time> ago" one.
//!
//! Pitfalls: counter names become metric names as node_exporter's `SanitizeMetricName` makes
//! them (every run of characters outside `[0-9A-Za-z_]`, with the underscores around it,
//! is one `_`); the family is "no data" without `/sys/fs/bcachefs` or without a filesystem in
//! it. Where procfs fails the whole collector on one malformed value, only that series is
//! left out here; a number file the kernel does not write reads 0, as in procfs.

use super::family::{Family, Harvest, NoData, Registration, Roots, Samples, Settings};
use crate::exposition::Kind;
use crate::read::procfs::{read_capped, sorted_entries, ATTR_CAP, FILE_CAP};
use regex_lite::Regex;
use std::path::Path;
use std::sync::Arc;

/// Registers the `bcachefs` family.
pub const REGISTRATION: Registration = Registration {
    name: "bcachefs",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(BcachefsFamily {
        invalid: Regex::new(r"_*[^0-9A-Za-z_]+_*").expect("a valid pattern"),
    })
}

struct BcachefsFamily {
    /// node_exporter's `SanitizeMetricName` pattern.
    invalid: Regex,
}

/// A size as procfs' `parseHumanReadableBytes` reads it: a decimal number, then maybe a
/// 1024-based unit letter (either case).
fn human_bytes(s: &str) -> Option<f64> {
    let s = s.trim();
    let power = match s.chars().last()?.to_ascii_lowercase() {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        _ => 0,
    };
    let digits = if power > 0 { &s[..s.len() - 1] } else { s };
    let v: f64 = digits.trim().parse().ok()?;
    Some(((v * 1024f64.powi(power)) as u64) as f64)
}

/// An unsigned decimal.
fn uint(s: &str) -> Option<f64> {
    s.trim().parse::<u64>().ok().map(|v| v as f64)
}

/// A whole file as text; empty if it is not there or unreadable.
fn text(path: &Path) -> String {
    read_capped(path, FILE_CAP).unwrap_or_default()
}

/// The rows of a table file under its header: first field (its `:` dropped), then the next
/// two, for rows that have at least three.
fn table(path: &Path) -> Vec<(String, String, String)> {
    text(path)
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (name, a, b) = (f.next()?, f.next()?, f.next()?);
            Some((
                name.trim_end_matches(':').to_owned(),
                a.to_owned(),
                b.to_owned(),
            ))
        })
        .collect()
}

type Labels = Vec<(&'static str, String)>;

impl BcachefsFamily {
    /// One filesystem into `s`.
    fn filesystem(&self, dir: &Path, uuid: &str, s: &mut Samples) {
        let with = |extra: &[(&'static str, &str)]| -> Labels {
            let mut l = vec![("uuid", uuid.to_owned())];
            l.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
            l
        };
        s.push(
            "node_bcachefs_info",
            Kind::Gauge,
            "Filesystem information.",
            with(&[]),
            1.0,
        );
        let cache = read_capped(&dir.join("btree_cache_size"), ATTR_CAP).unwrap_or_default();
        let cache = if cache.trim().is_empty() {
            Some(0.0)
        } else {
            human_bytes(&cache)
        };
        if let Some(v) = cache {
            s.push(
                "node_bcachefs_btree_cache_size_bytes",
                Kind::Gauge,
                "Btree cache memory usage in bytes.",
                with(&[]),
                v,
            );
        }
        for (algorithm, compressed, uncompressed) in table(&dir.join("compression_stats")) {
            let (Some(c), Some(u)) = (human_bytes(&compressed), human_bytes(&uncompressed)) else {
                continue;
            };
            let labels = with(&[("algorithm", &algorithm)]);
            s.push(
                "node_bcachefs_compression_compressed_bytes",
                Kind::Gauge,
                "Compressed size by algorithm.",
                labels.clone(),
                c,
            );
            s.push(
                "node_bcachefs_compression_uncompressed_bytes",
                Kind::Gauge,
                "Uncompressed size by algorithm.",
                labels,
                u,
            );
        }
        for line in text(&dir.join("errors")).lines() {
            let mut f = line.split_whitespace();
            if let (Some(name), Some(Some(count))) = (f.next(), f.next().map(uint)) {
                s.push(
                    "node_bcachefs_errors_total",
                    Kind::Counter,
                    "Error count by error type.",
                    with(&[("error_type", name)]),
                    count,
                );
            }
        }
        self.counters(&dir.join("counters"), uuid, s);
        for (kind, count, size) in table(&dir.join("btree_write_stats")) {
            let (Some(count), Some(size)) = (uint(&count), human_bytes(&size)) else {
                continue;
            };
            let labels = with(&[("type", &kind)]);
            s.push(
                "node_bcachefs_btree_writes_total",
                Kind::Counter,
                "Number of btree writes by type.",
                labels.clone(),
                count,
            );
            s.push(
                "node_bcachefs_btree_write_average_size_bytes",
                Kind::Gauge,
                "Average btree write size by type.",
                labels,
                size,
            );
        }
        for entry in sorted_entries(dir) {
            let name = entry.to_string_lossy();
            let dev = dir.join(&entry);
            if let Some(device) = name.strip_prefix("dev-").filter(|_| dev.is_dir()) {
                device_stats(&dev, &with(&[("device", device)]), s);
            }
        }
    }

    /// `counters/<name>`: each file's "since filesystem creation" value as
    /// `node_bcachefs_<name>_total`.
    fn counters(&self, dir: &Path, uuid: &str, s: &mut Samples) {
        for entry in sorted_entries(dir) {
            let path = dir.join(&entry);
            if path.is_dir() {
                continue;
            }
            let (mut creation, mut seen) = (Some(0.0), false);
            for line in text(&path).lines() {
                if let Some(v) = line.strip_prefix("since filesystem creation:") {
                    creation = human_bytes(v);
                    seen = true;
                } else if line.starts_with("since mount:") {
                    seen = true;
                }
            }
            let (Some(v), true) = (creation, seen) else {
                continue;
            };
            let raw = entry.to_string_lossy();
            let metric = format!(
                "node_bcachefs_{}_total",
                self.invalid.replace_all(&raw, "_")
            );
            let help = format!("Bcachefs counter {raw} since filesystem creation.");
            s.push(
                metric,
                Kind::Counter,
                help,
                vec![("uuid", uuid.to_owned())],
                v,
            );
        }
    }
}

/// One member device, `dev-N`, with `labels` (uuid and device).
fn device_stats(dev: &Path, labels: &Labels, s: &mut Samples) {
    let with = |extra: &[(&'static str, &str)]| -> Labels {
        let mut l = labels.clone();
        l.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        l
    };
    let attr = |f: &str| read_capped(&dev.join(f), ATTR_CAP).map(|t| t.trim().to_owned());
    let label = attr("label").unwrap_or_default();
    let state = attr("state").unwrap_or_default();
    s.push(
        "node_bcachefs_device_info",
        Kind::Gauge,
        "Device information.",
        with(&[("label", &label), ("state", &state)]),
        1.0,
    );
    let bucket = match attr("bucket_size").unwrap_or_default() {
        t if t.is_empty() => Some(0.0),
        t => human_bytes(&t),
    };
    // A number file the kernel does not write reads 0, as procfs' `readUintFile`.
    let number = |f: &str| match attr(f) {
        Ok(t) => uint(&t),
        Err(e) if crate::read::procfs::is_absent(&e) => Some(0.0),
        Err(_) => None,
    };
    for (metric, help, v) in [
        (
            "node_bcachefs_device_bucket_size_bytes",
            "Bucket size in bytes.",
            bucket,
        ),
        (
            "node_bcachefs_device_buckets",
            "Total number of buckets.",
            number("nbuckets"),
        ),
        (
            "node_bcachefs_device_durability",
            "Device durability setting.",
            number("durability"),
        ),
    ] {
        if let Some(v) = v {
            s.push(metric, Kind::Gauge, help, with(&[]), v);
        }
    }
    let mut operation = None;
    for line in text(&dev.join("io_done")).lines().map(str::trim) {
        if line == "read:" || line == "write:" {
            operation = Some(line.trim_end_matches(':').to_owned());
            continue;
        }
        let (Some(op), Some((data_type, v))) = (&operation, line.split_once(':')) else {
            continue;
        };
        if let Some(v) = uint(v) {
            let labels = with(&[("operation", op), ("data_type", data_type.trim())]);
            s.push(
                "node_bcachefs_device_io_done_bytes_total",
                Kind::Counter,
                "IO bytes by operation type and data type.",
                labels,
                v,
            );
        }
    }
    let mut in_creation = false;
    for line in text(&dev.join("io_errors")).lines() {
        if line.starts_with("IO errors since filesystem creation") {
            in_creation = true;
            continue;
        }
        if line.starts_with("IO errors since ") {
            break;
        }
        let Some((kind, v)) = line.trim().split_once(':').filter(|_| in_creation) else {
            continue;
        };
        if let Some(v) = uint(v) {
            s.push(
                "node_bcachefs_device_io_errors_total",
                Kind::Counter,
                "IO errors by error type.",
                with(&[("type", kind.trim())]),
                v,
            );
        }
    }
}

impl Family for BcachefsFamily {
    fn name(&self) -> &'static str {
        "bcachefs"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let root = roots.sys("fs/bcachefs");
        let mut s = Samples::default();
        let mut found = false;
        for entry in sorted_entries(&root) {
            let dir = root.join(&entry);
            if dir.is_dir() {
                found = true;
                self.filesystem(&dir, &entry.to_string_lossy(), &mut s);
            }
        }
        if !found {
            return Ok(Arc::new(NoData));
        }
        Ok(Arc::new(s.sorted()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, fixture, run};

    const U: &str = "uuid=\"3c9e7a52-1f0d-4b8e-a6c2-5d4e3f2a1b0c\"";

    #[test]
    fn sizes_and_names_as_node_exporter_reads_them() {
        assert_eq!(human_bytes("542k"), Some(555008.0));
        assert_eq!(human_bytes("1.5G"), Some(1610612736.0));
        assert_eq!(human_bytes("405"), Some(405.0));
        assert_eq!(human_bytes("1.5Q"), None);
        assert_eq!(human_bytes(""), None);
        let f = BcachefsFamily {
            invalid: Regex::new(r"_*[^0-9A-Za-z_]+_*").unwrap(),
        };
        for (raw, want) in [
            ("Queue[0] AllocFails", "Queue_0_AllocFails"),
            ("[3]: tx_bytes", "_3_tx_bytes"),
            ("     err", "_err"),
            ("io_read", "io_read"),
        ] {
            assert_eq!(f.invalid.replace_all(raw, "_"), want);
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::testing::cases(256))]

        /// Any text is a size or not, never a panic (a unit letter is cut only when it is
        /// one); integers, with or without a unit, read as procfs reads them.
        #[test]
        fn any_size(text in "(?s).{0,12}", n in 0u64..1 << 40) {
            let _ = human_bytes(&text);
            proptest::prop_assert_eq!(human_bytes(&n.to_string()), Some(n as f64));
            proptest::prop_assert_eq!(human_bytes(&format!("{n}k")), Some((n * 1024) as f64));
        }
    }

    #[test]
    fn laptop_with_a_tiered_home() {
        let t = run(&REGISTRATION, "laptop");
        let d0 = format!("device=\"0\",{U}");
        assert_values(
            &t,
            &[
                (&format!("node_bcachefs_info{{{U}}}"), 1.0),
                (&format!("node_bcachefs_btree_cache_size_bytes{{{U}}}"), 192937984.0),
                (&format!("node_bcachefs_compression_compressed_bytes{{algorithm=\"lz4\",{U}}}"), 555008.0),
                (&format!("node_bcachefs_compression_uncompressed_bytes{{algorithm=\"lz4\",{U}}}"), 1610612736.0),
                (&format!("node_bcachefs_compression_uncompressed_bytes{{algorithm=\"zstd\",{U}}}"), 405.0),
                (&format!("node_bcachefs_errors_total{{error_type=\"btree_node_read_err\",{U}}}"), 5.0),
                (&format!("node_bcachefs_btree_node_read_total{{{U}}}"), 70225874.0),
                (&format!("node_bcachefs_io_read_total{{{U}}}"), 2158221066.0),
                (&format!("node_bcachefs_btree_writes_total{{type=\"initial\",{U}}}"), 19088.0),
                (&format!("node_bcachefs_btree_write_average_size_bytes{{type=\"initial\",{U}}}"), 110592.0),
                (&format!("node_bcachefs_device_info{{device=\"0\",label=\"ssd.nvme\",state=\"rw\",{U}}}"), 1.0),
                (&format!("node_bcachefs_device_bucket_size_bytes{{{d0}}}"), 524288.0),
                (&format!("node_bcachefs_device_buckets{{{d0}}}"), 953869.0),
                (&format!("node_bcachefs_device_durability{{{d0}}}"), 1.0),
                (&format!("node_bcachefs_device_io_done_bytes_total{{data_type=\"user\",device=\"0\",operation=\"write\",{U}}}"), 6258285805568.0),
                (&format!("node_bcachefs_device_io_done_bytes_total{{data_type=\"btree\",device=\"0\",operation=\"read\",{U}}}"), 2193358848.0),
                (&format!("node_bcachefs_device_io_errors_total{{device=\"0\",type=\"read\",{U}}}"), 197416.0),
                (&format!("node_bcachefs_device_io_errors_total{{device=\"0\",type=\"checksum\",{U}}}"), 0.0),
            ],
        );
        assert!(t.contains("# HELP node_bcachefs_io_read_total Bcachefs counter io_read since filesystem creation.\n# TYPE node_bcachefs_io_read_total counter\n"));
    }

    #[test]
    fn hostile_values_leave_their_series_out() {
        let t = run(&REGISTRATION, "hostile");
        let u = "uuid=\"bad-fs\"";
        let d = format!("device=\"0\",{u}");
        assert_values(
            &t,
            &[
                (&format!("node_bcachefs_compression_compressed_bytes{{algorithm=\"zstd\",{u}}}"), 1024.0),
                (&format!("node_bcachefs_errors_total{{error_type=\"ok_err\",{u}}}"), 3.0),
                (&format!("node_bcachefs_odd_name_0__total{{{u}}}"), 7.0),
                (&format!("node_bcachefs_btree_writes_total{{type=\"initial\",{u}}}"), 5.0),
                (&format!("node_bcachefs_device_info{{device=\"0\",label=\"\",state=\"\",{u}}}"), 1.0),
                (&format!("node_bcachefs_device_durability{{{d}}}"), 2.0),
                (&format!("node_bcachefs_device_bucket_size_bytes{{{d}}}"), 1048576.0),
                (&format!("node_bcachefs_device_io_done_bytes_total{{data_type=\"user\",device=\"0\",operation=\"read\",{u}}}"), 7.0),
                (&format!("node_bcachefs_device_io_errors_total{{device=\"0\",type=\"read\",{u}}}"), 1.0),
            ],
        );
        for gone in [
            "node_bcachefs_btree_cache_size_bytes",
            "algorithm=\"lz4\"",
            "bad_err",
            "weird",
            "broken",
            "subdir",
            "type=\"bad\"",
            "node_bcachefs_device_buckets{",
            "data_type=\"btree\"",
            "type=\"write\"",
            "devX",
            "not-a-dir",
            "} 100\n",
            "} 9\n",
        ] {
            assert!(!t.contains(gone), "{gone} in\n{t}");
        }
    }

    #[test]
    fn without_bcachefs_is_no_data() {
        let mut f = (REGISTRATION.make)(&Settings::default());
        assert!(f.harvest(&fixture("pi")).unwrap().no_data());
    }
}
