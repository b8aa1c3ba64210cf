//! `loadavg`: the 1, 5 and 15 minute load averages from `/proc/loadavg` (node_exporter's
//! `loadavg` collector: `node_load1`, `node_load5`, `node_load15`).

use super::family::{Family, Harvest, ProcFile, Registration, Settings};
use crate::exposition::{Encoder, Kind};

/// Registers the `loadavg` family.
pub const REGISTRATION: Registration = Registration {
    name: "loadavg",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(ProcFile::new("loadavg", "loadavg", parse))
}

/// The three load averages of one tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loads(pub [f64; 3]);

/// Parses the first three fields of `/proc/loadavg` (`0.69 0.71 0.51 2/181 12345`).
pub fn parse(text: &str) -> Result<Loads, String> {
    let mut out = [0.0; 3];
    let mut fields = text.split_whitespace();
    for slot in &mut out {
        let field = fields
            .next()
            .ok_or_else(|| format!("loadavg: fewer than 3 fields in {text:?}"))?;
        *slot = field
            .parse()
            .map_err(|_| format!("loadavg: {field:?} is not a number"))?;
    }
    Ok(Loads(out))
}

impl Harvest for Loads {
    fn render(&self, out: &mut Encoder) {
        for (name, help, v) in [
            ("node_load1", "1m load average.", self.0[0]),
            ("node_load5", "5m load average.", self.0[1]),
            ("node_load15", "15m load average.", self.0[2]),
        ] {
            out.one(name, Kind::Gauge, help, &[], v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{run, value};

    #[test]
    fn fixtures() {
        let text = run(&REGISTRATION, "vm");
        assert_eq!(value(&text, "node_load1"), Some(1.89));
        assert_eq!(value(&text, "node_load5"), Some(1.41));
        assert_eq!(value(&text, "node_load15"), Some(1.15));
        assert!(text.contains("# TYPE node_load1 gauge\n"));
        let text = run(&REGISTRATION, "pi");
        assert_eq!(value(&text, "node_load15"), Some(1.05));
    }

    #[test]
    fn hostile_and_missing() {
        let mut f = (REGISTRATION.make)(&Default::default());
        assert!(f
            .harvest(&crate::collect::family::testing::fixture("hostile"))
            .is_err());
        let missing = crate::collect::family::Roots::under("/nonexistent/psmonitor");
        let mut out = Encoder::default();
        f.harvest(&missing).unwrap().render(&mut out);
        assert_eq!(out.finish(), "");
    }

    #[test]
    fn parses() {
        assert_eq!(
            parse("1.00 2.50 0.00 1/100 5\n"),
            Ok(Loads([1.0, 2.5, 0.0]))
        );
        assert!(parse("1.00 2.50").is_err());
        assert!(parse("").is_err());
        assert!(parse("a b c").is_err());
    }
}
