//! `netclass`: one attribute file each from `/sys/class/net/<dev>/` (`node_network_up`,
//! `node_network_info`, `node_network_mtu_bytes`, ...), as node_exporter 1.5.0's `netclass`
//! collector reads them (sysfs, not netlink; no device ignored by default).
//!
//! Kernel quirks, and node_exporter's, that this mirrors:
//! - Many attributes cannot be read on some devices: `carrier`, `dormant`, `duplex`, `speed`
//!   and `name_assign_type` fail with `EINVAL` on a device that is down or virtual (`lo`,
//!   `ifb0`, Wi-Fi). That attribute's metric is then missing for that device only (a string
//!   one is `""` in `node_network_info`).
//! - Numbers are parsed as Go's `strconv.ParseInt(s, 0, 64)`: `flags` and `dev_id` are written
//!   in hex (`0x1003`), so the base follows the prefix.
//! - `speed` is Mbit/s, and `-1` when unknown; it becomes bytes/s as `speed * 10^6 / 8` on
//!   64-bit integers, so an unknown speed shows as `-125000`, as node_exporter shows it.
//! - node_exporter reads each attribute with a single 128-byte `read(2)`, so a longer
//!   `ifalias` (the kernel allows 255 bytes) is cut at 128 bytes; we cut it the same way, so
//!   `ifalias` label values match.
//! - `/sys/class/net/bonding_masters` is a regular file, not a device: regular files are
//!   skipped (the devices are symlinks).

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::parse_int;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// Registers the `netclass` family.
pub const REGISTRATION: Registration = Registration {
    name: "netclass",
    default_enabled: true,
    make: make_family,
};

fn make_family(s: &Settings) -> Box<dyn Family> {
    Box::new(NetclassFamily {
        ignored: s.flags.pattern("netclass.ignored-devices"),
        ignore_invalid_speed: s.flags.switch("netclass.ignore-invalid-speed"),
    })
}

/// How much of an attribute node_exporter reads (procfs's `SysReadFile`).
const ATTR_READ: usize = 128;

/// Reads a sysfs attribute as node_exporter does: one `read(2)` of at most 128 bytes, trimmed;
/// `None` if it cannot be opened or read (`EINVAL` on a down device, a directory, ...). Bytes
/// that are not UTF-8 are shown as U+FFFD.
pub(super) fn read_attr(path: &Path) -> Option<String> {
    with_attr(path, str::to_owned)
}

/// [`read_attr`]'s text, given to `f` without being copied (a number is parsed in place).
fn with_attr<T>(path: &Path, f: impl FnOnce(&str) -> T) -> Option<T> {
    if let Some(got) = crate::read::tick::file(path) {
        // This tick's reading of it (the JSON model reads `operstate`, `flags`, `speed` too).
        let got = got.ok()?;
        let n = got.data.len().min(ATTR_READ);
        return Some(f(String::from_utf8_lossy(&got.data[..n]).trim()));
    }
    let mut buf = [0u8; ATTR_READ];
    let n = crate::read::procfs::read_once(path, &mut buf).ok()?;
    Some(f(String::from_utf8_lossy(&buf[..n]).trim()))
}

/// A device directory's path, and its attributes' paths made on it one at a time.
struct Attr {
    path: Vec<u8>,
    /// The directory's length, with the `/` after it.
    dir: usize,
}

impl Attr {
    fn new(dir: &Path) -> Attr {
        use std::os::unix::ffi::OsStrExt;
        let mut path = dir.as_os_str().as_bytes().to_vec();
        if !path.is_empty() && path.last() != Some(&b'/') {
            path.push(b'/');
        }
        Attr {
            dir: path.len(),
            path,
        }
    }

    /// The path of attribute `file`: `dir.join(file)`.
    fn of(&mut self, file: &str) -> &Path {
        use std::os::unix::ffi::OsStrExt;
        self.path.truncate(self.dir);
        self.path.extend_from_slice(file.as_bytes());
        Path::new(std::ffi::OsStr::from_bytes(&self.path))
    }
}

/// A numeric attribute and the metric node_exporter names it.
struct Prop {
    file: &'static str,
    metric: &'static str,
    help: &'static str,
    kind: Kind,
}

