//! `arp`: the number of neighbour-table entries per device from `/proc/net/arp`
//! (`node_arp_entries{device}`), as node_exporter 1.5.0 counts them.
//!
//! A header line of 9 words, then one line of 6 columns per entry: `IP HWtype Flags HWaddress
//! Mask Device`. Incomplete entries (flags `0x0`, still resolving) are counted too, as there.
//! The table can hold many thousands of entries on a large L2 network
//! (`net.ipv4.neigh.default.gc_thresh3`), so it is read line by line; a line of another width
//! is skipped, and the number of distinct devices is capped.

use super::family::{Family, Harvest, Registration, Roots, Settings};
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
    Box::new(ArpFamily(s.flags.filter("arp.device").ok().flatten()))
}

/// At most this many devices are counted (a host has far fewer; a hostile file, any number).
const MAX_DEVICES: usize = 4096;

/// One tick's entry counts by device.
#[derive(Debug)]
struct ArpHarvest {
    devices: BTreeMap<String, u64>,
}

/// `--collector.arp.device-include/-exclude`; none by default.
struct ArpFamily(Option<super::flags::Filter>);

impl Family for ArpFamily {
    fn name(&self) -> &'static str {
        "arp"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let path = roots.proc("net/arp");
        let mut devices = BTreeMap::<String, u64>::new();
        let filter = &self.0;
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
        Ok(Arc::new(ArpHarvest { devices }))
    }
}

impl Harvest for ArpHarvest {
    fn render(&self, out: &mut Encoder) {
        let mut f = out.family("node_arp_entries", Kind::Gauge, "ARP entries by device");
        for (device, &n) in &self.devices {
            f.sample(&[("device", device)], n as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::REGISTRATION;
    use crate::collect::family::testing::{run, value};

    fn entries(text: &str, device: &str) -> Option<f64> {
        value(text, &format!("node_arp_entries{{device=\"{device}\"}}"))
    }

    #[test]
    fn entries_per_device() {
        let t = run(&REGISTRATION, "vm");
        assert_eq!(entries(&t, "eth0"), Some(1.0));
        assert!(t.contains(
            "# HELP node_arp_entries ARP entries by device\n# TYPE node_arp_entries gauge\n"
        ));
        // Incomplete entries (flags 0x0) count, as in node_exporter.
        let t = run(&REGISTRATION, "pi");
        assert_eq!(entries(&t, "eth0"), Some(3.0));
        assert_eq!(entries(&t, "wlan0"), Some(2.0));
        let t = run(&REGISTRATION, "laptop");
        assert_eq!(entries(&t, "bond0"), Some(2.0));
        assert_eq!(t.matches("node_arp_entries{").count(), 1);
    }

    #[test]
    fn hostile_lines_of_other_widths_are_skipped() {
        let t = run(&REGISTRATION, "hostile");
        // One good line, one with 7 columns, one with 5, and a last one without newline.
        assert_eq!(entries(&t, "eth0"), Some(2.0));
        assert_eq!(entries(&t, "x\u{fffd}"), Some(1.0));
        assert_eq!(t.matches("node_arp_entries{").count(), 2);
    }
}
