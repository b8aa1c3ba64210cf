//! `pressure` in `/system`: pressure stall information (PSI) from `/proc/pressure/{cpu,memory,io}`,
//! the share of time tasks waited for each resource over 10, 60 and 300 s.
//!
//! Kernels before 4.20 have no PSI, and some distributions build it but boot with it off
//! (`psi=1` turns it on): then there is no `pressure` in the JSON at all. `cpu` has a `full`
//! line only since 5.13.

use super::family::Roots;
use crate::model::{Pressure, Psi, PsiLine};

/// Reads the three files; `None` when the host has no PSI.
pub fn read(roots: &Roots) -> Option<Pressure> {
    let one = |name: &str| -> Option<Psi> {
        let reading = crate::read::pressure::read(&roots.proc(&format!("pressure/{name}")));
        view(reading.exact()?)
    };
    let p = Pressure {
        cpu: one("cpu"),
        memory: one("memory"),
        io: one("io"),
    };
    (p.cpu.is_some() || p.memory.is_some() || p.io.is_some()).then_some(p)
}

/// The JSON model's view of a pressure file: the first `some` line's averages and the first
/// `full` line's (only since 5.13 for `cpu`); `None` without a valid `some` line.
fn view(p: &crate::read::pressure::Pressure) -> Option<Psi> {
    let line = |kind: &str| -> Option<PsiLine> {
        let l = p.0.iter().find(|l| l.plain && l.kind == kind)?;
        Some(PsiLine {
            avg10: l.avg[0]?,
            avg60: l.avg[1]?,
            avg300: l.avg[2]?,
        })
    };
    Some(Psi {
        some: line("some")?,
        full: line("full"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON model's view of a pressure file's text.
    fn parse(text: &str) -> Option<Psi> {
        view(&crate::read::pressure::parse(text))
    }

    #[test]
    fn some_and_full() {
        let p = parse(
            "some avg10=1.50 avg60=0.40 avg300=0.10 total=123\nfull avg10=0.20 avg60=0.00 avg300=0.00 total=9\n",
        )
        .unwrap();
        assert_eq!((p.some.avg10, p.some.avg60, p.some.avg300), (1.5, 0.4, 0.1));
        assert_eq!(p.full.unwrap().avg10, 0.2);
        // Before 5.13, cpu has no full line.
        assert!(parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
            .unwrap()
            .full
            .is_none());
        for bad in [
            "",
            "some avg10=x avg60=0 avg300=0",
            "full avg10=1 avg60=1 avg300=1",
            "some avg10=NaN avg60=0 avg300=0",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn this_host() {
        let roots = Roots::default();
        let here = std::fs::read_to_string("/proc/pressure/cpu").is_ok();
        assert_eq!(read(&roots).is_some(), here);
    }
}
