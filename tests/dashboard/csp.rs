//! The dashboard under its own Content-Security-Policy: both views run with no violation
//! reported, and the policy is in force (an inline script is refused).

use crate::chrome::*;
use crate::common::Server;
use serde_json::json;

/// Collects `securitypolicyviolation` events from the first script of every document.
const WATCH: &str = "window.__csp = []; document.addEventListener('securitypolicyviolation', \
                     e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));";

#[test]
fn both_views_run_under_the_content_security_policy() {
    let a = Server::start(&["--interval", "200"]);
    let b = Server::start(&["--interval", "200"]);
    let mut chrome = Chrome::launch();
    chrome.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": WATCH }),
    );
    chrome.call("Page.navigate", json!({ "url": a.url("/") }));
    chrome.wait(20, "the host view `live`", |c| {
        c.eval(STATE) == json!("live")
    });
    let f0 = chrome.frames();
    chrome.wait(10, "frames", |c| c.frames() >= f0 + 3);
    assert_eq!(chrome.eval("window.__csp"), json!([]), "no violation");

    let hosts = format!("127.0.0.1:{},127.0.0.1:{}", a.addr.port(), b.addr.port());
    chrome.call(
        "Page.navigate",
        json!({ "url": a.url(&format!("/?hosts={hosts}")) }),
    );
    chrome.wait(20, "two live fleet cards", |c| {
        c.eval("[...document.querySelectorAll('#fleet-grid .hcard')].filter(c => c.dataset.state === 'live').length")
            == json!(2)
    });
    assert_eq!(chrome.eval("window.__csp"), json!([]), "no violation");

    // In force: an inline script added to the page does not run and is reported.
    chrome.eval(
        "window.__ran = false; const s = document.createElement('script'); \
         s.textContent = 'window.__ran = true'; document.body.appendChild(s); true",
    );
    chrome.wait(5, "the inline script reported", |c| {
        c.eval("window.__csp.some(v => v.startsWith('script-src'))") == json!(true)
    });
    assert_eq!(chrome.eval("window.__ran"), json!(false));
    assert!(chrome.exceptions.is_empty(), "{:#?}", chrome.exceptions);
}
