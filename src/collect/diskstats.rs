//! `diskstats`: block device I/O counters from `/proc/diskstats`, with each device's udev
//! properties from `<rootfs>/run/udev/data/b<major>:<minor>`, as node_exporter 1.5.0's
//! `diskstats` collector exposes them.
//!
//! Units: the kernel counts 512-byte sectors whatever the device's block size, so bytes are
//! sectors × 512 (but `discarded_sectors_total` stays in sectors, as in node_exporter), and
//! milliseconds become seconds. The number of columns depends on the kernel: 14 fields before
//! 4.18, 18 with the discard columns, 20 with the flush columns since 5.5; only the counters
//! a line has are written. Devices matching node_exporter's default
//! `^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$` are left out (partitions of sd/vd/nvme
//! disks, but not `mmcblk0p1`, `dm-0`, `md0` or `zram0`).
//!
//! `node_disk_info` has the udev path, WWN, model, serial (`ID_SERIAL_SHORT`) and revision,
//! empty without udev data; `filesystem_info`, `device_mapper_info` and the `ata_*` gauges
//! appear only for devices whose udev data has `ID_FS_TYPE`, `DM_NAME` or `ID_ATA`. Pitfalls:
//! a line that does not parse (truncated, a field that is not a number) is skipped, where
//! node_exporter fails the collector; the udev path follows `--path.rootfs`, node_exporter's
//! default `--path.udev.data=/run/udev/data` is the same on the host itself.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::{parse_float, read_capped, FILE_CAP};
use std::collections::HashMap;
use std::sync::Arc;

/// Registers the `diskstats` family.
pub const REGISTRATION: Registration = Registration {
    name: "diskstats",
    default_enabled: true,
    make: make_family,
};

fn make_family(s: &Settings) -> Box<dyn Family> {
    Box::new(DiskstatsFamily(
        s.flags.filter("diskstats.device").ok().flatten(),
        s.udev_data.clone(),
    ))
}

/// `--collector.diskstats.device-include/-exclude`; without them, 1.12's default.
/// And `--path.udev.data` (node_exporter's flag; without it `<rootfs>/run/udev/data`).
struct DiskstatsFamily(Option<super::flags::Filter>, Option<std::path::PathBuf>);

/// Seconds per millisecond tick, the constant node_exporter multiplies by.
const SECONDS_PER_TICK: f64 = 1.0 / 1000.0;

