//! Test harness: runs the real binary on `--port 0` and talks to it over real sockets.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running server; killed on drop. Its stderr is collected in `log`.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `psmonitor --port 0 ARGS...` and waits for its `listening on` line.
    pub fn start(args: &[&str]) -> Server {
        Self::start_env(args, &[])
    }

    pub fn start_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_psmonitor"));
        cmd.arg("--port").arg("0").args(args);
        cmd.env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start psmonitor");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Log first, so a test that reads the log after start-up sees this line.
                {
                    let mut l = sink.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
                if let Some(i) = line.find("listening on http://") {
                    let rest = &line[i + "listening on http://".len()..];
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("server printed its listening line");
        Server {
            child,
            addr: addr.parse().expect("listening address parses"),
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `GET path` and the parsed JSON body.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let r = request(self.addr, "GET", path, &[], b"");
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        serde_json::from_slice(&r.body).expect("JSON body")
    }

    /// `POST /` and the worker id.
    pub fn worker(&self) -> String {
        let r = request(self.addr, "POST", "/", &[], b"");
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        v["id"].as_str().unwrap().to_owned()
    }

    /// The `clients` count from `/health`.
    pub fn clients(&self) -> u64 {
        let r = request(self.addr, "GET", "/health", &[], b"");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        v["clients"].as_u64().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw HTTP/1.1 response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// Like [`request`], but `None` when the peer is not (yet) answering HTTP.
pub fn try_request(addr: SocketAddr, method: &str, path: &str) -> Option<Resp> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    // HTTP/1.0: no chunked encoding to undo.
    let head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    s.write_all(head.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    raw.windows(4)
        .any(|w| w == b"\r\n\r\n")
        .then(|| parse_response(&raw))
}

/// Sends one request with `Connection: close` and reads the whole response.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw)
}

pub fn parse_response(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response has a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Resp {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Polls `f` every 20 ms until it returns true or `secs` pass.
pub fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Makes sure `tool` is on PATH, installing Debian package `package` if it is missing and we
/// are root with apt (as on CI and the dev machines), so `cargo test` alone sets everything up.
/// Panics with the install command otherwise: a missing tool fails a test, never skips it.
pub fn ensure_tool(tool: &str, package: &str) {
    let present = || {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if present() {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        // Several test binaries may get here at once: wait for dpkg's lock instead of failing.
        let script = format!(
            "export DEBIAN_FRONTEND=noninteractive; apt-get -o DPkg::Lock::Timeout=300 update -qq && \
             apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends {package}"
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdout(Stdio::null())
            .status();
    }
    assert!(
        present(),
        "this test needs `{tool}`: apt-get install -y {package}"
    );
}

/// Makes sure python3 can import `modules`, installing `packages` with pip if not.
pub fn ensure_python(modules: &str, packages: &[&str]) {
    let check = || {
        Command::new("python3")
            .args(["-c", &format!("import {modules}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if check() {
        return;
    }
    // Debian's own python3 refuses plain pip installs (PEP 668); retry as it suggests.
    for extra in [&[][..], &["--break-system-packages"][..]] {
        let _ = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(extra)
            .args(packages)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if check() {
            return;
        }
    }
    assert!(
        check(),
        "this test needs python3 with {packages:?}: python3 -m pip install {}",
        packages.join(" ")
    );
}

/// The server process as the kernel sees it, for tests that check it stays bounded.
impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A numeric field of `/proc/PID/status` (`Threads`, `VmRSS`, `VmHWM` in kB, ...).
    pub fn status_field(&self, key: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the server process is running");
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("/proc/{}/status has no {key}", self.pid()))
    }

    /// Threads of the server process.
    pub fn threads(&self) -> u64 {
        self.status_field("Threads")
    }

    /// Resident memory of the server process, in kB.
    pub fn rss_kb(&self) -> u64 {
        self.status_field("VmRSS")
    }
}
