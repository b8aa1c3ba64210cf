//! `nfsd`: the kernel NFS server's statistics from `/proc/net/rpc/nfsd`, as node_exporter
//! 1.12's `nfsd` collector (default on, through procfs' `ServerRPCStats`) exposes them: the
//! reply cache, stale file handles, bytes read and written, threads, the read-ahead cache,
//! packets and connections, RPC errors and `node_nfsd_requests_total{proto,method}`.
//!
//! Kernel ABI (fs/nfsd/stats.c, net/sunrpc/stats.c): `rc <hits> <misses> <nocache>`,
//! `fh <stale> ...` (only the first is still counted), `io <read> <written>` in bytes,
//! `th <threads> <pool full count> <ten 0.000>` (the histogram is dead since 2.6.30),
//! `ra <size> <ten depths> <not found>` (all zero since 5.4, kept for old readers),
//! `net <packets> <udp> <tcp> <tcp connections>`, `rpc <calls> <bad> <badfmt> <badauth>
//! <badclnt>`, `procN <count> <counters>` for v2 (gone from current kernels), v3 and the
//! `proc4` pair (null, compound), `proc4ops <count> <one counter per operation number>`
//! (40 operations in 4.0, 76 by 6.x), and since 6.6 `wdeleg_getattr <n>`.
//!
//! What node_exporter exports, kept so series match: v2 and v3 without `Null`; of the v4
//! operations only the 4.0 ones (not the 4.1/4.2 ones past operation 39, nor `PutPubFH`,
//! `PutRootFH`, `SetClientID`, `SetClientIDConfirm`); a missing line exports zeros; and since
//! 1.7 `{proto="4",method="WdelegGetattr"}` from the `wdeleg_getattr` line (0 without it;
//! node_exporter 1.5 fails the whole collector on a 6.6+ kernel's file). As for `nfs`, an
//! a non-number or a count that disagrees fails the family this tick, and a line with an
//! unknown key is passed over (node_exporter fails on it, as 1.5 did on `wdeleg_getattr`).

use super::family::{Family, Harvest, ProcFile, Registration, Settings};
use super::nfs::{exactly, lines, procedures, V2, V3};
use crate::exposition::{Encoder, Kind};

/// Registers the `nfsd` family.
pub const REGISTRATION: Registration = Registration {
    name: "nfsd",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(ProcFile::new("nfsd", "net/rpc/nfsd", parse).absent_is_no_data())
}

/// The NFSv4 operations exported: (index in `proc4ops`' counters, method label), as
/// node_exporter's collector lists them.
const V4_OPS: [(usize, &str); 33] = [
    (3, "Access"),
    (4, "Close"),
    (5, "Commit"),
    (6, "Create"),
    (7, "DelegPurge"),
    (8, "DelegReturn"),
    (9, "GetAttr"),
    (10, "GetFH"),
    (11, "Link"),
    (12, "Lock"),
    (13, "Lockt"),
    (14, "Locku"),
    (15, "Lookup"),
    (16, "LookupRoot"),
    (17, "Nverify"),
    (18, "Open"),
    (19, "OpenAttr"),
    (20, "OpenConfirm"),
    (21, "OpenDgrd"),
    (22, "PutFH"),
    (25, "Read"),
    (26, "ReadDir"),
    (27, "ReadLink"),
    (28, "Remove"),
    (29, "Rename"),
    (30, "Renew"),
    (31, "RestoreFH"),
    (32, "SaveFH"),
    (33, "SecInfo"),
    (34, "SetAttr"),
    (37, "Verify"),
    (38, "Write"),
    (39, "RelLockOwner"),
];

/// One tick of the server's statistics.
#[derive(Debug, Default, PartialEq)]
pub struct ServerStats {
    rc: [u64; 3],
    fh: [u64; 5],
    io: [u64; 2],
    th: [u64; 2],
    ra: [u64; 12],
    net: [u64; 4],
    rpc: [u64; 5],
    v2: [u64; 18],
    v3: [u64; 22],
    /// The first 40 operations (`OP_RELEASE_LOCKOWNER` is 39; a 4.0-only kernel has 39).
    v4ops: Vec<u64>,
    wdeleg_getattr: u64,
}

