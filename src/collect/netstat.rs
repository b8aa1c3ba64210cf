//! `netstat`: the protocol counters of `/proc/net/netstat`, `/proc/net/snmp` and
//! `/proc/net/snmp6` that node_exporter 1.12's default `--collector.netstat.fields` selects
//! (or the regexp given with it, matched against `Protocol_Field`), as untyped
//! `node_netstat_<Protocol>_<Field>` samples.
//!
//! Formats: `netstat` and `snmp` come in line pairs, a header (`Tcp: RtoAlgorithm RtoMin ...`)
//! then its values (`Tcp: 1 200 ...`), matched by position; `snmp6` is one `Ip6InReceives 12`
//! per line, whose protocol is the name up to and including its first `6`. Some values are
//! negative (`Tcp: MaxConn -1`), so they are read as floats, as node_exporter reads them.
//! A protocol that appears again (in a later file) replaces the earlier one, as there.
//! `snmp6` is missing when IPv6 is disabled: its fields are then absent.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::read_lossy;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Registers the `netstat` family.
pub const REGISTRATION: Registration = Registration {
    name: "netstat",
    default_enabled: true,
    make: make_family,
};

fn make_family(settings: &Settings) -> Box<dyn Family> {
    Box::new(NetstatFamily {
        bufs: Default::default(),
        metas: Vec::new(),
        chooser: Chooser::default(),
        fields: settings.flags.pattern("netstat.fields"),
    })
}

/// Protocol -> field -> value, borrowed from the files' text (nothing is copied per field).
type Stats<'a> = BTreeMap<&'a str, BTreeMap<&'a str, f64>>;

/// node_exporter 1.12's default `--collector.netstat.fields`:
/// `^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|
/// TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|
/// OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|
/// RcvbufErrors|SndbufErrors))$`, for `key` = `Protocol_Field`.
fn default_field(key: &str) -> bool {
    if key.ends_with("_InErrors") || key.ends_with("_InErrs") {
        return true;
    }
    // At the first `_` (a byte search: this runs for every field of the three files).
    let Some(at) = key.bytes().position(|b| b == b'_') else {
        return false;
    };
    let (proto, field) = (&key[..at], &key[at + 1..]);
    match proto {
        "Ip" => field == "Forwarding",
        "Ip6" | "IpExt" => matches!(field, "InOctets" | "OutOctets"),
        "Icmp" | "Icmp6" => matches!(field, "InMsgs" | "OutMsgs"),
        "TcpExt" => {
            field.starts_with("Listen")
                || field.starts_with("Syncookies")
                // TCPOFOQueue since 1.8, TCPRcvQDrop since 1.9.
                || matches!(
                    field,
                    "TCPSynRetrans" | "TCPTimeouts" | "TCPOFOQueue" | "TCPRcvQDrop"
                )
        }
        "Tcp" => matches!(
            field,
            "ActiveOpens"
                | "InSegs"
                | "OutSegs"
                | "OutRsts"
                | "PassiveOpens"
                | "RetransSegs"
                | "CurrEstab"
        ),
        "Udp" | "Udp6" => matches!(
            field,
            "InDatagrams" | "OutDatagrams" | "NoPorts" | "RcvbufErrors" | "SndbufErrors"
        ),
        _ => false,
    }
}

/// Whether `name` is a valid Prometheus metric name (a hostile protocol name is not).
fn valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b':'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// Parses `netstat`/`snmp`: header and value lines in pairs with the same `Proto:` prefix.
/// A pair whose field counts differ, or a line with no partner, is skipped; so is a single
/// value that is not a number. Only the fields `chooser` selects are parsed and kept (most
/// are not, and a value nobody shows need not be read); a pair replaces its protocol's
/// earlier fields all the same.
fn parse_pairs<'a>(
    text: &'a str,
    stats: &mut Stats<'a>,
    chooser: &mut Chooser,
    fields: Option<&regex_lite::Regex>,
) {
    let mut header: Option<(&str, Vec<&str>, &str)> = None;
    for line in text.lines() {
        let Some((proto, rest)) = line.split_once(':') else {
            header = None;
            continue;
        };
        match header.take() {
            Some((hproto, names, hline)) if hproto == proto => {
                // The values are walked against the names, not collected: only the shown
                // ones are kept, and the pair counts only if both lines have as many fields.
                let shown = chooser.header(fields, hline, proto, &names);
                let mut values = 0;
                let mut picked = Vec::new();
                for (i, v) in rest.split_ascii_whitespace().enumerate() {
                    values += 1;
                    if let (Some(true), Some(n)) = (shown.get(i), names.get(i)) {
                        picked.push((*n, v));
                    }
                }
                if names.len() != values {
                    continue;
                }
                // Inserted, not collected: `collect` into a map sorts (src/sort.rs).
                let mut kept = BTreeMap::new();
                for (n, v) in picked {
                    if let Ok(v) = v.parse() {
                        kept.insert(n, v);
                    }
                }
                stats.insert(proto, kept);
            }
            _ => header = Some((proto, rest.split_ascii_whitespace().collect(), line)),
        }
    }
}

