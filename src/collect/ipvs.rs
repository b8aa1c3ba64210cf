//! `ipvs`: the kernel's IP Virtual Server (the load balancer behind `ipvsadm`, keepalived and
//! kube-proxy's ipvs mode), from `/proc/net/ip_vs_stats` and `/proc/net/ip_vs`, as
//! node_exporter 1.12's `ipvs` collector (default on) exposes it: the totals
//! `node_ipvs_{connections,incoming_packets,outgoing_packets,incoming_bytes,outgoing_bytes}_total`
//! and, per real server, `node_ipvs_backend_{connections_active,connections_inactive,weight}`
//! labelled by `--collector.ipvs.backend-labels` (all six by default).
//!
//! Kernel ABI (net/netfilter/ipvs/ip_vs_ctl.c): `ip_vs_stats` is two header lines, then the
//! five totals in hexadecimal (then rates, ignored). `ip_vs` lists each virtual service
//! (`TCP  C0A80016:0CEA wlc`, `UDP ...`, `FWM <mark> ...` for firewall-mark services) followed
//! by its real servers (`  -> C0A85216:0CEA Tunnel 100 248 2`: address, forwarding method,
//! weight, active and inactive connections, those three in decimal). IPv4 addresses are 8 hex
//! digits, IPv6 ones `[2620:0000:...:0001]` in full; ports are 4 hex digits.
//!
//! As node_exporter: addresses are written as Go writes them (`2620::1`; an IPv4-mapped IPv6
//! address as dotted IPv4), a firewall-mark service has an empty `local_address`, port 0 and
//! its mark in `local_mark`; backends whose chosen labels coincide are summed (with fewer
//! labels, one series per virtual service, say). Without `ip_vs_stats` (module not loaded) it
//! is "no data"; a malformed total or backend line fails the family this tick. Unlike
//! procfs, an `SCTP` service starts its own block (procfs skips the line and would add its
//! backends to the service above), and a lone word on a line is passed over (Go would index
//! past it).

use super::family::{Family, Harvest, NoData, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::read_present;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// Registers the `ipvs` family.
pub const REGISTRATION: Registration = Registration {
    name: "ipvs",
    default_enabled: true,
    make: make_family,
};

fn make_family(settings: &Settings) -> Box<dyn Family> {
    let labels = settings
        .flags
        .value("ipvs.backend-labels")
        .and_then(|v| backend_labels(v).ok())
        .unwrap_or_else(|| LABELS.to_vec());
    Box::new(IpvsFamily {
        labels,
        buf: Vec::new(),
    })
}

/// Every backend label, in node_exporter's order (the order they are chosen in).
const LABELS: [&str; 6] = [
    "local_address",
    "local_port",
    "remote_address",
    "remote_port",
    "proto",
    "local_mark",
];

/// The labels `--collector.ipvs.backend-labels` chooses: empty entries ignored, the rest
/// kept in node_exporter's order; an unknown one is an error, as node_exporter refuses to
/// start with it.
pub fn backend_labels(list: &str) -> Result<Vec<&'static str>, String> {
    let given: Vec<&str> = list.split(',').filter(|l| !l.is_empty()).collect();
    let mut unknown: Vec<&str> = given
        .iter()
        .copied()
        .filter(|l| !LABELS.contains(l))
        .collect();
    if !unknown.is_empty() {
        crate::sort::sort(&mut unknown);
        unknown.dedup();
        return Err(format!(
            "--collector.ipvs.backend-labels: unknown IPVS backend labels: {:?} (known: {})",
            unknown.join(", "),
            LABELS.join(",")
        ));
    }
    Ok(LABELS
        .iter()
        .copied()
        .filter(|l| given.contains(l))
        .collect())
}

struct IpvsFamily {
    labels: Vec<&'static str>,
    buf: Vec<u8>,
}

/// One real server of one virtual service, as the kernel lists it.
#[derive(Debug, PartialEq)]
struct Backend {
    local_address: String,
    local_port: u16,
    local_mark: String,
    proto: String,
    remote_address: String,
    remote_port: u16,
    weight: u64,
    active: u64,
    inactive: u64,
}

impl Backend {
    fn label(&self, name: &str) -> String {
        match name {
            "local_address" => self.local_address.clone(),
            "local_port" => self.local_port.to_string(),
            "remote_address" => self.remote_address.clone(),
            "remote_port" => self.remote_port.to_string(),
            "proto" => self.proto.clone(),
            _ => self.local_mark.clone(),
        }
    }
}

/// One tick: the totals, and per chosen label values the summed (active, inactive, weight).
#[derive(Debug)]
struct Reading {
    totals: [u64; 5],
    labels: Vec<&'static str>,
    backends: BTreeMap<Vec<String>, [u64; 3]>,
}

