//! A headless Chromium driven over the DevTools protocol, and small helpers for the tests.

use crate::common::{self, Server};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

/// Where the test writes its screenshots.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Chromium: `$CHROMIUM`, or Debian's package (installed if missing and we may; a missing
/// browser fails the test with the install command, it never skips it).
pub fn chromium_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(p);
    }
    common::ensure_tool("chromium", "chromium");
    PathBuf::from("chromium")
}

/// The single-host view's connection state (`live`, `reconnecting`, ...).
pub const STATE: &str = "document.getElementById('conn-state')?.textContent.trim() ?? null";

/// A headless Chromium and a DevTools session attached to one page; killed on drop.
/// DevTools errors that mean the page is between two documents, not that a command is wrong.
const NAVIGATING: [&str; 3] = [
    "Inspected target navigated or closed",
    "Execution context was destroyed",
    "Cannot find context with specified id",
];

pub struct Chrome {
    child: Child,
    profile: PathBuf,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: String,
    /// Page URLs requested (`Network.requestWillBeSent`) and websockets opened.
    pub requests: Vec<String>,
    /// Uncaught exceptions and unhandled rejections in the page.
    pub exceptions: Vec<String>,
    /// Inside [`Chrome::wait`]'s check: a command that meets a navigation answers null.
    waiting: bool,
}

