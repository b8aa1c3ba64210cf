//! Interface counters from `/proc/net/dev`, and rates from the deltas between two ticks.
//!
//! The original slept 5 seconds on the request path to compute rates; the sampler already has
//! the previous reading, so a rate costs nothing extra.

use super::counter;
use crate::model::{mib, round, InterfaceStats, Rates};
use crate::read::procfs::{read_into, read_u64};
use std::collections::BTreeMap;

/// Counters for one interface, in `/proc/net/dev` order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errs: u64,
    pub rx_drop: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errs: u64,
    pub tx_drop: u64,
}

impl Counters {
    pub fn to_wire(self) -> InterfaceStats {
        InterfaceStats {
            mb_sent: mib(self.tx_bytes),
            mb_received: mib(self.rx_bytes),
            pk_sent: self.tx_packets,
            pk_received: self.rx_packets,
            error_in: self.rx_errs,
            error_out: self.tx_errs,
            dropout: self.tx_drop,
            dropin: self.rx_drop,
            bytes_sent: self.tx_bytes,
            bytes_received: self.rx_bytes,
        }
    }
}

/// The JSON model's view of `/proc/net/dev`: every device line, in file order (a counter that
/// is not a number counts as 0).
pub fn view(dev: &crate::read::netdev::NetDev) -> Vec<(String, Counters)> {
    dev.0
        .iter()
        .map(|d| {
            let v = &d.counters;
            (
                d.name.clone(),
                Counters {
                    rx_bytes: v[0],
                    rx_packets: v[1],
                    rx_errs: v[2],
                    rx_drop: v[3],
                    tx_bytes: v[8],
                    tx_packets: v[9],
                    tx_errs: v[10],
                    tx_drop: v[11],
                },
            )
        })
        .collect()
}

/// Keeps the previous counters to compute rates.
#[derive(Default)]
pub struct NetworkCollector {
    prev: BTreeMap<String, Counters>,
    buf: Vec<u8>,
}

/// One reading: counters in file order plus MB/s per interface.
#[derive(Debug, Clone, Default)]
pub struct NetworkSample {
    pub interfaces: Vec<(String, Counters)>,
    pub rates: BTreeMap<String, Rates>,
    /// Bytes received and sent per interface over the interval, exact (the Glances API's
    /// `bytes_recv`/`bytes_sent` and rates; `rates` is rounded MB/s).
    pub moved: BTreeMap<String, (u64, u64)>,
    /// Per interface: up (`operstate`), and link speed in Mbit/s where the driver says.
    pub links: BTreeMap<String, Link>,
}

/// An interface's link as `/sys/class/net/IF` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Link {
    pub up: bool,
    /// Mbit/s; 0 where unknown (virtual interfaces, loopback, a link that is down).
    pub speed_mbps: u64,
    /// A physical device (`device` below its sysfs directory): only its speed caps a rate.
    pub physical: bool,
    /// Listed by Glances with its default configuration: administratively up (`IFF_UP` in
    /// `flags`, psutil's `isup`), with an IPv4 or IPv6 address, and neither `lo` nor
    /// `docker*` (its `hide=docker.*,lo`, `hide_no_up`, `hide_no_ip`).
    pub glances: bool,
}

/// Reads `operstate`, `speed` and `flags` of `name` (loopback's operstate is `unknown`, yet
/// it is up); `addressed` are the interfaces that have an address.
fn link(
    roots: &super::family::Roots,
    name: &str,
    addressed: &std::collections::HashSet<String>,
    buf: &mut Vec<u8>,
) -> Link {
    let dir = roots.sys(&format!("class/net/{name}"));
    let up = read_into(dir.join("operstate"), buf)
        .map(|s| matches!(s.trim(), "up" | "unknown"))
        .unwrap_or(false);
    let flags = read_into(dir.join("flags"), buf)
        .ok()
        .and_then(|t| u64::from_str_radix(t.trim().trim_start_matches("0x"), 16).ok())
        .unwrap_or(0);
    let hidden = name == "lo" || name.starts_with("docker");
    Link {
        up,
        speed_mbps: read_u64(dir.join("speed"), buf).unwrap_or(0),
        physical: dir.join("device").exists(),
        glances: flags & 1 == 1 && addressed.contains(name) && !hidden,
    }
}

