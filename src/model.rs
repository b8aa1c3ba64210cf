//! The wire types: every JSON object the server sends lives here, so the API's shape can be read
//! in one place. Field names, units and rounding follow the original psmonitor (psutil-based);
//! fields it did not have are additions, never renames.

use serde::Serialize;
use std::collections::BTreeMap;

/// `GET /system`, and the body of every websocket system frame.
#[derive(Debug, Clone, Serialize)]
pub struct System {
    pub cpu: Cpu,
    pub mem: Memory,
    pub disk: DiskUsage,
    /// The user the server runs as.
    pub user: String,
    pub platform: Platform,
    /// Top processes by resident memory, aggregated by name. Never empty.
    pub processes: Vec<Process>,
    pub hostname: String,
    pub uptime_seconds: u64,
    /// Processes (not threads) on the host.
    pub process_count: usize,
    /// How often the process list is refreshed, in seconds: the interval, unless the scan
    /// is over its CPU budget (thousands of processes on a small board).
    pub processes_every_s: f64,
    /// Load average over 1, 5 and 15 minutes.
    pub load: [f64; 3],
    pub swap: Memory,
    /// Every real mounted filesystem (no tmpfs, proc, overlay, ...).
    pub disks: Vec<MountedDisk>,
    /// Every temperature sensor the kernel exposes; empty on hosts without any.
    pub sensors: Vec<Sensor>,
    /// Per block device I/O over the last interval; absent on hosts without block devices.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diskio: Vec<DiskIo>,
    /// Pressure stall information; absent where the kernel has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pressure: Option<Pressure>,
    /// Containers found in cgroupfs (Docker, Podman, containerd, LXC, nspawn); absent where
    /// there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<Container>,
    /// When the sample was taken, Unix seconds (three decimals).
    pub timestamp: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cpu {
    /// Percent of all CPUs busy over the last sampler interval, one decimal.
    pub usage: f64,
    /// CPU package temperature in °C, `null` where the host has no sensor.
    pub temp: Option<f64>,
    /// Which sensor `temp` was read from, e.g. `coretemp/Package id 0`.
    pub temp_sensor: Option<String>,
    /// Current frequency in MHz (mean over CPUs, two decimals), `null` where unknown.
    pub freq: Option<f64>,
    /// Per-CPU usage over the last interval, in percent.
    pub cores: Vec<f64>,
    /// Number of logical CPUs.
    pub count: usize,
}

/// Memory or swap, in GiB with two decimals; `percent` with one.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Memory {
    pub total: f64,
    pub used: f64,
    pub free: f64,
    pub percent: f64,
}

/// Usage of the filesystem of `/`, in GiB; `percent` is `used / (used + free)` like `df`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct DiskUsage {
    pub total: f64,
    pub used: f64,
    pub free: f64,
    pub percent: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MountedDisk {
    pub device: String,
    pub mountpoint: String,
    pub fstype: String,
    #[serde(flatten)]
    pub usage: DiskUsage,
    /// `true` when the filesystem did not answer `statvfs` in time (a hung NFS server or
    /// FUSE daemon): its sizes are then 0. Sent only then.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub device_error: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sensor {
    /// hwmon chip name (`coretemp`, `k10temp`, ...), thermal zone type, or power supply
    /// directory (`BAT0`).
    pub name: String,
    /// Sensor label (`Package id 0`, `Tctl`, `fan1`, `in0`, ...), the thermal zone
    /// (`thermal_zone0`), or the power supply directory.
    pub label: String,
    /// °C; temperatures only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temp: Option<f64>,
    #[serde(rename = "type")]
    pub kind: SensorKind,
    /// Fan speed, revolutions per minute; fans only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// Volts; voltages only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volts: Option<f64>,
    /// Charge, percent; batteries only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
    /// The kernel's battery status (`Charging`, `Discharging`, `Full`, ...); batteries only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The sensor as Glances lists it (through psutil); `None` where Glances does not list
    /// it (voltages, thermal zones of a host with hwmon temperatures, a second battery).
    #[serde(skip)]
    pub glances: Option<GlancesSensor>,
}

/// One item of Glances' `sensors` plugin: psutil's name, Glances' whole-number value and the
/// chip's own thresholds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GlancesSensor {
    /// The chip's label, `CHIP N` for an unlabelled input (N its place among the chip's
    /// inputs), `LABEL N` for a label seen before, or `Battery`.
    pub label: String,
    /// °C, RPM or percent, truncated to a whole number as Glances does.
    pub value: i64,
    /// psutil's `high` (`tempN_max`, a thermal zone's `high` trip point), whole °C.
    pub warning: Option<i64>,
    /// psutil's `critical` (`tempN_crit`, a `critical` trip point), whole °C.
    pub critical: Option<i64>,
    /// A battery's `Charging` (on mains) or `Discharging`, as Glances derives it.
    pub status: Option<String>,
}

