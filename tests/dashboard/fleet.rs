//! The fleet view: several real servers on one page, one websocket each, one of them stopped
//! and restarted, one with a token; the list edited in the page and named by the server.

use crate::chrome::*;
use crate::common::Server;
use serde_json::{json, Value};

const ARGS: &[&str] = &["--interval", "200"];

/// `127.0.0.1:PORT`, as the page lists a server.
fn addr(s: &Server) -> String {
    format!("127.0.0.1:{}", s.addr.port())
}

/// Each card's `[address, state, host name, badge (or null)]`, in page order.
fn cards(chrome: &mut Chrome) -> Vec<Value> {
    let v = chrome.eval(
        "[...document.querySelectorAll('#fleet-grid .hcard')].map(c => [c.querySelector('.open').getAttribute('href'), \
         c.dataset.state, c.querySelector('h3').textContent, c.querySelector('.badge').hidden ? null : c.querySelector('.badge').textContent])",
    );
    v.as_array().expect("cards").clone()
}

/// The state of the card for `addr`.
fn state_of(chrome: &mut Chrome, addr: &str) -> String {
    chrome
        .eval(&format!(
            "document.querySelector('.hcard[data-base=\"http://{addr}\"]')?.dataset.state ?? null"
        ))
        .as_str()
        .unwrap_or("none")
        .to_owned()
}

fn all_live(chrome: &mut Chrome, n: usize) -> bool {
    let c = cards(chrome);
    c.len() == n && c.iter().all(|c| c[1] == "live")
}

