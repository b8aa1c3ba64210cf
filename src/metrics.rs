//! `GET /metrics`: the Prometheus text exposition format (0.0.4), rendered from the latest
//! snapshot. Nothing is collected per scrape, so a scrape costs formatting only.
//!
//! Names and labels follow node_exporter wherever it has a counterpart, so existing Grafana
//! dashboards ("Node Exporter Full" and friends) work; the rest is under `psmonitor_`.

use crate::collect::cpu::MODES;
use crate::collect::Snapshot;
use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Live figures that are not part of a snapshot.
pub struct Live {
    pub clients: usize,
    pub snapshots: u64,
    pub frames: u64,
    pub pending_workers: usize,
    pub history_points: usize,
    pub history_capacity: usize,
}

/// Escapes a label value: backslash, double quote and newline.
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A metric family's type, as the `# TYPE` line says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Untyped,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Untyped => "untyped",
        }
    }
}

/// The text encoder: families with their `# HELP` and `# TYPE` lines, then their samples.
/// A family with no samples writes nothing (as the Prometheus client libraries do).
#[derive(Debug, Default)]
pub struct Encoder {
    out: String,
}

impl Encoder {
    /// Starts the family `name`; its header is written with its first sample.
    pub fn family<'a>(&'a mut self, name: &'a str, kind: Kind, help: &'a str) -> Fam<'a> {
        Fam {
            enc: self,
            name,
            kind,
            help,
            started: false,
        }
    }

    /// A family with a single sample.
    pub fn one(&mut self, name: &str, kind: Kind, help: &str, labels: &[(&str, &str)], v: f64) {
        self.family(name, kind, help).sample(labels, v);
    }

    /// Text passed on as it is (the textfile family's validated files).
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            self.out.push('\n');
        }
    }

    /// The exposition so far.
    pub fn text(&self) -> &str {
        &self.out
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A family being written: each sample repeats only its labels and value.
pub struct Fam<'a> {
    enc: &'a mut Encoder,
    name: &'a str,
    kind: Kind,
    help: &'a str,
    started: bool,
}

impl Fam<'_> {
    /// One sample; label values are escaped.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        let out = &mut self.enc.out;
        if !self.started {
            self.started = true;
            let _ = writeln!(out, "# HELP {} {}", self.name, escape_help(self.help));
            let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind.as_str());
        }
        out.push_str(self.name);
        if !labels.is_empty() {
            out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{k}=\"{}\"", escape(v));
            }
            out.push('}');
        }
        let _ = writeln!(out, " {}", fmt(value));
    }
}

/// Escapes HELP text: backslash and newline.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// The old one-family writer, kept while the remaining families move to [`Encoder`].
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", fmt(value));
    }
}

fn family<'a>(out: &'a mut String, name: &str, kind: &str, help: &str) -> Family<'a> {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    Family { out }
}

