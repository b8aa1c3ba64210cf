//! Websocket sessions: the upgrade on a pool thread, then one thread per session.
//!
//! Why the socket is looked up in `/proc/self/fd`: `tiny_http::Request::upgrade` returns a
//! `Box<dyn ReadWrite + Send>` with no way to set timeouts or reach the `TcpStream`. A session
//! must read (pings, the client's close frame) without blocking its writes, and must not hang on
//! a client that stops reading. The socket options belong to the socket, not the descriptor, so
//! we find our descriptor for this peer, `dup` it, and set on the duplicate:
//! - a 1 ms read timeout, so after each frame the session drains what the client sent
//!   (`WouldBlock` ends the drain; tungstenite keeps partial frames), and answers a ping or a
//!   close within one tick without a second thread;
//! - a write timeout, so a client that stops reading is dropped instead of blocking forever.
//!
//! The session waits on its fan-out channel, so an idle session costs no CPU between ticks.
//! If the descriptor is not found (it always is on Linux), the session still streams and
//! notices a vanished peer at its next write, but does not read.

use crate::api::Ctx;
use crate::fanout::{Stream, Subscription};
use crate::http::{self, query_value};
use crossbeam_channel::select;
use std::io::ErrorKind;
use std::mem::ManuallyDrop;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};
use tiny_http::{Request, Response};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tungstenite::{Message, WebSocket};

/// The greeting the original sends first.
pub const GREETING: &str = "connected to monitor, transmitting data...";
/// Sent before closing with 1013 when `--max-clients` sessions are open.
pub const FULL: &str = "Server is at full capacity. Please try again later.";
/// Largest frame or message a client may send (the server only needs short texts).
pub const MAX_FRAME: usize = 64 * 1024;
/// Bytes tungstenite reads from the socket at a time.
const READ_BUFFER: usize = 4096;
/// A client that does not take a frame within this time is disconnected.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

type Ws = WebSocket<Timed>;

/// The upgraded stream with a deadline per message: from the first byte of a frame written
/// until its flush, at most [`WRITE_TIMEOUT`]. A socket write timeout alone is per write call,
/// so a client reading a few bytes at a time could stretch one frame over many timeouts.
struct Timed {
    inner: Box<dyn tiny_http::ReadWrite + Send>,
    /// Our duplicate of the socket, to set the time left before each write.
    socket: Option<TcpStream>,
    write_by: Option<Instant>,
}

impl std::io::Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl std::io::Write for Timed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let by = *self
            .write_by
            .get_or_insert_with(|| Instant::now() + WRITE_TIMEOUT);
        let left = by.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                ErrorKind::TimedOut,
                "client took no frame for the write timeout",
            ));
        }
        if let Some(s) = &self.socket {
            s.set_write_timeout(Some(left))?;
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()?;
        self.write_by = None;
        Ok(())
    }
}

/// Handles `GET /connect` and `GET /ws`: checks the handshake, upgrades, and starts a session.
pub fn upgrade(req: Request, query: &str, ctx: &Ctx) {
    let pairs = http::parse_query(query);
    let stream = match query_value(&pairs, "stream") {
        None | Some("system") => Stream::System,
        Some("network") => Stream::Network,
        Some(other) => {
            let reason = format!("'{other}' is not one of: system, network");
            let _ = req.respond(http::bad_parameter("stream", &reason));
            return;
        }
    };
    let head = |name: &'static str| {
        req.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_owned())
    };
    let is_upgrade = head("Upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_upgrade {
        let r = http::error(426, "this endpoint needs a websocket upgrade");
        let _ = req.respond(http::with(r, "Upgrade", "websocket"));
        return;
    }
    if head("Sec-WebSocket-Version").as_deref().map(str::trim) != Some("13") {
        let r = http::error(426, "unsupported websocket version: use 13");
        let _ = req.respond(http::with(r, "Sec-WebSocket-Version", "13"));
        return;
    }
    let key = match head("Sec-WebSocket-Key") {
        Some(k) if valid_key(k.trim()) => k.trim().to_owned(),
        _ => {
            let _ = req.respond(http::error(400, "missing or malformed Sec-WebSocket-Key"));
            return;
        }
    };
    let peer = req.remote_addr().copied();
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut resp = Response::empty(101);
    for (k, v) in [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept.as_str()),
    ] {
        if let Some(h) = http::header(k, v) {
            resp.add_header(h);
        }
    }
    let raw = req.upgrade("websocket", resp);
    let socket = peer.and_then(find_socket);
    if let Some(s) = &socket {
        let _ = s.set_read_timeout(Some(Duration::from_millis(1)));
        let _ = s.set_write_timeout(Some(WRITE_TIMEOUT));
    }
    // tungstenite's default 128 KiB read buffer is zero-filled to capacity on every read, so
    // each session kept 128 KiB resident (156 MiB with 1000 sessions). Clients send little:
    // pongs, close frames, short texts; larger frames still arrive, in more reads.
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(4 * MAX_FRAME)
        .max_frame_size(Some(MAX_FRAME))
        .max_message_size(Some(MAX_FRAME));
    let can_read = socket.is_some();
    let timed = Timed {
        inner: raw,
        socket,
        write_by: None,
    };
    let mut ws = WebSocket::from_raw_socket(timed, Role::Server, Some(config));
    let peer_text = peer.map_or_else(|| "unknown peer".to_owned(), |p| p.to_string());

    let claimed = query_value(&pairs, "id")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .is_some_and(|id| ctx.workers.claim(id));
    if !claimed {
        log::warn!("websocket from {peer_text} rejected: invalid worker id");
        close(&mut ws, CloseCode::Policy, "Invalid worker id");
        return;
    }
    let Some(sub) = ctx.hub.try_subscribe(stream, ctx.config.max_clients) else {
        log::warn!(
            "websocket from {peer_text} rejected: {} clients already connected",
            ctx.config.max_clients
        );
        let _ = ws.send(Message::text(FULL));
        close(&mut ws, CloseCode::Again, "Server is at full capacity");
        return;
    };
    let interval = ctx.config.interval;
    let first = ctx.latest.get().map(|p| match stream {
        Stream::System => p.frames.system.clone(),
        Stream::Network => p.frames.network.clone(),
    });
    let shutdown = ctx.shutdown.clone();
    let spawned = std::thread::Builder::new()
        .name("session".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            let started = Instant::now();
            log::info!("websocket session opened: {peer_text} ({stream:?})");
            let why = run(&mut ws, &sub, first, interval, can_read, &shutdown);
            drop(sub);
            log::info!(
                "websocket session closed: {peer_text} after {:.1}s ({why})",
                started.elapsed().as_secs_f64()
            );
            crate::heap::release_unused_stack();
        });
    if let Err(e) = spawned {
        log::warn!("could not start a session thread: {e}");
    }
}

