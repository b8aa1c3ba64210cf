//! Containers found in cgroupfs (`containers` in `/system`, cAdvisor's `container_*` in
//! `/metrics`): Docker, Podman, containerd/k3s, CRI-O, LXC and systemd-nspawn, read from the
//! kernel's cgroup files and never through a runtime's socket (the Docker socket is
//! root-equivalent access).
//!
//! Where it reads (all below `--path.sysfs`/`fs/cgroup` and `--path.rootfs`):
//! - **cgroup v2** (one hierarchy, `fs/cgroup/cgroup.controllers` exists; Raspberry Pi OS
//!   Bookworm): per container directory `cpu.stat` `usage_usec`, `memory.current`,
//!   `memory.max`, `memory.stat` (`inactive_file`, `anon`), `io.stat` (`rbytes`/`wbytes`
//!   summed over devices), `pids.current`, and `cgroup.events` (`populated`, `frozen`).
//! - **cgroup v1** (one directory per controller): `cpuacct/…/cpuacct.usage` (ns),
//!   `memory/…/memory.usage_in_bytes`, `memory.limit_in_bytes`, `memory.stat`
//!   (`total_inactive_file`, `total_rss`), `blkio/…/blkio.throttle.io_service_bytes`
//!   (`Read`/`Write` lines summed), `pids/…/pids.current`, `freezer/…/freezer.state`.
//!
//! Pitfalls: a *hybrid* host (this project's VM; systemd's default before v2) mounts the v1
//! controllers *and* an empty v2 tree at `fs/cgroup/unified`, where the same scopes appear
//! without any counters, so the v1 controllers win whenever they are mounted. v1 has no
//! "unlimited": it writes a huge page-rounded number, taken as no limit. Containers come and go
//! between the listing and the reads; one that vanished is left out for that tick. Names are
//! resolved once per container from the runtime's files (Docker's `config.v2.json`, Podman's
//! `containers.json`, containerd's OCI spec with the Kubernetes annotations), else the first 12 characters of the id; LXC and nspawn names come from
//! the cgroup path. The walk is bounded ([`MAX_DIRS`], [`MAX_DEPTH`], [`MAX_CONTAINERS`]).

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::model::{self, round};
use crate::read::procfs::{read_capped, read_into};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Directories looked at per tick, at most.
pub const MAX_DIRS: usize = 4096;
/// Entries of one cgroup directory listed, at most (its files count too): bounds one listing
/// of a hostile tree; a real cgroup holds some tens of files and its children.
const MAX_LISTED: usize = 65_536;
/// How deep below the hierarchy root a container may be (kubepods are 3-4 levels down).
pub const MAX_DEPTH: usize = 6;
/// Containers reported per tick, at most.
pub const MAX_CONTAINERS: usize = 512;
/// At or above this, a v1 `memory.limit_in_bytes` means "no limit" (the kernel writes
/// `PAGE_COUNTER_MAX` pages, about 2^63 bytes).
const UNLIMITED: u64 = 1 << 62;
/// How much of a runtime's config file is read, at most.
const CONFIG_CAP: usize = 4 << 20;

/// One container of one tick: the wire object and what `/metrics` needs besides.
#[derive(Debug, Clone)]
pub struct Container {
    pub wire: model::Container,
    /// The cgroup path from the hierarchy root (`/system.slice/docker-<id>.scope`):
    /// cAdvisor's `id` label.
    pub cgroup: String,
    pub cpu_seconds: f64,
    /// Anonymous memory (v2 `anon`, v1 `total_rss`), where `memory.stat` has it.
    pub rss: Option<u64>,
}

/// The collector's latest containers, shared with the `/metrics` family so the cgroup files
/// are read once per tick.
pub type Feed = Arc<Mutex<Arc<Vec<Container>>>>;

/// Which cgroup layout the host has.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Layout {
    /// One hierarchy at this directory.
    V2(PathBuf),
    /// `fs/cgroup`, with one directory per controller.
    V1(PathBuf),
}

/// The v1 controller directories, in the order they are tried for the walk; the first
/// candidate name that exists is used (`cpuacct` may be mounted as `cpu,cpuacct`).
const V1_CONTROLLERS: &[&[&str]] = &[
    &["memory"],
    &["cpuacct", "cpu,cpuacct", "cpuacct,cpu"],
    &["pids"],
    &["blkio"],
    &["freezer"],
];

