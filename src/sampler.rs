//! The sampler thread: the only place that collects.
//!
//! Every interval it takes one [`Snapshot`], serialises it to JSON once, stores the result as
//! the "latest" that HTTP handlers copy from, and hands the websocket frames to the [`Hub`].

use crate::collect::{Collector, Snapshot};
use crate::fanout::{Frames, Hub};
use crate::history::History;
use crate::model::{round, Summary, WorstDisk};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::{Duration, Instant};
use tungstenite::Utf8Bytes;

/// After a scrape of `/metrics`, the metric families are harvested every tick for this long;
/// past it (nobody runs Prometheus against us, the common case of a dashboard-only host) the
/// sampler reads only what the JSON needs, and the families' last harvest is kept for the next
/// scrape, which restarts them. Measured on the 2-vCPU VM: the families cost 2.0 ms of CPU a
/// tick (0.2 % of a core at 1 s), the whole tick 3.8 ms with them and 1.7 ms without.
pub const FAMILIES_WANTED_FOR: Duration = Duration::from_secs(300);

/// One published tick: the snapshot and its serialised forms.
pub struct Published {
    pub snapshot: Snapshot,
    /// `GET /system` body.
    pub system_json: Utf8Bytes,
    /// `GET /network` body.
    pub network_json: Utf8Bytes,
    /// The websocket frames (system with a top-level `uptime`, network, dashboard, summary).
    pub frames: Frames,
    /// When it was published (monotonic), for `/health`.
    pub at: Instant,
    /// The snapshot's part of `/metrics`, rendered by the first scrape that needs it.
    pub metrics: OnceLock<crate::metrics::Rendered>,
    /// The same, gzipped, by the first scrape that asks for gzip.
    pub metrics_gz: OnceLock<crate::gzip::Prefix>,
}

/// The latest published tick and the history, shared with every handler.
pub struct Latest {
    slot: RwLock<Option<Arc<Published>>>,
    ticks: AtomicU64,
    history: Mutex<History>,
    /// Testing hook (hidden flag `--test-wall-offset-file PATH`): seconds to add to the wall
    /// clock of history points, read from this file every tick (a clock jump, on demand).
    wall_offset: Option<std::path::PathBuf>,
    /// When `/metrics` was last scraped, in ms since `epoch` (0: never).
    scraped: AtomicU64,
    epoch: Instant,
}

