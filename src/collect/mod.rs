//! The views: what the sampler makes of the host's readings, one module per view.
//!
//! Only the sampler thread owns a [`Collector`]; nothing here runs on a request path. The views
//! do not touch the host's files themselves: `src/read/` does (see its docs), whose readings
//! these modules turn into
//! - **the JSON model** for `/system` and `/network` (and, through the [`Snapshot`], for
//!   `src/glances.rs`): [`cpu`], [`memory`], [`disk`], [`diskio`], [`network`], [`psi`],
//!   [`sensors`], [`platform`], [`processes`], [`containers`] ([`Collector::sample`] builds the
//!   model from them);
//! - **the metric families** (`/metrics`, node_exporter's collectors): [`family`] (the trait and
//!   the fixture-tree test helpers), [`families`] (the registry) and one `collect/<family>.rs`
//!   each (`meminfo`, `pressure`, `diskstats`, `netdev`, `netclass`, `hwmon`, ...), rendered
//!   with `src/exposition.rs`; [`absent`] names node_exporter's collectors psmonitor lacks, whose
//!   flags are taken and ignored.
//!
//! A file that more than one view reads (`/proc/stat`, `/proc/meminfo`, ...) is parsed once a
//! tick by its module in `src/read/` into a typed reading, and each view projects that; a
//! family whose files nobody else reads (btrfs, nfs, ...) parses them itself, read through
//! `read::procfs`, which still opens each file once a tick. Imports run one way: `read` and
//! `src/exposition.rs` import no view, and no view imports `config` or `metrics`
//! (`collect::tests::imports_run_one_way`); `config` builds the [`Collection`].
//!
//! No view opens, lists or asks about a host path itself, and
//! `collect::tests::views_touch_the_host_only_through_read` fails if one does (`std::fs`,
//! `File::open`, `OpenOptions`, `read_dir`, `libc::open*`, `libc::socket`, `libc::ioctl`,
//! `libc::getifaddrs` outside a test module); even the process scan's `readdir`/`openat`
//! primitives are in `read::pids`, and the interface addresses two views read are asked once a
//! tick in `read::ifaddrs`. Kernel calls that are no file and that one view makes (`uname`,
//! `adjtimex`, `sysconf`) stay with their views.

pub mod absent;
pub mod arp;
pub mod bcache;
pub mod bcachefs;
pub mod bonding;
pub mod btrfs;
pub mod conntrack;
pub mod containers;
pub mod counter;
pub mod cpu;
pub mod cpufreq;
pub mod cpuinfo;
pub mod disk;
pub mod diskio;
pub mod diskstats;
pub mod dmi;
pub mod dmmultipath;
pub mod edac;
pub mod entropy;
pub mod families;
pub mod family;
pub mod fibrechannel;
pub mod filefd;
pub mod filesystem;
pub mod flags;
pub mod hwmon;
pub mod ifaddrs;
pub mod infiniband;
pub mod ipvs;
pub mod kernel_hung;
pub mod loadavg;
pub mod mdadm;
pub mod meminfo;
pub mod memory;
pub mod netclass;
pub mod netdev;
pub mod netstat;
pub mod network;
pub mod nfs;
pub mod nfsd;
pub mod nvme;
pub mod os;
pub mod own_process;
pub mod platform;
pub mod powersupplyclass;
pub mod pressure;
pub mod processes;
pub mod psi;
pub mod rapl;
pub mod schedstat;
pub mod selinux;
pub mod sensors;
pub mod sockstat;
pub mod softnet;
pub mod stat;
pub mod tapestats;
pub mod textfile;
pub mod thermal_zone;
pub mod time;
pub mod timex;
pub mod udp_queues;
pub mod uname;
pub mod users;
pub mod vmstat;
pub mod watchdog;
pub mod wireless;
pub mod words;
pub mod xfs;
pub mod zfs;

/// Seconds since the previous tick, for rates: 0 on the first (there is nothing to compare
/// with yet, and the first snapshot reports its rates as 0).
#[derive(Debug, Default)]
pub struct Since(Option<Instant>);

impl Since {
    /// The seconds from the previous call to `now`, and `now` kept for the next one.
    pub fn tick(&mut self, now: Instant) -> f64 {
        let secs = self.0.map_or(0.0, |t| now.duration_since(t).as_secs_f64());
        self.0 = Some(now);
        secs
    }
}

