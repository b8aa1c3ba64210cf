//! node_exporter 1.12's Linux collectors that psmonitor does not provide, and their flags, so
//! that a node_exporter unit's command line (`--no-collector.wifi`,
//! `--collector.systemd --collector.systemd.unit-include=...`) starts psmonitor instead of
//! being refused: `--no-collector.NAME` is what psmonitor does anyway (said at debug level),
//! `--collector.NAME` and the collector's own flags are ignored with one warning at start.
//! A name in neither this list nor [`super::families`] is a typo, refused.
//!
//! The flags are read as node_exporter's kingpin reads them: a value flag takes the next word
//! (or its `=value`), a switch takes none and has a `--no-` form, and only the repeatable ones
//! (kingpin's `.Strings()`) may be given twice. Names as in node_exporter's sources, including
//! the qdisc collector's `qdisk.` flags.

/// How one of these flags is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Takes {
    /// `--collector.X.Y` or `--no-collector.X.Y`, no value.
    Switch,
    /// `--collector.X.Y VALUE`, once.
    Value,
    /// `--collector.X.Y VALUE`, as often as wanted.
    Values,
}

/// One flag of a collector psmonitor lacks: its name after `--collector.`, its collector.
pub struct Flag {
    pub name: &'static str,
    pub collector: &'static str,
    pub takes: Takes,
}

/// The Linux collectors of node_exporter 1.12 that psmonitor does not provide.
pub const COLLECTORS: &[&str] = &[
    "buddyinfo",
    "cgroups",
    "cpu_vulnerabilities",
    "drbd",
    "drm",
    "ethtool",
    "interrupts",
    "ksmd",
    "lnstat",
    "logind",
    "meminfo_numa",
    "mountstats",
    "netvf",
    "network_route",
    "ntp",
    "pcidevice",
    "perf",
    "processes",
    "qdisc",
    "runit",
    "slabinfo",
    "softirqs",
    "supervisord",
    "swap",
    "sysctl",
    "systemd",
    "tcpstat",
    "wifi",
    "xfrm",
    "zoneinfo",
];

const fn flag(collector: &'static str, name: &'static str, takes: Takes) -> Flag {
    Flag {
        name,
        collector,
        takes,
    }
}

use Takes::{Switch, Value, Values};

/// Every flag of those collectors (the others have none).
pub const FLAGS: &[Flag] = &[
    flag("ethtool", "ethtool.device-include", Value),
    flag("ethtool", "ethtool.device-exclude", Value),
    flag("ethtool", "ethtool.metrics-include", Value),
    flag("interrupts", "interrupts.name-include", Value),
    flag("interrupts", "interrupts.name-exclude", Value),
    flag("interrupts", "interrupts.include-zeros", Switch),
    flag("netvf", "netvf.device-include", Value),
    flag("netvf", "netvf.device-exclude", Value),
    flag("ntp", "ntp.server", Value),
    flag("ntp", "ntp.server-port", Value),
    flag("ntp", "ntp.protocol-version", Value),
    flag("ntp", "ntp.server-is-local", Switch),
    flag("ntp", "ntp.ip-ttl", Value),
    flag("ntp", "ntp.max-distance", Value),
    flag("ntp", "ntp.local-offset-tolerance", Value),
    flag("pcidevice", "pcidevice.idsfile", Value),
    flag("pcidevice", "pcidevice.names", Switch),
    flag("perf", "perf.cpus", Value),
    flag("perf", "perf.tracepoint", Values),
    flag("perf", "perf.disable-hardware-profilers", Switch),
    flag("perf", "perf.hardware-profilers", Values),
    flag("perf", "perf.disable-software-profilers", Switch),
    flag("perf", "perf.software-profilers", Values),
    flag("perf", "perf.disable-cache-profilers", Switch),
    flag("perf", "perf.cache-profilers", Values),
    flag("qdisc", "qdisc.fixtures", Value),
    flag("qdisc", "qdisk.device-include", Value),
    flag("qdisc", "qdisk.device-exclude", Value),
    flag("runit", "runit.servicedir", Value),
    flag("slabinfo", "slabinfo.slabs-include", Value),
    flag("slabinfo", "slabinfo.slabs-exclude", Value),
    flag("supervisord", "supervisord.url", Value),
    flag("sysctl", "sysctl.include", Values),
    flag("sysctl", "sysctl.include-info", Values),
    flag("systemd", "systemd.unit-include", Value),
    flag("systemd", "systemd.unit-exclude", Value),
    flag("systemd", "systemd.unit-whitelist", Value),
    flag("systemd", "systemd.unit-blacklist", Value),
    flag("systemd", "systemd.private", Switch),
    flag("systemd", "systemd.enable-task-metrics", Switch),
    flag("systemd", "systemd.enable-restarts-metrics", Switch),
    flag("systemd", "systemd.enable-start-time-metrics", Switch),
    flag("wifi", "wifi.fixtures", Value),
];

/// The flag named `name` (after `--collector.`), if it is one of these.
pub fn find(name: &str) -> Option<&'static Flag> {
    FLAGS.iter().find(|f| f.name == name)
}

/// Whether `name` is a collector psmonitor lacks.
pub fn lacks(name: &str) -> bool {
    COLLECTORS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::{COLLECTORS, FLAGS};

    /// No name is both provided and lacking, every flag belongs to a listed collector, and
    /// none is one psmonitor takes itself.
    #[test]
    fn lists_agree_with_the_registry() {
        for c in COLLECTORS {
            assert!(crate::collect::families::find(c).is_none(), "{c}");
        }
        for f in FLAGS {
            assert!(COLLECTORS.contains(&f.collector), "{}", f.name);
            assert!(
                crate::collect::flags::FLAGS
                    .iter()
                    .all(|g| g.name != f.name),
                "{}",
                f.name
            );
        }
        let mut names: Vec<&str> = COLLECTORS.to_vec();
        names.dedup();
        assert_eq!(names.len(), COLLECTORS.len());
    }

    /// docs/metrics.md names each of them.
    #[test]
    fn documented() {
        let doc = include_str!("../../docs/metrics.md");
        let at = doc
            .find("### Collectors psmonitor does not provide")
            .unwrap();
        let section = &doc[at..at + doc[at..].find("\n### ").unwrap()];
        for c in COLLECTORS {
            assert!(
                section.contains(&format!("`{c}`")),
                "docs/metrics.md lacks {c}"
            );
        }
    }
}
