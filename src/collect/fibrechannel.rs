//! `fibrechannel`: Fibre Channel host bus adapters (Emulex `lpfc`, QLogic `qla2xxx`) from
//! `/sys/class/fc_host/<host>/`, as node_exporter 1.12's `fibrechannel` collector (default on,
//! through procfs' `FibreChannelClass`) exposes them: `node_fibrechannel_info{fc_host,speed,
//! port_state,port_type,port_id,port_name,fabric_name,symbolic_name,supported_classes,
//! supported_speeds,dev_loss_tmo}` and fourteen `statistics/` counters by `fc_host`.
//!
//! Kernel ABI (drivers/scsi/scsi_transport_fc.c): the attributes are strings, the names and
//! ids in hex with a `0x` prefix (`0x1000e0071bce95f2`), which node_exporter cuts off (the
//! first two characters, whatever they are); `statistics/*` are `0x%llx`, and
//! `0xffffffffffffffff` means the HBA's firmware does not count it, so that counter is left
//! out. `statistics/reset_statistics` is write-only, never read.
//!
//! As node_exporter 1.12: an attribute a driver does not expose is an empty label (1.5 failed
//! the collector), and a counter file that is missing reads 0. Deliberately unlike it, a
//! counter that is not a number is left out (procfs dereferences the failed parse and
//! node_exporter crashes) and an unreadable host directory skips that host only.

use super::family::{Family, Harvest, NoData, Registration, Roots, Samples, Settings};
use crate::exposition::Kind;
use crate::read::procfs::{parse_uint, read_capped, sorted_entries, ATTR_CAP};
use std::path::Path;
use std::sync::Arc;

/// Registers the `fibrechannel` family.
pub const REGISTRATION: Registration = Registration {
    name: "fibrechannel",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(FibreChannelFamily)
}

struct FibreChannelFamily;

/// The `info` labels: (label, file, whether its `0x` is cut).
const INFO: [(&str, &str, bool); 10] = [
    ("dev_loss_tmo", "dev_loss_tmo", false),
    ("fabric_name", "fabric_name", true),
    ("port_id", "port_id", true),
    ("port_name", "port_name", true),
    ("port_state", "port_state", false),
    ("port_type", "port_type", false),
    ("speed", "speed", false),
    ("supported_classes", "supported_classes", false),
    ("supported_speeds", "supported_speeds", false),
    ("symbolic_name", "symbolic_name", false),
];

/// `statistics/` files: (file, metric after `node_fibrechannel_`, HELP).
const COUNTERS: [(&str, &str, &str); 14] = [
    (
        "dumped_frames",
        "dumped_frames_total",
        "Number of dumped frames",
    ),
    (
        "error_frames",
        "error_frames_total",
        "Number of errors in frames",
    ),
    (
        "invalid_crc_count",
        "invalid_crc_total",
        "Invalid Cyclic Redundancy Check count",
    ),
    ("rx_frames", "rx_frames_total", "Number of frames received"),
    (
        "rx_words",
        "rx_words_total",
        "Number of words received by host port",
    ),
    (
        "tx_frames",
        "tx_frames_total",
        "Number of frames transmitted by host port",
    ),
    (
        "tx_words",
        "tx_words_total",
        "Number of words transmitted by host port",
    ),
    (
        "seconds_since_last_reset",
        "seconds_since_last_reset_total",
        "Number of seconds since last host port reset",
    ),
    (
        "invalid_tx_word_count",
        "invalid_tx_words_total",
        "Number of invalid words transmitted by host port",
    ),
    (
        "link_failure_count",
        "link_failure_total",
        "Number of times the host port link has failed",
    ),
    (
        "loss_of_sync_count",
        "loss_of_sync_total",
        "Number of failures on either bit or transmission word boundaries",
    ),
    (
        "loss_of_signal_count",
        "loss_of_signal_total",
        "Number of times signal has been lost",
    ),
    (
        "nos_count",
        "nos_total",
        "Number Not_Operational Primitive Sequence received by host port",
    ),
    (
        "fcp_packet_aborts",
        "fcp_packet_aborts_total",
        "Number of aborted packets",
    ),
];

