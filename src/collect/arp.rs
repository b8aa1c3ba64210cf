//! `arp`: the number of IPv4 neighbour-table entries per device (`node_arp_entries{device}`,
//! as node_exporter counts them) and, by state, `node_arp_states{device,state}`: an added
//! series, with the names and meaning of node_exporter's pull request 3191 ("Add neighbor
//! state", not in a release: node_exporter 1.12 exports `node_arp_entries` only).
//!
//! By default (`--collector.arp.netlink`, node_exporter's since 1.7) the table comes from the
//! kernel over rtnetlink ([`crate::read::neighbours`]): every `AF_INET` entry but the `NUD_NOARP`
//! ones, which `/proc/net/arp` leaves out too, by the interface's name (an entry whose
//! interface is gone is left out), and by state with that pull request's names (`incomplete`,
//! `reachable`, `stale`, `delay`, `probe`, `failed`, `permanent`; `NUD_NONE` is `""` there, and
//! here). The two ways differ where the kernel's file does: `/proc/net/arp` also leaves out
//! `NUD_NONE` entries and lists proxy entries (`ip neigh add proxy`), the dump the opposite.
//! Where no netlink socket may be opened (a systemd unit's `RestrictAddressFamilies=` without
//! `AF_NETLINK`, a container's seccomp policy) each tick reads `/proc/net/arp` as below
//! instead, and the log says why once, at info.
//!
//! `--no-collector.arp.netlink` reads `/proc/net/arp` below `--path.procfs` instead, as
//! node_exporter 1.5 did, and has no states:
//! a header line of 9 words, then one line of 6 columns per entry: `IP HWtype Flags HWaddress
//! Mask Device`. Incomplete entries (flags `0x0`, still resolving) are counted too, as there.
//! The table can hold many thousands of entries on a large L2 network
//! (`net.ipv4.neigh.default.gc_thresh3`), so it is read line by line; a line of another width
//! is skipped, and the number of distinct devices is capped.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use super::udp_queues::fields;
use crate::exposition::{Encoder, Kind};
use crate::read::neighbours::{self, DumpError, Neighbour, NUD_NOARP};
use crate::read::procfs::for_each_line;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Registers the `arp` family.
pub const REGISTRATION: Registration = Registration {
    name: "arp",
    default_enabled: true,
    make: make_family,
};

fn make_family(s: &Settings) -> Box<dyn Family> {
    Box::new(ArpFamily::new(s))
}

/// How the table is dumped over netlink (the tests put in one that fails).
type Dump = fn(&mut Vec<u8>, &mut dyn FnMut(Neighbour)) -> Result<(), DumpError>;

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
    /// [`neighbours::dump_ipv4`].
    dump: Dump,
    /// Whether a tick has read `/proc/net/arp` because no netlink socket may be opened (said
    /// once, at info: a sandbox that forbids it forbids it every tick).
    fell_back: bool,
}

impl Family for ArpFamily {
    fn name(&self) -> &'static str {
        "arp"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        if self.netlink {
            match self.harvest_netlink() {
                Err(DumpError::Unavailable(e)) => {
                    if let Some(notice) = self.fall_back(&e) {
                        log::info!("{notice}");
                    }
                }
                got => return got.map_err(|e| e.to_string()),
            }
        }
        self.harvest_file(roots)
    }
}

impl ArpFamily {
    fn new(s: &Settings) -> ArpFamily {
        ArpFamily {
            filter: s.flags.filter("arp.device").ok().flatten(),
            netlink: s.flags.switch_or("arp.netlink", true),
            buf: Vec::new(),
            dump: neighbours::dump_ipv4,
            fell_back: false,
        }
    }

    /// Notes that no netlink socket may be opened (`e` says why): what to log the first time,
    /// `None` after.
    fn fall_back(&mut self, e: &std::io::Error) -> Option<String> {
        (!std::mem::replace(&mut self.fell_back, true)).then(|| {
            format!(
                "arp: no netlink socket may be opened ({e}: a systemd unit's RestrictAddressFamilies= without AF_NETLINK, or a seccomp policy?), so /proc/net/arp is read instead, without node_arp_states"
            )
        })
    }

