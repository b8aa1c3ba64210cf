//! `zfs`: OpenZFS statistics from the SPL kstat files in `/proc/spl/kstat/zfs/`, as
//! node_exporter 1.5.0's `zfs` collector exposes them: every uint64 kstat of `arcstats`,
//! `zil`, `dmu_tx` ... as an untyped `node_zfs_<subsystem>_<kstat>` whose HELP is the kstat's
//! sysctl-style name (`kstat.zfs.misc.arcstats.hits`), and per pool its state
//! (`node_zfs_zpool_state{zpool,state}`), its dataset counters
//! (`node_zfs_zpool_dataset_<kstat>{zpool,dataset}` from `objset-*`) and, on ZFS < 2.0, its
//! `io` counters (`node_zfs_zpool_<field>{zpool}`).
//!
//! A kstat file is a header line, a `name type data` line, then one `name type value` line per
//! statistic. As node_exporter 1.12 (since 1.6), types 4 (uint64) and 3 (int64, such as
//! `arcstats`' `memory_available_bytes`, which goes negative under memory pressure) are taken;
//! strings are not. Pitfalls: the names are the kernel's, so one that is not a valid metric
//! name is skipped (node_exporter would panic on it); a file that is missing, unreadable or has
//! no `name type data` line adds nothing (ZFS adds files as it gains features); a dataset name
//! may hold spaces (`pool/my data`), so it is the rest of its line, not its third word (fixed
//! in node_exporter 1.9: 1.5 cut it at the first space and merged such datasets). The pool
//! states are 1.12's seven (`suspended` since 1.6).

use super::family::{Family, Harvest, Registration, Roots, Samples, Settings};
use crate::exposition::Kind;
use crate::read::procfs::{read_capped, sorted_entries, FILE_CAP};
use std::path::Path;
use std::sync::Arc;

/// Registers the `zfs` family.
pub const REGISTRATION: Registration = Registration {
    name: "zfs",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(ZfsFamily)
}

/// The kstat files read, with the subsystem their metrics are named after.
const SUBSYSTEMS: &[(&str, &str)] = &[
    ("zfs_abd", "abdstats"),
    ("zfs_arc", "arcstats"),
    ("zfs_dbuf", "dbufstats"),
    ("zfs_dmu_tx", "dmu_tx"),
    ("zfs_dnode", "dnodestats"),
    ("zfs_fm", "fm"),
    ("zfs_vdev_cache", "vdev_cache_stats"),
    ("zfs_vdev_mirror", "vdev_mirror_stats"),
    ("zfs_xuio", "xuio_stats"),
    ("zfs_zfetch", "zfetchstats"),
    ("zfs_zil", "zil"),
];

/// The pool states node_exporter reports, one 0/1 series each.
const POOL_STATES: &[&str] = &[
    "online",
    "degraded",
    "faulted",
    "offline",
    "removed",
    "unavail",
    "suspended",
];

/// A kstat's value if its type is a number node_exporter takes: 4 (uint64) or 3 (int64).
fn number(kind: &str, text: &str) -> Option<f64> {
    match kind {
        "4" => text.parse::<u64>().ok().map(|v| v as f64),
        "3" => text.parse::<i64>().ok().map(|v| v as f64),
        _ => None,
    }
}

struct ZfsFamily;

/// The metric name node_exporter derives from a sysctl-style key: its last `.` part, `-`
/// made `_`, after `prefix`; `None` if that is not a valid metric name.
fn metric(prefix: &str, key: &str) -> Option<String> {
    let last = key.rsplit('.').next().unwrap_or(key).replace('-', "_");
    let ok = last
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    ok.then(|| format!("node_{prefix}_{last}"))
}

/// The `name type data` rows of a kstat file after its header, each with its line; `None`
/// without a header.
fn kstat_lines(text: &str) -> Option<impl Iterator<Item = (&str, Vec<&str>)>> {
    let mut lines = text.lines();
    lines.find(|l| l.split_whitespace().eq(["name", "type", "data"]))?;
    Some(
        lines
            .map(|l| (l, l.split_whitespace().collect::<Vec<_>>()))
            .filter(|(_, p)| p.len() >= 3),
    )
}

/// The words of each row of [`kstat_lines`].
fn kstat_rows(text: &str) -> Option<impl Iterator<Item = Vec<&str>>> {
    Some(kstat_lines(text)?.map(|(_, p)| p))
}

