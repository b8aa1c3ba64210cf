//! The `Host` check against DNS rebinding.
//!
//! A web page on `evil.example` can make its name resolve to this machine's address; the
//! browser then sends the page's requests here with `Host: evil.example`, and, since we answer
//! `Access-Control-Allow-Origin: *` (the original's clients and other dashboards rely on it),
//! the page could read the process list and user names. Without a token, only requests that
//! name this server by an IP literal, `localhost`, one of the machine's own names or a name the
//! operator allowed are served; a rebinding page can only use its own name.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The names served without a token.
#[derive(Debug, Clone)]
pub struct HostCheck {
    /// Lower-case names without a trailing dot; `None` serves any name (`--allowed-hosts *`).
    names: Option<Vec<String>>,
}

impl HostCheck {
    /// This machine's names (hostname, `hostname.local`, its FQDNs from `/etc/hosts` and the
    /// resolver's domain) plus `allowed`. Reads no DNS: start-up must not wait on a resolver.
    pub fn new(allowed: Option<&[String]>) -> HostCheck {
        let Some(allowed) = allowed else {
            return HostCheck { names: None };
        };
        let hostname = crate::collect::platform::hostname(&Default::default(), &mut Vec::new())
            .to_ascii_lowercase();
        let mut names: Vec<String> = allowed.to_vec();
        names.extend(own_names(
            &hostname,
            &std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
            &std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
        ));
        crate::sort::sort(&mut names);
        names.dedup();
        HostCheck { names: Some(names) }
    }

    /// What is accepted, for the start-up log line.
    pub fn describe(&self) -> String {
        match &self.names {
            None => "any Host (--allowed-hosts *)".into(),
            Some(n) => format!("IP addresses, localhost, {}", n.join(", ")),
        }
    }

    /// Whether a request with this `Host` value (absent on HTTP/1.0) may be served.
    pub fn admits(&self, host: Option<&str>) -> bool {
        let Some(names) = &self.names else {
            return true;
        };
        let Some(host) = host else {
            // Browsers always send Host; a client that sends none is no rebinding page.
            return true;
        };
        let name = strip_port(host.trim())
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if name.is_empty() {
            return true;
        }
        if name.starts_with('[') && name.ends_with(']') {
            return name[1..name.len() - 1].parse::<Ipv6Addr>().is_ok();
        }
        // Browsers resolve `localhost` and `*.localhost` to loopback themselves (RFC 6761).
        name.parse::<Ipv4Addr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || names.contains(&name)
    }
}

/// Whether a `Host` value's port, if it has one, is a port (`[::1]:99999`, `pi:http` and
/// `pi:-1` are not): RFC 9112 asks for a 400 for an invalid `Host`, and a name with a port no
/// socket can have is no name of this server. An empty port (`pi:`) is allowed by RFC 3986.
pub fn port_ok(host: &str) -> bool {
    let host = host.trim();
    let port = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((_, "")) => return true,
            Some((_, after)) => match after.strip_prefix(':') {
                Some(p) => p,
                None => return false,
            },
            None => return false,
        },
        None => match host.split_once(':') {
            Some((_, p)) => p,
            None => return true,
        },
    };
    port.is_empty()
        || (port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| p <= 65_535))
}

/// `name:port` → `name`; `[v6]:port` → `[v6]`.
pub fn strip_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i)
            if host[i + 1..].bytes().all(|b| b.is_ascii_digit()) && !host[..i].ends_with(':') =>
        {
            &host[..i]
        }
        _ => host,
    }
}

