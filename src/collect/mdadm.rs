//! `mdadm`: Linux software RAID arrays from `/proc/mdstat`, as node_exporter 1.5.0's `mdadm`
//! collector (through procfs' `MDStat`) exposes them: disks by state, the disks the array
//! needs, its size and how much of it is in sync, and its state (`active`, `inactive`,
//! `recovering`, `resync`, `check`) as one 0/1 series each.
//!
//! `/proc/mdstat` is a text report, not a table: an array is a line `mdN : active raid1 sdb1[1]
//! sda1[0](F)` followed by a status line (`976630464 blocks super 1.2 [2/1] [U_]`), maybe a
//! `bitmap:` line and a progress line (`recovery = 18.1% (353722368/1953422677) ...`).
//! Pitfalls: raid0 and linear arrays have no `[n/m]` (their member count is the number of
//! `[` on the first line); an inactive array has no `[n/m]` either and counts as 0 disks;
//! `resync=DELAYED` / `PENDING` means nothing is synced yet; `active (auto-read-only)` is
//! still `active` (the state is the third word). An array whose lines do not parse is
//! skipped, where node_exporter drops every array.
//!
//! node_exporter 1.12 adds two gauges from sysfs (`/sys/block/mdN/md/`, procfs' `Mdraids`):
//! `node_md_raid_disks` (the `raid_disks` file: members the array is built for; left out where
//! the kernel has no such file) and `node_md_degraded` (the `degraded` file: members missing;
//! 0 for levels without redundancy, which have no such file).

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::{read_capped, FILE_CAP};
use std::sync::Arc;

/// Registers the `mdadm` family.
pub const REGISTRATION: Registration = Registration {
    name: "mdadm",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(MdadmFamily)
}

struct MdadmFamily;

/// One array.
#[derive(Debug, PartialEq)]
struct Array {
    name: String,
    /// `active`, `inactive`, `recovering`, `resyncing` or `checking` (procfs' words).
    state: String,
    active: i64,
    failed: i64,
    spare: i64,
    required: i64,
    blocks: i64,
    synced: i64,
}

/// A tick's arrays.
#[derive(Debug)]
struct Reading(Vec<Array>, Vec<Raid>);

/// One array's sysfs view: its device, `raid_disks` (if the kernel has it) and `degraded`.
#[derive(Debug)]
struct Raid {
    device: String,
    disks: Option<f64>,
    degraded: f64,
}

/// The arrays of `/sys/block/md*/md/`, by name.
fn raids(roots: &Roots) -> Vec<Raid> {
    let block = roots.sys("block");
    let number = |dir: &std::path::Path, file: &str| -> Option<f64> {
        read_capped(&dir.join(file), FILE_CAP)
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
            .map(|v| v as f64)
    };
    crate::read::procfs::sorted_entries(&block)
        .into_iter()
        .filter(|e| e.as_encoded_bytes().starts_with(b"md"))
        .filter_map(|e| {
            let dir = block.join(&e).join("md");
            crate::read::procfs::metadata(&dir)
                .ok()?
                .is_dir()
                .then_some(())?;
            Some(Raid {
                device: e.to_string_lossy().into_owned(),
                disks: number(&dir, "raid_disks"),
                degraded: number(&dir, "degraded").unwrap_or(0.0),
            })
        })
        .collect()
}

/// Matches `\[(\d+)/(\d+)\] \[[U_]+\]` at the start of `s`: the array's disks and active ones.
fn disks_at(s: &str) -> Option<(&str, &str)> {
    let rest = s.strip_prefix('[')?;
    let (total, rest) = rest.split_once('/')?;
    let (active, rest) = rest.split_once("] [")?;
    let end = rest.find(']')?;
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    let flags = &rest[..end];
    let ok = digits(total)
        && digits(active)
        && !flags.is_empty()
        && flags.bytes().all(|b| b == b'U' || b == b'_');
    ok.then_some((total, active))
}

/// procfs' status line regex `(\d+) blocks .*\[(\d+)/(\d+)\] \[([U_]+)\]`: the greedy `.*`
/// takes the last `[n/m] [UU]` after the first `<digits> blocks `.
fn disks(status: &str) -> Option<(i64, i64)> {
    let at = status
        .match_indices(" blocks ")
        .find(|(i, _)| status[..*i].ends_with(|c: char| c.is_ascii_digit()))?
        .0;
    let tail = &status[at + " blocks ".len()..];
    let (total, active) = tail
        .rmatch_indices('[')
        .find_map(|(j, _)| disks_at(&tail[j..]))?;
    Some((total.parse().ok()?, active.parse().ok()?))
}

/// The synced blocks of a progress line, `(353722368/1953422677)`.
fn synced_blocks(line: &str) -> Option<i64> {
    line.match_indices('(').find_map(|(i, _)| {
        let (done, rest) = line[i + 1..].split_once('/')?;
        let total = &rest[..rest.find(')')?];
        let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        (digits(done) && digits(total)).then(|| done.parse().ok())?
    })
}

