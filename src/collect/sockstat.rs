//! `sockstat`: socket counts per protocol from `/proc/net/sockstat` and `/proc/net/sockstat6`,
//! as node_exporter 1.5.0's `sockstat` collector names them (`node_sockstat_TCP_inuse`, ...).
//!
//! Each line is `PROTO: key value key value ...`; the IPv4 file starts with `sockets: used N`
//! (`node_sockstat_sockets_used`). Only the keys node_exporter knows are kept (`inuse`,
//! `orphan`, `tw`, `alloc`, `mem`, `memory`), and `inuse` is always written, 0 if the line
//! lacks it, as there. `mem` counts pages (not bytes: `memory` of FRAG is bytes), so it is
//! also written as `<PROTO>_mem_bytes` = pages * the page size (4 KiB on x86, up to 64 KiB on
//! arm64). The IPv6 file is missing when IPv6 is disabled.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::{parse_int, read_lossy};
use std::sync::Arc;

/// Registers the `sockstat` family.
pub const REGISTRATION: Registration = Registration {
    name: "sockstat",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(SockstatFamily {
        buf: Vec::new(),
        page_size: page_size(),
    })
}

/// The kernel's page size in bytes.
// sysconf returns a C long: i64 on 64-bit targets (a no-op there), i32 on armhf.
#[allow(clippy::useless_conversion)]
fn page_size() -> i64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        i64::from(n)
    } else {
        4096
    }
}

/// The per-protocol keys node_exporter exposes, in its order.
const KEYS: [&str; 6] = ["inuse", "orphan", "tw", "alloc", "mem", "memory"];

/// One sample: its metric name, help and value.
#[derive(Debug)]
struct Sample {
    name: String,
    help: String,
    value: i64,
}

/// One tick's samples, in file order.
#[derive(Debug)]
struct SockstatHarvest {
    samples: Vec<Sample>,
}

/// Whether a protocol name can be part of a metric name (`TCP6`, `UDPLITE`).
fn valid_protocol(proto: &str) -> bool {
    !proto.is_empty()
        && proto
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses one sockstat file into `out`. A line with an odd number of fields, a value that is
/// not an integer, or a protocol already seen (`seen`) is skipped; `sockets: used` counts in
/// the IPv4 file only (node_exporter would otherwise write it twice).
fn parse(text: &str, ipv4: bool, page_size: i64, seen: &mut Vec<String>, out: &mut Vec<Sample>) {
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(proto) = fields.next().and_then(|p| p.strip_suffix(':')) else {
            continue;
        };
        let rest: Vec<&str> = fields.collect();
        if rest.is_empty() || !rest.len().is_multiple_of(2) {
            continue;
        }
        let Some(kvs) = rest
            .chunks(2)
            .map(|kv| Some((kv[0], parse_int(kv[1])?)))
            .collect::<Option<Vec<(&str, i64)>>>()
        else {
            continue;
        };
        // A key given twice: the last one, as in node_exporter's map.
        let get = |key: &str| kvs.iter().rev().find(|(k, _)| *k == key).map(|&(_, v)| v);
        if (proto == "sockets" && !ipv4)
            || !valid_protocol(proto)
            || seen.iter().any(|p| p == proto)
        {
            continue;
        }
        seen.push(proto.to_owned());
        if proto == "sockets" {
            out.push(Sample {
                name: "node_sockstat_sockets_used".into(),
                help: "Number of IPv4 sockets in use.".into(),
                value: get("used").unwrap_or(0),
            });
            continue;
        }
        let mut push = |key: &str, value: i64| {
            out.push(Sample {
                name: format!("node_sockstat_{proto}_{key}"),
                help: format!("Number of {proto} sockets in state {key}."),
                value,
            })
        };
        for key in KEYS {
            match get(key) {
                Some(v) => push(key, v),
                None if key == "inuse" => push(key, 0),
                None => {}
            }
        }
        if let Some(bytes) = get("mem").and_then(|pages| pages.checked_mul(page_size)) {
            push("mem_bytes", bytes);
        }
    }
}

struct SockstatFamily {
    buf: Vec<u8>,
    page_size: i64,
}

impl Family for SockstatFamily {
    fn name(&self) -> &'static str {
        "sockstat"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let mut samples = Vec::new();
        let mut seen = Vec::new();
        let mut error = None;
        let mut read_any = false;
        for (file, ipv4) in [("net/sockstat", true), ("net/sockstat6", false)] {
            let path = roots.proc(file);
            match read_lossy(&path, &mut self.buf) {
                Ok(text) => {
                    parse(&text, ipv4, self.page_size, &mut seen, &mut samples);
                    read_any = true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => error = Some(format!("{}: {e}", path.display())),
            }
        }
        if let (false, Some(e)) = (read_any, error) {
            return Err(e);
        }
        Ok(Arc::new(SockstatHarvest { samples }))
    }
}

