//! The dashboard over TLS behind a user: the page, its requests and its websocket (`wss://`)
//! in a real browser, under the page's Content-Security-Policy.

use crate::chrome::*;
use crate::common::tls::Pki;
use crate::common::Server;
use serde_json::json;

#[test]
fn the_dashboard_runs_over_tls_behind_a_user() {
    let pki = Pki::new("dash");
    let hash = bcrypt::hash("secret", 4).unwrap();
    let config = pki.web_config(&format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  alice: {hash}\n"
    ));
    let s = Server::start(&["--interval", "200", "--web.config.file", &config]);
    // The test's own CA is not in the browser's store; the user is sent as the browser sends
    // it once its Basic prompt was answered.
    let mut chrome = Chrome::launch_with(&["--ignore-certificate-errors"]);
    chrome.call(
        "Network.setExtraHTTPHeaders",
        json!({ "headers": { "Authorization": "Basic YWxpY2U6c2VjcmV0" } }),
    );
    let url = format!("https://localhost:{}/", s.addr.port());
    chrome.call("Page.navigate", json!({ "url": url }));
    chrome.wait(20, "`live` over TLS", |c| c.eval(STATE) == json!("live"));
    let f0 = chrome.frames();
    chrome.wait(10, "frames over wss", |c| c.frames() >= f0 + 3);
    assert!(percent(&chrome.text("cpu-usage")).is_some());
    assert!(
        chrome
            .requests
            .iter()
            .any(|u| u.starts_with("wss://localhost:")),
        "{:#?}",
        chrome.requests
    );
    assert!(chrome.exceptions.is_empty(), "{:#?}", chrome.exceptions);
}
