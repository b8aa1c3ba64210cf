//! `nfs`: the NFS client's RPC statistics from `/proc/net/rpc/nfs`, as node_exporter 1.12's
//! `nfs` collector (default on, through procfs' `ClientRPCStats`) exposes them:
//! `node_nfs_packets_total{protocol}`, `node_nfs_connections_total`, `node_nfs_rpcs_total`,
//! `node_nfs_rpc_retransmissions_total`, `node_nfs_rpc_authentication_refreshes_total` and
//! `node_nfs_requests_total{proto,method}`.
//!
//! Kernel ABI (net/sunrpc/stats.c, fs/nfs): one line per kind, a key then decimal counters:
//! `net <packets> <udp> <tcp> <tcp connections>`, `rpc <calls> <retransmissions>
//! <auth refreshes>`, and `procN <count> <one counter per procedure>` for each NFS version the
//! client module was built with (v2 is off in current kernels, so its line is missing; v4's
//! count grows with the kernel: 59 procedures in procfs' table, 69 in 6.1).
//!
//! Pitfalls, node_exporter's and kept so series match: every procedure of v2, v3 and v4 is
//! exported, at 0 when its line is missing; a v4 line shorter than procfs' 59 procedures is
//! padded with zeros, a longer one cut (the kernel's v4.2 procedures past `Clone` are not
//! exported). A value that is not a number, or a line whose count disagrees with its values,
//! fails the family this tick (`node_scrape_collector_success 0`) rather than exporting
//! numbers whose positions mean something else; a line with a key it does not know (a newer
//! kernel's) is passed over, where node_exporter fails. Without the file (no `nfs` module
//! loaded) it is "no data".

use super::family::{Family, Harvest, ProcFile, Registration, Settings};
use crate::exposition::{Encoder, Kind};

/// Registers the `nfs` family.
pub const REGISTRATION: Registration = Registration {
    name: "nfs",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(ProcFile::new("nfs", "net/rpc/nfs", parse).absent_is_no_data())
}

/// NFSv2's procedures, in the kernel's order (procfs' `V2Stats`).
pub(super) const V2: [&str; 18] = [
    "Null", "GetAttr", "SetAttr", "Root", "Lookup", "ReadLink", "Read", "WrCache", "Write",
    "Create", "Remove", "Rename", "Link", "SymLink", "MkDir", "RmDir", "ReadDir", "FsStat",
];

/// NFSv3's procedures, in the kernel's order (procfs' `V3Stats`).
pub(super) const V3: [&str; 22] = [
    "Null",
    "GetAttr",
    "SetAttr",
    "Lookup",
    "Access",
    "ReadLink",
    "Read",
    "Write",
    "Create",
    "MkDir",
    "SymLink",
    "MkNod",
    "Remove",
    "RmDir",
    "Rename",
    "Link",
    "ReadDir",
    "ReadDirPlus",
    "FsStat",
    "FsInfo",
    "PathConf",
    "Commit",
];

/// The NFSv4 client's procedures procfs names (`ClientV4Stats`), in the kernel's order
/// (`enum nfsproc4_clnt`).
const V4: [&str; 59] = [
    "Null",
    "Read",
    "Write",
    "Commit",
    "Open",
    "OpenConfirm",
    "OpenNoattr",
    "OpenDowngrade",
    "Close",
    "Setattr",
    "FsInfo",
    "Renew",
    "SetClientID",
    "SetClientIDConfirm",
    "Lock",
    "Lockt",
    "Locku",
    "Access",
    "Getattr",
    "Lookup",
    "LookupRoot",
    "Remove",
    "Rename",
    "Link",
    "Symlink",
    "Create",
    "Pathconf",
    "StatFs",
    "ReadLink",
    "ReadDir",
    "ServerCaps",
    "DelegReturn",
    "GetACL",
    "SetACL",
    "FsLocations",
    "ReleaseLockowner",
    "Secinfo",
    "FsidPresent",
    "ExchangeID",
    "CreateSession",
    "DestroySession",
    "Sequence",
    "GetLeaseTime",
    "ReclaimComplete",
    "LayoutGet",
    "GetDeviceInfo",
    "LayoutCommit",
    "LayoutReturn",
    "SecinfoNoName",
    "TestStateID",
    "FreeStateID",
    "GetDeviceList",
    "BindConnToSession",
    "DestroyClientID",
    "Seek",
    "Allocate",
    "DeAllocate",
    "LayoutStats",
    "Clone",
];