fn read(path: &Path) -> Option<String> {
    read_capped(path, FILE_CAP).ok()
}

fn subsystem(out: &mut Samples, prefix: &str, file: &str, text: &str) {
    let Some(rows) = kstat_rows(text) else {
        return;
    };
    for p in rows {
        let Some(v) = number(p[1], p[2]) else {
            continue;
        };
        let key = format!("kstat.zfs.misc.{file}.{}", p[0]);
        if let Some(name) = metric(prefix, &key) {
            out.push(name, Kind::Untyped, key, Vec::new(), v);
        }
    }
}

fn pool_io(out: &mut Samples, pool: &str, text: &str) {
    let mut lines = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>());
    let Some(fields) = lines.find(|f| f.len() >= 12 && f[0] == "nread") else {
        return;
    };
    for line in lines {
        for (field, v) in fields.iter().zip(&line) {
            let key = format!("kstat.zfs.misc.io.{field}");
            if let (Some(name), Ok(v)) = (metric("zfs_zpool", &key), v.parse::<u64>()) {
                out.push(
                    name,
                    Kind::Untyped,
                    key,
                    vec![("zpool", pool.to_owned())],
                    v as f64,
                );
            }
        }
    }
}

/// The rest of a `name type value` line after its second word: a value that may hold spaces.
fn third_on(line: &str) -> &str {
    let mut rest = line.trim_start();
    for _ in 0..2 {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest.trim_end()
}

fn pool_objset(out: &mut Samples, pool: &str, text: &str) {
    let Some(rows) = kstat_lines(text) else {
        return;
    };
    let mut dataset = String::new();
    for (line, p) in rows {
        if p[0] == "dataset_name" {
            dataset = third_on(line).to_owned();
            continue;
        }
        // Objset counters are uint64 only, in node_exporter 1.12 as in 1.5.
        if p[1] != "4" {
            continue;
        }
        let key = format!("kstat.zfs.misc.objset.{}", p[0]);
        if let (Some(name), Ok(v)) = (metric("zfs_zpool_dataset", &key), p[2].parse::<u64>()) {
            let labels = vec![("zpool", pool.to_owned()), ("dataset", dataset.clone())];
            out.push(name, Kind::Untyped, key, labels, v as f64);
        }
    }
}

fn pool_state(out: &mut Samples, pool: &str, text: &str) {
    let actual = text.lines().next().unwrap_or("").to_lowercase();
    for state in POOL_STATES {
        out.push(
            "node_zfs_zpool_state",
            Kind::Gauge,
            "kstat.zfs.misc.state",
            vec![("zpool", pool.to_owned()), ("state", (*state).to_owned())],
            f64::from(u8::from(actual == *state)),
        );
    }
}

impl Family for ZfsFamily {
    fn name(&self) -> &'static str {
        "zfs"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let base = roots.proc("spl/kstat/zfs");
        let mut out = Samples::default();
        if !crate::read::procfs::is_dir(&base) {
            // The host has no such files: node_exporter's "no data" (success 0).
            return Ok(Arc::new(super::family::NoData));
        }
        // A subsystem that is a directory here (a hostile tree) is not read as a file: it is
        // listed below as a pool, once.
        let listed = crate::read::procfs::entries(&base).unwrap_or_else(|_| Vec::new().into());
        let is_dir = |name: &str| {
            listed
                .iter()
                .any(|e| e.name == name && e.file_type.is_some_and(|t| t.is_dir()))
        };
        for (prefix, file) in SUBSYSTEMS {
            if is_dir(file) {
                continue;
            }
            if let Some(text) = read(&base.join(file)) {
                subsystem(&mut out, prefix, file, &text);
            }
        }
        for entry in sorted_entries(&base) {
            let dir = base.join(&entry);
            if !crate::read::procfs::is_dir(&dir) {
                continue;
            }
            let pool = entry.to_string_lossy();
            if let Some(text) = read(&dir.join("io")) {
                pool_io(&mut out, &pool, &text);
            }
            for file in sorted_entries(&dir) {
                if file.as_encoded_bytes().starts_with(b"objset-") {
                    if let Some(text) = read(&dir.join(&file)) {
                        pool_objset(&mut out, &pool, &text);
                    }
                }
            }
            if let Some(text) = read(&dir.join("state")) {
                pool_state(&mut out, &pool, &text);
            }
        }
        Ok(Arc::new(out.sorted()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, run};

    #[test]
    fn hostile() {
        let t = run(&REGISTRATION, "hostile");
        assert_values(
            &t,
            &[
                ("node_zfs_arc_hits", 8772612.0),
                ("node_zfs_arc_misses", 604635.0),
                ("node_zfs_arc_c_max", 8325287936.0),
                ("node_zfs_arc_size", 975890184.0),
                ("node_zfs_arc_l2_hits", u64::MAX as f64),
                // `-` becomes `_`; a dotted name keeps its last part, as in node_exporter.
                ("node_zfs_arc_bad_name", 5.0),
                ("node_zfs_arc_name", 7.0),
                ("node_zfs_zil_zil_commit_count", 127.0),
                ("node_zfs_zil_zil_itx_count", 52.0),
                ("node_zfs_zpool_nread{zpool=\"old\"}", 1884160.0),
                ("node_zfs_zpool_rcnt{zpool=\"old\"}", 1.0),
                (
                    "node_zfs_zpool_dataset_writes{dataset=\"tank\",zpool=\"tank\"}",
                    12.0,
                ),
                (
                    "node_zfs_zpool_dataset_nread{dataset=\"tank\",zpool=\"tank\"}",
                    32768.0,
                ),
                (
                    "node_zfs_zpool_dataset_nwritten{dataset=\"tank/home\",zpool=\"tank\"}",
                    12302.0,
                ),
                ("node_zfs_zpool_state{state=\"online\",zpool=\"tank\"}", 1.0),
                (
                    "node_zfs_zpool_state{state=\"degraded\",zpool=\"tank\"}",
                    0.0,
                ),
                (
                    "node_zfs_zpool_state{state=\"degraded\",zpool=\"old\"}",
                    1.0,
                ),
                ("node_zfs_zpool_state{state=\"online\",zpool=\"gone\"}", 0.0),
                (
                    "node_zfs_zpool_state{state=\"faulted\",zpool=\"p\u{fffd}ool\"}",
                    1.0,
                ),
                // Since 1.6: `suspended`, and int64 kstats (negative ones too).
                (
                    "node_zfs_zpool_state{state=\"suspended\",zpool=\"pool3\"}",
                    1.0,
                ),
                ("node_zfs_arc_memory_available_bytes", 1234567890.0),
                ("node_zfs_arc_negative", -12.0),
                // A dataset name with spaces is whole (two spaces kept), and one sharing its
                // first word with another does not collide with it.
                (
                    "node_zfs_zpool_dataset_writes{dataset=\"pool3/dataset with  space\",zpool=\"pool3\"}",
                    5.0,
                ),
                (
                    "node_zfs_zpool_dataset_writes{dataset=\"pool3/dataset two\",zpool=\"pool3\"}",
                    7.0,
                ),
            ],
        );
        assert!(t.contains("# HELP node_zfs_arc_hits kstat.zfs.misc.arcstats.hits\n# TYPE node_zfs_arc_hits untyped\n"));
        assert!(t.contains(
            "# HELP node_zfs_zpool_state kstat.zfs.misc.state\n# TYPE node_zfs_zpool_state gauge\n"
        ));
        // A string kstat, a short line, a name that is not UTF-8, a file without header
        // (dmu_tx), an unparsable objset counter: skipped.
        for absent in [
            "bogus_string",
            "truncated",
            "utf8",
            "dmu_tx",
            "nunlinks{dataset=\"tank/home\"",
        ] {
            assert!(!t.contains(absent), "{absent} in {t}");
        }
        let arc = t.lines().filter(|l| l.starts_with("node_zfs_arc_")).count();
        assert_eq!(arc, 13, "{t}");
        // 5 pools x 7 states, 12 io counters, 6 + 4 + 2 + 2 dataset counters.
        let pools = t
            .lines()
            .filter(|l| l.starts_with("node_zfs_zpool"))
            .count();
        assert_eq!(pools, 5 * 7 + 12 + 6 + 4 + 2 + 2, "{t}");
    }

    #[test]
    fn no_zfs_is_empty() {
        for host in ["vm", "pi", "laptop"] {
            assert_eq!(run(&REGISTRATION, host), "", "{host}");
        }
    }
}
