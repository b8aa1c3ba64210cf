//! `btrfs`: every mounted btrfs filesystem's space allocation, devices and transaction commits,
//! from `/sys/fs/btrfs/<uuid>/`, as node_exporter 1.12's `btrfs` collector (through procfs'
//! `btrfs` package) exposes them: `node_btrfs_info{uuid,label}`, `_global_rsv_size_bytes`,
//! `_reserved_bytes{block_group_type}`, `_used_bytes`/`_size_bytes`/`_allocation_ratio`
//! `{block_group_type,mode}`, `_device_size_bytes{device}` and the commit statistics
//! (`_commits_total`, `_commit_seconds_total`, `_last_commit_seconds`, `_max_commit_seconds`,
//! node_exporter 1.7+).
//!
//! Kernel ABI (fs/btrfs/sysfs.c): a filesystem is a directory named by its UUID (the
//! directory `features` beside them is the kernel's own feature list, hence procfs' glob
//! `*-*`); `metadata_uuid` (5.0+) names it, else the directory does. `allocation/{data,
//! metadata,system}/` hold byte counts and one directory per RAID profile in use (`single`,
//! `dup`, `raid1`, `raid5`, ...) with its `total_bytes` and `used_bytes`; `devices/<name>` are
//! links to the member block devices, whose `size` is in 512-byte sectors whatever the
//! device's block size. `commit_stats` (6.0+) is `key value` lines in milliseconds.
//!
//! Pitfalls, node_exporter's and kept so series match: a missing or unparsable number reads
//! 0 (procfs ignores `ParseUint` errors), so a kernel without `commit_stats` shows zero
//! commits; the allocation ratio is how many bytes of disk a byte of data takes, 1 for
//! `single`/`raid0`, 2 for `dup`/`raid1`/`raid10`, n/(n-1) and n/(n-2) for `raid5`/`raid6` on
//! n devices, 0 for a profile procfs does not know (`raid1c3`). Where node_exporter fails the
//! whole collector (a filesystem without `devices/`, a malformed `commit_stats` line), this
//! shows what is readable.
//!
//! Devices: like node_exporter, each mounted btrfs (found in `<procfs>/1/mounts`, opened below
//! `--path.rootfs`) is also asked by ioctl for its devices (`BTRFS_IOC_FS_INFO`,
//! `BTRFS_IOC_DEV_INFO`, `BTRFS_IOC_GET_DEV_STATS`, none of which needs privileges; in
//! [`crate::read::btrfs`]): then
//! `_device_size_bytes`, `_device_unused_bytes` and `_device_errors_total{type}` carry the
//! device's path's last component and a `btrfs_dev_uuid` label. Where that fails (not mounted
//! here, in a container without the host's root) the sysfs sizes are shown instead, with
//! `{device}` only, as node_exporter falls back. A mount whose `statvfs` is stuck is not
//! opened (see [`crate::read::statfs`]; the tick's answer is the one the JSON model's disks got
//! for the same mount point, so in practice this family starts no helper thread of its own).

use super::family::{Family, Harvest, Registration, Roots, Samples, Settings};
use crate::exposition::Kind;
use crate::read::btrfs::DevInfo;
use crate::read::procfs::{read_capped, read_capped_bytes, sorted_entries, ATTR_CAP, FILE_CAP};
use crate::read::statfs::{Answer, Timed};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Registers the `btrfs` family.
pub const REGISTRATION: Registration = Registration {
    name: "btrfs",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(BtrfsFamily {
        statfs: Timed::default(),
    })
}

struct BtrfsFamily {
    /// Checks a mount answers before it is opened for the ioctls.
    statfs: Timed,
}

/// The number in `path`, 0 if missing or not an unsigned integer (procfs' `readValue`).
fn value(path: &Path) -> u64 {
    read_capped(path, ATTR_CAP)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn is_dir(path: &Path) -> bool {
    crate::read::procfs::is_dir(path)
}

/// Bytes of disk per byte stored for a RAID profile on `devices` devices (procfs'
/// `calcRatio`).
fn ratio(profile: &str, devices: usize) -> f64 {
    let n = devices as f64;
    match profile {
        "single" | "raid0" => 1.0,
        "dup" | "raid1" | "raid10" => 2.0,
        "raid5" => n / (n - 1.0),
        "raid6" => n / (n - 2.0),
        _ => 0.0,
    }
}

/// `commit_stats`: commits, last, max and total commit time in ms. Lines that are not
/// `key number` are skipped.
fn commit_stats(path: &Path) -> [u64; 4] {
    parse_commit_stats(&read_capped(path, FILE_CAP).unwrap_or_default())
}

/// The text of `commit_stats`, as [`commit_stats`] reads it.
fn parse_commit_stats(text: &str) -> [u64; 4] {
    let mut out = [0; 4];
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(key), Some(v), None) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Ok(v) = v.parse() else { continue };
        let slot = match key {
            "commits" => 0,
            "last_commit_ms" => 1,
            "max_commit_ms" => 2,
            "total_commit_ms" => 3,
            _ => continue,
        };
        out[slot] = v;
    }
    out
}