fn layout(roots: &Roots) -> Option<Layout> {
    let base = roots.sys("fs/cgroup");
    if base.join("cgroup.controllers").exists() {
        return Some(Layout::V2(base));
    }
    if V1_CONTROLLERS[..3]
        .iter()
        .any(|c| v1_dir(&base, c).is_some())
    {
        return Some(Layout::V1(base));
    }
    let unified = base.join("unified");
    unified
        .join("cgroup.controllers")
        .exists()
        .then_some(Layout::V2(unified))
}

fn v1_dir(base: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| base.join(n)).find(|p| p.is_dir())
}

/// A container's cgroup directory name, with its parent's, as a runtime and an id.
fn identify(parent: &str, name: &str) -> Option<(&'static str, String)> {
    let scoped = |prefix: &str| {
        let id = name.strip_prefix(prefix)?.strip_suffix(".scope")?;
        is_hex_id(id).then(|| id.to_owned())
    };
    if let Some(id) = scoped("docker-") {
        return Some(("docker", id));
    }
    if let Some(id) = scoped("libpod-") {
        return Some(("podman", id));
    }
    if let Some(id) = scoped("cri-containerd-") {
        return Some(("containerd", id));
    }
    if let Some(id) = scoped("crio-") {
        return Some(("cri-o", id));
    }
    if is_hex_id(name) {
        if parent == "docker" {
            return Some(("docker", name.to_owned()));
        }
        if parent.starts_with("pod") {
            return Some(("containerd", name.to_owned()));
        }
    }
    if let Some(n) = name.strip_prefix("lxc.payload.") {
        return Some(("lxc", n.to_owned()));
    }
    if parent == "lxc" && !name.starts_with("lxc.") {
        return Some(("lxc", name.to_owned()));
    }
    if parent == "machine.slice" {
        let n = name.strip_prefix("machine-")?.strip_suffix(".scope")?;
        return Some(("systemd-nspawn", n.replace("\\x2d", "-")));
    }
    None
}

fn is_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A container's cgroup: where it is and what it is.
#[derive(Debug)]
struct Found {
    /// From the hierarchy root, as the directory is really named.
    rel: PathBuf,
    /// The same, lossy, with a leading `/` (cAdvisor's `id`).
    cgroup: String,
    runtime: &'static str,
    id: String,
}

/// Walks `base` breadth-first for container cgroups, within the bounds. A container's own
/// subgroups are not looked into.
fn discover(base: &Path) -> Vec<Found> {
    let mut out = Vec::new();
    let mut queue = std::collections::VecDeque::from([(PathBuf::new(), String::new(), 0usize)]);
    let mut seen = 0;
    while let Some((rel, cgroup, depth)) = queue.pop_front() {
        let Ok(names) = crate::read::procfs::subdirectories(&base.join(&rel), MAX_LISTED) else {
            continue;
        };
        let parent = cgroup.rsplit('/').next().unwrap_or("");
        for name in names {
            seen += 1;
            if seen > MAX_DIRS || out.len() >= MAX_CONTAINERS {
                return out;
            }
            let lossy = name.to_string_lossy();
            let (rel, cgroup) = (rel.join(&name), format!("{cgroup}/{lossy}"));
            match identify(parent, &lossy) {
                Some((runtime, id)) => out.push(Found {
                    rel,
                    cgroup,
                    runtime,
                    id,
                }),
                None if depth + 1 < MAX_DEPTH => queue.push_back((rel, cgroup, depth + 1)),
                None => {}
            }
        }
    }
    out
}

/// The counters of one cgroup.
#[derive(Debug, Default, Clone, PartialEq)]
struct Raw {
    cpu_ns: u64,
    memory: u64,
    limit: Option<u64>,
    inactive_file: u64,
    rss: Option<u64>,
    read: u64,
    write: u64,
    pids: u64,
    populated: bool,
    frozen: bool,
}

/// A `key value` line's value in a flat-keyed file (`cpu.stat`, `memory.stat`).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

