//! `dmmultipath`: device-mapper multipath maps and their paths, from `/sys/block/dm-*/`, as
//! node_exporter 1.12's `dmmultipath` collector (new in 1.12, through procfs'
//! `blockdevice.DMMultipathDevices`) exposes them: per map `{device,sysfs_name}`
//! `node_dmmultipath_device_info{uuid}`, `_device_active`, `_device_size_bytes`,
//! `_device_paths`, `_device_paths_active`, `_device_paths_failed`, and per path
//! `node_dmmultipath_path_state{device,path,state}`.
//!
//! Kernel ABI (Documentation/ABI/testing/sysfs-block-dm): a device-mapper device has `dm/name`
//! (the map's name, `mpatha`), `dm/uuid` (multipathd prefixes its maps' with `mpath-`; LVM
//! `LVM-`, dm-crypt `CRYPT-`, which are left out) and `dm/suspended`; its `size` is in 512-byte
//! sectors and `slaves/` lists the path devices. A path's state is its SCSI device's
//! `device/state` (`running`, `offline`, `blocked`, `transport-offline`, ...) or an NVMe
//! controller's (`live`, ...); `running` and `live` count as active, anything else as failed.
//!
//! On by default, as in 1.12: the collector's final source registers it `defaultEnabled`
//! (the pull request that added it, #3581, began `defaultDisabled`, and so does the copy of its
//! branch at node_exporter 107afb5e), and OpenShift's monitoring operator added switches to
//! turn it off because upstream turns it on (cluster-monitoring-operator #2996, #3080).
//!
//! Pitfalls: without `/sys/block` the family is "no data", as node_exporter says; a map
//! without `slaves/` has no paths. Where procfs fails the whole collector (an unreadable
//! `dm/name`, `dm/suspended`, `size` or path state), only that series or path is left out here.

use super::family::{Family, Harvest, NoData, Registration, Roots, Samples, Settings};
use crate::exposition::Kind;
use crate::read::procfs::{read_capped, sorted_entries, ATTR_CAP};
use std::path::Path;
use std::sync::Arc;

/// Registers the `dmmultipath` family.
pub const REGISTRATION: Registration = Registration {
    name: "dmmultipath",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(DmMultipathFamily)
}

struct DmMultipathFamily;