fn parse(text: &str) -> Vec<Array> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    for (i, &line) in lines.iter().enumerate() {
        if line.trim().is_empty()
            || line.starts_with(' ')
            || line.starts_with("Personalities")
            || line.starts_with("unused")
        {
            continue;
        }
        if let Some(a) = array(line, &lines[i + 1..]) {
            out.push(a);
        }
    }
    out
}

/// The array whose first line is `line`, followed by `next`.
fn array(line: &str, next: &[&str]) -> Option<Array> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 3 || next.len() < 3 {
        return None;
    }
    let status = next[0];
    let blocks: i64 = status.split_whitespace().next()?.parse().ok()?;
    let (required, active) = if line.contains("raid0") || line.contains("linear") {
        let n = line.matches('[').count() as i64;
        (n, n)
    } else if line.contains("inactive") {
        (0, 0)
    } else {
        disks(status)?
    };
    let progress = if next[1].contains("bitmap") {
        next[2]
    } else {
        next[1]
    };
    let mut state = fields[2].to_owned();
    let mut synced = blocks;
    let (recovering, resyncing, checking) = (
        progress.contains("recovery"),
        progress.contains("resync"),
        progress.contains("check"),
    );
    if recovering || resyncing || checking {
        state = if recovering {
            "recovering"
        } else if checking {
            "checking"
        } else {
            "resyncing"
        }
        .to_owned();
        synced = if progress.contains("PENDING") || progress.contains("DELAYED") {
            0
        } else {
            synced_blocks(progress)?
        };
    }
    Some(Array {
        name: fields[0].to_owned(),
        state,
        active,
        failed: line.matches("(F)").count() as i64,
        spare: line.matches("(S)").count() as i64,
        required,
        blocks,
        synced,
    })
}

impl Family for MdadmFamily {
    fn name(&self) -> &'static str {
        "mdadm"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let arrays = match read_capped(&roots.proc("mdstat"), FILE_CAP) {
            Ok(text) => parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // No md driver: node_exporter's "no data" (success 0).
                return Ok(Arc::new(super::family::NoData));
            }
            Err(_) => Vec::new(),
        };
        Ok(Arc::new(Reading(arrays, raids(roots))))
    }
}

/// The states of `node_md_state`: label, and the procfs word that means it.
const STATES: [(&str, &str); 5] = [
    ("active", "active"),
    ("inactive", "inactive"),
    ("recovering", "recovering"),
    ("resync", "resyncing"),
    ("check", "checking"),
];

impl Reading {
    /// Writes the gauge family `name` with `pick`'s value for each array, by `device`.
    fn per_device(&self, out: &mut Encoder, name: &str, help: &str, pick: fn(&Array) -> i64) {
        let mut f = out.family(name, Kind::Gauge, help);
        for a in &self.0 {
            f.sample(&[("device", &a.name)], pick(a) as f64);
        }
    }

