//! `pressure` in `/system`: pressure stall information (PSI) from `/proc/pressure/{cpu,memory,io}`,
//! the share of time tasks waited for each resource over 10, 60 and 300 s.
//!
//! Kernels before 4.20 have no PSI, and some distributions build it but boot with it off
//! (`psi=1` turns it on): then there is no `pressure` in the JSON at all. `cpu` has a `full`
//! line only since 5.13.

use super::family::Roots;
use crate::model::{Pressure, Psi, PsiLine};
use crate::read::procfs::read_into;

/// Reads the three files; `None` when the host has no PSI.
pub fn read(roots: &Roots, buf: &mut Vec<u8>) -> Option<Pressure> {
    let mut one = |name: &str| -> Option<Psi> {
        let text = read_into(roots.proc(&format!("pressure/{name}")), buf).ok()?;
        parse(text)
    };
    let p = Pressure {
        cpu: one("cpu"),
        memory: one("memory"),
        io: one("io"),
    };
    (p.cpu.is_some() || p.memory.is_some() || p.io.is_some()).then_some(p)
}

/// `some avg10=0.12 avg60=0.05 avg300=0.01 total=1234` and an optional `full` line.
fn parse(text: &str) -> Option<Psi> {
    let line = |kind: &str| -> Option<PsiLine> {
        let rest = text
            .lines()
            .find_map(|l| l.strip_prefix(kind)?.strip_prefix(' '))?;
        let field = |key: &str| -> Option<f64> {
            rest.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))?
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
        };
        Some(PsiLine {
            avg10: field("avg10")?,
            avg60: field("avg60")?,
            avg300: field("avg300")?,
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
        assert_eq!(read(&roots, &mut Vec::new()).is_some(), here);
    }
}