/// v2 `io.stat`: `rbytes` and `wbytes` summed over its devices.
fn io_stat(text: &str) -> (u64, u64) {
    let pairs = text.split_whitespace().filter_map(|f| f.split_once('='));
    sum_read_write(pairs, "rbytes", "wbytes")
}

/// v1 `blkio.throttle.io_service_bytes`: `MAJ:MIN Read N` and `MAJ:MIN Write N` summed (the
/// closing `Total N` line is left out).
fn io_service_bytes(text: &str) -> (u64, u64) {
    let pairs = text.lines().filter_map(|line| {
        let mut f = line.split_whitespace();
        let (Some(_dev), Some(op), Some(v)) = (f.next(), f.next(), f.next()) else {
            return None;
        };
        Some((op, v))
    });
    sum_read_write(pairs, "Read", "Write")
}

/// The sums of the values keyed `read` and `write` (unparsable values count as 0).
fn sum_read_write<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    read: &str,
    write: &str,
) -> (u64, u64) {
    pairs.fold((0u64, 0u64), |(r, w), (k, v)| {
        let v: u64 = v.parse().unwrap_or(0);
        match k {
            k if k == read => (r.saturating_add(v), w),
            k if k == write => (r, w.saturating_add(v)),
            _ => (r, w),
        }
    })
}

/// Reads one small cgroup file; `None` when it is missing or unreadable.
fn text<'a>(dir: &Path, file: &str, buf: &'a mut Vec<u8>) -> Option<&'a str> {
    read_into(dir.join(file), buf).ok()
}

fn number(dir: &Path, file: &str, buf: &mut Vec<u8>) -> Option<u64> {
    text(dir, file, buf)?.trim().parse().ok()
}

/// A v2 container directory's counters; `None` when it has vanished.
fn read_v2(dir: &Path, buf: &mut Vec<u8>) -> Option<Raw> {
    let events = text(dir, "cgroup.events", buf)?;
    let mut raw = Raw {
        populated: keyed(events, "populated") == Some(1),
        frozen: keyed(events, "frozen") == Some(1),
        ..Raw::default()
    };
    raw.cpu_ns = text(dir, "cpu.stat", buf)
        .and_then(|t| keyed(t, "usage_usec"))
        .map_or(0, |us| us.saturating_mul(1000));
    raw.memory = number(dir, "memory.current", buf).unwrap_or(0);
    raw.limit = number(dir, "memory.max", buf);
    if let Some(stat) = text(dir, "memory.stat", buf) {
        raw.inactive_file = keyed(stat, "inactive_file").unwrap_or(0);
        raw.rss = keyed(stat, "anon");
    }
    (raw.read, raw.write) = text(dir, "io.stat", buf).map_or((0, 0), io_stat);
    raw.pids = number(dir, "pids.current", buf).unwrap_or(0);
    Some(raw)
}

/// A v1 container's counters, from each controller's directory; `None` when it has vanished
/// (its memory and cpuacct directories are both gone).
fn read_v1(base: &Path, rel: &Path, buf: &mut Vec<u8>) -> Option<Raw> {
    let dir = |c: usize| v1_dir(base, V1_CONTROLLERS[c]).map(|d| d.join(rel));
    let [memory, cpuacct, pids, blkio, freezer] = [0, 1, 2, 3, 4].map(dir);
    if !memory.iter().chain(&cpuacct).any(|d| d.is_dir()) {
        return None;
    }
    let mut raw = Raw::default();
    if let Some(d) = &memory {
        raw.memory = number(d, "memory.usage_in_bytes", buf).unwrap_or(0);
        raw.limit = number(d, "memory.limit_in_bytes", buf).filter(|&l| l < UNLIMITED);
        if let Some(stat) = text(d, "memory.stat", buf) {
            raw.inactive_file = keyed(stat, "total_inactive_file").unwrap_or(0);
            raw.rss = keyed(stat, "total_rss");
        }
    }
    if let Some(d) = &cpuacct {
        raw.cpu_ns = number(d, "cpuacct.usage", buf).unwrap_or(0);
    }
    if let Some(d) = &blkio {
        (raw.read, raw.write) =
            text(d, "blkio.throttle.io_service_bytes", buf).map_or((0, 0), io_service_bytes);
    }
    if let Some(d) = &pids {
        raw.pids = number(d, "pids.current", buf).unwrap_or(0);
    }
    raw.populated = raw.pids > 0
        || memory
            .as_deref()
            .and_then(|d| text(d, "cgroup.procs", buf))
            .is_some_and(|t| !t.trim().is_empty());
    raw.frozen = freezer
        .as_deref()
        .and_then(|d| text(d, "freezer.state", buf))
        .is_some_and(|t| t.trim() == "FROZEN");
    Some(raw)
}

