//! `udp_queues`: the bytes queued in UDP sockets, summed over `/proc/net/udp` and
//! `/proc/net/udp6` (`node_udp_queues{ip="v4|v6",queue="tx|rx"}`), as node_exporter 1.5.0.
//!
//! After a header line, each socket's fifth column is `tx_queue:rx_queue` in hex. A busy DNS
//! server has tens of thousands of sockets (megabytes of text), so the files are read line
//! by line through a fixed buffer rather than whole (`read::procfs::for_each_line`: regular
//! files only, opened non-blocking, at most 64 MiB, as `read::procfs` bounds whole files). A
//! file that is missing (no IPv6) has no samples; a line too short or not hex is skipped.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::for_each_line;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// Registers the `udp_queues` family.
pub const REGISTRATION: Registration = Registration {
    name: "udp_queues",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(UdpQueuesFamily)
}

/// Fields of a line split on ASCII whitespace.
pub(super) fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
}

/// Sums one socket table's queues: `(tx, rx)`.
fn sum_queues(path: &Path) -> io::Result<(u64, u64)> {
    let (mut tx, mut rx) = (0u64, 0u64);
    let mut header = true;
    for_each_line(path, |line| {
        if std::mem::take(&mut header) {
            return;
        }
        // sl local_address rem_address st tx_queue:rx_queue tr tm->when retrnsmt uid timeout ...
        let cols: Vec<&[u8]> = fields(line).take(10).collect();
        if cols.len() < 10 {
            return;
        }
        let Some((t, r)) = std::str::from_utf8(cols[4])
            .ok()
            .and_then(|q| q.split_once(':'))
        else {
            return;
        };
        let hex = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u64::from_str_radix(s, 16).ok())
                .flatten()
        };
        if let (Some(t), Some(r)) = (hex(t), hex(r)) {
            tx = tx.saturating_add(t);
            rx = rx.saturating_add(r);
        }
    })?;
    Ok((tx, rx))
}

