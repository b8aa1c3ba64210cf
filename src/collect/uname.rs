//! `uname`: `node_uname_info`, the `uname(2)` fields as labels (node_exporter's `uname`
//! collector).
//!
//! It is a system call, not a file, so it always describes the kernel psmonitor runs on, even
//! with `--path.procfs` pointing elsewhere (node_exporter does the same). It is called every
//! tick because the host name (`nodename`) can change at run time; the result is reused while it
//! stays the same. `domainname` is the NIS domain, `(none)` on most hosts.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use std::sync::Arc;

/// Registers the `uname` family.
pub const REGISTRATION: Registration = Registration {
    name: "uname",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(UnameFamily::default())
}

#[derive(Default)]
struct UnameFamily {
    last: Option<Arc<Uname>>,
}

/// The `uname(2)` fields, each shown lossily if it is not UTF-8.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uname {
    pub sysname: String,
    pub nodename: String,
    pub release: String,
    pub version: String,
    pub machine: String,
    pub domainname: String,
}

/// Calls `uname(2)`.
pub fn uname() -> Result<Uname, String> {
    let mut u = std::mem::MaybeUninit::<libc::utsname>::zeroed();
    // SAFETY: `u` points to writable memory of the right type; uname fills it on success.
    if unsafe { libc::uname(u.as_mut_ptr()) } != 0 {
        return Err(format!("uname: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: uname returned 0, so every field is initialised (and the struct was zeroed).
    let u = unsafe { u.assume_init() };
    Ok(Uname {
        sysname: text(&u.sysname),
        nodename: text(&u.nodename),
        release: text(&u.release),
        version: text(&u.version),
        machine: text(&u.machine),
        domainname: text(&u.domainname),
    })
}

/// A `utsname` field: up to its first NUL (or its end, should the kernel fill it), lossily.
fn text(field: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = field
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Family for UnameFamily {
    fn name(&self) -> &'static str {
        "uname"
    }

    fn harvest(&mut self, _: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let now = uname()?;
        let h = match &self.last {
            Some(last) if **last == now => Arc::clone(last),
            _ => Arc::new(now),
        };
        self.last = Some(Arc::clone(&h));
        Ok(h)
    }
}

impl Harvest for Uname {
    fn render(&self, out: &mut Encoder) {
        out.one(
            "node_uname_info",
            Kind::Gauge,
            "Labeled system information as provided by the uname system call.",
            &[
                ("domainname", &self.domainname),
                ("machine", &self.machine),
                ("nodename", &self.nodename),
                ("release", &self.release),
                ("sysname", &self.sysname),
                ("version", &self.version),
            ],
            1.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{run, value};

    #[test]
    fn real_host_matches_proc() {
        // uname(2) is the kernel's, whatever fixture the roots point at.
        let text = run(&REGISTRATION, "hostile");
        let proc = |f: &str| {
            std::fs::read_to_string(format!("/proc/sys/kernel/{f}"))
                .unwrap()
                .trim_end_matches('\n')
                .to_owned()
        };
        let machine = std::process::Command::new("uname")
            .arg("-m")
            .output()
            .unwrap();
        let machine = String::from_utf8_lossy(&machine.stdout).trim().to_owned();
        let series = format!(
            "node_uname_info{{domainname=\"{}\",machine=\"{machine}\",nodename=\"{}\",\
             release=\"{}\",sysname=\"{}\",version=\"{}\"}}",
            crate::exposition::escape(&proc("domainname")),
            crate::exposition::escape(&proc("hostname")),
            crate::exposition::escape(&proc("osrelease")),
            crate::exposition::escape(&proc("ostype")),
            crate::exposition::escape(&proc("version")),
        );
        assert_eq!(value(&text, &series), Some(1.0), "{text}");
        assert!(text.starts_with(
            "# HELP node_uname_info Labeled system information as provided by the uname system call.\n\
             # TYPE node_uname_info gauge\n"
        ));
    }

    #[test]
    fn reuses_an_unchanged_reading() {
        let mut f = UnameFamily::default();
        let a = f.harvest(&Roots::default()).unwrap();
        let b = f.harvest(&Roots::default()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn fields_stop_at_nul() {
        let field: Vec<libc::c_char> = b"Linux\0junk".iter().map(|b| *b as libc::c_char).collect();
        assert_eq!(text(&field), "Linux");
        let full: Vec<libc::c_char> = b"abc".iter().map(|b| *b as libc::c_char).collect();
        assert_eq!(text(&full), "abc");
        let bad: Vec<libc::c_char> = [0xffu8, b'a', 0]
            .iter()
            .map(|b| *b as libc::c_char)
            .collect();
        assert_eq!(text(&bad), "\u{fffd}a");
    }
}