/// A container's name and image, as its runtime wrote them down.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ident {
    name: String,
    image: Option<String>,
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Config", default)]
    config: Option<DockerInner>,
}

#[derive(Deserialize)]
struct DockerInner {
    #[serde(rename = "Image", default)]
    image: Option<String>,
}

#[derive(Deserialize)]
struct PodmanEntry {
    #[serde(default)]
    id: String,
    #[serde(default)]
    names: Vec<String>,
    /// A JSON object as a string, with `image-name`.
    #[serde(default)]
    metadata: String,
}

fn docker_ident(roots: &Roots, id: &str) -> Option<Ident> {
    let path = roots.root(&format!("/var/lib/docker/containers/{id}/config.v2.json"));
    let c: DockerConfig = serde_json::from_str(&read_capped(&path, CONFIG_CAP).ok()?).ok()?;
    let name = c.name.trim_start_matches('/');
    (!name.is_empty()).then(|| Ident {
        name: name.to_owned(),
        image: c.config.and_then(|i| i.image).filter(|i| !i.is_empty()),
    })
}

const PODMAN_STORES: &[&str] = &[
    "/var/lib/containers/storage/overlay-containers/containers.json",
    "/run/containers/storage/overlay-containers/containers.json",
];

fn podman_ident(roots: &Roots, id: &str) -> Option<Ident> {
    PODMAN_STORES.iter().find_map(|store| {
        let text = read_capped(&roots.root(store), CONFIG_CAP).ok()?;
        let entries: Vec<PodmanEntry> = serde_json::from_str(&text).ok()?;
        let e = entries.into_iter().find(|e| e.id == id)?;
        let image = serde_json::from_str::<HashMap<String, serde_json::Value>>(&e.metadata)
            .ok()
            .and_then(|m| m.get("image-name")?.as_str().map(str::to_owned));
        Some(Ident {
            name: e.names.into_iter().next()?,
            image,
        })
    })
}

/// Where containerd (and k3s's own containerd) keeps each task's OCI spec.
const CONTAINERD_TASKS: &[&str] = &[
    "/run/containerd/io.containerd.runtime.v2.task/k8s.io",
    "/run/k3s/containerd/io.containerd.runtime.v2.task/k8s.io",
];

#[derive(Deserialize)]
struct OciSpec {
    #[serde(default)]
    annotations: HashMap<String, String>,
}

/// A Kubernetes container's name and image, from the CRI annotations of its OCI spec (a pod's
/// sandbox, the "pause" container, by the pod's name).
fn containerd_ident(roots: &Roots, id: &str) -> Option<Ident> {
    CONTAINERD_TASKS.iter().find_map(|tasks| {
        let path = roots.root(&format!("{tasks}/{id}/config.json"));
        let spec: OciSpec = serde_json::from_str(&read_capped(&path, CONFIG_CAP).ok()?).ok()?;
        let mut a = spec.annotations;
        let name = a
            .remove("io.kubernetes.cri.container-name")
            .or_else(|| a.remove("io.kubernetes.cri.sandbox-name"))?;
        Some(Ident {
            name,
            image: a.remove("io.kubernetes.cri.image-name"),
        })
    })
}

/// The name and image of a container, from its runtime's files, else from its id.
fn resolve(roots: &Roots, runtime: &str, id: &str) -> Ident {
    let found = match runtime {
        "docker" => docker_ident(roots, id),
        "podman" => podman_ident(roots, id),
        "containerd" => containerd_ident(roots, id),
        _ => None,
    };
    let mut ident = found.unwrap_or_else(|| Ident {
        name: if is_hex_id(id) { &id[..12] } else { id }.to_owned(),
        image: None,
    });
    ident.name = crate::read::procfs::cap_name(&ident.name).to_owned();
    ident
}

