//! node_exporter's per-collector filter flags (`--collector.netdev.device-exclude=REGEX`, ...):
//! which ones psmonitor takes, what they mean and their defaults.
//!
//! A filter is a Go regexp matched with `MatchString`: unanchored, so `lo` also matches
//! `vlo0` unless the pattern says `^lo$`. Include and exclude of one filter are mutually
//! exclusive (node_exporter refuses both at start, and so does this). A flag not given keeps
//! the family's default, which is Debian's packaged node_exporter's (what `tests/parity.rs`
//! compares against), written out in the family's module.
//!
//! An empty pattern means "no pattern", as node_exporter's `NewDeviceFilter`: an empty
//! include is as if not given, an empty exclude filters nothing (and so drops the default:
//! `--collector.netdev.device-exclude=` shows `lo`), an empty deprecated name is ignored, an
//! empty exclude next to an include is no conflict, and an empty `cpu.info.flags-include` /
//! `bugs-include` is unset. Single patterns that node_exporter compiles as given
//! (`netclass.ignored-devices`, `netstat.fields`, ...) keep Go's meaning of an empty one:
//! it matches every name.

use regex_lite::Regex;
use std::collections::BTreeMap;

/// One flag: its name after `--collector.`, and what it says. A flag whose help starts with
/// `(switch)` takes no value: `--collector.NAME` turns it on, `--no-collector.NAME` off. One
/// whose help starts with `(list)` takes a comma-separated list, checked by its family at
/// start-up, not a regexp.
pub struct Flag {
    pub name: &'static str,
    pub help: &'static str,
}

impl Flag {
    /// Whether the flag is an on/off switch rather than a pattern.
    pub fn switch(&self) -> bool {
        self.help.starts_with("(switch)")
    }

    /// Whether the flag takes a comma-separated list rather than a pattern.
    pub fn list(&self) -> bool {
        self.help.starts_with("(list)")
    }

    /// Whether the flag takes a plain value (a duration, a count) checked at start-up.
    pub fn value(&self) -> bool {
        self.help.starts_with("(value)")
    }
}

