//! The host's interface addresses (`getifaddrs(3)`: an rtnetlink link and address dump), asked
//! once a tick for every view: the JSON model's network (which interfaces have an address,
//! for Glances' default of hiding those without one) and netdev's
//! `--collector.netdev.address-info`.
//!
//! Addresses are not in procfs, so this reads the running kernel whatever `--path.procfs`
//! says, as node_exporter does (Go's `net.Interfaces()`).

use std::ffi::CStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::rc::Rc;

/// One IPv4 or IPv6 address of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// The interface's name (bytes that are not UTF-8 as U+FFFD).
    pub device: String,
    pub address: IpAddr,
    /// The netmask, when the kernel gave one.
    pub netmask: Option<IpAddr>,
}

/// This tick's addresses, in the kernel's order (asked once a tick; afresh outside a tick).
/// Empty if the dump failed (no netlink socket allowed, say).
pub fn read() -> Rc<Vec<IfAddr>> {
    // Not a file: the key only has to be one no file has.
    super::tick::parsed(Path::new("getifaddrs(3)"), ask)
}

fn ask() -> Vec<IfAddr> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we own until freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        // SAFETY: the pointers are null or point at sockaddrs of the family they say.
        let (Some(address), netmask) = (unsafe { ip_of(ifa.ifa_addr) }, unsafe {
            ip_of(ifa.ifa_netmask)
        }) else {
            continue;
        };
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string while the list lives.
        let device = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        out.push(IfAddr {
            device,
            address,
            netmask,
        });
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

/// The address a `sockaddr` holds, for AF_INET and AF_INET6.
///
/// # Safety
/// `sa` is null or points at a `sockaddr` whose `sa_family` tells its real type.
unsafe fn ip_of(sa: *const libc::sockaddr) -> Option<IpAddr> {
    if sa.is_null() {
        return None;
    }
    match i32::from((*sa).sa_family) {
        libc::AF_INET => {
            let sin = &*(sa as *const libc::sockaddr_in);
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                sin.sin_addr.s_addr,
            ))))
        }
        libc::AF_INET6 => {
            let sin6 = &*(sa as *const libc::sockaddr_in6);
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    /// The loopback interface has 127.0.0.1 on any host these tests run on, and a tick asks
    /// the kernel once however many views read the addresses.
    #[test]
    fn loopback_is_addressed_and_asked_once_a_tick() {
        let tick = super::super::tick::Tick::begin();
        let a = super::read();
        let b = super::read();
        assert!(std::rc::Rc::ptr_eq(&a, &b), "asked twice in one tick");
        drop(tick);
        assert!(
            a.iter()
                .any(|x| x.device == "lo" && x.address == std::net::Ipv4Addr::LOCALHOST),
            "{a:?}"
        );
        assert!(
            !std::rc::Rc::ptr_eq(&a, &super::read()),
            "kept past the tick"
        );
    }
}
