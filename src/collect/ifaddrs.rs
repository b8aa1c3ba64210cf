//! The host's interface addresses, for netdev's `--collector.netdev.address-info`
//! (`node_network_address_info{device,address,netmask,scope}`, node_exporter's names).
//!
//! node_exporter asks Go's `net.Interfaces()` and `Addrs()` (rtnetlink); `getifaddrs(3)` is
//! the same list from libc (`crate::read::ifaddrs`, asked once a tick). Like node_exporter,
//! this reads the running kernel, not `--path.procfs`: addresses are not in procfs. `netmask`
//! is the prefix length, `address` as Go writes it (an IPv4-mapped IPv6 address as dotted IPv4), `scope` Go's: `link-local`
//! for loopback and link-local unicast and multicast, `interface-local` for interface-local
//! multicast, `global` for every other unicast address (private ones included), else empty.

use std::net::IpAddr;

/// One address of one interface, as its labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Address {
    pub device: String,
    pub address: String,
    pub netmask: String,
    pub scope: &'static str,
}

/// The IPv4 and IPv6 addresses of every interface, sorted, each once.
pub fn addresses() -> Vec<Address> {
    let mut out: Vec<Address> = crate::read::ifaddrs::read()
        .iter()
        .filter_map(|a| {
            Some(Address {
                device: a.device.clone(),
                address: go_string(a.address),
                netmask: prefix_len(a.netmask?).to_string(),
                scope: scope(a.address),
            })
        })
        .collect();
    crate::sort::sort(&mut out);
    out.dedup();
    out
}

/// The number of leading one bits of a netmask (Go's `Mask.Size()` of a canonical mask).
fn prefix_len(mask: IpAddr) -> u32 {
    match mask {
        IpAddr::V4(m) => u32::from(m).leading_ones(),
        IpAddr::V6(m) => u128::from(m).leading_ones(),
    }
}

/// `ip` as Go's `net.IP.String()` writes it.
fn go_string(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        v4 => v4.to_string(),
    }
}

/// node_exporter's `scope`, with Go's definitions of the address classes.
fn scope(ip: IpAddr) -> &'static str {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let (
        loopback,
        link_local_unicast,
        link_local_multicast,
        interface_local_multicast,
        multicast,
        unspecified,
        broadcast,
    ) = match ip {
        IpAddr::V4(v4) => (
            v4.is_loopback(),
            v4.octets()[..2] == [169, 254],
            v4.octets()[..3] == [224, 0, 0],
            false,
            v4.is_multicast(),
            v4.is_unspecified(),
            v4.is_broadcast(),
        ),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            (
                v6.is_loopback(),
                s[0] & 0xffc0 == 0xfe80,
                s[0] & 0xff0f == 0xff02,
                s[0] & 0xff0f == 0xff01,
                v6.is_multicast(),
                v6.is_unspecified(),
                false,
            )
        }
    };
    if loopback || link_local_unicast || link_local_multicast {
        "link-local"
    } else if interface_local_multicast {
        "interface-local"
    } else if !(unspecified || multicast || broadcast) {
        "global"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_strings_as_go() {
        let s = |a: &str| scope(a.parse().unwrap());
        assert_eq!(s("127.0.0.1"), "link-local");
        assert_eq!(s("::1"), "link-local");
        assert_eq!(s("169.254.3.4"), "link-local");
        assert_eq!(s("fe80::1"), "link-local");
        assert_eq!(s("ff02::1"), "link-local");
        assert_eq!(s("ff01::1"), "interface-local");
        assert_eq!(s("192.168.1.2"), "global");
        assert_eq!(s("2001:db8::1"), "global");
        assert_eq!(s("0.0.0.0"), "");
        assert_eq!(s("255.255.255.255"), "");
        assert_eq!(s("239.1.2.3"), "");
        assert_eq!(go_string("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1");
        assert_eq!(prefix_len("255.255.252.0".parse().unwrap()), 22);
        assert_eq!(prefix_len("ffff:ffff:ffff:ffff::".parse().unwrap()), 64);
    }

    #[test]
    fn this_host_has_loopback() {
        let all = addresses();
        assert!(
            all.iter()
                .any(|a| a.address == "127.0.0.1" && a.netmask == "8" && a.scope == "link-local"),
            "{all:?}"
        );
    }
}
