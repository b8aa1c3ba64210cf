//! [`words`]: `str::split_whitespace`, faster on the ASCII text procfs and sysfs hold.
//!
//! The standard splitter decodes every character and asks Unicode whether it is white space;
//! on the sampler's hot lines (`/proc/PID/stat` of every process, `/proc/vmstat`) that was a
//! tenth of its user-space instructions. This one tests bytes and decodes only non-ASCII ones,
//! so it splits exactly where `split_whitespace` does (Unicode white space included, as Go's
//! `strings.Fields`, which node_exporter uses), and yields the same words.

/// The words of `text` between runs of white space, as `text.split_whitespace()`.
pub fn words(text: &str) -> Words<'_> {
    Words { rest: text }
}

/// The iterator [`words`] returns.
#[derive(Debug, Clone)]
pub struct Words<'a> {
    rest: &'a str,
}

/// The length of the white-space character at the start of `s`, or 0 if it starts with
/// something else (or is empty).
fn space_len(s: &str) -> usize {
    match s.as_bytes().first() {
        // `char::is_whitespace` on ASCII: tab, line feed, vertical tab, form feed, carriage
        // return and space.
        Some(b'\t'..=b'\r' | b' ') => 1,
        Some(b) if b.is_ascii() => 0,
        Some(_) => s
            .chars()
            .next()
            .filter(|c| c.is_whitespace())
            .map_or(0, char::len_utf8),
        None => 0,
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let mut s = self.rest;
        loop {
            let n = space_len(s);
            if n == 0 {
                break;
            }
            s = &s[n..];
        }
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let bytes = s.as_bytes();
        let mut end = 0;
        while end < bytes.len() {
            let b = bytes[end];
            if b.is_ascii() {
                if matches!(b, b'\t'..=b'\r' | b' ') {
                    break;
                }
                end += 1;
            } else {
                let n = space_len(&s[end..]);
                if n > 0 {
                    break;
                }
                // A non-space character: skip all of it (`end` stays on a boundary).
                end += s[end..].chars().next().map_or(1, char::len_utf8);
            }
        }
        self.rest = &s[end..];
        Some(&s[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_as_split_whitespace() {
        for text in [
            "",
            " ",
            "a",
            "  a  b\tc\n",
            "1234 (x y) S 1 2",
            "a\u{0b}b\u{0c}c\rd",
            "a\u{a0}b\u{2003}c\u{85}d",
            "é ü\u{3000}ß",
            "\u{a0}\u{a0}",
            "x\u{fffd}y z",
        ] {
            let want: Vec<&str> = text.split_whitespace().collect();
            assert_eq!(words(text).collect::<Vec<_>>(), want, "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn any_text_splits_as_split_whitespace(
            text in "[ a\\t\\n\\r\\u{0b}\\u{0c}\\u{85}\\u{a0}\\u{2000}\\u{3000}é😀1-9]{0,40}",
        ) {
            let want: Vec<&str> = text.split_whitespace().collect();
            prop_assert_eq!(words(&text).collect::<Vec<_>>(), want);
        }

        #[test]
        fn any_string_splits_as_split_whitespace(text in any::<String>()) {
            let want: Vec<&str> = text.split_whitespace().collect();
            prop_assert_eq!(words(&text).collect::<Vec<_>>(), want);
        }
    }
}
