//! `selinux`: whether SELinux is on and in which mode (node_exporter 1.5.0's `selinux`
//! collector: `node_selinux_enabled`, and where it is on `node_selinux_config_mode` and
//! `node_selinux_current_mode`).
//!
//! SELinux is on when selinuxfs is mounted, which shows as sysfs `fs/selinux/enforce`. The
//! modes are numbers: 1 enforcing, 0 permissive, -1 disabled. The configured mode is
//! `SELINUX=` in `<rootfs>/etc/selinux/config` (what the next boot will do); the current mode
//! is the `enforce` file (what the kernel does now). A host without SELinux (Debian, Ubuntu,
//! Raspberry Pi OS) still reports `node_selinux_enabled 0`, as node_exporter does.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::read_lossy;
use std::sync::Arc;

/// Registers the `selinux` family.
pub const REGISTRATION: Registration = Registration {
    name: "selinux",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(SelinuxFamily::default())
}

#[derive(Default)]
struct SelinuxFamily {
    buf: Vec<u8>,
}

/// One tick: `None` when SELinux is off, else the configured and current modes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Selinux(pub Option<(i32, i32)>);

/// The mode `SELINUX=` names in `/etc/selinux/config`: 1, 0, or -1 for disabled, missing or
/// anything else (go-selinux's `DefaultEnforceMode`).
pub fn config_mode(config: &str) -> i32 {
    let value = config.lines().find_map(|l| {
        let v = l.trim().strip_prefix("SELINUX=")?;
        Some(v.trim().trim_matches(|c| c == '"' || c == '\''))
    });
    match value {
        Some("enforcing") => 1,
        Some("permissive") => 0,
        _ => -1,
    }
}

impl Family for SelinuxFamily {
    fn name(&self) -> &'static str {
        "selinux"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let current = match read_lossy(roots.sys("fs/selinux/enforce"), &mut self.buf) {
            Err(_) => return Ok(Arc::new(Selinux(None))),
            // Unreadable as a number: go-selinux's EnforceMode says -1.
            Ok(text) => match text.trim().parse::<i32>() {
                Ok(1) => 1,
                Ok(0) => 0,
                _ => -1,
            },
        };
        let config = read_lossy(roots.root("/etc/selinux/config"), &mut self.buf)
            .map(|t| config_mode(&t))
            .unwrap_or(-1);
        Ok(Arc::new(Selinux(Some((config, current)))))
    }
}

impl Harvest for Selinux {
    fn render(&self, out: &mut Encoder) {
        out.one(
            "node_selinux_enabled",
            Kind::Gauge,
            "SELinux is enabled, 1 is true, 0 is false",
            &[],
            if self.0.is_some() { 1.0 } else { 0.0 },
        );
        if let Some((config, current)) = self.0 {
            out.one(
                "node_selinux_config_mode",
                Kind::Gauge,
                "Configured SELinux enforcement mode",
                &[],
                f64::from(config),
            );
            out.one(
                "node_selinux_current_mode",
                Kind::Gauge,
                "Current SELinux enforcement mode",
                &[],
                f64::from(current),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{run, value};

    #[test]
    fn off_on_the_vm_and_the_pi() {
        for host in ["vm", "pi"] {
            assert_eq!(
                run(&REGISTRATION, host),
                "# HELP node_selinux_enabled SELinux is enabled, 1 is true, 0 is false\n\
                 # TYPE node_selinux_enabled gauge\n\
                 node_selinux_enabled 0\n"
            );
        }
    }

    #[test]
    fn laptop_is_configured_enforcing_but_runs_permissive() {
        let text = run(&REGISTRATION, "laptop");
        assert_eq!(value(&text, "node_selinux_enabled"), Some(1.0));
        assert_eq!(value(&text, "node_selinux_config_mode"), Some(1.0));
        assert_eq!(value(&text, "node_selinux_current_mode"), Some(0.0));
    }

    #[test]
    fn hostile_enforce_file_is_disabled_mode() {
        // `enforce` holds garbage and there is no config file.
        let text = run(&REGISTRATION, "hostile");
        assert_eq!(value(&text, "node_selinux_enabled"), Some(1.0));
        assert_eq!(value(&text, "node_selinux_config_mode"), Some(-1.0));
        assert_eq!(value(&text, "node_selinux_current_mode"), Some(-1.0));
    }

    #[test]
    fn config_modes() {
        assert_eq!(
            config_mode("# c\nSELINUX=enforcing\nSELINUXTYPE=targeted\n"),
            1
        );
        assert_eq!(config_mode("SELINUX=permissive"), 0);
        assert_eq!(config_mode("SELINUX=\"disabled\""), -1);
        assert_eq!(config_mode("SELINUXTYPE=targeted"), -1);
        assert_eq!(config_mode(""), -1);
    }
}
