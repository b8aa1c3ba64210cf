//! node_exporter's command lines, run as they are written in existing systemd units.

mod common;
use common::{request, Server};

fn metrics(s: &Server, path: &str) -> String {
    let r = request(s.addr, "GET", path, &[], b"");
    assert_eq!(r.status, 200, "{path}");
    r.text()
}

/// An empty exclude is no filter (node_exporter's `NewDeviceFilter`): the usual way to undo
/// Debian's default `^lo$` shows the loopback device.
#[test]
fn empty_netdev_exclude_shows_lo() {
    let lo = "node_network_receive_bytes_total{device=\"lo\"}";
    let s = Server::start(&[]);
    let text = metrics(&s, "/metrics");
    assert!(text.contains("node_network_receive_bytes_total{"), "{text}");
    assert!(!text.contains(lo), "Debian's default leaves lo out");
    let s = Server::start(&["--collector.netdev.device-exclude="]);
    let text = metrics(&s, "/metrics");
    assert!(text.contains(lo), "{text}");
}

/// A node_exporter unit's global flags: /metrics also at the telemetry path, without
/// psmonitor's figures about itself, and json log lines.
#[test]
fn node_exporter_global_flags_start_the_server() {
    let s = Server::builder()
        .args(&[
            "--web.telemetry-path=/node/metrics",
            "--web.disable-exporter-metrics",
            "--web.max-requests=40",
            "--runtime.gomaxprocs=2",
            "--log.level=info",
            "--log.format=json",
            "--no-collector.disable-defaults",
        ])
        .start();
    let text = metrics(&s, "/node/metrics");
    assert!(text.contains("node_load1 "), "{text}");
    for own in [
        "\nprocess_resident_memory_bytes ",
        "\npsmonitor_snapshots_total ",
    ] {
        assert!(!text.contains(own), "{own} still there");
    }
    assert!(metrics(&s, "/metrics").contains("node_load1 "));
    let log = s.log();
    let first = log.lines().next().unwrap_or_default();
    let line: serde_json::Value = serde_json::from_str(first).expect(first);
    assert_eq!(line["level"], "info", "{first}");
    // Without the flag, they are there.
    let s = Server::start(&[]);
    let text = metrics(&s, "/metrics");
    assert!(
        text.contains("\nprocess_resident_memory_bytes ")
            && text.contains("\npsmonitor_snapshots_total ")
    );
    assert_eq!(
        request(s.addr, "GET", "/node/metrics", &[], b"").status,
        404
    );
}

