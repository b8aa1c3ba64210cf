//! `meminfo`: every field of `/proc/meminfo` (node_exporter's `meminfo` collector).
//!
//! A field with a unit (the kernel only ever writes `kB`, meaning KiB) becomes
//! `node_memory_<Field>_bytes`, times 1024; a field without one (`HugePages_Total`, a page count)
//! becomes `node_memory_<Field>` as it is. Parentheses become an underscore:
//! `Active(anon)` → `node_memory_Active_anon_bytes`. Fields are passed on as the kernel names
//! them, so a new kernel's new field appears without a code change; `Cached` is the kernel's
//! `Cached` alone (the JSON API's "cached" adds `SReclaimable`, node_exporter's does not).

use super::family::{Family, Harvest, Registration, Settings, Shared};
use crate::exposition::{Encoder, Kind};
use std::sync::Arc;

/// Registers the `meminfo` family.
pub const REGISTRATION: Registration = Registration {
    name: "meminfo",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    let mut names = Names::default();
    Box::new(Shared::new(
        "meminfo",
        "meminfo",
        crate::read::meminfo::read,
        move |m: &crate::read::meminfo::Meminfo| Ok(view(m, &mut names)),
    ))
}

/// One tick of `/proc/meminfo`: metric name (`node_memory_...`) and value, in file order.
#[derive(Debug, Default, PartialEq)]
pub struct Meminfo(pub Vec<(Arc<str>, f64)>);

/// The metric names of the last tick's fields, kept while the file's keys stay the same (they
/// do from boot to shutdown), so a tick makes no name.
#[derive(Debug, Default)]
pub struct Names {
    /// Each field's key and whether it had a unit.
    keys: Vec<(String, bool)>,
    /// Its name; `None` for a key that is no metric name or whose name an earlier field has.
    names: Vec<Option<Arc<str>>>,
}

/// node_exporter's name for a field: `Active(anon)` → `Active_anon`; `None` if the result
/// would not be a valid metric name (a hostile or garbled line).
pub fn field_name(key: &str) -> Option<String> {
    let name = match (key.find('('), key.rfind(')')) {
        (Some(open), Some(close)) if open < close => {
            format!(
                "{}_{}{}",
                &key[..open],
                &key[open + 1..close],
                &key[close + 1..]
            )
        }
        _ => key.to_owned(),
    };
    let valid = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
    valid.then_some(name)
}

/// The family's view of `/proc/meminfo`: every field under node_exporter's name, in file
/// order. A key that is no valid metric name is left out; a name seen twice keeps its first
/// value (two samples of one series would be an invalid exposition). `names` are the last
/// tick's.
pub fn view(m: &crate::read::meminfo::Meminfo, names: &mut Names) -> Meminfo {
    let same = names.keys.len() == m.fields().count()
        && names
            .keys
            .iter()
            .zip(m.fields())
            .all(|((k, u), (key, _, unit))| k == key && *u == unit);
    if !same {
        names.keys = m.fields().map(|(k, _, u)| (k.to_owned(), u)).collect();
        names.names.clear();
        let mut seen: Vec<Arc<str>> = Vec::new();
        for (key, _, unit) in m.fields() {
            let suffix = if unit { "_bytes" } else { "" };
            let name = field_name(key)
                .map(|field| format!("node_memory_{field}{suffix}"))
                .filter(|n| seen.iter().all(|s| **s != **n))
                .map(Arc::<str>::from);
            if let Some(n) = &name {
                seen.push(Arc::clone(n));
            }
            names.names.push(name);
        }
    }
    let values = m
        .fields()
        .zip(&names.names)
        .filter_map(|((_, v, unit), name)| {
            let v = if unit { v as f64 * 1024.0 } else { v as f64 };
            Some((Arc::clone(name.as_ref()?), v))
        });
    Meminfo(values.collect())
}

