//! `GET /metrics`: the Prometheus text exposition format (0.0.4), rendered from the latest
//! snapshot. Nothing is collected per scrape, so a scrape costs formatting only.
//!
//! Names and labels follow node_exporter wherever it has a counterpart, so existing Grafana
//! dashboards ("Node Exporter Full" and friends) work; the rest is under `psmonitor_`.

use crate::collect::Snapshot;
use crate::exposition::{Encoder, Kind};
use std::ops::Range;

/// Live figures that are not part of a snapshot.
pub struct Live {
    pub clients: usize,
    pub snapshots: u64,
    pub frames: u64,
    pub pending_workers: usize,
    pub history_points: usize,
    pub history_capacity: usize,
}

/// The snapshot's part of `/metrics`, and where each part of it lies, so that a scrape that
/// names its collectors (node_exporter's `collect[]`, `exclude[]`) is served by copying the
/// slices it wants of this text, never by rendering or collecting again.
pub struct Rendered {
    pub text: String,
    /// psmonitor's figures about itself and `psmonitor_build_info`, which every scrape gets
    /// (as node_exporter's filtered scrapes keep its own `process_*`, `go_*` and build info).
    own: Range<usize>,
    /// Each family's text, by collector name.
    families: Vec<(&'static str, Range<usize>)>,
    /// Where `node_scrape_collector_*` starts: the text's tail, a sample a line per collector.
    scrape: usize,
}

impl Rendered {
    /// The text of a scrape that wants only the collectors `keep` says yes to: the figures
    /// every scrape gets, those families, and their `node_scrape_collector_*` samples.
    pub fn only(&self, keep: impl Fn(&str) -> bool) -> String {
        let mut out = String::with_capacity(self.own.len() + 4096);
        out.push_str(&self.text[self.own.clone()]);
        for (name, range) in &self.families {
            if keep(name) {
                out.push_str(&self.text[range.clone()]);
            }
        }
        // The `# HELP`/`# TYPE` lines go out with the first sample kept after them.
        let mut header = String::new();
        for line in self.text[self.scrape..].lines() {
            let Some((_, rest)) = line.split_once("{collector=\"") else {
                header.push_str(line);
                header.push('\n');
                continue;
            };
            if keep(rest.split('"').next().unwrap_or_default()) {
                out.push_str(&header);
                header.clear();
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

/// Renders the families that depend only on the snapshot. The sampler's snapshot changes once
/// per interval, so the caller renders this once per snapshot and keeps it
/// (`Published::metrics`); [`render_live`] adds the rest per scrape. Without `own`
/// (`--web.disable-exporter-metrics`), psmonitor's figures about itself are left out:
/// `process_*` and the sampler's cost, as node_exporter leaves out its `process_*`/`go_*`.
pub fn render_snapshot(s: &Snapshot, own: bool) -> Rendered {
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
    let own_start = e.len();
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
    let own = own_start..e.len();
    let (families, scrape) = render_families(&s.harvests, e);
    Rendered {
        text: enc.finish(),
        own,
        families,
        scrape,
    }
}

/// Each family's harvest, then node_exporter's `node_scrape_collector_*` for them; where each
/// family's text lies, and where `node_scrape_collector_*` starts.
fn render_families(
    harvests: &[crate::collect::family::Harvested],
    enc: &mut Encoder,
) -> (Vec<(&'static str, Range<usize>)>, usize) {
    let mut families = Vec::with_capacity(harvests.len());
    for h in harvests {
        let start = enc.len();
        if let Ok(r) = &h.result {
            r.render(enc);
        }
        families.push((h.name, start..enc.len()));
    }
    let scrape = enc.len();
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
    (families, scrape)
}

/// The collectors a scrape names with node_exporter's `collect[]` (only these) or
/// `exclude[]` (all enabled but these), from the decoded query; `None` when it names none
/// (every enabled one). As node_exporter: a `collect[]` name that is no collector, or one not
/// enabled, is an error, and so is giving both; an `exclude[]` name that is not enabled
/// excludes nothing. Excluding every enabled one is an error here (node_exporter then serves
/// them all, the inverse of what was asked). `Err` is (the parameter, why).
pub fn selection(
    pairs: &[(String, String)],
    enabled: &[&'static str],
) -> Result<Option<Vec<&'static str>>, (&'static str, String)> {
    let named = |key: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (collect, exclude) = (named("collect[]"), named("exclude[]"));
    if !collect.is_empty() && !exclude.is_empty() {
        return Err((
            "exclude[]",
            "collect[] and exclude[] do not go together".into(),
        ));
    }
    if !exclude.is_empty() {
        let kept: Vec<&'static str> = enabled
            .iter()
            .copied()
            .filter(|n| !exclude.contains(n))
            .collect();
        if kept.is_empty() {
            return Err(("exclude[]", "every enabled collector is excluded".into()));
        }
        return Ok(Some(kept));
    }
    if collect.is_empty() {
        return Ok(None);
    }
    let mut kept = Vec::with_capacity(collect.len());
    for name in collect {
        let Some(r) = crate::collect::families::find(name) else {
            return Err((
                "collect[]",
                format!("no collector '{name}' (psmonitor --help lists them)"),
            ));
        };
        if !enabled.contains(&r.name) {
            return Err((
                "collect[]",
                format!("collector '{name}' is not enabled (--collector.{name} turns it on)"),
            ));
        }
        if !kept.contains(&r.name) {
            kept.push(r.name);
        }
    }
    Ok(Some(kept))
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

#[cfg(test)]
mod tests {
    use super::{render_families, selection, Rendered};
    use crate::collect::family::{testing::fixture, Harvested, Settings};
    use crate::exposition::{Encoder, Kind};

    /// The text `render_snapshot` would make of these families on the Pi fixture: a host
    /// figure, then psmonitor's own, then the families.
    fn rendered(names: &[&str]) -> Rendered {
        let harvests: Vec<Harvested> = names
            .iter()
            .map(|n| {
                let r = crate::collect::families::find(n).unwrap();
                Harvested {
                    name: r.name,
                    result: (r.make)(&Settings::default()).harvest(&fixture("pi")),
                    took: std::time::Duration::from_micros(5),
                }
            })
            .collect();
        let mut e = Encoder::default();
        e.one("psmonitor_processes", Kind::Gauge, "Processes.", &[], 9.0);
        let own_start = e.len();
        e.one("psmonitor_build_info", Kind::Gauge, "Version.", &[], 1.0);
        let own = own_start..e.len();
        let (families, scrape) = render_families(&harvests, &mut e);
        Rendered {
            text: e.finish(),
            own,
            families,
            scrape,
        }
    }

    /// `collect[]=loadavg` is loadavg's text, psmonitor's own figures and loadavg's
    /// node_scrape_collector_* series, cut out of the text every scrape shares.
    #[test]
    fn a_scrape_naming_collectors_gets_their_slices() {
        let r = rendered(&["loadavg", "meminfo", "stat"]);
        let text = r.only(|n| n == "loadavg");
        for want in [
            "\nnode_load1 ",
            "psmonitor_build_info 1\n",
            "node_scrape_collector_success{collector=\"loadavg\"} 1\n",
            "# TYPE node_scrape_collector_duration_seconds gauge\n",
        ] {
            assert!(text.contains(want), "{want} missing:\n{text}");
        }
        for not in [
            "node_memory_",
            "node_boot_time",
            "meminfo",
            "psmonitor_processes",
        ] {
            assert!(!text.contains(not), "{not} there:\n{text}");
        }
        // Every family's slice, in order, is the whole text past the host figures.
        assert_eq!(r.only(|_| true), r.text[r.own.start..]);
        // No collector: no node_scrape_collector_* headers without samples either.
        assert_eq!(r.only(|_| false), "# HELP psmonitor_build_info Version.\n# TYPE psmonitor_build_info gauge\npsmonitor_build_info 1\n");
        let two = r.only(|n| n == "stat" || n == "meminfo");
        assert!(two.contains("node_memory_MemTotal_bytes") && two.contains("node_boot_time"));
        assert!(!two.contains("node_load1"));
    }

    /// node_exporter's `collect[]`/`exclude[]` rules.
    #[test]
    fn collect_and_exclude() {
        let enabled = ["cpu", "loadavg", "meminfo"];
        let q = |q: &str| selection(&crate::http::parse_query(q), &enabled);
        assert_eq!(q("").unwrap(), None);
        assert_eq!(q("other=1&collect=cpu").unwrap(), None);
        assert_eq!(
            q("collect[]=meminfo&collect%5B%5D=cpu").unwrap(),
            Some(vec!["meminfo", "cpu"])
        );
        assert_eq!(q("collect[]=cpu&collect[]=cpu").unwrap(), Some(vec!["cpu"]));
        assert_eq!(
            q("exclude[]=cpu&exclude[]=zfs").unwrap(),
            Some(vec!["loadavg", "meminfo"])
        );
        for (bad, parameter, says) in [
            (
                "collect[]=cpu&collect[]=bogus",
                "collect[]",
                "no collector 'bogus'",
            ),
            ("collect[]=", "collect[]", "no collector ''"),
            ("collect[]=CPU", "collect[]", "no collector 'CPU'"),
            (
                "collect[]=zfs",
                "collect[]",
                "collector 'zfs' is not enabled",
            ),
            (
                "collect[]=cpu&exclude[]=cpu",
                "exclude[]",
                "do not go together",
            ),
            (
                "exclude[]=cpu&exclude[]=loadavg&exclude[]=meminfo",
                "exclude[]",
                "every enabled",
            ),
        ] {
            let (p, why) = q(bad).expect_err(bad);
            assert_eq!(p, parameter, "{bad}");
            assert!(why.contains(says), "{bad}: {why}");
        }
    }
}