    /// `/proc/net/arp` below `--path.procfs`, entries by device (no states).
    fn harvest_file(&self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
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

    /// The kernel's table over rtnetlink, counted as node_exporter counts it (and by state as
    /// node_exporter's pull request 3191 does).
    fn harvest_netlink(&mut self) -> Result<Arc<dyn Harvest>, DumpError> {
        let mut by_index = BTreeMap::<(u32, u16), u64>::new();
        (self.dump)(&mut self.buf, &mut |n: Neighbour| {
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
    use crate::collect::family::testing::{fixture, render, value};
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

    /// The default reads the running kernel, not the fixture tree: what it shows is what a
    /// dump of this host's table shows (whatever that holds: a Pi on Wi-Fi has `wlan0`
    /// entries of its own). The table may change between two dumps, so the comparison is
    /// made once two dumps around the family's agree.
    #[test]
    fn netlink_is_the_default_and_reads_the_kernel() {
        let mut fam = ArpFamily::new(&Settings::default());
        assert!(fam.netlink);
        let direct = || {
            let mut by_index = BTreeMap::<(u32, u16), u64>::new();
            neighbours::dump_ipv4(&mut Vec::new(), &mut |n| {
                if n.family == libc::AF_INET as u8 && n.state & NUD_NOARP == 0 {
                    *by_index.entry((n.ifindex, n.state)).or_default() += 1;
                }
            })
            .unwrap();
            let mut out = Encoder::default();
            count_by_name(by_index, &None, &mut neighbours::interface_name).render(&mut out);
            out.finish()
        };
        for _ in 0..20 {
            let before = direct();
            let t = render(&mut fam, "pi");
            if before == direct() {
                assert_eq!(t, before);
                assert!(!fam.fell_back);
                return;
            }
        }
        panic!("the host's ARP table changed between every two dumps");
    }

    /// Where no netlink socket may be opened (an older unit's `RestrictAddressFamilies=`, a
    /// container's seccomp policy), each tick reads `/proc/net/arp` instead (so
    /// `node_arp_entries` stays), and the reason is told once. Other netlink errors fail the
    /// tick as before.
    #[test]
    fn a_forbidden_netlink_socket_falls_back_to_proc_net_arp() {
        fn refused(_: &mut Vec<u8>, _: &mut dyn FnMut(Neighbour)) -> Result<(), DumpError> {
            Err(neighbours::socket_error(std::io::Error::from_raw_os_error(
                libc::EAFNOSUPPORT,
            )))
        }
        fn failed(_: &mut Vec<u8>, _: &mut dyn FnMut(Neighbour)) -> Result<(), DumpError> {
            Err(DumpError::Failed("netlink answer: timed out".into()))
        }
        let mut fam = ArpFamily::new(&Settings::default());
        fam.dump = refused;
        for _ in 0..2 {
            let t = render(&mut fam, "pi");
            assert_eq!(entries(&t, "eth0"), Some(3.0), "{t}");
            assert_eq!(entries(&t, "wlan0"), Some(2.0), "{t}");
            assert!(!t.contains("node_arp_states"), "{t}");
        }
        assert!(fam.fell_back);
        let e = std::io::Error::from_raw_os_error(libc::EPERM);
        assert_eq!(fam.fall_back(&e), None, "told once");
        let mut fresh = ArpFamily::new(&Settings::default());
        let notice = fresh.fall_back(&e).unwrap();
        assert!(
            notice.contains("Operation not permitted") && notice.contains("AF_NETLINK"),
            "{notice}"
        );
        fam.dump = failed;
        let err = fam.harvest(&fixture("pi")).map(|_| ()).unwrap_err();
        assert_eq!(err, "netlink answer: timed out");
    }

    /// With `--no-collector.arp.netlink`, a FIFO or a link to `/dev/zero` as
    /// `/proc/net/arp` fails the reading instead of hanging the sampler.
    #[test]
    fn a_planted_proc_net_arp_fails_without_hanging() {
        use crate::collect::family::testing::returns;
        use crate::testing::{planted_tree, Planted};
        for planted in [Planted::Fifo, Planted::DevZero] {
            let dir = planted_tree("arp", planted, &["proc/net/arp"]);
            let roots = Roots::under(&dir);
            let err = returns({
                let roots = roots.clone();
                move || {
                    let mut s = Settings::default();
                    s.flags.take("arp.netlink", "false").unwrap();
                    let mut fam = ArpFamily::new(&s);
                    fam.harvest(&roots).map(|_| ()).unwrap_err()
                }
            });
            assert!(err.contains("not a regular file"), "{planted:?}: {err}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// The shipped unit lets the default `arp` reading (and `getifaddrs`, which glibc answers
    /// over netlink) open its socket: `RestrictAddressFamilies=` allows `AF_NETLINK`.
    #[test]
    fn the_systemd_unit_allows_netlink() {
        let unit = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/psmonitor.service"),
        )
        .unwrap();
        let allowed: Vec<&str> = unit
            .lines()
            .filter_map(|l| l.trim().strip_prefix("RestrictAddressFamilies="))
            .collect();
        assert_eq!(allowed.len(), 1, "{allowed:?}");
        let families: Vec<&str> = allowed[0].split_whitespace().collect();
        assert!(!families[0].starts_with('~'), "an allow list: {families:?}");
        for want in ["AF_NETLINK", "AF_UNIX", "AF_INET", "AF_INET6"] {
            assert!(families.contains(&want), "{want} in {families:?}");
        }
        assert!(ArpFamily::new(&Settings::default()).netlink);
    }
}