impl Family for IpvsFamily {
    fn name(&self) -> &'static str {
        "ipvs"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let Some(text) = read_present(roots.proc("net/ip_vs_stats"), &mut self.buf)? else {
            return Ok(Arc::new(NoData));
        };
        let totals = parse_stats(&text)?;
        let text = read_present(roots.proc("net/ip_vs"), &mut self.buf)?
            .ok_or("could not get backend status: net/ip_vs is missing")?;
        let mut backends: BTreeMap<Vec<String>, [u64; 3]> = BTreeMap::new();
        for b in parse_backends(&text)? {
            let key = self.labels.iter().map(|l| b.label(l)).collect();
            let sum = backends.entry(key).or_default();
            sum[0] = sum[0].wrapping_add(b.active);
            sum[1] = sum[1].wrapping_add(b.inactive);
            sum[2] = sum[2].wrapping_add(b.weight);
        }
        Ok(Arc::new(Reading {
            totals,
            labels: self.labels.clone(),
            backends,
        }))
    }
}

/// The five totals of `ip_vs_stats` (hexadecimal, on its third line).
fn parse_stats(text: &str) -> Result<[u64; 5], String> {
    // Go's SplitN(text, "\n", 4) must give four parts: at least three newlines.
    if text.matches('\n').count() < 3 {
        return Err("ip_vs_stats corrupt: too short".into());
    }
    let fields: Vec<&str> = text
        .split('\n')
        .nth(2)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    if fields.len() != 5 {
        return Err("ip_vs_stats corrupt: unexpected number of fields".into());
    }
    let mut out = [0; 5];
    for (slot, f) in out.iter_mut().zip(&fields) {
        *slot = u64::from_str_radix(f, 16).map_err(|e| format!("ip_vs_stats {f:?}: {e}"))?;
    }
    Ok(out)
}

