//! node_exporter's command lines, run as they are written in existing systemd units.

mod common;
use common::{request, Server};

fn metrics(s: &Server, path: &str) -> String {
    let r = request(s.addr, "GET", path, &[], b"");
    assert_eq!(r.status, 200, "{path}");
    r.text()
}

/// An empty exclude is no filter (node_exporter's `NewDeviceFilter`): the usual way to undo
/// Debian's default `^lo$` shows the loopback device.
#[test]
fn empty_netdev_exclude_shows_lo() {
    let lo = "node_network_receive_bytes_total{device=\"lo\"}";
    let s = Server::start(&[]);
    let text = metrics(&s, "/metrics");
    assert!(text.contains("node_network_receive_bytes_total{"), "{text}");
    assert!(!text.contains(lo), "Debian's default leaves lo out");
    let s = Server::start(&["--collector.netdev.device-exclude="]);
    let text = metrics(&s, "/metrics");
    assert!(text.contains(lo), "{text}");
}