/// The hostname, `hostname.local` (mDNS), the names `/etc/hosts` gives beside it, and
/// `hostname.domain` for the resolver's `domain` and `search` entries.
fn own_names(hostname: &str, etc_hosts: &str, resolv: &str) -> Vec<String> {
    if hostname.is_empty() {
        return Vec::new();
    }
    let short = hostname.split('.').next().unwrap_or(hostname).to_owned();
    let mut names = vec![hostname.to_owned(), short.clone(), format!("{short}.local")];
    for line in etc_hosts.lines() {
        let line = line.split('#').next().unwrap_or("");
        let aliases: Vec<String> = line
            .split_whitespace()
            .skip(1)
            .map(|a| a.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        if aliases
            .iter()
            .any(|a| *a == short || a.split('.').next() == Some(short.as_str()))
        {
            names.extend(aliases.into_iter().filter(|a| a.starts_with(&short)));
        }
    }
    for line in resolv.lines() {
        let mut words = line.split_whitespace();
        if matches!(words.next(), Some("domain" | "search")) {
            names.extend(
                words.map(|d| format!("{short}.{}", d.trim_end_matches('.').to_ascii_lowercase())),
            );
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(extra: &[&str]) -> HostCheck {
        let mut names: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        names.extend(own_names(
            "pi",
            "127.0.0.1 localhost\n127.0.1.1 pi.home.lan pi # me\n10.0.0.9 nas\n10.0.0.7 pi-nas\n",
            "search example.org.\n",
        ));
        HostCheck { names: Some(names) }
    }

    #[test]
    fn machine_names_and_literals_pass() {
        let c = check(&["grafana.lan"]);
        for ok in [
            "127.0.0.1:4500",
            "192.168.1.20",
            "[::1]:4500",
            "[fe80::1]",
            "localhost:4500",
            "LOCALHOST",
            "app.localhost",
            "pi",
            "pi:4500",
            "PI.local.",
            "pi.home.lan",
            "pi.example.org",
            "grafana.lan:80",
            "",
        ] {
            assert!(c.admits(Some(ok)), "{ok}");
        }
        assert!(c.admits(None));
    }

    #[test]
    fn other_names_are_refused() {
        let c = check(&[]);
        for bad in [
            "evil.example",
            "evil.example:4500",
            "nas",
            "pi.evil.example",
            "localhost.evil.example",
            "[not-v6]",
            "127.0.0.1.evil.example",
            // The `.localhost` suffix, not any name ending in `localhost`.
            "evillocalhost",
            "evillocalhost:4500",
            // Half a bracket is no IPv6 literal (`[::1` would parse as `::`).
            "[::1",
            "::1]",
            // A port that is not a number is part of the name.
            "localhost:x",
            "pi:4500x",
            // Only `/etc/hosts` names of this host (the `pi` line), not those that start alike.
            "pi-nas",
            "pi-nas.home.lan",
        ] {
            assert!(!c.admits(Some(bad)), "{bad}");
        }
        assert!(HostCheck { names: None }.admits(Some("evil.example")));
    }

    #[test]
    fn ports_must_be_ports() {
        for ok in [
            "pi",
            "pi:4500",
            "pi:",
            "[::1]",
            "[::1]:65535",
            "1.2.3.4:0",
            "",
        ] {
            assert!(port_ok(ok), "{ok}");
        }
        for bad in [
            "[::1]:99999",
            "pi:65536",
            "pi:123456",
            "pi:-1",
            "pi:http",
            "pi:+80",
            "::1",
            "[::1]4500",
            "[::1",
            "a:1:2",
        ] {
            assert!(!port_ok(bad), "{bad}");
        }
    }

    #[test]
    fn localhost_suffix_by_suffix() {
        let c = check(&[]);
        for (host, ok) in [
            ("localhost", true),
            ("a.localhost", true),
            ("a.b.localhost:1", true),
            (".localhost", true),
            ("evillocalhost", false),
            ("xlocalhost", false),
            ("localhostx", false),
            ("localhost.com", false),
            ("a.localhost.com", false),
            ("localhost-evil", false),
        ] {
            assert_eq!(c.admits(Some(host)), ok, "{host}");
        }
    }

    #[test]
    fn ports_are_stripped_only_when_numeric() {
        for (host, name) in [
            ("pi:4500", "pi"),
            ("pi:", "pi"),
            ("[::1]:80", "[::1]"),
            ("[::1]", "[::1]"),
            ("::1", "::1"),
            ("fe80::1", "fe80::1"),
            ("pi:http", "pi:http"),
            ("pi", "pi"),
        ] {
            assert_eq!(strip_port(host), name, "{host}");
        }
    }

    #[test]
    fn own_names_come_from_this_hosts_lines_only() {
        let names = own_names(
            "pi",
            "127.0.1.1 pi.home.lan\n10.0.0.9 pi-nas nas\n10.0.0.8 other pi.other.lan\n",
            "domain lan\n",
        );
        // A line that names this host by its FQDN alone still counts; a line of another
        // host whose name starts alike does not; `pi.other.lan` is on a line with `pi.`.
        for want in ["pi", "pi.local", "pi.home.lan", "pi.lan", "pi.other.lan"] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
        for not in ["pi-nas", "nas", "other"] {
            assert!(!names.iter().any(|n| n == not), "{not} in {names:?}");
        }
        assert!(own_names("", "127.0.0.1 x\n", "domain lan\n").is_empty());
    }

    #[test]
    fn describe_says_what_is_served() {
        assert_eq!(
            HostCheck { names: None }.describe(),
            "any Host (--allowed-hosts *)"
        );
        let c = HostCheck {
            names: Some(vec!["nas.lan".into(), "pi".into()]),
        };
        assert_eq!(c.describe(), "IP addresses, localhost, nas.lan, pi");
    }
}