#[test]
fn fleet_watches_three_hosts_through_an_outage() {
    let a = Server::start(ARGS);
    let b = Server::start(ARGS);
    let c = Server::builder()
        .args(ARGS)
        .env("PSMONITOR_TOKEN", "fleet-token")
        .start();
    let hosts = [addr(&a), addr(&b), addr(&c)];
    let mut chrome = Chrome::open(&a.url(&format!("/?hosts={}", hosts.join(","))));

    // The host with a token asks for it, naming itself.
    chrome.wait(15, "the token form for the third host", |ch| {
        ch.eval(
            "document.getElementById('auth')?.hidden === false ? document.getElementById('auth-host').textContent : null",
        ) == json!(hosts[2])
    });
    chrome.eval(
        "document.getElementById('auth-token').value = 'fleet-token'; \
         document.getElementById('auth-form').requestSubmit(); true",
    );
    chrome.wait(20, "three live cards", |ch| all_live(ch, 3));
    // All three run on this machine: one host name.
    let hostname = a.get_json("/system")["hostname"].clone();
    let got = cards(&mut chrome);
    for (card, host) in got.iter().zip(&hosts) {
        assert_eq!(
            card[0],
            json!(format!("?server={}", host.replace(':', "%3A")))
        );
        assert_eq!(card[2], hostname, "the card names its host");
        assert_eq!(card[3], Value::Null, "no alert on a healthy host: {card}");
    }
    chrome.wait(10, "CPU figures on every card", |ch| {
        let v = ch
            .eval("[...document.querySelectorAll('.hcard .cpurow .num')].map(e => e.textContent)");
        v.as_array().is_some_and(|a| {
            a.len() == 3
                && a.iter()
                    .all(|t| percent(t.as_str().unwrap_or("")).is_some())
        })
    });
    for s in [&a, &b, &c] {
        assert_eq!(s.clients(), 1, "one websocket per host for the fleet page");
    }
    let kept = chrome.eval("Object.values(sessionStorage).includes('fleet-token')");
    assert_eq!(kept, json!(true), "the token is kept for this tab");
    let remembered = chrome.eval("Object.values(localStorage).includes('fleet-token')");
    assert_eq!(remembered, json!(false), "and not remembered unless asked");
    let dir = target_dir();
    chrome.screenshot(1280, 800, false, &dir.join("fleet-1280.png"));
    chrome.screenshot(375, 800, true, &dir.join("fleet-375.png"));
    let width = chrome.eval("document.documentElement.scrollWidth");
    assert!(
        width.as_u64().unwrap() <= 375,
        "the fleet is {width} px wide at 375"
    );
    chrome.screenshot(1280, 800, false, &dir.join("fleet-1280.png"));

    // One host stops: its card says so, the others stay live; it comes back on the same port.
    let port = b.addr.port();
    drop(b);
    chrome.wait(30, "the stopped host's card to turn unreachable", |ch| {
        state_of(ch, &hosts[1]) == "server unreachable"
    });
    let got = cards(&mut chrome);
    assert_eq!(
        got[1][3],
        json!("unreachable"),
        "the badge says so: {got:?}"
    );
    assert!(
        got[0][1] == "live" && got[2][1] == "live",
        "the others stay live: {got:?}"
    );
    let summary = chrome.text("fleet-summary");
    assert!(
        summary.contains("2 up") && summary.contains("1 alert"),
        "the header counts it: {summary}"
    );
    chrome.capture(&dir.join("fleet-1280-unreachable.png"));
    let b = restart_on(port, ARGS);
    chrome.wait(40, "the restarted host's card to be live again", |ch| {
        state_of(ch, &hosts[1]) == "live"
    });
    chrome.wait(10, "no alert left", |ch| cards(ch)[1][3].is_null());

    // Hosts added and removed in the page are kept in this browser.
    let d = Server::start(ARGS);
    chrome.eval(&format!(
        "document.getElementById('fleet-input').value = '{}'; \
         document.getElementById('fleet-add').requestSubmit(); true",
        addr(&d)
    ));
    chrome.wait(20, "the added host's card, live", |ch| all_live(ch, 4));
    let saved = chrome.eval("JSON.parse(localStorage.getItem('psmonitor.fleet'))");
    let mut want: Vec<String> = hosts.to_vec();
    want.push(addr(&d));
    assert_eq!(saved, json!(want), "the list is saved");
    assert_eq!(
        chrome.eval("new URL(location.href).searchParams.get('view')"),
        json!("fleet")
    );
    chrome.click("#fleet-edit");
    chrome.click(&format!(".hcard[data-base='http://{}'] .remove", addr(&d)));
    chrome.wait(10, "three cards again", |ch| cards(ch).len() == 3);
    assert!(
        crate::common::wait_until(10, || d.clients() == 0),
        "the removed card closed its websocket"
    );
    let saved = chrome.eval("JSON.parse(localStorage.getItem('psmonitor.fleet'))");
    assert_eq!(saved, json!(hosts), "the removal is saved");

    // Plain `/` shows the saved list; a card opens its host's full view.
    chrome.call("Page.navigate", json!({"url": a.url("/")}));
    chrome.wait(20, "the saved fleet after a reload", |ch| {
        ch.eval("location.search") == json!("") && all_live(ch, 3)
    });
    chrome.click(&format!(".hcard[data-base='http://{}'] .open", hosts[1]));
    chrome.wait(20, "the full view of the second host, live", |ch| {
        ch.eval(STATE) == json!("live")
    });
    assert_eq!(
        chrome.eval("new URL(location.href).searchParams.get('server')"),
        json!(hosts[1])
    );
    assert_eq!(json!(chrome.text("hostname")), hostname);
    chrome.screenshot(375, 800, true, &dir.join("dashboard-375-from-fleet.png"));

    assert_all_local(&chrome.requests);
    assert!(chrome.exceptions.is_empty(), "{:#?}", chrome.exceptions);
    drop(chrome);
    drop((a, b, c, d));
}

