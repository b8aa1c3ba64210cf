//! `netdev`: per-device traffic counters, `node_network_{receive,transmit}_*_total`, from
//! `/proc/net/dev`, plus `receive_nohandler` from `/sys/class/net/<dev>/statistics/`.
//!
//! node_exporter 1.5.0 takes these over rtnetlink (`--collector.netdev.netlink`, on by
//! default) and folds the detailed error counters back into `/proc/net/dev`'s columns the way
//! the kernel prints them (`drop` = dropped + missed, `frame` = length + over + crc + frame,
//! `carrier` = carrier + aborted + window + heartbeat), so its numbers are that file's. Netlink
//! adds one counter the file lacks, `rx_nohandler`, which sysfs has per device (kernel 4.6+);
//! reading files keeps `--path.procfs`/`--path.sysfs` and fixture trees working.
//!
//! Debian's build excludes the loopback device (`--collector.netdev.device-exclude=^lo$`), so
//! `lo` is left out, as there. The line is split at the colon, not on whitespace: older
//! kernels printed `%6s:%8llu`, where a long name or a large counter touches the colon.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use super::netclass::read_attr;
use crate::exposition::{Encoder, Kind};
use std::path::Path;
use std::sync::Arc;

/// Registers the `netdev` family.
pub const REGISTRATION: Registration = Registration {
    name: "netdev",
    default_enabled: true,
    make: make_family,
};

fn make_family(s: &Settings) -> Box<dyn Family> {
    Box::new(NetdevFamily {
        filter: s.flags.filter("netdev.device").ok().flatten(),
        address_info: s.flags.switch("netdev.address-info"),
        label_ifalias: s.flags.switch("netdev.label-ifalias"),
        detailed: s.flags.switch("netdev.enable-detailed-metrics"),
    })
}

/// The device Debian's node_exporter leaves out by default.
const EXCLUDED: &str = "lo";

/// A counter's metric name and help.
struct Column {
    metric: &'static str,
    help: &'static str,
}

macro_rules! column {
    ($key:literal) => {
        Column {
            metric: concat!("node_network_", $key, "_total"),
            help: concat!("Network device statistic ", $key, "."),
        }
    };
}

/// `/proc/net/dev`'s 16 columns in file order: receive, then transmit.
const COLUMNS: [Column; 16] = [
    column!("receive_bytes"),
    column!("receive_packets"),
    column!("receive_errs"),
    column!("receive_drop"),
    column!("receive_fifo"),
    column!("receive_frame"),
    column!("receive_compressed"),
    column!("receive_multicast"),
    column!("transmit_bytes"),
    column!("transmit_packets"),
    column!("transmit_errs"),
    column!("transmit_drop"),
    column!("transmit_fifo"),
    column!("transmit_colls"),
    column!("transmit_carrier"),
    column!("transmit_compressed"),
];

/// The counter netlink has and `/proc/net/dev` does not.
const NOHANDLER: Column = column!("receive_nohandler");

/// `--collector.netdev.enable-detailed-metrics`: node_exporter's netlink counters under their
/// own names (`receive_errors`, `receive_missed_errors`, ...) instead of folded into
/// `/proc/net/dev`'s columns. Every one of `rtnl_link_stats64`'s fields is also a file in
/// `/sys/class/net/<dev>/statistics/`: (series, file).
const DETAILED: [(Column, &str); 24] = [
    (column!("receive_packets"), "rx_packets"),
    (column!("transmit_packets"), "tx_packets"),
    (column!("receive_bytes"), "rx_bytes"),
    (column!("transmit_bytes"), "tx_bytes"),
    (column!("receive_errors"), "rx_errors"),
    (column!("transmit_errors"), "tx_errors"),
    (column!("receive_dropped"), "rx_dropped"),
    (column!("transmit_dropped"), "tx_dropped"),
    (column!("multicast"), "multicast"),
    (column!("collisions"), "collisions"),
    (column!("receive_length_errors"), "rx_length_errors"),
    (column!("receive_over_errors"), "rx_over_errors"),
    (column!("receive_crc_errors"), "rx_crc_errors"),
    (column!("receive_frame_errors"), "rx_frame_errors"),
    (column!("receive_fifo_errors"), "rx_fifo_errors"),
    (column!("receive_missed_errors"), "rx_missed_errors"),
    (column!("transmit_aborted_errors"), "tx_aborted_errors"),
    (column!("transmit_carrier_errors"), "tx_carrier_errors"),
    (column!("transmit_fifo_errors"), "tx_fifo_errors"),
    (column!("transmit_heartbeat_errors"), "tx_heartbeat_errors"),
    (column!("transmit_window_errors"), "tx_window_errors"),
    (column!("receive_compressed"), "rx_compressed"),
    (column!("transmit_compressed"), "tx_compressed"),
    (column!("receive_nohandler"), "rx_nohandler"),
];