/// One tick's sums, per IP version that has a table.
#[derive(Debug)]
struct UdpQueuesHarvest {
    /// `(ip label, tx, rx)`.
    tables: Vec<(&'static str, u64, u64)>,
}

struct UdpQueuesFamily;

impl Family for UdpQueuesFamily {
    fn name(&self) -> &'static str {
        "udp_queues"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let mut tables = Vec::new();
        let mut error = None;
        for (file, ip) in [("net/udp", "v4"), ("net/udp6", "v6")] {
            let path = roots.proc(file);
            match sum_queues(&path) {
                Ok((tx, rx)) => tables.push((ip, tx, rx)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => error = Some(format!("{}: {e}", path.display())),
            }
        }
        if let (true, Some(e)) = (tables.is_empty(), error) {
            return Err(e);
        }
        Ok(Arc::new(UdpQueuesHarvest { tables }))
    }
}

impl Harvest for UdpQueuesHarvest {
    fn render(&self, out: &mut Encoder) {
        let mut f = out.family(
            "node_udp_queues",
            Kind::Gauge,
            "Number of allocated memory in the kernel for UDP datagrams in bytes.",
        );
        for &(ip, tx, rx) in &self.tables {
            f.sample(&[("ip", ip), ("queue", "rx")], rx as f64);
            f.sample(&[("ip", ip), ("queue", "tx")], tx as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::REGISTRATION;
    use crate::collect::family::testing::{fixture, returns, run, value};
    use crate::collect::family::{Roots, Settings};
    use crate::read::procfs::{for_each_line, for_each_line_capped};
    use crate::testing::{planted_tree, Planted};

    fn queue(text: &str, ip: &str, queue: &str) -> Option<f64> {
        value(
            text,
            &format!("node_udp_queues{{ip=\"{ip}\",queue=\"{queue}\"}}"),
        )
    }

    #[test]
    fn vm_empty_tables_are_zero() {
        let t = run(&REGISTRATION, "vm");
        for (ip, q) in [("v4", "rx"), ("v4", "tx"), ("v6", "rx"), ("v6", "tx")] {
            assert_eq!(queue(&t, ip, q), Some(0.0), "{ip} {q}");
        }
        assert!(t.contains("# TYPE node_udp_queues gauge\n"));
    }

    #[test]
    fn pi_and_laptop_sums() {
        let t = run(&REGISTRATION, "pi");
        assert_eq!(queue(&t, "v4", "tx"), Some(0x200 as f64));
        assert_eq!(queue(&t, "v4", "rx"), Some(0x340 as f64));
        assert_eq!(queue(&t, "v6", "tx"), Some(0.0));
        assert_eq!(queue(&t, "v6", "rx"), Some(0x180 as f64));
        let t = run(&REGISTRATION, "laptop");
        assert_eq!(queue(&t, "v4", "tx"), Some(0x1c0 as f64));
        assert_eq!(queue(&t, "v4", "rx"), Some((0x700 + 0x100) as f64));
        assert_eq!(queue(&t, "v6", "rx"), Some(0.0));
    }

    #[test]
    fn hostile_lines_are_skipped_one_by_one() {
        let t = run(&REGISTRATION, "hostile");
        // Good lines 0x20 + 0x20, the long line's 0x200 (its fields come first), and 1
        // from a 64-bit tx queue, which saturates the tx sum; a short and a non-hex line
        // add nothing.
        assert_eq!(
            queue(&t, "v4", "rx"),
            Some((0x20 + 0x200 + 1 + 0x20) as f64)
        );
        assert_eq!(queue(&t, "v4", "tx"), Some(u64::MAX as f64));
        // An empty udp6 (no header either) sums to zero.
        assert_eq!(queue(&t, "v6", "rx"), Some(0.0));
    }

    #[test]
    fn lines_are_cut_at_4_kib_and_the_last_needs_no_newline() {
        let mut lines = Vec::new();
        let path = fixture("hostile").proc("net/udp");
        for_each_line(&path, |l| lines.push(l.len())).expect("readable");
        assert_eq!(lines.len(), 7);
        assert_eq!(lines[4], 4096);
        assert!(lines.iter().all(|&n| n > 0 && n <= 4096));
    }

    /// A FIFO (opening it would wait for a writer) or a link to `/dev/zero` (endless bytes,
    /// no newline) where the tables should be: the family fails instead of hanging, and so
    /// does the reader on each.
    #[test]
    fn fifos_and_endless_files_fail_without_hanging() {
        for planted in [Planted::Fifo, Planted::DevZero] {
            let dir = planted_tree("udp", planted, &["proc/net/udp", "proc/net/udp6"]);
            let roots = Roots::under(&dir);
            let got = returns({
                let roots = roots.clone();
                move || {
                    let mut fam = (REGISTRATION.make)(&Settings::default());
                    let err = fam.harvest(&roots).map(|_| ()).unwrap_err();
                    let mut lines = 0;
                    let direct = for_each_line(&roots.proc("net/udp"), |_| lines += 1);
                    (err, direct.map_err(|e| e.kind()), lines)
                }
            });
            assert!(
                got.0.contains("not a regular file"),
                "{planted:?}: {}",
                got.0
            );
            assert_eq!(got.1, Err(std::io::ErrorKind::InvalidInput), "{planted:?}");
            assert_eq!(got.2, 0);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// A regular file longer than the cap fails the reading; one of exactly the cap is read.
    #[test]
    fn files_past_the_cap_fail() {
        let path = fixture("hostile").proc("net/udp");
        let len = std::fs::metadata(&path).unwrap().len();
        let mut n = 0;
        for_each_line_capped(&path, len, |_| n += 1).expect("exactly the cap");
        assert_eq!(n, 7);
        let err = for_each_line_capped(&path, len - 1, |_| {}).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("longer than"), "{err}");
    }
}
