//! Test harness: runs the real binary and talks to it over real sockets.
//!
//! - [`Server::builder`] (shorthand [`Server::start`]) is the one way a test starts a server:
//!   a free port (or a fixed one), extra arguments and environment, another binary, a lowered
//!   open-file limit. [`run_cli`] is for commands that exit at once (`--help`, `snapshot`, ...).
//! - [`request`] and [`try_request`] are the HTTP client ([`assert_bad_parameter`] checks a
//!   refused query); [`read_response`],
//!   [`read_responses`] and [`read_until_closed`] read raw responses off a socket, with a guard
//!   timeout; [`parse_one`] and [`responses`] are the one response parser (Content-Length,
//!   chunked, or the end of the connection); [`gunzip`] reads a gzipped body.
//! - [`ws_connect`], [`Server::session`] open websocket sessions.
#![allow(dead_code)]

pub mod tls;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// How long a server may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// The same under an emulator ([`Builder::runner`]): issue 17 allows an ARM binary 60 s.
const EMULATED_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`request`] and [`try_request`] wait for a whole response.
const RESPONSE_GUARD: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Starting the binary

/// The binary under test: cargo's build of it, or the file `PSMONITOR_TEST_BIN` names (CI runs
/// `tests/tls.rs` so against the amd64 release binary that `scripts/release` built).
pub fn default_bin() -> PathBuf {
    match std::env::var_os("PSMONITOR_TEST_BIN") {
        Some(bin) => {
            let bin = PathBuf::from(bin);
            assert!(
                bin.is_file(),
                "PSMONITOR_TEST_BIN={}: no such file",
                bin.display()
            );
            bin
        }
        None => PathBuf::from(env!("CARGO_BIN_EXE_psmonitor")),
    }
}

/// `bin` with an environment that cannot change a test's outcome: no `PSMONITOR_*` setting,
/// `RUST_LOG` or `NOTIFY_SOCKET` inherited from the environment the tests run in.
fn psmonitor_command(bin: &OsStr) -> Command {
    let mut cmd = Command::new(bin);
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("PSMONITOR_") || name == "RUST_LOG" || name == "NOTIFY_SOCKET" {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// Runs `psmonitor ARGS...` with `env` added, for a command that exits at once (`--help`,
/// `--version`, `snapshot`, a mistake in the arguments), and returns its status and output.
/// A server is started with [`Server::builder`].
pub fn run_cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    run_cli_os(args, env)
}

/// [`run_cli`] with words and environment values that need not be UTF-8.
pub fn run_cli_os<A: AsRef<OsStr>, V: AsRef<OsStr>>(args: &[A], env: &[(&str, V)]) -> Output {
    psmonitor_command(default_bin().as_ref())
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v.as_ref())))
        .output()
        .expect("run psmonitor")
}

/// How to start a server: see [`Server::builder`].
#[must_use]
pub struct Builder {
    runner: Option<PathBuf>,
    bin: PathBuf,
    port: u16,
    args: Vec<String>,
    env: Vec<(String, String)>,
    nofile: Option<libc::rlim_t>,
    cgroup: Option<PathBuf>,
    listen: Option<String>,
}

impl Builder {
    /// Runs the server in the cgroup directory `dir` (its `cgroup.procs`, written by the
    /// child before it runs psmonitor), e.g. one with a memory limit.
    pub fn cgroup(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cgroup = Some(dir.into());
        self
    }

    /// Runs another build of psmonitor (by default, the one `cargo test` built).
    pub fn bin(mut self, path: impl Into<PathBuf>) -> Self {
        self.bin = path.into();
        self
    }

    /// Runs the binary through `runner` (e.g. `qemu-aarch64-static` for an ARM build), which
    /// passes the arguments on and the signals through; the start-up may take 60 s then.
    pub fn runner(mut self, runner: impl Into<PathBuf>) -> Self {
        self.runner = Some(runner.into());
        self
    }

    /// Listens on `port` (by default 0: a free port), e.g. to restart on the port of a server
    /// that was stopped; see [`Builder::try_start`].
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Listens as node_exporter's `--web.listen-address ADDR` says, given instead of
    /// `--port PORT` (the two do not go together).
    pub fn web_listen_address(mut self, addr: &str) -> Self {
        self.listen = Some(addr.to_owned());
        self
    }