/// Parses `snmp6`: `Ip6InReceives 12` lines, split after the first `6` of the name. A
/// protocol with a numeric value replaces its earlier fields, with those `chooser` selects.
fn parse_snmp6<'a>(
    text: &'a str,
    stats: &mut Stats<'a>,
    chooser: &mut Chooser,
    fields: Option<&regex_lite::Regex>,
) {
    let mut parsed = Stats::new();
    for line in text.lines() {
        let mut words = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        let Some(six) = key.find('6') else { continue };
        let (proto, field) = key.split_at(six + 1);
        if !chooser.snmp6_key(fields, key, proto, field) {
            // Not shown, but a number still makes its protocol replace the earlier one.
            if !parsed.contains_key(proto) && value.parse::<f64>().is_ok() {
                parsed.insert(proto, BTreeMap::new());
            }
            continue;
        }
        let Ok(value) = value.parse() else { continue };
        parsed.entry(proto).or_default().insert(field, value);
    }
    stats.extend(parsed);
}

/// Which fields are shown, remembered per header line: `netstat` and `snmp` have the same
/// header lines every tick, so each of their few hundred fields is judged once, not per tick.
#[derive(Debug, Default)]
struct Chooser {
    /// `node_netstat_<Protocol>_<Field>` of the field at hand.
    name: String,
    /// This tick's header lines, each with its fields' verdicts.
    headers: Vec<(String, Vec<bool>)>,
    /// The last tick's, moved to `headers` as they come again.
    last: Vec<(String, Vec<bool>)>,
    /// `snmp6`'s names with their verdicts, in this tick's file order.
    snmp6: Vec<(String, bool)>,
    /// The last tick's, in its file order: the same names come in the same order every tick.
    snmp6_last: Vec<(String, bool)>,
}

impl Chooser {
    /// Whether each of `names` (the fields of header `line`, of `proto`) is shown.
    fn header(
        &mut self,
        fields: Option<&regex_lite::Regex>,
        line: &str,
        proto: &str,
        names: &[&str],
    ) -> &[bool] {
        let i = match self.headers.iter().position(|(h, _)| h == line) {
            Some(i) => i,
            None => {
                let entry = match self.last.iter().position(|(h, _)| h == line) {
                    Some(j) => self.last.swap_remove(j),
                    None => {
                        let shown = names
                            .iter()
                            .map(|n| selected(&mut self.name, fields, proto, n))
                            .collect();
                        (line.to_owned(), shown)
                    }
                };
                self.headers.push(entry);
                self.headers.len() - 1
            }
        };
        &self.headers[i].1
    }

    /// Whether `snmp6`'s `key` (`proto` and `field`) is shown: judged once while the file keeps
    /// its names in the same order (the last tick's name at this line is compared first).
    fn snmp6_key(
        &mut self,
        fields: Option<&regex_lite::Regex>,
        key: &str,
        proto: &str,
        field: &str,
    ) -> bool {
        let entry = match self.snmp6_last.get_mut(self.snmp6.len()) {
            // Moved, not copied: the last tick's list is not read again.
            Some((k, shown)) if k == key => (std::mem::take(k), *shown),
            _ => (
                key.to_owned(),
                selected(&mut self.name, fields, proto, field),
            ),
        };
        let shown = entry.1;
        self.snmp6.push(entry);
        shown
    }

    /// Ends a tick: header lines that did not come again are forgotten.
    fn end_tick(&mut self) {
        self.last = std::mem::take(&mut self.headers);
        std::mem::swap(&mut self.snmp6, &mut self.snmp6_last);
        self.snmp6.clear();
    }
}

/// Whether `Protocol_Field` is selected (by `fields`, or [`default_field`]) and makes a valid
/// metric name; `name` is left holding `node_netstat_Protocol_Field`.
fn selected(
    name: &mut String,
    fields: Option<&regex_lite::Regex>,
    proto: &str,
    field: &str,
) -> bool {
    metric_name(name, proto, field);
    let key = &name[PREFIX.len()..];
    let wanted = match fields {
        Some(re) => re.is_match(key),
        None => default_field(key),
    };
    wanted && valid_metric_name(name)
}