macro_rules! prop {
    ($file:literal, $name:literal, $kind:ident) => {
        Prop {
            file: $file,
            metric: concat!("node_network_", $name),
            help: concat!("Network device property: ", $name),
            kind: Kind::$kind,
        }
    };
}

/// The numeric attributes, in the order of their metric names.
const PROPS: [Prop; 17] = [
    prop!("addr_assign_type", "address_assign_type", Gauge),
    prop!("carrier", "carrier", Gauge),
    prop!("carrier_changes", "carrier_changes_total", Counter),
    prop!("carrier_down_count", "carrier_down_changes_total", Counter),
    prop!("carrier_up_count", "carrier_up_changes_total", Counter),
    prop!("dev_id", "device_id", Gauge),
    prop!("dormant", "dormant", Gauge),
    prop!("flags", "flags", Gauge),
    prop!("ifindex", "iface_id", Gauge),
    prop!("iflink", "iface_link", Gauge),
    prop!("link_mode", "iface_link_mode", Gauge),
    prop!("mtu", "mtu_bytes", Gauge),
    prop!("name_assign_type", "name_assign_type", Gauge),
    prop!("netdev_group", "net_dev_group", Gauge),
    prop!("type", "protocol_type", Gauge),
    prop!("speed", "speed_bytes", Gauge),
    prop!("tx_queue_len", "transmit_queue_length", Gauge),
];

/// Index of `speed` in [`PROPS`]: its value is scaled.
const SPEED: usize = 15;

/// The string attributes of `node_network_info`, as its label names.
const INFO: [&str; 5] = ["address", "broadcast", "duplex", "ifalias", "operstate"];

/// Index of `operstate` in [`INFO`]: `node_network_up` is 1 when it is `up`.
const OPERSTATE: usize = 4;

/// One device's attributes; `None` where the attribute could not be read or parsed.
#[derive(Debug)]
struct Iface {
    name: String,
    props: [Option<i64>; PROPS.len()],
    /// [`INFO`]'s values, `""` where unreadable.
    info: [String; INFO.len()],
}

/// One tick's devices, sorted by name.
#[derive(Debug)]
struct NetclassHarvest {
    ifaces: Vec<Iface>,
}

/// node_exporter's `--collector.netclass.ignored-devices` (a Go regexp, unanchored; its
/// default `^$` ignores nothing) and `--collector.netclass.ignore-invalid-speed` (off: a link
/// without carrier reports speed -1, node_exporter 1.x still writes it, as bytes: -125000).
struct NetclassFamily {
    ignored: Option<regex_lite::Regex>,
    ignore_invalid_speed: bool,
}

impl Family for NetclassFamily {
    fn name(&self) -> &'static str {
        "netclass"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let dir = roots.sys("class/net");
        let entries = match crate::read::procfs::entries(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Arc::new(NetclassHarvest { ifaces: Vec::new() }))
            }
            Err(e) => return Err(format!("{}: {e}", dir.display())),
        };
        let mut ifaces = Vec::new();
        for entry in entries.iter() {
            match entry.file_type {
                Some(t) if !t.is_file() => {}
                _ => continue,
            }
            let name = entry.name.to_string_lossy().into_owned();
            if self.ignored.as_ref().is_some_and(|r| r.is_match(&name)) {
                continue;
            }
            // One path per device, each attribute's name put after it in turn (as `join`
            // would, without `pop`'s parse of the path each time).
            let mut path = Attr::new(&dir.join(&entry.name));
            let mut props = [None; PROPS.len()];
            for (slot, prop) in props.iter_mut().zip(&PROPS) {
                *slot = with_attr(path.of(prop.file), parse_int).flatten();
            }
            if self.ignore_invalid_speed && props[SPEED].is_some_and(|s| s < 0) {
                props[SPEED] = None;
            }
            if let Some(speed) = &mut props[SPEED] {
                // Go's int64 arithmetic: wraps, and truncates towards zero.
                *speed = speed.wrapping_mul(1_000_000) / 8;
            }
            let info = INFO.map(|file| read_attr(path.of(file)).unwrap_or_default());
            ifaces.push(Iface { name, props, info });
        }
        crate::sort::sort_by(&mut ifaces, |a, b| a.name.cmp(&b.name));
        Ok(Arc::new(NetclassHarvest { ifaces }))
    }
}

