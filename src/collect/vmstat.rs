//! `vmstat`: the fields of `/proc/vmstat` that node_exporter's `vmstat` collector passes by
//! default (`--collector.vmstat.fields` = `^(oom_kill|pgpg|pswp|pg.*fault).*`): page-ins and
//! -outs, swap-ins and -outs, page faults and OOM kills, as `node_vmstat_<field>`; or those a
//! regexp given with the flag matches.
//!
//! node_exporter types them `untyped` although they are counters: dashboards `rate()` them
//! either way, and the TYPE is kept so queries and recording rules see the same thing.
//! `pgpgin`/`pgpgout` count KiB, not pages, whatever the name says.

use super::family::{Family, Harvest, ProcFile, Registration, Settings};
use crate::exposition::{Encoder, Kind};

/// Registers the `vmstat` family.
pub const REGISTRATION: Registration = Registration {
    name: "vmstat",
    default_enabled: true,
    make: make_family,
};

fn make_family(settings: &Settings) -> Box<dyn Family> {
    match settings.flags.pattern("vmstat.fields") {
        Some(fields) => Box::new(VmstatFields {
            fields,
            buf: Vec::new(),
        }),
        None => Box::new(ProcFile::new("vmstat", "vmstat", |text| Ok(parse(text)))),
    }
}

/// The family with `--collector.vmstat.fields REGEX`: the fields the pattern matches
/// (unanchored, as Go's `MatchString`) instead of [`wanted`]'s.
struct VmstatFields {
    fields: regex_lite::Regex,
    buf: Vec<u8>,
}

impl Family for VmstatFields {
    fn name(&self) -> &'static str {
        "vmstat"
    }

    fn harvest(
        &mut self,
        roots: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn Harvest>, String> {
        Ok(
            match crate::read::procfs::read_present(roots.proc("vmstat"), &mut self.buf)? {
                None => std::sync::Arc::new(super::family::Empty),
                Some(text) => std::sync::Arc::new(parse_with(&text, |f| self.fields.is_match(f))),
            },
        )
    }
}

/// node_exporter's default field filter, `^(oom_kill|pgpg|pswp|pg.*fault).*`.
pub fn wanted(field: &str) -> bool {
    field.starts_with("oom_kill")
        || field.starts_with("pgpg")
        || field.starts_with("pswp")
        // A byte window, not `str::contains`: its searcher's set-up cost more than the search
        // on every `pg*` line of the file, every tick.
        || field
            .strip_prefix("pg")
            .is_some_and(|r| r.as_bytes().windows(5).any(|w| w == b"fault"))
}

/// The wanted fields of one tick, in file order.
#[derive(Debug, Default, PartialEq)]
pub struct Vmstat(pub Vec<(String, f64)>);

/// Parses `/proc/vmstat` (`name value` per line), keeping the wanted fields whose value is a
/// number and whose name makes a valid metric name; a name seen twice keeps its first value.
pub fn parse(text: &str) -> Vmstat {
    parse_with(text, wanted)
}

/// [`parse`] keeping the fields `wanted` chooses.
fn parse_with(text: &str, wanted: impl Fn(&str) -> bool) -> Vmstat {
    let mut out: Vec<(String, f64)> = Vec::new();
    for line in super::words::lines(text) {
        let mut fields = super::words::words(line);
        // The name first: most lines are not wanted, and need not be split further.
        let Some(name) = fields.next().filter(|name| wanted(name)) else {
            continue;
        };
        let (Some(value), None) = (fields.next(), fields.next()) else {
            continue;
        };
        if name.len() > 128
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            || out.iter().any(|(n, _)| n == name)
        {
            continue;
        }
        // The kernel writes unsigned counters; node_exporter parses them as floats.
        if let Ok(v) = value.parse::<u64>() {
            out.push((name.to_owned(), v as f64));
        }
    }
    Vmstat(out)
}

