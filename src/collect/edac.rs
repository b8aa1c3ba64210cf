//! `edac`: memory error counters of the EDAC memory controllers,
//! `/sys/devices/system/edac/mc/mcN/`, their `csrowM/` and the csrows' channels, as
//! node_exporter 1.12's `edac` collector exposes them (the channel series are new in 1.12).
//!
//! The controller's `ce_noinfo_count` / `ue_noinfo_count` (errors that could not be pinned to
//! a row) become the `csrow="unknown"` series. Each `csrowM/chN_ce_count` is
//! `node_edac_channel_correctable_errors_total{controller,csrow,channel,dimm_label}`;
//! `dimm_label` is `chN_dimm_label` with node_exporter's rewriting (`#` dropped, `_` put
//! before `csrow` and `channel`, so the kernel's default `mc#0csrow#1channel#2` reads
//! `mc0_csrow1_channel2`), `unknown` without the file. The kernel's legacy csrow ABI has no
//! `chN_ue_count`: `node_edac_channel_uncorrectable_errors_total` appears only where a file
//! exists, as node_exporter does since its fix for 1.12.0 failing the whole collector there.
//! Pitfalls: newer drivers describe memory by `dimmN/` instead of `csrowN/`; like
//! node_exporter 1.12, only csrows are read. A counter that cannot be read or parsed is left
//! out, where node_exporter fails the whole collector.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::{
    numbered_entries, read_capped, read_capped_number, sorted_entries, ATTR_CAP, FILE_CAP,
};
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
    channels: Vec<Channel>,
}

/// One channel of a csrow.
#[derive(Debug)]
struct Channel {
    csrow: String,
    channel: String,
    dimm_label: String,
    counts: Counts,
}

/// The channel number of a `ch<N>_ce_count` file name.
fn channel_number(name: &str) -> Option<&str> {
    let n = name.strip_prefix("ch")?.strip_suffix("_ce_count")?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(n)
}

/// `chN_dimm_label` as node_exporter 1.12 writes it, `unknown` if unreadable.
fn dimm_label(row: &Path, channel: &str) -> String {
    match read_capped(&row.join(format!("ch{channel}_dimm_label")), ATTR_CAP) {
        Ok(label) => label
            .trim()
            .replace('#', "")
            .replace("csrow", "_csrow")
            .replace("channel", "_channel"),
        Err(_) => "unknown".to_owned(),
    }
}

