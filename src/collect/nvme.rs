//! `nvme`: NVMe controllers from `/sys/class/nvme/nvmeN/`, as node_exporter 1.12's `nvme`
//! collector (since 1.2; namespaces and `cntlid` since 1.9) exposes them:
//! `node_nvme_info{device,firmware_revision,model,serial,state,cntlid}` and, per namespace,
//! `node_nvme_namespace_{info,capacity_bytes,size_bytes,used_bytes,logical_block_size_bytes}`.
//!
//! Kernel ABI: `firmware_rev`, `model` and `serial` are the controller's identify strings,
//! space-padded (trimmed here, as procfs does); `state` is `live`, `resetting`, `connecting`,
//! `deleting` or `dead`; `cntlid` the controller id. Pitfalls, all node_exporter's and kept
//! so series match: namespaces are found only as `nvme<N>c<C>n<NS>` directories, which exist
//! under the controller only with native NVMe multipath (most distribution kernels enable
//! it; without it there are no namespace series); `size_bytes` is the `size` file as it is,
//! which the kernel writes in 512-byte sectors, while `capacity_bytes` is `size` times the
//! logical block size and `used_bytes` is `nuse` (blocks) times it; a missing number reads
//! 0, a missing `ana_state` `unknown`, a missing `cntlid` `0`. A missing string is empty here,
//! where procfs fails the whole collector.