    /// Adds command-line arguments (they follow `--port PORT`).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Sets an environment variable for the server.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs the server with `RLIMIT_NOFILE` lowered to `n`, soft and hard: the server raises
    /// its soft limit to the hard one at start, so a lower soft limit alone would not hold.
    pub fn rlimit_nofile(mut self, n: libc::rlim_t) -> Self {
        self.nofile = Some(n);
        self
    }

    /// Starts the server and waits for its `listening on` line; panics if it does not start.
    pub fn start(self) -> Server {
        self.try_start().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the server and waits for its `listening on` line. `Err` if it cannot be spawned,
    /// exits first (e.g. its port is taken: [`StartError::code`] is then 1), or prints no
    /// listening line within 20 s (it is killed then).
    pub fn try_start(self) -> Result<Server, StartError> {
        let (port_flag, port) = match &self.listen {
            Some(a) => ("--web.listen-address", a.clone()),
            None => ("--port", self.port.to_string()),
        };
        let mut command = format!("{} {port_flag} {port}", self.bin.display());
        if let Some(r) = &self.runner {
            command = format!("{} {command}", r.display());
        }
        let start_timeout = match self.runner {
            Some(_) => EMULATED_START_TIMEOUT,
            None => START_TIMEOUT,
        };
        for a in &self.args {
            command.push(' ');
            command.push_str(a);
        }
        let fail = |status, reason: String, log: String| StartError {
            command: command.clone(),
            status,
            reason,
            log,
        };
        let mut cmd = match &self.runner {
            Some(r) => {
                let mut cmd = psmonitor_command(r.as_os_str());
                cmd.arg(&self.bin);
                cmd
            }
            None => psmonitor_command(self.bin.as_os_str()),
        };
        cmd.arg(port_flag)
            .arg(&port)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(n) = self.nofile {
            let lim = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            // SAFETY: the closure runs in the forked child before exec; it allocates nothing
            // and only calls setrlimit(2), which is async-signal-safe, on a struct it owns.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        if let Some(dir) = &self.cgroup {
            use std::os::unix::ffi::OsStrExt;
            let path = std::ffi::CString::new(dir.join("cgroup.procs").as_os_str().as_bytes())
                .expect("a path without NUL");
            // SAFETY: runs in the forked child before exec; open/write/close are
            // async-signal-safe and use only the CString built before the fork.
            unsafe {
                cmd.pre_exec(move || {
                    let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
                    if fd < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    let ok = libc::write(fd, b"0\n".as_ptr().cast(), 2) == 2;
                    libc::close(fd);
                    if ok {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| fail(None, format!("cannot spawn it: {e}"), String::new()))?;
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
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
                let scheme = ["listening on http://", "listening on https://"]
                    .into_iter()
                    .find_map(|s| line.find(s).map(|i| i + s.len()));
                if let Some(i) = scheme {
                    let rest = &line[i..];
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
            }
            // End of stderr: the server exited; dropping `tx` tells the waiting test.
        });
        let log_text = |log: &Arc<Mutex<String>>| log.lock().unwrap().clone();
        let kill = |child: &mut Child| {
            let _ = child.kill();
            let _ = child.wait();
        };
        match rx.recv_timeout(start_timeout) {
            Ok(addr) => match addr.parse() {
                Ok(addr) => Ok(Server { child, addr, log }),
                Err(e) => {
                    kill(&mut child);
                    Err(fail(
                        None,
                        format!("bad listening address {addr:?}: {e}"),
                        log_text(&log),
                    ))
                }
            },
            Err(RecvTimeoutError::Disconnected) => {
                let status = child.wait().ok();
                let reason = match status {
                    Some(s) => format!("it exited ({s}) before listening"),
                    None => "it exited before listening".to_owned(),
                };
                Err(fail(status, reason, log_text(&log)))
            }
            Err(RecvTimeoutError::Timeout) => {
                kill(&mut child);
                Err(fail(
                    None,
                    format!("no listening line within {start_timeout:?}"),
                    log_text(&log),
                ))
            }
        }
    }
}

/// Why [`Builder::try_start`] has no server to give.
#[derive(Debug)]
pub struct StartError {
    /// The command line.
    pub command: String,
    /// How it exited, if it exited by itself before listening.
    pub status: Option<ExitStatus>,
    /// What went wrong, in words.
    pub reason: String,
    /// What it wrote on stderr.
    pub log: String,
}

impl StartError {
    /// The exit code, if it exited by itself before listening.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` did not start: {}; its stderr:\n{}",
            self.command, self.reason, self.log
        )
    }
}

/// A running server; killed on drop. Its stderr is collected in `log`.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    /// A server to start: `Server::builder().args(&[..]).env(k, v).port(p).rlimit_nofile(n)`,
    /// then `.start()` or `.try_start()`. It runs `psmonitor --port 0 ARGS...` unless told
    /// otherwise.
    pub fn builder() -> Builder {
        Builder {
            runner: None,
            bin: default_bin(),
            port: 0,
            args: Vec::new(),
            env: Vec::new(),
            nofile: None,
            cgroup: None,
            listen: None,
        }
    }