fn status(raw: &Raw) -> &'static str {
    match (raw.frozen, raw.populated) {
        (true, _) => "paused",
        (false, true) => "running",
        (false, false) => "stopped",
    }
}

/// Keeps the previous tick's CPU counters and the names resolved so far.
#[derive(Default)]
pub struct ContainersCollector {
    prev: HashMap<String, u64>,
    names: HashMap<String, Ident>,
    last: super::Since,
    buf: Vec<u8>,
}

impl ContainersCollector {
    /// This tick's containers, CPU percent (of one core) since the previous call.
    pub fn sample(&mut self, roots: &Roots) -> Vec<Container> {
        let secs = self.last.tick(Instant::now());
        let Some(layout) = layout(roots) else {
            self.prev.clear();
            return Vec::new();
        };
        let walk_root = match &layout {
            Layout::V2(d) => d.clone(),
            Layout::V1(base) => V1_CONTROLLERS[..3]
                .iter()
                .find_map(|c| v1_dir(base, c))
                .unwrap_or_else(|| base.clone()),
        };
        let mut prev = HashMap::with_capacity(self.prev.len());
        let mut names = HashMap::with_capacity(self.names.len());
        let mut out = Vec::new();
        for f in discover(&walk_root) {
            let raw = match &layout {
                Layout::V2(d) => read_v2(&d.join(&f.rel), &mut self.buf),
                Layout::V1(base) => read_v1(base, &f.rel, &mut self.buf),
            };
            let Some(raw) = raw else { continue };
            let cpu_percent = match self.prev.get(&f.cgroup) {
                Some(&before) if secs > 0.0 && raw.cpu_ns >= before => {
                    (raw.cpu_ns - before) as f64 / 1e9 / secs * 100.0
                }
                _ => 0.0,
            };
            let ident = self
                .names
                .remove(&f.id)
                .unwrap_or_else(|| resolve(roots, f.runtime, &f.id));
            prev.insert(f.cgroup.clone(), raw.cpu_ns);
            out.push(to_container(&f, &ident, &raw, cpu_percent));
            names.insert(f.id, ident);
        }
        self.prev = prev;
        self.names = names;
        out
    }
}

fn to_container(f: &Found, ident: &Ident, raw: &Raw, cpu_percent: f64) -> Container {
    Container {
        wire: model::Container {
            id: f.id.clone(),
            name: ident.name.clone(),
            image: ident.image.clone(),
            runtime: f.runtime,
            status: status(raw),
            cpu_percent: round(cpu_percent, 1),
            memory_usage: raw.memory,
            memory_limit: raw.limit,
            memory_inactive_file: raw.inactive_file,
            io_read_bytes: raw.read,
            io_write_bytes: raw.write,
            pids: raw.pids,
        },
        cgroup: f.cgroup.clone(),
        cpu_seconds: raw.cpu_ns as f64 / 1e9,
        rss: raw.rss,
    }
}

/// The `/metrics` family: cAdvisor's `container_*` names and `id`/`name`/`image` labels, from
/// the collector's reading of this tick.
pub static REGISTRATION: Registration = Registration {
    name: "containers",
    default_enabled: true,
    make,
};

fn make(settings: &Settings) -> Box<dyn Family> {
    Box::new(ContainersFamily(Arc::clone(&settings.containers)))
}

struct ContainersFamily(Feed);

impl Family for ContainersFamily {
    fn name(&self) -> &'static str {
        "containers"
    }

    fn harvest(&mut self, _: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let latest = self.0.lock().map_err(|e| e.to_string())?;
        Ok(Arc::new(Reading(Arc::clone(&latest))))
    }
}

/// The containers of one tick, as `/metrics` renders them.
#[derive(Debug)]
pub struct Reading(pub Arc<Vec<Container>>);

type Metric = (
    &'static str,
    Kind,
    &'static str,
    fn(&Container) -> Option<f64>,
);

