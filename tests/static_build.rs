//! `scripts/build-static.sh` builds a static binary, and that binary really serves.
//!
//! The script is `scripts/release --binary amd64` (musl, std built from source): about 5 minutes
//! from cold on 2 cores, seconds when warm; `scripts/release` in CI then finds it built. It
//! builds in `target/release-build`, not the `target/` that `cargo test` holds (a nested cargo
//! there could wait on its build-directory lock); the copy goes to `CARGO_TARGET_DIR`.

mod common;
use common::Server;
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn static_build_is_static_and_serves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target_dir = root.join("target").join("static-build");

    // From another directory: the script must not depend on its cwd.
    let out = Command::new("bash")
        .arg(root.join("scripts").join("build-static.sh"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/build-static.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "build-static.sh failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let bin = target_dir.join("psmonitor-static");
    assert!(
        stdout.contains(&format!("static binary: {}", bin.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("static-pie linked") || stdout.contains("statically linked"),
        "{stdout}"
    );
    let size: u64 = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("size: ")?
                .strip_suffix(" bytes")?
                .parse()
                .ok()
        })
        .expect("size line");
    assert_eq!(size, std::fs::metadata(&bin).unwrap().len());

    // Run it, in the harness's environment: no `PSMONITOR_*` settings (a token from the
    // environment would make `/system` answer 401), `RUST_LOG` or `NOTIFY_SOCKET`.
    let mut server = Server::builder()
        .bin(&bin)
        .args(&["--address", "127.0.0.1", "--log-level", "info"])
        .start();
    assert_eq!(server.addr.ip(), std::net::Ipv4Addr::LOCALHOST);
    assert_ne!(server.addr.port(), 0);

    // 503 "no snapshot yet" is allowed only in the first moments.
    let r = server.first_answer("/system");
    let text = r.text();
    assert_eq!(r.status, 200, "GET /system: {text}");
    assert!(text.contains("\"cpu\""), "{text}");
    assert!(r.json()["cpu"].is_object(), "{text}");

    // SIGTERM: a clean stop with exit code 0, as under systemd or supervisor.
    server.signal(libc::SIGTERM);
    let exit = server.wait_exit(5).expect("an exit within 5 s of SIGTERM");
    assert!(exit.success(), "exit after SIGTERM: {exit}");
}