    /// Starts `psmonitor --port 0 ARGS...` and waits for its `listening on` line.
    pub fn start(args: &[&str]) -> Server {
        Self::builder().args(args).start()
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

    /// `GET path` until it answers anything but a 503 (no snapshot yet, just after start-up),
    /// for at most 10 s; the last answer.
    pub fn first_answer(&self, path: &str) -> Resp {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let r = request(self.addr, "GET", path, &[], b"");
            if r.status != 503 || Instant::now() >= end {
                return r;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
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

    /// Snapshots the sampler has taken (`ticks` of `/health`, which needs no token).
    pub fn ticks(&self) -> u64 {
        request(self.addr, "GET", "/health", &[], b"").json()["ticks"]
            .as_u64()
            .expect("ticks in /health")
    }

    /// Waits (up to 60 s, then panics) until the sampler has taken `n` more snapshots: the
    /// event to wait for instead of sleeping for "n intervals".
    pub fn wait_ticks(&self, n: u64) {
        let start = self.ticks();
        assert!(
            wait_until(60, || self.ticks() >= start + n),
            "{n} more ticks after {start}"
        );
    }

    /// The `psmonitor_workers_pending` gauge from `/metrics`: workers not yet claimed.
    pub fn pending_workers(&self) -> f64 {
        request(self.addr, "GET", "/metrics", &[], b"")
            .text()
            .lines()
            .find_map(|l| l.strip_prefix("psmonitor_workers_pending "))
            .and_then(|v| v.trim().parse().ok())
            .expect("psmonitor_workers_pending in /metrics")
    }

    /// A websocket on `path` (e.g. `/connect?id=...`).
    pub fn ws(&self, path: &str) -> Ws {
        ws_connect(self.addr, path)
    }

    /// A new worker and its websocket on `/connect?id=ID`; the greeting is still to be read.
    pub fn session(&self) -> Ws {
        let id = self.worker();
        self.ws(&format!("/connect?id={id}"))
    }

    /// Sends signal `sig` (`libc::SIGTERM`, ...) to the server.
    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on the pid of our own child; no memory is involved.
        let rc = unsafe { libc::kill(self.pid() as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits up to `secs` for the server to exit by itself; its exit status, `None` if it is
    /// still running.
    pub fn wait_exit(&mut self, secs: u64) -> Option<ExitStatus> {
        let mut status = None;
        wait_until(secs, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

/// A free TCP port on 127.0.0.1 (free when asked: the listener is closed again).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A connection to `addr` from the loopback address `from` (`127.0.0.2`, `127.0.0.3`: all of
/// 127/8 is loopback), so one machine can play several peers.
pub fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    connect_with(addr, Some(from), None)
}

/// A connection to `addr`, bound first to the loopback address `from` if given, with a
/// receive buffer of `rcvbuf` bytes set before the handshake if given (so the window the
/// server sees is small from the start and never opens up while nothing is read).
pub fn connect_with(
    addr: SocketAddr,
    from: Option<&str>,
    rcvbuf: Option<libc::c_int>,
) -> TcpStream {
    use std::os::fd::FromRawFd;
    let std::net::IpAddr::V4(dst) = addr.ip() else {
        panic!("the test server listens on IPv4 loopback");
    };
    let sockaddr = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor we own; the option and sockaddr_in values
    // live across each call and the sizes passed are theirs.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let stream = TcpStream::from_raw_fd(fd);
        if let Some(size) = rcvbuf {
            let rc = libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
            assert_eq!(rc, 0, "setsockopt SO_RCVBUF");
        }
        if let Some(from) = from {
            let src: std::net::Ipv4Addr = from.parse().expect("an IPv4 address");
            let local = sockaddr(src, 0);
            let rc = libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len);
            assert_eq!(rc, 0, "bind {from}: {}", std::io::Error::last_os_error());
        }
        let remote = sockaddr(dst, addr.port());
        let rc = libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len);
        assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
        stream
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

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

/// Sends one request with `Connection: close` and reads the whole response (panics if none
/// arrives within 10 s).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    // `Host: addr` unless the caller gives its own.
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // A server that refuses the body early may close before it is all written.
    let _ = s.write_all(body);
    read_response(&mut s, RESPONSE_GUARD)
        .unwrap_or_else(|| panic!("{method} {path}: no whole response within {RESPONSE_GUARD:?}"))
}

/// `GET path` must be refused with `400` naming the query parameter `parameter`; the body.
pub fn assert_bad_parameter(addr: SocketAddr, path: &str, parameter: &str) -> serde_json::Value {
    let r = request(addr, "GET", path, &[], b"");
    assert_eq!(r.status, 400, "{path}: {}", r.text());
    let body = r.json();
    assert_eq!(body["parameter"], parameter, "{path}");
    body
}

/// An HTTP/1.0 request like [`request`]'s, but `None` when the peer does not answer (yet).
pub fn try_request(addr: SocketAddr, method: &str, path: &str) -> Option<Resp> {
    let mut s = TcpStream::connect(addr).ok()?;
    let head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    s.write_all(head.as_bytes()).ok()?;
    read_response(&mut s, RESPONSE_GUARD)
}

/// Reads what the peer sends until `enough(received so far)` holds, the peer ends the
/// connection (end of stream or an error such as a reset), or `guard` passes. Returns the
/// bytes and whether the connection ended. Every read is bounded by the guard whatever the
/// socket's read timeout; that timeout is restored afterwards.
pub fn read_until(
    s: &mut TcpStream,
    guard: Duration,
    mut enough: impl FnMut(&[u8]) -> bool,
) -> (Vec<u8>, bool) {
    let before = s.read_timeout().ok().flatten();
    let end = Instant::now() + guard;
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let closed = loop {
        if enough(&out) {
            break false;
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break false;
        }
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => break true,
        }
    };
    let _ = s.set_read_timeout(before);
    (out, closed)
}

/// Reads until the peer ends the connection or `guard` passes: the bytes, and whether the
/// connection ended.
pub fn read_until_closed(s: &mut TcpStream, guard: Duration) -> (Vec<u8>, bool) {
    read_until(s, guard, |_| false)
}

/// Reads until `n` whole responses have arrived (or the connection ends, or `guard` passes);
/// every whole response received, in order.
pub fn read_responses(s: &mut TcpStream, n: usize, guard: Duration) -> Vec<Resp> {
    let (raw, closed) = read_until(s, guard, |raw| parse_all(raw, false).len() >= n);
    parse_all(&raw, closed)
}

/// Reads until one whole response has arrived (or the connection ends, or `guard` passes).
pub fn read_response(s: &mut TcpStream, guard: Duration) -> Option<Resp> {
    read_responses(s, 1, guard).into_iter().next()
}

/// Every whole response in `raw`, all that was received on a connection, in order.
pub fn responses(raw: &[u8]) -> Vec<Resp> {
    parse_all(raw, true)
}

fn parse_all(raw: &[u8], ended: bool) -> Vec<Resp> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let Some((r, used)) = parse_one(&raw[at..], ended) else {
            break;
        };
        out.push(r);
        at += used;
    }
    out
}

/// Parses the response at the start of `raw` and says how many bytes it took; `None` until
/// it is whole. Its body is framed by Content-Length, chunked encoding, nothing (1xx, 204,
/// 304), or else the end of the connection: whole only once `ended`.
pub fn parse_one(raw: &[u8], ended: bool) -> Option<(Resp, usize)> {
    let split = find(raw, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut r = Resp {
        status,
        headers,
        body: Vec::new(),
    };
    let start = split + 4;
    let chunked = r
        .header("Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let used = if chunked {
        let mut at = start;
        loop {
            let eol = find(&raw[at..], b"\r\n")? + at;
            let size_text = String::from_utf8_lossy(&raw[at..eol]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            at = eol + 2;
            if size == 0 {
                // Trailer fields, if any, up to an empty line.
                loop {
                    let eol = find(&raw[at..], b"\r\n")? + at;
                    let empty = eol == at;
                    at = eol + 2;
                    if empty {
                        break;
                    }
                }
                break at;
            }
            if raw.len() < at + size + 2 {
                return None;
            }
            r.body.extend_from_slice(&raw[at..at + size]);
            at += size + 2;
        }
    } else if let Some(len) = r
        .header("Content-Length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        if raw.len() < start + len {
            return None;
        }
        r.body = raw[start..start + len].to_vec();
        start + len
    } else if status < 200 || status == 204 || status == 304 {
        start
    } else if ended {
        r.body = raw[start..].to_vec();
        raw.len()
    } else {
        return None;
    };
    Some((r, used))
}

/// The text inside a gzip body (`Content-Encoding: gzip`); panics if it is not gzip.
pub fn gunzip(body: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut out)
        .expect("a gzip body");
    out
}

/// Where `needle` first starts in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// Websocket

pub type Ws = WebSocket<TcpStream>;

/// The websocket handshake for `path` over `tcp`, a fresh connection to the server; asserts
/// the 101. The socket is left with a 10 s read timeout.
pub fn ws_handshake(tcp: TcpStream, path: &str) -> Ws {
    let addr = tcp.peer_addr().expect("a connected socket");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (ws, resp) =
        tungstenite::client(format!("ws://{addr}{path}"), tcp).expect("websocket handshake");
    assert_eq!(resp.status(), 101);
    ws
}

/// A websocket on `path` over a new connection to `addr` (10 s read timeout).
pub fn ws_connect(addr: SocketAddr, path: &str) -> Ws {
    ws_handshake(TcpStream::connect(addr).expect("connect"), path)
}

/// Reads until the server's close frame and returns its code and reason; panics if the
/// connection ends without one, or the frame has no code.
pub fn close_of(ws: &mut Ws) -> (CloseCode, String) {
    loop {
        match ws.read() {
            Ok(Message::Close(Some(f))) => return (f.code, f.reason.as_str().to_owned()),
            Ok(Message::Close(None)) => panic!("close without a code"),
            Ok(_) => continue,
            Err(e) => panic!("connection ended without a close frame: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Prometheus

/// A real Prometheus (Debian's package, installed if missing) scraping one job every second;
/// killed, and its directory removed, on drop.
pub struct Prometheus {
    child: Child,
    dir: PathBuf,
    pub addr: SocketAddr,
}

impl Prometheus {
    /// Starts Prometheus with one scrape job: `job` is the YAML of the job's body after
    /// `job_name` (e.g. `static_configs: [...]`), each line indented by 4 spaces. Files the
    /// job names may be put in [`Prometheus::dir_for`]'s directory first.
    pub fn start(name: &str, job: &str) -> Prometheus {
        ensure_tool("prometheus", "prometheus");
        let dir = Self::dir_for(name);
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: psmonitor\n{job}"
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        Prometheus { child, dir, addr }
    }

    /// The scratch directory of a Prometheus named `name` (created).
    pub fn dir_for(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("psm-prom-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The result vector of an instant query (empty until Prometheus answers).
    pub fn query(&self, q: &str) -> Vec<serde_json::Value> {
        let q: String = q
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let path = format!("/api/v1/query?query={q}");
        let Some(r) = try_request(self.addr, "GET", &path).filter(|r| r.status == 200) else {
            return Vec::new();
        };
        r.json()["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits up to `secs` for the target to be `up == 1`.
    pub fn up(&self, secs: u64) -> bool {
        wait_until(secs, || {
            self.query("up")
                .first()
                .is_some_and(|r| r["value"][1] == "1")
        })
    }

    /// Why the last scrape failed, from the targets API.
    pub fn last_error(&self) -> String {
        try_request(self.addr, "GET", "/api/v1/targets")
            .filter(|r| r.status == 200)
            .and_then(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
            .map(|v| v["data"]["activeTargets"][0]["lastError"].to_string())
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------------
// Waiting and outside tools

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
    // Tests of one binary run at once: one installs while the others wait for it (apt-get
    // update does not wait for another's lock, it fails), then finds the tool there.
    static APT: Mutex<()> = Mutex::new(());
    let _one_at_a_time = APT.lock().unwrap_or_else(|e| e.into_inner());
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

/// Runs `promtool check metrics` on an exposition and fails on anything but the lints
/// node_exporter's own output gets (the caller runs [`ensure_tool`] for promtool first).
pub fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Exit 3 means lint warnings only. The lints allowed are those node_exporter's own output
    // gets for the same names, which dashboards query by exactly those names: camelCase in
    // `node_memory_*` and `node_vmstat_*`-style kernel field names, and "bits" as the unit of
    // `node_entropy_*_bits`.
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "promtool failed: {report}"
    );
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        let camel = line.starts_with("node_") && line.contains("camelCase");
        let bits = line.starts_with("node_entropy_") && line.contains("instead of \"bits\"");
        assert!(camel || bits, "unexpected promtool finding: {line}");
    }
}