impl Harvest for Meminfo {
    fn render(&self, out: &mut Encoder) {
        for (name, v) in &self.0 {
            let field = name.strip_prefix("node_memory_").unwrap_or(name);
            let help = format!("Memory information field {field}.");
            // node_exporter types a field ending in `_total` as a counter (none does today).
            let kind = if name.ends_with("_total") {
                Kind::Counter
            } else {
                Kind::Gauge
            };
            out.one(name, kind, &help, &[], *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, run, value};
    use proptest::prelude::*;

    /// The family's view of a `/proc/meminfo` text.
    fn parse(text: &str) -> Meminfo {
        view(&crate::read::meminfo::parse(text), &mut Names::default())
    }

    #[test]
    fn vm_fixture_has_every_field() {
        let text = run(&REGISTRATION, "vm");
        let fixture =
            std::fs::read_to_string(crate::collect::family::testing::fixture("vm").proc("meminfo"))
                .unwrap();
        assert_eq!(
            text.matches("# TYPE ").count(),
            fixture.lines().count(),
            "one family per line"
        );
        assert_values(
            &text,
            &[
                ("node_memory_MemTotal_bytes", 24_683_584.0 * 1024.0),
                ("node_memory_Active_anon_bytes", 1_620.0 * 1024.0),
                ("node_memory_Inactive_file_bytes", 1_384_140.0 * 1024.0),
            ],
        );
        // Cached is the kernel's Cached, not Cached + SReclaimable.
        assert_values(
            &text,
            &[
                ("node_memory_Cached_bytes", 2_560_324.0 * 1024.0),
                ("node_memory_HugePages_Total", 0.0),
                ("node_memory_Hugepagesize_bytes", 2048.0 * 1024.0),
            ],
        );
        assert!(text.contains(
            "# HELP node_memory_MemFree_bytes Memory information field MemFree_bytes.\n\
             # TYPE node_memory_MemFree_bytes gauge\n"
        ));
    }

    #[test]
    fn pi_and_laptop_fixtures() {
        let text = run(&REGISTRATION, "pi");
        assert_eq!(
            value(&text, "node_memory_CmaTotal_bytes"),
            Some(65_536.0 * 1024.0)
        );
        assert_eq!(value(&text, "node_memory_DirectMap4k_bytes"), None);
        let text = run(&REGISTRATION, "laptop");
        assert_values(
            &text,
            &[
                ("node_memory_HugePages_Free", 4.0),
                ("node_memory_ShmemHugePages_bytes", 0.0),
                ("node_memory_DirectMap1G_bytes", 3_145_728.0 * 1024.0),
            ],
        );
    }

    #[test]
    fn hostile_fixture_skips_bad_lines() {
        let text = run(&REGISTRATION, "hostile");
        // Good lines around the bad ones survive.
        assert_eq!(value(&text, "node_memory_MemTotal_bytes"), Some(1024.0));
        assert_eq!(
            value(&text, "node_memory_SwapFree_bytes"),
            Some(18_446_744_073_709_551_615.0 * 1024.0)
        );
        // A duplicate keeps its first value; no line is written twice.
        assert_eq!(value(&text, "node_memory_MemFree_bytes"), Some(2048.0));
        assert_eq!(text.matches("\nnode_memory_MemFree_bytes ").count(), 1);
        // Negative, text, four fields, no colon, spaces or non-UTF-8 in the key: skipped.
        for bad in [
            "Negative",
            "Text",
            "Extra",
            "NoColon",
            "Two_Words",
            "Bad\u{fffd}",
        ] {
            assert!(!text.contains(bad), "{bad} skipped");
        }
        // Every sample line is a valid metric name and a number.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, v) = line.split_once(' ').unwrap();
            assert!(field_name(name).is_some(), "{line}");
            assert!(v.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn names_as_node_exporter_mangles_them() {
        assert_eq!(field_name("Active(anon)").as_deref(), Some("Active_anon"));
        assert_eq!(
            field_name("Inactive(file)").as_deref(),
            Some("Inactive_file")
        );
        assert_eq!(field_name("NFS_Unstable").as_deref(), Some("NFS_Unstable"));
        assert_eq!(field_name("Bad key"), None);
        assert_eq!(field_name(""), None);
        assert_eq!(field_name("()"), Some("_".into()));
    }

    /// Names are made once while the keys stay the same, and again when they change.
    #[test]
    fn names_follow_the_keys() {
        let mut names = Names::default();
        let a = crate::read::meminfo::parse("MemTotal: 1 kB\nMemFree: 2 kB\n");
        let first = view(&a, &mut names);
        let again = view(&a, &mut names);
        assert!(Arc::ptr_eq(&first.0[1].0, &again.0[1].0));
        let b = crate::read::meminfo::parse("MemTotal: 1 kB\nHugePages_Total: 3\nMemTotal: 4 kB\n");
        assert_eq!(
            view(&b, &mut names).0,
            vec![
                ("node_memory_MemTotal_bytes".into(), 1024.0),
                ("node_memory_HugePages_Total".into(), 3.0)
            ]
        );
    }

    #[test]
    fn units() {
        let m = parse("MemTotal:  10 kB\nHugePages_Total:     3\nDirectMap2M: 1 kB\n");
        assert_eq!(
            m.0,
            vec![
                ("node_memory_MemTotal_bytes".into(), 10240.0),
                ("node_memory_HugePages_Total".into(), 3.0),
                ("node_memory_DirectMap2M_bytes".into(), 1024.0),
            ]
        );
    }

    proptest! {
        #![proptest_config(crate::testing::cases(256))]

        #[test]
        fn any_text(text in any::<String>()) {
            for (name, _) in parse(&text).0 {
                prop_assert!(name.starts_with("node_memory_"));
                prop_assert!(field_name(&name).is_some());
            }
        }

        /// Every generated `Key: value kB` line comes back, in bytes.
        #[test]
        fn generated(fields in proptest::collection::btree_map("[A-Z][A-Za-z]{0,10}", any::<u32>(), 1..20)) {
            let text: String = fields.iter().map(|(k, v)| format!("{k}:{v:>12} kB\n")).collect();
            let m = parse(&text);
            prop_assert_eq!(m.0.len(), fields.len());
            for (k, v) in &fields {
                let name = format!("node_memory_{k}_bytes");
                prop_assert!(m.0.contains(&(name.as_str().into(), f64::from(*v) * 1024.0)));
            }
        }
    }
}
