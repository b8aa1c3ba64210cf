//! Small helpers for reading `/proc` and `/sys` files cheaply.
//!
//! `std::fs::read` calls `statx` and `lseek` to size its buffer; procfs files report size 0,
//! so that work is wasted. Reading into a reused buffer keeps it to open/read/close.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Reads the whole file at `path` into `buf` (cleared first) and returns it as text.
pub fn read_into(path: impl AsRef<Path>, buf: &mut Vec<u8>) -> io::Result<&str> {
    buf.clear();
    let mut file = File::open(path)?;
    let mut chunk = [0u8; 4096];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    std::str::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Reads the whole file at `path` into `buf` (cleared first) as text, with bytes that are not
/// UTF-8 shown as U+FFFD: a host may hold any bytes in a name (a mount point, a process's
/// `comm`), and one such name must not hide the rest of the file.
pub fn read_lossy(
    path: impl AsRef<Path>,
    buf: &mut Vec<u8>,
) -> io::Result<std::borrow::Cow<'_, str>> {
    match read_into(&path, buf) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {}
        Err(e) => return Err(e),
    }
    Ok(String::from_utf8_lossy(buf))
}

/// Reads a small file and returns it trimmed, or `None` if it is missing or unreadable.
pub fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    let mut buf = Vec::with_capacity(256);
    read_into(path, &mut buf).ok().map(|s| s.trim().to_owned())
}

/// Parses the value after `key:` in a `Key:   value unit` style file such as `/proc/meminfo`.
pub fn field_u64(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::testing::cases(128))]

        /// Any text and any key: no panic.
        #[test]
        fn any_text_parses(bytes in vec(any::<u8>(), 0..400), key in any::<String>()) {
            let _ = field_u64(&String::from_utf8_lossy(&bytes), &key);
        }

        /// Every key of a generated `Key:   value unit` file is found with its value, and a
        /// key that is only a prefix of another (`Mem` of `MemFree`) is not.
        #[test]
        fn generated_fields_are_found(fields in btree_map("[A-Z][A-Za-z_()]{1,15}", any::<u64>(), 1..12)) {
            let text: String = fields
                .iter()
                .map(|(k, v)| format!("{k}:{v:>12} kB\n"))
                .collect();
            for (k, v) in &fields {
                prop_assert_eq!(field_u64(&text, k), Some(*v));
                let prefix = &k[..1];
                if !fields.contains_key(prefix) {
                    prop_assert_eq!(field_u64(&text, prefix), None);
                }
            }
        }
    }
}
