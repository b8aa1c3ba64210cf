//! The command line's words, read flag by flag for [`crate::config`]: `--flag=value` split
//! into two words, and every flag read at most once, as node_exporter's kingpin reads them.
//!
//! A flag given twice (`--port 1 --port 2`) is a mistake said in one line ("given twice"),
//! not "unexpected argument" for the second one, and not last-wins: a unit's later override
//! hides an earlier one. Only the flags read with [`Args::strings`] repeat. A switch written
//! with a value (`--open=false`, `--no-collector.wifi=false`) "takes no value", as kingpin
//! refuses a boolean flag's `=value` ("unexpected false").

use std::ffi::OsString;

/// One word of the command line; `glued` when it was the value of a `--flag=value`.
#[derive(Debug, Clone)]
pub struct Word {
    pub text: OsString,
    pub glued: bool,
}

/// `--flag=value` as `--flag value`, the value marked (node_exporter's users write
/// `--path.procfs=/host/proc`). A word that is not UTF-8 is refused here, wherever it stands:
/// every flag and value is read as text, and such a word would otherwise be no flag at all
/// (`--token-file=/x\xff` starting without a token) or be dropped as a subcommand.
pub fn split_equals(args: Vec<OsString>) -> Result<Vec<Word>, String> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        if a.to_str().is_none() {
            return Err(not_utf8("argument", &a));
        }
        match a.to_str().filter(|s| s.starts_with("--")) {
            Some(s) if s.contains('=') => {
                let (k, v) = s.split_once('=').unwrap_or((s, ""));
                out.push(Word {
                    text: k.into(),
                    glued: false,
                });
                out.push(Word {
                    text: v.into(),
                    glued: true,
                });
            }
            _ => out.push(Word {
                text: a,
                glued: false,
            }),
        }
    }
    Ok(out)
}

/// The one line for a word (`what`: "argument", "PSMONITOR_TOKEN_FILE") that is not UTF-8,
/// its other bytes shown as `\xff`.
pub fn not_utf8(what: &str, word: &std::ffi::OsStr) -> String {
    format!(
        "{what} '{}' is not valid UTF-8: psmonitor reads flags, values and paths as UTF-8 text",
        word.as_encoded_bytes().escape_ascii()
    )
}

/// Says that `flag` (a switch) was written `flag=value`, if it was: `Some(value)`.
pub fn glued_value(words: &[Word], at: usize) -> Option<String> {
    words
        .get(at + 1)
        .filter(|w| w.glued)
        .map(|w| w.text.to_string_lossy().into_owned())
}

/// The one line for a switch written with a value.
pub fn takes_no_value(flag: &str, value: &str) -> String {
    format!("{flag} takes no value (given as {flag}={value}): give {flag} alone")
}

/// The one line for a flag given twice.
pub fn given_twice(flag: &str, first: &str, second: &str) -> String {
    match (first, second) {
        ("", "") => format!("{flag} given twice: give it once"),
        (a, b) => format!("{flag} given twice ('{a}', '{b}'): give it once"),
    }
}

/// The words left for the general flags, read each at most once.
pub struct Args {
    inner: pico_args::Arguments,
    /// `(flag, value)` of every `--flag=value` among them.
    glued: Vec<(String, String)>,
}

impl Args {
    pub fn new(words: Vec<Word>) -> Args {
        let mut glued = Vec::new();
        for (i, w) in words.iter().enumerate() {
            if let Some(v) = glued_value(&words, i) {
                glued.push((w.text.to_string_lossy().into_owned(), v));
            }
        }
        let words = words.into_iter().map(|w| w.text).collect();
        Args {
            inner: pico_args::Arguments::from_vec(words),
            glued,
        }
    }