impl Harvest for Vmstat {
    fn render(&self, out: &mut Encoder) {
        for (field, v) in &self.0 {
            let name = format!("node_vmstat_{field}");
            let help = format!("/proc/vmstat information field {field}.");
            out.one(&name, Kind::Untyped, &help, &[], *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{run, value};
    use proptest::prelude::*;

    #[test]
    fn vm_fixture_has_the_default_fields() {
        let text = run(&REGISTRATION, "vm");
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .collect();
        assert_eq!(
            names,
            [
                "node_vmstat_pgpgin untyped",
                "node_vmstat_pgpgout untyped",
                "node_vmstat_pswpin untyped",
                "node_vmstat_pswpout untyped",
                "node_vmstat_pgfault untyped",
                "node_vmstat_pgmajfault untyped",
                "node_vmstat_oom_kill untyped",
            ]
        );
        assert_eq!(value(&text, "node_vmstat_pgfault"), Some(54_770_799.0));
        assert_eq!(value(&text, "node_vmstat_pgmajfault"), Some(19_688.0));
        assert_eq!(value(&text, "node_vmstat_oom_kill"), Some(0.0));
        assert!(text.contains("# HELP node_vmstat_pgpgin /proc/vmstat information field pgpgin.\n"));
    }

    #[test]
    fn laptop_fixture() {
        let text = run(&REGISTRATION, "laptop");
        assert_eq!(value(&text, "node_vmstat_oom_kill"), Some(3.0));
        assert_eq!(value(&text, "node_vmstat_pswpout"), Some(1_024_113.0));
    }

    #[test]
    fn hostile_fixture() {
        let text = run(&REGISTRATION, "hostile");
        assert_eq!(
            value(&text, "node_vmstat_pgfault"),
            Some(18_446_744_073_709_551_615.0)
        );
        // No value, a text value, a negative one, three fields, a bad name: skipped.
        assert_eq!(value(&text, "node_vmstat_pgmajfault"), None);
        assert_eq!(value(&text, "node_vmstat_pgpgin"), None);
        assert_eq!(value(&text, "node_vmstat_pgpgout"), None);
        assert_eq!(value(&text, "node_vmstat_pswpin"), None);
        assert!(!text.contains("pg-bad"));
        // The duplicate keeps its first value.
        assert_eq!(value(&text, "node_vmstat_oom_kill"), Some(1.0));
        assert_eq!(text.matches("\nnode_vmstat_oom_kill ").count(), 1);
    }

    #[test]
    fn filter_is_node_exporters() {
        for yes in [
            "pgpgin",
            "pgpgout",
            "pswpin",
            "pswpout",
            "pgfault",
            "pgmajfault",
            "oom_kill",
            "pgpromote_candidate_fault",
        ] {
            assert!(wanted(yes), "{yes}");
        }
        for no in [
            "nr_free_pages",
            "pgscan_kswapd",
            "thp_fault_alloc",
            "pgsteal_direct",
            "pg",
        ] {
            assert!(!wanted(no), "{no}");
        }
    }

    proptest! {
        #![proptest_config(crate::testing::cases(256))]

        #[test]
        fn any_text(text in any::<String>()) {
            let kept = parse(&text).0;
            for (i, (name, v)) in kept.iter().enumerate() {
                prop_assert!(wanted(name));
                prop_assert!(*v >= 0.0 && v.fract() == 0.0);
                // Each name once.
                prop_assert!(kept[..i].iter().all(|(n, _)| n != name));
            }
        }

        /// Generated lines, wanted or not, come back as exactly the wanted ones, in file
        /// order, with their values (the first of a repeated name).
        #[test]
        fn generated_lines_round_trip(
            lines in proptest::collection::vec(
                (prop_oneof![
                    "pg[a-z]{0,6}fault[a-z_]{0,6}",
                    "pgpg(in|out)",
                    "pswp(in|out)",
                    "oom_kill",
                    "nr_[a-z_]{1,12}",
                    "pgscan_[a-z]{1,8}",
                ], any::<u64>()),
                0..20,
            ),
        ) {
            let text: String = lines.iter().map(|(n, v)| format!("{n} {v}\n")).collect();
            let mut want: Vec<(String, f64)> = Vec::new();
            for (n, v) in &lines {
                if wanted(n) && !want.iter().any(|(w, _)| w == n) {
                    want.push((n.clone(), *v as f64));
                }
            }
            prop_assert_eq!(parse(&text).0, want);
        }
    }
}
