//! node_exporter parity: Debian's `prometheus-node-exporter` (installed here as promtool is)
//! and psmonitor run on the same host, and every metric family node_exporter exposes must be in
//! psmonitor with the same type, label names and label values, apart from the exceptions
//! below, each with its reason. Values that must agree are compared too.

mod common;
use common::{ensure_tool, free_port, wait_until, Server};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};

/// Families node_exporter has and psmonitor does not, and why.
const MISSING_OK: &[(&str, &str)] = &[
    (
        "go_",
        "the Go runtime's own metrics: psmonitor is not a Go program",
    ),
    ("promhttp_", "the Go HTTP handler's own counters"),
    (
        "node_exporter_build_info",
        "node_exporter's version; psmonitor has psmonitor_build_info",
    ),
];

/// Label values that may differ, and why: (family prefix, label).
const VALUES_MAY_DIFFER: &[(&str, &str, &str)] = &[
    (
        "node_scrape_collector_",
        "collector",
        "each runs its own version's default collectors: 1.12's (psmonitor's) add bcachefs, dmmultipath, kernel_hung, watchdog, ...",
    ),
    ("process_", "", "each exporter reports its own process"),
    (
        "node_textfile_mtime_seconds",
        "file",
        "each exporter reads its own textfile directory",
    ),
];

/// Labels psmonitor has that node_exporter 1.5 (Debian's) lacks, because node_exporter 1.12
/// added them: (family, label, since). They are dropped from psmonitor's series before the
/// label sets are compared.
const NEWER_LABELS: &[(&str, &str, &str)] = &[
    ("node_network_info", "adminstate", "1.6"),
    ("node_disk_info", "rotational", "1.9"),
    ("node_nvme_info", "cntlid", "1.9"),
];

/// Series node_exporter 1.5 has and 1.12 leaves out by default: (family prefix, label, value
/// prefix, why). They are dropped from node_exporter's side before comparing.
const DROPPED_SINCE: &[(&str, &str, &str, &str)] = &[(
    "node_disk_",
    "device",
    "zram",
    "1.8's default --collector.diskstats.device-exclude leaves zram out",
)];

/// One exposition: family name -> (type, label sets of its samples).
type Families = BTreeMap<String, (String, BTreeSet<Vec<(String, String)>>)>;

fn parse(text: &str) -> (Families, BTreeMap<String, f64>) {
    let mut fams: Families = BTreeMap::new();
    let mut values = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut w = rest.split_whitespace();
            if let (Some(n), Some(t)) = (w.next(), w.next()) {
                fams.entry(n.to_owned()).or_default().0 = t.to_owned();
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = match line.rsplit_once(' ') {
            Some(x) => x,
            None => continue,
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels: Vec<(String, String)> = split_labels(labels);
        fams.entry(name.to_owned()).or_default().1.insert(labels);
        if let Ok(v) = value.parse::<f64>() {
            values.insert(series.to_owned(), v);
        }
    }
    (fams, values)
}

/// `a="x",b="y,z"` into pairs (values may hold commas and escaped quotes).
fn split_labels(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some((k, after)) = rest.split_once("=\"") {
        let mut v = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        v.push('\\');
                        v.push(n);
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => v.push(c),
            }
        }
        out.push((k.trim_start_matches(',').to_owned(), v));
        rest = &after[end..];
    }
    out.sort();
    out
}

fn get(addr: SocketAddr) -> String {
    common::request(addr, "GET", "/metrics", &[], b"").text()
}

struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn node_exporter_families_are_all_here() {
    ensure_tool("prometheus-node-exporter", "prometheus-node-exporter");
    let textdir = std::env::temp_dir().join(format!("psmonitor-parity-{}", std::process::id()));
    std::fs::create_dir_all(&textdir).unwrap();
    std::fs::write(
        textdir.join("extra.prom"),
        "# HELP parity_check A textfile metric.\n# TYPE parity_check gauge\nparity_check 1\n",
    )
    .unwrap();
    let port = free_port();
    let ne_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _ne = Exporter(
        Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address={ne_addr}"))
            .arg(format!(
                "--collector.textfile.directory={}",
                textdir.display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus-node-exporter"),
    );
    assert!(wait_until(15, || TcpStream::connect(ne_addr).is_ok()));
    let ps = Server::start(&[
        "--interval",
        "200",
        "--collector.textfile.directory",
        textdir.to_str().unwrap(),
    ]);
    // Two ticks, so rates and counters exist.
    ps.wait_ticks(2);
    let (mut ne, ne_values) = parse(&fetch(ne_addr));
    for (name, (_, sets)) in ne.iter_mut() {
        for (prefix, label, value, _) in DROPPED_SINCE {
            if name.starts_with(prefix) {
                sets.retain(|s| !s.iter().any(|(k, v)| k == label && v.starts_with(value)));
            }
        }
    }
    let (mut ps_fams, ps_values) = parse(&get(ps.addr));
    for (family, label, _) in NEWER_LABELS {
        if let Some((_, sets)) = ps_fams.get_mut(*family) {
            *sets = sets
                .iter()
                .map(|s| s.iter().filter(|(k, _)| k != label).cloned().collect())
                .collect();
        }
    }

    let mut problems = Vec::new();
    for (name, (kind, labelsets)) in &ne {
        if MISSING_OK.iter().any(|(p, _)| name.starts_with(p)) {
            continue;
        }
        let Some((ps_kind, ps_sets)) = ps_fams.get(name) else {
            problems.push(format!("missing family {name}"));
            continue;
        };
        if kind != ps_kind {
            problems.push(format!("{name}: type {ps_kind}, node_exporter says {kind}"));
        }
        let names = |sets: &BTreeSet<Vec<(String, String)>>| -> BTreeSet<Vec<String>> {
            sets.iter()
                .map(|s| s.iter().map(|(k, _)| k.clone()).collect())
                .collect()
        };
        if names(labelsets) != names(ps_sets) {
            problems.push(format!(
                "{name}: label names {:?}, node_exporter has {:?}",
                names(ps_sets),
                names(labelsets)
            ));
            continue;
        }
        let loose = VALUES_MAY_DIFFER
            .iter()
            .any(|(p, l, _)| name.starts_with(p) && l.is_empty());
        if loose {
            continue;
        }
        let drop_loose = |s: &Vec<(String, String)>| -> Vec<(String, String)> {
            s.iter()
                .filter(|(k, _)| {
                    !VALUES_MAY_DIFFER
                        .iter()
                        .any(|(p, l, _)| name.starts_with(p) && l == k)
                })
                .cloned()
                .collect()
        };
        let want: BTreeSet<_> = labelsets.iter().map(drop_loose).collect();
        let have: BTreeSet<_> = ps_sets.iter().map(drop_loose).collect();
        let lacking: Vec<_> = want.difference(&have).collect();
        if !lacking.is_empty() {
            problems.push(format!("{name}: no series with labels {lacking:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences from node_exporter:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // Values that must agree.
    let same = |series: &str, tolerance: f64| {
        let (a, b) = (ne_values.get(series), ps_values.get(series));
        match (a, b) {
            (Some(a), Some(b)) => assert!(
                (a - b).abs() <= tolerance.max(a.abs() * 1e-9),
                "{series}: psmonitor {b}, node_exporter {a}"
            ),
            _ => panic!("{series}: psmonitor {b:?}, node_exporter {a:?}"),
        }
    };
    // A collector both have succeeds, or finds no data, in both (node_exporter says 0 for a
    // family the host lacks: no hwmon, no RAPL, no md arrays).
    for series in ne_values.keys() {
        if series.starts_with("node_scrape_collector_success{") && ps_values.contains_key(series) {
            same(series, 0.0);
        }
    }
    same("node_memory_MemTotal_bytes", 0.0);
    same("node_memory_SwapTotal_bytes", 0.0);
    same("node_boot_time_seconds", 1.0);
    let gib = 1024.0 * 1024.0 * 1024.0;
    same("node_memory_Cached_bytes", 0.25 * gib);
    for (series, v) in &ne_values {
        if series.starts_with("node_filesystem_size_bytes") {
            same(series, 0.0);
        }
        if series.starts_with("node_filesystem_avail_bytes") {
            same(series, 0.1 * gib.max(v * 0.01));
        }
        if series.starts_with("node_cpu_seconds_total") && series.contains("mode=\"idle\"") {
            // The snapshot is at most one interval (200 ms) and a scrape apart.
            same(series, 1.0);
        }
    }
    let _ = std::fs::remove_dir_all(&textdir);
}

/// Collectors compared series by series, value included, with node_exporter 1.5 on a fixture
/// tree (both read the same `--path.procfs`/`--path.sysfs`): (fixture, collector). Collectors
/// added after 1.5 (watchdog, ...) are compared with upstream's documented output in their own
/// module tests instead. Not here: `pi`/`cpufreq`, where 1.5 fails the whole collector (success
/// 0) on the Pi's tree and psmonitor reports what is there.
const ON_FIXTURES: &[(&str, &str)] = &[
    ("laptop", "dmi"),
    ("laptop", "hwmon"),
    ("pi", "hwmon"),
    ("vm", "softnet"),
    ("vm", "pressure"),
    ("laptop", "netstat"),
    ("laptop", "btrfs"),
    ("laptop", "edac"),
    ("vm", "btrfs"),
    ("vm", "xfs"),
    ("vm", "tapestats"),
    ("laptop", "nfs"),
    ("vm", "nfsd"),
    ("vm", "ipvs"),
    ("vm", "infiniband"),
    ("vm", "fibrechannel"),
];

/// Series whose value node_exporter 1.5 got wrong and 1.12 gets right: (family, a label value
/// that names them, why). Their value is not compared (the module's tests check 1.12's).
const FIXED_SINCE: &[(&str, &str, &str)] = &[
    (
        "node_nfsd_requests_total",
        "Verify",
        "1.7 reads proc4ops by the kernel's operation numbers (procfs#543); 1.5 two early",
    ),
    ("node_nfsd_requests_total", "Write", "the same"),
    ("node_nfsd_requests_total", "RelLockOwner", "the same"),
];

/// Series node_exporter 1.12 has in a family 1.5 has too, and 1.5 lacks: (family, a label
/// value that names them, since). The fixture comparison does not count them as extra.
const NEWER_SERIES: &[(&str, &str, &str)] = &[(
    "node_nfsd_requests_total",
    "WdelegGetattr",
    "1.7 (the wdeleg_getattr line of Linux 6.6)",
)];

/// As [`ON_FIXTURES`], with a flag both are given: (fixture, collector, flag).
const ON_FIXTURES_WITH: &[(&str, &str, &str)] = &[
    ("pi", "bcache", "--collector.bcache.priorityStats"),
    ("pi", "bcache", "--no-collector.bcache.priorityStats"),
    (
        "vm",
        "ipvs",
        "--collector.ipvs.backend-labels=proto,local_port",
    ),
    (
        "vm",
        "tapestats",
        "--collector.tapestats.ignored-devices=^st1$",
    ),
];

/// Each `node_` family's `# HELP` and `# TYPE` lines.
fn headers(text: &str) -> BTreeMap<String, (String, String)> {
    let mut out: BTreeMap<String, (String, String)> = BTreeMap::new();
    for line in text.lines() {
        let (help, rest) = match (line.strip_prefix("# HELP "), line.strip_prefix("# TYPE ")) {
            (Some(r), _) => (true, r),
            (_, Some(r)) => (false, r),
            _ => continue,
        };
        let (name, what) = rest.split_once(' ').unwrap_or((rest, ""));
        if !name.starts_with("node_") || name.starts_with("node_scrape_collector_") {
            continue;
        }
        let e = out.entry(name.to_owned()).or_default();
        if help {
            e.0 = what.to_owned();
        } else {
            e.1 = what.to_owned();
        }
    }
    out
}

/// `GET /metrics` as HTTP/1.0: the body, read to the end.
fn fetch(addr: SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read /metrics");
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// Compares node_exporter's exposition with psmonitor's, family by family, label by label,
/// value by value (see [`ON_FIXTURES`]); what differs goes to `problems`, named by `what`.
fn compare_expositions(what: &str, ne_text: &str, ps_text: &str, problems: &mut Vec<String>) {
    let series = |text: &str| -> BTreeMap<String, f64> {
        let (fams, values) = parse(text);
        values
            .into_iter()
            .filter(|(s, _)| {
                let name = s.split('{').next().unwrap_or("");
                name.starts_with("node_")
                    && !name.starts_with("node_scrape_collector_duration")
                    && name != "node_exporter_build_info"
                    && fams.contains_key(name)
            })
            .map(|(s, v)| {
                // Label order is not significant: sort the pairs.
                let (name, labels) = s.split_once('{').unwrap_or((&s, ""));
                let labels = split_labels(labels.trim_end_matches('}'));
                (format!("{name}{labels:?}"), v)
            })
            .collect()
    };
    // Same HELP and TYPE for every family both have.
    let ps_headers = headers(ps_text);
    for (name, want) in headers(ne_text) {
        if let Some(have) = ps_headers.get(&name).filter(|h| *h != &want) {
            problems.push(format!(
                "{what}: {name} HELP/TYPE {want:?}, psmonitor {have:?}"
            ));
        }
    }
    let family = |s: &str| s.split('[').next().unwrap_or("").to_owned();
    let want = series(ne_text);
    let have = series(ps_text);
    let fixed = |s: &str| {
        FIXED_SINCE
            .iter()
            .any(|(f, v, _)| family(s) == *f && s.contains(&format!("\"{v}\"")))
    };
    for (s, v) in &want {
        match have.get(s) {
            Some(_) if fixed(s) => {}
            Some(h) if (h - v).abs() <= v.abs() * 1e-12 => {}
            other => problems.push(format!("{what}: {s} = {v}, psmonitor {other:?}")),
        }
    }
    // Families 1.12 added (softnet's backlog_len, ...) are psmonitor's own business here.
    let known: BTreeSet<String> = want.keys().map(|s| family(s)).collect();
    let newer = |s: &str| {
        NEWER_SERIES
            .iter()
            .any(|(f, v, _)| family(s) == *f && s.contains(&format!("\"{v}\"")))
    };
    for s in have
        .keys()
        .filter(|s| !want.contains_key(*s) && known.contains(&family(s)) && !newer(s))
    {
        problems.push(format!("{what}: psmonitor has {s}, node_exporter not"));
    }
}

#[test]
fn fixture_series_match_node_exporter() {
    ensure_tool("prometheus-node-exporter", "prometheus-node-exporter");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut problems = Vec::new();
    let runs = ON_FIXTURES
        .iter()
        .map(|(h, c)| (h, c, None))
        .chain(ON_FIXTURES_WITH.iter().map(|(h, c, f)| (h, c, Some(*f))));
    for (host, collector, flag) in runs {
        let root = fixtures.join(host);
        let (procfs, sysfs) = (root.join("proc"), root.join("sys"));
        let port = free_port();
        let ne_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let _ne = Exporter(
            Command::new("prometheus-node-exporter")
                .arg(format!("--web.listen-address={ne_addr}"))
                .arg(format!("--path.procfs={}", procfs.display()))
                .arg(format!("--path.sysfs={}", sysfs.display()))
                .arg("--collector.disable-defaults")
                .arg(format!("--collector.{collector}"))
                .args(flag)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start prometheus-node-exporter"),
        );
        assert!(wait_until(15, || TcpStream::connect(ne_addr).is_ok()));
        let on = format!("--collector.{collector}");
        let mut args = vec![
            "--path.procfs",
            procfs.to_str().unwrap(),
            "--path.sysfs",
            sysfs.to_str().unwrap(),
            "--collector.disable-defaults",
            &on,
        ];
        args.extend(flag);
        let ps = Server::start(&args);
        let (ne_text, ps_text) = (fetch(ne_addr), get(ps.addr));
        let what = format!("{host}/{collector} {flag:?}");
        compare_expositions(&what, &ne_text, &ps_text, &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Started as the server binary: a private mount and PID namespace (`unshare --mount-proc`,
/// so `/proc/1/mounts` is this namespace's, as both exporters read it), a btrfs made in
/// `$BTRFS_DIR/img` and loop-mounted on `$BTRFS_DIR/mnt`, node_exporter on `$NE_ADDR` in the
/// background, then psmonitor as the namespace's init: when it is killed, the kernel kills
/// node_exporter and the mount goes with the namespace (`mount -o loop` frees the loop
/// device); `--kill-child` and `setpriv --pdeathsig` cover a test that dies first.
const BTRFS_WRAPPER: &str = r#"#!/bin/sh
exec setpriv --pdeathsig KILL unshare -m -p -f --kill-child --mount-proc --propagation private sh -c '
  set -e
  d="$BTRFS_DIR"
  truncate -s 256M "$d/img"
  mkfs.btrfs -q -L parity "$d/img" >"$d/mkfs.log" 2>&1
  mount -o loop "$d/img" "$d/mnt"
  echo data >"$d/mnt/file" && sync
  prometheus-node-exporter --web.listen-address="$NE_ADDR" --collector.disable-defaults --collector.btrfs >"$d/ne.log" 2>&1 &
  exec "$BTRFS_PSMONITOR" "$@"' sh "$@"
"#;

/// On a real btrfs (a loop-mounted image), psmonitor's `btrfs` family and node_exporter 1.5's
/// agree series by series, the ioctl-read devices (`btrfs_dev_uuid`, unused bytes, error
/// counters) included. Needs root, a loop device and btrfs-progs (`.ci/run` installs it).
#[test]
fn btrfs_on_a_real_mount_matches_node_exporter() {
    ensure_tool("prometheus-node-exporter", "prometheus-node-exporter");
    ensure_tool("mkfs.btrfs", "btrfs-progs");
    ensure_tool("setpriv", "util-linux");
    ensure_tool("unshare", "util-linux");
    let dir = std::env::temp_dir().join(format!("psmonitor-btrfs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("mnt")).unwrap();
    let wrapper = dir.join("psmonitor-in-ns");
    std::fs::write(&wrapper, BTRFS_WRAPPER).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ne_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let ps = Server::builder()
        .bin(&wrapper)
        .args(&["--collector.disable-defaults", "--collector.btrfs"])
        .env("BTRFS_DIR", dir.to_str().unwrap())
        .env("NE_ADDR", &ne_addr.to_string())
        .env("BTRFS_PSMONITOR", env!("CARGO_BIN_EXE_psmonitor"))
        .start();
    assert!(
        wait_until(15, || TcpStream::connect(ne_addr).is_ok()),
        "node_exporter did not start: {}",
        std::fs::read_to_string(dir.join("ne.log")).unwrap_or_default()
    );
    let (ne_text, ps_text) = (fetch(ne_addr), get(ps.addr));
    // The test is only worth something if the ioctls answered on both sides.
    for (who, text) in [("node_exporter", &ne_text), ("psmonitor", &ps_text)] {
        assert!(
            text.contains("node_btrfs_device_errors_total{") && text.contains("label=\"parity\""),
            "{who} did not read the mount by ioctl:\n{text}"
        );
    }
    let mut problems = Vec::new();
    compare_expositions("real btrfs", &ne_text, &ps_text, &mut problems);
    drop(ps);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `--collector.netdev.address-info` reads the running kernel's addresses (no procfs file has
/// them), so both exporters are compared on this host: the same `node_network_address_info`
/// series, label for label.
#[test]
fn address_info_matches_node_exporter_on_this_host() {
    ensure_tool("prometheus-node-exporter", "prometheus-node-exporter");
    let port = free_port();
    let ne_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _ne = Exporter(
        Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address={ne_addr}"))
            .args([
                "--collector.disable-defaults",
                "--collector.netdev",
                "--collector.netdev.address-info",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus-node-exporter"),
    );
    assert!(wait_until(15, || TcpStream::connect(ne_addr).is_ok()));
    let ps = Server::start(&[
        "--collector.disable-defaults",
        "--collector.netdev",
        "--collector.netdev.address-info",
    ]);
    let family = |text: &str| -> BTreeSet<Vec<(String, String)>> {
        let (fams, _) = parse(text);
        fams.get("node_network_address_info")
            .map(|(_, sets)| sets.clone())
            .unwrap_or_default()
    };
    let want = family(&fetch(ne_addr));
    let have = family(&get(ps.addr));
    assert!(
        want.iter()
            .any(|s| s.contains(&("address".into(), "127.0.0.1".into()))),
        "node_exporter lists loopback: {want:?}"
    );
    assert_eq!(have, want);
}

/// `--collector.netdev.enable-detailed-metrics`: node_exporter reads netlink's counters, psmonitor
/// the same counters from sysfs; on this host both give the same families, label sets, HELP
/// and TYPE, and the same values for the error counters (traffic counters move between the two
/// reads).
#[test]
fn detailed_netdev_matches_node_exporter_on_this_host() {
    ensure_tool("prometheus-node-exporter", "prometheus-node-exporter");
    let flags = [
        "--collector.disable-defaults",
        "--collector.netdev",
        "--collector.netdev.enable-detailed-metrics",
        "--collector.netdev.device-exclude=^lo$",
    ];
    let port = free_port();
    let ne_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _ne = Exporter(
        Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address={ne_addr}"))
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus-node-exporter"),
    );
    assert!(wait_until(15, || TcpStream::connect(ne_addr).is_ok()));
    let ps = Server::start(&flags);
    let (ne_text, ps_text) = (fetch(ne_addr), get(ps.addr));
    let network = |text: &str| -> Families {
        let (fams, _) = parse(text);
        fams.into_iter()
            .filter(|(n, _)| n.starts_with("node_network_"))
            .collect()
    };
    let (want, have) = (network(&ne_text), network(&ps_text));
    assert!(
        want.contains_key("node_network_receive_missed_errors_total"),
        "{want:?}"
    );
    assert_eq!(
        have.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert_eq!(have, want, "types and label sets");
    let (_, ne_values) = parse(&ne_text);
    let (_, ps_values) = parse(&ps_text);
    for (series, v) in &ne_values {
        if series.starts_with("node_network_") && series.contains("errors_total") {
            assert_eq!(ps_values.get(series), Some(v), "{series}");
        }
    }
}

/// A network namespace's neighbour table with one IPv4 entry in each state `ip neigh` can
/// set and keeps (timers an hour long, so none moves on during the test): on `veth0` one
/// each of permanent, stale, reachable, probe, incomplete, failed, none (netlink only:
/// `/proc/net/arp` leaves it out) and noarp (left out by both), on `veth1` one permanent;
/// an IPv6 entry on `veth0` (no ARP, left out).
const NEIGHBOURS: &str = r#"set -e
ip link set lo up
ip link add veth0 type veth peer name veth1
ip link set veth0 up
ip link set veth1 up
ip addr add 10.9.0.1/24 dev veth0
sysctl -qw net.ipv4.neigh.veth0.base_reachable_time_ms=3600000
sysctl -qw net.ipv4.neigh.veth0.retrans_time_ms=3600000
sysctl -qw net.ipv4.neigh.veth0.delay_first_probe_time=3600
n() { ip neigh add "$@"; }
n 10.9.0.2 lladdr 02:00:00:00:00:02 dev veth0 nud permanent
n 10.9.0.3 lladdr 02:00:00:00:00:03 dev veth0 nud stale
n 10.9.0.4 lladdr 02:00:00:00:00:04 dev veth0 nud reachable
n 10.9.0.5 lladdr 02:00:00:00:00:05 dev veth0 nud noarp
n 10.9.0.6 lladdr 02:00:00:00:00:06 dev veth0 nud probe
n 10.9.0.7 dev veth0 nud incomplete
n 10.9.0.8 lladdr 02:00:00:00:00:08 dev veth0 nud failed
n 10.9.0.9 dev veth0 nud none
n 10.9.0.10 lladdr 02:00:00:00:00:0a dev veth1 nud permanent
n fe80::1 lladdr 02:00:00:00:00:0c dev veth0 nud permanent
"#;

/// `arp` over rtnetlink (psmonitor's default, node_exporter's since 1.7) and from
/// `/proc/net/arp` (`--no-collector.arp.netlink`, node_exporter 1.5's only way), in a network
/// namespace of this test's own with a neighbour in every state: the `/proc` reading matches
/// node_exporter 1.5 series by series; the netlink one has the same `node_arp_entries` but for
/// the `NUD_NONE` entry `/proc/net/arp` does not list, and `node_arp_states` by node_exporter
/// 1.12's state names (1.5 has none); the device filter applies to both families. Needs root
/// (`unshare(CLONE_NEWNET)`) and iproute2 (`.ci/run` installs it).
#[test]
fn arp_in_a_network_namespace_matches_node_exporter() {
    ensure_tool("prometheus-node-exporter", "prometheus-node-exporter");
    ensure_tool("ip", "iproute2");
    ensure_tool("sysctl", "procps");
    // A thread of its own: unshare(CLONE_NEWNET) moves only the calling thread, and what it
    // starts or connects to (the exporters, their sockets) is then in the new namespace.
    let run = std::thread::spawn(|| {
        // SAFETY: unshare(2) with a constant flag; it changes only this thread's namespace.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "unshare(CLONE_NEWNET) needs root: {}",
            std::io::Error::last_os_error()
        );
        let setup = Command::new("sh")
            .args(["-c", NEIGHBOURS])
            .output()
            .unwrap();
        assert!(
            setup.status.success(),
            "{}",
            String::from_utf8_lossy(&setup.stderr)
        );
        let ne_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let _ne = Exporter(
            Command::new("prometheus-node-exporter")
                .arg(format!("--web.listen-address={ne_addr}"))
                .args(["--collector.disable-defaults", "--collector.arp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start prometheus-node-exporter"),
        );
        assert!(wait_until(15, || TcpStream::connect(ne_addr).is_ok()));
        let ne_text = fetch(ne_addr);
        let arp = ["--collector.disable-defaults", "--collector.arp"];
        let proc_text =
            get(Server::start(&[&arp[..], &["--no-collector.arp.netlink"]].concat()).addr);
        let netlink_text = get(Server::start(&arp).addr);
        let include = ["--collector.arp.device-include=^veth1$"];
        let include_text = get(Server::start(&[&arp[..], &include].concat()).addr);
        (ne_text, proc_text, netlink_text, include_text)
    });
    let (ne_text, proc_text, netlink_text, include_text) = match run.join() {
        Ok(texts) => texts,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    let (_, ne_values) = parse(&ne_text);
    assert_eq!(
        ne_values.get("node_arp_entries{device=\"veth0\"}"),
        Some(&6.0),
        "node_exporter 1.5 reads this namespace's /proc/net/arp:\n{ne_text}"
    );
    let mut problems = Vec::new();
    compare_expositions("/proc/net/arp", &ne_text, &proc_text, &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(!proc_text.contains("node_arp_states"), "{proc_text}");

    let (_, values) = parse(&netlink_text);
    let mut want: BTreeMap<String, f64> = [
        ("node_arp_entries{device=\"veth0\"}", 7.0),
        ("node_arp_entries{device=\"veth1\"}", 1.0),
        ("node_arp_states{device=\"veth0\",state=\"permanent\"}", 1.0),
        ("node_arp_states{device=\"veth0\",state=\"stale\"}", 1.0),
        ("node_arp_states{device=\"veth0\",state=\"reachable\"}", 1.0),
        ("node_arp_states{device=\"veth0\",state=\"probe\"}", 1.0),
        (
            "node_arp_states{device=\"veth0\",state=\"incomplete\"}",
            1.0,
        ),
        ("node_arp_states{device=\"veth0\",state=\"failed\"}", 1.0),
        ("node_arp_states{device=\"veth0\",state=\"\"}", 1.0),
        ("node_arp_states{device=\"veth1\",state=\"permanent\"}", 1.0),
    ]
    .into_iter()
    .map(|(s, v)| (s.to_owned(), v))
    .collect();
    let arp_only = |values: &BTreeMap<String, f64>| -> BTreeMap<String, f64> {
        values
            .iter()
            .filter(|(s, _)| s.starts_with("node_arp_"))
            .map(|(s, v)| (s.clone(), *v))
            .collect()
    };
    assert_eq!(arp_only(&values), want, "{netlink_text}");
    assert!(netlink_text
        .contains("# HELP node_arp_states ARP states by device\n# TYPE node_arp_states gauge\n"));
    assert_eq!(
        values.get("node_scrape_collector_success{collector=\"arp\"}"),
        Some(&1.0)
    );
    want.retain(|s, _| s.contains("veth1"));
    assert_eq!(arp_only(&parse(&include_text).1), want, "{include_text}");
}

/// On this host, psmonitor's `node_arp_entries` over netlink (the default) counts what the
/// kernel's `/proc/net/arp` lists, device by device (the two lists differ only in `NUD_NONE`
/// entries, which live for an instant, and proxy entries). The table may change between the
/// reads, so a try counts only when the file is the same before and after the tick that
/// psmonitor read in; a few tries.
#[test]
fn arp_on_this_host_matches_proc_net_arp() {
    let ps = Server::start(&[
        "--interval",
        "100",
        "--collector.disable-defaults",
        "--collector.arp",
    ]);
    let from_proc = |text: &str| -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for line in text.lines().skip(1) {
            if let Some(device) = line.split_whitespace().nth(5) {
                *out.entry(format!("node_arp_entries{{device=\"{device}\"}}"))
                    .or_default() += 1.0;
            }
        }
        out
    };
    let entries = |text: &str| -> BTreeMap<String, f64> {
        parse(text)
            .1
            .into_iter()
            .filter(|(s, _)| s.starts_with("node_arp_entries{"))
            .collect()
    };
    // The first scrape wakes the families up (they are not read while nobody scrapes).
    get(ps.addr);
    let mut tries = Vec::new();
    for _ in 0..10 {
        let before = std::fs::read_to_string("/proc/net/arp").unwrap();
        ps.wait_ticks(2);
        let text = get(ps.addr);
        let after = std::fs::read_to_string("/proc/net/arp").unwrap();
        if before != after {
            continue;
        }
        let (want, have) = (from_proc(&before), entries(&text));
        if want == have {
            return;
        }
        tries.push(format!("/proc/net/arp:\n{before}psmonitor: {have:?}"));
    }
    panic!("no try matched:\n{}", tries.join("\n"));
}