/// One device's counters.
#[derive(Debug)]
struct Device {
    name: String,
    counters: [u64; 16],
    /// `statistics/rx_nohandler`, if sysfs has it for this device.
    nohandler: Option<u64>,
    /// `--collector.netdev.label-ifalias`: sysfs `ifalias` (`ip link set dev X alias ...`),
    /// empty where the device has none.
    ifalias: Option<String>,
    /// `--collector.netdev.enable-detailed-metrics`: [`DETAILED`]'s counters, `None` where
    /// sysfs lacks one.
    detailed: Option<Vec<Option<u64>>>,
}

impl Device {
    /// `device`, and `ifalias` with `--collector.netdev.label-ifalias`.
    fn labels(&self) -> Vec<(&str, &str)> {
        let mut labels = vec![("device", self.name.as_str())];
        if let Some(alias) = &self.ifalias {
            labels.push(("ifalias", alias.as_str()));
        }
        labels
    }
}

/// One tick's devices, sorted by name.
#[derive(Debug)]
struct NetdevHarvest {
    devices: Vec<Device>,
    /// `--collector.netdev.address-info`: every interface's addresses.
    addresses: Vec<super::ifaddrs::Address>,
}

/// The family's view of `/proc/net/dev`: the device lines whose 16 counters are all `u64`s,
/// named (not empty, no `|` of a header).
fn view(dev: &crate::read::netdev::NetDev) -> impl Iterator<Item = (&str, [u64; 16])> {
    dev.0
        .iter()
        .filter(|d| d.complete && !d.name.is_empty() && !d.name.contains('|'))
        .map(|d| (d.name.as_str(), d.counters))
}

/// `rx_nohandler` of the device `name` below `class` (`/sys/class/net`), if sysfs has it. A
/// name shown lossily is not the directory's name, and one that is not a file name (a hostile
/// file's `..` or `a/b`) names no device: no lookup.
fn nohandler(class: &Path, name: &str) -> Option<u64> {
    let lookup = !name.contains(char::REPLACEMENT_CHARACTER)
        && !name.contains('/')
        && name != "."
        && name != "..";
    if !lookup {
        return None;
    }
    read_attr(&class.join(name).join("statistics/rx_nohandler"))?
        .parse()
        .ok()
}

/// The device's `ifalias` below `class`, trimmed; empty if it has none or the name names
/// no directory (see [`nohandler`]).
fn ifalias(class: &Path, name: &str) -> String {
    let lookup = !name.contains(char::REPLACEMENT_CHARACTER)
        && !name.contains('/')
        && name != "."
        && name != "..";
    if !lookup {
        return String::new();
    }
    read_attr(&class.join(name).join("ifalias")).unwrap_or_default()
}

/// [`DETAILED`]'s files of the device `name` below `class` (see [`nohandler`] for names that
/// name no directory).
fn statistics(class: &Path, name: &str) -> Vec<Option<u64>> {
    let lookup = !name.contains(char::REPLACEMENT_CHARACTER)
        && !name.contains('/')
        && name != "."
        && name != "..";
    let dir = class.join(name).join("statistics");
    DETAILED
        .iter()
        .map(|(_, file)| {
            lookup
                .then(|| read_attr(&dir.join(file))?.parse().ok())
                .flatten()
        })
        .collect()
}

struct NetdevFamily {
    /// `--collector.netdev.device-include/-exclude`; without them, Debian's `^lo$`.
    filter: Option<super::flags::Filter>,
    /// `--collector.netdev.address-info` (off by default, as node_exporter).
    address_info: bool,
    /// `--collector.netdev.label-ifalias` (off by default).
    label_ifalias: bool,
    /// `--collector.netdev.enable-detailed-metrics` (off by default).
    detailed: bool,
}

impl Family for NetdevFamily {
    fn name(&self) -> &'static str {
        "netdev"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let dev = crate::read::netdev::read(&roots.proc("net/dev"));
        let Some(dev) = dev.present()? else {
            return Ok(Arc::new(NetdevHarvest {
                devices: Vec::new(),
                addresses: Vec::new(),
            }));
        };
        let class = roots.sys("class/net");
        let mut devices: Vec<Device> = view(dev)
            .filter(|(name, _)| !super::flags::ignored(&self.filter, name, |n| n == EXCLUDED))
            .map(|(name, counters)| Device {
                name: name.to_owned(),
                counters,
                nohandler: nohandler(&class, name),
                ifalias: self.label_ifalias.then(|| ifalias(&class, name)),
                detailed: self.detailed.then(|| statistics(&class, name)),
            })
            .collect();
        crate::sort::sort_by(&mut devices, |a, b| a.name.cmp(&b.name));
        // Two lines for one name (a hostile file) would be one series twice.
        devices.dedup_by(|a, b| a.name == b.name);
        // Not filtered by the device flags, as node_exporter.
        let addresses = if self.address_info {
            super::ifaddrs::addresses()
        } else {
            Vec::new()
        };
        Ok(Arc::new(NetdevHarvest { devices, addresses }))
    }
}