/// Command-line mistakes stop the start with one line on stderr and exit 2: a second
/// --web.listen-address or one next to --port, a telemetry path no request can name, any
/// single-valued flag given twice, a switch given a value, a port that is not 0 to 65535.
#[test]
fn command_line_mistakes_are_one_line() {
    for (args, says) in [
        (
            &["--web.listen-address=:9100", "--web.listen-address=:9101"][..],
            "given twice",
        ),
        (
            &["--web.listen-address=127.0.0.1:9100", "--port=9100"],
            "same setting",
        ),
        (&["--web.systemd-socket"], "socket activation"),
        (&["--web.telemetry-path=/a?b"], "'?' cannot be in it"),
        (&["--web.telemetry-path=/a\nb"], "'\\n' cannot be in it"),
        (
            &["--web.telemetry-path=/health"],
            "serves that path already",
        ),
        (
            &["--log.level", "debug", "--log.level", "info"],
            "--log.level given twice",
        ),
        (
            &["--interval=500", "--interval=500"],
            "--interval given twice",
        ),
        (
            &["--collector.zfs", "--no-collector.zfs"],
            "--collector.zfs given twice",
        ),
        (
            &["--no-collector.arp.netlink=false"],
            "--no-collector.arp.netlink takes no value",
        ),
        (
            &["--collector.netdev.device-exclude", "--no-collector.wifi"],
            "--collector.netdev.device-exclude needs a value (see --help), not the flag --no-collector.wifi",
        ),
        (
            &["--collector.systemd.unit-include", "--port", "0"],
            "--collector.systemd.unit-include needs a value (see --help), not the flag --port",
        ),
        (
            &["--collector.cpuu"],
            "unknown collector 'cpuu' in --collector.cpuu: did you mean --collector.cpu?",
        ),
        (
            &["--web.listen-address", ":+80"],
            "is not a number 0 to 65535",
        ),
        (
            &["--web.listen-address", "127.0.0.1:"],
            "is not a number 0 to 65535",
        ),
    ] {
        let args: Vec<String> = args.iter().map(|a| a.replace("\\n", "\n")).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = common::run_cli(&args, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// As node_exporter: a textfile directory that does not exist (yet) starts the server with a
/// warning, and the textfile collector reports its scrape error; so does a missing udev
/// database (udev properties are just empty).
#[test]
fn missing_textfile_directory_starts_with_a_warning() {
    let s = Server::start(&[
        "--collector.textfile.directory=/nonexistent/psmonitor-textfile",
        "--path.udev.data=/nonexistent/psmonitor-udev",
    ]);
    let text = metrics(&s, "/metrics");
    assert!(text.contains("\nnode_textfile_scrape_error 1\n"), "{text}");
    let log = s.log();
    assert!(
        log.contains("WARN  [psmonitor] --collector.textfile.directory '/nonexistent/psmonitor-textfile' does not exist"),
        "{log}"
    );
    assert!(
        log.contains("--path.udev.data '/nonexistent/psmonitor-udev'"),
        "{log}"
    );
}

/// `--web.listen-address` as node_exporter's units write it: the server listens there.
#[test]
fn web_listen_address_is_where_it_listens() {
    let port = common::free_port();
    let s = Server::builder()
        .web_listen_address(&format!("127.0.0.1:{port}"))
        .start();
    assert_eq!(s.addr.port(), port);
    assert!(metrics(&s, "/metrics").contains("node_load1 "));
}

/// A node_exporter unit's command line naming collectors psmonitor lacks starts it and serves
/// /metrics: `--no-collector.wifi` says nothing, `--collector.systemd` and its flags are one
/// warning line, said once.
#[test]
fn collectors_psmonitor_lacks_do_not_stop_the_start() {
    let port = common::free_port();
    let s = Server::builder()
        .web_listen_address(&format!("127.0.0.1:{port}"))
        .args(&[
            "--no-collector.wifi",
            "--collector.systemd",
            "--collector.systemd.unit-include=x",
            "--collector.systemd.enable-restarts-metrics",
            "--collector.ntp.server",
            "127.0.0.1",
            "--collector.sysctl.include=vm.swappiness",
            "--collector.sysctl.include=kernel.pid_max",
        ])
        .start();
    let text = metrics(&s, "/metrics");
    assert!(text.contains("node_load1 "), "{text}");
    assert!(!text.contains("node_systemd_"), "{text}");
    let log = s.log();
    let warned: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("not provided by psmonitor"))
        .collect();
    assert_eq!(warned.len(), 1, "{log}");
    for said in [
        "WARN ",
        "ntp (--collector.ntp.server=127.0.0.1)",
        "sysctl (--collector.sysctl.include=vm.swappiness --collector.sysctl.include=kernel.pid_max)",
        "systemd (--collector.systemd --collector.systemd.unit-include=x --collector.systemd.enable-restarts-metrics)",
    ] {
        assert!(warned[0].contains(said), "{said}: {}", warned[0]);
    }
    assert!(!log.contains("wifi"), "{log}");
}

/// A word that is not UTF-8 stops the start in one line, exit 2, wherever it stands: first
/// (once taken for a subcommand and dropped: the server started without its token), after
/// other flags, as a separate value, or in the environment variable behind a flag.
#[test]
fn words_that_are_not_utf8_are_refused() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let raw = |b: &[u8]| OsString::from_vec(b.to_vec());
    let none: &[(&str, OsString)] = &[];
    for (args, env) in [
        (
            vec![raw(b"--token-file=/x\xff"), "--port".into(), "0".into()],
            none,
        ),
        (
            vec!["--port".into(), "0".into(), raw(b"--path.procfs=/proc\xff")],
            none,
        ),
        (vec!["--token-file".into(), raw(b"/x\xff")], none),
        (
            vec!["--port".into(), "0".into()],
            &[("PSMONITOR_TOKEN_FILE", raw(b"/x\xff"))][..],
        ),
    ] {
        // A stray word last: without the check, a mistake too (not a server left running).
        let args = [&args[..], &["stray".into()]].concat();
        let out = common::run_cli_os(&args, env);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("\\xff' is not valid UTF-8"), "{args:?}: {err}");
    }
}
