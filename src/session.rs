//! Websocket sessions: the handshake on a pool thread, then one thread per session.
//!
//! A session thread waits with `poll(2)` on two descriptors: its socket and its subscription's
//! doorbell (rung by the sampler after each frame and by the hub at shutdown). So it answers a
//! ping or a close within moments whatever the interval, costs no CPU between events, and
//! needs no second thread. The socket comes from tiny_http's `upgrade_tcp`; reads are
//! non-blocking (`MSG_DONTWAIT`: a partial frame waits in tungstenite's buffer for the next
//! wake-up), writes block with a whole-frame deadline so a client that stops reading is dropped.

use crate::fanout::{Refused, Stream, Subscription};
use crate::http::{self, query_value, Reply};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};
use tiny_http::{Request, Response};
use tungstenite::error::ProtocolError;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tungstenite::{Message, Utf8Bytes, WebSocket};

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

type Ws = WebSocket<Socket>;

/// The upgraded socket: what the client sent after its handshake first, then non-blocking
/// reads; writes with a deadline per message, from the first byte written until its flush (a
/// socket write timeout alone is per write call, so a client reading a few bytes at a time
/// could stretch one frame over many timeouts).
struct Socket {
    stream: TcpStream,
    /// On a TLS connection, its session: plaintext is read and written through it.
    tls: Option<tiny_http::TlsSession>,
    buffered: std::io::Cursor<Vec<u8>>,
    write_by: Option<Instant>,
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if (self.buffered.position() as usize) < self.buffered.get_ref().len() {
            return self.buffered.read(buf);
        }
        if let Some(tls) = &self.tls {
            return tls.read_nonblocking(buf);
        }
        // SAFETY: reads at most `buf.len()` bytes into `buf` from our own socket.
        let n = unsafe {
            libc::recv(
                self.stream.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl Write for Socket {
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
        self.stream.set_write_timeout(Some(left))?;
        let written = match &self.tls {
            Some(tls) => tls.write(buf),
            None => (&self.stream).write(buf),
        };
        match written {
            // SO_SNDTIMEO expiring reads as EAGAIN: the deadline passed.
            Err(e) if e.kind() == ErrorKind::WouldBlock => Err(std::io::Error::new(
                ErrorKind::TimedOut,
                "client took no frame for the write timeout",
            )),
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_by = None;
        Ok(())
    }
}

/// A checked websocket handshake, before the upgrade.
pub struct Handshake {
    pub stream: Stream,
    accept: String,
}

impl Handshake {
    /// Checks the handshake of `GET /connect` or `/ws`; the refusal to send if it is wrong.
    pub fn check(req: &Request, query: &str) -> Result<Handshake, Reply> {
        let pairs = http::parse_query(query);
        let stream = match query_value(&pairs, "stream") {
            None => Stream::System,
            Some(name) => match Stream::named(name) {
                Some(stream) => stream,
                None => {
                    let names: Vec<&str> = Stream::ALL.iter().map(|(n, _)| *n).collect();
                    let reason = format!("'{name}' is not one of: {}", names.join(", "));
                    return Err(http::bad_parameter("stream", &reason));
                }
            },
        };
        let head =
            |name: &'static str| http::request_header(req, name).map(|v| v.trim().to_owned());
        let wants_websocket = head("Upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        // Any declared framing, even `Content-Length: 0`, makes it a request with a body.
        let has_body = req.body_length().is_some() || head("Transfer-Encoding").is_some();
        if wants_websocket && has_body {
            // tiny_http takes no request with a body for an upgrade (its framing would be
            // ambiguous); say so rather than "needs an upgrade" to a client that asked for one.
            return Err(http::error(
                400,
                "a websocket handshake must not have a body (send GET without Content-Length or Transfer-Encoding)",
            ));
        }
        let is_upgrade = wants_websocket && req.asks_upgrade();
        if !is_upgrade {
            let r = http::error(426, "this endpoint needs a websocket upgrade");
            return Err(http::with(r, "Upgrade", "websocket"));
        }
        if head("Sec-WebSocket-Version").as_deref() != Some("13") {
            let r = http::error(426, "unsupported websocket version: use 13");
            return Err(http::with(r, "Sec-WebSocket-Version", "13"));
        }
        match head("Sec-WebSocket-Key") {
            Some(k) if valid_key(&k) => Ok(Handshake {
                stream,
                accept: tungstenite::handshake::derive_accept_key(k.as_bytes()),
            }),
            _ => Err(http::error(400, "missing or malformed Sec-WebSocket-Key")),
        }
    }
}

/// Whether the client may have its session: decided by the caller (the worker claim and the
/// hub's caps), told to the client over the websocket as the original does.
pub enum Admission {
    Open(Subscription),
    BadWorker,
    Refused(Refused),
}

/// What a session needs besides its socket.
pub struct Params {
    pub admission: Admission,
    /// The newest frame, sent right after the greeting.
    pub first: Option<Utf8Bytes>,
    pub interval: Duration,
    pub peer: String,
}

/// Upgrades the connection and starts the session thread (or closes with the reason the
/// session was not admitted).
pub fn start(req: Request, hs: Handshake, params: Params) {
    let mut resp = Response::empty(101);
    for (k, v) in [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", hs.accept.as_str()),
    ] {
        if let Some(h) = http::header(k, v) {
            resp.add_header(h);
        }
    }
    let up = match req.upgrade_tcp("websocket", resp) {
        Ok(up) => up,
        Err(e) => {
            log::warn!("websocket from {} failed at the upgrade: {e}", params.peer);
            return;
        }
    };
    // tungstenite's default 128 KiB read buffer is zero-filled to capacity on every read, so
    // each session kept 128 KiB resident. Clients send little: pongs, close frames, short
    // texts. Outgoing frames are written straight to the socket (no write buffer) and may be
    // of any size: a snapshot with long process names is still sent.
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(usize::MAX)
        .max_frame_size(Some(MAX_FRAME))
        .max_message_size(Some(MAX_FRAME));
    let socket = Socket {
        stream: up.stream,
        tls: up.tls,
        buffered: std::io::Cursor::new(up.buffered),
        write_by: None,
    };
    let mut ws = WebSocket::from_raw_socket(socket, Role::Server, Some(config));
    let Params {
        admission,
        first,
        interval,
        peer,
    } = params;
    let sub = match admission {
        Admission::Open(sub) => sub,
        Admission::BadWorker => {
            log::warn!("websocket from {peer} rejected: invalid worker id");
            return close(&mut ws, CloseCode::Policy, "Invalid worker id");
        }
        Admission::Refused(why) => {
            log::warn!("websocket from {peer} rejected: {why:?}");
            return match why {
                Refused::Stopping => close(&mut ws, CloseCode::Away, "server shutting down"),
                _ => {
                    let _ = ws.send(Message::text(FULL));
                    close(&mut ws, CloseCode::Again, "Server is at full capacity")
                }
            };
        }
    };
    let stream = hs.stream;
    let spawned = std::thread::Builder::new()
        .name("session".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            let started = Instant::now();
            log::info!("websocket session opened: {peer} ({stream:?})");
            let why = run(&mut ws, &sub, first, interval);
            drop(sub);
            log::info!(
                "websocket session closed: {peer} after {:.1}s ({why})",
                started.elapsed().as_secs_f64()
            );
            crate::heap::release_unused_stack();
        });
    if let Err(e) = spawned {
        log::warn!("could not start a session thread: {e}");
    }
}

/// How long a closing session waits for the client's close reply before hanging up.
const LINGER: Duration = Duration::from_millis(100);

/// Sends a close frame and flushes it, then waits briefly for the client's reply: closing a
/// socket with unread data sends a reset, which can destroy the close frame before the client
/// reads it.
fn close(ws: &mut Ws, code: CloseCode, reason: &str) {
    let _ = ws.close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = ws.flush();
    if let Some(tls) = &ws.get_ref().tls {
        tls.close();
    }
    let stream = &ws.get_ref().stream;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(LINGER));
    let by = Instant::now() + LINGER;
    let mut scratch = [0u8; 4096];
    while Instant::now() < by {
        match (&*stream).read(&mut scratch) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
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

/// What woke a session.
struct Woken {
    socket: bool,
    bell: bool,
}

/// Waits until the socket has something to read (or hung up) or the doorbell rang, at most
/// `timeout` (a lost wake-up costs one timeout, never the session).
fn wait(ws: &Ws, sub: &Subscription, timeout: Duration) -> Woken {
    let mut fds = [
        libc::pollfd {
            fd: ws.get_ref().stream.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: sub.bell.fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `fds` is a valid array of two pollfd for the duration of the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    if n <= 0 {
        return Woken {
            socket: false,
            bell: false,
        };
    }
    Woken {
        socket: fds[0].revents != 0,
        bell: fds[1].revents != 0,
    }
}

/// Streams frames until the client leaves, stalls, or the server stops. Returns why it ended.
fn run(ws: &mut Ws, sub: &Subscription, first: Option<Utf8Bytes>, interval: Duration) -> String {
    if let Err(e) = ws.send(Message::text(GREETING)) {
        return format!("write failed: {e}");
    }
    let mut last_sent = Instant::now();
    if let Some(frame) = first {
        if let Err(e) = ws.send(Message::Text(frame)) {
            return format!("write failed: {e}");
        }
    }
    // What the client sent with its handshake.
    if let Some(why) = drain(ws) {
        return why;
    }
    loop {
        let woken = wait(ws, sub, interval * 2 + Duration::from_secs(1));
        if woken.bell {
            sub.bell.clear();
            if sub.stopping() {
                close(ws, CloseCode::Away, "server shutting down");
                return "server shutting down".into();
            }
            if let Ok(frame) = sub.frames.try_recv() {
                // The first frame went out at connect; a tick right after it would break
                // the one-frame-per-interval pacing clients rely on, so skip it.
                if last_sent.elapsed() >= interval / 2 {
                    if let Err(e) = ws.send(Message::Text(frame)) {
                        return format!("write failed: {e}");
                    }
                    last_sent = Instant::now();
                }
            }
        }
        if woken.socket {
            if let Some(why) = drain(ws) {
                return why;
            }
        }
    }
}

/// Messages read per wake-up: a client that keeps the socket full (a ping flood) must not keep
/// the session from its frames and from noticing shutdown.
const DRAIN_BATCH: usize = 64;

/// Reads what the client has sent (at most [`DRAIN_BATCH`] messages): answers texts like the
/// original, lets tungstenite queue pongs and the close reply, then flushes. Returns why the
/// session must end, if it must.
fn drain(ws: &mut Ws) -> Option<String> {
    for _ in 0..DRAIN_BATCH {
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
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => return Some(ended(ws, e)),
        }
    }
    match ws.flush() {
        Ok(()) => None,
        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => None,
        Err(e) => Some(format!("write failed: {e}")),
    }
}

/// Ends a session after a read error: says why to the client where it can still hear it
/// (1007 invalid UTF-8, 1002 protocol errors, 1009 frames over the 64 KiB cap, refused from
/// their header before their payload is read), and says what happened in the log.
fn ended(ws: &mut Ws, e: tungstenite::Error) -> String {
    use tungstenite::Error as E;
    match e {
        E::ConnectionClosed | E::AlreadyClosed => "closed by client".into(),
        E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "client disconnected without a close frame".into()
        }
        E::Io(e)
            if matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof
            ) =>
        {
            "client disconnected without a close frame".into()
        }
        E::Utf8(e) => {
            close(ws, CloseCode::Invalid, "invalid UTF-8");
            format!("invalid UTF-8 from the client: {e}")
        }
        E::Protocol(e) => {
            close(ws, CloseCode::Protocol, "protocol error");
            format!("protocol error: {e}")
        }
        E::Capacity(e) => {
            close(ws, CloseCode::Size, "frame too large");
            format!("too large: {e}")
        }
        e => format!("read failed: {e}"),
    }
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