use crate::model::{self, Network, System};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Everything one tick collected: the wire objects plus the raw counters behind them.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub system: System,
    pub network: Network,
    /// Process groups sorted by memory, for `?processes=N&sort=`.
    pub processes: Arc<processes::ProcessSample>,
    pub net: network::NetworkSample,
    /// Wall-clock time of the sample.
    pub taken: SystemTime,
    /// How long the collection took.
    pub cost: Duration,
    /// Each enabled metric family's reading (of this tick, or carried over while nobody
    /// scrapes), rendered when `/metrics` is scraped.
    pub harvests: Arc<Vec<family::Harvested>>,
    /// psmonitor's own process (`process_*`).
    pub own: own_process::OwnProcess,
    /// CPU seconds spent in process scans since start, and their number.
    pub scan_cpu_seconds: f64,
    pub scans: u64,
    /// The raw readings behind `system`, for the Glances API (bytes, per-mode shares).
    pub cpu: cpu::CpuSample,
    pub mem: memory::MemInfo,
    /// Mounted filesystems; `Err` for one whose `statvfs` is stuck.
    pub disks: Vec<(disk::Mount, Result<disk::FsBytes, disk::Stuck>)>,
    pub cpu_name: String,
    /// The distribution as Glances names it (`NAME VERSION_ID`).
    pub linux_distro: String,
    /// Seconds since the previous sample (Glances' `time_since_update`); 0 on the first.
    pub elapsed_secs: f64,
}

/// What the sampler collects, and from where: built by `src/config.rs` from the command
/// line, so that this module never needs the configuration.
#[derive(Debug, Clone)]
pub struct Collection {
    pub roots: family::Roots,
    pub settings: family::Settings,
    /// Names of the metric families that run.
    pub families: Vec<&'static str>,
    /// The sampler's interval.
    pub interval: Duration,
    /// CPU the process scan may take per tick before the list refreshes less often.
    pub process_budget: Duration,
}

impl Default for Collection {
    fn default() -> Self {
        Collection {
            roots: Default::default(),
            settings: Default::default(),
            families: Vec::new(),
            interval: Duration::from_secs(1),
            process_budget: process_budget(Duration::from_secs(1)),
        }
    }
}

/// The process scan's CPU budget: 2 % of one core at the sampler's interval (20 ms a tick at
/// 1 s). A Raspberry Pi scans ~300 processes well within it; thousands of processes or a
/// slower board exceed it, and the list is then refreshed less often.
pub fn process_budget(interval: Duration) -> Duration {
    interval / 50
}

/// Owns all collection state (previous counters, discovered sensors, the user table).
pub struct Collector {
    cpu: cpu::CpuCollector,
    procs: processes::Budgeted,
    diskio: diskio::DiskIoCollector,
    containers: containers::ContainersCollector,
    /// Where the `containers` family finds this tick's containers.
    container_feed: containers::Feed,
    net: network::NetworkCollector,
    users: users::Users,
    /// Measures filesystems for `/system` without ever blocking on a hung mount.
    statfs: crate::read::statfs::Timed,
    iw: wireless::IwCache,
    sensors: Vec<sensors::Source>,
    sensors_found: Option<Instant>,
    distro: String,
    linux_distro: String,
    kernel: String,
    cpu_name: String,
    user: String,
    clock_ticks: f64,
    last: Since,
    buf: Vec<u8>,
    roots: family::Roots,
    families: Vec<Box<dyn family::Family>>,
    last_harvest: Option<Arc<Vec<family::Harvested>>>,
    /// The sampler's interval (for `processes_every_s`).
    interval: Duration,
    /// When the host booted (`btime`), to date our own start.
    boot_time: f64,
    page_size: f64,
}

impl Default for Collector {
    fn default() -> Self {
        Self::new(&Collection::default())
    }
}

