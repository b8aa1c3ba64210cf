//! The Prometheus text exposition format (0.0.4): the encoder every metric family writes with,
//! and label escaping. A leaf: it imports nothing of the crate, so the families
//! (`src/collect/`) and `/metrics` (`src/metrics.rs`) both use it without either importing the
//! other.

use std::fmt::Write;

/// Escapes a label value: backslash, double quote and newline.
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A metric family's type, as the `# TYPE` line says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Untyped,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Untyped => "untyped",
        }
    }
}

/// The text encoder: families with their `# HELP` and `# TYPE` lines, then their samples.
/// A family with no samples writes nothing (as the Prometheus client libraries do).
#[derive(Debug, Default)]
pub struct Encoder {
    out: String,
}

impl Encoder {
    /// Starts the family `name`; its header is written with its first sample.
    pub fn family<'a>(&'a mut self, name: &'a str, kind: Kind, help: &'a str) -> Fam<'a> {
        Fam {
            enc: self,
            name,
            kind,
            help,
            started: false,
        }
    }

    /// A family with a single sample.
    pub fn one(&mut self, name: &str, kind: Kind, help: &str, labels: &[(&str, &str)], v: f64) {
        self.family(name, kind, help).sample(labels, v);
    }

    /// Text passed on as it is (the textfile family's validated files).
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            self.out.push('\n');
        }
    }

    /// Bytes written so far: where the next family starts (see `metrics::Rendered`).
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// The exposition so far.
    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.out
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A family being written: each sample repeats only its labels and value.
pub struct Fam<'a> {
    enc: &'a mut Encoder,
    name: &'a str,
    kind: Kind,
    help: &'a str,
    started: bool,
}

impl Fam<'_> {
    /// One sample; label values are escaped.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        let out = &mut self.enc.out;
        if !self.started {
            self.started = true;
            let _ = writeln!(out, "# HELP {} {}", self.name, escape_help(self.help));
            let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind.as_str());
        }
        out.push_str(self.name);
        if !labels.is_empty() {
            out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{k}=\"{}\"", escape(v));
            }
            out.push('}');
        }
        let _ = writeln!(out, " {}", fmt(value));
    }
}

/// Escapes HELP text: backslash and newline.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(fmt(f64::NAN), "NaN");
        assert_eq!(fmt(1.5), "1.5");
        assert_eq!(fmt(3.0), "3");
    }
}