impl Harvest for SockstatHarvest {
    fn render(&self, out: &mut Encoder) {
        for s in &self.samples {
            out.one(&s.name, Kind::Gauge, &s.help, &[], s.value as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{page_size, REGISTRATION};
    use crate::collect::family::testing::{run, value};

    fn sock(text: &str, key: &str) -> Option<f64> {
        value(text, &format!("node_sockstat_{key}"))
    }

    #[test]
    fn the_page_size_is_a_power_of_two() {
        let p = page_size();
        assert!(p >= 4096 && p.count_ones() == 1, "{p}");
    }

    #[test]
    fn vm_has_node_exporters_20_families() {
        let t = run(&REGISTRATION, "vm");
        assert_eq!(t.matches("# TYPE ").count(), 20);
        assert_eq!(t.matches(" gauge\n").count(), 20);
        assert_eq!(sock(&t, "sockets_used"), Some(87.0));
        assert_eq!(sock(&t, "TCP_inuse"), Some(13.0));
        assert_eq!(sock(&t, "TCP_orphan"), Some(0.0));
        assert_eq!(sock(&t, "TCP_tw"), Some(1003.0));
        assert_eq!(sock(&t, "TCP_alloc"), Some(67.0));
        assert_eq!(sock(&t, "TCP_mem"), Some(335.0));
        assert_eq!(sock(&t, "TCP_mem_bytes"), Some((335 * page_size()) as f64));
        assert_eq!(sock(&t, "UDP_mem_bytes"), Some(0.0));
        assert_eq!(sock(&t, "FRAG_memory"), Some(0.0));
        assert_eq!(sock(&t, "FRAG6_memory"), Some(0.0));
        assert_eq!(sock(&t, "TCP6_inuse"), Some(0.0));
        assert_eq!(sock(&t, "UDPLITE6_inuse"), Some(0.0));
        assert_eq!(sock(&t, "RAW_mem"), None);
        assert!(t.contains("# HELP node_sockstat_TCP_tw Number of TCP sockets in state tw.\n"));
        assert!(t.contains("# HELP node_sockstat_sockets_used Number of IPv4 sockets in use.\n"));
    }

    #[test]
    fn pi_and_laptop() {
        let t = run(&REGISTRATION, "pi");
        assert_eq!(sock(&t, "sockets_used"), Some(312.0));
        assert_eq!(sock(&t, "TCP_mem"), Some(3.0));
        assert_eq!(sock(&t, "TCP_mem_bytes"), Some((3 * page_size()) as f64));
        assert_eq!(sock(&t, "UDP_mem_bytes"), Some((4 * page_size()) as f64));
        assert_eq!(sock(&t, "UDP6_inuse"), Some(5.0));
        assert_eq!(sock(&t, "RAW6_inuse"), Some(1.0));
        let t = run(&REGISTRATION, "laptop");
        assert_eq!(sock(&t, "sockets_used"), Some(1402.0));
        assert_eq!(sock(&t, "TCP_orphan"), Some(1.0));
        assert_eq!(sock(&t, "TCP_mem_bytes"), Some((96 * page_size()) as f64));
        assert_eq!(sock(&t, "TCP6_inuse"), Some(6.0));
    }

    #[test]
    fn hostile_lines_are_skipped_one_by_one() {
        // sockstat6 is a directory: IPv4 stays.
        let t = run(&REGISTRATION, "hostile");
        assert_eq!(sock(&t, "sockets_used"), Some(5.0));
        // `TCP: inuse 3 orphan` (odd) is skipped, the later TCP line counts.
        assert_eq!(sock(&t, "TCP_inuse"), Some(99.0));
        assert_eq!(sock(&t, "TCP_orphan"), None);
        // Go's base-0 integers; `mem * page size` out of i64: no mem_bytes.
        assert_eq!(sock(&t, "UDP_inuse"), Some(16.0));
        assert_eq!(sock(&t, "UDP_mem"), Some(99999999999999999.0));
        assert_eq!(sock(&t, "UDP_mem_bytes"), None);
        // A key given twice: the last; unknown keys: ignored.
        assert_eq!(sock(&t, "RAW_inuse"), Some(2.0));
        assert_eq!(sock(&t, "RAW_bogus"), None);
        // `inuse` is written even when the line lacks it.
        assert_eq!(sock(&t, "FRAG_inuse"), Some(0.0));
        assert_eq!(sock(&t, "FRAG_memory"), Some(4.0));
        assert_eq!(t.matches("# TYPE ").count(), 7);
        assert!(!t.contains("FOO"));
    }
}
