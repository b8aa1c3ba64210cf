//! [`words`]: `str::split_whitespace`, faster on the ASCII text procfs and sysfs hold; and
//! [`lines`]: `str::lines`, faster on files of short lines (`/proc/vmstat`).
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

/// Whether an ASCII byte is white space for `char::is_whitespace`: tab, line feed, vertical
/// tab, form feed, carriage return and space.
fn ascii_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// The length of the non-ASCII character at byte `at` of `s` (a boundary), and whether it is
/// white space.
fn wide(s: &str, at: usize) -> (usize, bool) {
    s[at..]
        .chars()
        .next()
        .map_or((1, false), |c| (c.len_utf8(), c.is_whitespace()))
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest;
        let bytes = s.as_bytes();
        // Every index below stops at an ASCII byte or after a whole character: a boundary.
        let mut start = 0;
        while let Some(&b) = bytes.get(start) {
            if ascii_space(b) {
                start += 1;
            } else if b.is_ascii() {
                break;
            } else {
                match wide(s, start) {
                    (n, true) => start += n,
                    _ => break,
                }
            }
        }
        if start == bytes.len() {
            self.rest = "";
            return None;
        }
        let mut end = start;
        while let Some(&b) = bytes.get(end) {
            if b.is_ascii() {
                if ascii_space(b) {
                    break;
                }
                end += 1;
            } else {
                match wide(s, end) {
                    (_, true) => break,
                    (n, false) => end += n,
                }
            }
        }
        self.rest = s.get(end..).unwrap_or_default();
        s.get(start..end)
    }
}

/// The first `N` words of `text` (as [`words`] gives them), or `None` if it has fewer. While
/// the text is ASCII this is one tight loop over bytes (the process scan takes 22 words of
/// every `/proc/PID/stat` a tick); any other byte hands over to [`words`].
pub fn first<const N: usize>(text: &str) -> Option<[&str; N]> {
    let mut out = [""; N];
    if ascii_first(text, &mut out) {
        return Some(out);
    }
    let mut all = words(text);
    for slot in &mut out {
        *slot = all.next()?;
    }
    Some(out)
}

/// [`first`] while every byte it meets is ASCII; false when it meets another byte or runs out.
fn ascii_first<'a>(text: &'a str, out: &mut [&'a str]) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    for slot in out.iter_mut() {
        while i < bytes.len() && ascii_space(bytes[i]) {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && !ascii_space(bytes[i]) {
            if !bytes[i].is_ascii() {
                return false;
            }
            i += 1;
        }
        // Both ends are ASCII bytes or the text's end: character boundaries.
        match text.get(start..i) {
            Some(word) if !word.is_empty() => *slot = word,
            _ => return false,
        }
    }
    true
}

/// The lines of `text`, as `text.lines()`: split at `\n`, one `\r` before it dropped, no
/// empty last line after a final `\n`. A byte loop: `str::lines`' searcher costs more to set up
/// than a short line costs to scan (`/proc/vmstat` has about 190 lines of 20 bytes).
pub fn lines(text: &str) -> Lines<'_> {
    Lines { rest: text }
}

/// The iterator [`lines`] returns.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let bytes = self.rest.as_bytes();
        let (line, rest) = match bytes.iter().position(|&b| b == b'\n') {
            // `\n` is ASCII: both sides of it are on character boundaries.
            Some(at) => {
                let line = self.rest.get(..at).unwrap_or_default();
                let line = line.strip_suffix('\r').unwrap_or(line);
                (line, self.rest.get(at + 1..).unwrap_or_default())
            }
            None => (self.rest, ""),
        };
        self.rest = rest;
        Some(line)
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
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\r\n",
            "a\r",
            "\r\n\r\n",
            "a\n\nb\r\r\nc\r",
        ] {
            let want: Vec<&str> = text.lines().collect();
            assert_eq!(lines(text).collect::<Vec<_>>(), want, "{text:?}");
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
        fn first_words_are_split_whitespaces(
            text in "[ a\\t\\n\\u{0b}\\u{85}\\u{a0}é1-9]{0,24}",
        ) {
            let all: Vec<&str> = text.split_whitespace().collect();
            let want: Option<[&str; 3]> = all.get(..3).map(|w| [w[0], w[1], w[2]]);
            prop_assert_eq!(first::<3>(&text), want);
        }

        #[test]
        fn any_text_has_the_lines_of_str_lines(text in "[ab\\r\\n é]{0,30}") {
            let want: Vec<&str> = text.lines().collect();
            prop_assert_eq!(lines(&text).collect::<Vec<_>>(), want);
        }

        #[test]
        fn any_string_splits_as_split_whitespace(text in any::<String>()) {
            let want: Vec<&str> = text.split_whitespace().collect();
            prop_assert_eq!(words(&text).collect::<Vec<_>>(), want);
        }
    }
}