/// cAdvisor's families, in its help texts.
const METRICS: &[Metric] = &[
    (
        "container_cpu_usage_seconds_total",
        Kind::Counter,
        "Cumulative cpu time consumed in seconds.",
        |c| Some(c.cpu_seconds),
    ),
    (
        "container_fs_reads_bytes_total",
        Kind::Counter,
        "Cumulative count of bytes read",
        |c| Some(c.wire.io_read_bytes as f64),
    ),
    (
        "container_fs_writes_bytes_total",
        Kind::Counter,
        "Cumulative count of bytes written",
        |c| Some(c.wire.io_write_bytes as f64),
    ),
    (
        "container_memory_rss",
        Kind::Gauge,
        "Size of RSS in bytes.",
        |c| c.rss.map(|r| r as f64),
    ),
    (
        "container_memory_usage_bytes",
        Kind::Gauge,
        "Current memory usage in bytes, including all memory regardless of when it was accessed",
        |c| Some(c.wire.memory_usage as f64),
    ),
    (
        "container_memory_working_set_bytes",
        Kind::Gauge,
        "Current working set in bytes.",
        |c| {
            Some(
                c.wire
                    .memory_usage
                    .saturating_sub(c.wire.memory_inactive_file) as f64,
            )
        },
    ),
    (
        "container_processes",
        Kind::Gauge,
        "Number of processes running inside the container.",
        |c| Some(c.wire.pids as f64),
    ),
    (
        "container_spec_memory_limit_bytes",
        Kind::Gauge,
        "Memory limit for the container.",
        |c| c.wire.memory_limit.map(|l| l as f64),
    ),
];