/// One line of a `/proc/net/rpc` file: its key and its numbers.
pub(super) type Line<'a> = (&'a str, Vec<u64>);

/// Splits a `/proc/net/rpc/nfs{,d}` file into lines of a key and unsigned numbers, as
/// procfs does: a line without a value, or with a value that is not a number, is an error.
/// `th` keeps only its first two values (the rest is a histogram of decimals the kernel
/// stopped filling in 2.6.30, written as `0.000`).
pub(super) fn lines(text: &str) -> Result<Vec<Line<'_>>, String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let key = parts.next().unwrap_or("");
        let values: Vec<&str> = match key {
            "th" => parts.take(2).collect(),
            _ => parts.collect(),
        };
        if values.is_empty() || (key == "th" && values.len() < 2) {
            return Err(format!("invalid line {:?}", cut(line)));
        }
        let values = values
            .iter()
            .map(|v| v.parse::<u64>())
            .collect::<Result<Vec<u64>, _>>()
            .map_err(|e| format!("{:?}: {e}", cut(line)))?;
        out.push((key, values));
    }
    Ok(out)
}

/// A line as it may appear in an error message: at most 80 characters.
fn cut(line: &str) -> String {
    line.chars().take(80).collect()
}

/// Exactly `N` values, or an error naming the line.
pub(super) fn exactly<const N: usize>(key: &str, v: &[u64]) -> Result<[u64; N], String> {
    v.try_into()
        .map_err(|_| format!("{key}: {} values, expected {N}", v.len()))
}

/// A `procN` line: its first value counts the rest, and there must be at least `min` of them
/// (procfs' rule for v2, v3 and the server's v4 operations). The counters, one per procedure.
pub(super) fn procedures(key: &str, v: &[u64], min: usize) -> Result<Vec<u64>, String> {
    let (count, rest) = v.split_first().ok_or(format!("{key}: no count"))?;
    if *count != rest.len() as u64 || rest.len() < min {
        return Err(format!(
            "{key}: count {count}, {} values, at least {min} expected",
            rest.len()
        ));
    }
    Ok(rest.to_vec())
}

/// One tick of the client's statistics.
#[derive(Debug, Default, PartialEq)]
pub struct ClientStats {
    /// `net`: packets, udp, tcp, tcp connections.
    net: [u64; 4],
    /// `rpc`: calls, retransmissions, authentication refreshes.
    rpc: [u64; 3],
    v2: [u64; 18],
    v3: [u64; 22],
    /// Padded or cut to procfs' 59 procedures when parsed.
    v4: Vec<u64>,
}

/// Parses `/proc/net/rpc/nfs` as procfs' `ParseClientRPCStats` does.
pub fn parse(text: &str) -> Result<ClientStats, String> {
    let mut s = ClientStats::default();
    for (key, v) in lines(text)? {
        match key {
            "net" => s.net = exactly(key, &v)?,
            "rpc" => s.rpc = exactly(key, &v)?,
            "proc2" => s.v2.copy_from_slice(&procedures(key, &v, 18)?[..18]),
            "proc3" => s.v3.copy_from_slice(&procedures(key, &v, 22)?[..22]),
            "proc4" => {
                // Any count that matches its values; fewer than 59 are padded with zeros.
                s.v4 = procedures(key, &v, 0)?;
                s.v4.resize(V4.len(), 0);
            }
            // A line a newer kernel added: node_exporter fails the collector on it (1.5 and
            // 1.6 lost every nfsd series to 6.6's wdeleg_getattr); the known lines still hold.
            _ => {}
        }
    }
    Ok(s)
}

