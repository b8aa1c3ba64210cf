//! `entropy`: the kernel's entropy estimate and pool size from `/proc/sys/kernel/random/`
//! (node_exporter's `entropy` collector: `node_entropy_available_bits`,
//! `node_entropy_pool_size_bits`).
//!
//! Since Linux 5.18 both are fixed at 256 (the pool is a hash, always "full" once seeded);
//! older kernels report a 4096-bit pool that drains. Dashboards still alert on low values.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::read_u64;
use std::sync::Arc;

/// Registers the `entropy` family.
pub const REGISTRATION: Registration = Registration {
    name: "entropy",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(EntropyFamily::default())
}

#[derive(Default)]
struct EntropyFamily {
    buf: Vec<u8>,
}

/// One tick's reading; a file that is missing or not a number is `None` and left out.
#[derive(Debug, Default, PartialEq)]
pub struct Entropy {
    pub available: Option<f64>,
    pub pool_size: Option<f64>,
}

impl EntropyFamily {
    /// One file's number; a file that is missing, unreadable or not a number is `None`, so
    /// one bad file does not hide the other.
    fn read(&mut self, roots: &Roots, file: &str) -> Option<f64> {
        let path = roots.proc(&format!("sys/kernel/random/{file}"));
        read_u64(path, &mut self.buf).map(|v| v as f64)
    }
}

impl Family for EntropyFamily {
    fn name(&self) -> &'static str {
        "entropy"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        Ok(Arc::new(Entropy {
            available: self.read(roots, "entropy_avail"),
            pool_size: self.read(roots, "poolsize"),
        }))
    }
}

impl Harvest for Entropy {
    fn render(&self, out: &mut Encoder) {
        for (name, help, v) in [
            (
                "node_entropy_available_bits",
                "Bits of available entropy.",
                self.available,
            ),
            (
                "node_entropy_pool_size_bits",
                "Bits of entropy pool.",
                self.pool_size,
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
    use crate::collect::family::testing::{run, value};

    #[test]
    fn fixtures() {
        let text = run(&REGISTRATION, "vm");
        assert_eq!(value(&text, "node_entropy_available_bits"), Some(256.0));
        assert_eq!(value(&text, "node_entropy_pool_size_bits"), Some(256.0));
        assert!(text.contains("# TYPE node_entropy_available_bits gauge\n"));
        // A pre-5.18 kernel's draining 4096-bit pool.
        let text = run(&REGISTRATION, "laptop");
        assert_eq!(value(&text, "node_entropy_available_bits"), Some(3_712.0));
        assert_eq!(value(&text, "node_entropy_pool_size_bits"), Some(4_096.0));
    }

    #[test]
    fn hostile_values_are_left_out() {
        // entropy_avail is negative, poolsize is a directory: no samples, no error.
        assert_eq!(run(&REGISTRATION, "hostile"), "");
    }
}