/// Renders the families that depend only on the snapshot. The sampler's snapshot changes once
/// per interval, so the caller renders this once per snapshot and keeps it
/// (`Published::metrics`); [`render_live`] adds the rest per scrape.
pub fn render_snapshot(s: &Snapshot) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let o = &mut out;
    let hz = s.clock_ticks;

    let mut f = family(
        o,
        "node_cpu_seconds_total",
        "counter",
        "Seconds the CPUs spent in each mode.",
    );
    for (i, t) in s.cpu_times.iter().enumerate() {
        let cpu = i.to_string();
        for (m, mode) in MODES.iter().enumerate() {
            f.sample(
                "node_cpu_seconds_total",
                &[("cpu", &cpu), ("mode", mode)],
                t.0[m] as f64 / hz,
            );
        }
    }
    let load = s.system.load;
    for (name, v) in [
        ("node_load1", load[0]),
        ("node_load5", load[1]),
        ("node_load15", load[2]),
    ] {
        family(o, name, "gauge", "Load average.").sample(name, &[], v);
    }
    let m = &s.mem;
    for (name, v, help) in [
        (
            "node_memory_MemTotal_bytes",
            m.total,
            "Memory information field MemTotal_bytes.",
        ),
        (
            "node_memory_MemFree_bytes",
            m.free,
            "Memory information field MemFree_bytes.",
        ),
        (
            "node_memory_MemAvailable_bytes",
            m.available,
            "Memory information field MemAvailable_bytes.",
        ),
        (
            "node_memory_Buffers_bytes",
            m.buffers,
            "Memory information field Buffers_bytes.",
        ),
        (
            "node_memory_Cached_bytes",
            m.cached,
            "Memory information field Cached_bytes (with SReclaimable).",
        ),
        (
            "node_memory_SwapTotal_bytes",
            m.swap_total,
            "Memory information field SwapTotal_bytes.",
        ),
        (
            "node_memory_SwapFree_bytes",
            m.swap_free,
            "Memory information field SwapFree_bytes.",
        ),
    ] {
        family(o, name, "gauge", help).sample(name, &[], v as f64);
    }
    for (name, help, pick) in [
        ("node_filesystem_size_bytes", "Filesystem size in bytes.", 0),
        (
            "node_filesystem_free_bytes",
            "Filesystem free space in bytes.",
            1,
        ),
        (
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.",
            2,
        ),
    ] {
        let mut f = family(o, name, "gauge", help);
        for (mount, b) in &s.disks {
            let v = [b.size, b.free, b.avail][pick];
            let labels = [
                ("device", mount.device.as_str()),
                ("fstype", &mount.fstype),
                ("mountpoint", &mount.mountpoint),
            ];
            f.sample(name, &labels, v as f64);
        }
    }
    let (zones, chips): (Vec<_>, Vec<_>) = s
        .system
        .sensors
        .iter()
        .partition(|x| x.label.starts_with("thermal_zone"));
    let mut f = family(
        o,
        "node_hwmon_temp_celsius",
        "gauge",
        "Hardware monitor for temperature (input).",
    );
    for x in chips {
        f.sample(
            "node_hwmon_temp_celsius",
            &[("chip", &x.name), ("sensor", &x.label)],
            x.temp,
        );
    }
    let mut f = family(
        o,
        "node_thermal_zone_temp",
        "gauge",
        "Zone temperature in Celsius.",
    );
    for x in zones {
        let zone = x.label.trim_start_matches("thermal_zone");
        f.sample(
            "node_thermal_zone_temp",
            &[("type", &x.name), ("zone", zone)],
            x.temp,
        );
    }
    let taken = s
        .taken
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    family(
        o,
        "node_boot_time_seconds",
        "gauge",
        "Node boot time, in unixtime.",
    )
    .sample(
        "node_boot_time_seconds",
        &[],
        (taken - s.system.uptime_seconds as f64).round(),
    );
    let u = &s.uname;
    family(
        o,
        "node_uname_info",
        "gauge",
        "Labeled system information as provided by the uname system call.",
    )
    .sample(
        "node_uname_info",
        &[
            ("domainname", &u.domainname),
            ("machine", &u.machine),
            ("nodename", &s.system.hostname),
            ("release", &s.system.platform.kernel),
            ("sysname", &u.sysname),
            ("version", &u.version),
        ],
        1.0,
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    family(
        o,
        "node_time_seconds",
        "gauge",
        "System time in seconds since epoch (1970).",
    )
    .sample("node_time_seconds", &[], now);

    family(
        o,
        "psmonitor_cpu_usage_percent",
        "gauge",
        "CPU busy over the last sampler interval, percent of all CPUs.",
    )
    .sample("psmonitor_cpu_usage_percent", &[], s.system.cpu.usage);
    let mut f = family(
        o,
        "psmonitor_cpu_core_usage_percent",
        "gauge",
        "Per-CPU busy over the last sampler interval, percent.",
    );
    for (i, c) in s.system.cpu.cores.iter().enumerate() {
        f.sample(
            "psmonitor_cpu_core_usage_percent",
            &[("cpu", &i.to_string())],
            *c,
        );
    }
    if let Some(t) = s.system.cpu.temp {
        family(
            o,
            "psmonitor_cpu_temp_celsius",
            "gauge",
            "CPU package temperature from the best sensor.",
        )
        .sample(
            "psmonitor_cpu_temp_celsius",
            &[("sensor", s.system.cpu.temp_sensor.as_deref().unwrap_or(""))],
            t,
        );
    }
    let mut f = family(
        o,
        "psmonitor_process_resident_memory_bytes",
        "gauge",
        "Resident memory of the top 10 process groups (by name).",
    );
    for g in s.processes.groups.iter().take(10) {
        f.sample(
            "psmonitor_process_resident_memory_bytes",
            &[("name", &g.name)],
            g.rss as f64,
        );
    }
    family(
        o,
        "psmonitor_processes",
        "gauge",
        "Processes on the host (threads not counted).",
    )
    .sample("psmonitor_processes", &[], s.system.process_count as f64);
    family(
        o,
        "psmonitor_sampler_duration_seconds",
        "gauge",
        "How long the last snapshot took to collect.",
    )
    .sample(
        "psmonitor_sampler_duration_seconds",
        &[],
        s.cost.as_secs_f64(),
    );
    family(
        o,
        "psmonitor_process_scan_cpu_seconds_total",
        "counter",
        "CPU time the sampler spent scanning /proc for processes.",
    )
    .sample(
        "psmonitor_process_scan_cpu_seconds_total",
        &[],
        s.scan_cpu_seconds,
    );
    family(
        o,
        "psmonitor_process_scans_total",
        "counter",
        "Scans of /proc for processes (fewer than snapshots when over the CPU budget).",
    )
    .sample("psmonitor_process_scans_total", &[], s.scans as f64);
    family(o, "psmonitor_build_info", "gauge", "psmonitor version.").sample(
        "psmonitor_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    let mut enc = Encoder::default();
    s.own.render(&mut enc);
    render_families(&s.harvests, &mut enc);
    out.push_str(enc.text());
    out
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
pub fn render_live(o: &mut String, live: &Live) {
    family(
        o,
        "psmonitor_websocket_clients",
        "gauge",
        "Open websocket sessions.",
    )
    .sample("psmonitor_websocket_clients", &[], live.clients as f64);
    family(
        o,
        "psmonitor_snapshots_total",
        "counter",
        "Snapshots the sampler has taken.",
    )
    .sample("psmonitor_snapshots_total", &[], live.snapshots as f64);
    family(
        o,
        "psmonitor_websocket_frames_total",
        "counter",
        "Frames handed to websocket sessions.",
    )
    .sample("psmonitor_websocket_frames_total", &[], live.frames as f64);
    family(
        o,
        "psmonitor_workers_pending",
        "gauge",
        "Workers registered by POST / and not yet claimed.",
    )
    .sample(
        "psmonitor_workers_pending",
        &[],
        live.pending_workers as f64,
    );
    family(
        o,
        "psmonitor_history_points",
        "gauge",
        "Points held in the /history ring buffer.",
    )
    .sample("psmonitor_history_points", &[], live.history_points as f64);
    family(
        o,
        "psmonitor_history_capacity_points",
        "gauge",
        "Points the /history ring buffer holds at most.",
    )
    .sample(
        "psmonitor_history_capacity_points",
        &[],
        live.history_capacity as f64,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(fmt(f64::NAN), "NaN");
        assert_eq!(fmt(1.5), "1.5");
        assert_eq!(fmt(3.0), "3");
    }
}