/// The counters of a `/proc/diskstats` line in column order: name, help, kind, scale.
const COUNTERS: [(&str, &str, Kind, f64); 17] = [
    (
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        Kind::Counter,
        512.0,
    ),
    (
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        Kind::Counter,
        512.0,
    ),
    (
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
        Kind::Gauge,
        1.0,
    ),
    (
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
    (
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        Kind::Counter,
        SECONDS_PER_TICK,
    ),
];

/// The ATA gauges: udev property, name, help.
const ATA: [(&str, &str, &str); 3] = [
    (
        "ID_ATA_ROTATION_RATE_RPM",
        "node_disk_ata_rotation_rate_rpm",
        "ATA disk rotation rate in RPMs (0 for SSDs).",
    ),
    (
        "ID_ATA_WRITE_CACHE",
        "node_disk_ata_write_cache",
        "ATA disk has a write cache.",
    ),
    (
        "ID_ATA_WRITE_CACHE_ENABLED",
        "node_disk_ata_write_cache_enabled",
        "ATA disk has its write cache enabled.",
    ),
];

/// The udev properties node_exporter uses.
const UDEV_KEYS: &[&str] = &[
    "ID_PATH",
    "ID_WWN",
    "ID_MODEL",
    "ID_SERIAL_SHORT",
    "ID_REVISION",
    "ID_FS_TYPE",
    "ID_FS_USAGE",
    "ID_FS_UUID",
    "ID_FS_VERSION",
    "DM_NAME",
    "DM_UUID",
    "DM_VG_NAME",
    "DM_LV_NAME",
    "DM_LV_LAYER",
    "ID_ATA",
    "ID_ATA_ROTATION_RATE_RPM",
    "ID_ATA_WRITE_CACHE",
    "ID_ATA_WRITE_CACHE_ENABLED",
];

/// One device's line and udev properties.
#[derive(Debug)]
struct Disk {
    name: String,
    major: String,
    minor: String,
    /// The line's counters; only the first `count` were on the line.
    stats: [u64; 17],
    count: usize,
    udev: HashMap<&'static str, String>,
    /// `queue/rotational` of `/sys/block/<name>`: `1` for spinning disks, `0` for flash and
    /// where the file is missing (partitions, dm, md), as node_exporter 1.12 reads it.
    rotational: &'static str,
}

impl Disk {
    fn prop(&self, key: &str) -> &str {
        self.udev.get(key).map_or("", String::as_str)
    }
}

/// A tick's devices.
#[derive(Debug)]
struct Reading(Vec<Disk>);

/// node_exporter's default `--collector.diskstats.device-exclude`,
/// `^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`.
pub(super) fn ignored(name: &str) -> bool {
    fn digits(s: &str) -> Option<&str> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n > 0).then(|| &s[n..])
    }
    let all_digits = |s: &str| digits(s) == Some("");
    for p in ["ram", "loop", "fd"] {
        if name.strip_prefix(p).is_some_and(all_digits) {
            return true;
        }
    }
    for p in ["hd", "sd", "vd", "xvd"] {
        if let Some(rest) = name.strip_prefix(p) {
            let mut c = rest.chars();
            if c.next().is_some_and(|c| c.is_ascii_lowercase()) && all_digits(c.as_str()) {
                return true;
            }
        }
    }
    name.strip_prefix("nvme")
        .and_then(digits)
        .and_then(|s| s.strip_prefix('n'))
        .and_then(digits)
        .and_then(|s| s.strip_prefix('p'))
        .is_some_and(all_digits)
}

/// node_exporter 1.12's default `--collector.diskstats.device-exclude` (since 1.8),
/// `^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`: [`ignored`] and `zram` devices
/// (compressed swap in RAM, not a disk). The JSON `diskio` keeps 1.5's [`ignored`].
fn excluded_by_default(name: &str) -> bool {
    let zram = name
        .strip_prefix("zram")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    zram || ignored(name)
}

/// The `E:KEY=value` properties of a udev database file that node_exporter uses.
fn udev(text: &str) -> HashMap<&'static str, String> {
    let mut props = HashMap::new();
    for line in text.lines() {
        let Some((key, value)) = line.strip_prefix("E:").and_then(|l| l.split_once('=')) else {
            continue;
        };
        if let Some(&key) = UDEV_KEYS.iter().find(|k| **k == key) {
            props.insert(key, value.to_owned());
        }
    }
    props
}

impl Family for DiskstatsFamily {
    fn name(&self) -> &'static str {
        "diskstats"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let reading = crate::read::diskstats::read(&roots.proc("diskstats"));
        let Ok(Some(lines)) = reading.present() else {
            return Ok(Arc::new(Reading(Vec::new())));
        };
        let udev_dir = self
            .1
            .clone()
            .unwrap_or_else(|| roots.root("/run/udev/data"));
        let mut disks = Vec::new();
        for line in &lines.0 {
            let (major, minor, name, stats, count) = (
                line.major,
                line.minor,
                line.name.as_str(),
                line.stats,
                line.count,
            );
            if super::flags::ignored(&self.0, name, excluded_by_default) {
                continue;
            }
            let rotational = read_capped(
                &roots.sys(&format!("block/{name}/queue/rotational")),
                FILE_CAP,
            );
            let rotational = match rotational.as_deref().map(str::trim) {
                Ok("1") => "1",
                _ => "0",
            };
            let props = read_capped(&udev_dir.join(format!("b{major}:{minor}")), FILE_CAP)
                .map(|t| udev(&t))
                .unwrap_or_default();
            disks.push(Disk {
                name: name.to_owned(),
                major: major.to_string(),
                minor: minor.to_string(),
                stats,
                count,
                udev: props,
                rotational,
            });
        }
        Ok(Arc::new(Reading(disks)))
    }
}