/// A trimmed attribute; `None` if it is missing or unreadable.
fn attr(path: &Path) -> Option<String> {
    read_capped(path, ATTR_CAP)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// `0x1000e0071bce95f2` to `1000e0071bce95f2`: procfs drops the first two bytes of any value
/// longer than two (a value of two or fewer is kept whole).
fn cut_prefix(v: String) -> String {
    match v.get(2..) {
        Some(rest) if v.len() > 2 => rest.to_owned(),
        _ => v,
    }
}

impl Family for FibreChannelFamily {
    fn name(&self) -> &'static str {
        "fibrechannel"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let class = roots.sys("class/fc_host");
        if !crate::read::procfs::is_dir(&class) {
            return Ok(Arc::new(NoData));
        }
        let mut out = Samples::default();
        for name in sorted_entries(&class) {
            let host = name.to_string_lossy().into_owned();
            let dir = class.join(&name);
            let stats = dir.join("statistics");
            // procfs needs the statistics directory; a host without it is not reported.
            if !crate::read::procfs::is_dir(&stats) {
                continue;
            }
            let mut labels: Vec<(&'static str, String)> = INFO
                .iter()
                .map(|(label, file, cut)| {
                    let v = attr(&dir.join(file)).unwrap_or_default();
                    (*label, if *cut { cut_prefix(v) } else { v })
                })
                .collect();
            labels.push(("fc_host", host.clone()));
            out.push(
                "node_fibrechannel_info",
                Kind::Gauge,
                "Non-numeric data from /sys/class/fc_host/<host>, value is always 1.",
                labels,
                1.0,
            );
            for (file, metric, help) in COUNTERS {
                let path = stats.join(file);
                let value = match read_capped(&path, ATTR_CAP) {
                    Ok(text) => parse_uint(text.trim()),
                    Err(e) if crate::read::procfs::is_absent(&e) => Some(0),
                    Err(_) => None,
                };
                match value {
                    Some(u64::MAX) | None => {}
                    Some(v) => out.push(
                        format!("node_fibrechannel_{metric}"),
                        Kind::Counter,
                        help,
                        vec![("fc_host", host.clone())],
                        v as f64,
                    ),
                }
            }
        }
        Ok(Arc::new(out.sorted()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, fixture, run};

    #[test]
    fn vm_has_an_emulex_and_a_qlogic_port() {
        let t = run(&REGISTRATION, "vm");
        assert_values(
            &t,
            &[
                ("node_fibrechannel_info{dev_loss_tmo=\"30\",fabric_name=\"0\",fc_host=\"host0\",port_id=\"000002\",port_name=\"1000e0071bce95f2\",port_state=\"Online\",port_type=\"NPort (fabric via point-to-point)\",speed=\"16 Gbit\",supported_classes=\"Class 3\",supported_speeds=\"4 Gbit, 8 Gbit, 16 Gbit\",symbolic_name=\"Emulex SN1100E2P FV12.4.270.3 DV12.4.0.0. HN:gotest. OS:Linux\"}", 1.0),
                ("node_fibrechannel_fcp_packet_aborts_total{fc_host=\"host0\"}", 19.0),
                ("node_fibrechannel_loss_of_signal_total{fc_host=\"host0\"}", 17.0),
                ("node_fibrechannel_rx_words_total{fc_host=\"host1\"}", 5e9),
                ("node_fibrechannel_seconds_since_last_reset_total{fc_host=\"host1\"}", 86400.0),
            ],
        );
        // 0xffffffffffffffff: not counted by the firmware, left out.
        assert!(!t.contains("node_fibrechannel_dumped_frames_total{fc_host=\"host0\"}"));
        assert!(!t.contains("node_fibrechannel_nos_total{fc_host=\"host1\"}"));
        assert!(t.contains("# TYPE node_fibrechannel_tx_frames_total counter\n"));
    }

    #[test]
    fn missing_attributes_are_empty_and_missing_counters_zero() {
        let dir = std::env::temp_dir().join(format!("psmonitor-fc-{}", std::process::id()));
        let host = dir.join("sys/class/fc_host/host7");
        std::fs::create_dir_all(host.join("statistics")).unwrap();
        std::fs::write(host.join("port_name"), "0x\n").unwrap();
        std::fs::write(host.join("statistics/tx_frames"), "many\n").unwrap();
        std::fs::write(host.join("statistics/rx_frames"), "0x10\n").unwrap();
        // A host without statistics is not reported.
        std::fs::create_dir_all(dir.join("sys/class/fc_host/host8")).unwrap();
        let h = FibreChannelFamily.harvest(&Roots::under(&dir)).unwrap();
        let mut enc = crate::exposition::Encoder::default();
        h.render(&mut enc);
        let t = enc.finish();
        assert!(t.contains("node_fibrechannel_info{dev_loss_tmo=\"\",fabric_name=\"\",fc_host=\"host7\",port_id=\"\",port_name=\"0x\","), "{t}");
        assert_values(
            &t,
            &[
                ("node_fibrechannel_rx_frames_total{fc_host=\"host7\"}", 16.0),
                ("node_fibrechannel_nos_total{fc_host=\"host7\"}", 0.0),
            ],
        );
        assert!(!t.contains("tx_frames_total{"), "not a number: left out");
        assert!(!t.contains("host8"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn hostile_counters_are_left_out_alone() {
        let t = run(&REGISTRATION, "hostile");
        assert_values(
            &t,
            &[("node_fibrechannel_nos_total{fc_host=\"host3\"}", 16.0)],
        );
        assert!(
            !t.contains("node_fibrechannel_tx_frames_total"),
            "0xzz: {t}"
        );
        assert!(!t.contains("node_fibrechannel_rx_frames_total"), "-1: {t}");
        assert!(
            t.contains("port_name=\"\u{fffd}\u{fffd}\""),
            "not UTF-8, shown lossily: {t}"
        );
    }

    #[test]
    fn no_class_is_no_data() {
        assert!(FibreChannelFamily
            .harvest(&fixture("pi"))
            .unwrap()
            .no_data());
    }
}
