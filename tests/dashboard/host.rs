//! One host's full view: figures, graphs, the process table, the panels, tokens.

use crate::chrome::*;
use crate::common::{self, Server};
use serde_json::json;
use std::time::Instant;

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
    // The network card counts the interfaces as the Interfaces panel lists them.
    let listed: Vec<String> = serde_json::from_value(chrome.eval(
        "[...document.querySelectorAll('#net-list .iface .name')].map(n => n.firstChild.textContent)",
    ))
    .unwrap();
    let real: Vec<&String> = listed.iter().filter(|n| *n != "lo").collect();
    let count = match real.len() {
        1 => real[0].clone(),
        n => format!("{n} interfaces"),
    };
    let lo = if listed.iter().any(|n| n == "lo") {
        " + loopback"
    } else {
        ""
    };
    assert_eq!(chrome.text("net-ifs"), format!("{count}{lo}"), "{listed:?}");
    // The graphs start with the server's history, from before the page was opened.
    chrome.wait(10, "graph points from GET /history", |c| {
        c.eval("psmonitor.sys.length > 0 && psmonitor.sys[0].t < performance.timeOrigin")
            == json!(true)
    });

    // One websocket for the tab, counted on the server and in the browser.
    assert_eq!(server.clients(), 1, "one websocket session for one tab");
    let sockets = chrome
        .requests
        .iter()
        .filter(|u| u.starts_with("ws://"))
        .count();
    assert_eq!(
        sockets, 1,
        "the tab opened one websocket: {:#?}",
        chrome.requests
    );

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
    let server = restart_on(port, &["--interval", "200"]);
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
        "stream=dashboard",
        "lib.js",
        "host.js",
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
    assert_eq!(chrome.eval(STATE), json!("token needed"));
    // "Not now" is respected when the tab comes back or the network does; a click asks again.
    chrome.click("#auth-skip");
    chrome.wait(5, "the form gone", |c| c.eval(form_shown) == json!(false));
    // The page asks for the token only after a request answered 401, and a retry makes its
    // request within the event's handler: so no request made while the events are dispatched
    // (fetch counted around the synchronous dispatch) means none will ask, with no time
    // window to wait out.
    let after = chrome.eval(&format!(
        "(() => {{ const f = window.fetch; let n = 0; \
         window.fetch = (...a) => {{ n++; return f.apply(window, a); }}; \
         try {{ document.dispatchEvent(new Event('visibilitychange')); \
         window.dispatchEvent(new Event('online')); }} finally {{ window.fetch = f; }} \
         return {{ requests: n, form: {form_shown} }}; }})()"
    ));
    assert_eq!(
        after,
        json!({"requests": 0, "form": false}),
        "not asked again (no request made) without a click"
    );
    chrome.click("#conn");
    chrome.wait(10, "the form again after a click", |c| {
        c.eval(form_shown) == json!(true)
    });
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