/// Every filter flag psmonitor takes, as node_exporter 1.12 names it.
pub const FLAGS: &[Flag] = &[
    Flag {
        name: "arp.device-include",
        help: "regexp of arp devices to include (mutually exclusive to device-exclude)",
    },
    Flag {
        name: "arp.device-exclude",
        help: "regexp of arp devices to exclude (mutually exclusive to device-include)",
    },
    Flag {
        name: "bcache.priorityStats",
        help: "(switch) expose expensive priority stats (cacheN/priority_stats) [default off]",
    },
    Flag {
        name: "arp.netlink",
        help: "(switch) use netlink to gather stats instead of /proc/net/arp; only netlink has node_arp_states [default on]",
    },
    Flag {
        name: "cpu.guest",
        help: "(switch) node_cpu_guest_seconds_total [default on]",
    },
    Flag {
        name: "cpu.info",
        help: "(switch) node_cpu_info from /proc/cpuinfo, per CPU [default off]",
    },
    Flag {
        name: "cpu.info.flags-include",
        help: "regexp of the first CPU's cpuinfo flags to expose as node_cpu_flag_info (turns cpu.info on)",
    },
    Flag {
        name: "cpu.info.bugs-include",
        help: "regexp of the first CPU's cpuinfo bugs to expose as node_cpu_bug_info (turns cpu.info on)",
    },
    Flag {
        name: "diskstats.ignored-devices",
        help: "deprecated name of diskstats.device-exclude (node_exporter still takes it, until 2.0)",
    },
    Flag {
        name: "netdev.device-blacklist",
        help: "deprecated name of netdev.device-exclude (until node_exporter 2.0)",
    },
    Flag {
        name: "netdev.device-whitelist",
        help: "deprecated name of netdev.device-include (until node_exporter 2.0)",
    },
    Flag {
        name: "filesystem.ignored-mount-points",
        help: "deprecated name of filesystem.mount-points-exclude (until node_exporter 2.0)",
    },
    Flag {
        name: "filesystem.ignored-fs-types",
        help: "deprecated name of filesystem.fs-types-exclude (until node_exporter 2.0)",
    },
    Flag {
        name: "diskstats.device-include",
        help: "regexp of diskstats devices to include (mutually exclusive to device-exclude)",
    },
    Flag {
        name: "diskstats.device-exclude",
        help: "regexp of diskstats devices to exclude [default ^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$]",
    },
    Flag {
        name: "filesystem.mount-points-include",
        help: "regexp of mount points to include (mutually exclusive to mount-points-exclude)",
    },
    Flag {
        name: "filesystem.mount-points-exclude",
        help: "regexp of mount points to exclude [default Debian's ^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)]",
    },
    Flag {
        name: "filesystem.fs-types-include",
        help: "regexp of filesystem types to include (mutually exclusive to fs-types-exclude)",
    },
    Flag {
        name: "filesystem.fs-types-exclude",
        help: "regexp of filesystem types to exclude [default Debian's list: autofs, binfmt_misc, cgroup, proc, sysfs, ...]",
    },
    Flag {
        name: "filesystem.mount-timeout",
        help: "(value) how long a mount's statfs is waited for before it is reported stale (device_error 1), a Go duration (500ms, 5s) [default psmonitor's 1s; node_exporter's is 5s]",
    },
    Flag {
        name: "filesystem.stat-workers",
        help: "(value) accepted as node_exporter's (statfs calls at once); psmonitor measures in turn and gives a hung mount a helper of its own [default 4]",
    },
    Flag {
        name: "hwmon.chip-include",
        help: "regexp of hwmon chips (the chip label) to include (mutually exclusive to chip-exclude)",
    },
    Flag {
        name: "hwmon.chip-exclude",
        help: "regexp of hwmon chips to exclude (mutually exclusive to chip-include)",
    },
    Flag {
        name: "ipvs.backend-labels",
        help: "(list) IPVS backend stats labels, comma-separated [default local_address,local_port,remote_address,remote_port,proto,local_mark]",
    },
    Flag {
        name: "netstat.fields",
        help: "regexp of netstat fields (Protocol_Field) to expose [default node_exporter 1.12's ^(.*_(InErrors|InErrs)|Ip_Forwarding|...|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$]",
    },
    Flag {
        name: "vmstat.fields",
        help: "regexp of /proc/vmstat fields to expose [default ^(oom_kill|pgpg|pswp|pg.*fault).*]",
    },
    Flag {
        name: "powersupply.ignored-supplies",
        help: "regexp of power supplies (their /sys/class/power_supply names) to leave out [default ^$]",
    },
    Flag {
        name: "rapl.enable-zone-label",
        help: "(switch) one node_rapl_joules_total{index,path,rapl_zone} instead of node_rapl_<zone>_joules_total [default off]",
    },
    Flag {
        name: "stat.softirq",
        help: "(switch) node_softirqs_total{vector} from /proc/stat's softirq line [default off]",
    },
    Flag {
        name: "hwmon.sensor-include",
        help: "regexp of hwmon sensors to include, matched against chip;sensor (platform_coretemp_0;temp3) (mutually exclusive to sensor-exclude)",
    },
    Flag {
        name: "hwmon.sensor-exclude",
        help: "regexp of hwmon sensors to exclude, matched against chip;sensor (mutually exclusive to sensor-include)",
    },
    Flag {
        name: "netclass.netlink",
        help: "(switch) accepted as node_exporter's (rtnetlink instead of sysfs); psmonitor reads /sys/class/net either way [default off]",
    },
    Flag {
        name: "netclass_rtnl.with-stats",
        help: "(switch) accepted as node_exporter's; without netclass.netlink it does nothing there either [default off]",
    },
    Flag {
        name: "netclass.ignored-devices",
        help: "regexp of net devices to ignore for netclass [default ^$]",
    },
    Flag {
        name: "netclass.ignore-invalid-speed",
        help: "(switch) ignore devices where the speed is invalid (-1, unknown link) [default off]",
    },
    Flag {
        name: "netdev.address-info",
        help: "(switch) node_network_address_info{device,address,netmask,scope} for every interface's addresses [default off]",
    },
    Flag {
        name: "netdev.enable-detailed-metrics",
        help: "(switch) netlink's detailed counters (receive_errors, receive_missed_errors, transmit_carrier_errors, ...) from sysfs statistics/ instead of /proc/net/dev's folded columns [default off]",
    },
    Flag {
        name: "netdev.label-ifalias",
        help: "(switch) an ifalias label (sysfs ifalias, empty if none) on every netdev series [default off]",
    },
    Flag {
        name: "netdev.netlink",
        help: "(switch) accepted as node_exporter's (rtnetlink instead of /proc/net/dev); psmonitor reads /proc/net/dev either way [default on]",
    },
    Flag {
        name: "netdev.device-include",
        help: "regexp of net devices to include (mutually exclusive to device-exclude)",
    },
    Flag {
        name: "netdev.device-exclude",
        help: "regexp of net devices to exclude [default Debian's ^lo$]",
    },
    Flag {
        name: "tapestats.ignored-devices",
        help: "regexp of tape devices to ignore for tapestats [default ^$]",
    },
];