/// What a [`Sensor`] measures (`type` in `/system`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SensorKind {
    Temperature,
    Fan,
    Voltage,
    Battery,
}

impl Sensor {
    /// A sensor of `kind` with no reading yet.
    pub fn new(name: &str, label: &str, kind: SensorKind) -> Self {
        Sensor {
            name: name.to_owned(),
            label: label.to_owned(),
            temp: None,
            kind,
            rpm: None,
            volts: None,
            percent: None,
            status: None,
            glances: None,
        }
    }
}

/// One block device's I/O over the last interval (`diskio` in `/system`).
#[derive(Debug, Clone, Serialize)]
pub struct DiskIo {
    /// The kernel's name (`sda`, `nvme0n1`, `mmcblk0`).
    pub name: String,
    pub read_bytes_per_s: f64,
    pub write_bytes_per_s: f64,
    pub reads_per_s: f64,
    pub writes_per_s: f64,
    /// Share of the interval the device was busy, percent (iostat's `%util`).
    pub busy_percent: f64,
    /// Bytes read and written since boot.
    pub read_bytes: u64,
    pub write_bytes: u64,
}

/// One container, from its cgroup (`containers` in `/system`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Container {
    /// The runtime's id (64 hex digits), or the name for LXC and nspawn.
    pub id: String,
    /// From the runtime's on-disk config where readable, else the first 12 characters of the id.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `docker`, `podman`, `containerd`, `cri-o`, `lxc` or `systemd-nspawn`.
    pub runtime: &'static str,
    /// `running`, `paused` or `stopped`.
    pub status: &'static str,
    /// CPU over the last interval, percent of one core.
    pub cpu_percent: f64,
    /// Bytes of memory charged to the cgroup, page cache included.
    pub memory_usage: u64,
    /// Absent when unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<u64>,
    pub memory_inactive_file: u64,
    /// Bytes read and written on block devices since the container started.
    pub io_read_bytes: u64,
    pub io_write_bytes: u64,
    pub pids: u64,
}

/// Pressure stall information per resource; a resource the kernel does not report is absent.
#[derive(Debug, Clone, Serialize)]
pub struct Pressure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Psi>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Psi>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub io: Option<Psi>,
}

/// `some` (at least one task stalled) and `full` (all non-idle tasks stalled) for one resource.
#[derive(Debug, Clone, Serialize)]
pub struct Psi {
    pub some: PsiLine,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full: Option<PsiLine>,
}

