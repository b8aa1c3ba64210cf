//! `GET /metrics`: the Prometheus text exposition format (0.0.4), rendered from the latest
//! snapshot. Nothing is collected per scrape, so a scrape costs formatting only.
//!
//! Names and labels follow node_exporter wherever it has a counterpart, so existing Grafana
//! dashboards ("Node Exporter Full" and friends) work; the rest is under `psmonitor_`.

use crate::collect::Snapshot;
use crate::exposition::{Encoder, Kind};

/// Live figures that are not part of a snapshot.
pub struct Live {
    pub clients: usize,
    pub snapshots: u64,
    pub frames: u64,
    pub pending_workers: usize,
    pub history_points: usize,
    pub history_capacity: usize,
}

/// Renders the families that depend only on the snapshot. The sampler's snapshot changes once
/// per interval, so the caller renders this once per snapshot and keeps it
/// (`Published::metrics`); [`render_live`] adds the rest per scrape. Without `own`
/// (`--web.disable-exporter-metrics`), psmonitor's figures about itself are left out:
/// `process_*` and the sampler's cost, as node_exporter leaves out its `process_*`/`go_*`.
pub fn render_snapshot(s: &Snapshot, own: bool) -> String {
    let mut enc = Encoder::default();
    let (g, k) = (Kind::Gauge, Kind::Counter);
    let e = &mut enc;
    e.one(
        "psmonitor_cpu_usage_percent",
        g,
        "CPU busy over the last sampler interval, percent of all CPUs.",
        &[],
        s.system.cpu.usage,
    );
    let mut f = e.family(
        "psmonitor_cpu_core_usage_percent",
        g,
        "Per-CPU busy over the last sampler interval, percent.",
    );
    for (n, c) in s.cpu.numbers.iter().zip(&s.system.cpu.cores) {
        f.sample(&[("cpu", &n.to_string())], *c);
    }
    if let Some(t) = s.system.cpu.temp {
        let sensor = s.system.cpu.temp_sensor.as_deref().unwrap_or("");
        e.one(
            "psmonitor_cpu_temp_celsius",
            g,
            "CPU package temperature from the best sensor.",
            &[("sensor", sensor)],
            t,
        );
    }
    let mut f = e.family(
        "psmonitor_process_resident_memory_bytes",
        g,
        "Resident memory of the top 10 process groups (by name).",
    );
    for grp in s.processes.groups.iter().take(10) {
        f.sample(&[("name", &grp.name)], grp.rss as f64);
    }
    let procs = s.system.process_count as f64;
    e.one(
        "psmonitor_processes",
        g,
        "Processes on the host (threads not counted).",
        &[],
        procs,
    );
    if own {
        e.one(
            "psmonitor_sampler_duration_seconds",
            g,
            "How long the last snapshot took to collect.",
            &[],
            s.cost.as_secs_f64(),
        );
        e.one(
            "psmonitor_process_scan_cpu_seconds_total",
            k,
            "CPU time the sampler spent scanning /proc for processes.",
            &[],
            s.scan_cpu_seconds,
        );
        e.one(
            "psmonitor_process_scans_total",
            k,
            "Scans of /proc for processes (fewer than snapshots when over the CPU budget).",
            &[],
            s.scans as f64,
        );
        s.own.render(e);
    }
    let version = [("version", env!("CARGO_PKG_VERSION"))];
    e.one(
        "psmonitor_build_info",
        g,
        "psmonitor version.",
        &version,
        1.0,
    );
    render_families(&s.harvests, e);
    enc.finish()
}

/// Each family's harvest, then node_exporter's `node_scrape_collector_*` for them.
pub fn render_families(harvests: &[crate::collect::family::Harvested], enc: &mut Encoder) {
    for h in harvests {
        if let Ok(r) = &h.result {
            r.render(enc);
        }
    }
    let mut f = enc.family(
        "node_scrape_collector_duration_seconds",
        Kind::Gauge,
        "node_exporter: Duration of a collector scrape.",
    );
    for h in harvests {
        f.sample(&[("collector", h.name)], h.took.as_secs_f64());
    }
    let mut f = enc.family(
        "node_scrape_collector_success",
        Kind::Gauge,
        "node_exporter: Whether a collector succeeded.",
    );
    for h in harvests {
        let ok = h.result.as_ref().is_ok_and(|r| !r.no_data());
        f.sample(&[("collector", h.name)], f64::from(u8::from(ok)));
    }
}

/// Appends the families that change between snapshots (sessions, workers, counters).
pub fn render_live(live: &Live) -> String {
    let mut e = Encoder::default();
    let (g, k) = (Kind::Gauge, Kind::Counter);
    for (name, kind, help, v) in [
        (
            "psmonitor_websocket_clients",
            g,
            "Open websocket sessions.",
            live.clients,
        ),
        (
            "psmonitor_snapshots_total",
            k,
            "Snapshots the sampler has taken.",
            live.snapshots as usize,
        ),
        (
            "psmonitor_websocket_frames_total",
            k,
            "Frames handed to websocket sessions.",
            live.frames as usize,
        ),
        (
            "psmonitor_workers_pending",
            g,
            "Workers registered by POST / and not yet claimed.",
            live.pending_workers,
        ),
        (
            "psmonitor_history_points",
            g,
            "Points held in every tier of the /history history.",
            live.history_points,
        ),
        (
            "psmonitor_history_capacity_points",
            g,
            "Points the finest tier of /history holds at most (--history / --interval).",
            live.history_capacity,
        ),
    ] {
        e.one(name, kind, help, &[], v as f64);
    }
    e.finish()
}
