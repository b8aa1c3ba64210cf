//! `scripts/build-static.sh` builds a static binary, and that binary really serves.
//!
//! The script runs cargo, which takes about a minute. It builds into its own target directory
//! (`target/static-build`): a nested cargo on the `target/` that `cargo test` holds could wait
//! on its build-directory lock.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the server if the test fails before it is stopped cleanly.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` over HTTP/1.1 with `Connection: close`: the status and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response has a header block");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let mut body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size_text = size_text.split(';').next().unwrap().trim();
        let size = usize::from_str_radix(size_text, 16).expect("hex chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}

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

    // Run it. Flags beat the environment, and a token from the environment would make
    // `/system` answer 401, so clear what could change the outcome.
    let mut cmd = Command::new(&bin);
    cmd.args([
        "--address",
        "127.0.0.1",
        "--port",
        "0",
        "--log-level",
        "info",
    ]);
    for var in [
        "PSMONITOR_TOKEN",
        "PSMONITOR_TOKEN_FILE",
        "PSMONITOR_LOG_LEVEL",
        "RUST_LOG",
        "NOTIFY_SOCKET",
    ] {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the static binary");
    let stderr = child.stderr.take().unwrap();
    let mut server = Guard(child);

    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(i) = line.find("listening on http://127.0.0.1:") {
                let rest = &line[i + "listening on http://127.0.0.1:".len()..];
                let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if let Some(tx) = tx.take() {
                    let _ = tx.send(port);
                }
            }
        }
    });
    let port: u16 = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the static binary printed `listening on http://127.0.0.1:PORT` on stderr")
        .parse()
        .expect("a port number");
    assert_ne!(port, 0);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    // 503 "no snapshot yet" is allowed only in the first moments.
    let end = Instant::now() + Duration::from_secs(10);
    let (status, body) = loop {
        let (status, body) = get(addr, "/system");
        if status != 503 || Instant::now() > end {
            break (status, body);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "GET /system: {text}");
    assert!(text.contains("\"cpu\""), "{text}");
    let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON body");
    assert!(v["cpu"].is_object(), "{text}");

    // SIGTERM: a clean stop with exit code 0, as under systemd or supervisor.
    let pid = server.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let end = Instant::now() + Duration::from_secs(5);
    let exit = loop {
        if let Some(s) = server.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "no exit within 5 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "exit after SIGTERM: {exit}");
}