/// The real servers of `ip_vs`, each with its virtual service.
fn parse_backends(text: &str) -> Result<Vec<Backend>, String> {
    let mut out = Vec::new();
    let (mut proto, mut mark, mut address, mut port) = (String::new(), String::new(), None, 0);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 2 || f[0] == "IP" || f[0] == "Prot" || f[1] == "RemoteAddress:Port" {
            continue;
        }
        match f[0] {
            "TCP" | "UDP" | "SCTP" => {
                proto = f[0].to_owned();
                mark.clear();
                let (a, p) = ip_port(f[1])?;
                (address, port) = (Some(a), p);
            }
            "FWM" => {
                proto = f[0].to_owned();
                mark = f[1].to_owned();
                (address, port) = (None, 0);
            }
            "->" if f.len() >= 6 => {
                let (remote, remote_port) = ip_port(f[1])?;
                let num = |s: &str| {
                    s.parse::<u64>()
                        .map_err(|e| format!("ip_vs {:?}: {e}", cut(line)))
                };
                out.push(Backend {
                    local_address: address.clone().unwrap_or_default(),
                    local_port: port,
                    local_mark: mark.clone(),
                    proto: proto.clone(),
                    remote_address: remote,
                    remote_port,
                    weight: num(f[3])?,
                    active: num(f[4])?,
                    inactive: num(f[5])?,
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

fn cut(line: &str) -> String {
    line.chars().take(80).collect()
}

/// `C0A80016:0CEA` or `[2620:0000:...:0001]:0050`: the address as Go's `net.IP.String()`
/// writes it, and the port.
fn ip_port(s: &str) -> Result<(String, u16), String> {
    let bad = || format!("unexpected IP:Port: {}", cut(s));
    let address = match s.len() {
        13 if s.is_char_boundary(8) => {
            let v = u32::from_str_radix(&s[..8], 16).map_err(|_| bad())?;
            if !s[..8].bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            Ipv4Addr::from(v).to_string()
        }
        46 if s.is_char_boundary(1) && s.is_char_boundary(40) => {
            let ip: Ipv6Addr = s[1..40].parse().map_err(|_| bad())?;
            match ip.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => ip.to_string(),
            }
        }
        _ => return Err(bad()),
    };
    let port = s
        .get(s.len() - 4..)
        .filter(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|p| u16::from_str_radix(p, 16).ok())
        .ok_or_else(bad)?;
    Ok((address, port))
}

impl Harvest for Reading {
    fn render(&self, out: &mut Encoder) {
        for (i, (name, help)) in [
            (
                "node_ipvs_connections_total",
                "The total number of connections made.",
            ),
            (
                "node_ipvs_incoming_packets_total",
                "The total number of incoming packets.",
            ),
            (
                "node_ipvs_outgoing_packets_total",
                "The total number of outgoing packets.",
            ),
            (
                "node_ipvs_incoming_bytes_total",
                "The total amount of incoming data.",
            ),
            (
                "node_ipvs_outgoing_bytes_total",
                "The total amount of outgoing data.",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            out.one(name, Kind::Counter, help, &[], self.totals[i] as f64);
        }
        for (i, (name, help)) in [
            (
                "node_ipvs_backend_connections_active",
                "The current active connections by local and remote address.",
            ),
            (
                "node_ipvs_backend_connections_inactive",
                "The current inactive connections by local and remote address.",
            ),
            (
                "node_ipvs_backend_weight",
                "The current backend weight by local and remote address.",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let mut f = out.family(name, Kind::Gauge, help);
            for (values, sums) in &self.backends {
                let mut labels: Vec<(&str, &str)> = self
                    .labels
                    .iter()
                    .zip(values)
                    .map(|(k, v)| (*k, v.as_str()))
                    .collect();
                crate::sort::sort_by_key(&mut labels, |(k, _)| *k);
                f.sample(&labels, sums[i] as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, fixture, render, run};

    #[test]
    fn vm_balances_tcp_udp_ipv6_and_a_firewall_mark() {
        let t = run(&REGISTRATION, "vm");
        assert_values(
            &t,
            &[
                ("node_ipvs_connections_total", 23_765_872.0),
                ("node_ipvs_incoming_packets_total", 3_811_989_221.0),
                ("node_ipvs_incoming_bytes_total", 89_991_519_156_915.0),
                ("node_ipvs_outgoing_bytes_total", 0.0),
                (
                    "node_ipvs_backend_connections_active{local_address=\"192.168.0.22\",local_mark=\"\",local_port=\"3306\",proto=\"TCP\",remote_address=\"192.168.82.22\",remote_port=\"3306\"}",
                    248.0,
                ),
                (
                    "node_ipvs_backend_connections_inactive{local_address=\"192.168.0.55\",local_mark=\"\",local_port=\"53\",proto=\"UDP\",remote_address=\"192.168.50.26\",remote_port=\"53\"}",
                    7.0,
                ),
                (
                    "node_ipvs_backend_weight{local_address=\"2620::1\",local_mark=\"\",local_port=\"80\",proto=\"TCP\",remote_address=\"2620::ffff:a00:3\",remote_port=\"8080\"}",
                    2.0,
                ),
                (
                    "node_ipvs_backend_connections_inactive{local_address=\"\",local_mark=\"10001000\",local_port=\"0\",proto=\"FWM\",remote_address=\"192.168.50.21\",remote_port=\"3306\"}",
                    2.0,
                ),
            ],
        );
        assert_eq!(t.matches("node_ipvs_backend_weight{").count(), 11);
    }

    #[test]
    fn fewer_labels_sum_the_backends() {
        let mut flags = super::super::flags::Values::default();
        flags
            .take("ipvs.backend-labels", "proto,,local_port")
            .unwrap();
        flags.check().unwrap();
        let settings = Settings {
            flags,
            ..Default::default()
        };
        let t = render(&mut *make_family(&settings), "vm");
        assert_values(
            &t,
            &[
                // 248 * 3 + 1499 + 1498 + 0 + 3 (the IPv6 service is port 80).
                (
                    "node_ipvs_backend_connections_active{local_port=\"3306\",proto=\"TCP\"}",
                    3741.0,
                ),
                (
                    "node_ipvs_backend_weight{local_port=\"80\",proto=\"TCP\"}",
                    3.0,
                ),
                (
                    "node_ipvs_backend_connections_inactive{local_port=\"0\",proto=\"FWM\"}",
                    3.0,
                ),
            ],
        );
        assert_eq!(t.matches("node_ipvs_backend_weight{").count(), 4);
        assert_eq!(backend_labels("").unwrap(), Vec::<&str>::new());
        let err = backend_labels("proto,bogus,zz").unwrap_err();
        assert!(err.contains("bogus, zz"), "{err}");
    }

    #[test]
    fn addresses_as_go_writes_them() {
        let ip = |s: &str| ip_port(s).map(|(a, p)| format!("{a} {p}"));
        assert_eq!(ip("0A000001:0050").unwrap(), "10.0.0.1 80");
        assert_eq!(
            ip("[0000:0000:0000:0000:0000:ffff:0a00:0001]:01BB").unwrap(),
            "10.0.0.1 443"
        );
        assert_eq!(
            ip("[fe80:0000:0000:0000:0001:0000:0000:0001]:0001").unwrap(),
            "fe80::1:0:0:1 1"
        );
        for bad in [
            "0A00000:0050",
            "ZZ000001:0050",
            "0A000001:00G0",
            "",
            "é0000001:0050",
            "+A000001:0050",
        ] {
            assert!(ip(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hostile_files_fail_the_family_and_never_panic() {
        for bad in ["", "a\nb\n", "a\nb\n1 2 3 4\n", "a\nb\n1 2 3 4 x\n"] {
            assert!(parse_stats(bad).is_err(), "{bad:?}");
        }
        assert!(
            parse_backends("TCP  C0A80016:0CEA wlc\n  -> C0A85216:0CEA Tunnel x 1 2\n").is_err()
        );
        assert!(parse_backends("TCP  nonsense wlc\n").is_err());
        // Short lines and lone words are passed over.
        let b = parse_backends("TCP\n  -> C0A85216:0CEA Tunnel\n->\n\n").unwrap();
        assert!(b.is_empty());
    }

    #[test]
    fn hostile_tree_fails_the_family_this_tick() {
        let err = make_family(&Settings::default())
            .harvest(&fixture("hostile"))
            .unwrap_err();
        assert!(err.contains("ip_vs_stats"), "{err}");
    }

    #[test]
    fn no_ipvs_is_no_data() {
        let h = make_family(&Settings::default())
            .harvest(&fixture("laptop"))
            .unwrap();
        assert!(h.no_data());
    }
}
