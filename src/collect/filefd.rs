//! `filefd`: open file handles from `/proc/sys/fs/file-nr` (node_exporter's `filefd`
//! collector: `node_filefd_allocated`, `node_filefd_maximum`).
//!
//! The file holds three numbers: allocated handles, allocated-but-unused handles (always 0
//! since Linux 2.6), and the maximum (`fs.file-max`, which on recent 64-bit kernels defaults to
//! `LONG_MAX`, 9223372036854775807: shown as a float, as node_exporter does).

use super::family::{Family, Harvest, ProcFile, Registration, Settings};
use crate::exposition::{Encoder, Kind};

/// Registers the `filefd` family.
pub const REGISTRATION: Registration = Registration {
    name: "filefd",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(ProcFile::new("filefd", "sys/fs/file-nr", parse))
}

/// One tick of `file-nr`; a field that is not a number is `None` and left out.
#[derive(Debug, Default, PartialEq)]
pub struct FileNr {
    pub allocated: Option<f64>,
    pub maximum: Option<f64>,
}

/// Parses `file-nr` (`allocated unused maximum`); anything but three fields is an error, as in
/// node_exporter, since the positions would no longer mean anything.
pub fn parse(text: &str) -> Result<FileNr, String> {
    let fields: Vec<&str> = text.split_whitespace().take(4).collect();
    let [allocated, _, maximum] = fields[..] else {
        return Err(format!(
            "file-nr: expected 3 fields, found {:?}",
            text.chars().take(80).collect::<String>()
        ));
    };
    let num = |s: &str| s.parse::<u64>().ok().map(|v| v as f64);
    Ok(FileNr {
        allocated: num(allocated),
        maximum: num(maximum),
    })
}

impl Harvest for FileNr {
    fn render(&self, out: &mut Encoder) {
        for (name, help, v) in [
            (
                "node_filefd_allocated",
                "File descriptor statistics: allocated.",
                self.allocated,
            ),
            (
                "node_filefd_maximum",
                "File descriptor statistics: maximum.",
                self.maximum,
            ),
        ] {
            if let Some(v) = v {
                out.one(name, Kind::Gauge, help, &[], v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{fixture, run, value};

    fn family() -> Box<dyn Family> {
        (REGISTRATION.make)(&Default::default())
    }

    #[test]
    fn fixtures() {
        let text = run(&REGISTRATION, "vm");
        assert_eq!(value(&text, "node_filefd_allocated"), Some(838.0));
        assert_eq!(value(&text, "node_filefd_maximum"), Some(2_466_116.0));
        assert!(text.contains("# TYPE node_filefd_allocated gauge\n"));
        let text = run(&REGISTRATION, "pi");
        assert_eq!(value(&text, "node_filefd_allocated"), Some(1_568.0));
        assert_eq!(
            value(&text, "node_filefd_maximum"),
            Some(9_223_372_036_854_775_807.0)
        );
    }

    #[test]
    fn hostile_fixture_is_an_error_not_a_panic() {
        // Two fields: the positions mean nothing any more.
        assert!(family().harvest(&fixture("hostile")).is_err());
    }

    #[test]
    fn parses() {
        assert_eq!(
            parse("10\t0\t20\n"),
            Ok(FileNr {
                allocated: Some(10.0),
                maximum: Some(20.0)
            })
        );
        assert_eq!(
            parse("-1 0 x\n"),
            Ok(FileNr {
                allocated: None,
                maximum: None
            })
        );
        assert!(parse("").is_err());
        assert!(parse("1 2 3 4").is_err());
    }
}