/// Percent of time stalled, averaged over 10, 60 and 300 seconds.
#[derive(Debug, Clone, Serialize)]
pub struct PsiLine {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Platform {
    pub distro: String,
    pub kernel: String,
    /// Written like the original: `1 day, 2 hrs, 3 mins, 4 secs`.
    pub uptime: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Process {
    /// The lowest pid of the processes sharing this name.
    pub pid: u32,
    pub name: String,
    /// The distinct owners, joined by `, `.
    pub username: String,
    /// Resident memory in MiB, two decimals.
    pub mem: f64,
    /// Percent of one core over the last interval, one decimal.
    pub cpu: f64,
}

/// `GET /network`, and the body of `?stream=network` websocket frames.
#[derive(Debug, Clone, Serialize)]
pub struct Network {
    pub interfaces: Vec<String>,
    /// `"N/A"` on a host without Wi-Fi, as the original sends: its own test page loops over
    /// this object's keys, and `null` made it throw.
    #[serde(serialize_with = "wireless_or_na")]
    pub wireless: Option<Wireless>,
    pub statistics: BTreeMap<String, InterfaceStats>,
    /// MB/s over the last sampler interval.
    pub averages: BTreeMap<String, Rates>,
    /// When the sample was taken, Unix seconds (three decimals).
    pub timestamp: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct InterfaceStats {
    pub mb_sent: f64,
    pub mb_received: f64,
    pub pk_sent: u64,
    pub pk_received: u64,
    pub error_in: u64,
    pub error_out: u64,
    /// Outgoing packets dropped (psutil's `dropout`).
    pub dropout: u64,
    pub dropin: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Rates {
    #[serde(rename = "in")]
    pub rx: f64,
    #[serde(rename = "out")]
    pub tx: f64,
}

/// `wireless`: the object, or the original's `"N/A"`.
fn wireless_or_na<S: serde::Serializer>(w: &Option<Wireless>, s: S) -> Result<S::Ok, S::Error> {
    match w {
        Some(w) => w.serialize(s),
        None => s.serialize_str("N/A"),
    }
}

/// What `iw`/`/proc/net/wireless` tell about the connected Wi-Fi; unknown parts are `null`.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Wireless {
    pub interface: String,
    pub name: Option<String>,
    /// Link quality in percent.
    pub quality: Option<f64>,
    pub channel: Option<u32>,
    pub encryption: Option<String>,
    /// The access point's BSSID.
    pub address: Option<String>,
    /// Signal level in dBm.
    pub signal: Option<f64>,
}

/// The `stream=summary` websocket frame: a few hundred bytes a tick, so a fleet page can watch
/// many hosts at once without taking each one's full `/system` object.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// When the sample was taken, Unix seconds (the snapshot's `timestamp`).
    pub t: f64,
    /// The host's name, as in `/system`: what a fleet page labels the tile with.
    pub hostname: String,
    /// Seconds since boot, as in `/system`.
    pub uptime_seconds: u64,
    /// Percent of all CPUs busy over the last interval (`cpu.usage`).
    pub cpu: f64,
    /// Logical CPUs, to read `cpu` and `load` against.
    pub cpu_count: usize,
    /// CPU temperature in °C, `null` where the host has no sensor.
    pub temp: Option<f64>,
    /// Memory used, percent (`mem.percent`).
    pub mem: f64,
    /// Swap used, percent; `null` on a host without swap.
    pub swap: Option<f64>,
    /// Use of the filesystem of `/`, percent (`disk.percent`).
    pub disk: f64,
    /// The fullest mounted filesystem (`/` included), `null` if none is known.
    pub disk_worst: Option<WorstDisk>,
    /// Load average over 1, 5 and 15 minutes, two decimals.
    pub load: [f64; 3],
    /// MB/s received and sent over every interface but `lo` (as `net_in` in `/history`).
    pub net_in: f64,
    /// MB/s sent, as `net_in`.
    pub net_out: f64,
    /// Processes on the host, as in `/system`.
    pub process_count: usize,
    /// The sampling interval in ms: how often a frame comes.
    pub interval_ms: u64,
}

/// A filesystem and how full it is (`disk_worst` in [`Summary`]).
#[derive(Debug, Clone, Serialize)]
pub struct WorstDisk {
    /// Where it is mounted (`/`, `/srv`, ...).
    pub mountpoint: String,
    /// Percent used, as `percent` in `disks`.
    pub percent: f64,
}

/// `GET /fleet`: the other psmonitor servers (`--fleet`) the dashboard's fleet view watches,
/// as the user wrote them.
#[derive(Debug, Serialize)]
pub struct Fleet<'a> {
    /// `host`, `host:port`, `[v6]:port` or a URL, as given to `--fleet`.
    pub hosts: &'a [String],
}

/// `POST /` answer: a worker id to claim on the websocket within 3 seconds.
#[derive(Debug, Serialize)]
pub struct WorkerCreated {
    pub id: String,
    pub status: Option<String>,
    pub url: String,
    pub message: String,
}

/// `GET /health`.
#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_s: u64,
    pub clients: usize,
    pub last_sample_age_ms: Option<u64>,
    /// How often the process list is refreshed (see [`System::processes_every_s`]).
    pub processes_every_s: Option<f64>,
    /// How far back `/history` reaches: `--history`, or further when the coarse tiers hold
    /// more (the dashboard offers windows up to it).
    pub history_seconds: u64,
    /// Points held in every tier of the history.
    pub history_points: usize,
    /// Bytes of memory they take (points and interned names).
    pub history_bytes: usize,
    /// Bytes of history on disk (`null`: kept in memory only).
    pub history_disk_bytes: Option<u64>,
    /// Snapshots taken since start: scripts and tests wait for a tick by watching it grow.
    pub ticks: u64,
}

/// Every error body: `{"error": "...", ...}` with optional detail fields.
#[derive(Debug, Serialize)]
pub struct ApiError {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow: Option<String>,
}

/// Rounds to `places` decimals the way Python's `round` reads in JSON.
pub fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// Bytes to GiB, two decimals (the original's `/ 1024.0 ** 3`).
pub fn gib(bytes: u64) -> f64 {
    round(bytes as f64 / (1u64 << 30) as f64, 2)
}

/// Bytes to MiB, two decimals (the original's `/ (1024 * 1024)`).
pub fn mib(bytes: u64) -> f64 {
    round(bytes as f64 / (1u64 << 20) as f64, 2)
}

/// `part / whole` in percent, one decimal, 0 when `whole` is 0 (psutil's `usage_percent`).
pub fn percent(part: f64, whole: f64) -> f64 {
    if whole <= 0.0 {
        0.0
    } else {
        round(part / whole * 100.0, 1)
    }
}
