//! `loadavg`: the 1, 5 and 15 minute load averages from `/proc/loadavg` (node_exporter's
//! `loadavg` collector: `node_load1`, `node_load5`, `node_load15`).

use super::family::{Family, Harvest, Registration, Settings, Shared};
use crate::exposition::{Encoder, Kind};

/// Registers the `loadavg` family.
pub const REGISTRATION: Registration = Registration {
    name: "loadavg",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(Shared::new(
        "loadavg",
        "loadavg",
        crate::read::loadavg::read,
        view,
    ))
}

/// The three load averages of one tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loads(pub [f64; 3]);

/// The family's view of `/proc/loadavg`: its three load averages, or an error when one is
/// missing or no number (as node_exporter fails the collector).
pub fn view(l: &crate::read::loadavg::Loadavg) -> Result<Loads, String> {
    if l.fields < 3 {
        return Err(format!("loadavg: {} fields, not 3", l.fields));
    }
    let mut out = [0.0; 3];
    for (i, (slot, v)) in out.iter_mut().zip(l.loads).enumerate() {
        *slot = v.ok_or_else(|| format!("loadavg: field {} is not a number", i + 1))?;
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

    /// The family's view of a `/proc/loadavg` text.
    fn parse(text: &str) -> Result<Loads, String> {
        view(&crate::read::loadavg::parse(text))
    }
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
