//! `infiniband`: InfiniBand and RDMA adapters (Mellanox/NVIDIA ConnectX, RoCE NICs) from
//! `/sys/class/infiniband/<device>/`, as node_exporter 1.12's `infiniband` collector (default
//! on, through procfs' `InfiniBandClass`) exposes them: `node_infiniband_info{device,board_id,
//! firmware_version,hca_type}`, per port `node_infiniband_{state_id,physical_state_id,
//! rate_bytes_per_second}`, the port counters (`counters/`, and `counters_ext/` of kernels
//! before 4.5 as `legacy_*`) and, for `mlx5_*` and `irdma*` devices, the driver's
//! `hw_counters/` (1.8+: `out_of_buffer_drops_total`, `np_cnp_packets_sent_total`, ...).
//!
//! Kernel ABI (Documentation/ABI/stable/sysfs-class-infiniband): `fw_ver`, `board_id`,
//! `hca_type` are strings; a port's `state` and `phys_state` read `4: ACTIVE`, `5: LinkUp`
//! (the number is exported); `rate` reads `100 Gb/sec (4X EDR)` (exported as bytes a second:
//! Gb/s times 125 000 000, the number read as a 32-bit float as procfs does). Counters are
//! decimal (read as Go's base-0 `ParseUint`, as procfs does); `port_rcv_data`/`port_xmit_data` (and their `_64` forms) count 32-bit words, so
//! they are multiplied by 4 for bytes. A counter the adapter's firmware cannot read says
//! `N/A (no PMA)` and is left out; irdma (and `nvs_`) devices have no `counters/`. The
//! `lifespan` hw counter is milliseconds, exported as whole seconds.
//!
//! Differences from node_exporter, deliberate: procfs fails the whole collector on one device
//! without `fw_ver`, a port without a readable `state`/`phys_state`/`rate`, or one counter
//! that is not a number; here only that device, port or counter is left out. AWS EFA
//! adapters' `hw_counters` (`tx_bytes`, `rdma_read_bytes`, ...) are not read, as in 1.12:
//! procfs reads `hw_counters/` of `mlx5_*` and `irdma*` devices only, and EFA support is an
//! open pull request (node_exporter #3670, procfs #515).

use super::family::{Family, Harvest, NoData, Registration, Roots, Samples, Settings};
use crate::exposition::Kind;
use crate::read::procfs::{parse_uint, read_capped, sorted_entries, ATTR_CAP};
use std::path::Path;
use std::sync::Arc;

/// Registers the `infiniband` family.
pub const REGISTRATION: Registration = Registration {
    name: "infiniband",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(InfinibandFamily)
}

struct InfinibandFamily;