impl Harvest for NetdevHarvest {
    fn render(&self, out: &mut Encoder) {
        if self.devices.iter().any(|d| d.detailed.is_some()) {
            for (i, (column, _)) in DETAILED.iter().enumerate() {
                let mut f = out.family(column.metric, Kind::Counter, column.help);
                for d in &self.devices {
                    if let Some(v) = d.detailed.as_ref().and_then(|v| v[i]) {
                        f.sample(&d.labels(), v as f64);
                    }
                }
            }
            self.render_addresses(out);
            return;
        }
        for (i, column) in COLUMNS.iter().enumerate() {
            let mut f = out.family(column.metric, Kind::Counter, column.help);
            for d in &self.devices {
                f.sample(&d.labels(), d.counters[i] as f64);
            }
        }
        let mut f = out.family(NOHANDLER.metric, Kind::Counter, NOHANDLER.help);
        for d in &self.devices {
            if let Some(v) = d.nohandler {
                f.sample(&d.labels(), v as f64);
            }
        }
        self.render_addresses(out);
    }
}

impl NetdevHarvest {
    /// `node_network_address_info` (`--collector.netdev.address-info`).
    fn render_addresses(&self, out: &mut Encoder) {
        if !self.addresses.is_empty() {
            let mut f = out.family(
                "node_network_address_info",
                Kind::Gauge,
                "node network address by device",
            );
            for a in &self.addresses {
                f.sample(
                    &[
                        ("address", &a.address),
                        ("device", &a.device),
                        ("netmask", &a.netmask),
                        ("scope", a.scope),
                    ],
                    1.0,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::REGISTRATION;
    use crate::collect::family::testing::{run, value};

    fn series(text: &str, metric: &str) -> usize {
        text.lines()
            .filter(|l| l.starts_with(&format!("{metric}{{")))
            .count()
    }

    #[test]
    fn ifalias_label_when_asked() {
        use crate::collect::family::{testing::render, Roots, Settings};
        let dir = std::env::temp_dir().join(format!("psmonitor-ifalias-{}", std::process::id()));
        let net = dir.join("sys/class/net/eth0");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::create_dir_all(dir.join("proc/net")).unwrap();
        std::fs::write(net.join("ifalias"), "uplink to core\n").unwrap();
        std::fs::write(
            dir.join("proc/net/dev"),
            "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n  eth0: 1 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0\n  eth1: 5 6 0 0 0 0 0 0 7 8 0 0 0 0 0 0\n",
        )
        .unwrap();
        let mut settings = Settings::default();
        settings.flags.take("netdev.label-ifalias", "true").unwrap();
        let mut fam = super::make_family(&settings);
        let h = fam.harvest(&Roots::under(&dir)).unwrap();
        let mut enc = crate::exposition::Encoder::default();
        h.render(&mut enc);
        let t = enc.finish();
        assert_eq!(
            value(
                &t,
                "node_network_receive_bytes_total{device=\"eth0\",ifalias=\"uplink to core\"}"
            ),
            Some(1.0),
            "{t}"
        );
        assert_eq!(
            value(
                &t,
                "node_network_transmit_packets_total{device=\"eth1\",ifalias=\"\"}"
            ),
            Some(8.0),
            "no sysfs entry: empty"
        );
        // Without the flag, no such label.
        assert!(!render(&mut *super::make_family(&Settings::default()), "vm").contains("ifalias"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn device_flags_replace_the_default() {
        use crate::collect::family::{testing::render, Settings};
        let mut settings = Settings::default();
        settings.flags.take("netdev.device-include", "^l").unwrap();
        let t = render(&mut *super::make_family(&settings), "vm");
        // An include list: only what matches, `lo` too now.
        assert!(t.contains("device=\"lo\""), "{t}");
        assert!(!t.contains("device=\"eth0\""), "{t}");
    }

    #[test]
    fn vm_matches_proc_net_dev_without_lo() {
        let t = run(&REGISTRATION, "vm");
        let v = |s: &str| value(&t, s);
        assert_eq!(
            v("node_network_receive_bytes_total{device=\"eth0\"}"),
            Some(239094906.0)
        );
        assert_eq!(
            v("node_network_receive_packets_total{device=\"eth0\"}"),
            Some(8437.0)
        );
        assert_eq!(
            v("node_network_transmit_bytes_total{device=\"eth0\"}"),
            Some(486543.0)
        );
        assert_eq!(
            v("node_network_transmit_packets_total{device=\"eth0\"}"),
            Some(5691.0)
        );
        assert_eq!(
            v("node_network_receive_nohandler_total{device=\"ifb1\"}"),
            Some(0.0)
        );
        assert_eq!(v("node_network_receive_bytes_total{device=\"lo\"}"), None);
        // eth0, ifb0, ifb1 in each of the 17 families.
        assert_eq!(t.matches("# TYPE ").count(), 17);
        assert_eq!(t.matches(" counter\n").count(), 17);
        assert_eq!(series(&t, "node_network_transmit_colls_total"), 3);
        assert!(t.contains(
            "# HELP node_network_receive_drop_total Network device statistic receive_drop.\n"
        ));
    }

    #[test]
    fn pi_columns_land_in_their_metrics() {
        let t = run(&REGISTRATION, "pi");
        let v = |m: &str, d: &str| value(&t, &format!("node_network_{m}_total{{device=\"{d}\"}}"));
        assert_eq!(v("receive_bytes", "eth0"), Some(1538259912.0));
        assert_eq!(v("receive_drop", "eth0"), Some(12.0));
        assert_eq!(v("receive_multicast", "eth0"), Some(41230.0));
        assert_eq!(v("transmit_bytes", "eth0"), Some(98765432.0));
        assert_eq!(v("receive_drop", "wlan0"), Some(1456.0));
        assert_eq!(v("transmit_drop", "wlan0"), Some(5.0));
        assert_eq!(v("transmit_packets", "wlan0"), Some(30123.0));
        assert_eq!(v("receive_nohandler", "wlan0"), Some(0.0));
        assert_eq!(v("receive_bytes", "lo"), None);
        assert_eq!(series(&t, "node_network_receive_bytes_total"), 2);
    }

    #[test]
    fn laptop_long_names_and_a_bond() {
        let t = run(&REGISTRATION, "laptop");
        let v = |m: &str, d: &str| value(&t, &format!("node_network_{m}_total{{device=\"{d}\"}}"));
        assert_eq!(v("receive_bytes", "wlp0s20f3"), Some(4123456789.0));
        assert_eq!(v("receive_packets", "wlp0s20f3"), Some(3012345.0));
        assert_eq!(v("receive_bytes", "enp0s31f6"), Some(912345678.0));
        assert_eq!(v("receive_multicast", "bond0"), Some(1203.0));
        assert_eq!(v("transmit_drop", "bond0"), Some(17.0));
        assert_eq!(v("receive_nohandler", "bond0"), Some(42.0));
        assert_eq!(series(&t, "node_network_receive_bytes_total"), 3);
    }

    #[test]
    fn hostile_lines_are_skipped_one_by_one() {
        let t = run(&REGISTRATION, "hostile");
        let v = |m: &str, d: &str| value(&t, &format!("node_network_{m}_total{{device=\"{d}\"}}"));
        // u64::MAX and an extra 17th column; the second `eth0` line is dropped.
        assert_eq!(v("receive_bytes", "eth0"), Some(u64::MAX as f64));
        assert_eq!(v("transmit_bytes", "eth0"), Some(5.0));
        assert_eq!(v("receive_nohandler", "eth0"), Some(12.0));
        // A non-UTF-8 name is shown lossily; its sysfs directory cannot be named from it.
        assert_eq!(v("receive_bytes", "x\u{fffd}"), Some(1.0));
        assert_eq!(v("transmit_compressed", "x\u{fffd}"), Some(16.0));
        assert_eq!(v("receive_nohandler", "x\u{fffd}"), None);
        // Negative, over u64, truncated: skipped.
        for d in ["neg0", "big0", "trunc0", "lo"] {
            assert_eq!(v("receive_bytes", d), None, "{d}");
        }
        // A counter touching the colon.
        assert_eq!(v("receive_bytes", "veth9f3c2a1"), Some(123456789.0));
        assert_eq!(v("transmit_bytes", "veth9f3c2a1"), Some(3.0));
        assert_eq!(series(&t, "node_network_receive_bytes_total"), 3);
    }

    #[test]
    fn no_proc_net_dev_is_empty() {
        let mut f = (REGISTRATION.make)(&Default::default());
        let roots = crate::collect::family::Roots::under("/nonexistent");
        let mut out = crate::exposition::Encoder::default();
        f.harvest(&roots)
            .expect("empty, not an error")
            .render(&mut out);
        assert_eq!(out.finish(), "");
    }
}