#[test]
fn the_server_names_the_house_page() {
    let b = Server::start(ARGS);
    let c = Server::start(ARGS);
    let list = format!("{},{}", addr(&b), addr(&c));
    let a = Server::start(&["--interval", "200", "--fleet", &list]);
    let mut chrome = Chrome::open(&a.url("/"));
    chrome.wait(20, "the server's fleet, live", |ch| all_live(ch, 2));
    let got = cards(&mut chrome);
    assert_eq!(
        got[0][0],
        json!(format!("?server={}", addr(&b).replace(':', "%3A")))
    );
    assert_eq!(
        got[1][0],
        json!(format!("?server={}", addr(&c).replace(':', "%3A")))
    );
    assert_eq!(a.clients(), 0, "the page's own server is not in its list");
    // Behind a token, the page asks for it and then shows the server's list.
    let locked = Server::builder()
        .args(&["--interval", "200", "--fleet", &list])
        .env("PSMONITOR_TOKEN", "house-token")
        .start();
    let mut other = Chrome::open(&locked.url("/"));
    other.wait(15, "the token form", |ch| {
        ch.eval("document.getElementById('auth')?.hidden === false") == json!(true)
    });
    other.eval(
        "document.getElementById('auth-token').value = 'house-token'; \
         document.getElementById('auth-form').requestSubmit(); true",
    );
    other.wait(30, "the server's fleet after the token", |ch| {
        all_live(ch, 2)
    });
    assert!(other.exceptions.is_empty(), "{:#?}", other.exceptions);
    drop(other);
    // Twenty cards at phone width: all live, nothing wider than the screen.
    let more: Vec<Server> = (0..18)
        .map(|_| Server::start(&["--interval", "500"]))
        .collect();
    let all: Vec<String> = [&b, &c].into_iter().chain(more.iter()).map(addr).collect();
    chrome.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 375, "height": 800, "deviceScaleFactor": 2, "mobile": true}),
    );
    chrome.call(
        "Page.navigate",
        json!({"url": a.url(&format!("/?hosts={}", all.join(",")))}),
    );
    chrome.wait(40, "twenty live cards", |ch| all_live(ch, 20));
    let width = chrome.eval("document.documentElement.scrollWidth");
    assert!(
        width.as_u64().unwrap() <= 375,
        "twenty cards are {width} px wide at 375"
    );
    for s in more.iter().chain([&b, &c]) {
        assert_eq!(s.clients(), 1);
    }
    assert_all_local(&chrome.requests);
    assert!(chrome.exceptions.is_empty(), "{:#?}", chrome.exceptions);
}

/// Chromium keeps a page the user left in its back/forward cache, websockets and all. A page
/// gives its sessions back when it is hidden, frozen or left, and takes them again when shown:
/// one open page holds one session per server it shows, whatever the navigation history.
#[test]
fn sessions_follow_the_page_back_and_forward() {
    let a = Server::start(ARGS);
    let b = Server::start(ARGS);
    let mut chrome = Chrome::open(&a.url(&format!("/?hosts={}", addr(&b))));
    chrome.wait(20, "the fleet's card, live", |ch| all_live(ch, 1));
    assert_eq!(b.clients(), 1);

    let host_live = |ch: &mut Chrome| ch.eval(STATE) == json!("live") && b.clients() == 1;
    let fleet_live = |ch: &mut Chrome| all_live(ch, 1) && b.clients() == 1;
    // A mark left in each page's window survives only a restore from the back/forward cache.
    let mark = |ch: &mut Chrome| ch.eval("window.__mark = location.href; true");
    let restored = |ch: &mut Chrome| ch.eval("window.__mark === location.href") == json!(true);

    mark(&mut chrome);
    chrome.click(".hcard .open");
    chrome.wait(
        20,
        "the host's full view, live, with one session",
        host_live,
    );
    let (mut fleet_restores, mut host_restores) = (0, 0);
    for _ in 0..10 {
        mark(&mut chrome);
        chrome.eval("history.back(); true");
        chrome.wait(20, "the fleet again, live, with one session", fleet_live);
        fleet_restores += u32::from(restored(&mut chrome));
        mark(&mut chrome);
        chrome.eval("history.forward(); true");
        chrome.wait(20, "the host view again, live, with one session", host_live);
        host_restores += u32::from(restored(&mut chrome));
    }
    // The leak lives in the cache: if no page ever came back from it, nothing was tested.
    assert!(
        fleet_restores + host_restores > 0,
        "no page was restored from the back/forward cache"
    );
    assert_eq!(a.clients(), 0, "the page's own server holds no session");

    // A frozen page holds no session either; resumed, it takes one again.
    chrome.call("Page.setWebLifecycleState", json!({"state": "frozen"}));
    chrome.wait(20, "no session while frozen", |_| b.clients() == 0);
    chrome.call("Page.setWebLifecycleState", json!({"state": "active"}));
    chrome.wait(20, "one session once resumed", host_live);

    // Left for another site: none.
    chrome.call("Page.navigate", json!({"url": "about:blank"}));
    chrome.wait(20, "no session after leaving", |_| b.clients() == 0);
    assert_all_local(&chrome.requests);
    assert!(chrome.exceptions.is_empty(), "{:#?}", chrome.exceptions);
    eprintln!("back/forward cache restores: fleet {fleet_restores}, host {host_restores}");
}