/// `counters/` files: (file, metric after `node_infiniband_`, times 4, HELP).
const COUNTERS: [(&str, &str, bool, &str); 22] = [
    ("excessive_buffer_overrun_errors", "excessive_buffer_overrun_errors_total", false, "Number of times that OverrunErrors consecutive flow control update periods occurred, each having at least one overrun error."),
    ("link_downed", "link_downed_total", false, "Number of times the link failed to recover from an error state and went down"),
    ("link_error_recovery", "link_error_recovery_total", false, "Number of times the link successfully recovered from an error state"),
    ("local_link_integrity_errors", "local_link_integrity_errors_total", false, "Number of times that the count of local physical errors exceeded the threshold specified by LocalPhyErrors."),
    ("multicast_rcv_packets", "multicast_packets_received_total", false, "Number of multicast packets received (including errors)"),
    ("multicast_xmit_packets", "multicast_packets_transmitted_total", false, "Number of multicast packets transmitted (including errors)"),
    ("port_rcv_constraint_errors", "port_constraint_errors_received_total", false, "Number of packets received on the switch physical port that are discarded"),
    ("port_rcv_data", "port_data_received_bytes_total", true, "Number of data octets received on all links"),
    ("port_rcv_discards", "port_discards_received_total", false, "Number of inbound packets discarded by the port because the port is down or congested"),
    ("port_rcv_errors", "port_errors_received_total", false, "Number of packets containing an error that were received on this port"),
    ("port_rcv_packets", "port_packets_received_total", false, "Number of packets received on all VLs by this port (including errors)"),
    ("port_rcv_remote_physical_errors", "port_receive_remote_physical_errors_total", false, "Number of packets marked with the EBP (End of Bad Packet) delimiter received on the port."),
    ("port_rcv_switch_relay_errors", "port_receive_switch_relay_errors_total", false, "Number of packets that could not be forwarded by the switch."),
    ("port_xmit_constraint_errors", "port_constraint_errors_transmitted_total", false, "Number of packets not transmitted from the switch physical port"),
    ("port_xmit_data", "port_data_transmitted_bytes_total", true, "Number of data octets transmitted on all links"),
    ("port_xmit_discards", "port_discards_transmitted_total", false, "Number of outbound packets discarded by the port because the port is down or congested"),
    ("port_xmit_packets", "port_packets_transmitted_total", false, "Number of packets transmitted on all VLs from this port (including errors)"),
    ("port_xmit_wait", "port_transmit_wait_total", false, "Number of ticks during which the port had data to transmit but no data was sent during the entire tick"),
    ("symbol_error", "symbol_error_total", false, "Number of minor link errors detected on one or more physical lanes."),
    ("unicast_rcv_packets", "unicast_packets_received_total", false, "Number of unicast packets received (including errors)"),
    ("unicast_xmit_packets", "unicast_packets_transmitted_total", false, "Number of unicast packets transmitted (including errors)"),
    ("VL15_dropped", "vl15_dropped_total", false, "Number of incoming VL15 packets dropped due to resource limitations."),
];

/// `counters_ext/` files (kernels before 4.5), as `legacy_*`.
const LEGACY: [(&str, &str, bool, &str); 8] = [
    (
        "port_multicast_rcv_packets",
        "legacy_multicast_packets_received_total",
        false,
        "Number of multicast packets received",
    ),
    (
        "port_multicast_xmit_packets",
        "legacy_multicast_packets_transmitted_total",
        false,
        "Number of multicast packets transmitted",
    ),
    (
        "port_rcv_data_64",
        "legacy_data_received_bytes_total",
        true,
        "Number of data octets received on all links",
    ),
    (
        "port_rcv_packets_64",
        "legacy_packets_received_total",
        false,
        "Number of data packets received on all links",
    ),
    (
        "port_unicast_rcv_packets",
        "legacy_unicast_packets_received_total",
        false,
        "Number of unicast packets received",
    ),
    (
        "port_unicast_xmit_packets",
        "legacy_unicast_packets_transmitted_total",
        false,
        "Number of unicast packets transmitted",
    ),
    (
        "port_xmit_data_64",
        "legacy_data_transmitted_bytes_total",
        true,
        "Number of data octets transmitted on all links",
    ),
    (
        "port_xmit_packets_64",
        "legacy_packets_transmitted_total",
        false,
        "Number of data packets received on all links",
    ),
];