impl Harvest for Reading {
    fn render(&self, out: &mut Encoder) {
        let mut f = out.family(
            "node_disk_info",
            Kind::Gauge,
            "Info of /sys/block/<block_device>.",
        );
        for d in &self.0 {
            f.sample(
                &[
                    ("device", &d.name),
                    ("major", &d.major),
                    ("minor", &d.minor),
                    ("model", d.prop("ID_MODEL")),
                    ("path", d.prop("ID_PATH")),
                    ("revision", d.prop("ID_REVISION")),
                    ("rotational", d.rotational),
                    ("serial", d.prop("ID_SERIAL_SHORT")),
                    ("wwn", d.prop("ID_WWN")),
                ],
                1.0,
            );
        }
        for (i, (name, help, kind, scale)) in COUNTERS.iter().enumerate() {
            let mut f = out.family(name, *kind, help);
            for d in self.0.iter().filter(|d| i < d.count) {
                let v = d.stats[i] as f64;
                f.sample(
                    &[("device", &d.name)],
                    if *scale == 1.0 { v } else { v * scale },
                );
            }
        }
        let mut f = out.family(
            "node_disk_filesystem_info",
            Kind::Gauge,
            "Info about disk filesystem.",
        );
        for d in self.0.iter().filter(|d| !d.prop("ID_FS_TYPE").is_empty()) {
            f.sample(
                &[
                    ("device", &d.name),
                    ("type", d.prop("ID_FS_TYPE")),
                    ("usage", d.prop("ID_FS_USAGE")),
                    ("uuid", d.prop("ID_FS_UUID")),
                    ("version", d.prop("ID_FS_VERSION")),
                ],
                1.0,
            );
        }
        let mut f = out.family(
            "node_disk_device_mapper_info",
            Kind::Gauge,
            "Info about disk device mapper.",
        );
        for d in self.0.iter().filter(|d| !d.prop("DM_NAME").is_empty()) {
            f.sample(
                &[
                    ("device", &d.name),
                    ("lv_layer", d.prop("DM_LV_LAYER")),
                    ("lv_name", d.prop("DM_LV_NAME")),
                    ("name", d.prop("DM_NAME")),
                    ("uuid", d.prop("DM_UUID")),
                    ("vg_name", d.prop("DM_VG_NAME")),
                ],
                1.0,
            );
        }
        for (key, name, help) in ATA {
            let mut f = out.family(name, Kind::Gauge, help);
            for d in self.0.iter().filter(|d| !d.prop("ID_ATA").is_empty()) {
                if let Some(v) = d.udev.get(key).and_then(|v| parse_float(v)) {
                    f.sample(&[("device", &d.name)], v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_close, assert_values, fixture, run, value};

    #[test]
    fn ignores_what_node_exporter_ignores() {
        for name in [
            "ram0",
            "loop12",
            "fd0",
            "sda1",
            "vdb2",
            "hdc3",
            "xvda1",
            "nvme0n1p1",
            "nvme10n2p15",
        ] {
            assert!(ignored(name), "{name}");
        }
        for name in [
            "sda",
            "sdaa1",
            "nvme0n1",
            "mmcblk0p1",
            "dm-0",
            "md0",
            "zram0",
            "sr0",
            "loop",
            "nvme0n1p",
            "sdA1",
        ] {
            assert!(!ignored(name), "{name}");
        }
    }

    #[test]
    fn pi() {
        let t = run(&REGISTRATION, "pi");
        let d = "{device=\"mmcblk0\"}";
        for (name, v) in [
            ("reads_completed_total", 51234.0),
            ("reads_merged_total", 12345.0),
            ("read_bytes_total", 3456789.0 * 512.0),
            ("read_time_seconds_total", 45.678),
            ("writes_completed_total", 23456.0),
            ("writes_merged_total", 34567.0),
            ("written_bytes_total", 1234567.0 * 512.0),
            ("write_time_seconds_total", 123.456),
            ("io_now", 0.0),
            ("io_time_seconds_total", 98.765),
            ("io_time_weighted_seconds_total", 170.0),
            ("discards_completed_total", 120.0),
            ("discards_merged_total", 0.0),
            ("discarded_sectors_total", 245760.0),
            ("discard_time_seconds_total", 0.035),
            ("flush_requests_total", 2345.0),
            ("flush_requests_time_seconds_total", 1.234),
        ] {
            assert_close(&t, &format!("node_disk_{name}{d}"), v);
        }
        // Partitions of an SD card are not excluded; ram and loop devices are.
        assert_eq!(
            value(&t, "node_disk_reads_completed_total{device=\"mmcblk0p2\"}"),
            Some(50700.0)
        );
        assert!(!t.contains("ram0") && !t.contains("loop0"));
        assert_eq!(
            value(&t, "node_disk_info{device=\"mmcblk0\",major=\"179\",minor=\"0\",model=\"\",path=\"platform-fe340000.mmc\",revision=\"\",rotational=\"0\",serial=\"\",wwn=\"\"}"),
            Some(1.0)
        );
        assert_eq!(
            value(&t, "node_disk_filesystem_info{device=\"mmcblk0p1\",type=\"vfat\",usage=\"filesystem\",uuid=\"91FE-7499\",version=\"FAT32\"}"),
            Some(1.0)
        );
        // 3 devices x (17 counters + info) + 2 filesystems.
        assert_eq!(
            t.lines().filter(|l| !l.starts_with('#')).count(),
            3 * 18 + 2,
            "{t}"
        );
    }

    #[test]
    fn laptop() {
        let t = run(&REGISTRATION, "laptop");
        assert_values(
            &t,
            &[
                ("node_disk_info{device=\"nvme0n1\",major=\"259\",minor=\"0\",model=\"SAMSUNG MZVL2512HCJQ-00BL7\",path=\"pci-0000:3d:00.0-nvme-1\",revision=\"GXA7801Q\",rotational=\"0\",serial=\"S64KNX0T123456\",wwn=\"eui.002538b911b12345\"}", 1.0),
                ("node_disk_device_mapper_info{device=\"dm-1\",lv_layer=\"\",lv_name=\"root\",name=\"vgubuntu-root\",uuid=\"LVM-Hq0m2Zt8eX1pYw9Lk3Vn7Rb5Cs4Df6Ga1Jh8Ki0Lm2No4Pq6Rs8Tu0Vw\",vg_name=\"vgubuntu\"}", 1.0),
                ("node_disk_filesystem_info{device=\"dm-0\",type=\"LVM2_member\",usage=\"raid\",uuid=\"Xc3v9B-2kQe-8f3L-Wd1s-0PqZ-a7Hm-4TnR2u\",version=\"LVM2 001\"}", 1.0),
                ("node_disk_ata_rotation_rate_rpm{device=\"sda\"}", 0.0),
                ("node_disk_ata_write_cache{device=\"sda\"}", 1.0),
                ("node_disk_ata_write_cache_enabled{device=\"sda\"}", 1.0),
            ],
        );
        assert_close(
            &t,
            "node_disk_flush_requests_time_seconds_total{device=\"nvme0n1\"}",
            8.901,
        );
        assert_close(
            &t,
            "node_disk_discarded_sectors_total{device=\"dm-0\"}",
            123456789.0,
        );
        // nvme0n1, dm-0..2, sda: 5 x 18, 3 filesystems, 3 device mappers, 3 ATA gauges.
        assert_eq!(
            t.lines().filter(|l| !l.starts_with('#')).count(),
            5 * 18 + 3 + 3 + 3,
            "{t}"
        );
    }

    #[test]
    fn hostile() {
        let t = run(&REGISTRATION, "hostile");
        // 14 fields: 11 counters, no discard or flush series.
        assert_eq!(
            value(
                &t,
                "node_disk_io_time_weighted_seconds_total{device=\"sda\"}"
            ),
            Some(0.011)
        );
        assert_eq!(
            value(&t, "node_disk_discards_completed_total{device=\"sda\"}"),
            None
        );
        // 18 fields: discards but no flushes.
        assert_eq!(
            value(&t, "node_disk_discard_time_seconds_total{device=\"sdb\"}"),
            Some(0.015)
        );
        assert_eq!(
            value(&t, "node_disk_flush_requests_total{device=\"sdb\"}"),
            None
        );
        assert_eq!(
            value(&t, "node_disk_reads_completed_total{device=\"sdd\"}"),
            Some(u64::MAX as f64)
        );
        assert_eq!(
            value(&t, "node_disk_read_bytes_total{device=\"sdd\"}"),
            Some(u64::MAX as f64 * 512.0)
        );
        assert_eq!(
            value(
                &t,
                "node_disk_reads_completed_total{device=\"disk\u{fffd}\u{fffd}\"}"
            ),
            Some(1.0)
        );
        // Fields past the 20th are ignored.
        assert_eq!(
            value(
                &t,
                "node_disk_flush_requests_time_seconds_total{device=\"sdg\"}"
            ),
            Some(0.017)
        );
        assert_values(
            &t,
            &[
                ("node_disk_reads_completed_total{device=\"sdaa1\"}", 1.0),
                ("node_disk_reads_completed_total{device=\"mmcblk0p1\"}", 1.0),
            ],
        );
        for gone in [
            "\"sdb1\"",
            "\"sdc\"",
            "\"sde\"",
            "\"ram0\"",
            "\"huge\"",
            "\"md0\"",
            "nvme0n1p1",
        ] {
            assert!(!t.contains(gone), "{gone}");
        }
        // udev: a lossy model, the value after the first `=`, the last of two lines, ATA
        // gauges that do not parse are left out; a directory or empty file gives empty labels.
        assert_eq!(
            value(&t, "node_disk_info{device=\"nvme0n1\",major=\"259\",minor=\"0\",model=\"Bad\u{fffd}Model\",path=\"\",revision=\"\",rotational=\"0\",serial=\"SN=with=equals\",wwn=\"second\"}"),
            Some(1.0)
        );
        assert_eq!(
            value(&t, "node_disk_ata_write_cache{device=\"nvme0n1\"}"),
            Some(1.0)
        );
        assert!(!t.contains("node_disk_ata_rotation_rate_rpm{"));
        assert_eq!(
            value(&t, "node_disk_info{device=\"sda\",major=\"8\",minor=\"0\",model=\"\",path=\"\",revision=\"\",rotational=\"0\",serial=\"\",wwn=\"\"}"),
            Some(1.0)
        );
    }

    #[test]
    fn udev_data_flag_moves_the_database() {
        use crate::collect::family::{testing::render, Settings};
        // The laptop's tree read with the Pi's udev database: nvme0n1 loses its model.
        let settings = Settings {
            udev_data: Some(fixture("pi").root("/run/udev/data")),
            ..Settings::default()
        };
        let t = render(&mut *make_family(&settings), "laptop");
        assert!(t.contains("node_disk_info{device=\"nvme0n1\""), "{t}");
        assert!(!t.contains("SAMSUNG"), "{t}");
        assert!(run(&REGISTRATION, "laptop").contains("SAMSUNG"));
    }

    #[test]
    fn vm() {
        let t = run(&REGISTRATION, "vm");
        assert!(t.contains("node_disk_reads_completed_total{device=\"vda\"}"));
        // A virtio disk says it spins (node_exporter 1.9+'s `rotational`).
        assert!(t.contains("node_disk_info{device=\"vda\",major=\"254\",minor=\"0\",model=\"\",path=\"\",revision=\"\",rotational=\"1\""), "{t}");
        // zram is excluded by default since node_exporter 1.8.
        assert!(!t.contains("zram0"));
        assert!(!t.contains("loop"));
    }
}