impl Chrome {
    /// Chromium showing `url` in a 1280×800 viewport.
    pub fn open(url: &str) -> Chrome {
        let mut chrome = Chrome::launch();
        chrome.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
        );
        chrome.call("Page.navigate", json!({"url": url}));
        chrome
    }

    pub fn launch() -> Chrome {
        Chrome::launch_with(&[])
    }

    /// [`Chrome::launch`] with extra command-line switches.
    pub fn launch_with(extra: &[&str]) -> Chrome {
        let exe = chromium_path();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let profile =
            std::env::temp_dir().join(format!("psmonitor-dash-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&profile).expect("create the Chromium profile directory");
        let mut child = Command::new(&exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
            ])
            .args(extra)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut seen = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("DevTools listening on ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(Ok(line[i + "DevTools listening on ".len()..]
                            .trim()
                            .to_owned()));
                    }
                } else if tx.is_some() {
                    seen.push_str(&line);
                    seen.push('\n');
                }
            }
            if let Some(tx) = tx.take() {
                let _ = tx.send(Err(seen));
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(url)) => url,
            other => {
                kill_group(&mut child);
                panic!("Chromium did not print its DevTools address: {other:?}");
            }
        };
        let hostport = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let stream = TcpStream::connect(&hostport).expect("connect to the DevTools port");
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("DevTools handshake");
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut chrome = Chrome {
            child,
            profile,
            ws,
            next_id: 0,
            session: String::new(),
            requests: Vec::new(),
            exceptions: Vec::new(),
            waiting: false,
        };
        let target = chrome.call_on("", "Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("targetId").to_owned();
        let attached = chrome.call_on(
            "",
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        chrome.session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_owned();
        for m in ["Page.enable", "Runtime.enable", "Network.enable"] {
            chrome.call(m, json!({}));
        }
        chrome
    }

    /// Reads one message if one arrives within the read timeout; keeps the events we need.
    pub fn pump(&mut self) -> Option<Value> {
        let msg = match self.ws.read() {
            Ok(Message::Text(t)) => t,
            Ok(_) => return None,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None
            }
            Err(e) => panic!("DevTools connection failed: {e}"),
        };
        let v: Value = serde_json::from_str(msg.as_str()).expect("DevTools sends JSON");
        match v["method"].as_str() {
            Some("Network.requestWillBeSent") => {
                let url = v["params"]["request"]["url"].as_str().unwrap_or("?");
                self.requests.push(url.to_owned());
            }
            Some("Network.webSocketCreated") => {
                let url = v["params"]["url"].as_str().unwrap_or("?");
                self.requests.push(url.to_owned());
            }
            Some("Runtime.exceptionThrown") => {
                let d = &v["params"]["exceptionDetails"];
                let what = d["exception"]["description"]
                    .as_str()
                    .or(d["text"].as_str())
                    .unwrap_or("?");
                self.exceptions.push(format!(
                    "{what} ({}:{})",
                    d["url"].as_str().unwrap_or("?"),
                    d["lineNumber"]
                ));
            }
            _ => {}
        }
        Some(v)
    }

    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call_on(&session, method, params)
    }

    /// Sends a command (to the page session, or to the browser when `session` is empty) and
    /// waits for its answer.
    pub fn call_on(&mut self, session: &str, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut cmd = json!({"id": id, "method": method, "params": params});
        if !session.is_empty() {
            cmd["sessionId"] = json!(session);
        }
        self.ws
            .send(Message::text(cmd.to_string()))
            .expect("send a DevTools command");
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            if let Some(v) = self.pump() {
                if v["id"].as_u64() == Some(id) {
                    if let Some(err) = v.get("error") {
                        // A page that is navigating (a click that opens another view) has no
                        // context to evaluate in for a moment: to a wait, that is "not yet".
                        let msg = err["message"].as_str().unwrap_or("");
                        if self.waiting && NAVIGATING.iter().any(|m| msg.contains(m)) {
                            return Value::Null;
                        }
                        panic!("{method} failed: {err}");
                    }
                    return v["result"].clone();
                }
            }
        }
        panic!("no answer to {method} within 30 s");
    }

    /// Evaluates an expression in the page (promises awaited) and returns its JSON value.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("evaluating `{expr}` threw: {ex}");
        }
        r["result"]["value"].clone()
    }

    /// The text of element `id`; inside a wait, "" while the page (re)loads.
    pub fn text(&mut self, id: &str) -> String {
        let v = self.eval(&format!(
            "(() => {{ const e = document.getElementById('{id}'); return e ? e.textContent.trim() : null; }})()"
        ));
        match v.as_str() {
            Some(t) => t.to_owned(),
            None if self.waiting => String::new(),
            None => panic!("no element #{id} on the page"),
        }
    }

    /// The page's frame counter; inside a wait, 0 while the page (re)loads.
    pub fn frames(&mut self) -> u64 {
        let text = self.text("frame-count");
        match text.parse() {
            Ok(n) => n,
            Err(_) if self.waiting => 0,
            Err(_) => panic!("#frame-count is not a number: {text:?}"),
        }
    }

    /// Polls `check` (which may read the page) until it holds or `secs` pass; then fails with
    /// `what` and a summary of the page.
    pub fn wait(&mut self, secs: u64, what: &str, mut check: impl FnMut(&mut Chrome) -> bool) {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            self.waiting = true;
            let held = check(self);
            self.waiting = false;
            if held {
                return;
            }
            if Instant::now() >= end {
                let state = self.eval(
                    "JSON.stringify({url: location.href, state: document.getElementById('conn-state')?.textContent, \
                     frames: document.body?.dataset.frames, cpu: document.getElementById('cpu-usage')?.textContent})",
                );
                panic!(
                    "timed out after {secs} s waiting for {what}; page: {state}; exceptions: {:?}",
                    self.exceptions
                );
            }
            // Keep reading events while we wait.
            let pause = Instant::now() + Duration::from_millis(100);
            while Instant::now() < pause {
                self.pump();
            }
        }
    }

    /// The page point at fractions `fx`, `fy` of the element matching `selector`.
    pub fn point_in(&mut self, selector: &str, fx: f64, fy: f64) -> (f64, f64) {
        let r = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return null; e.scrollIntoView({{block: 'center'}}); \
             const r = e.getBoundingClientRect(); return [r.left + r.width * {fx}, r.top + r.height * {fy}]; }})()",
            sel = json!(selector)
        ));
        let xy = r
            .as_array()
            .unwrap_or_else(|| panic!("no element {selector} on the page"));
        (xy[0].as_f64().unwrap(), xy[1].as_f64().unwrap())
    }

    /// Moves the mouse to a point of the page.
    pub fn mouse_to(&mut self, (x, y): (f64, f64)) {
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseMoved", "x": x, "y": y}),
        );
    }

    /// Touches a point of the page with one finger (held; `release` lifts it).
    pub fn touch(&mut self, (x, y): (f64, f64)) {
        self.call(
            "Input.dispatchTouchEvent",
            json!({"type": "touchStart", "touchPoints": [{"x": x, "y": y}]}),
        );
    }

    /// Lifts the finger of [`Chrome::touch`].
    pub fn release(&mut self) {
        self.call(
            "Input.dispatchTouchEvent",
            json!({"type": "touchEnd", "touchPoints": []}),
        );
    }

    /// Clicks the element matching `selector` (as a user would, through `click()`).
    pub fn click(&mut self, selector: &str) {
        let found = self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); if (e) e.click(); return !!e; }})()",
            json!(selector)
        ));
        assert_eq!(found, json!(true), "no element {selector} to click");
    }

    /// Sets the viewport, lets the page re-lay out and redraw, and saves a PNG.
    pub fn screenshot(&mut self, width: u32, height: u32, mobile: bool, file: &Path) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
        self.wait(10, &format!("a {width} px wide viewport"), |c| {
            c.eval("window.innerWidth") == json!(width)
        });
        // Two animation frames: the resize observer runs, then the graphs redraw.
        self.eval(
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))",
        );
        self.capture(file);
    }

    /// Saves what the viewport shows now.
    pub fn capture(&mut self, file: &Path) {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64_decode(shot["data"].as_str().expect("screenshot data"));
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, png).expect("write the screenshot");
    }

    /// The whole page at `width`, in the light and the dark scheme, for people to look at:
    /// `target/dashboard-WIDTH-full.png` and `-full-dark.png`.
    pub fn full_page_shots(&mut self, width: u32, dir: &Path) {
        let height = self
            .eval("document.documentElement.scrollHeight")
            .as_u64()
            .unwrap_or(800)
            .clamp(800, 4000);
        for scheme in ["light", "dark"] {
            self.call(
                "Emulation.setEmulatedMedia",
                json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
            );
            let suffix = if scheme == "dark" { "-dark" } else { "" };
            let file = dir.join(format!("dashboard-{width}-full{suffix}.png"));
            self.screenshot(width, height as u32, width < 600, &file);
        }
        self.call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": "light"}]}),
        );
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.ws.send(Message::text(
            json!({"id": 0, "method": "Browser.close"}).to_string(),
        ));
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        kill_group(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Kills Chromium and its helpers (it was started as the leader of its own process group).
pub fn kill_group(child: &mut Child) {
    // SAFETY: kill(2) with a negative pid signals the process group we created; no memory is
    // involved.
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("bad base64 byte {c}"),
        }
    };
    let clean: Vec<u8> = s.bytes().filter(|b| !b" \n\r=".contains(b)).collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// The host of a URL such as `http://127.0.0.1:4500/x` or `ws://[::1]:80/`.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    authority.split(':').next()
}

/// A figure such as `12.5%`: a real number, not the `—` placeholder.
pub fn percent(text: &str) -> Option<f64> {
    let v: f64 = text.strip_suffix('%')?.trim().parse().ok()?;
    (0.0..=100.0).contains(&v).then_some(v)
}

/// Every request the page made stayed on 127.0.0.1.
pub fn assert_all_local(requests: &[String]) {
    for url in requests {
        assert_eq!(
            url_host(url),
            Some("127.0.0.1"),
            "request left 127.0.0.1: {url}"
        );
    }
}

/// A server on `port` again (after one was stopped there), retrying while the port is still
/// held by the old one's connections.
pub fn restart_on(port: u16, args: &[&str]) -> Server {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        match Server::builder().port(port).args(args).try_start() {
            Ok(s) => return s,
            Err(e) if Instant::now() < end => {
                eprintln!("retrying the restart: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("{e}"),
        }
    }
}