/// `hw_counters/` files of mlx5 and irdma devices (`lifespan` apart).
const HW: [(&str, &str, &str); 29] = [
    ("duplicate_request", "duplicate_requests_packets_total", "The number of received packets. A duplicate request is a request that had been previously executed."),
    ("implied_nak_seq_err", "implied_nak_seq_errors_total", "The number of time the requested decided an ACK. with a PSN larger than the expected PSN for an RDMA read or response."),
    ("local_ack_timeout_err", "local_ack_timeout_errors_total", "The number of times QP's ack timer expired for RC, XRC, DCT QPs at the sender side. The QP retry limit was not exceed, therefore it is still recoverable error."),
    ("np_cnp_sent", "np_cnp_packets_sent_total", "The number of CNP packets sent by the Notification Point when it noticed congestion experienced in the RoCEv2 IP header (ECN bits). The counters was added in MLNX_OFED 4.1"),
    ("np_ecn_marked_roce_packets", "np_ecn_marked_roce_packets_received_total", "The number of RoCEv2 packets received by the notification point which were marked for experiencing the congestion (ECN bits where '11' on the ingress RoCE traffic) . The counters was added in MLNX_OFED 4.1"),
    ("out_of_buffer", "out_of_buffer_drops_total", "The number of drops occurred due to lack of WQE for the associated QPs."),
    ("out_of_sequence", "out_of_sequence_packets_received_total", "The number of out of sequence packets received."),
    ("packet_seq_err", "packet_sequence_errors_total", "The number of received NAK sequence error packets. The QP retry limit was not exceeded."),
    ("req_cqe_error", "req_cqes_errors_total", "The number of times requester detected CQEs completed with errors. The counters was added in MLNX_OFED 4.1"),
    ("req_cqe_flush_error", "req_cqes_flush_errors_total", "The number of times requester detected CQEs completed with flushed errors. The counters was added in MLNX_OFED 4.1"),
    ("req_remote_access_errors", "req_remote_access_errors_total", "The number of times requester detected remote access errors. The counters was added in MLNX_OFED 4.1"),
    ("req_remote_invalid_request", "req_remote_invalid_request_errors_total", "The number of times requester detected remote invalid request errors. The counters was added in MLNX_OFED 4.1"),
    ("resp_cqe_error", "resp_cqes_errors_total", "The number of times responder detected CQEs completed with errors. The counters was added in MLNX_OFED 4.1"),
    ("resp_cqe_flush_error", "resp_cqes_flush_errors_total", "The number of times responder detected CQEs completed with flushed errors. The counters was added in MLNX_OFED 4.1"),
    ("resp_local_length_error", "resp_local_length_errors_total", "The number of times responder detected local length errors. The counters was added in MLNX_OFED 4.1"),
    ("resp_remote_access_errors", "resp_remote_access_errors_total", "The number of times responder detected remote access errors. The counters was added in MLNX_OFED 4.1"),
    ("rnr_nak_retry_err", "rnr_nak_retry_packets_received_total", "The number of received RNR NAK packets. The QP retry limit was not exceeded."),
    ("roce_adp_retrans", "roce_adp_retransmits_total", "The number of adaptive retransmissions for RoCE traffic. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0"),
    ("roce_adp_retrans_to", "roce_adp_retransmits_timeout_total", "The number of times RoCE traffic reached timeout due to adaptive retransmission. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0"),
    ("roce_slow_restart", "roce_slow_restart_used_total", "The number of times RoCE slow restart was used. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0"),
    ("roce_slow_restart_cnps", "roce_slow_restart_cnps_total", "The number of times RoCE slow restart generated CNP packets. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0"),
    ("roce_slow_restart_trans", "roce_slow_restart_total", "The number of times RoCE slow restart changed state to slow restart. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0"),
    ("rp_cnp_handled", "rp_cnp_packets_handled_total", "The number of CNP packets handled by the Reaction Point HCA to throttle the transmission rate. The counters was added in MLNX_OFED 4.1"),
    ("rp_cnp_ignored", "rp_cnp_ignored_packets_received_total", "The number of CNP packets received and ignored by the Reaction Point HCA. This counter should not raise if RoCE Congestion Control was enabled in the network. If this counter raise, verify that ECN was enabled on the adapter."),
    ("rx_atomic_requests", "rx_atomic_requests_total", "The number of received ATOMIC request for the associated QPs."),
    ("rx_dct_connect", "rx_dct_connect_requests_total", "The number of received connection requests for the associated DCTs."),
    ("rx_icrc_encapsulated", "rx_icrc_encapsulated_errors_total", "The number of RoCE packets with ICRC errors. This counter was added in MLNX_OFED 4.4 and kernel 4.19"),
    ("rx_read_requests", "rx_read_requests_total", "The number of received READ requests for the associated QPs."),
    ("rx_write_requests", "rx_write_requests_total", "The number of received WRITE requests for the associated QPs."),
];