    /// Whether one of `keys` is there (`-h`/`--help`), however often: no check.
    pub fn any(&mut self, keys: [&'static str; 2]) -> bool {
        self.inner.contains(keys)
    }

    /// The first word, if it is no flag (a subcommand).
    pub fn subcommand(&mut self) -> Option<String> {
        self.inner.subcommand().ok().flatten()
    }

    /// The next free word.
    pub fn free(&mut self) -> Result<Option<String>, String> {
        self.inner
            .opt_free_from_str::<String>()
            .map_err(|e| e.to_string())
    }

    /// A switch: whether it is on. As kingpin's booleans, `--no-FLAG` is its off form (node_exporter
    /// 1.12 takes `--no-web.disable-exporter-metrics`). Twice in any form, or with a value, is
    /// an error.
    pub fn switch(&mut self, flag: &'static str) -> Result<bool, String> {
        // A `&'static` key for pico_args: a few bytes, once per switch, at start-up.
        let no: &'static str = Box::leak(format!("--no-{}", &flag[2..]).into_boxed_str());
        if let Some((f, v)) = self.glued.iter().find(|(f, _)| f == flag || f == no) {
            return Err(takes_no_value(f, v));
        }
        let mut given = Vec::new();
        for form in [flag, no] {
            while self.inner.contains(form) {
                given.push(form);
            }
        }
        match given[..] {
            [] => Ok(false),
            [one] => Ok(one == flag),
            [a, b, ..] if a == b => Err(given_twice(a, "", "")),
            [a, b, ..] => Err(format!("{flag} given twice (as {a} and {b}): give it once")),
        }
    }

    /// A flag's value, if given; given twice is an error.
    pub fn string(&mut self, flag: &'static str) -> Result<Option<String>, String> {
        let first = self.next(flag)?;
        if let Some(v) = &first {
            if let Some(again) = self.next(flag)? {
                return Err(given_twice(flag, v, &again));
            }
        }
        Ok(first)
    }

    /// A flag that may be given more than once: every value, in order.
    pub fn strings(&mut self, flag: &'static str) -> Result<Vec<String>, String> {
        let mut all = Vec::new();
        while let Some(v) = self.next(flag)? {
            all.push(v);
        }
        Ok(all)
    }

    /// A flag's value parsed as `T`, if given (the hidden `--test-*` flags).
    pub fn parsed<T>(&mut self, flag: &'static str) -> Result<Option<T>, String>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        self.string(flag)?
            .map(|v| {
                v.parse()
                    .map_err(|e| format!("invalid value '{v}' for {flag}: {e}"))
            })
            .transpose()
    }

    /// The next value of `flag`. As kingpin, a word starting with `--` is a flag, not a value
    /// (`--log.level --port 1` is a missing level), unless written glued (`--x=--y`).
    fn next(&mut self, flag: &'static str) -> Result<Option<String>, String> {
        match self.inner.opt_value_from_str::<_, String>(flag) {
            Ok(Some(v))
                if v.starts_with("--") && !self.glued.iter().any(|(f, g)| f == flag && *g == v) =>
            {
                Err(format!(
                    "{flag} needs a value (see --help), not the flag {v}"
                ))
            }
            Ok(v) => Ok(v),
            Err(pico_args::Error::OptionWithoutAValue(_)) => {
                Err(format!("{flag} needs a value (see --help)"))
            }
            Err(e) => Err(format!("{flag}: {e}")),
        }
    }

    /// After every flag is read: a word left over is one no flag took.
    pub fn finish(self, context: &str) -> Result<(), String> {
        match self.inner.finish().first() {
            Some(extra) => Err(format!(
                "{context}unexpected argument '{}' (see --help)",
                extra.to_string_lossy()
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{split_equals, Args};

    fn args(words: &[&str]) -> Args {
        Args::new(split_equals(words.iter().map(|w| (*w).into()).collect()).unwrap())
    }

    /// A word that is not UTF-8 is one line, wherever it stands: first (where it was taken
    /// for a subcommand and dropped), later (where it was "unexpected"), as a glued or a
    /// separate value.
    #[test]
    fn words_that_are_not_utf8_are_refused() {
        use std::os::unix::ffi::OsStringExt;
        let bad = || std::ffi::OsString::from_vec(b"--token-file=/x\xff".to_vec());
        let value = || std::ffi::OsString::from_vec(b"/proc\xff".to_vec());
        for words in [
            vec![bad(), "--port".into(), "0".into()],
            vec!["--port".into(), "0".into(), bad()],
            vec!["--path.procfs".into(), value()],
        ] {
            let err = split_equals(words.clone()).unwrap_err();
            assert!(err.contains("is not valid UTF-8"), "{words:?}: {err}");
            assert!(err.contains("\\xff'"), "{err}");
        }
    }

    #[test]
    fn each_flag_once() {
        let mut a = args(&["--port", "1", "--port=2"]);
        let err = a.string("--port").unwrap_err();
        assert_eq!(err, "--port given twice ('1', '2'): give it once");
        let mut a = args(&["--open", "--open"]);
        assert!(a.switch("--open").unwrap_err().contains("given twice"));
        let mut a = args(&["--open=false"]);
        let err = a.switch("--open").unwrap_err();
        assert!(err.contains("--open takes no value"), "{err}");
        let mut a = args(&["--no-open=true"]);
        let err = a.switch("--open").unwrap_err();
        assert!(err.contains("--no-open takes no value"), "{err}");
        let mut a = args(&["--no-open"]);
        assert!(!a.switch("--open").unwrap());
        let mut a = args(&["--open", "--no-open"]);
        let err = a.switch("--open").unwrap_err();
        assert_eq!(
            err,
            "--open given twice (as --open and --no-open): give it once"
        );
        let mut a = args(&["--d=a", "--d", "b", "--open", "x"]);
        assert_eq!(a.strings("--d").unwrap(), ["a", "b"]);
        assert!(a.switch("--open").unwrap());
        let err = a.finish("").unwrap_err();
        assert_eq!(err, "unexpected argument 'x' (see --help)");
        let mut a = args(&["--port="]);
        assert_eq!(a.string("--port").unwrap().as_deref(), Some(""));
        let mut a = args(&["--port"]);
        assert!(a.string("--port").unwrap_err().contains("needs a value"));
        let mut a = args(&["--log.level", "--port", "1"]);
        let err = a.string("--log.level").unwrap_err();
        assert_eq!(
            err,
            "--log.level needs a value (see --help), not the flag --port"
        );
        let mut a = args(&["--token-file=--odd"]);
        assert_eq!(a.string("--token-file").unwrap().as_deref(), Some("--odd"));
    }
}