use super::family::{Family, Harvest, NoData, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::{read_capped, sorted_entries, ATTR_CAP};
use std::path::Path;
use std::sync::Arc;

/// Registers the `nvme` family.
pub const REGISTRATION: Registration = Registration {
    name: "nvme",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(NvmeFamily)
}

/// One controller.
#[derive(Debug)]
struct Controller {
    device: String,
    firmware: String,
    model: String,
    serial: String,
    state: String,
    cntlid: u64,
    namespaces: Vec<Namespace>,
}

/// One namespace of a controller, in node_exporter's units.
#[derive(Debug)]
struct Namespace {
    nsid: String,
    ana_state: String,
    size: u64,
    used: u64,
    block: u64,
}

#[derive(Debug)]
struct Reading(Vec<Controller>);

struct NvmeFamily;

fn text(dir: &Path, file: &str) -> Option<String> {
    read_capped(&dir.join(file), ATTR_CAP)
        .ok()
        .map(|s| s.trim().to_owned())
}

fn number(dir: &Path, file: &str) -> u64 {
    text(dir, file).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The namespace id of a `nvme<N>c<C>n<NS>` directory name (node_exporter's glob
/// `nvme[0-9]*c[0-9]*n[0-9]*` and regexp `nvme[0-9]+c[0-9]+n([0-9]+)`).
fn nsid(name: &str) -> Option<&str> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = name.strip_prefix("nvme")?;
    let n = digits(rest);
    let rest = rest[n..].strip_prefix('c').filter(|_| n > 0)?;
    let c = digits(rest);
    let rest = rest[c..].strip_prefix('n').filter(|_| c > 0)?;
    let ns = digits(rest);
    (ns > 0).then(|| &rest[..ns])
}

fn namespaces(dir: &Path) -> Vec<Namespace> {
    sorted_entries(dir)
        .iter()
        .filter_map(|e| {
            let name = e.to_str()?;
            let id = nsid(name)?;
            let ns = dir.join(name);
            let block = number(&ns, "queue/logical_block_size");
            Some(Namespace {
                nsid: id.to_owned(),
                ana_state: text(&ns, "ana_state").unwrap_or_else(|| "unknown".into()),
                size: number(&ns, "size"),
                used: number(&ns, "nuse").wrapping_mul(block),
                block,
            })
        })
        .collect()
}

impl Family for NvmeFamily {
    fn name(&self) -> &'static str {
        "nvme"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let class = roots.sys("class/nvme");
        if !crate::read::procfs::is_dir(&class) {
            return Ok(Arc::new(NoData));
        }
        let mut found = Vec::new();
        for entry in sorted_entries(&class) {
            // By its real place, as the hwmon family reaches it (a drive's `hwmonN/device`).
            let dir = crate::read::procfs::resolved(&class.join(&entry));
            if !crate::read::procfs::is_dir(&dir) {
                continue;
            }
            let get = |f: &str| text(&dir, f).unwrap_or_default();
            found.push(Controller {
                device: entry.to_string_lossy().into_owned(),
                firmware: get("firmware_rev"),
                model: get("model"),
                serial: get("serial"),
                state: get("state"),
                cntlid: number(&dir, "cntlid"),
                namespaces: namespaces(&dir),
            });
        }
        Ok(Arc::new(Reading(found)))
    }
}

/// The per-namespace gauges: name, help, value.
type NsGauge = (&'static str, &'static str, fn(&Namespace) -> f64);

const NS_GAUGES: [NsGauge; 4] = [
    (
        "node_nvme_namespace_capacity_bytes",
        "Capacity of the NVMe namespace in bytes. Computed as namespace_size * namespace_logical_block_size",
        |n| n.size.wrapping_mul(n.block) as f64,
    ),
    (
        "node_nvme_namespace_size_bytes",
        "Size of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/size",
        |n| n.size as f64,
    ),
    (
        "node_nvme_namespace_used_bytes",
        "Used space of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/nuse",
        |n| n.used as f64,
    ),
    (
        "node_nvme_namespace_logical_block_size_bytes",
        "Logical block size of the NVMe namespace in bytes. Usually 4Kb. Available in /sys/class/nvme/<device>/<namespace>/queue/logical_block_size",
        |n| n.block as f64,
    ),
];

impl Harvest for Reading {
    fn render(&self, out: &mut Encoder) {
        let mut f = out.family(
            "node_nvme_info",
            Kind::Gauge,
            "Non-numeric data from /sys/class/nvme/<device>, value is always 1.",
        );
        for c in &self.0 {
            let cntlid = c.cntlid.to_string();
            f.sample(
                &[
                    ("cntlid", &cntlid),
                    ("device", &c.device),
                    ("firmware_revision", &c.firmware),
                    ("model", &c.model),
                    ("serial", &c.serial),
                    ("state", &c.state),
                ],
                1.0,
            );
        }
        let mut f = out.family(
            "node_nvme_namespace_info",
            Kind::Gauge,
            "Information about NVMe namespaces. Value is always 1",
        );
        for c in &self.0 {
            for n in &c.namespaces {
                let labels = [
                    ("ana_state", n.ana_state.as_str()),
                    ("device", &c.device),
                    ("nsid", &n.nsid),
                ];
                f.sample(&labels, 1.0);
            }
        }
        for (name, help, value) in NS_GAUGES {
            let mut f = out.family(name, Kind::Gauge, help);
            for c in &self.0 {
                for n in &c.namespaces {
                    f.sample(&[("device", &c.device), ("nsid", &n.nsid)], value(n));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, fixture, run};

    #[test]
    fn namespace_names() {
        assert_eq!(nsid("nvme0c0n1"), Some("1"));
        assert_eq!(nsid("nvme12c3n45"), Some("45"));
        for name in ["nvme0n1", "nvme0", "nvmec0n1", "nvme0c0n", "ng0n1"] {
            assert_eq!(nsid(name), None, "{name}");
        }
    }

    #[test]
    fn laptop_controller_and_namespace() {
        let t = run(&REGISTRATION, "laptop");
        assert_values(
            &t,
            &[
                ("node_nvme_info{cntlid=\"6\",device=\"nvme0\",firmware_revision=\"GXA7801Q\",model=\"SAMSUNG MZVL2512HCJQ-00BL7\",serial=\"S64KNX0T123456\",state=\"live\"}", 1.0),
                ("node_nvme_namespace_info{ana_state=\"optimized\",device=\"nvme0\",nsid=\"1\"}", 1.0),
                // `size` is in 512-byte sectors; node_exporter passes it on as "bytes".
                ("node_nvme_namespace_size_bytes{device=\"nvme0\",nsid=\"1\"}", 1000215216.0),
                ("node_nvme_namespace_capacity_bytes{device=\"nvme0\",nsid=\"1\"}", 1000215216.0 * 512.0),
                ("node_nvme_namespace_used_bytes{device=\"nvme0\",nsid=\"1\"}", 123456.0 * 512.0),
                ("node_nvme_namespace_logical_block_size_bytes{device=\"nvme0\",nsid=\"1\"}", 512.0),
            ],
        );
        // The plain `nvme0n1` link is not a namespace directory to node_exporter.
        assert_eq!(t.matches("node_nvme_namespace_info{").count(), 1, "{t}");
    }

    #[test]
    fn no_nvme_is_no_data() {
        assert!(NvmeFamily.harvest(&fixture("pi")).unwrap().no_data());
    }
}
