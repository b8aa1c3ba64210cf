//! `rapl`: Intel/AMD RAPL energy counters from `/sys/class/powercap/<zone>/energy_uj`, as
//! node_exporter 1.5.0's `rapl` collector exposes them:
//! `node_rapl_<name>_joules_total{index,path}` in joules, or with
//! `--collector.rapl.enable-zone-label` one `node_rapl_joules_total{index,path,rapl_zone}`.
//!
//! The zone's `name` file gives the metric: `package-0` becomes `node_rapl_package_joules_total`
//! with `index="0"`; names without a `-N` suffix (`core`, `dram`) count their repeats for the
//! index. `path` is the zone's directory below `--path.sysfs`, so two zones with the same name
//! and index (`intel-rapl:0` and `intel-rapl-mmio:0` are both `package-0`) stay apart.
//!
//! Pitfalls: `energy_uj` is readable by root only since Linux 5.10 (CVE-2020-8694), and it
//! wraps at `max_energy_range_uj` (the counter resets, which Prometheus' `rate` handles). A
//! zone whose files cannot be read is skipped; node_exporter gives up the whole collector.
//! The control-type directories (`intel-rapl`) have no `name` and are not zones.

use super::family::{Family, Harvest, Registration, Roots, Samples, Settings};
use crate::exposition::Kind;
use crate::read::procfs::{read_capped, read_capped_number, sorted_entries, FILE_CAP};
use std::collections::HashMap;
use std::sync::Arc;

/// Registers the `rapl` family.
pub const REGISTRATION: Registration = Registration {
    name: "rapl",
    default_enabled: true,
    make: make_family,
};

fn make_family(settings: &Settings) -> Box<dyn Family> {
    Box::new(RaplFamily {
        zone_label: settings.flags.switch("rapl.enable-zone-label"),
    })
}

struct RaplFamily {
    /// `--collector.rapl.enable-zone-label`: one family, `node_rapl_joules_total`, with the
    /// zone's name in `rapl_zone`, instead of one family per zone name.
    zone_label: bool,
}

/// procfs' `getIndexAndName`: `name-N` gives index N, else the name's count so far.
fn index_and_name<'a>(counts: &HashMap<String, i64>, name: &'a str) -> (i64, &'a str) {
    let mut parts = name.split('-');
    if let (Some(base), Some(n), None) = (parts.next(), parts.next(), parts.next()) {
        if let Ok(index) = n.parse() {
            return (index, base);
        }
    }
    (counts.get(name).copied().unwrap_or(0), name)
}

/// node_exporter's `SanitizeMetricName`: each run of `_*[^0-9A-Za-z_]+_*` becomes one `_`.
fn sanitize(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|&&c| c == '_').count();
        match chars.get(i + run) {
            Some(&c) if !valid(c) => {
                let mut j = i + run;
                while chars.get(j).is_some_and(|&c| !valid(c)) {
                    j += 1;
                }
                while chars.get(j) == Some(&'_') {
                    j += 1;
                }
                out.push('_');
                i = j;
            }
            _ => {
                let end = (i + run).max(i + 1).min(chars.len());
                out.extend(&chars[i..end]);
                i = end;
            }
        }
    }
    out
}