/// Parses `/proc/net/rpc/nfsd` as procfs' `ParseServerRPCStats` does.
pub fn parse(text: &str) -> Result<ServerStats, String> {
    let mut s = ServerStats::default();
    for (key, v) in lines(text)? {
        match key {
            "rc" => s.rc = exactly(key, &v)?,
            "fh" => s.fh = exactly(key, &v)?,
            "io" => s.io = exactly(key, &v)?,
            "th" => s.th = exactly(key, &v)?,
            "ra" => s.ra = exactly(key, &v)?,
            "net" => s.net = exactly(key, &v)?,
            "rpc" => s.rpc = exactly(key, &v)?,
            "proc2" => s.v2.copy_from_slice(&procedures(key, &v, 18)?[..18]),
            "proc3" => s.v3.copy_from_slice(&procedures(key, &v, 22)?[..22]),
            // Null and compound: not exported, but a wrong count still says the file is off.
            "proc4" => {
                let [2, _, _] = exactly::<3>(key, &v)? else {
                    return Err("proc4: count is not 2".into());
                };
            }
            "proc4ops" => {
                s.v4ops = procedures(key, &v, 39)?;
                s.v4ops.resize(40, 0);
            }
            "wdeleg_getattr" => s.wdeleg_getattr = exactly::<1>(key, &v)?[0],
            // A newer kernel's line: passed over (node_exporter fails the collector).
            _ => {}
        }
    }
    Ok(s)
}

