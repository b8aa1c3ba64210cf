//! The dashboard at `GET /`, driven in headless Chromium over the DevTools protocol against the
//! real binary: real figures, live frames, a server restart on the same port, no request that
//! leaves 127.0.0.1, and screenshots at 1280 and 375 px in `target/`.
//!
//! Needs Chromium (Debian's `chromium`, installed when missing if we are root with apt, or the
//! path in `$CHROMIUM`); fails loudly without it.

mod common;

use common::Server;
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
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Chromium: `$CHROMIUM`, or Debian's package (installed if missing and we may; a missing
/// browser fails the test with the install command, it never skips it).
fn chromium_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(p);
    }
    common::ensure_tool("chromium", "chromium");
    PathBuf::from("chromium")
}

/// A headless Chromium and a DevTools session attached to one page; killed on drop.
struct Chrome {
    child: Child,
    profile: PathBuf,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: String,
    /// Page URLs requested (`Network.requestWillBeSent`) and websockets opened.
    requests: Vec<String>,
    /// Uncaught exceptions and unhandled rejections in the page.
    exceptions: Vec<String>,
}

impl Chrome {
    /// Chromium showing `url` in a 1280×800 viewport.
    fn open(url: &str) -> Chrome {
        let mut chrome = Chrome::launch();
        chrome.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
        );
        chrome.call("Page.navigate", json!({"url": url}));
        chrome
    }

    fn launch() -> Chrome {
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
    fn pump(&mut self) -> Option<Value> {
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
                self.exceptions
                    .push(v["params"]["exceptionDetails"].to_string());
            }
            _ => {}
        }
        Some(v)
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call_on(&session, method, params)
    }

    /// Sends a command (to the page session, or to the browser when `session` is empty) and
    /// waits for its answer.
    fn call_on(&mut self, session: &str, method: &str, params: Value) -> Value {
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
                        panic!("{method} failed: {err}");
                    }
                    return v["result"].clone();
                }
            }
        }
        panic!("no answer to {method} within 30 s");
    }

    /// Evaluates an expression in the page (promises awaited) and returns its JSON value.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("evaluating `{expr}` threw: {ex}");
        }
        r["result"]["value"].clone()
    }

    fn text(&mut self, id: &str) -> String {
        let v = self.eval(&format!(
            "(() => {{ const e = document.getElementById('{id}'); return e ? e.textContent.trim() : null; }})()"
        ));
        v.as_str()
            .unwrap_or_else(|| panic!("no element #{id} on the page"))
            .to_owned()
    }

    fn frames(&mut self) -> u64 {
        self.text("frame-count")
            .parse()
            .expect("#frame-count is a number")
    }

    /// Polls `check` (which may read the page) until it holds or `secs` pass; then fails with
    /// `what` and a summary of the page.
    fn wait(&mut self, secs: u64, what: &str, mut check: impl FnMut(&mut Chrome) -> bool) {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if check(self) {
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

    /// Sets the viewport, lets the page re-lay out and redraw, and saves a PNG.
    fn screenshot(&mut self, width: u32, height: u32, mobile: bool, file: &Path) {
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
    fn capture(&mut self, file: &Path) {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64_decode(shot["data"].as_str().expect("screenshot data"));
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, png).expect("write the screenshot");
    }

    /// The whole page at `width`, in the light and the dark scheme, for people to look at:
    /// `target/dashboard-WIDTH-full.png` and `-full-dark.png`.
    fn full_page_shots(&mut self, width: u32, dir: &Path) {
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
fn kill_group(child: &mut Child) {
    // SAFETY: kill(2) with a negative pid signals the process group we created; no memory is
    // involved.
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn base64_decode(s: &str) -> Vec<u8> {
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
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    authority.split(':').next()
}

/// A figure such as `12.5%`: a real number, not the `—` placeholder.
fn percent(text: &str) -> Option<f64> {
    let v: f64 = text.strip_suffix('%')?.trim().parse().ok()?;
    (0.0..=100.0).contains(&v).then_some(v)
}

const STATE: &str = "document.getElementById('conn-state')?.textContent.trim() ?? null";

#[test]
fn dashboard_shows_live_figures_and_survives_a_restart() {
    let server = Server::start(&["--interval", "200"]);
    let port = server.addr.port();
    let api = server.get_json("/system");
    // Let the server collect some history first (when it keeps one: `GET /history`).
    common::wait_until(5, || {
        let r = common::request(server.addr, "GET", "/history?seconds=300", &[], b"");
        r.status != 200 || r.json().as_array().is_some_and(|a| a.len() >= 3)
    });
    let history = common::request(server.addr, "GET", "/history?seconds=300", &[], b"");
    assert_eq!(history.status, 200, "GET /history answers");
    let mut chrome = Chrome::open(&server.url("/"));

    // Live, with real figures.
    chrome.wait(20, "the connection state to become `live`", |c| {
        c.eval(STATE) == json!("live")
    });
    chrome.wait(10, "CPU, memory and disk figures", |c| {
        ["cpu-usage", "mem-percent", "disk-percent"]
            .iter()
            .all(|id| percent(&c.text(id)).is_some())
    });
    let mem = percent(&chrome.text("mem-percent")).unwrap();
    let disk = percent(&chrome.text("disk-percent")).unwrap();
    let api_mem = api["mem"]["percent"].as_f64().unwrap();
    let api_disk = api["disk"]["percent"].as_f64().unwrap();
    assert!(
        (mem - api_mem).abs() < 10.0,
        "memory {mem}% on the page, {api_mem}% from /system"
    );
    assert!(
        (disk - api_disk).abs() < 5.0,
        "disk {disk}% on the page, {api_disk}% from /system"
    );
    assert_eq!(chrome.text("hostname"), api["hostname"].as_str().unwrap());
    for id in [
        "host-distro",
        "host-kernel",
        "host-uptime",
        "host-user",
        "cpu-load",
    ] {
        let t = chrome.text(id);
        assert!(
            !t.is_empty() && t != "—",
            "#{id} shows a real value, not {t:?}"
        );
    }
    let rows = chrome.eval(
        "[...document.querySelectorAll('#proc-table tr')].map(tr => [...tr.cells].map(td => td.textContent.trim()))",
    );
    let rows = rows.as_array().expect("process rows");
    assert!(!rows.is_empty(), "the process table has rows");
    for row in rows {
        let cells: Vec<&str> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(cells.len(), 5, "PID, name, user, memory, CPU: {cells:?}");
        assert!(
            cells[0].parse::<u32>().is_ok(),
            "PID is a number: {cells:?}"
        );
        assert!(!cells[1].is_empty() && cells[1] != "—", "name: {cells:?}");
        assert!(
            cells[3].parse::<f64>().is_ok(),
            "memory MB is a number: {cells:?}"
        );
        assert!(
            cells[4].parse::<f64>().is_ok(),
            "CPU % is a number: {cells:?}"
        );
    }
    // The temperature graph, or the note that replaces it.
    let note_shown = chrome.eval("!document.getElementById('temp-note').hidden");
    let plot_shown = chrome.eval("!document.getElementById('temp-plot').hidden");
    let has_temp = api["cpu"]["temp"].is_number();
    assert_eq!(
        note_shown,
        json!(!has_temp),
        "temperature note vs /system cpu.temp"
    );
    assert_eq!(
        plot_shown,
        json!(has_temp),
        "temperature graph vs /system cpu.temp"
    );
    if !has_temp {
        assert_eq!(chrome.text("temp-note"), "no sensor on this host");
    }
    let ifaces = chrome.eval("document.querySelectorAll('#net-list .iface').length");
    assert!(
        ifaces.as_u64().unwrap_or(0) >= 1,
        "network interfaces listed"
    );
    // The graphs start with the server's history, from before the page was opened.
    chrome.wait(10, "graph points from GET /history", |c| {
        c.eval("psmonitor.sys.length > 0 && psmonitor.sys[0].t < performance.timeOrigin")
            == json!(true)
    });

    // Frames keep arriving and the figures follow them.
    let f0 = chrome.frames();
    let uptime0 = chrome.text("host-uptime");
    chrome.wait(10, "5 more websocket frames", |c| c.frames() >= f0 + 5);
    chrome.wait(10, "the uptime to move on", |c| {
        c.text("host-uptime") != uptime0
    });
    let same =
        "document.body.dataset.frames === document.getElementById('frame-count').textContent";
    assert_eq!(
        chrome.eval(same),
        json!(true),
        "data-frames follows #frame-count"
    );

    // Screenshots: desktop, then phone (no sideways scrolling at 375 px).
    let dir = target_dir();
    chrome.screenshot(1280, 800, false, &dir.join("dashboard-1280.png"));
    chrome.full_page_shots(1280, &dir);
    chrome.screenshot(375, 800, true, &dir.join("dashboard-375.png"));
    let overflow = chrome.eval("document.documentElement.scrollWidth");
    assert!(
        overflow.as_u64().unwrap() <= 375,
        "the page is {overflow} px wide at a 375 px viewport"
    );
    chrome.full_page_shots(375, &dir);
    chrome.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
    );

    // Kill the server: the page notices, keeps retrying, and gives up on nothing.
    let killed = Instant::now();
    drop(server);
    chrome.wait(10, "`reconnecting` after the server was killed", |c| {
        let s = c.eval(STATE);
        s == json!("reconnecting") || s == json!("server unreachable")
    });
    chrome.wait(20, "`server unreachable` after failed attempts", |c| {
        c.eval(STATE) == json!("server unreachable")
    });
    chrome.capture(&dir.join("dashboard-unreachable.png"));
    let before = chrome.frames();

    // A new server on the same port: the page resumes by itself.
    let mut server = None;
    let end = Instant::now() + Duration::from_secs(10);
    while server.is_none() {
        match Server::builder()
            .port(port)
            .args(&["--interval", "200"])
            .try_start()
        {
            Ok(s) => server = Some(s),
            Err(e) if Instant::now() < end => {
                eprintln!("retrying the restart: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("{e}"),
        }
    }
    let server = server.unwrap();
    chrome.wait(40, "`live` again after the restart", |c| {
        c.eval(STATE) == json!("live")
    });
    eprintln!(
        "restart: killed, unreachable, new server, live again after {:.1} s",
        killed.elapsed().as_secs_f64()
    );
    chrome.wait(10, "frames from the new server", |c| {
        c.frames() >= before + 3
    });
    assert!(
        percent(&chrome.text("cpu-usage")).is_some(),
        "CPU figure after the restart"
    );

    // Every request the page made went to 127.0.0.1, and it used the documented API.
    let requests = chrome.requests.clone();
    assert_all_local(&requests);
    let made = |needle: &str| requests.iter().any(|u| u.contains(needle));
    for needle in [
        "/system",
        "/network",
        "/connect?id=",
        "stream=network",
        "app.js",
        "style.css",
    ] {
        assert!(made(needle), "the page requested {needle}: {requests:#?}");
    }
    assert!(
        chrome.exceptions.is_empty(),
        "uncaught errors in the page: {:#?}",
        chrome.exceptions
    );
    drop(chrome);
    drop(server);
}

#[test]
fn dashboard_watches_the_server_named_in_its_url() {
    let page = Server::start(&["--interval", "200"]);
    let data = Server::start(&["--interval", "200"]);
    let data_port = data.addr.port();
    let mut chrome = Chrome::open(&page.url(&format!("/?server=127.0.0.1:{data_port}")));
    chrome.wait(20, "`live` with ?server=", |c| {
        c.eval(STATE) == json!("live")
    });
    let f0 = chrome.frames();
    chrome.wait(10, "frames from the other server", |c| c.frames() >= f0 + 3);
    assert!(percent(&chrome.text("cpu-usage")).is_some());
    let requests = chrome.requests.clone();
    assert_all_local(&requests);
    for url in &requests {
        let api = ["/system", "/network", "/connect?", "/history"]
            .iter()
            .any(|p| url.contains(p));
        if api {
            assert!(
                url.contains(&format!("127.0.0.1:{data_port}/")),
                "API request to the named server: {url}"
            );
        }
    }
    assert!(requests
        .iter()
        .any(|u| u.starts_with(&format!("ws://127.0.0.1:{data_port}/connect?id="))));
    assert!(chrome.exceptions.is_empty(), "{:#?}", chrome.exceptions);
}

#[test]
fn dashboard_asks_for_the_token_once() {
    let server = Server::builder()
        .args(&["--interval", "200"])
        .env("PSMONITOR_TOKEN", "s3cret-token")
        .start();
    let status = common::request(server.addr, "GET", "/system", &[], b"").status;
    assert_eq!(status, 401, "the server asks for the token");
    let mut chrome = Chrome::open(&server.url("/"));
    let form_shown = "document.getElementById('auth')?.hidden === false";
    chrome.wait(10, "the token form", |c| c.eval(form_shown) == json!(true));
    assert_eq!(chrome.eval(STATE), json!("connecting"));
    let submit = |c: &mut Chrome, token: &str| {
        c.eval(&format!(
            "document.getElementById('auth-token').value = '{token}'; \
             document.getElementById('auth-form').requestSubmit(); true"
        ));
    };
    // A wrong token: asked again, with an error.
    submit(&mut chrome, "wrong");
    chrome.wait(10, "the form again, saying the token was rejected", |c| {
        c.eval(&format!(
            "{form_shown} && !document.getElementById('auth-err').hidden"
        )) == json!(true)
    });
    submit(&mut chrome, "s3cret-token");
    chrome.wait(20, "`live` with the token", |c| {
        c.eval(STATE) == json!("live")
    });
    let f0 = chrome.frames();
    chrome.wait(10, "frames", |c| c.frames() >= f0 + 3);
    assert_eq!(chrome.eval(form_shown), json!(false), "the form is gone");
    assert!(percent(&chrome.text("mem-percent")).is_some());
    let kept = chrome.eval("Object.values(sessionStorage).includes('s3cret-token')");
    assert_eq!(kept, json!(true), "the token is kept in sessionStorage");
    assert!(chrome.exceptions.is_empty(), "{:#?}", chrome.exceptions);
}

/// Every request the page made stayed on 127.0.0.1.
fn assert_all_local(requests: &[String]) {
    for url in requests {
        assert_eq!(
            url_host(url),
            Some("127.0.0.1"),
            "request left 127.0.0.1: {url}"
        );
    }
}

/// The original's test page (`web.html`) fetches `/network` and loops over the keys of
/// `wireless` (`Object.keys(data.wireless)`); on a host without Wi-Fi our `null` made that
/// throw ("Unable to fetch network information"). With the original's `"N/A"` the same flow
/// runs. (The page itself is not in this repository; this is its flow, in a real browser.)
#[test]
fn the_originals_network_page_flow_works_without_wifi() {
    let server = Server::start(&["--interval", "200"]);
    let mut chrome = Chrome::open(&server.url("/"));
    chrome.wait(20, "the dashboard", |c| c.eval(STATE) == json!("live"));
    chrome.eval(
        "window.__wl = undefined; \
         fetch('/network').then(r => r.json()).then(d => { \
           const keys = []; \
           Object.keys(d.wireless).forEach(k => keys.push(k)); \
           for (const iface of d.interfaces) { keys.push(iface + ':' + d.statistics[iface].mb_sent); } \
           window.__wl = keys.length; \
         }).catch(e => { window.__wl = 'error: ' + e; }); true",
    );
    chrome.wait(10, "the flow to finish", |c| {
        c.eval("window.__wl !== undefined") == json!(true)
    });
    let got = chrome.eval("window.__wl");
    assert!(
        got.is_number(),
        "the original's flow over /network failed: {got}"
    );
    assert!(chrome.exceptions.is_empty(), "{:#?}", chrome.exceptions);
}
