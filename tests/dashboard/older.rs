//! A house is upgraded one box at a time: the dashboard must still show a server from before
//! `stream=dashboard` and `stream=summary` (an older psmonitor, or the original). The stand-in
//! here is such a server: `POST /` gives a worker id, `/system` and `/network` are a real
//! server's, there is no `/health`, and a websocket that asks for another stream than
//! `system` or `network` is refused with `400`, as older servers do. It is an odd host too: its
//! system JSON has a sensor of a type the page does not know and a mount point of 150 bytes.

use crate::chrome::*;
use crate::common::{self, Server};
use serde_json::json;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tungstenite::handshake::server::{ErrorResponse, Request, Response};

/// The stand-in server; stops when dropped.
struct Older {
    addr: SocketAddr,
    /// Websocket handshakes refused for their `stream=`, and sessions served.
    refused: Arc<AtomicUsize>,
    served: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Drop for Older {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Starts the stand-in, answering with what the real server at `real` says.
fn older(real: SocketAddr) -> Older {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let o = Older {
        addr: listener.local_addr().unwrap(),
        refused: Arc::default(),
        served: Arc::default(),
        stop: Arc::default(),
    };
    let (refused, served, stop) = (o.refused.clone(), o.served.clone(), o.stop.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let Ok(conn) = conn else { continue };
            let (refused, served, stop) = (refused.clone(), served.clone(), stop.clone());
            std::thread::spawn(move || serve(conn, real, &refused, &served, &stop));
        }
    });
    o
}

/// One connection: a websocket handshake (peeked, so tungstenite reads it whole) or one plain
/// request, answered and closed.
// tungstenite's handshake callback fixes the error type (an HTTP response).
#[allow(clippy::result_large_err)]
fn serve(
    mut conn: TcpStream,
    real: SocketAddr,
    refused: &AtomicUsize,
    served: &AtomicUsize,
    stop: &AtomicBool,
) {
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut peek = [0u8; 8192];
    let head = loop {
        let Ok(n) = conn.peek(&mut peek) else { return };
        let text = String::from_utf8_lossy(&peek[..n]).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            break text[..end + 4].to_owned();
        }
        if n == 0 || n == peek.len() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if head.to_ascii_lowercase().contains("upgrade: websocket") {
        let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
            let query = req.uri().query().unwrap_or("");
            let other = query.split('&').any(|kv| {
                kv.strip_prefix("stream=")
                    .is_some_and(|v| v != "system" && v != "network")
            });
            if other {
                refused.fetch_add(1, Ordering::Relaxed);
                let mut no = ErrorResponse::new(Some("unknown stream".into()));
                *no.status_mut() = tungstenite::http::StatusCode::BAD_REQUEST;
                return Err(no);
            }
            Ok(resp)
        };
        let Ok(mut ws) = tungstenite::accept_hdr(conn, check) else {
            return;
        };
        served.fetch_add(1, Ordering::Relaxed);
        while !stop.load(Ordering::Relaxed) {
            let frame = odd(&common::request(real, "GET", "/system", &[], b"").text());
            if ws.send(tungstenite::Message::text(frame)).is_err() {
                return;
            }
            // Pacing: the stand-in's frame rate; the page's checks wait for frames, not time.
            std::thread::sleep(Duration::from_millis(250));
        }
        return;
    }
    let mut buf = vec![0u8; head.len()];
    if conn.read_exact(&mut buf).is_err() {
        return;
    }
    let first = head.lines().next().unwrap_or("");
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = conn.read_exact(&mut body);
    let (status, text) = match first.split(' ').take(2).collect::<Vec<_>>()[..] {
        ["POST", "/"] => (
            200,
            json!({"id": format!("w{}", served.load(Ordering::Relaxed))}).to_string(),
        ),
        ["GET", path @ ("/system" | "/network")] => {
            (200, common::request(real, "GET", path, &[], b"").text())
        }
        _ => (404, r#"{"error": "not found"}"#.to_owned()),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nAccess-Control-Allow-Origin: *\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// The system JSON with a sensor of an unknown type and a very long mount point added.
fn odd(system: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(system).expect("system JSON");
    let sensor = json!({"name": "pmbus", "label": "in_power", "type": "power", "watts": 12.5});
    if let Some(a) = v["sensors"].as_array_mut() {
        a.push(sensor);
    }
    let long = format!(
        "/var/lib/kubelet/pods/{}/volumes/csi",
        "0123456789abcdef".repeat(8)
    );
    let disk = json!({"device": "/dev/odd", "mountpoint": long, "fstype": "ext4", "total": 10.0, "used": 9.5, "free": 0.5, "percent": 95.0});
    if let Some(a) = v["disks"].as_array_mut() {
        a.push(disk);
    }
    v.to_string()
}

#[test]
fn servers_without_the_newer_streams_are_still_shown() {
    let real = Server::start(&["--interval", "200"]);
    let old = older(real.addr);
    let hosts = format!(
        "127.0.0.1:{},127.0.0.1:{}",
        real.addr.port(),
        old.addr.port()
    );
    let mut chrome = Chrome::open(&real.url(&format!("/?hosts={hosts}")));
    let states = "[...document.querySelectorAll('.hcard')].map(c => c.dataset.state)";
    chrome.wait(40, "both cards live, the older server's too", |c| {
        c.eval(states) == json!(["live", "live"])
    });
    chrome.wait(10, "CPU figures on both cards", |c| {
        let v =
            c.eval("[...document.querySelectorAll('.hcard .cpurow .num')].map(e => e.textContent)");
        v.as_array().is_some_and(|a| {
            a.iter()
                .all(|t| percent(t.as_str().unwrap_or("")).is_some())
        })
    });
    assert!(
        old.refused.load(Ordering::Relaxed) >= 2,
        "the summary stream was refused first"
    );
    assert!(
        old.served.load(Ordering::Relaxed) >= 1,
        "then the default stream served"
    );

    let served = old.served.load(Ordering::Relaxed);
    chrome.call(
        "Page.navigate",
        json!({"url": real.url(&format!("/?server=127.0.0.1:{}", old.addr.port()))}),
    );
    chrome.wait(40, "the older server's full view, live", |c| {
        c.eval("location.search")
            .as_str()
            .is_some_and(|s| s.starts_with("?server="))
            && c.eval(STATE) == json!("live")
    });
    let f0 = chrome.frames();
    chrome.wait(10, "frames from the older server", |c| c.frames() >= f0 + 3);
    assert!(percent(&chrome.text("cpu-usage")).is_some());
    assert!(
        old.served.load(Ordering::Relaxed) > served,
        "a default-stream session"
    );
    assert_all_local(&chrome.requests);
    assert!(chrome.exceptions.is_empty(), "{:#?}", chrome.exceptions);
}
