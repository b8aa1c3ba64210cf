//! `/proc/meminfo`, parsed once a tick for every view: the JSON model's memory and swap
//! (`collect::memory`, and through the snapshot Glances' `mem` and `memswap`) and the `meminfo`
//! family (every field).

use std::path::Path;
use std::rc::Rc;

/// One `Key: value [unit]` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    /// Where its key is in [`Meminfo::keys`].
    key: (u32, u32),
    value: u64,
    unit: bool,
}

/// One reading of `/proc/meminfo`: its fields in file order, each a key as the kernel names it
/// (`MemTotal`, `Active(anon)`), a value as written (kB for a field with a unit, a count such as
/// `HugePages_Total` without) and whether it has a unit (the kernel only ever writes `kB`,
/// meaning KiB). A line that is not `Key: value [unit]` (a key ending in a colon, an unsigned
/// number, at most a unit after it) is none; a key written twice is kept twice (each view says
/// which it takes). The keys share one string (no allocation per field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meminfo {
    keys: String,
    fields: Vec<Field>,
}

impl Meminfo {
    /// Each field's key, value and whether it has a unit, in file order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, u64, bool)> {
        self.fields.iter().map(|f| {
            (
                &self.keys[f.key.0 as usize..f.key.1 as usize],
                f.value,
                f.unit,
            )
        })
    }

    /// The first value of `key`, as written (kB for most fields).
    pub fn get(&self, key: &str) -> Option<u64> {
        self.fields().find(|(k, ..)| *k == key).map(|(_, v, _)| v)
    }
}

/// This tick's reading of the `/proc/meminfo` at `path` (parsed once a tick).
pub fn read(path: &Path) -> Rc<super::Reading<Meminfo>> {
    super::shared(path, parse)
}

/// Parses `/proc/meminfo`.
pub fn parse(text: &str) -> Meminfo {
    let mut out = Meminfo {
        keys: String::with_capacity(text.len() / 3),
        fields: Vec::with_capacity(64),
    };
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(key), Some(value)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some(key) = key.strip_suffix(':') else {
            continue;
        };
        let Ok(value) = value.parse::<u64>() else {
            continue;
        };
        let unit = match (fields.next(), fields.next()) {
            (None, _) => false,
            (Some(_), None) => true,
            _ => continue,
        };
        let (Ok(start), Ok(end)) = (
            u32::try_from(out.keys.len()),
            u32::try_from(out.keys.len() + key.len()),
        ) else {
            break;
        };
        out.keys.push_str(key);
        out.fields.push(Field {
            key: (start, end),
            value,
            unit,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_as_written() {
        let m = parse(
            "MemTotal:  10 kB\nMemFree: 2 kB\nMemFree: 3 kB\nHugePages_Total: 4\nX: 1 kB more\n\
             NoColon 5 kB\nBad: -5 kB\n",
        );
        let f: Vec<_> = m.fields().collect();
        assert_eq!(f.len(), 4);
        assert_eq!((m.get("MemTotal"), m.get("MemFree")), (Some(10), Some(2)));
        assert_eq!((f[3], f[0].2), (("HugePages_Total", 4, false), true));
        assert_eq!(m.get("X"), None);
    }

    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::testing::cases(128))]

        /// Any text and any key: a value comes only from a `key: value` line, and a valid
        /// first line wins over whatever follows.
        #[test]
        fn any_text_parses(
            bytes in vec(any::<u8>(), 0..400),
            key in any::<String>(),
            v in any::<u64>(),
        ) {
            let text = String::from_utf8_lossy(&bytes);
            if let Some(got) = parse(&text).get(&key) {
                let from_a_line = text.lines().any(|l| {
                    let mut f = l.split_whitespace();
                    f.next().and_then(|k| k.strip_suffix(':')) == Some(key.as_str())
                        && f.next().and_then(|n| n.parse().ok()) == Some(got)
                });
                prop_assert!(from_a_line, "{} from no line", got);
            }
            if !key.contains(char::is_whitespace) {
                prop_assert_eq!(parse(&format!("{key}: {v} kB\n{text}")).get(&key), Some(v));
            }
        }

        /// Every key of a generated `Key:   value unit` file is found with its value, and a
        /// key that is only a prefix of another (`Mem` of `MemFree`) is not.
        #[test]
        fn generated_fields_are_found(fields in btree_map("[A-Z][A-Za-z_()]{1,15}", any::<u64>(), 1..12)) {
            let text: String = fields
                .iter()
                .map(|(k, v)| format!("{k}:{v:>21} kB\n"))
                .collect();
            let m = parse(&text);
            for (k, v) in &fields {
                prop_assert_eq!(m.get(k), Some(*v));
                let prefix = &k[..1];
                if !fields.contains_key(prefix) {
                    prop_assert_eq!(m.get(prefix), None);
                }
            }
        }
    }
}
