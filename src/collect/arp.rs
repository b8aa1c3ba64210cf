//! `arp`: the number of IPv4 neighbour-table entries per device (`node_arp_entries{device}`)
//! and, by state, `node_arp_states{device,state}`, as node_exporter 1.12 counts them.
//!
//! By default (`--collector.arp.netlink`, node_exporter's since 1.7) the table comes from the
//! kernel over rtnetlink ([`super::neighbours`]): every `AF_INET` entry but the `NUD_NOARP`
//! ones, which `/proc/net/arp` leaves out too, by the interface's name (an entry whose
//! interface is gone is left out), and by state with node_exporter's names (`incomplete`,
//! `reachable`, `stale`, `delay`, `probe`, `failed`, `permanent`; `NUD_NONE` is `""` there, and
//! here). The two ways differ where the kernel's file does: `/proc/net/arp` also leaves out
//! `NUD_NONE` entries and lists proxy entries (`ip neigh add proxy`), the dump the opposite.
//!
//! `--no-collector.arp.netlink` reads `/proc/net/arp` below `--path.procfs` instead, as
//! node_exporter 1.5 did, and has no states:
//! a header line of 9 words, then one line of 6 columns per entry: `IP HWtype Flags HWaddress
//! Mask Device`. Incomplete entries (flags `0x0`, still resolving) are counted too, as there.
//! The table can hold many thousands of entries on a large L2 network
//! (`net.ipv4.neigh.default.gc_thresh3`), so it is read line by line; a line of another width
//! is skipped, and the number of distinct devices is capped.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use super::neighbours::{self, Neighbour, NUD_NOARP};
use super::udp_queues::{fields, for_each_line};
use crate::exposition::{Encoder, Kind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Registers the `arp` family.
pub const REGISTRATION: Registration = Registration {
    name: "arp",
    default_enabled: true,
    make: make_family,
};

fn make_family(s: &Settings) -> Box<dyn Family> {
    Box::new(ArpFamily {
        filter: s.flags.filter("arp.device").ok().flatten(),
        netlink: s.flags.switch_or("arp.netlink", true),
        buf: Vec::new(),
    })
}

/// At most this many devices are counted (a host has far fewer; a hostile file, any number).
const MAX_DEVICES: usize = 4096;

/// One tick's entry counts by device and, read over netlink, by device and state.
#[derive(Debug)]
struct ArpHarvest {
    devices: BTreeMap<String, u64>,
    states: Option<BTreeMap<(String, &'static str), u64>>,
}

struct ArpFamily {
    /// `--collector.arp.device-include/-exclude`; none by default.
    filter: Option<super::flags::Filter>,
    /// `--[no-]collector.arp.netlink`; on by default.
    netlink: bool,
    /// The netlink receive buffer, kept between ticks.
    buf: Vec<u8>,
}

impl Family for ArpFamily {
    fn name(&self) -> &'static str {
        "arp"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        if self.netlink {
            return self.harvest_netlink();
        }
        let path = roots.proc("net/arp");
        let mut devices = BTreeMap::<String, u64>::new();
        let filter = &self.filter;
        let read = for_each_line(&path, |line| {
            let cols: Vec<&[u8]> = fields(line).take(7).collect();
            if cols.len() != 6 {
                return;
            }
            let device = String::from_utf8_lossy(cols[5]);
            if filter.as_ref().is_some_and(|f| f.ignored(&device)) {
                return;
            }
            if let Some(n) = devices.get_mut(device.as_ref()) {
                *n += 1;
            } else if devices.len() < MAX_DEVICES {
                devices.insert(device.into_owned(), 1);
            }
        });
        match read {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
        Ok(Arc::new(ArpHarvest {
            devices,
            states: None,
        }))
    }
}

impl ArpFamily {
    /// The kernel's table over rtnetlink, counted as node_exporter 1.12 counts it.
    fn harvest_netlink(&mut self) -> Result<Arc<dyn Harvest>, String> {
        let mut by_index = BTreeMap::<(u32, u16), u64>::new();
        neighbours::dump_ipv4(&mut self.buf, &mut |n: Neighbour| {
            if n.family != libc::AF_INET as u8 || n.state & NUD_NOARP != 0 {
                return;
            }
            // Bounded as the devices below: a table has few interfaces and eight states.
            if let Some(c) = by_index.get_mut(&(n.ifindex, n.state)) {
                *c += 1;
            } else if by_index.len() < MAX_DEVICES * 8 {
                by_index.insert((n.ifindex, n.state), 1);
            }
        })?;
        Ok(Arc::new(count_by_name(by_index, &self.filter, &mut |i| {
            neighbours::interface_name(i)
        })))
    }
}

/// Entry counts by (interface index, state) into counts by device name and by device and
/// state name, filtered by device; `name` resolves an index (`None`: the interface is gone).
fn count_by_name(
    by_index: BTreeMap<(u32, u16), u64>,
    filter: &Option<super::flags::Filter>,
    name: &mut dyn FnMut(u32) -> Option<String>,
) -> ArpHarvest {
    let mut names = BTreeMap::<u32, Option<String>>::new();
    let mut devices = BTreeMap::<String, u64>::new();
    let mut states = BTreeMap::<(String, &'static str), u64>::new();
    for ((index, state), n) in by_index {
        let device = names.entry(index).or_insert_with(|| name(index));
        let Some(device) = device else { continue };
        if filter.as_ref().is_some_and(|f| f.ignored(device)) {
            continue;
        }
        *devices.entry(device.clone()).or_default() += n;
        *states
            .entry((device.clone(), neighbours::state_name(state)))
            .or_default() += n;
    }
    ArpHarvest {
        devices,
        states: Some(states),
    }
}

impl Harvest for ArpHarvest {
    fn render(&self, out: &mut Encoder) {
        let mut f = out.family("node_arp_entries", Kind::Gauge, "ARP entries by device");
        for (device, &n) in &self.devices {
            f.sample(&[("device", device)], n as f64);
        }
        let mut f = out.family("node_arp_states", Kind::Gauge, "ARP states by device");
        for ((device, state), &n) in self.states.iter().flatten() {
            f.sample(&[("device", device), ("state", state)], n as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{render, value};
    use crate::exposition::Encoder;

    /// The family with `--no-collector.arp.netlink` (reads the fixture's `/proc/net/arp`).
    fn run(host: &str) -> String {
        let mut s = Settings::default();
        s.flags.take("arp.netlink", "false").unwrap();
        render(&mut *(REGISTRATION.make)(&s), host)
    }

    fn entries(text: &str, device: &str) -> Option<f64> {
        value(text, &format!("node_arp_entries{{device=\"{device}\"}}"))
    }

    #[test]
    fn entries_per_device() {
        let t = run("vm");
        assert_eq!(entries(&t, "eth0"), Some(1.0));
        assert!(t.contains(
            "# HELP node_arp_entries ARP entries by device\n# TYPE node_arp_entries gauge\n"
        ));
        // No states from /proc/net/arp, as node_exporter.
        assert!(!t.contains("node_arp_states"));
        // Incomplete entries (flags 0x0) count, as in node_exporter.
        let t = run("pi");
        assert_eq!(entries(&t, "eth0"), Some(3.0));
        assert_eq!(entries(&t, "wlan0"), Some(2.0));
        let t = run("laptop");
        assert_eq!(entries(&t, "bond0"), Some(2.0));
        assert_eq!(t.matches("node_arp_entries{").count(), 1);
    }

    #[test]
    fn hostile_lines_of_other_widths_are_skipped() {
        let t = run("hostile");
        // One good line, one with 7 columns, one with 5, and a last one without newline.
        assert_eq!(entries(&t, "eth0"), Some(2.0));
        assert_eq!(entries(&t, "x\u{fffd}"), Some(1.0));
        assert_eq!(t.matches("node_arp_entries{").count(), 2);
    }

    /// Counts by (index, state) become node_exporter's series: by name, a vanished interface
    /// left out, the device filter applied to both families, `NUD_NONE` as `state=""`.
    #[test]
    fn netlink_counts_by_device_and_state() {
        let by_index: BTreeMap<(u32, u16), u64> = [
            ((2, 0x02), 3),
            ((2, 0x04), 1),
            ((2, 0x00), 1),
            ((3, 0x80), 2),
            ((4, 0x20), 1), // a vanished interface
            ((5, 0x01), 1), // filtered out
        ]
        .into();
        let mut asked = Vec::new();
        let mut name = |i: u32| {
            asked.push(i);
            match i {
                2 => Some("eth0".to_owned()),
                3 => Some("wlan0".to_owned()),
                5 => Some("veth9".to_owned()),
                _ => None,
            }
        };
        let mut s = Settings::default();
        s.flags.take("arp.device-exclude", "^veth").unwrap();
        let filter = s.flags.filter("arp.device").unwrap();
        let h = count_by_name(by_index, &filter, &mut name);
        assert_eq!(asked, [2, 3, 4, 5], "each index resolved once");
        let mut out = Encoder::default();
        h.render(&mut out);
        assert_eq!(
            out.finish(),
            "# HELP node_arp_entries ARP entries by device
# TYPE node_arp_entries gauge
node_arp_entries{device=\"eth0\"} 5
node_arp_entries{device=\"wlan0\"} 2
# HELP node_arp_states ARP states by device
# TYPE node_arp_states gauge
node_arp_states{device=\"eth0\",state=\"\"} 1
node_arp_states{device=\"eth0\",state=\"reachable\"} 3
node_arp_states{device=\"eth0\",state=\"stale\"} 1
node_arp_states{device=\"wlan0\",state=\"permanent\"} 2
"
        );
    }

    /// The default reads the running kernel, not the fixture tree (which has entries).
    #[test]
    fn netlink_is_the_default_and_reads_the_kernel() {
        let mut fam = (REGISTRATION.make)(&Settings::default());
        let t = render(&mut *fam, "pi");
        assert_eq!(entries(&t, "wlan0"), None, "{t}");
    }
}