/// The channels of the csrow `row` numbered `csrow`.
fn channels(row: &Path, csrow: &str, out: &mut Vec<Channel>) {
    for entry in sorted_entries(row) {
        let name = entry.to_string_lossy();
        let Some(n) = channel_number(&name) else {
            continue;
        };
        out.push(Channel {
            csrow: csrow.to_owned(),
            channel: n.to_owned(),
            dimm_label: dimm_label(row, n),
            counts: Counts {
                ce: count(row, &name),
                ue: count(row, &format!("ch{n}_ue_count")),
            },
        });
    }
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
    let mut found = Vec::new();
    for (entry, rest) in numbered_entries(dir, "csrow") {
        let row = dir.join(entry);
        let counts = Counts {
            ce: count(&row, "ce_count"),
            ue: count(&row, "ue_count"),
        };
        let csrow = digits(&rest);
        channels(&row, &csrow, &mut found);
        rows.push((csrow, counts));
    }
    Controller {
        number,
        total: Counts {
            ce: count(dir, "ce_count"),
            ue: count(dir, "ue_count"),
        },
        rows,
        channels: found,
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
        for (name, help, pick) in [
            (
                "node_edac_channel_correctable_errors_total",
                "Total correctable memory errors for this channel.",
                ce,
            ),
            (
                "node_edac_channel_uncorrectable_errors_total",
                "Total uncorrectable memory errors for this channel.",
                ue,
            ),
        ] {
            let mut f = out.family(name, Kind::Counter, help);
            for c in &self.0 {
                for ch in &c.channels {
                    if let Some(v) = pick(&ch.counts) {
                        f.sample(
                            &[
                                ("channel", &ch.channel),
                                ("controller", &c.number),
                                ("csrow", &ch.csrow),
                                ("dimm_label", &ch.dimm_label),
                            ],
                            v as f64,
                        );
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
        assert_eq!(t.lines().filter(|l| !l.starts_with('#')).count(), 17, "{t}");
    }

    #[test]
    fn channels_with_node_exporter_1_12_labels() {
        let t = run(&REGISTRATION, "hostile");
        let ce = "node_edac_channel_correctable_errors_total";
        let ue = "node_edac_channel_uncorrectable_errors_total";
        assert_values(
            &t,
            &[
                // The kernel's default label, rewritten.
                (
                    &format!("{ce}{{channel=\"0\",controller=\"0\",csrow=\"0\",dimm_label=\"mc0_csrow0_channel0\"}}"),
                    2.0,
                ),
                // A BIOS label: trimmed, `#` dropped.
                (
                    &format!("{ce}{{channel=\"1\",controller=\"0\",csrow=\"0\",dimm_label=\"CPU1_DIMM_A1\"}}"),
                    1.0,
                ),
                (
                    &format!("{ce}{{channel=\"0\",controller=\"0\",csrow=\"1\",dimm_label=\"unknown\"}}"),
                    1.0,
                ),
                (
                    &format!("{ue}{{channel=\"0\",controller=\"0\",csrow=\"1\",dimm_label=\"unknown\"}}"),
                    2.0,
                ),
                // An unparsable count is left out, the other one of the channel stays.
                (
                    &format!("{ue}{{channel=\"1\",controller=\"0\",csrow=\"1\",dimm_label=\"unknown\"}}"),
                    5.0,
                ),
                // An empty label file is an empty label.
                (
                    &format!("{ce}{{channel=\"2\",controller=\"0\",csrow=\"1\",dimm_label=\"\"}}"),
                    6.0,
                ),
            ],
        );
        assert!(!t.contains(&format!("{ce}{{channel=\"1\",controller=\"0\",csrow=\"1\"")));
        // No ch2_ue_count: no series (the kernel never writes one).
        assert!(!t.contains(&format!("{ue}{{channel=\"2\"")));
        assert!(!t.contains("channel=\"X\""));
        assert!(t.contains(&format!(
            "# HELP {ce} Total correctable memory errors for this channel.\n# TYPE {ce} counter\n"
        )));
        assert_eq!(channel_number("ch12_ce_count"), Some("12"));
        assert_eq!(channel_number("ch_ce_count"), None);
        assert_eq!(channel_number("ch1_ue_count"), None);
    }

    #[test]
    fn laptop_with_ecc_memory() {
        let t = run(&REGISTRATION, "laptop");
        assert_values(
            &t,
            &[
                ("node_edac_correctable_errors_total{controller=\"0\"}", 3.0),
                ("node_edac_csrow_correctable_errors_total{controller=\"0\",csrow=\"unknown\"}", 1.0),
                ("node_edac_csrow_correctable_errors_total{controller=\"0\",csrow=\"0\"}", 2.0),
                (
                    "node_edac_channel_correctable_errors_total{channel=\"0\",controller=\"0\",csrow=\"0\",dimm_label=\"MC0_Chan0_DIMM0\"}",
                    2.0,
                ),
                (
                    "node_edac_channel_correctable_errors_total{channel=\"0\",controller=\"0\",csrow=\"1\",dimm_label=\"MC0_Chan1_DIMM0\"}",
                    0.0,
                ),
            ],
        );
        // The kernel's csrow ABI has no per-channel uncorrectable count.
        assert!(!t.contains("node_edac_channel_uncorrectable_errors_total"));
    }

    #[test]
    fn no_edac_is_empty() {
        for host in ["vm", "pi"] {
            assert_eq!(run(&REGISTRATION, host), "", "{host}");
        }
    }
}