impl Family for RaplFamily {
    fn name(&self) -> &'static str {
        "rapl"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let class = roots.sys("class/powercap");
        if !crate::read::procfs::is_dir(&class) {
            // The host has no such files: node_exporter's "no data" (success 0).
            return Ok(Arc::new(super::family::NoData));
        }
        let mut counts: HashMap<String, i64> = HashMap::new();
        let mut out = Samples::default();
        for entry in sorted_entries(&class) {
            let zone = class.join(&entry);
            let Ok(raw) = read_capped(&zone.join("name"), FILE_CAP) else {
                continue;
            };
            let (index, name) = index_and_name(&counts, raw.trim());
            let read_u64 = |file: &str| read_capped_number::<u64>(&zone.join(file), FILE_CAP);
            if read_u64("max_energy_range_uj").is_none() {
                continue;
            }
            counts.insert(name.to_owned(), index.saturating_add(1));
            let Some(uj) = read_u64("energy_uj") else {
                continue;
            };
            let mut labels = vec![
                ("index", index.to_string()),
                ("path", zone.to_string_lossy().into_owned()),
            ];
            let joules = uj as f64 / 1_000_000.0;
            if self.zone_label {
                labels.push(("rapl_zone", name.to_owned()));
                out.push(
                    "node_rapl_joules_total",
                    Kind::Counter,
                    "Current RAPL value in joules",
                    labels,
                    joules,
                );
            } else {
                out.push(
                    format!("node_rapl_{}_joules_total", sanitize(name)),
                    Kind::Counter,
                    format!("Current RAPL {name} value in joules"),
                    labels,
                    joules,
                );
            }
        }
        Ok(Arc::new(out.sorted()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{fixture, run, value};

    fn zone(host: &str, z: &str) -> String {
        fixture(host)
            .sys("class/powercap")
            .join(z)
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn sanitizes_as_node_exporter() {
        assert_eq!(sanitize("package"), "package");
        assert_eq!(sanitize("My Zone!!"), "My_Zone_");
        assert_eq!(sanitize("a-_-b"), "a__b");
        assert_eq!(sanitize("__x"), "__x");
        assert_eq!(sanitize("x__"), "x__");
        assert_eq!(sanitize("_-_"), "_");
    }

    #[test]
    fn laptop() {
        let t = run(&REGISTRATION, "laptop");
        for (metric, z, v) in [
            ("package", "intel-rapl:0", 123456.789012),
            ("package", "intel-rapl-mmio:0", 123400.0),
            ("core", "intel-rapl:0:0", 45678.901234),
            ("uncore", "intel-rapl:0:1", 1234.56789),
            ("psys", "intel-rapl:1", 234567.890123),
        ] {
            let s = format!(
                "node_rapl_{metric}_joules_total{{index=\"0\",path=\"{}\"}}",
                zone("laptop", z)
            );
            assert_eq!(value(&t, &s), Some(v), "{s}");
        }
        assert!(t.contains("# HELP node_rapl_package_joules_total Current RAPL package value in joules\n# TYPE node_rapl_package_joules_total counter\n"));
        assert_eq!(t.lines().filter(|l| !l.starts_with('#')).count(), 5, "{t}");
    }

    #[test]
    fn hostile() {
        let t = run(&REGISTRATION, "hostile");
        let s = |m: &str, i: &str, z: &str| {
            format!(
                "node_rapl_{m}_joules_total{{index=\"{i}\",path=\"{}\"}}",
                zone("hostile", z)
            )
        };
        assert_eq!(value(&t, &s("package", "0", "intel-rapl:0")), Some(1.0));
        // Two `dram` zones: the index counts them.
        assert_eq!(value(&t, &s("dram", "0", "intel-rapl:0:0")), Some(2.5));
        assert_eq!(value(&t, &s("dram", "1", "intel-rapl:0:1")), Some(3.5));
        // `package-x` has no number: the name stays whole.
        assert_eq!(
            value(&t, &s("package_x", "0", "intel-rapl:0:3")),
            Some(u64::MAX as f64 / 1e6)
        );
        // Sanitized before `_joules_total` is added, as node_exporter 1.5.0 does.
        assert_eq!(value(&t, &s("My_Zone_", "0", "intel-rapl:0:5")), Some(7.0));
        // No energy_uj, a negative one, no max_energy_range_uj: skipped.
        assert!(
            !t.contains("no_energy") && !t.contains("neg") && !t.contains("nomax"),
            "{t}"
        );
        assert_eq!(t.lines().filter(|l| !l.starts_with('#')).count(), 5, "{t}");
    }

    #[test]
    fn no_powercap_is_empty() {
        assert_eq!(run(&REGISTRATION, "pi"), "");
    }
}