impl Latest {
    /// Keeps `history_points` raw points of history taken every `interval` (and the coarse
    /// tiers, see [`History`]).
    pub fn new(
        history_points: usize,
        interval: Duration,
        wall_offset: Option<std::path::PathBuf>,
    ) -> Latest {
        Latest {
            slot: RwLock::new(None),
            ticks: AtomicU64::new(0),
            history: Mutex::new(History::new(history_points, interval)),
            wall_offset,
            scraped: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// Notes a scrape of `/metrics`: the families are wanted.
    pub fn scraped(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.scraped.store(ms.max(1), Ordering::Relaxed);
    }

    /// Whether `/metrics` was scraped within [`FAMILIES_WANTED_FOR`].
    pub fn families_wanted(&self) -> bool {
        let at = self.scraped.load(Ordering::Relaxed);
        at != 0
            && self.epoch.elapsed().as_millis() as u64
                <= at + FAMILIES_WANTED_FOR.as_millis() as u64
    }

    /// The history, locked (briefly: the sampler pushes one point per tick).
    pub fn history(&self) -> MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The history's lock itself (for the state directory's writer, which takes it briefly).
    pub fn history_lock(&self) -> &Mutex<History> {
        &self.history
    }

    /// The newest tick, or `None` before the first one.
    pub fn get(&self) -> Option<Arc<Published>> {
        self.slot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Snapshots taken since start.
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    fn set(&self, p: Published) {
        let offset = self.wall_offset.as_ref().map_or(0.0, |f| {
            std::fs::read_to_string(f)
                .ok()
                .and_then(|t| t.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        });
        self.history().push(&p.snapshot, offset);
        *self.slot.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(p));
        self.ticks.fetch_add(1, Ordering::Relaxed);
    }
}

/// Processes in a `stream=dashboard` frame: the top this many by memory and by CPU.
pub const DASHBOARD_PROCESSES: usize = 25;

/// Serialises a snapshot once: the system frame is the system JSON with `"uptime"` spliced in
/// before the closing brace, and the dashboard frame splices the system frame and the network
/// JSON into one object, so no object is serialised twice. `interval` is the sampler's, for
/// the summary frame.
pub fn publish(snapshot: Snapshot, interval: Duration) -> Published {
    let system = serde_json::to_string(&snapshot.system).unwrap_or_else(|_| "{}".into());
    let network = serde_json::to_string(&snapshot.network).unwrap_or_else(|_| "{}".into());
    let uptime = serde_json::to_string(&snapshot.system.platform.uptime).unwrap_or_default();
    let mut frame = String::with_capacity(system.len() + uptime.len() + 12);
    frame.push_str(&system[..system.len() - 1]);
    frame.push_str(",\"uptime\":");
    frame.push_str(&uptime);
    frame.push('}');
    let mut busiest = snapshot.processes.busiest(DASHBOARD_PROCESSES);
    if busiest.is_empty() {
        // As in `/system`: never an empty table (the host has at least us).
        busiest.clone_from(&snapshot.system.processes);
    }
    let processes = serde_json::to_string(&busiest).unwrap_or_else(|_| "[]".into());
    let mut dashboard = String::with_capacity(frame.len() + network.len() + processes.len() + 40);
    for part in [
        "{\"system\":",
        &frame,
        ",\"network\":",
        &network,
        ",\"processes\":",
        &processes,
        "}",
    ] {
        dashboard.push_str(part);
    }
    let summary = serde_json::to_string(&summary(&snapshot, interval)).unwrap_or_default();
    let network: Utf8Bytes = network.into();
    Published {
        snapshot,
        system_json: system.into(),
        network_json: network.clone(),
        frames: Frames {
            system: frame.into(),
            network,
            dashboard: dashboard.into(),
            summary: summary.into(),
        },
        at: Instant::now(),
        metrics: OnceLock::new(),
        metrics_gz: OnceLock::new(),
    }
}

/// The `stream=summary` frame of a snapshot, from the figures `/system` already has.
fn summary(s: &Snapshot, interval: Duration) -> Summary {
    let sys = &s.system;
    // `/` is in `disks` unless the host's root is not a real filesystem (an overlay in a
    // container); `disk` still measures it.
    let root = (sys.disk.total > 0.0 && !sys.disks.iter().any(|d| d.mountpoint == "/"))
        .then_some(("/", sys.disk.percent));
    let disk_worst = sys
        .disks
        .iter()
        .map(|d| (d.mountpoint.as_str(), d.usage.percent))
        .chain(root)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(mountpoint, percent)| WorstDisk {
            mountpoint: mountpoint.to_owned(),
            percent,
        });
    let rate = s.net.total_rate();
    Summary {
        t: sys.timestamp,
        hostname: sys.hostname.clone(),
        uptime_seconds: sys.uptime_seconds,
        cpu: sys.cpu.usage,
        cpu_count: sys.cpu.count,
        temp: sys.cpu.temp,
        mem: sys.mem.percent,
        swap: (s.mem.swap_total > 0).then_some(sys.swap.percent),
        disk: sys.disk.percent,
        disk_worst,
        load: sys.load.map(|l| round(l, 2)),
        net_in: round(rate.rx, 3),
        net_out: round(rate.tx, 3),
        process_count: sys.process_count,
        interval_ms: interval.as_millis() as u64,
    }
}

/// Starts the sampler thread. The first snapshot is published before this returns, so the
/// server never answers "no data yet".
/// `stall_after` is a testing hook: after that long the sampler stops publishing.
pub fn spawn(
    interval: Duration,
    stall_after: Option<Duration>,
    collection: &crate::collect::Collection,
    latest: Arc<Latest>,
    hub: Arc<Hub>,
) -> std::io::Result<()> {
    let started = Instant::now();
    let mut collector = Collector::new(collection);
    latest.set(publish(collector.sample(true), interval));
    std::thread::Builder::new()
        .name("sampler".into())
        .spawn(move || {
            let mut next = Instant::now() + interval;
            let mut trimmer = crate::heap::Trimmer::default();
            loop {
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                }
                // Keep a steady cadence; after a stall (suspend, overload) skip missed ticks.
                next += interval;
                if next < Instant::now() {
                    next = Instant::now() + interval;
                }
                if stall_after.is_some_and(|d| started.elapsed() >= d) {
                    continue;
                }
                let published = publish(collector.sample(latest.families_wanted()), interval);
                hub.publish(&published.frames);
                log::trace!("sampled in {:?}", published.snapshot.cost);
                latest.set(published);
                if trimmer.tick(hub.len()) {
                    log::debug!("sessions left: returned freed memory to the system");
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dashboard frame holds the system frame and the network JSON byte for byte, and the
    /// summary agrees with the system object, on the fixture hosts.
    #[test]
    fn dashboard_and_summary_frames_are_built_from_the_tick() {
        for host in ["pi", "laptop", "vm"] {
            let collection = crate::collect::Collection {
                roots: crate::collect::family::testing::fixture(host),
                ..Default::default()
            };
            let mut collector = Collector::new(&collection);
            collector.sample(false);
            let p = publish(collector.sample(false), Duration::from_millis(250));
            let f = &p.frames;
            let head = format!(
                "{{\"system\":{},\"network\":{},\"processes\":",
                f.system.as_str(),
                p.network_json.as_str()
            );
            assert!(f.dashboard.as_str().starts_with(&head), "{host}");
            let d: serde_json::Value = serde_json::from_str(f.dashboard.as_str()).unwrap();
            let procs = d["processes"].as_array().unwrap();
            assert!(!procs.is_empty() && procs.len() <= 2 * DASHBOARD_PROCESSES);
            let u: serde_json::Value = serde_json::from_str(f.summary.as_str()).unwrap();
            let sys = &p.snapshot.system;
            assert_eq!(u["hostname"], sys.hostname.as_str(), "{host}");
            assert_eq!(u["t"], sys.timestamp);
            assert_eq!(u["cpu_count"], sys.cpu.count);
            assert_eq!(u["interval_ms"], 250);
            assert_eq!(u["swap"].is_null(), p.snapshot.mem.swap_total == 0);
            let worst = sys
                .disks
                .iter()
                .map(|d| d.usage.percent)
                .fold(0.0, f64::max);
            if !sys.disks.is_empty() {
                assert_eq!(u["disk_worst"]["percent"], worst, "{host}");
            }
            assert!(f.summary.len() < 600, "{host}: {}", f.summary.as_str());
        }
    }

    #[test]
    fn families_are_wanted_only_after_a_scrape() {
        let l = Latest::new(1, Duration::from_secs(1), None);
        assert!(!l.families_wanted(), "never scraped");
        l.scraped();
        assert!(l.families_wanted());
        // A scrape longer ago than the window no longer counts.
        let past = FAMILIES_WANTED_FOR.as_millis() as u64 + 10;
        let l2 = Latest {
            epoch: Instant::now() - Duration::from_millis(past),
            ..Latest::new(1, Duration::from_secs(1), None)
        };
        l2.scraped.store(1, Ordering::Relaxed);
        assert!(!l2.families_wanted());
    }
}