/// Sends a close frame and flushes it; the client's reply is not awaited.
fn close(ws: &mut Ws, code: CloseCode, reason: &str) {
    let _ = ws.close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = ws.flush();
}

/// A `Sec-WebSocket-Key` is 16 random bytes in base64: 24 characters ending in `==`.
fn valid_key(k: &str) -> bool {
    let b = k.as_bytes();
    b.len() == 24
        && b.ends_with(b"==")
        && b[..22]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// Streams frames until the client leaves, stalls, or the server stops. Returns why it ended.
fn run(
    ws: &mut Ws,
    sub: &Subscription,
    first: Option<tungstenite::Utf8Bytes>,
    interval: Duration,
    can_read: bool,
    shutdown: &crossbeam_channel::Receiver<()>,
) -> String {
    if let Err(e) = ws.send(Message::text(GREETING)) {
        return format!("write failed: {e}");
    }
    let mut last_sent = Instant::now();
    if let Some(frame) = first {
        if let Err(e) = ws.send(Message::Text(frame)) {
            return format!("write failed: {e}");
        }
    }
    loop {
        select! {
            recv(sub.frames) -> frame => match frame {
                Ok(frame) => {
                    // The first frame went out at connect; a tick right after it would break
                    // the one-frame-per-interval pacing clients rely on, so skip it.
                    if last_sent.elapsed() >= interval / 2 {
                        if let Err(e) = ws.send(Message::Text(frame)) {
                            return format!("write failed: {e}");
                        }
                        last_sent = Instant::now();
                    }
                }
                Err(_) => return "server stopping".into(),
            },
            recv(shutdown) -> _ => {
                close(ws, CloseCode::Away, "server shutting down");
                return "server shutting down".into();
            },
            default(interval * 2) => {}
        }
        if can_read {
            if let Some(why) = drain(ws) {
                return why;
            }
        }
    }
}

/// Reads everything the client has sent: answers texts like the original, lets tungstenite
/// queue pongs and the close reply, then flushes. Returns why the session must end, if it must.
fn drain(ws: &mut Ws) -> Option<String> {
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let reply = format!("message received {}", t.as_str());
                if let Err(e) = ws.send(Message::text(reply)) {
                    return Some(format!("write failed: {e}"));
                }
            }
            Ok(Message::Close(_)) => {
                let _ = ws.flush();
                return Some("closed by client".into());
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                break;
            }
            Err(tungstenite::Error::ConnectionClosed) => return Some("closed by client".into()),
            // Say why before hanging up: unmasked or malformed frames (1002), a frame or
            // message over the 64 KiB cap, refused from its header before its payload is
            // read (1009).
            Err(e @ tungstenite::Error::Protocol(_)) => {
                close(ws, CloseCode::Protocol, "protocol error");
                return Some(format!("protocol error: {e}"));
            }
            Err(e @ tungstenite::Error::Capacity(_)) => {
                close(ws, CloseCode::Size, "frame too large");
                return Some(format!("too large: {e}"));
            }
            Err(e) => return Some(format!("read failed: {e}")),
        }
    }
    match ws.flush() {
        Ok(()) => None,
        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => None,
        Err(e) => Some(format!("write failed: {e}")),
    }
}

/// Finds this process's socket connected to `peer` and returns a duplicate of it.
///
/// The 4-tuple of a live TCP connection is unique and tiny_http keeps the connection open while
/// we hold the upgraded stream, so the match is this connection; the duplicate is checked again
/// in case the descriptor was closed and reused between the check and the `dup`.
pub fn find_socket(peer: SocketAddr) -> Option<TcpStream> {
    for entry in std::fs::read_dir("/proc/self/fd").ok()?.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: ManuallyDrop never closes `fd`; on a descriptor that is not a socket (or was
        // just closed) getpeername fails harmlessly with ENOTSOCK/EBADF.
        let probe = ManuallyDrop::new(unsafe { TcpStream::from_raw_fd(fd) });
        if probe.peer_addr().ok() == Some(peer) {
            let dup = probe.try_clone().ok()?;
            if dup.peer_addr().ok() == Some(peer) {
                return Some(dup);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::valid_key;

    #[test]
    fn websocket_keys() {
        assert!(valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!valid_key("dGhlIHNhbXBsZSBub25jZQ="));
        assert!(!valid_key("dGhlIHNhbXBsZSBub25jZ!=="));
        // 24 bytes with a two-byte character across byte 22: invalid, and no panic.
        assert!(!valid_key("aaaaaaaaaaaaaaaaaaaaa\u{e9}="));
    }
}