impl Harvest for ClientStats {
    fn render(&self, out: &mut Encoder) {
        let mut f = out.family(
            "node_nfs_packets_total",
            Kind::Counter,
            "Total NFSd network packets (sent+received) by protocol type.",
        );
        f.sample(&[("protocol", "udp")], self.net[1] as f64);
        f.sample(&[("protocol", "tcp")], self.net[2] as f64);
        for (name, help, v) in [
            (
                "node_nfs_connections_total",
                "Total number of NFSd TCP connections.",
                self.net[3],
            ),
            (
                "node_nfs_rpcs_total",
                "Total number of RPCs performed.",
                self.rpc[0],
            ),
            (
                "node_nfs_rpc_retransmissions_total",
                "Number of RPC transmissions performed.",
                self.rpc[1],
            ),
            (
                "node_nfs_rpc_authentication_refreshes_total",
                "Number of RPC authentication refreshes performed.",
                self.rpc[2],
            ),
        ] {
            out.one(name, Kind::Counter, help, &[], v as f64);
        }
        let mut f = out.family(
            "node_nfs_requests_total",
            Kind::Counter,
            "Number of NFS procedures invoked.",
        );
        let versions: [(&str, &[&str], &[u64]); 3] = [
            ("2", &V2, &self.v2),
            ("3", &V3, &self.v3),
            ("4", &V4, &self.v4),
        ];
        for (proto, names, values) in versions {
            for (i, method) in names.iter().enumerate() {
                let v = values.get(i).copied().unwrap_or(0);
                f.sample(&[("method", method), ("proto", proto)], v as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, fixture, run};

    #[test]
    fn laptop_client_without_v2() {
        let t = run(&REGISTRATION, "laptop");
        assert_values(
            &t,
            &[
                ("node_nfs_packets_total{protocol=\"udp\"}", 4.0),
                ("node_nfs_packets_total{protocol=\"tcp\"}", 14.0),
                ("node_nfs_connections_total", 2.0),
                ("node_nfs_rpcs_total", 2_417_916.0),
                ("node_nfs_rpc_retransmissions_total", 3.0),
                ("node_nfs_rpc_authentication_refreshes_total", 2_417_993.0),
                // No proc2 line: v2 at 0, as node_exporter.
                ("node_nfs_requests_total{method=\"Null\",proto=\"2\"}", 0.0),
                (
                    "node_nfs_requests_total{method=\"FsStat\",proto=\"2\"}",
                    0.0,
                ),
                // proc3's first counter is Null, its last Commit.
                ("node_nfs_requests_total{method=\"Null\",proto=\"3\"}", 33.0),
                (
                    "node_nfs_requests_total{method=\"Access\",proto=\"3\"}",
                    185.0,
                ),
                (
                    "node_nfs_requests_total{method=\"Commit\",proto=\"3\"}",
                    831.0,
                ),
                // 69 v4 procedures: the first 59 are named, the rest not exported.
                ("node_nfs_requests_total{method=\"Read\",proto=\"4\"}", 82.0),
                (
                    "node_nfs_requests_total{method=\"Clone\",proto=\"4\"}",
                    248.0,
                ),
            ],
        );
        let requests = t.matches("node_nfs_requests_total{").count();
        assert_eq!(requests, 18 + 22 + 59);
        assert!(t.contains("# TYPE node_nfs_requests_total counter\n"));
    }

    #[test]
    fn short_v4_is_padded() {
        let s = parse("proc4 3 1 2 3\n").unwrap();
        assert_eq!((&s.v4[..4], s.v4.len()), (&[1, 2, 3, 0][..], 59));
    }

    #[test]
    fn hostile_files_fail_the_family_and_never_panic() {
        for bad in [
            "net 1 2 3\n",     // short
            "rpc 1 2 3 4\n",   // long
            "proc3 22 1 2\n",  // count disagrees
            "proc2 3 1 2 3\n", // fewer than 18 procedures
            "proc3 x\n",       // not a number
            "net\n",           // no value
            "proc4 18446744073709551615\n",
            "rpc -1 0 0\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse("").unwrap(), ClientStats::default());
        // A line a future kernel adds is passed over; the rest is read.
        let s = parse("proc9 1 5\nrpc 1 2 3\n").unwrap();
        assert_eq!(s.rpc, [1, 2, 3]);
    }

    #[test]
    fn hostile_tree_fails_the_family_this_tick() {
        let err = (REGISTRATION.make)(&Settings::default())
            .harvest(&fixture("hostile"))
            .unwrap_err();
        assert!(err.contains("rpc"), "{err}");
    }

    #[test]
    fn no_nfs_module_is_no_data() {
        let h = (REGISTRATION.make)(&Settings::default())
            .harvest(&fixture("pi"))
            .unwrap();
        assert!(h.no_data());
    }
}
