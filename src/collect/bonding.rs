//! `bonding`: configured and active slaves of each bonding master (`node_bonding_slaves`,
//! `node_bonding_active`, by `master`), from sysfs, as node_exporter 1.5.0's `bonding`.
//!
//! `/sys/class/net/bonding_masters` (present once the `bonding` module is loaded) lists the
//! masters; `<master>/bonding/slaves` lists each one's slaves, and a slave is active when its
//! `<master>/lower_<slave>/bonding_slave/mii_status` says `up` (older kernels name the link
//! `slave_<slave>`). A slave whose status cannot be read still counts as configured, not as
//! active; a master whose slave list cannot be read is left out (node_exporter fails the
//! whole collector on either).

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::read_lossy;
use std::path::Path;
use std::sync::Arc;

/// Registers the `bonding` family.
pub const REGISTRATION: Registration = Registration {
    name: "bonding",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(BondingFamily { buf: Vec::new() })
}

/// One master: `(name, configured slaves, active slaves)`.
type Master = (String, u64, u64);

/// One tick's masters, sorted by name.
#[derive(Debug)]
struct BondingHarvest {
    masters: Vec<Master>,
}

/// Whether the slave `slave` of the master at `master` has its link up.
fn slave_up(master: &Path, slave: &str, buf: &mut Vec<u8>) -> bool {
    ["lower_", "slave_"].iter().any(|prefix| {
        let status = master
            .join(format!("{prefix}{slave}"))
            .join("bonding_slave/mii_status");
        read_lossy(status, buf).is_ok_and(|s| s.trim() == "up")
    })
}

struct BondingFamily {
    buf: Vec<u8>,
}

impl Family for BondingFamily {
    fn name(&self) -> &'static str {
        "bonding"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let class = roots.sys("class/net");
        let list = class.join("bonding_masters");
        let names: Vec<String> = match read_lossy(&list, &mut self.buf) {
            Ok(text) => text.split_ascii_whitespace().map(str::to_owned).collect(),
            // No bonding driver: node_exporter's "no data" (success 0).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Arc::new(super::family::NoData))
            }
            Err(e) => return Err(format!("{}: {e}", list.display())),
        };
        let mut masters: Vec<Master> = Vec::new();
        for name in names {
            // Names are kernel interface names: no `/`, and `.` and `..` are not ones.
            if name.contains('/')
                || name == "."
                || name == ".."
                || masters.iter().any(|m| m.0 == name)
            {
                continue;
            }
            let dir = class.join(&name);
            let slaves: Vec<String> = match read_lossy(dir.join("bonding/slaves"), &mut self.buf) {
                Ok(text) => text.split_ascii_whitespace().map(str::to_owned).collect(),
                Err(_) => continue,
            };
            let active = slaves
                .iter()
                .filter(|s| !s.contains('/') && slave_up(&dir, s, &mut self.buf))
                .count();
            masters.push((name, slaves.len() as u64, active as u64));
        }
        crate::sort::sort(&mut masters);
        Ok(Arc::new(BondingHarvest { masters }))
    }
}

impl Harvest for BondingHarvest {
    fn render(&self, out: &mut Encoder) {
        let mut f = out.family(
            "node_bonding_active",
            Kind::Gauge,
            "Number of active slaves per bonding interface.",
        );
        for (master, _, active) in &self.masters {
            f.sample(&[("master", master)], *active as f64);
        }
        let mut f = out.family(
            "node_bonding_slaves",
            Kind::Gauge,
            "Number of configured slaves per bonding interface.",
        );
        for (master, slaves, _) in &self.masters {
            f.sample(&[("master", master)], *slaves as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::REGISTRATION;
    use crate::collect::family::testing::{run, value};

    fn bond(text: &str, metric: &str, master: &str) -> Option<f64> {
        value(
            text,
            &format!("node_bonding_{metric}{{master=\"{master}\"}}"),
        )
    }

    #[test]
    fn no_bonding_module_no_samples() {
        assert_eq!(run(&REGISTRATION, "vm"), "");
        assert_eq!(run(&REGISTRATION, "pi"), "");
    }

    #[test]
    fn laptop_failover_bond() {
        let t = run(&REGISTRATION, "laptop");
        assert_eq!(bond(&t, "slaves", "bond0"), Some(2.0));
        assert_eq!(bond(&t, "active", "bond0"), Some(1.0));
        assert!(t.contains(
            "# HELP node_bonding_slaves Number of configured slaves per bonding interface.\n# TYPE node_bonding_slaves gauge\n"
        ));
    }

    #[test]
    fn hostile_masters_and_slaves() {
        let t = run(&REGISTRATION, "hostile");
        // eth0 up, eth1 in another state, ghost without status: three configured, one up.
        assert_eq!(bond(&t, "slaves", "bond0"), Some(3.0));
        assert_eq!(bond(&t, "active", "bond0"), Some(1.0));
        // The older `slave_<name>` link.
        assert_eq!(bond(&t, "slaves", "bond2"), Some(1.0));
        assert_eq!(bond(&t, "active", "bond2"), Some(1.0));
        // No slave list: left out; `../etc` is no name; bond0 listed twice counts once.
        assert_eq!(bond(&t, "slaves", "bond1"), None);
        assert_eq!(t.matches("node_bonding_slaves{").count(), 2);
        assert!(!t.contains("etc"));
    }
}