impl Harvest for NetclassHarvest {
    fn render(&self, out: &mut Encoder) {
        for (i, prop) in PROPS.iter().enumerate() {
            let mut f = out.family(prop.metric, prop.kind, prop.help);
            for iface in &self.ifaces {
                if let Some(v) = iface.props[i] {
                    f.sample(&[("device", &iface.name)], v as f64);
                }
            }
        }
        self.render_info(out);
        let mut f = out.family(
            "node_network_up",
            Kind::Gauge,
            "Value is 1 if operstate is 'up', 0 otherwise.",
        );
        for iface in &self.ifaces {
            let up = iface.info[OPERSTATE] == "up";
            f.sample(&[("device", &iface.name)], if up { 1.0 } else { 0.0 });
        }
    }
}

/// node_exporter 1.12's `adminstate` label (since 1.6): `up` when the `flags` attribute has
/// `IFF_UP` (set by `ip link set up`, whatever the carrier), `down` without it, `unknown` when
/// `flags` could not be read.
fn admin_state(flags: Option<i64>) -> &'static str {
    match flags {
        Some(f) if f & i64::from(libc::IFF_UP) != 0 => "up",
        Some(_) => "down",
        None => "unknown",
    }
}

impl NetclassHarvest {
    fn render_info(&self, out: &mut Encoder) {
        let mut f = out.family(
            "node_network_info",
            Kind::Gauge,
            "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
        );
        let flags = PROPS.iter().position(|p| p.file == "flags");
        for iface in &self.ifaces {
            let [address, broadcast, duplex, ifalias, operstate] = &iface.info;
            f.sample(
                &[
                    ("address", address),
                    (
                        "adminstate",
                        admin_state(flags.and_then(|i| iface.props[i])),
                    ),
                    ("broadcast", broadcast),
                    ("device", &iface.name),
                    ("duplex", duplex),
                    ("ifalias", ifalias),
                    ("operstate", operstate),
                ],
                1.0,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::REGISTRATION;

    #[test]
    fn attribute_paths_are_joined_paths() {
        for dir in [
            "/sys/class/net/eth0",
            "/host/sys/class/net/eth0/",
            "rel",
            "",
        ] {
            let mut attr = super::Attr::new(std::path::Path::new(dir));
            for file in ["carrier", "speed", "statistics/rx_nohandler"] {
                let want = std::path::Path::new(dir).join(file);
                assert_eq!(attr.of(file).as_os_str(), want.as_os_str(), "{dir} {file}");
            }
        }
    }
    use crate::collect::family::testing::{run, value};
    use crate::read::procfs::parse_int;

    /// The value of `node_network_<metric>{device="<device>"}`.
    fn prop(text: &str, metric: &str, device: &str) -> Option<f64> {
        value(
            text,
            &format!("node_network_{metric}{{device=\"{device}\"}}"),
        )
    }

    fn series(text: &str, metric: &str) -> usize {
        let start = format!("node_network_{metric}{{");
        text.lines().filter(|l| l.starts_with(&start)).count()
    }

    #[test]
    fn go_integers() {
        for (s, want) in [
            ("0x1003", Some(4099)),
            ("0X1f", Some(31)),
            ("010", Some(8)),
            ("0o17", Some(15)),
            ("0b101", Some(5)),
            ("0", Some(0)),
            ("-1", Some(-1)),
            ("+5", Some(5)),
            ("1500", Some(1500)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("18446744073709551615", None),
            ("", None),
            ("0x", None),
            ("--1", None),
            ("-+1", None),
            ("08", None),
            ("1_000", None),
            ("12 ", None),
            ("abc", None),
        ] {
            assert_eq!(parse_int(s), want, "{s:?}");
        }
    }

    #[test]
    fn vm_devices_as_node_exporter_shows_them() {
        let t = run(&REGISTRATION, "vm");
        assert_eq!(prop(&t, "flags", "eth0"), Some(4099.0));
        assert_eq!(prop(&t, "flags", "ifb0"), Some(130.0));
        assert_eq!(prop(&t, "flags", "lo"), Some(9.0));
        assert_eq!(prop(&t, "mtu_bytes", "eth0"), Some(1400.0));
        assert_eq!(prop(&t, "mtu_bytes", "lo"), Some(65536.0));
        assert_eq!(prop(&t, "iface_id", "ifb1"), Some(3.0));
        assert_eq!(prop(&t, "iface_link", "eth0"), Some(4.0));
        assert_eq!(prop(&t, "address_assign_type", "ifb0"), Some(1.0));
        assert_eq!(prop(&t, "carrier_changes_total", "eth0"), Some(2.0));
        assert_eq!(prop(&t, "carrier_up_changes_total", "eth0"), Some(1.0));
        assert_eq!(prop(&t, "carrier_down_changes_total", "eth0"), Some(1.0));
        assert_eq!(prop(&t, "protocol_type", "lo"), Some(772.0));
        assert_eq!(prop(&t, "transmit_queue_length", "ifb0"), Some(32.0));
        assert_eq!(prop(&t, "name_assign_type", "lo"), Some(2.0));
        // speed -1 (unknown) is shown scaled, as node_exporter shows it.
        assert_eq!(prop(&t, "speed_bytes", "eth0"), Some(-125000.0));
        assert_eq!(prop(&t, "up", "eth0"), Some(1.0));
        assert_eq!(prop(&t, "up", "lo"), Some(0.0));
        // EINVAL on ifb devices: those metrics only are missing.
        assert_eq!(series(&t, "carrier"), 2);
        assert_eq!(series(&t, "dormant"), 2);
        assert_eq!(series(&t, "name_assign_type"), 2);
        assert_eq!(series(&t, "speed_bytes"), 1);
        assert_eq!(series(&t, "device_id"), 4);
        assert_eq!(series(&t, "up"), 4);
        assert_eq!(t.matches("# TYPE ").count(), 19);
        assert_eq!(t.matches(" counter\n").count(), 3);
        let info = |labels: &str| value(&t, &format!("node_network_info{{{labels}}}"));
        assert_eq!(
            info("address=\"02:fc:00:00:00:01\",adminstate=\"up\",broadcast=\"ff:ff:ff:ff:ff:ff\",device=\"eth0\",duplex=\"unknown\",ifalias=\"\",operstate=\"up\""),
            Some(1.0)
        );
        assert_eq!(
            info("address=\"fe:f2:f1:3d:f3:0d\",adminstate=\"down\",broadcast=\"ff:ff:ff:ff:ff:ff\",device=\"ifb0\",duplex=\"\",ifalias=\"\",operstate=\"down\""),
            Some(1.0)
        );
        assert_eq!(
            info("address=\"00:00:00:00:00:00\",adminstate=\"up\",broadcast=\"00:00:00:00:00:00\",device=\"lo\",duplex=\"\",ifalias=\"\",operstate=\"unknown\""),
            Some(1.0)
        );
        assert!(t.contains("# HELP node_network_mtu_bytes Network device property: mtu_bytes\n"));
    }

    #[test]
    fn ignored_devices_and_invalid_speed_flags() {
        use crate::collect::family::{testing::render, Settings};
        let mut settings = Settings::default();
        settings
            .flags
            .take("netclass.ignored-devices", "^wl")
            .unwrap();
        settings
            .flags
            .take("netclass.ignore-invalid-speed", "true")
            .unwrap();
        let t = render(&mut *super::make_family(&settings), "laptop");
        assert_eq!(prop(&t, "speed_bytes", "enp0s31f6"), None);
        assert!(prop(&t, "mtu_bytes", "enp0s31f6").is_some());
        assert!(!t.contains("device=\"wl"), "{t}");
    }

    #[test]
    fn pi_ethernet_and_wifi() {
        let t = run(&REGISTRATION, "pi");
        assert_eq!(prop(&t, "speed_bytes", "eth0"), Some(125_000_000.0));
        assert_eq!(prop(&t, "speed_bytes", "wlan0"), None);
        assert_eq!(prop(&t, "iface_link_mode", "wlan0"), Some(1.0));
        assert_eq!(prop(&t, "carrier_changes_total", "wlan0"), Some(4.0));
        assert_eq!(prop(&t, "name_assign_type", "lo"), None);
        assert_eq!(prop(&t, "up", "wlan0"), Some(1.0));
        assert_eq!(
            value(&t, "node_network_info{address=\"dc:a6:32:12:34:56\",adminstate=\"up\",broadcast=\"ff:ff:ff:ff:ff:ff\",device=\"eth0\",duplex=\"full\",ifalias=\"\",operstate=\"up\"}"),
            Some(1.0)
        );
        assert_eq!(series(&t, "up"), 3);
    }

    #[test]
    fn laptop_bond_and_unplugged_ethernet() {
        let t = run(&REGISTRATION, "laptop");
        assert_eq!(prop(&t, "carrier", "enp0s31f6"), Some(0.0));
        assert_eq!(prop(&t, "up", "enp0s31f6"), Some(0.0));
        assert_eq!(prop(&t, "speed_bytes", "enp0s31f6"), Some(-125000.0));
        assert_eq!(prop(&t, "flags", "enp0s31f6"), Some(0x1803 as f64));
        assert_eq!(prop(&t, "flags", "bond0"), Some(0x1403 as f64));
        assert_eq!(prop(&t, "address_assign_type", "bond0"), Some(2.0));
        assert_eq!(prop(&t, "name_assign_type", "bond0"), Some(3.0));
        assert_eq!(prop(&t, "name_assign_type", "wlp0s20f3"), Some(4.0));
        // The quote in the alias is escaped; bonding_masters (a file) is no device.
        assert_eq!(
            value(&t, "node_network_info{address=\"3c:a9:f4:11:22:33\",adminstate=\"up\",broadcast=\"ff:ff:ff:ff:ff:ff\",device=\"bond0\",duplex=\"unknown\",ifalias=\"uplink: dock ethernet, \\\"wifi\\\" failover\",operstate=\"up\"}"),
            Some(1.0)
        );
        assert!(!t.contains("bonding_masters"));
        assert_eq!(series(&t, "up"), 4);
    }

    #[test]
    fn hostile_attributes_fail_alone() {
        let t = run(&REGISTRATION, "hostile");
        // Unparsable, out of i64, empty, a directory: that metric only is missing.
        for metric in [
            "carrier",
            "carrier_changes_total",
            "carrier_down_changes_total",
            "flags",
            "mtu_bytes",
            "speed_bytes",
        ] {
            assert_eq!(prop(&t, metric, "eth0"), None, "{metric}");
        }
        assert_eq!(prop(&t, "carrier_up_changes_total", "eth0"), Some(-3.0));
        assert_eq!(prop(&t, "name_assign_type", "eth0"), Some(8.0));
        assert_eq!(prop(&t, "net_dev_group", "eth0"), Some(i64::MAX as f64));
        assert_eq!(prop(&t, "up", "eth0"), Some(1.0));
        assert_eq!(prop(&t, "iface_id", "eth0"), Some(2.0));
        // A non-UTF-8 device name is shown lossily; its files are still read.
        let lossy = "x\u{fffd}";
        assert_eq!(prop(&t, "mtu_bytes", lossy), Some(1500.0));
        assert_eq!(prop(&t, "up", lossy), Some(0.0));
        // 99999999999999 Mbit/s wraps in int64 as in Go: 99999999999999 * 10^6 mod 2^64, / 8.
        assert_eq!(
            prop(&t, "speed_bytes", lossy),
            Some(970_784_953_931_405_240_i64 as f64)
        );
        // A device with no attributes: info with empty labels, up 0, nothing else.
        assert_eq!(
            value(&t, "node_network_info{address=\"\",adminstate=\"unknown\",broadcast=\"\",device=\"empty0\",duplex=\"\",ifalias=\"\",operstate=\"\"}"),
            Some(1.0)
        );
        assert_eq!(prop(&t, "up", "empty0"), Some(0.0));
        assert_eq!(t.matches("device=\"empty0\"").count(), 2);
        // ifalias cut at 128 bytes, inside an `é`; a non-UTF-8 address.
        let alias = format!("{}\u{fffd}", "a".repeat(127));
        assert_eq!(
            value(&t, &format!("node_network_info{{address=\"02:00:\u{fffd}:00:00:03\",adminstate=\"unknown\",broadcast=\"\",device=\"long0\",duplex=\"\",ifalias=\"{alias}\",operstate=\"up\"}}")),
            Some(1.0)
        );
        assert_eq!(prop(&t, "speed_bytes", "long0"), Some(-125000.0));
        // bond0, bond1, bond2, empty0, eth0, long0, x\xff; bonding_masters is a file.
        assert_eq!(series(&t, "up"), 7);
    }
}