/// Leaves `name` holding `node_netstat_Protocol_Field`.
fn metric_name(name: &mut String, proto: &str, field: &str) {
    name.clear();
    for part in [PREFIX, proto, "_", field] {
        name.push_str(part);
    }
}

/// The metric names' prefix.
const PREFIX: &str = "node_netstat_";

/// A selected field's metric name and help, kept from tick to tick (they do not change).
#[derive(Debug, Clone)]
struct Meta {
    name: Arc<str>,
    help: Arc<str>,
}

/// One selected sample: its metric name, help and value.
#[derive(Debug)]
struct Sample {
    meta: Meta,
    value: f64,
}

/// One tick's selected fields, sorted by name.
#[derive(Debug)]
struct NetstatHarvest {
    samples: Vec<Sample>,
}

/// The files, in the order they are read (a protocol in a later one replaces an earlier one).
const FILES: [&str; 3] = ["net/netstat", "net/snmp", "net/snmp6"];

struct NetstatFamily {
    /// One buffer per file: the parsed fields borrow from all three at once.
    bufs: [Vec<u8>; 3],
    /// The last tick's selected names and helps, sorted by name, reused while they last.
    metas: Vec<Meta>,
    /// Which fields are shown, and the name of the one at hand.
    chooser: Chooser,
    /// `--collector.netstat.fields`, matched (unanchored, as Go's `MatchString`) against
    /// `Protocol_Field`; [`default_field`] when not given.
    fields: Option<regex_lite::Regex>,
}

impl Family for NetstatFamily {
    fn name(&self) -> &'static str {
        "netstat"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let mut error = None;
        let mut texts = Vec::with_capacity(FILES.len());
        for (file, buf) in FILES.iter().zip(&mut self.bufs) {
            let path = roots.proc(file);
            match read_lossy(&path, buf) {
                Ok(text) => texts.push((*file, text)),
                Err(e) => {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        error = Some(format!("{}: {e}", path.display()));
                    }
                }
            }
        }
        if let (true, Some(e)) = (texts.is_empty(), error) {
            return Err(e);
        }
        let mut stats = Stats::new();
        let fields = self.fields.as_ref();
        for (file, text) in &texts {
            if *file == "net/snmp6" {
                parse_snmp6(text, &mut stats, &mut self.chooser, fields);
            } else {
                parse_pairs(text, &mut stats, &mut self.chooser, fields);
            }
        }
        self.chooser.end_tick();
        let mut samples = Vec::new();
        for (proto, fields) in &stats {
            for (field, &value) in fields {
                // Every field kept was selected (and its name found valid) when its line was
                // judged: only the name is made again.
                metric_name(&mut self.chooser.name, proto, field);
                // The help names the protocol and field apart (two pairs may make one name).
                let same_help = |m: &Meta| {
                    let h = m.help.strip_prefix("Statistic ");
                    h.and_then(|h| h.strip_prefix(proto))
                        .and_then(|h| h.strip_prefix(field))
                        == Some(".")
                };
                let known = self
                    .metas
                    .binary_search_by(|m| (*m.name).cmp(self.chooser.name.as_str()));
                let meta = match known {
                    Ok(i) if same_help(&self.metas[i]) => self.metas[i].clone(),
                    _ => Meta {
                        name: self.chooser.name.as_str().into(),
                        help: format!("Statistic {proto}{field}.").into(),
                    },
                };
                samples.push(Sample { meta, value });
            }
        }
        crate::sort::sort_by(&mut samples, |a, b| a.meta.name.cmp(&b.meta.name));
        // `A_B` + `C` and `A` + `B_C` name the same metric: keep one.
        samples.dedup_by(|a, b| a.meta.name == b.meta.name);
        self.metas.clear();
        self.metas.extend(samples.iter().map(|s| s.meta.clone()));
        Ok(Arc::new(NetstatHarvest { samples }))
    }
}