/// The rows of the process table: PID, name, memory MB and CPU %.
fn proc_rows(chrome: &mut Chrome) -> Vec<(u64, String, f64, f64)> {
    let rows = chrome.eval(
        "[...document.querySelectorAll('#proc-table tr')].map(tr => [+tr.cells[0].textContent, \
         tr.cells[1].firstChild.textContent, +tr.cells[3].textContent, +tr.cells[4].textContent])",
    );
    rows.as_array()
        .expect("process rows")
        .iter()
        .map(|r| {
            (
                r[0].as_u64().unwrap_or(0),
                r[1].as_str().unwrap_or("").to_owned(),
                r[2].as_f64().unwrap_or(f64::NAN),
                r[3].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect()
}

/// The tooltip of the graph drawn on canvas `id`, or `null` while it is hidden.
fn tooltip(chrome: &mut Chrome, id: &str) -> serde_json::Value {
    chrome.eval(&format!(
        "(() => {{ const t = document.getElementById('{id}').parentNode.querySelector('.tip'); \
         return t && !t.hidden ? t.textContent : null; }})()"
    ))
}

#[test]
fn graphs_have_tooltips_a_window_choice_and_the_table_sorts() {
    let server = Server::start(&["--interval", "200"]);
    // Six seconds of history: more than one 5 s bucket before the page's own points.
    common::wait_until(20, || {
        let r = common::request(server.addr, "GET", "/history?seconds=60", &[], b"");
        r.json().as_array().is_some_and(|a| a.len() >= 30)
    });
    let mut chrome = Chrome::open(&server.url("/"));
    chrome.wait(20, "`live`", |c| c.eval(STATE) == json!("live"));
    chrome.wait(10, "graph points", |c| {
        c.eval("psmonitor.pts.length >= 5") == json!(true)
    });

    // Tooltips: the time and the value at the pointer, gone when it leaves; touch too.
    assert_eq!(tooltip(&mut chrome, "g-cpu"), json!(null), "no tooltip yet");
    let at = chrome.point_in("#g-cpu", 0.97, 0.5);
    chrome.mouse_to(at);
    chrome.wait(5, "a tooltip on the CPU graph", |c| {
        tooltip(c, "g-cpu")
            .as_str()
            .is_some_and(|t| t.contains("CPU") && t.contains('%') && t.contains(':'))
    });
    eprintln!("CPU tooltip: {}", tooltip(&mut chrome, "g-cpu"));
    chrome.screenshot(
        1280,
        800,
        false,
        &target_dir().join("dashboard-tooltip.png"),
    );
    chrome.mouse_to((2.0, 2.0));
    chrome.wait(5, "the tooltip to go", |c| tooltip(c, "g-cpu").is_null());
    let at = chrome.point_in("#g-mem", 0.97, 0.4);
    chrome.touch(at);
    chrome.wait(5, "a tooltip where the memory graph is touched", |c| {
        tooltip(c, "g-mem")
            .as_str()
            .is_some_and(|t| t.contains("Memory") && t.contains('%'))
    });
    chrome.release();
    chrome.wait(5, "the touch tooltip to go", |c| {
        tooltip(c, "g-mem").is_null()
    });

    // The window choice: what --history allows (an hour by default), redrawn from /history.
    let offered =
        chrome.eval("[...document.querySelectorAll('#window button')].map(b => b.dataset.s)");
    assert_eq!(
        offered,
        json!(["300", "900", "3600"]),
        "windows up to --history"
    );
    assert_eq!(
        chrome.eval("document.getElementById('g-cpu').dataset.window"),
        json!("300"),
        "five minutes at first"
    );
    let asked = |c: &Chrome| {
        c.requests
            .iter()
            .any(|u| u.contains("/history?seconds=3600&step=5&fields="))
    };
    assert!(
        !asked(&chrome),
        "the hour is not fetched before it is chosen"
    );
    // Forget the page's own points: whatever predates the click must come from /history.
    chrome.eval("window.__cleared = Date.now(); psmonitor.pts.length = 0; true");
    chrome.click("#window button[data-s='3600']");
    chrome.wait(10, "GET /history for the hour", |c| asked(c));
    chrome.wait(10, "every graph redrawn over the hour", |c| {
        c.eval(
            "[...document.querySelectorAll('#host canvas')].filter(e => e.offsetParent) \
             .every(e => e.dataset.window === '3600')",
        ) == json!(true)
    });
    assert_eq!(
        chrome.eval("document.querySelector('#window button[data-s=\"3600\"]').getAttribute('aria-pressed')"),
        json!("true")
    );
    chrome.wait(10, "the graphs refilled from /history", |c| {
        c.eval("psmonitor.pts.some(p => p.hist && p.t < window.__cleared - 500)") == json!(true)
    });

    // The process table sorts by memory (the default), CPU and name, and keeps its order as
    // frames arrive.
    let count = server.get_json("/system")["process_count"]
        .as_u64()
        .unwrap();
    let rows = proc_rows(&mut chrome);
    assert!(
        rows.len() > 10 || rows.len() as u64 == count,
        "the table lists more than /system's ten: {} of {count}",
        rows.len()
    );
    assert!(
        chrome.text("proc-count").contains(" in all"),
        "the process count: {}",
        chrome.text("proc-count")
    );
    assert!(
        rows.windows(2).all(|w| w[0].2 >= w[1].2),
        "by memory: {rows:?}"
    );
    chrome.click("th[data-sort='cpu'] button");
    let f0 = chrome.frames();
    chrome.wait(10, "two more frames", |c| c.frames() >= f0 + 2);
    let rows = proc_rows(&mut chrome);
    assert!(
        rows.windows(2).all(|w| w[0].3 >= w[1].3),
        "by CPU: {rows:?}"
    );
    assert_eq!(
        chrome.eval("document.querySelector('th[data-sort=\"cpu\"]').getAttribute('aria-sort')"),
        json!("descending")
    );
    // Names in order (`sign` 1: A to Z, -1: Z to A) as the page compares them.
    let by_name = |c: &mut Chrome, sign: i32| {
        c.eval(&format!(
            "(() => {{ const n = [...document.querySelectorAll('#proc-table tr')] \
             .map(tr => tr.cells[1].firstChild.textContent); \
             return n.length > 1 && n.every((x, i) => !i || {sign} * n[i - 1].localeCompare(x) <= 0); }})()"
        )) == json!(true)
    };
    chrome.click("th[data-sort='name'] button");
    assert!(by_name(&mut chrome, 1), "by name, A to Z");
    chrome.click("th[data-sort='name'] button");
    assert!(by_name(&mut chrome, -1), "by name, Z to A");
    assert!(!by_name(&mut chrome, 1), "Z to A is not A to Z");

    assert_all_local(&chrome.requests);
    assert!(chrome.exceptions.is_empty(), "{:#?}", chrome.exceptions);
}

/// Where the fixture trees of other hosts are.
fn fixture(path: &str) -> String {
    format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Whether the card `id` is shown.
fn shown(chrome: &mut Chrome, id: &str) -> bool {
    chrome.eval(&format!("!document.getElementById('{id}').hidden")) == json!(true)
}

#[test]
fn panels_show_where_the_host_has_them() {
    // This host: each panel shown exactly when /system has its data.
    let server = Server::start(&["--interval", "200", "--history", "600"]);
    let mut chrome = Chrome::open(&server.url("/"));
    chrome.wait(20, "`live`", |c| c.eval(STATE) == json!("live"));
    let f0 = chrome.frames();
    chrome.wait(10, "two frames", |c| c.frames() >= f0 + 2);
    let sys = server.get_json("/system");
    let has = |key: &str| sys[key].as_array().is_some_and(|a| !a.is_empty());
    let sensors = sys["sensors"].as_array().cloned().unwrap_or_default();
    let temps = sensors
        .iter()
        .filter(|s| s["type"] == "temperature" && s["temp"].is_number())
        .count();
    let others = sensors.iter().any(|s| s["type"] != "temperature");
    for (card, expected) in [
        ("io-card", has("diskio")),
        ("psi-card", sys["pressure"].is_object()),
        ("ct-card", has("containers")),
        ("sensors-card", others || temps > 1),
    ] {
        assert_eq!(shown(&mut chrome, card), expected, "#{card} on this host");
    }
    let offered =
        chrome.eval("[...document.querySelectorAll('#window button')].map(b => b.dataset.s)");
    assert_eq!(
        offered,
        json!(["300", "600"]),
        "windows up to --history 600"
    );
    // One row a device, none where the host has no diskio: checked either way.
    let rows = chrome.eval("document.querySelectorAll('#io-list .line').length");
    let devices = sys["diskio"].as_array().map_or(0, Vec::len);
    assert_eq!(rows, json!(devices), "one row a device");

    // A laptop: fans and a battery (its /sys, this host's /proc).
    let laptop = Server::start(&["--interval", "200", "--path.sysfs", &fixture("laptop/sys")]);
    let lsys = laptop.get_json("/system");
    let mut chrome =
        Chrome::open(&server.url(&format!("/?server=127.0.0.1:{}", laptop.addr.port())));
    chrome.wait(20, "`live` on the laptop", |c| {
        c.eval(STATE) == json!("live")
    });
    chrome.wait(10, "the sensors panel", |c| shown(c, "sensors-card"));
    let text = chrome.text("sensor-list");
    for s in lsys["sensors"].as_array().unwrap() {
        if let Some(rpm) = s["rpm"].as_u64() {
            assert!(
                text.contains(&format!("{rpm} RPM")),
                "fan {rpm} RPM in {text:?}"
            );
        }
        if let Some(p) = s["percent"].as_u64() {
            assert!(text.contains(&format!("{p}%")), "battery {p}% in {text:?}");
        }
    }
    assert!(
        text.contains("RPM") && text.contains('%'),
        "a fan and a battery: {text:?}"
    );
    chrome.full_page_shots(1280, &target_dir().join("laptop"));

    // A Pi with containers (its cgroup tree).
    let pi = Server::start(&[
        "--interval",
        "200",
        "--path.sysfs",
        &fixture("pi/sys"),
        "--path.rootfs",
        &fixture("pi/root"),
    ]);
    let containers = pi.get_json("/system")["containers"].clone();
    let n = containers.as_array().map_or(0, Vec::len);
    assert!(n > 0, "the Pi fixture has containers: {containers}");
    let mut chrome = Chrome::open(&server.url(&format!("/?server=127.0.0.1:{}", pi.addr.port())));
    chrome.wait(20, "`live` on the Pi", |c| c.eval(STATE) == json!("live"));
    chrome.wait(10, "the containers panel", |c| shown(c, "ct-card"));
    let rows = chrome
        .eval("[...document.querySelectorAll('#ct-table tr')].map(tr => tr.cells[0].textContent)");
    let names: Vec<&str> = containers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        rows,
        json!(names),
        "one row a container, in /system's order"
    );
    chrome.full_page_shots(1280, &target_dir().join("pi"));
    assert!(chrome.exceptions.is_empty(), "{:#?}", chrome.exceptions);
}

#[test]
fn a_month_of_history_offers_7_and_30_days() {
    // Forty days of made-up history: /health's history_seconds reaches past 30 days.
    let server = Server::start(&["--test-history-fill", "3456000"]);
    let mut chrome = Chrome::open(&server.url("/"));
    chrome.wait(20, "`live`", |c| c.eval(STATE) == json!("live"));
    let buttons = "[...document.querySelectorAll('#window button')]";
    chrome.wait(10, "the window choice", |c| {
        c.eval(&format!("{buttons}.length")) == json!(7)
    });
    assert_eq!(
        chrome.eval(&format!("{buttons}.map(b => b.textContent)")),
        json!(["5 min", "15 min", "1 h", "6 h", "24 h", "7 d", "30 d"])
    );
    chrome.eval(&format!("{buttons}[6].click()"));
    chrome.wait(10, "the 30-day window", |c| {
        c.eval("document.getElementById('g-cpu').dataset.window") == json!("2592000")
    });
}