fn gauge(
    s: &mut Samples,
    name: &'static str,
    help: &'static str,
    labels: Vec<(&'static str, String)>,
    v: f64,
) {
    s.push(name, Kind::Gauge, help, labels, v);
}

/// Reads one filesystem directory into `s`; `ioctl` has its devices if the ioctls answered.
fn filesystem(dir: &Path, dir_name: &str, ioctl: &HashMap<String, Vec<DevInfo>>, s: &mut Samples) {
    let text = |f: &str| {
        read_capped(&dir.join(f), ATTR_CAP)
            .map(|t| t.trim().to_owned())
            .unwrap_or_default()
    };
    let uuid = Some(text("metadata_uuid"))
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| dir_name.to_owned());
    let with = |extra: &[(&'static str, &str)]| {
        let mut l = vec![("uuid", uuid.clone())];
        l.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        l
    };
    let devices: Vec<String> = sorted_entries(&dir.join("devices"))
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect();

    gauge(
        s,
        "node_btrfs_info",
        "Filesystem information",
        with(&[("label", &text("label"))]),
        1.0,
    );
    gauge(
        s,
        "node_btrfs_global_rsv_size_bytes",
        "Size of global reserve.",
        with(&[]),
        value(&dir.join("allocation/global_rsv_size")) as f64,
    );
    let [commits, last, max, total] = commit_stats(&dir.join("commit_stats"));
    for (name, kind, help, v) in [
        (
            "node_btrfs_commits_total",
            Kind::Counter,
            "The total number of commits that have occurred.",
            commits as f64,
        ),
        (
            "node_btrfs_last_commit_seconds",
            Kind::Gauge,
            "Duration of the most recent commit, in seconds.",
            last as f64 / 1000.0,
        ),
        (
            "node_btrfs_max_commit_seconds",
            Kind::Gauge,
            "Duration of the slowest commit, in seconds.",
            max as f64 / 1000.0,
        ),
        (
            "node_btrfs_commit_seconds_total",
            Kind::Counter,
            "Sum of the duration of all commits, in seconds.",
            total as f64 / 1000.0,
        ),
    ] {
        s.push(name, kind, help, with(&[]), v);
    }
    for group in ["data", "metadata", "system"] {
        let g = dir.join("allocation").join(group);
        gauge(
            s,
            "node_btrfs_reserved_bytes",
            "Amount of space reserved for a data type",
            with(&[("block_group_type", group)]),
            value(&g.join("bytes_reserved")) as f64,
        );
        for profile in sorted_entries(&g) {
            let p = g.join(&profile);
            // `ReadDir`'s `IsDir`: a link is not followed.
            if !crate::read::procfs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            let mode = profile.to_string_lossy();
            let labels = with(&[("block_group_type", group), ("mode", &mode)]);
            gauge(
                s,
                "node_btrfs_used_bytes",
                "Amount of used space by a layout/data type",
                labels.clone(),
                value(&p.join("used_bytes")) as f64,
            );
            gauge(
                s,
                "node_btrfs_size_bytes",
                "Amount of space allocated for a layout/data type",
                labels.clone(),
                value(&p.join("total_bytes")) as f64,
            );
            gauge(
                s,
                "node_btrfs_allocation_ratio",
                "Data allocation ratio for a layout/data type",
                labels,
                ratio(&mode, devices.len()),
            );
        }
    }
    if let Some(found) = ioctl.get(&uuid.replace('-', "")) {
        return ioctl_series(s, &uuid, found);
    }
    for device in &devices {
        let sectors = value(&dir.join("devices").join(device).join("size"));
        gauge(
            s,
            "node_btrfs_device_size_bytes",
            "Size of a device that is part of the filesystem.",
            with(&[("device", device)]),
            sectors.saturating_mul(512) as f64,
        );
    }
}

/// The device series of the filesystem `uuid` from what the ioctls said.
fn ioctl_series(s: &mut Samples, uuid: &str, devices: &[DevInfo]) {
    for d in devices {
        let name = d.path.rsplit('/').next().unwrap_or("");
        let labels = |extra: Option<&str>| {
            let mut l = vec![
                ("uuid", uuid.to_owned()),
                ("device", name.to_owned()),
                ("btrfs_dev_uuid", d.uuid.clone()),
            ];
            l.extend(extra.map(|t| ("type", t.to_owned())));
            l
        };
        gauge(
            s,
            "node_btrfs_device_size_bytes",
            "Size of a device that is part of the filesystem.",
            labels(None),
            d.total_bytes as f64,
        );
        // Wrapping as Go's unsigned subtraction does, should the kernel ever say used > total.
        gauge(
            s,
            "node_btrfs_device_unused_bytes",
            "Unused bytes unused on a device that is part of the filesystem.",
            labels(None),
            d.total_bytes.wrapping_sub(d.bytes_used) as f64,
        );
        for (kind, v) in ["write", "read", "flush", "corruption", "generation"]
            .iter()
            .zip(d.errors)
        {
            s.push(
                "node_btrfs_device_errors_total",
                Kind::Counter,
                "Errors reported for the device",
                labels(Some(kind)),
                v as f64,
            );
        }
    }
}

impl BtrfsFamily {
    /// Every mounted btrfs's devices by fsid, for those the ioctls answer on: the first
    /// mount of each device is opened, read-only, below `--path.rootfs`.
    fn ioctl_devices(&mut self, roots: &Roots) -> HashMap<String, Vec<DevInfo>> {
        let mut found = HashMap::new();
        let table = read_capped_bytes(&roots.proc("1/mounts"), FILE_CAP)
            .or_else(|_| read_capped_bytes(&roots.proc("mounts"), FILE_CAP))
            .unwrap_or_default();
        let table = String::from_utf8_lossy(&table);
        self.statfs.begin_tick();
        for m in super::disk::parse_mounts(&table) {
            if m.fstype != "btrfs" {
                continue;
            }
            let path = roots.mountpoint(&m.mountpoint);
            if matches!(
                self.statfs.measure(&m.mountpoint, path.clone()),
                Answer::Stuck
            ) {
                continue;
            }
            if let Some((fsid, devices)) = crate::read::btrfs::devices(&path) {
                found.entry(fsid).or_insert(devices);
            }
        }
        self.statfs.end_tick();
        found
    }
}

impl Family for BtrfsFamily {
    fn name(&self) -> &'static str {
        "btrfs"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        // No btrfs is no series, and success: procfs' glob finds nothing.
        let root = roots.sys("fs/btrfs");
        let mut s = Samples::default();
        let listed = sorted_entries(&root);
        let ioctl = if listed.is_empty() {
            HashMap::new()
        } else {
            self.ioctl_devices(roots)
        };
        for entry in listed {
            let name = entry.to_string_lossy();
            let dir = root.join(&entry);
            if name.contains('-') && is_dir(&dir) {
                filesystem(&dir, &name, &ioctl, &mut s);
            }
        }
        Ok(Arc::new(s.sorted()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, run};

    const LAPTOP: &str = "uuid=\"7f3a1c2e-5b8d-4e6f-9a0b-1c2d3e4f5a6b\"";

    #[test]
    fn laptop_single_disk_with_commit_stats() {
        let t = run(&REGISTRATION, "laptop");
        let s = |name: &str, extra: &str| format!("{name}{{{extra}{LAPTOP}}}");
        assert_values(
            &t,
            &[
                (&s("node_btrfs_info", "label=\"fedora\","), 1.0),
                (&s("node_btrfs_global_rsv_size_bytes", ""), 274661376.0),
                (&s("node_btrfs_commits_total", ""), 48213.0),
                (&s("node_btrfs_last_commit_seconds", ""), 0.027),
                (&s("node_btrfs_max_commit_seconds", ""), 1.634),
                (&s("node_btrfs_commit_seconds_total", ""), 1873.442),
                (
                    &s("node_btrfs_reserved_bytes", "block_group_type=\"data\","),
                    1835008.0,
                ),
                (
                    &s("node_btrfs_reserved_bytes", "block_group_type=\"system\","),
                    0.0,
                ),
                (
                    &s(
                        "node_btrfs_used_bytes",
                        "block_group_type=\"data\",mode=\"single\",",
                    ),
                    412853043200.0,
                ),
                (
                    &s(
                        "node_btrfs_size_bytes",
                        "block_group_type=\"metadata\",mode=\"dup\",",
                    ),
                    6442450944.0,
                ),
                (
                    &s(
                        "node_btrfs_allocation_ratio",
                        "block_group_type=\"metadata\",mode=\"dup\",",
                    ),
                    2.0,
                ),
                (
                    &s(
                        "node_btrfs_allocation_ratio",
                        "block_group_type=\"data\",mode=\"single\",",
                    ),
                    1.0,
                ),
                // 1996488704 sectors of 512 bytes.
                (
                    &s("node_btrfs_device_size_bytes", "device=\"dm-0\","),
                    1022202216448.0,
                ),
            ],
        );
        // `features` beside the filesystems is not one.
        assert_eq!(t.matches("node_btrfs_info{").count(), 1, "{t}");
        assert!(t.contains("# TYPE node_btrfs_commits_total counter\n"));
        assert!(t.contains("# TYPE node_btrfs_used_bytes gauge\n"));
    }

    #[test]
    fn vm_raid5_on_three_disks_without_metadata_uuid_or_commit_stats() {
        let t = run(&REGISTRATION, "vm");
        let u = "uuid=\"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\"";
        assert_values(
            &t,
            &[
                (&format!("node_btrfs_info{{label=\"\",{u}}}"), 1.0),
                (
                    &format!("node_btrfs_allocation_ratio{{block_group_type=\"data\",mode=\"raid5\",{u}}}"),
                    1.5,
                ),
                (
                    &format!("node_btrfs_allocation_ratio{{block_group_type=\"system\",mode=\"raid1\",{u}}}"),
                    2.0,
                ),
                (&format!("node_btrfs_commits_total{{{u}}}"), 0.0),
                (&format!("node_btrfs_device_size_bytes{{device=\"sdc\",{u}}}"), 2147483648000.0),
            ],
        );
        assert_eq!(t.matches("node_btrfs_device_size_bytes{").count(), 3);
    }

    #[test]
    fn hostile_values_read_zero_and_nothing_panics() {
        let t = run(&REGISTRATION, "hostile");
        assert_values(
            &t,
            &[
                ("node_btrfs_info{label=\"\u{fffd}\u{fffd}label\",uuid=\"bad-1\"}", 1.0),
                ("node_btrfs_global_rsv_size_bytes{uuid=\"bad-1\"}", 0.0),
                ("node_btrfs_device_size_bytes{device=\"ghost\",uuid=\"bad-1\"}", 0.0),
                // Beyond u64: 0, as procfs.
                ("node_btrfs_size_bytes{block_group_type=\"data\",mode=\"raid6\",uuid=\"bad-1\"}", 0.0),
                ("node_btrfs_used_bytes{block_group_type=\"data\",mode=\"raid6\",uuid=\"bad-1\"}", 12.0),
                // raid6 on one device: 1 / (1 - 2).
                ("node_btrfs_allocation_ratio{block_group_type=\"data\",mode=\"raid6\",uuid=\"bad-1\"}", -1.0),
                ("node_btrfs_allocation_ratio{block_group_type=\"data\",mode=\"weird\",uuid=\"bad-1\"}", 0.0),
                ("node_btrfs_commits_total{uuid=\"bad-1\"}", 5.0),
                ("node_btrfs_max_commit_seconds{uuid=\"bad-1\"}", 0.009),
                ("node_btrfs_last_commit_seconds{uuid=\"bad-1\"}", 0.0),
                ("node_btrfs_info{label=\"empty\",uuid=\"no-devices-2\"}", 1.0),
            ],
        );
        assert!(!t.contains("not-a-dir"), "{t}");
    }

    #[test]
    fn ioctl_devices_replace_the_sysfs_sizes() {
        let dev = DevInfo {
            path: "/dev/mapper/luks-1".into(),
            uuid: crate::read::btrfs::dashed_uuid(&[0xab; 16]),
            bytes_used: 300,
            total_bytes: 1000,
            errors: [1, 2, 3, 4, 5],
        };
        let mut s = Samples::default();
        ioctl_series(&mut s, "u-1", &[dev]);
        let mut out = crate::exposition::Encoder::default();
        s.sorted().render(&mut out);
        let t = out.finish();
        let l = "btrfs_dev_uuid=\"abababab-abab-abab-abab-abababababab\",device=\"luks-1\"";
        assert_values(
            &t,
            &[
                (
                    &format!("node_btrfs_device_size_bytes{{{l},uuid=\"u-1\"}}"),
                    1000.0,
                ),
                (
                    &format!("node_btrfs_device_unused_bytes{{{l},uuid=\"u-1\"}}"),
                    700.0,
                ),
                (
                    &format!("node_btrfs_device_errors_total{{{l},type=\"write\",uuid=\"u-1\"}}"),
                    1.0,
                ),
                (
                    &format!(
                        "node_btrfs_device_errors_total{{{l},type=\"generation\",uuid=\"u-1\"}}"
                    ),
                    5.0,
                ),
            ],
        );
        assert!(t.contains("# TYPE node_btrfs_device_errors_total counter\n"));
    }

    proptest::proptest! {
        #![proptest_config(crate::testing::cases(256))]

        /// Any text gives four numbers without a panic; a well-formed line sets its slot,
        /// whatever text comes before it.
        #[test]
        fn any_commit_stats(text in ".*", n in proptest::prelude::any::<u64>()) {
            let _ = parse_commit_stats(&text);
            let got = parse_commit_stats(&format!("{text}\nmax_commit_ms {n}\n"));
            proptest::prop_assert_eq!(got[2], n);
        }
    }

    #[test]
    fn without_btrfs_is_empty() {
        assert_eq!(run(&REGISTRATION, "pi"), "");
    }
}