    /// Writes the gauge family `name` with `pick`'s values for each array, by `device` and
    /// `state`.
    fn per_state(
        &self,
        out: &mut Encoder,
        name: &str,
        help: &str,
        pick: fn(&Array) -> Vec<(&'static str, f64)>,
    ) {
        let mut f = out.family(name, Kind::Gauge, help);
        for a in &self.0 {
            for (state, v) in pick(a) {
                f.sample(&[("device", &a.name), ("state", state)], v);
            }
        }
    }
}

impl Harvest for Reading {
    fn render(&self, out: &mut Encoder) {
        let mut f = out.family(
            "node_md_raid_disks",
            Kind::Gauge,
            "Number of raid disks on device.",
        );
        for r in &self.1 {
            if let Some(n) = r.disks {
                f.sample(&[("device", &r.device)], n);
            }
        }
        let mut f = out.family(
            "node_md_degraded",
            Kind::Gauge,
            "Number of degraded disks on device.",
        );
        for r in &self.1 {
            f.sample(&[("device", &r.device)], r.degraded);
        }
        self.per_device(
            out,
            "node_md_blocks",
            "Total number of blocks on device.",
            |a| a.blocks,
        );
        self.per_device(
            out,
            "node_md_blocks_synced",
            "Number of blocks synced on device.",
            |a| a.synced,
        );
        self.per_state(
            out,
            "node_md_disks",
            "Number of active/failed/spare disks of device.",
            |a| {
                vec![
                    ("active", a.active as f64),
                    ("failed", a.failed as f64),
                    ("spare", a.spare as f64),
                ]
            },
        );
        self.per_device(
            out,
            "node_md_disks_required",
            "Total number of disks of device.",
            |a| a.required,
        );
        self.per_state(
            out,
            "node_md_state",
            "Indicates the state of md-device.",
            |a| {
                STATES
                    .iter()
                    .map(|&(label, word)| (label, f64::from(u8::from(a.state == word))))
                    .collect()
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{run, value};

    #[test]
    fn finds_the_last_disk_counts_after_blocks() {
        assert_eq!(disks("976630464 blocks super 1.2 [2/2] [UU]"), Some((2, 2)));
        assert_eq!(
            disks("5860268032 blocks super 1.2 level 5, 512k chunk, algorithm 2 [4/3] [UU_U]"),
            Some((4, 3))
        );
        assert_eq!(disks("1 blocks [3/2] [UU_] [2/1] [U_]"), Some((2, 1)));
        assert_eq!(disks("[2/2] [UU] 1 blocks "), None);
        assert_eq!(disks("1 blocks [2/2] [UX]"), None);
        assert_eq!(disks("blocks [2/2] [UU]"), None);
    }

    #[test]
    fn hostile() {
        let t = run(&REGISTRATION, "hostile");
        // device: (blocks, synced, active, failed, spare, required, state)
        for (md, blocks, synced, active, failed, spare, required, state) in [
            (
                "md127",
                976630464.0,
                976630464.0,
                2.0,
                0.0,
                0.0,
                2.0,
                "active",
            ),
            (
                "md1",
                5860268032.0,
                353722368.0,
                3.0,
                1.0,
                1.0,
                4.0,
                "recovering",
            ),
            (
                "md2",
                1953260544.0,
                1953260544.0,
                2.0,
                0.0,
                0.0,
                2.0,
                "active",
            ),
            (
                "md3",
                976630488.0,
                976630488.0,
                0.0,
                0.0,
                1.0,
                0.0,
                "inactive",
            ),
            ("md4", 488253440.0, 41503232.0, 2.0, 0.0, 0.0, 2.0, "check"),
            ("md5", 488253440.0, 0.0, 2.0, 0.0, 0.0, 2.0, "resync"),
            (
                "md6",
                1953260544.0,
                1953260544.0,
                2.0,
                0.0,
                0.0,
                2.0,
                "active",
            ),
            ("md8", 104320.0, 104320.0, 2.0, 0.0, 0.0, 2.0, "active"),
        ] {
            let d = format!("device=\"{md}\"");
            assert_eq!(
                value(&t, &format!("node_md_blocks{{{d}}}")),
                Some(blocks),
                "{md}"
            );
            assert_eq!(
                value(&t, &format!("node_md_blocks_synced{{{d}}}")),
                Some(synced),
                "{md}"
            );
            assert_eq!(
                value(&t, &format!("node_md_disks_required{{{d}}}")),
                Some(required),
                "{md}"
            );
            for (s, n) in [("active", active), ("failed", failed), ("spare", spare)] {
                let series = format!("node_md_disks{{{d},state=\"{s}\"}}");
                assert_eq!(value(&t, &series), Some(n), "{series}");
            }
            for s in ["active", "inactive", "recovering", "resync", "check"] {
                let series = format!("node_md_state{{{d},state=\"{s}\"}}");
                assert_eq!(
                    value(&t, &series),
                    Some(f64::from(u8::from(s == state))),
                    "{series}"
                );
            }
        }
        // md7 (no status) and md9 (blocks beyond i64) are skipped.
        assert!(!t.contains("md7") && !t.contains("md9"), "{t}");
        // 11 series per array of mdstat, and 2 + 2 + 2 of the 3 arrays in sysfs.
        assert_eq!(
            t.lines().filter(|l| !l.starts_with('#')).count(),
            8 * 11 + 6,
            "{t}"
        );
    }

    #[test]
    fn sysfs_raid_disks_and_degraded() {
        let t = run(&REGISTRATION, "hostile");
        assert_eq!(value(&t, "node_md_raid_disks{device=\"md1\"}"), Some(3.0));
        assert_eq!(value(&t, "node_md_degraded{device=\"md1\"}"), Some(1.0));
        assert_eq!(value(&t, "node_md_degraded{device=\"md127\"}"), Some(0.0));
        // raid0 has no `degraded` file: 0.
        assert_eq!(value(&t, "node_md_degraded{device=\"md2\"}"), Some(0.0));
        assert_eq!(value(&t, "node_md_raid_disks{device=\"md2\"}"), Some(2.0));
        assert!(t.contains("# TYPE node_md_degraded gauge\n"));
    }

    #[test]
    fn truncated_file_keeps_complete_arrays() {
        let text = "md0 : active raid1 sdb1[1] sda1[0]\n      1000 blocks [2/2] [UU]\n\nmd1 : active raid1 sdd1[1] sdc1[0]\n      2000 blocks";
        let arrays = parse(text);
        assert_eq!(arrays.len(), 1);
        assert_eq!((arrays[0].name.as_str(), arrays[0].blocks), ("md0", 1000));
    }

    #[test]
    fn no_mdstat_is_empty() {
        for host in ["vm", "pi", "laptop"] {
            assert_eq!(run(&REGISTRATION, host), "", "{host}");
        }
    }
}
