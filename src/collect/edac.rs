//! `edac`: memory error counters of the EDAC memory controllers,
//! `/sys/devices/system/edac/mc/mcN/` and their `csrowM/`, as node_exporter 1.5.0's `edac`
//! collector exposes them.
//!
//! The controller's `ce_noinfo_count` / `ue_noinfo_count` (errors that could not be pinned to
//! a row) become the `csrow="unknown"` series. Pitfalls: newer drivers describe memory by
//! `dimmN/` instead of `csrowN/`; like node_exporter 1.5.0, only csrows are read. A counter
//! that cannot be read or parsed is left out, where node_exporter fails the whole collector.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use super::procfs::{numbered_entries, read_capped_number, FILE_CAP};
use crate::metrics::{Encoder, Kind};
use std::path::Path;
use std::sync::Arc;

/// Registers the `edac` family.
pub const REGISTRATION: Registration = Registration {
    name: "edac",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(EdacFamily)
}

struct EdacFamily;

/// The correctable and uncorrectable counts of a controller or one of its rows.
#[derive(Debug, Default)]
struct Counts {
    ce: Option<u64>,
    ue: Option<u64>,
}

/// One memory controller.
#[derive(Debug)]
struct Controller {
    number: String,
    total: Counts,
    /// `("unknown", noinfo counts)` first, then each csrow by number.
    rows: Vec<(String, Counts)>,
}

/// A tick's controllers.
#[derive(Debug)]
struct Reading(Vec<Controller>);

fn count(dir: &Path, file: &str) -> Option<u64> {
    read_capped_number(&dir.join(file), FILE_CAP)
}

/// The leading digits of what followed the prefix (node_exporter's `mc([0-9]+)` capture).
fn digits(rest: &str) -> String {
    rest.chars().take_while(char::is_ascii_digit).collect()
}

fn controller(dir: &Path, number: String) -> Controller {
    let mut rows = vec![(
        "unknown".to_owned(),
        Counts {
            ce: count(dir, "ce_noinfo_count"),
            ue: count(dir, "ue_noinfo_count"),
        },
    )];
    for (entry, rest) in numbered_entries(dir, "csrow") {
        let row = dir.join(entry);
        let counts = Counts {
            ce: count(&row, "ce_count"),
            ue: count(&row, "ue_count"),
        };
        rows.push((digits(&rest), counts));
    }
    Controller {
        number,
        total: Counts {
            ce: count(dir, "ce_count"),
            ue: count(dir, "ue_count"),
        },
        rows,
    }
}

impl Family for EdacFamily {
    fn name(&self) -> &'static str {
        "edac"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let mc = roots.sys("devices/system/edac/mc");
        let controllers = numbered_entries(&mc, "mc")
            .into_iter()
            .map(|(entry, rest)| controller(&mc.join(entry), digits(&rest)))
            .collect();
        Ok(Arc::new(Reading(controllers)))
    }
}

/// Which count a family shows.
type Pick = fn(&Counts) -> Option<u64>;

impl Harvest for Reading {
    fn render(&self, out: &mut Encoder) {
        let ce: Pick = |c| c.ce;
        let ue: Pick = |c| c.ue;
        for (name, help, pick) in [
            (
                "node_edac_correctable_errors_total",
                "Total correctable memory errors.",
                ce,
            ),
            (
                "node_edac_uncorrectable_errors_total",
                "Total uncorrectable memory errors.",
                ue,
            ),
        ] {
            let mut f = out.family(name, Kind::Counter, help);
            for c in &self.0 {
                if let Some(v) = pick(&c.total) {
                    f.sample(&[("controller", &c.number)], v as f64);
                }
            }
        }
        for (name, help, pick) in [
            (
                "node_edac_csrow_correctable_errors_total",
                "Total correctable memory errors for this csrow.",
                ce,
            ),
            (
                "node_edac_csrow_uncorrectable_errors_total",
                "Total uncorrectable memory errors for this csrow.",
                ue,
            ),
        ] {
            let mut f = out.family(name, Kind::Counter, help);
            for c in &self.0 {
                for (row, counts) in &c.rows {
                    if let Some(v) = pick(counts) {
                        f.sample(&[("controller", &c.number), ("csrow", row)], v as f64);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, run, value};

    #[test]
    fn hostile() {
        let t = run(&REGISTRATION, "hostile");
        assert_values(
            &t,
            &[
                ("node_edac_correctable_errors_total{controller=\"0\"}", 5.0),
                (
                    "node_edac_uncorrectable_errors_total{controller=\"0\"}",
                    0.0,
                ),
                (
                    "node_edac_csrow_correctable_errors_total{controller=\"0\",csrow=\"unknown\"}",
                    1.0,
                ),
                (
                    "node_edac_csrow_uncorrectable_errors_total{controller=\"0\",csrow=\"unknown\"}",
                    0.0,
                ),
                (
                    "node_edac_csrow_correctable_errors_total{controller=\"0\",csrow=\"0\"}",
                    3.0,
                ),
                (
                    "node_edac_csrow_uncorrectable_errors_total{controller=\"0\",csrow=\"0\"}",
                    0.0,
                ),
                (
                    "node_edac_csrow_correctable_errors_total{controller=\"0\",csrow=\"1\"}",
                    1.0,
                ),
                (
                    "node_edac_csrow_uncorrectable_errors_total{controller=\"0\",csrow=\"1\"}",
                    2.0,
                ),
                // mc1: `garbage` and `-1` are left out, the rest stays.
                (
                    "node_edac_uncorrectable_errors_total{controller=\"1\"}",
                    u64::MAX as f64,
                ),
                (
                    "node_edac_csrow_correctable_errors_total{controller=\"1\",csrow=\"unknown\"}",
                    0.0,
                ),
                (
                    "node_edac_csrow_uncorrectable_errors_total{controller=\"1\",csrow=\"0\"}",
                    4.0,
                ),
            ],
        );
        assert_eq!(
            value(&t, "node_edac_correctable_errors_total{controller=\"1\"}"),
            None
        );
        assert!(
            !t.contains("csrow=\"X\"") && !t.contains("controller=\"\""),
            "{t}"
        );
        assert!(t.contains("# TYPE node_edac_csrow_correctable_errors_total counter\n"));
        assert_eq!(t.lines().filter(|l| !l.starts_with('#')).count(), 11, "{t}");
    }

    #[test]
    fn no_edac_is_empty() {
        for host in ["vm", "pi", "laptop"] {
            assert_eq!(run(&REGISTRATION, host), "", "{host}");
        }
    }
}