/// A trimmed attribute, or `None` if it cannot be read.
fn attr(path: &Path) -> Option<String> {
    read_capped(path, ATTR_CAP)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// `4: ACTIVE` to 4 (procfs' `parseState`: exactly one colon, a decimal id that fits 32 bits).
fn state_id(s: &str) -> Option<u64> {
    let (id, name) = s.split_once(':')?;
    if name.contains(':') {
        return None;
    }
    id.trim().parse::<u32>().ok().map(u64::from)
}

/// `100 Gb/sec (4X EDR)` to bytes a second: the first word as a 32-bit float, times
/// 125 000 000, truncated (procfs' `parseRate`).
fn rate(s: &str) -> Option<u64> {
    let (first, _) = s.split_once(' ')?;
    let gbps = first.trim().parse::<f32>().ok()? as f64;
    let bytes = gbps * 125_000_000.0;
    // Go's uint64(float64) of a negative or huge value is not defined; leave those out.
    (bytes.is_finite() && (0.0..1.8e19).contains(&bytes)).then_some(bytes as u64)
}

/// Reads `dir`'s files named in `table` into `out` as counters of `device`/`port`.
fn counters(
    out: &mut Samples,
    dir: &Path,
    table: &[(&str, &'static str, bool, &'static str)],
    labels: &[(&'static str, String)],
) {
    for (file, metric, words, help) in table {
        let Some(v) = attr(&dir.join(file)).and_then(|v| parse_uint(&v)) else {
            continue; // missing, unreadable, or `N/A (no PMA)`
        };
        let v = if *words { v.wrapping_mul(4) } else { v };
        out.push(
            format!("node_infiniband_{metric}"),
            Kind::Counter,
            *help,
            labels.to_vec(),
            v as f64,
        );
    }
}

impl Family for InfinibandFamily {
    fn name(&self) -> &'static str {
        "infiniband"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let class = roots.sys("class/infiniband");
        if !crate::read::procfs::is_dir(&class) {
            return Ok(Arc::new(NoData));
        }
        let mut out = Samples::default();
        for name in sorted_entries(&class) {
            let device = name.to_string_lossy().into_owned();
            let dir = class.join(&name);
            // fw_ver is there for every driver since 4.10; without it this is not a device.
            let Some(firmware) = attr(&dir.join("fw_ver")) else {
                continue;
            };
            let info = [
                ("board_id", attr(&dir.join("board_id")).unwrap_or_default()),
                ("device", device.clone()),
                ("firmware_version", firmware),
                ("hca_type", attr(&dir.join("hca_type")).unwrap_or_default()),
            ];
            out.push(
                "node_infiniband_info",
                Kind::Gauge,
                "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
                info.to_vec(),
                1.0,
            );
            for port in sorted_entries(&dir.join("ports")) {
                let Some(number) = port.to_str().and_then(|p| p.parse::<u32>().ok()) else {
                    continue;
                };
                let pdir = dir.join("ports").join(&port);
                let (Some(state), Some(phys), Some(rate)) = (
                    attr(&pdir.join("state")).as_deref().and_then(state_id),
                    attr(&pdir.join("phys_state")).as_deref().and_then(state_id),
                    attr(&pdir.join("rate")).as_deref().and_then(rate),
                ) else {
                    continue;
                };
                let labels = vec![("device", device.clone()), ("port", number.to_string())];
                for (metric, help, v) in [
                    ("node_infiniband_state_id", "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)", state),
                    ("node_infiniband_physical_state_id", "Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, 4: shift, 5: link up, 6: link error recover, 7: phytest)", phys),
                    ("node_infiniband_rate_bytes_per_second", "Maximum signal transfer rate", rate),
                ] {
                    out.push(metric, Kind::Gauge, help, labels.clone(), v as f64);
                }
                if !device.starts_with("irdma") && !device.starts_with("nvs_") {
                    counters(&mut out, &pdir.join("counters"), &COUNTERS, &labels);
                    counters(&mut out, &pdir.join("counters_ext"), &LEGACY, &labels);
                }
                if device.starts_with("irdma") || device.starts_with("mlx5_") {
                    let hw = pdir.join("hw_counters");
                    if let Some(ms) = attr(&hw.join("lifespan")).and_then(|v| parse_uint(&v)) {
                        out.push(
                            "node_infiniband_lifespan_seconds",
                            Kind::Gauge,
                            "The maximum period in ms which defines the aging of the counter reads. Two consecutive reads within this period might return the same values.",
                            labels.clone(),
                            (ms / 1000) as f64,
                        );
                    }
                    let table: Vec<_> = HW.iter().map(|(f, m, h)| (*f, *m, false, *h)).collect();
                    counters(&mut out, &hw, &table, &labels);
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
    fn vm_has_a_roce_and_an_infiniband_adapter() {
        let t = run(&REGISTRATION, "vm");
        let p = |m: &str, d: &str, port: u32| {
            format!("node_infiniband_{m}{{device=\"{d}\",port=\"{port}\"}}")
        };
        assert_values(
            &t,
            &[
                ("node_infiniband_info{board_id=\"MT_0000000080\",device=\"mlx5_0\",firmware_version=\"16.35.2000\",hca_type=\"MT4119\"}", 1.0),
                (&p("state_id", "mlx4_0", 2), 1.0),
                (&p("physical_state_id", "mlx4_0", 2), 3.0),
                (&p("rate_bytes_per_second", "mlx4_0", 1), 5e9),
                (&p("rate_bytes_per_second", "mlx5_0", 1), 3.125e9),
                // Words of 4 bytes.
                (&p("port_data_received_bytes_total", "mlx4_0", 1), 4.0 * 4_294_967_295.0),
                (&p("port_data_transmitted_bytes_total", "mlx5_0", 1), 4.0 * 15.0 * 1013.0),
                (&p("legacy_data_transmitted_bytes_total", "mlx4_0", 2), 4.0 * 2.0 * 987_654_321.0),
                (&p("legacy_packets_received_total", "mlx4_0", 2), 22.0),
                (&p("vl15_dropped_total", "mlx5_0", 1), 22.0 * 1013.0),
                // mlx5's hw counters; lifespan 12 ms is 0 whole seconds.
                (&p("lifespan_seconds", "mlx5_0", 1), 0.0),
                (&p("out_of_buffer_drops_total", "mlx5_0", 1), 49.0),
                (&p("rx_write_requests_total", "mlx5_0", 1), 1_844_674_407_370_955_161.0),
            ],
        );
        // N/A (no PMA) is left out; mlx4 has no hw counters.
        assert!(!t.contains(&p("vl15_dropped_total", "mlx4_0", 1)));
        assert!(!t.contains(&p("out_of_buffer_drops_total", "mlx4_0", 1)));
        assert!(t.contains("# TYPE node_infiniband_port_transmit_wait_total counter\n"));
        assert!(t.contains("# TYPE node_infiniband_state_id gauge\n"));
    }

    #[test]
    fn states_and_rates_as_procfs_reads_them() {
        assert_eq!(state_id("4: ACTIVE"), Some(4));
        assert_eq!(state_id("5: LinkUp"), Some(5));
        for bad in ["ACTIVE", "a: b", "1: 2: 3", "4294967296: X", "-1: X", ""] {
            assert_eq!(state_id(bad), None, "{bad}");
        }
        assert_eq!(rate("100 Gb/sec (4X EDR)"), Some(12_500_000_000));
        assert_eq!(rate("2.5 Gb/sec (1X SDR)"), Some(312_500_000));
        for bad in ["100", "x Gb/sec", "-5 Gb/sec", "1e40 Gb/sec", "NaN Gb/sec"] {
            assert_eq!(rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn hostile_devices_and_ports_are_left_out_alone() {
        let t = run(&REGISTRATION, "hostile");
        // mlx5_9 is a device (it has fw_ver), its port's state is not `ID: NAME`: no port
        // series; `nofw` has no fw_ver: not a device.
        assert!(t.contains("node_infiniband_info{board_id=\"\",device=\"mlx5_9\",firmware_version=\"1.0\",hca_type=\"\"} 1\n"), "{t}");
        assert!(!t.contains("port=") && !t.contains("nofw"), "{t}");
    }

    #[test]
    fn no_class_is_no_data() {
        let h = InfinibandFamily.harvest(&fixture("pi")).unwrap();
        assert!(h.no_data());
    }
}