impl Harvest for ServerStats {
    fn render(&self, out: &mut Encoder) {
        let counters = [
            (
                "node_nfsd_reply_cache_hits_total",
                "Total number of NFSd Reply Cache hits (client lost server response).",
                self.rc[0],
            ),
            (
                "node_nfsd_reply_cache_misses_total",
                "Total number of NFSd Reply Cache an operation that requires caching (idempotent).",
                self.rc[1],
            ),
            (
                "node_nfsd_reply_cache_nocache_total",
                "Total number of NFSd Reply Cache non-idempotent operations (rename/delete/…).",
                self.rc[2],
            ),
            (
                "node_nfsd_file_handles_stale_total",
                "Total number of NFSd stale file handles",
                self.fh[0],
            ),
            (
                "node_nfsd_disk_bytes_read_total",
                "Total NFSd bytes read.",
                self.io[0],
            ),
            (
                "node_nfsd_disk_bytes_written_total",
                "Total NFSd bytes written.",
                self.io[1],
            ),
            (
                "node_nfsd_read_ahead_cache_not_found_total",
                "Total number of NFSd read ahead cache not found.",
                self.ra[11],
            ),
            (
                "node_nfsd_connections_total",
                "Total number of NFSd TCP connections.",
                self.net[3],
            ),
            (
                "node_nfsd_server_rpcs_total",
                "Total number of NFSd RPCs.",
                self.rpc[0],
            ),
        ];
        for (name, help, v) in counters {
            out.one(name, Kind::Counter, help, &[], v as f64);
        }
        out.one(
            "node_nfsd_server_threads",
            Kind::Gauge,
            "Total number of NFSd kernel threads that are running.",
            &[],
            self.th[0] as f64,
        );
        out.one(
            "node_nfsd_read_ahead_cache_size_blocks",
            Kind::Gauge,
            "How large the read ahead cache is in blocks.",
            &[],
            self.ra[0] as f64,
        );
        let mut f = out.family(
            "node_nfsd_packets_total",
            Kind::Counter,
            "Total NFSd network packets (sent+received) by protocol type.",
        );
        f.sample(&[("proto", "udp")], self.net[1] as f64);
        f.sample(&[("proto", "tcp")], self.net[2] as f64);
        let mut f = out.family(
            "node_nfsd_rpc_errors_total",
            Kind::Counter,
            "Total number of NFSd RPC errors by error type.",
        );
        for (error, v) in [
            ("fmt", self.rpc[2]),
            ("auth", self.rpc[3]),
            ("cInt", self.rpc[4]),
        ] {
            f.sample(&[("error", error)], v as f64);
        }
        let mut f = out.family(
            "node_nfsd_requests_total",
            Kind::Counter,
            "Total number NFSd Requests by method and protocol.",
        );
        // Null is not exported for v2 and v3.
        for (proto, names, values) in [("2", &V2[..], &self.v2[..]), ("3", &V3, &self.v3)] {
            for (method, v) in names.iter().zip(values).skip(1) {
                f.sample(&[("method", method), ("proto", proto)], *v as f64);
            }
        }
        for (i, method) in V4_OPS {
            let v = self.v4ops.get(i).copied().unwrap_or(0);
            f.sample(&[("method", method), ("proto", "4")], v as f64);
        }
        f.sample(
            &[("method", "WdelegGetattr"), ("proto", "4")],
            self.wdeleg_getattr as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{assert_values, fixture, run};

    #[test]
    fn vm_server() {
        let t = run(&REGISTRATION, "vm");
        let req =
            |m: &str, p: &str| format!("node_nfsd_requests_total{{method=\"{m}\",proto=\"{p}\"}}");
        assert_values(
            &t,
            &[
                ("node_nfsd_reply_cache_hits_total", 0.0),
                ("node_nfsd_reply_cache_misses_total", 25_020_854.0),
                ("node_nfsd_reply_cache_nocache_total", 19_157_796.0),
                ("node_nfsd_file_handles_stale_total", 276.0),
                ("node_nfsd_disk_bytes_read_total", 899_844_043.0),
                ("node_nfsd_disk_bytes_written_total", 2_470_085_989.0),
                ("node_nfsd_server_threads", 8.0),
                ("node_nfsd_read_ahead_cache_size_blocks", 32.0),
                ("node_nfsd_read_ahead_cache_not_found_total", 0.0),
                ("node_nfsd_packets_total{proto=\"udp\"}", 1.0),
                ("node_nfsd_packets_total{proto=\"tcp\"}", 44_179_026.0),
                ("node_nfsd_connections_total", 3092.0),
                ("node_nfsd_server_rpcs_total", 44_177_753.0),
                ("node_nfsd_rpc_errors_total{error=\"fmt\"}", 1.0),
                ("node_nfsd_rpc_errors_total{error=\"auth\"}", 2.0),
                ("node_nfsd_rpc_errors_total{error=\"cInt\"}", 1.0),
                (&req("GetAttr", "2"), 0.0),
                (&req("GetAttr", "3"), 93.0),
                (&req("Commit", "3"), 853.0),
                (&req("Access", "4"), 180.0),
                (&req("PutFH", "4"), 902.0),
                (&req("Read", "4"), 1016.0),
                // By operation number, as 1.7+: OP_VERIFY 37, OP_WRITE 38 (1.5 read 35, 36).
                (&req("Verify", "4"), 472.0),
                (&req("Write", "4"), 510.0),
                (&req("RelLockOwner", "4"), 548.0),
                (&req("WdelegGetattr", "4"), 0.0),
            ],
        );
        assert!(!t.contains("method=\"Null\""));
        assert!(!t.contains("method=\"PutRootFH\""));
        assert_eq!(
            t.matches("node_nfsd_requests_total{").count(),
            17 + 21 + 33 + 1
        );
    }

    #[test]
    fn kernel_6_6_wdeleg_getattr_and_a_4_0_only_server() {
        let s = parse(
            "th 8 0\nproc4ops 39 0 0 0 7 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\nwdeleg_getattr 16\n",
        )
        .unwrap();
        assert_eq!(
            (s.th, s.v4ops[3], s.v4ops[39], s.wdeleg_getattr),
            ([8, 0], 7, 0, 16)
        );
    }

    #[test]
    fn hostile_files_fail_the_family_and_never_panic() {
        for bad in [
            "rc 1 2\n",
            "th 8\n",
            "th x 0 0.000\n",
            "ra 1 2 3\n",
            "proc4 3 1 2 3\n",
            "proc4ops 3 1 2 3\n",
            "proc3 22 1\n",
            "wdeleg_getattr 1 2\n",
            "io 1 2.5\n",
            "rpc\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hostile_tree_fails_the_family_this_tick() {
        assert!((REGISTRATION.make)(&Settings::default())
            .harvest(&fixture("hostile"))
            .is_err());
    }

    #[test]
    fn no_server_is_no_data() {
        let h = (REGISTRATION.make)(&Settings::default())
            .harvest(&fixture("laptop"))
            .unwrap();
        assert!(h.no_data());
    }
}