impl Collector {
    /// A collector for `collection`: its roots and its enabled families.
    pub fn new(collection: &Collection) -> Collector {
        let settings = family::Settings {
            containers: containers::Feed::default(),
            ..collection.settings.clone()
        };
        let families = collection
            .families
            .iter()
            .filter_map(|n| families::find(n))
            .map(|r| (r.make)(&settings))
            .collect();
        let roots = &collection.roots;
        let mut users = users::Users::load(roots);
        let user = platform::current_user(&mut users);
        Collector {
            cpu: cpu::CpuCollector::default(),
            diskio: diskio::DiskIoCollector::default(),
            containers: containers::ContainersCollector::default(),
            container_feed: settings.containers,
            procs: processes::Budgeted::new(
                processes::ProcessCollector::new(roots),
                collection.process_budget,
            ),
            net: network::NetworkCollector::default(),
            users,
            statfs: crate::read::statfs::Timed::default(),
            iw: wireless::IwCache::default(),
            sensors: Vec::new(),
            sensors_found: None,
            distro: platform::distro(roots),
            linux_distro: platform::glances_distro(roots),
            kernel: platform::kernel(roots),
            cpu_name: platform::cpu_name(roots),
            user,
            // SAFETY: sysconf has no preconditions.
            clock_ticks: match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
                n if n > 0 => n as f64,
                _ => 100.0,
            },
            last: Since::default(),
            buf: Vec::with_capacity(8192),
            roots: collection.roots.clone(),
            families,
            last_harvest: None,
            interval: collection.interval,
            boot_time: crate::read::stat::read(std::path::Path::new("/proc/stat"))
                .exact()
                .and_then(|s| s.btime)
                .map_or(0.0, |b| b as f64),
            // SAFETY: sysconf has no preconditions.
            page_size: match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
                n if n > 0 => n as f64,
                _ => 4096.0,
            },
        }
    }

    /// Harvests every enabled family, timing each.
    fn harvest(&mut self) -> Vec<family::Harvested> {
        let roots = &self.roots;
        self.families
            .iter_mut()
            .map(|f| {
                let t = Instant::now();
                let result = f.harvest(roots);
                if let Err(e) = &result {
                    log::debug!("family {} failed: {e}", f.name());
                }
                family::Harvested {
                    name: f.name(),
                    result,
                    took: t.elapsed(),
                }
            })
            .collect()
    }

    /// Collects one snapshot. Rates and usages are relative to the previous call; the very
    /// first call reports them as 0. The metric families are harvested when `families` is
    /// true (someone scrapes `/metrics`) or nothing has been harvested yet; otherwise the last
    /// harvest is carried over (see [`crate::sampler::FAMILIES_WANTED_FOR`]).
    pub fn sample(&mut self, families: bool) -> Snapshot {
        let start = Instant::now();
        // Every source below is read once, for the JSON model and the families alike.
        let tick = crate::read::tick::Tick::begin();
        let elapsed = self.last.tick(start);
        if self
            .sensors_found
            .is_none_or(|t| t.elapsed() > Duration::from_secs(60))
        {
            self.sensors = sensors::discover(&self.roots.sys("class"));
            self.sensors_found = Some(Instant::now());
            self.users.refresh();
        }

        let taken = SystemTime::now();
        let timestamp = model::round(
            taken
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            3,
        );
        let cpu = self.cpu.sample(&self.roots);
        let count = cpu.cores.len().max(1);
        let freq =
            cpu::frequency_mhz(&self.roots, &mut self.buf, count).map(|f| model::round(f, 2));
        let sensors = sensors::read_all(&self.sensors, &mut self.buf);
        let cpu_temp = sensors::pick_cpu(&sensors);
        let mem = memory::read(&self.roots);
        let disks = disk::mounted(&self.roots, &mut self.buf, &mut self.statfs);
        // `/` is in the mount table on any host; measured apart only where it is not.
        let root = match disks.iter().find(|(m, _)| m.mountpoint == "/") {
            Some((_, b)) => b.unwrap_or_default(),
            None => disk::measure(&mut self.statfs, "/", self.roots.mountpoint("/"))
                .ok()
                .flatten()
                .unwrap_or_default(),
        };
        let (procs, every) = self.procs.sample(&mut self.users);
        let uptime = platform::uptime_secs(&self.roots, &mut self.buf) as u64;
        let net = self.net.sample(&self.roots, elapsed);
        let found = Arc::new(self.containers.sample(&self.roots));
        if let Ok(mut feed) = self.container_feed.lock() {
            *feed = Arc::clone(&found);
        }

        let mut processes = procs.top(10, false);
        if processes.is_empty() {
            // Clients' tables break on an empty list; a host always has at least us.
            processes.push(model::Process {
                pid: std::process::id(),
                name: "psmonitor".into(),
                username: self.user.clone(),
                mem: 0.0,
                cpu: 0.0,
            });
        }
        let system = System {
            cpu: model::Cpu {
                usage: model::round(cpu.usage, 1),
                temp: cpu_temp.and_then(|s| s.temp),
                temp_sensor: cpu_temp.map(|s| format!("{}/{}", s.name, s.label)),
                freq,
                cores: cpu.cores.iter().map(|c| model::round(*c, 1)).collect(),
                count,
            },
            mem: mem.memory(),
            disk: root.usage(),
            user: self.user.clone(),
            platform: model::Platform {
                distro: self.distro.clone(),
                kernel: self.kernel.clone(),
                uptime: platform::format_uptime(uptime),
            },
            processes,
            hostname: platform::hostname(&self.roots, &mut self.buf),
            uptime_seconds: uptime,
            process_count: procs.count,
            processes_every_s: model::round(every as f64 * self.interval.as_secs_f64(), 3),
            load: platform::load(&self.roots),
            swap: mem.swap(),
            disks: disk::to_wire(&disks),
            sensors: sensors.clone(),
            diskio: self.diskio.sample(&self.roots),
            pressure: psi::read(&self.roots),
            containers: found.iter().map(|c| c.wire.clone()).collect(),
            timestamp,
        };
        let network = Network {
            interfaces: net.interfaces.iter().map(|(n, _)| n.clone()).collect(),
            wireless: self.wireless(),
            statistics: {
                // Inserted, not collected: `collect` into a map sorts (src/sort.rs).
                let mut m = std::collections::BTreeMap::new();
                for (n, c) in &net.interfaces {
                    m.insert(n.clone(), c.to_wire());
                }
                m
            },
            averages: net.rates.clone(),
            timestamp,
        };
        let harvests = match (&self.last_harvest, families) {
            (Some(h), false) => h.clone(),
            _ => {
                let h = Arc::new(self.harvest());
                self.last_harvest = Some(Arc::clone(&h));
                h
            }
        };
        let own = own_process::OwnProcess::read(
            self.boot_time,
            self.clock_ticks,
            self.page_size,
            &mut self.buf,
        );
        let read = tick.end();
        log::trace!(
            "tick read {} files, {} directories, {} statvfs; {} reads shared",
            read.files,
            read.dirs,
            read.statfs,
            read.shared
        );
        Snapshot {
            harvests,
            own,
            scan_cpu_seconds: self.procs.spent.as_secs_f64(),
            scans: self.procs.scans,
            system,
            network,
            processes: procs,
            net,
            taken,
            cpu,
            mem,
            disks,
            cpu_name: self.cpu_name.clone(),
            linux_distro: self.linux_distro.clone(),
            elapsed_secs: elapsed,
            cost: start.elapsed(),
        }
    }

    fn wireless(&mut self) -> Option<model::Wireless> {
        let text =
            crate::read::procfs::read_into(self.roots.proc("net/wireless"), &mut self.buf).ok()?;
        let mut w = wireless::parse_proc(text)?;
        self.iw.enrich(&mut w);
        Some(w)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io;
    use std::path::{Path, PathBuf};

    /// The `.rs` files below `dir` (relative to the crate), recursively.
    fn sources(dir: &str) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|e| e == "rs") {
                    out.push(p);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut out = Vec::new();
        if root.is_dir() {
            walk(&root, &mut out);
        } else {
            out.push(root);
        }
        assert!(!out.is_empty(), "{dir}: no sources");
        out
    }

    /// Each code line of `path` that names one of `modules` of the crate (`crate::config`,
    /// `crate::{config, ..}`, `super::super::config`); comments are not imports.
    fn naming(path: &Path, modules: &[&str]) -> Vec<String> {
        let text = std::fs::read_to_string(path).unwrap();
        let mut found = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let names = |rest: &str| -> Vec<String> {
                let rest = rest.strip_prefix('{').unwrap_or(rest);
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ','))
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .collect()
            };
            for prefix in ["crate::", "super::super::"] {
                for (at, _) in code.match_indices(prefix) {
                    let rest = &code[at + prefix.len()..];
                    let rest = rest.replace([' ', '\n'], "");
                    if names(&rest).iter().any(|m| modules.contains(&m.as_str())) {
                        found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
        found
    }

    /// Dependencies run one way: the readers of the host (`src/read/`) import none of their
    /// views; the views (`src/collect/`) never import the configuration (which builds their
    /// [`super::Collection`]) nor `/metrics` (which renders their harvests); the text format
    /// they write with, `src/exposition.rs`, is a leaf that imports nothing of the crate.
    #[test]
    fn imports_run_one_way() {
        let rules: [(&str, &[&str]); 3] = [
            ("src/collect", &["config", "metrics"]),
            ("src/read", &["collect", "config", "metrics"]),
            (
                "src/exposition.rs",
                &[
                    "collect", "config", "metrics", "model", "sampler", "api", "glances",
                ],
            ),
        ];
        let mut found = Vec::new();
        for (dir, banned) in rules {
            for path in sources(dir) {
                found.extend(naming(&path, banned));
            }
        }
        assert!(
            found.is_empty(),
            "imports running back up:\n{}",
            found.join("\n")
        );
        // The scan itself sees what it must.
        let probe =
            std::env::temp_dir().join(format!("psmonitor-imports-{}.rs", std::process::id()));
        // (Written with `{c}` so that this file's own scan does not see them.)
        let probe_text = format!(
            "use {c}::config::Collection;\nuse {c}::{{model, metrics::Kind}};\n// {c}::config\nlet x = {s}::config::X;\n",
            c = "crate",
            s = "super::super"
        );
        std::fs::write(&probe, probe_text).unwrap();
        assert_eq!(naming(&probe, &["config", "metrics"]).len(), 3);
        let _ = std::fs::remove_file(&probe);
    }

    /// The views in `src/collect/` allowed to touch the host themselves (file name, why): none
    /// now; a primitive too entwined with its view to move to `src/read/` would be named here.
    const TOUCH_THE_HOST: [(&str, &str); 0] = [];

    /// Each code line of `path` outside its test module that opens, lists or asks about a
    /// host path itself (`std::fs`, `File::open`, `OpenOptions`, `read_dir`, `libc::open*`,
    /// `libc::socket`, `libc::ioctl`, `libc::getifaddrs`) rather than through `crate::read`.
    fn touching(path: &Path) -> Vec<String> {
        const MARKS: [&str; 8] = [
            "std::fs",
            "File::open",
            "OpenOptions",
            "read_dir(",
            "libc::open",
            "libc::socket",
            "libc::ioctl",
            "libc::getifaddrs",
        ];
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut found = Vec::new();
        for (n, line) in lines.iter().enumerate() {
            let next = lines.get(n + 1).map_or("", |l| l.trim_start());
            if line.trim() == "#[cfg(test)]"
                && (next.starts_with("mod ") || next.starts_with("pub mod "))
            {
                break;
            }
            let code = line.split("//").next().unwrap_or("");
            if MARKS.iter().any(|m| code.contains(m)) {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
        found
    }

    /// The views touch the host's files only through `src/read/` (bounded, non-blocking, once a
    /// tick), but for the few named in [`TOUCH_THE_HOST`]; each of those still does (else it
    /// leaves the list).
    #[test]
    fn views_touch_the_host_only_through_read() {
        let mut found = Vec::new();
        let mut excepted = std::collections::BTreeSet::new();
        for path in sources("src/collect") {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let hits = touching(&path);
            if TOUCH_THE_HOST.iter().any(|(f, _)| *f == name) {
                if !hits.is_empty() {
                    excepted.insert(name);
                }
            } else {
                found.extend(hits);
            }
        }
        assert!(
            found.is_empty(),
            "views touching the host themselves (read through crate::read::procfs, or move the primitive to src/read/):\n{}",
            found.join("\n")
        );
        for (f, why) in TOUCH_THE_HOST {
            assert!(
                excepted.contains(f),
                "{f} ({why}) no longer touches the host: drop it"
            );
        }
        // The scan itself sees what it must.
        let probe =
            std::env::temp_dir().join(format!("psmonitor-touching-{}.rs", std::process::id()));
        // (Written with `{f}` so that this file's own scan does not see them.)
        let probe_text = format!(
            "let a = {f}::read_to_string(p);\n// {f}::read(p)\nlet b = {o}::new();\n#[cfg(test)]\nmod tests {{ {f}::write(p) }}\n",
            f = "std::fs",
            o = "OpenOptions"
        );
        std::fs::write(&probe, probe_text).unwrap();
        assert_eq!(touching(&probe).len(), 2);
        let _ = std::fs::remove_file(&probe);
    }

    /// Every `IN_OPEN` below a directory tree, counted per path (inotify: the kernel's own
    /// record of each `open(2)`, whichever code path made it).
    struct Opens {
        fd: i32,
        dirs: HashMap<i32, PathBuf>,
    }

    impl Opens {
        /// Watches every directory below `root` (symlinks not followed: their targets are in
        /// the tree too).
        fn watch(root: &Path) -> Opens {
            // SAFETY: plain syscall with constant flags.
            let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
            assert!(fd >= 0, "inotify_init1: {}", io::Error::last_os_error());
            let mut opens = Opens {
                fd,
                dirs: HashMap::new(),
            };
            let mut todo = vec![root.to_owned()];
            while let Some(d) = todo.pop() {
                use std::os::unix::ffi::OsStrExt;
                let c = std::ffi::CString::new(d.as_os_str().as_bytes()).unwrap();
                // SAFETY: `c` is a NUL-terminated path, `fd` an inotify descriptor.
                let wd = unsafe { libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_OPEN) };
                assert!(wd >= 0, "{}: {}", d.display(), io::Error::last_os_error());
                for e in std::fs::read_dir(&d).unwrap().flatten() {
                    if e.file_type().unwrap().is_dir() {
                        todo.push(e.path());
                    }
                }
                opens.dirs.insert(wd, d);
            }
            opens
        }

        /// The opens since the last call, per path.
        fn take(&self) -> HashMap<PathBuf, usize> {
            let mut out = HashMap::new();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                // SAFETY: `buf` is writable for its length.
                let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
                if n <= 0 {
                    break;
                }
                let mut at = 0;
                while at < n as usize {
                    let field = |i: usize| {
                        u32::from_ne_bytes(buf[at + i * 4..at + i * 4 + 4].try_into().unwrap())
                    };
                    let (wd, mask, len) = (field(0) as i32, field(1), field(3) as usize);
                    let name = &buf[at + 16..at + 16 + len];
                    let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(len)];
                    at += 16 + len;
                    assert!(mask & libc::IN_Q_OVERFLOW == 0, "inotify queue overflowed");
                    // A directory's open is reported by its own watch (no name) and by its
                    // parent's (with IN_ISDIR): count the first only.
                    if mask & libc::IN_OPEN == 0 || (!name.is_empty() && mask & libc::IN_ISDIR != 0)
                    {
                        continue;
                    }
                    use std::os::unix::ffi::OsStrExt;
                    let path = self.dirs[&wd].join(std::ffi::OsStr::from_bytes(name));
                    *out.entry(path).or_insert(0) += 1;
                }
            }
            out
        }
    }

    impl Drop for Opens {
        fn drop(&mut self) {
            // SAFETY: closing our own descriptor once.
            unsafe { libc::close(self.fd) };
        }
    }

    /// Copies the tree at `from` to `to`, symlinks as symlinks.
    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            let (src, dst) = (e.path(), to.join(e.file_name()));
            let t = e.file_type().unwrap();
            if t.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
            } else if t.is_dir() {
                copy_tree(&src, &dst);
            } else {
                std::fs::copy(&src, &dst).unwrap();
            }
        }
    }

    /// The whole sampler, the JSON model and every family on, on a copy of each fixture host:
    /// no file or directory below the host's procfs, sysfs or root is opened twice in a tick
    /// (counted by the kernel, so a reader that bypasses this module is caught too).
    #[test]
    fn every_source_is_opened_at_most_once_a_tick_on_the_fixtures() {
        for host in ["pi", "laptop", "vm", "hostile"] {
            let dir =
                std::env::temp_dir().join(format!("psmonitor-opens-{host}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            copy_tree(
                &crate::collect::family::testing::fixture(host).procfs,
                &dir.join("proc"),
            );
            copy_tree(
                &crate::collect::family::testing::fixture(host).sysfs,
                &dir.join("sys"),
            );
            copy_tree(
                &crate::collect::family::testing::fixture(host).rootfs,
                &dir.join("root"),
            );
            let collection = crate::collect::Collection {
                roots: crate::collect::family::Roots::under(&dir),
                families: super::families::ALL.iter().map(|r| r.name).collect(),
                ..Default::default()
            };
            let opens = Opens::watch(&dir);
            let mut collector = super::Collector::new(&collection);
            opens.take();
            for tick in 1..=2 {
                let snapshot = collector.sample(true);
                assert!(!snapshot.harvests.is_empty());
                let got = opens.take();
                assert!(
                    got.keys().any(|p| p.ends_with("proc/stat")),
                    "{host}: the tick read nothing?"
                );
                let twice: Vec<_> = got.iter().filter(|(_, &n)| n > 1).collect();
                assert!(
                    twice.is_empty(),
                    "{host}, tick {tick}: opened more than once: {twice:?}"
                );
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