/// The interfaces that have an IPv4 or IPv6 address (this tick's `getifaddrs(3)`).
pub fn addressed() -> std::collections::HashSet<String> {
    crate::read::ifaddrs::read()
        .iter()
        .map(|a| a.device.clone())
        .collect()
}

impl NetworkSample {
    /// Total MB/s over all interfaces but loopback, for the dashboard and history.
    pub fn total_rate(&self) -> Rates {
        self.rates
            .iter()
            .filter(|(name, _)| name.as_str() != "lo")
            .fold(Rates::default(), |acc, (_, r)| Rates {
                rx: acc.rx + r.rx,
                tx: acc.tx + r.tx,
            })
    }
}

impl NetworkCollector {
    /// Reads `/proc/net/dev`; `elapsed_secs` is the time since the previous reading.
    /// A counter that went backwards or leapt past what the link can carry is a reset
    /// ([`super::counter`]): rate 0 for that tick, not a huge number.
    pub fn sample(&mut self, roots: &super::family::Roots, elapsed_secs: f64) -> NetworkSample {
        let interfaces = crate::read::netdev::read(&roots.proc("net/dev"))
            .exact()
            .map(view)
            .unwrap_or_default();
        let mut rates = BTreeMap::new();
        let mut moved = BTreeMap::new();
        let mut links = BTreeMap::new();
        let addressed = addressed();
        for (name, now) in &interfaces {
            let l = link(roots, name, &addressed, &mut self.buf);
            links.insert(name.clone(), l);
            let cap = counter::link_cap(l.speed_mbps, l.physical);
            let (rx, tx) = self.prev.get(name).map_or((0, 0), |b| {
                (
                    counter::delta(b.rx_bytes, now.rx_bytes, elapsed_secs, cap),
                    counter::delta(b.tx_bytes, now.tx_bytes, elapsed_secs, cap),
                )
            });
            moved.insert(name.clone(), (rx, tx));
            let per_sec = |d: u64| match elapsed_secs > 0.0 {
                true => round(d as f64 / elapsed_secs / (1 << 20) as f64, 3),
                false => 0.0,
            };
            rates.insert(
                name.clone(),
                Rates {
                    rx: per_sec(rx),
                    tx: per_sec(tx),
                },
            );
        }
        // Inserted, not collected: `collect` into a map sorts, one more copy of the sort.
        self.prev.clear();
        for (name, c) in &interfaces {
            self.prev.insert(name.clone(), *c);
        }
        NetworkSample {
            interfaces,
            rates,
            moved,
            links,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::Tree;

    /// Writes the tree's `/proc/net/dev`: a line per `(name, rx bytes, tx bytes)`.
    fn dev(tree: &Tree, rows: &[(&str, u64, u64)]) {
        let mut text = String::from("h1\nh2\n");
        for (name, rx, tx) in rows {
            text.push_str(&format!(
                "{name:>6}: {rx} 1 0 0 0 0 0 0 {tx} 1 0 0 0 0 0 0\n"
            ));
        }
        tree.write("proc/net/dev", &text);
    }

    /// The JSON model's view of a `/proc/net/dev` text.
    pub(super) fn parse(text: &str) -> Vec<(String, Counters)> {
        view(&crate::read::netdev::parse(text))
    }

    const DEV: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1048576     100    0    0    0     0          0         0  1048576     100    0    0    0     0       0          0
  eth0: 83886080   2000    1    2    0     0          0         0 12582912    1000    3    4    0     0       0          0
";

    #[test]
    fn parses_counters() {
        let v = parse(DEV);
        assert_eq!(v.len(), 2);
        let (name, c) = &v[1];
        assert_eq!(name, "eth0");
        assert_eq!(
            (c.rx_packets, c.tx_packets, c.rx_errs, c.tx_drop),
            (2000, 1000, 1, 4)
        );
        let w = c.to_wire();
        assert_eq!((w.mb_received, w.mb_sent), (80.0, 12.0));
    }

    #[test]
    fn short_or_garbage_lines_are_skipped() {
        assert!(parse("eth0: 1 2 3\nfoo\n:\n").is_empty());
    }

    /// Feeds the collector `eth0` byte counters, one per tick of 1 s, from a tree under the
    /// temp directory; returns (rx MB/s, rx bytes moved) per tick.
    fn rates_of(counters: &[u64]) -> Vec<(f64, u64)> {
        static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("psmonitor-net-{}-{run}", std::process::id()));
        std::fs::create_dir_all(dir.join("proc/net")).unwrap();
        let roots = crate::collect::family::Roots::under(&dir);
        let mut c = NetworkCollector::default();
        let out = counters
            .iter()
            .map(|n| {
                let dev = format!("h1\nh2\n  eth0: {n} 1 0 0 0 0 0 0 {n} 1 0 0 0 0 0 0\n");
                std::fs::write(dir.join("proc/net/dev"), dev).unwrap();
                let s = c.sample(&roots, 1.0);
                (s.rates["eth0"].rx, s.moved["eth0"].0)
            })
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        out
    }

    fn pair(r: &Rates) -> (f64, f64) {
        (r.rx, r.tx)
    }

    /// Rates are per second of the interval actually elapsed, none when no time passed; the
    /// dashboard's total is the sum of every interface but loopback.
    #[test]
    fn rates_are_per_second_and_the_total_leaves_out_loopback() {
        let mib = 1u64 << 20;
        let tree = Tree::new("net-total");
        dev(&tree, &[("lo", 0, 0), ("eth0", 0, 0), ("wlan0", 0, 0)]);
        let mut c = NetworkCollector::default();
        c.sample(&tree.roots(), 1.0);
        dev(
            &tree,
            &[
                ("lo", 50 * mib, 50 * mib),
                ("eth0", 4 * mib, 2 * mib),
                ("wlan0", 2 * mib, 6 * mib),
            ],
        );
        let s = c.sample(&tree.roots(), 2.0);
        assert_eq!(pair(&s.rates["eth0"]), (2.0, 1.0));
        assert_eq!(s.moved["eth0"], (4 * mib, 2 * mib));
        assert_eq!(pair(&s.total_rate()), (3.0, 4.0));
        assert_eq!(pair(&NetworkSample::default().total_rate()), (0.0, 0.0));
        // No time passed: no rate (not NaN), whatever moved.
        dev(
            &tree,
            &[
                ("lo", 60 * mib, 60 * mib),
                ("eth0", 5 * mib, 3 * mib),
                ("wlan0", 2 * mib, 6 * mib),
            ],
        );
        let s = c.sample(&tree.roots(), 0.0);
        assert_eq!(pair(&s.rates["eth0"]), (0.0, 0.0));
        assert_eq!(pair(&s.total_rate()), (0.0, 0.0));
    }

    /// An interface's link from sysfs: up (`operstate` up, or loopback's `unknown`), speed,
    /// physical (a `device` link), and listed by Glances only when `IFF_UP`, addressed, and
    /// neither `lo` nor `docker*`.
    #[test]
    fn links_read_operstate_speed_device_and_flags() {
        let tree = Tree::new("net-link");
        let sys = |name: &str, state: &str, speed: &str, flags: &str, device: bool| {
            tree.write(&format!("sys/class/net/{name}/operstate"), state);
            tree.write(&format!("sys/class/net/{name}/speed"), speed);
            tree.write(&format!("sys/class/net/{name}/flags"), flags);
            if device {
                std::fs::create_dir_all(tree.0.join(format!("sys/class/net/{name}/device")))
                    .unwrap();
            }
        };
        sys("eth0", "up\n", "1000\n", "0x1003\n", true);
        sys("eth1", "down\n", "-1\n", "0x1002\n", true);
        sys("lo", "unknown\n", "", "0x9\n", false);
        sys("docker0", "up\n", "10000\n", "0x1003\n", false);
        sys("veth1", "dormant\n", "10000\n", "0x1003\n", false);
        let addressed: std::collections::HashSet<String> = ["eth0", "eth1", "lo", "docker0"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let mut buf = Vec::new();
        let mut of = |name: &str| link(&tree.roots(), name, &addressed, &mut buf);
        let l = |up, speed_mbps, physical, glances| Link {
            up,
            speed_mbps,
            physical,
            glances,
        };
        assert_eq!(of("eth0"), l(true, 1000, true, true));
        assert_eq!(of("eth1"), l(false, 0, true, false));
        assert_eq!(of("lo"), l(true, 0, false, false));
        assert_eq!(of("docker0"), l(true, 10_000, false, false));
        // Up in its flags, but no address: not Glances'; dormant: not up.
        assert_eq!(of("veth1"), l(false, 10_000, false, false));
        assert_eq!(of("gone"), Link::default());
    }

    /// The most any interface moves, in MiB/s: a rate above it is an artefact, not traffic.
    const PLAUSIBLE_MIB_S: f64 = super::super::counter::MAX_BYTES_PER_SEC / (1 << 20) as f64;

    #[test]
    fn rates_follow_the_counters() {
        let mib = 1u64 << 20;
        let r = rates_of(&[0, mib, 3 * mib, 3 * mib]);
        assert_eq!(r, vec![(0.0, 0), (1.0, mib), (2.0, 2 * mib), (0.0, 0)]);
    }

    /// Counters that go backwards (an interface re-created, a driver reset), wrap (32-bit
    /// counters of old drivers, a 64-bit counter at its end) or leap never give a negative
    /// rate or a spike; and the tick after, rates are counted from the new value again.
    #[test]
    fn resets_and_wraps_never_give_negative_or_leap_rates() {
        let mib = 1u64 << 20;
        for seq in [
            vec![0, 900 * mib, 1000, 1000 + mib],
            vec![u64::MAX - 9 * mib, u64::MAX - 10, 5, 5 + mib],
            vec![u32::MAX as u64 - mib, u32::MAX as u64 - 100, 400, 400 + mib],
            vec![mib, 5 * mib, 0, mib],
            // A leap: a petabyte in a second is a reset, not traffic.
            vec![0, 1 << 50, (1 << 50) + mib, (1 << 50) + 2 * mib],
        ] {
            let r = rates_of(&seq);
            for (i, (rate, moved)) in r.iter().enumerate() {
                assert!(*rate >= 0.0, "{seq:?} tick {i}: {rate}");
                assert!(*rate <= PLAUSIBLE_MIB_S, "{seq:?} tick {i}: {rate} MB/s");
                assert!(
                    (*moved as f64) <= PLAUSIBLE_MIB_S * mib as f64,
                    "{seq:?} tick {i}: {moved} B"
                );
            }
            // The last tick moved one MiB after the reset or wrap.
            assert_eq!(r[3], (1.0, mib), "{seq:?}");
        }
    }

    mod props {
        //! Properties of the `/proc/net/dev` parser.
        use super::super::*;
        use super::parse;
        use proptest::collection::vec;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(crate::testing::cases(128))]

            /// Any text parses without panicking; every line it keeps had 16 numbers.
            #[test]
            fn any_text_parses(bytes in vec(any::<u8>(), 0..400)) {
                let text = String::from_utf8_lossy(&bytes);
                for (name, _) in parse(&text) {
                    prop_assert!(!name.contains(':'));
                }
            }

            /// Generated interfaces, under the two header lines, parse back in file order
            /// with their counters, whatever the column padding.
            #[test]
            fn generated_dev_round_trips(
                ifaces in vec(("[a-zA-Z0-9_.-]{1,15}", proptest::array::uniform16(any::<u64>())), 0..8),
                pad in 0usize..8,
            ) {
                let mut text = String::from(
                    "Inter-|   Receive                                                |  Transmit\n \
                     face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
                );
                for (name, v) in &ifaces {
                    let cols: Vec<String> = v.iter().map(|n| format!("{n:>pad$}")).collect();
                    text.push_str(&format!("{name:>6}:{}\n", cols.join(" ")));
                }
                let parsed = parse(&text);
                prop_assert_eq!(parsed.len(), ifaces.len());
                for ((name, c), (want_name, v)) in parsed.iter().zip(&ifaces) {
                    prop_assert_eq!(name, want_name);
                    let want = Counters {
                        rx_bytes: v[0],
                        rx_packets: v[1],
                        rx_errs: v[2],
                        rx_drop: v[3],
                        tx_bytes: v[8],
                        tx_packets: v[9],
                        tx_errs: v[10],
                        tx_drop: v[11],
                    };
                    prop_assert_eq!(*c, want);
                }
            }
        }
    }
}
