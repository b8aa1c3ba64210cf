//! `/proc/pressure/{cpu,memory,io,irq}` (pressure stall information), each parsed once a tick
//! for every view: the JSON model's `pressure` (`collect::psi`) and the `pressure` family.

use std::path::Path;
use std::rc::Rc;

/// One line of a pressure file: `some avg10=0.12 avg60=0.05 avg300=0.01 total=1234`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    /// Its first word (`some` or `full`).
    pub kind: String,
    /// The line starts with its kind and a space, as the kernel writes it.
    pub plain: bool,
    /// The first `avg10=`, `avg60=` and `avg300=` fields; `None` when missing, no number or
    /// not finite.
    pub avg: [Option<f64>; 3],
    /// The first `total=` field, microseconds.
    pub total: Option<u64>,
}

/// One reading of a pressure file: its lines in file order (each view says which it takes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pressure(pub Vec<Line>);

/// This tick's reading of the pressure file at `path` (parsed once a tick).
pub fn read(path: &Path) -> Rc<super::Reading<Pressure>> {
    super::shared(path, parse)
}

/// Parses a pressure file.
pub fn parse(text: &str) -> Pressure {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(kind) = fields.next() else {
            continue;
        };
        let mut l = Line {
            kind: kind.to_owned(),
            plain: line.strip_prefix(kind).is_some_and(|r| r.starts_with(' ')),
            ..Line::default()
        };
        // The first field of each key counts, whatever it holds.
        let mut seen = [false; 4];
        for f in fields {
            let Some((key, value)) = f.split_once('=') else {
                continue;
            };
            let i = match key {
                "avg10" => 0,
                "avg60" => 1,
                "avg300" => 2,
                "total" => 3,
                _ => continue,
            };
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            match i {
                3 => l.total = value.parse().ok(),
                _ => l.avg[i] = value.parse().ok().filter(|v: &f64| v.is_finite()),
            }
        }
        out.push(l);
    }
    Pressure(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let p = parse(
            "some avg10=1.50 avg60=x avg300=NaN total=123 total=5\n full\tavg10=0.2 total=-1\n",
        );
        assert_eq!(p.0.len(), 2);
        assert_eq!(
            (p.0[0].plain, p.0[0].avg, p.0[0].total),
            (true, [Some(1.5), None, None], Some(123))
        );
        assert_eq!(
            (p.0[1].kind.as_str(), p.0[1].plain, p.0[1].total),
            ("full", false, None)
        );
    }
}