impl Harvest for Reading {
    fn render(&self, out: &mut Encoder) {
        for &(name, kind, help, value) in METRICS {
            let mut fam = out.family(name, kind, help);
            for c in self.0.iter() {
                let Some(v) = value(c) else { continue };
                let mut labels = Vec::with_capacity(4);
                if name == "container_cpu_usage_seconds_total" {
                    labels.push(("cpu", "total"));
                }
                labels.push(("id", c.cgroup.as_str()));
                if let Some(image) = &c.wire.image {
                    labels.push(("image", image.as_str()));
                }
                labels.push(("name", c.wire.name.as_str()));
                fam.sample(&labels, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, fixture};

    const D: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
    const P: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    const K: &str = "4444444444444444444444444444444444444444444444444444444444444444";
    const H: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    fn sample(host: &str) -> Vec<Container> {
        ContainersCollector::default().sample(&fixture(host))
    }

    /// A container with nothing counted, for the tests to fill in.
    fn bare(id: &str, name: &str, runtime: &'static str, status: &'static str) -> model::Container {
        model::Container {
            id: id.into(),
            name: name.into(),
            image: None,
            runtime,
            status,
            cpu_percent: 0.0,
            memory_usage: 0,
            memory_limit: None,
            memory_inactive_file: 0,
            io_read_bytes: 0,
            io_write_bytes: 0,
            pids: 0,
        }
    }

    fn wires(found: &[Container]) -> Vec<model::Container> {
        found.iter().map(|c| c.wire.clone()).collect()
    }

    #[test]
    fn identifies_each_runtimes_cgroup() {
        let cases = [
            ("system.slice", format!("docker-{D}.scope"), Some("docker")),
            ("docker", D.to_owned(), Some("docker")),
            ("machine.slice", format!("libpod-{D}.scope"), Some("podman")),
            ("x", format!("libpod-conmon-{D}.scope"), None),
            ("pod1234", D.to_owned(), Some("containerd")),
            ("p", format!("cri-containerd-{D}.scope"), Some("containerd")),
            ("p", format!("crio-{D}.scope"), Some("cri-o")),
            ("lxc.payload.web", "lxc.payload.web".into(), Some("lxc")),
            ("lxc", "web".into(), Some("lxc")),
            ("lxc", "lxc.monitor.web".into(), None),
            (
                "machine.slice",
                "machine-a\\x2db.scope".into(),
                Some("systemd-nspawn"),
            ),
            ("system.slice", "docker.service".into(), None),
            ("system.slice", format!("docker-{}.scope", &D[1..]), None),
        ];
        for (parent, name, want) in cases {
            assert_eq!(
                identify(parent, &name).map(|r| r.0),
                want,
                "{parent}/{name}"
            );
        }
        assert_eq!(
            identify("machine.slice", "machine-a\\x2db.scope"),
            Some(("systemd-nspawn", "a-b".into()))
        );
    }

    #[test]
    fn cgroup_v2_docker_podman_and_nspawn_with_their_names() {
        let found = sample("pi");
        let cgroups: Vec<&str> = found.iter().map(|c| c.cgroup.as_str()).collect();
        assert_eq!(
            cgroups,
            [
                format!("/machine.slice/libpod-{P}.scope"),
                "/machine.slice/machine-my\\x2dbox.scope".into(),
                format!("/system.slice/docker-{D}.scope"),
            ]
        );
        let ha = "ghcr.io/home-assistant/home-assistant:stable";
        let podman = model::Container {
            image: Some(ha.into()),
            memory_usage: 20971520,
            memory_inactive_file: 4194304,
            pids: 2,
            ..bare(P, "homeassistant", "podman", "paused")
        };
        let nspawn = bare("my-box", "my-box", "systemd-nspawn", "stopped");
        let docker = model::Container {
            image: Some("pihole/pihole:latest".into()),
            memory_usage: 104857600,
            memory_limit: Some(536870912),
            memory_inactive_file: 31457280,
            io_read_bytes: 1052672,
            io_write_bytes: 2097152,
            pids: 7,
            ..bare(D, "pihole", "docker", "running")
        };
        assert_eq!(wires(&found), [podman, nspawn, docker]);
        assert_eq!(found[2].cpu_seconds, 2.5);
        assert_eq!(found[2].rss, Some(52428800));
        assert_eq!(found[0].cpu_seconds, 0.001);
    }

    #[test]
    fn cgroup_v1_of_a_hybrid_host_wins_over_its_empty_unified_tree_k3s_named() {
        let found = sample("vm");
        assert_eq!(
            found.iter().map(|c| c.cgroup.as_str()).collect::<Vec<_>>(),
            [
                format!("/docker/{D}"),
                "/lxc/web1".into(),
                format!("/kubepods/besteffort/pod0f0e-11/{K}"),
            ]
        );
        let docker = model::Container {
            memory_usage: 73400320,
            memory_inactive_file: 16777216,
            io_read_bytes: 4196,
            io_write_bytes: 8192,
            pids: 3,
            ..bare(D, &D[..12], "docker", "running")
        };
        let lxc = model::Container {
            memory_usage: 1048576,
            memory_limit: Some(268435456),
            ..bare("web1", "web1", "lxc", "paused")
        };
        let k3s = model::Container {
            image: Some("docker.io/rancher/mirrored-coredns-coredns:1.12.0".into()),
            memory_usage: 3145728,
            ..bare(K, "coredns", "containerd", "running")
        };
        assert_eq!(wires(&found), [docker, lxc, k3s]);
        assert_eq!(found[2].cpu_seconds, 0.25);
        assert_eq!(found[0].cpu_seconds, 5.0);
        assert_eq!(found[0].rss, Some(41943040));
    }

    #[test]
    fn hostile_values_vanished_cgroups_and_non_utf8_names() {
        let found = sample("hostile");
        let lxc = model::Container {
            memory_usage: 4096,
            ..bare("caf\u{FFFD}", "caf\u{FFFD}", "lxc", "running")
        };
        // Garbage reads as 0 (or no limit), a sum that overflows stops at the top.
        let docker = model::Container {
            io_write_bytes: u64::MAX,
            ..bare(H, &H[..12], "docker", "stopped")
        };
        assert_eq!(wires(&found), [lxc, docker]);
        assert_eq!(found[1].cpu_seconds, 0.0);
        assert_eq!(found[1].rss, None);
    }

    #[test]
    fn no_cgroupfs_no_containers() {
        assert!(sample("laptop").is_empty());
    }

    #[test]
    fn cpu_percent_over_the_interval() {
        let dir = std::env::temp_dir().join(format!("psmonitor-containers-{}", std::process::id()));
        let cg = dir.join("sys/fs/cgroup");
        let scope = cg.join(format!("system.slice/docker-{D}.scope"));
        std::fs::create_dir_all(&scope).unwrap();
        std::fs::write(cg.join("cgroup.controllers"), "cpu\n").unwrap();
        std::fs::write(scope.join("cgroup.events"), "populated 1\n").unwrap();
        let usage =
            |us: u64| std::fs::write(scope.join("cpu.stat"), format!("usage_usec {us}\n")).unwrap();
        let roots = Roots::under(&dir);
        let mut c = ContainersCollector::default();
        usage(1_000_000);
        assert_eq!(
            c.sample(&roots)[0].wire.cpu_percent,
            0.0,
            "no rate on the first tick"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
        // 100 ms of CPU in about 200 ms: about 50 % of one core.
        usage(1_100_000);
        let pct = c.sample(&roots)[0].wire.cpu_percent;
        assert!(pct > 20.0 && pct <= 50.0, "{pct}");
        usage(5);
        assert_eq!(c.sample(&roots)[0].wire.cpu_percent, 0.0, "a reset gives 0");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_walk_stops_at_its_depth() {
        let dir = std::env::temp_dir().join(format!("psmonitor-cg-depth-{}", std::process::id()));
        let cg = dir.join("sys/fs/cgroup");
        std::fs::create_dir_all(&cg).unwrap();
        std::fs::write(cg.join("cgroup.controllers"), "memory\n").unwrap();
        // A container at the deepest level looked at, and one below it.
        for (depth, id) in [(MAX_DEPTH - 1, D), (MAX_DEPTH, P)] {
            let mut scope = cg.join(format!("d{depth}"));
            for level in 1..depth {
                scope.push(format!("l{level}"));
            }
            scope.push(format!("docker-{id}.scope"));
            std::fs::create_dir_all(&scope).unwrap();
            std::fs::write(scope.join("cgroup.events"), "populated 1\n").unwrap();
        }
        let found = ContainersCollector::default().sample(&Roots::under(&dir));
        let ids: Vec<&str> = found.iter().map(|c| c.wire.id.as_str()).collect();
        assert_eq!(ids, [D]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn metrics_in_cadvisors_names_and_labels() {
        let mut out = Encoder::default();
        Reading(Arc::new(sample("pi"))).render(&mut out);
        let text = out.finish();
        let docker = format!(
            "id=\"/system.slice/docker-{D}.scope\",image=\"pihole/pihole:latest\",name=\"pihole\""
        );
        let podman = format!(
            "id=\"/machine.slice/libpod-{P}.scope\",\
             image=\"ghcr.io/home-assistant/home-assistant:stable\",name=\"homeassistant\""
        );
        let nspawn = "id=\"/machine.slice/machine-my\\\\x2dbox.scope\",name=\"my-box\"";
        let s = |name: &str, labels: &str| format!("{name}{{{labels}}}");
        let expected = [
            (
                s(
                    "container_cpu_usage_seconds_total",
                    &format!("cpu=\"total\",{docker}"),
                ),
                2.5,
            ),
            (
                s(
                    "container_cpu_usage_seconds_total",
                    &format!("cpu=\"total\",{podman}"),
                ),
                0.001,
            ),
            (s("container_memory_usage_bytes", &docker), 104857600.0),
            (s("container_memory_working_set_bytes", &docker), 73400320.0),
            (s("container_memory_working_set_bytes", &podman), 16777216.0),
            (s("container_memory_rss", &docker), 52428800.0),
            (s("container_spec_memory_limit_bytes", &docker), 536870912.0),
            (s("container_fs_reads_bytes_total", &docker), 1052672.0),
            (s("container_fs_writes_bytes_total", &docker), 2097152.0),
            (s("container_processes", &docker), 7.0),
            (s("container_processes", nspawn), 0.0),
        ];
        let expected: Vec<(&str, f64)> = expected.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_values(&text, &expected);
        assert!(
            !text.contains(&s("container_spec_memory_limit_bytes", &podman)),
            "{text}"
        );
        assert!(text.contains("# TYPE container_cpu_usage_seconds_total counter\n"));
    }

    #[test]
    fn the_family_renders_what_the_collector_fed_it() {
        let settings = Settings::default();
        let mut family = make(&settings);
        let mut out = Encoder::default();
        family.harvest(&Roots::default()).unwrap().render(&mut out);
        assert_eq!(out.finish(), "", "nothing before the first tick");
        *settings.containers.lock().unwrap() = Arc::new(sample("vm"));
        let mut out = Encoder::default();
        family.harvest(&Roots::default()).unwrap().render(&mut out);
        let series = format!(
            "container_processes{{id=\"/docker/{D}\",name=\"{}\"}}",
            &D[..12]
        );
        assert_values(&out.finish(), &[(series.as_str(), 3.0)]);
    }
}