/// An attribute, trimmed as procfs' `SysReadFile` does.
fn attr(path: &Path) -> Option<String> {
    read_capped(path, ATTR_CAP)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// An unsigned decimal attribute (procfs' `ReadUintFromFile`).
fn uint(path: &Path) -> Option<u64> {
    attr(path)?.parse().ok()
}

/// Whether a path's device state means it carries I/O (SCSI `running`, NVMe `live`).
fn is_active(state: &str) -> bool {
    state == "running" || state == "live"
}

impl Family for DmMultipathFamily {
    fn name(&self) -> &'static str {
        "dmmultipath"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let block = roots.sys("block");
        if !crate::read::procfs::is_dir(&block) {
            return Ok(Arc::new(NoData));
        }
        let mut s = Samples::default();
        for entry in sorted_entries(&block) {
            let sysfs_name = entry.to_string_lossy().into_owned();
            if !sysfs_name.starts_with("dm-") {
                continue;
            }
            let dir = block.join(&entry);
            let Some(uuid) = attr(&dir.join("dm/uuid")).filter(|u| u.starts_with("mpath-")) else {
                continue;
            };
            let Some(name) = attr(&dir.join("dm/name")) else {
                continue;
            };
            let labels = || vec![("device", name.clone()), ("sysfs_name", sysfs_name.clone())];
            let mut info = labels();
            info.push(("uuid", uuid));
            s.push(
                "node_dmmultipath_device_info",
                Kind::Gauge,
                "Non-numeric information about a DM-multipath device.",
                info,
                1.0,
            );
            if let Some(suspended) = uint(&dir.join("dm/suspended")) {
                s.push(
                    "node_dmmultipath_device_active",
                    Kind::Gauge,
                    "Whether the multipath device-mapper device is active (1) or suspended (0).",
                    labels(),
                    if suspended == 1 { 0.0 } else { 1.0 },
                );
            }
            if let Some(sectors) = uint(&dir.join("size")) {
                s.push(
                    "node_dmmultipath_device_size_bytes",
                    Kind::Gauge,
                    "Size of the multipath device in bytes, read from /sys/block/<dm>/size.",
                    labels(),
                    sectors.saturating_mul(512) as f64,
                );
            }
            let (mut active, mut failed) = (0.0, 0.0);
            for path in sorted_entries(&dir.join("slaves")) {
                let Some(state) = attr(&block.join(&path).join("device/state")) else {
                    continue;
                };
                if is_active(&state) {
                    active += 1.0;
                } else {
                    failed += 1.0;
                }
                s.push(
                    "node_dmmultipath_path_state",
                    Kind::Gauge,
                    "Reports the underlying device state for a multipath path, as read from /sys/block/<dev>/device/state.",
                    vec![
                        ("device", name.clone()),
                        ("path", path.to_string_lossy().into_owned()),
                        ("state", state),
                    ],
                    1.0,
                );
            }
            for (metric, help, v) in [
                ("node_dmmultipath_device_paths", "Number of paths for a multipath device.", active + failed),
                ("node_dmmultipath_device_paths_active", "Number of paths in active state (SCSI running or NVMe live) for a multipath device.", active),
                ("node_dmmultipath_device_paths_failed", "Number of paths not in active state for a multipath device.", failed),
            ] {
                s.push(metric, Kind::Gauge, help, labels(), v);
            }
        }
        Ok(Arc::new(s.sorted()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, fixture, run};

    #[test]
    fn vm_with_two_san_maps_beside_lvm() {
        let t = run(&REGISTRATION, "vm");
        let a = "device=\"mpatha\",sysfs_name=\"dm-2\"";
        let b = "device=\"mpathb\",sysfs_name=\"dm-3\"";
        assert_values(
            &t,
            &[
                (
                    &format!("node_dmmultipath_device_info{{{a},uuid=\"mpath-3600a098038314a6f6a5d4d6c6b4b5a31\"}}"),
                    1.0,
                ),
                (&format!("node_dmmultipath_device_active{{{a}}}"), 1.0),
                (&format!("node_dmmultipath_device_active{{{b}}}"), 0.0),
                (&format!("node_dmmultipath_device_size_bytes{{{a}}}"), 107374182400.0),
                (&format!("node_dmmultipath_device_paths{{{a}}}"), 4.0),
                (&format!("node_dmmultipath_device_paths_active{{{a}}}"), 3.0),
                (&format!("node_dmmultipath_device_paths_failed{{{a}}}"), 1.0),
                (&format!("node_dmmultipath_device_paths_failed{{{b}}}"), 1.0),
                ("node_dmmultipath_path_state{device=\"mpatha\",path=\"sdh\",state=\"transport-offline\"}", 1.0),
                ("node_dmmultipath_path_state{device=\"mpathb\",path=\"sdj\",state=\"blocked\"}", 1.0),
                ("node_dmmultipath_path_state{device=\"mpathb\",path=\"sdi\",state=\"running\"}", 1.0),
            ],
        );
        // LVM's dm-0 is no multipath map.
        assert!(!t.contains("dm-0") && !t.contains("rhel"), "{t}");
        assert!(t.contains("# TYPE node_dmmultipath_path_state gauge\n"));
    }

    #[test]
    fn hostile_maps_keep_what_is_readable() {
        let t = run(&REGISTRATION, "hostile");
        let bad = "device=\"bad\",sysfs_name=\"dm-9\"";
        let odd = "device=\"\u{fffd}\u{fffd}\",sysfs_name=\"dm-7\"";
        assert_values(
            &t,
            &[
                (
                    &format!("node_dmmultipath_device_info{{{bad},uuid=\"mpath-bad\"}}"),
                    1.0,
                ),
                // The path without a readable state is left out.
                (&format!("node_dmmultipath_device_paths{{{bad}}}"), 1.0),
                (
                    &format!("node_dmmultipath_device_paths_active{{{bad}}}"),
                    1.0,
                ),
                (
                    "node_dmmultipath_path_state{device=\"bad\",path=\"sdy\",state=\"running\"}",
                    1.0,
                ),
                (&format!("node_dmmultipath_device_paths{{{odd}}}"), 0.0),
                (
                    &format!("node_dmmultipath_device_size_bytes{{{odd}}}"),
                    4096.0,
                ),
            ],
        );
        assert!(!t.contains(&format!("node_dmmultipath_device_active{{{bad}}}")));
        assert!(!t.contains(&format!("node_dmmultipath_device_size_bytes{{{bad}}}")));
        assert!(
            !t.contains("luks") && !t.contains("dm-6") && !t.contains("sdz"),
            "{t}"
        );
    }

    #[test]
    fn without_block_devices_is_no_data() {
        let h = DmMultipathFamily.harvest(&fixture("pi")).unwrap();
        assert!(h.no_data());
        assert!(is_active("live") && is_active("running") && !is_active("offline"));
    }
}