/// node_exporter's deprecated filter names (hidden in its `--help`, removed in 2.0) and the
/// flag each stands for.
const DEPRECATED: [(&str, &str); 5] = [
    ("netdev.device-blacklist", "netdev.device-exclude"),
    ("netdev.device-whitelist", "netdev.device-include"),
    ("diskstats.ignored-devices", "diskstats.device-exclude"),
    (
        "filesystem.ignored-mount-points",
        "filesystem.mount-points-exclude",
    ),
    ("filesystem.ignored-fs-types", "filesystem.fs-types-exclude"),
];

/// The filter flags given on the command line: name (after `--collector.`) to pattern.
#[derive(Debug, Clone, Default)]
pub struct Values(BTreeMap<&'static str, String>, ValuesOld);

/// Which deprecated names were given (to refuse them next to their new names).
type ValuesOld = Vec<&'static str>;

impl Values {
    /// Takes `--collector.NAME PATTERN` if NAME is one of [`FLAGS`]; `Ok(false)` if not ours.
    pub fn take(&mut self, name: &str, pattern: &str) -> Result<bool, String> {
        let Some(flag) = FLAGS.iter().find(|f| f.name == name) else {
            return Ok(false);
        };
        if flag.switch() || flag.list() || flag.value() {
            self.0.insert(flag.name, pattern.to_owned());
            return Ok(true);
        }
        Regex::new(pattern)
            .map_err(|e| format!("invalid value '{pattern}' for --collector.{name}: {e}"))?;
        // A deprecated name (still in node_exporter 1.12, gone in 2.0) stands for its new one;
        // both given is an error there, and here.
        let mut key = flag.name;
        if pattern.is_empty() && DEPRECATED.iter().any(|(old, _)| *old == name) {
            // node_exporter reads an empty deprecated flag as not given.
            return Ok(true);
        }
        for (old, new) in DEPRECATED {
            let clash = if name == old {
                key = new;
                self.0.contains_key(new)
            } else {
                name == new && self.1.contains(&old)
            };
            if clash {
                return Err(format!(
                    "--collector.{new} and --collector.{old} are mutually exclusive"
                ));
            }
            if name == old {
                log::warn!("--collector.{old} is deprecated, use --collector.{new}");
                self.1.push(old);
            }
        }
        self.0.insert(key, pattern.to_owned());
        Ok(true)
    }

    /// The filter `PREFIX-include`/`PREFIX-exclude` (`netdev.device`), `None` (the family's
    /// default) if neither was given. Both given non-empty is an error, as in node_exporter;
    /// an empty include is not given, an empty exclude is [`Filter::Nothing`].
    pub fn filter(&self, prefix: &str) -> Result<Option<Filter>, String> {
        let get = |kind: &str| self.0.get(format!("{prefix}-{kind}").as_str());
        let compile = |p: &String| Regex::new(p).map_err(|e| e.to_string());
        let include = get("include").filter(|p| !p.is_empty());
        match (include, get("exclude")) {
            (Some(_), Some(e)) if !e.is_empty() => Err(format!(
                "--collector.{prefix}-include and --collector.{prefix}-exclude are mutually exclusive"
            )),
            (Some(p), _) => Ok(Some(Filter::Include(compile(p)?))),
            (None, Some(p)) if p.is_empty() => Ok(Some(Filter::Nothing)),
            (None, Some(p)) => Ok(Some(Filter::Exclude(compile(p)?))),
            (None, None) => Ok(None),
        }
    }

    /// An include pattern that is unset when empty (`cpu.info.flags-include`), if given.
    pub fn include(&self, name: &str) -> Option<Regex> {
        self.0
            .get(name)
            .filter(|p| !p.is_empty())
            .and_then(|p| Regex::new(p).ok())
    }

    /// The switch `name` (`netclass.ignore-invalid-speed`): on when given, off by default.
    pub fn switch(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|v| v == "true")
    }

    /// The value of `name` as given (a list flag's), if it was.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The switch `name`: on or off as given, `default` when it was not.
    pub fn switch_or(&self, name: &str, default: bool) -> bool {
        self.0.get(name).map_or(default, |v| v == "true")
    }

    /// The single pattern `name` (`netclass.ignored-devices`), if given.
    pub fn pattern(&self, name: &str) -> Option<Regex> {
        Regex::new(self.0.get(name)?).ok()
    }

    /// Checks every pair at start-up, so a conflict stops the server with one line.
    pub fn check(&self) -> Result<(), String> {
        if let Some(labels) = self.value("ipvs.backend-labels") {
            super::ipvs::backend_labels(labels)?;
        }
        if let Some(d) = self.value("filesystem.mount-timeout") {
            go_duration(d)
                .filter(|d| !d.is_zero())
                .ok_or(format!("invalid value '{d}' for --collector.filesystem.mount-timeout: a duration such as 500ms or 5s"))?;
        }
        if let Some(n) = self.value("filesystem.stat-workers") {
            n.parse::<u16>().ok().filter(|n| *n > 0).ok_or(format!(
                "invalid value '{n}' for --collector.filesystem.stat-workers: 1 to 65535"
            ))?;
        }
        for flag in FLAGS {
            if let Some(prefix) = flag.name.strip_suffix("-include") {
                self.filter(prefix)?;
            }
        }
        Ok(())
    }
}