impl Harvest for NetstatHarvest {
    fn render(&self, out: &mut Encoder) {
        for s in &self.samples {
            out.one(&s.meta.name, Kind::Untyped, &s.meta.help, &[], s.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{default_field, REGISTRATION};
    use crate::collect::family::testing::{render, run, value};

    fn stat(text: &str, key: &str) -> Option<f64> {
        value(text, &format!("node_netstat_{key}"))
    }

    #[test]
    fn the_default_field_regex() {
        for key in [
            "Icmp_InErrors",
            "UdpLite6_InErrors",
            "Tcp_InErrs",
            "Ip_Forwarding",
            "Ip6_OutOctets",
            "IpExt_InOctets",
            "Icmp6_OutMsgs",
            "TcpExt_ListenDrops",
            "TcpExt_SyncookiesFailed",
            "TcpExt_TCPSynRetrans",
            "Tcp_CurrEstab",
            "Udp6_SndbufErrors",
            "Udp_NoPorts",
        ] {
            assert!(default_field(key), "{key}");
        }
        for key in [
            "Ip_DefaultTTL",
            "Ip_InHdrErrors",
            "Tcp_MaxConn",
            "Tcp_InCsumErrors",
            "TcpExt_TCPTimeoutsX",
            "UdpLite_InDatagrams",
            "Icmp6_InCsumErrors",
            "Ip6_InReceives",
            "IpExt_InMcastOctets",
            "MPTcpExt_MPCapableSYNRX",
            "InErrors",
        ] {
            assert!(!default_field(key), "{key}");
        }
    }

    #[test]
    fn vm_has_node_exporters_42_fields() {
        let t = run(&REGISTRATION, "vm");
        // 1.5's 40, and TCPOFOQueue and TCPRcvQDrop of 1.12.
        assert_eq!(t.matches("# TYPE ").count(), 42);
        assert_eq!(t.matches(" untyped\n").count(), 42);
        assert!(stat(&t, "TcpExt_TCPOFOQueue").is_some());
        assert!(stat(&t, "TcpExt_TCPRcvQDrop").is_some());
        assert_eq!(stat(&t, "Tcp_ActiveOpens"), Some(126668.0));
        assert_eq!(stat(&t, "Tcp_CurrEstab"), Some(0.0));
        assert_eq!(stat(&t, "TcpExt_ListenDrops"), Some(27.0));
        assert_eq!(stat(&t, "TcpExt_TCPTimeouts"), Some(30.0));
        assert_eq!(stat(&t, "IpExt_InOctets"), Some(7580988626.0));
        assert_eq!(stat(&t, "Ip_Forwarding"), Some(2.0));
        assert_eq!(stat(&t, "Udp_InDatagrams"), Some(1198.0));
        assert_eq!(stat(&t, "Ip6_InOctets"), Some(128.0));
        assert_eq!(stat(&t, "Icmp6_OutMsgs"), Some(14.0));
        assert_eq!(stat(&t, "Tcp_MaxConn"), None);
        assert!(t.contains("# HELP node_netstat_Icmp6_InMsgs Statistic Icmp6InMsgs.\n"));
        assert!(t.contains("# HELP node_netstat_UdpLite_InErrors Statistic UdpLiteInErrors.\n"));
    }

    #[test]
    fn pi_values() {
        let t = run(&REGISTRATION, "pi");
        assert_eq!(t.matches("# TYPE ").count(), 42);
        for (key, want) in [
            ("TcpExt_ListenOverflows", 3.0),
            ("TcpExt_ListenDrops", 3.0),
            ("TcpExt_TCPSynRetrans", 118.0),
            ("TcpExt_TCPTimeouts", 97.0),
            ("IpExt_InOctets", 1593482211.0),
            ("IpExt_OutOctets", 104887234.0),
            ("Ip_Forwarding", 2.0),
            ("Icmp_InMsgs", 212.0),
            ("Icmp_InErrors", 4.0),
            ("Tcp_CurrEstab", 7.0),
            ("Tcp_InErrs", 2.0),
            ("Tcp_RetransSegs", 812.0),
            ("Udp_NoPorts", 91.0),
            ("Ip6_InOctets", 8123456.0),
            ("Icmp6_OutMsgs", 402.0),
            ("Udp6_InDatagrams", 5120.0),
            ("Udp6_NoPorts", 3.0),
        ] {
            assert_eq!(stat(&t, key), Some(want), "{key}");
        }
    }

    #[test]
    fn laptop_values() {
        let t = run(&REGISTRATION, "laptop");
        assert_eq!(stat(&t, "Ip_Forwarding"), Some(1.0));
        assert_eq!(stat(&t, "Tcp_CurrEstab"), Some(38.0));
        assert_eq!(stat(&t, "Udp_RcvbufErrors"), Some(14.0));
        assert_eq!(stat(&t, "IpExt_InOctets"), Some(5120334871.0));
        assert_eq!(stat(&t, "Udp6_InDatagrams"), Some(88123.0));
    }

    /// Names and helps are kept from tick to tick: a second harvest renders as the first,
    /// and a name two pairs make (`Foo` + `X_InErrors`, `Foo_X` + `InErrors`) takes the help
    /// of the pair present in this tick.
    #[test]
    fn later_ticks_render_as_the_first() {
        for host in ["vm", "pi", "laptop", "hostile"] {
            let mut f = (REGISTRATION.make)(&Default::default());
            let first = render(&mut *f, host);
            assert_eq!(render(&mut *f, host), first, "{host}");
        }
        let dir = std::env::temp_dir().join(format!("psmonitor-netstat-{}", std::process::id()));
        let net = dir.join("proc/net");
        std::fs::create_dir_all(&net).unwrap();
        let roots = crate::collect::family::Roots::under(&dir);
        let mut f = (REGISTRATION.make)(&Default::default());
        let mut tick = |text: &str| {
            std::fs::write(net.join("netstat"), text).unwrap();
            let mut out = crate::exposition::Encoder::default();
            f.harvest(&roots).unwrap().render(&mut out);
            out.finish()
        };
        let both = tick("Foo: X_InErrors\nFoo: 1\nFoo_X: InErrors\nFoo_X: 2\n");
        let one = tick("Foo_X: InErrors\nFoo_X: 2\n");
        // A protocol of `snmp6` with a number replaces the same protocol of `snmp`, even
        // when none of its own fields is shown; without a number it does not.
        std::fs::write(net.join("snmp"), "Udp6: InErrors\nUdp6: 5\n").unwrap();
        std::fs::write(net.join("snmp6"), "Udp6Unshown 3\n").unwrap();
        let replaced = tick("");
        std::fs::write(net.join("snmp6"), "Udp6Unshown x\n").unwrap();
        let kept = tick("");
        // `snmp6`'s verdicts are remembered by line: a line that changes is judged afresh.
        std::fs::write(net.join("snmp"), "").unwrap();
        std::fs::write(net.join("snmp6"), "Ip6InReceives 1\nIp6InOctets 2\n").unwrap();
        let before = tick("");
        std::fs::write(net.join("snmp6"), "Ip6InOctets 3\nIp6InReceives 4\n").unwrap();
        let swapped = tick("");
        std::fs::write(net.join("snmp6"), "Ip6InOctets 5\nIp6InReceives 6\n").unwrap();
        let again = tick("");
        for (t, octets) in [(&before, 2.0), (&swapped, 3.0), (&again, 5.0)] {
            assert_eq!(value(t, "node_netstat_Ip6_InOctets"), Some(octets), "{t}");
            assert_eq!(value(t, "node_netstat_Ip6_InReceives"), None, "{t}");
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(value(&replaced, "node_netstat_Udp6_InErrors"), None);
        assert_eq!(value(&kept, "node_netstat_Udp6_InErrors"), Some(5.0));
        assert!(both.contains("Statistic FooX_InErrors.\n"), "{both}");
        assert_eq!(value(&both, "node_netstat_Foo_X_InErrors"), Some(1.0));
        assert!(one.contains("Statistic Foo_XInErrors.\n"), "{one}");
        assert_eq!(value(&one, "node_netstat_Foo_X_InErrors"), Some(2.0));
    }

    #[test]
    fn hostile_pairs_and_names() {
        let t = run(&REGISTRATION, "hostile");
        assert_eq!(stat(&t, "TcpExt_SyncookiesSent"), Some(1.0));
        assert_eq!(stat(&t, "TcpExt_ListenOverflows"), Some(2.0));
        assert_eq!(stat(&t, "TcpExt_ListenDrops"), None);
        assert_eq!(stat(&t, "TcpExt_TCPTimeouts"), Some(u64::MAX as f64));
        // Header and values of different lengths; a header with no values.
        assert_eq!(stat(&t, "IpExt_InOctets"), None);
        assert_eq!(stat(&t, "Udp_InDatagrams"), None);
        assert_eq!(stat(&t, "Ip_Forwarding"), Some(1.0));
        assert_eq!(stat(&t, "Tcp_CurrEstab"), Some(-4.0));
        assert_eq!(stat(&t, "Tcp_InErrs"), Some(1000.0));
        assert_eq!(stat(&t, "Tcp_ActiveOpens"), Some(12.0));
        assert_eq!(stat(&t, "Ip6_InOctets"), Some(100.0));
        assert_eq!(stat(&t, "Icmp6_InMsgs"), Some(7.0));
        // `Tc{p`, `Bad\xff` and `\xff6` match `.*_InErrors` but are no metric names.
        assert_eq!(t.matches("# TYPE ").count(), 9);
        assert!(!t.contains('{') && !t.contains('\u{fffd}'));
    }
}