/// A Go duration as `time.ParseDuration` reads the ones people write: a sequence of a decimal
/// number and a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`): `5s`, `1m30s`, `1.5s`. `None` if
/// it is not one, negative, or past a day.
pub fn go_duration(s: &str) -> Option<std::time::Duration> {
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(std::time::Duration::ZERO);
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    (total.is_finite() && total <= 86_400.0).then(|| std::time::Duration::from_secs_f64(total))
}

/// A compiled include or exclude pattern.
#[derive(Debug, Clone)]
pub enum Filter {
    Include(Regex),
    Exclude(Regex),
    /// An empty exclude: nothing is left out, not even the default's names.
    Nothing,
}

impl Filter {
    /// Whether `name` is left out: it does not match an include, or matches an exclude
    /// (anywhere in it, as Go's `MatchString`).
    pub fn ignored(&self, name: &str) -> bool {
        match self {
            Filter::Include(r) => !r.is_match(name),
            Filter::Exclude(r) => r.is_match(name),
            Filter::Nothing => false,
        }
    }
}

/// `filter`'s verdict on `name` if a flag was given, else `default`'s.
pub fn ignored(filter: &Option<Filter>, name: &str, default: impl Fn(&str) -> bool) -> bool {
    match filter {
        Some(f) => f.ignored(name),
        None => default(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unanchored_as_go_match_string() {
        let mut v = Values::default();
        assert!(v.take("netdev.device-exclude", "lo").unwrap());
        let f = v.filter("netdev.device").unwrap().unwrap();
        assert!(f.ignored("lo") && f.ignored("vlo0"));
        assert!(!f.ignored("eth0"));
        let mut v = Values::default();
        v.take("netdev.device-include", "^eth").unwrap();
        let f = v.filter("netdev.device").unwrap().unwrap();
        assert!(!f.ignored("eth0") && f.ignored("veth0"));
        assert!(!v.take("netdev.bogus", "x").unwrap());
    }

    #[test]
    fn deprecated_names_stand_for_the_new_ones() {
        let mut v = Values::default();
        assert!(v.take("filesystem.ignored-mount-points", "^/boot").unwrap());
        assert_eq!(v.value("filesystem.mount-points-exclude"), Some("^/boot"));
        assert!(v
            .filter("filesystem.mount-points")
            .unwrap()
            .unwrap()
            .ignored("/boot/efi"));
        let err = v
            .take("filesystem.mount-points-exclude", "^/x")
            .unwrap_err();
        assert!(err.contains("mutually exclusive"), "{err}");
        let mut v = Values::default();
        v.take("diskstats.device-exclude", "^sd").unwrap();
        assert!(v.take("diskstats.ignored-devices", "^sd").is_err());
        let mut v = Values::default();
        v.take("netdev.device-whitelist", "^eth").unwrap();
        let f = v.filter("netdev.device").unwrap().unwrap();
        assert!(!f.ignored("eth0") && f.ignored("lo"));
        assert!(v.take("netdev.device-include", "^en").is_err());
        let mut v = Values::default();
        v.take("netdev.device-blacklist", "^lo$").unwrap();
        assert!(v.filter("netdev.device").unwrap().unwrap().ignored("lo"));
        assert!(Values::default()
            .take("filesystem.ignored-fs-types", "(")
            .is_err());
    }

    #[test]
    fn go_durations() {
        use std::time::Duration;
        assert_eq!(go_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(go_duration("250ms"), Some(Duration::from_millis(250)));
        for bad in ["", "5", "s", "-1s", "5x", "1e9h", "2d"] {
            assert_eq!(go_duration(bad), None, "{bad}");
        }
        let mut v = Values::default();
        v.take("filesystem.mount-timeout", "0s").unwrap();
        assert!(v.check().is_err(), "zero waits for nothing");
        let mut v = Values::default();
        v.take("filesystem.stat-workers", "four").unwrap();
        assert!(v.check().is_err());
    }

    /// node_exporter's `NewDeviceFilter`: an empty pattern is no pattern, for every
    /// include/exclude pair.
    #[test]
    fn empty_patterns_mean_no_filter() {
        let pairs: Vec<&str> = FLAGS
            .iter()
            .filter_map(|f| f.name.strip_suffix("-include"))
            .filter(|p| FLAGS.iter().any(|f| f.name == format!("{p}-exclude")))
            .collect();
        assert!(pairs.len() >= 7, "{pairs:?}");
        for prefix in pairs {
            let exclude = format!("{prefix}-exclude");
            let include = format!("{prefix}-include");
            // An empty exclude filters nothing (the default is dropped).
            let mut v = Values::default();
            v.take(&exclude, "").unwrap();
            let f = v.filter(prefix).unwrap().unwrap();
            assert!(!f.ignored("lo") && !f.ignored(""), "{prefix}");
            // An empty include is not given: the family's default stands.
            let mut v = Values::default();
            v.take(&include, "").unwrap();
            assert!(v.filter(prefix).unwrap().is_none(), "{prefix}");
            // An empty one next to a pattern is no conflict; the pattern holds.
            let mut v = Values::default();
            v.take(&include, "^eth").unwrap();
            v.take(&exclude, "").unwrap();
            v.check().unwrap();
            let f = v.filter(prefix).unwrap().unwrap();
            assert!(!f.ignored("eth0") && f.ignored("lo"), "{prefix}");
            let mut v = Values::default();
            v.take(&include, "").unwrap();
            v.take(&exclude, "^lo$").unwrap();
            v.check().unwrap();
            let f = v.filter(prefix).unwrap().unwrap();
            assert!(f.ignored("lo") && !f.ignored("eth0"), "{prefix}");
            // Both empty: nothing left out.
            let mut v = Values::default();
            v.take(&include, "").unwrap();
            v.take(&exclude, "").unwrap();
            assert!(!v.filter(prefix).unwrap().unwrap().ignored("lo"));
        }
        // An empty deprecated name is not given, and no clash with its new name.
        let mut v = Values::default();
        v.take("filesystem.ignored-mount-points", "").unwrap();
        v.take("filesystem.mount-points-exclude", "^/boot").unwrap();
        assert!(v
            .filter("filesystem.mount-points")
            .unwrap()
            .unwrap()
            .ignored("/boot"));
        let mut v = Values::default();
        v.take("diskstats.ignored-devices", "").unwrap();
        assert!(v.filter("diskstats.device").unwrap().is_none());
        // cpu.info's includes: empty is unset.
        let mut v = Values::default();
        v.take("cpu.info.flags-include", "").unwrap();
        assert!(v.include("cpu.info.flags-include").is_none());
        v.take("cpu.info.bugs-include", "^spectre").unwrap();
        assert!(v.include("cpu.info.bugs-include").is_some());
    }

    #[test]
    fn both_or_a_bad_pattern_is_refused() {
        let mut v = Values::default();
        assert!(v.take("diskstats.device-exclude", "(").is_err());
        v.take("diskstats.device-exclude", "^sd").unwrap();
        v.take("diskstats.device-include", "^nvme").unwrap();
        assert!(v.check().unwrap_err().contains("mutually exclusive"));
    }
}
