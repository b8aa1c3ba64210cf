//! # Simple usage
//!
//! ## Creating the server
//!
//! The easiest way to create a server is to call `Server::http()`.
//!
//! The `http()` function returns an `IoResult<Server>` which will return an error
//! in the case where the server creation fails (for example if the listening port is already
//! occupied).
//!
//! ```no_run
//! let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! ```
//!
//! A newly-created `Server` will immediately start listening for incoming connections and HTTP
//! requests.
//!
//! ## Receiving requests
//!
//! Calling `server.recv()` will block until the next request is available.
//! This function returns an `IoResult<Request>`, so you need to handle the possible errors.
//!
//! ```no_run
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//!
//! loop {
//!     // blocks until the next request is received
//!     let request = match server.recv() {
//!         Ok(rq) => rq,
//!         Err(e) => { println!("error: {}", e); break }
//!     };
//!
//!     // do something with the request
//!     // ...
//! }
//! ```
//!
//! In a real-case scenario, you will probably want to spawn multiple worker tasks and call
//! `server.recv()` on all of them. Like this:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use std::thread;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! let server = Arc::new(server);
//! let mut guards = Vec::with_capacity(4);
//!
//! for _ in (0 .. 4) {
//!     let server = server.clone();
//!
//!     let guard = thread::spawn(move || {
//!         loop {
//!             let rq = server.recv().unwrap();
//!
//!             // ...
//!         }
//!     });
//!
//!     guards.push(guard);
//! }
//! ```
//!
//! If you don't want to block, you can call `server.try_recv()` instead.
//!
//! ## Handling requests
//!
//! The `Request` object returned by `server.recv()` contains informations about the client's request.
//! The most useful methods are probably `request.method()` and `request.url()` which return
//! the requested method (`GET`, `POST`, etc.) and url.
//!
//! To handle a request, you need to create a `Response` object. See the docs of this object for
//! more infos. Here is an example of creating a `Response` from a file:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! ```
//!
//! All that remains to do is call `request.respond()`:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! # let request = server.recv().unwrap();
//! # let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! let _ = request.respond(response);
//! ```
// PATCH: `deny` instead of `forbid`, so that the one `ioctl(FIONREAD)` of the connection
// table can be allowed where it is.
#![deny(unsafe_code)]
#![deny(rust_2018_idioms)]
#![allow(clippy::match_like_matches_macro)]
// PATCH: lints newer than the upstream code they fire on (psmonitor runs clippy on the fork
// as a workspace member); the patched code itself is clean of them.
#![allow(
    clippy::doc_overindented_list_items,
    clippy::large_enum_variant,
    clippy::io_other_error,
    clippy::collapsible_if,
    clippy::needless_borrow,
    clippy::unnecessary_map_or
)]

#[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
use zeroize::Zeroizing;

use std::collections::VecDeque;
use std::error::Error;
use std::io::Error as IoError;
use std::io::ErrorKind as IoErrorKind;
use std::io::Result as IoResult;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use client::ClientConnection;
use connection::Connection;
use util::MessagesQueue;

pub use common::{HTTPVersion, Header, HeaderField, Method, StatusCode};
pub use connection::{ConfigListenAddr, ListenAddr, Listener};
pub use request::{ReadWrite, Request, Upgraded};
pub use response::{Response, ResponseBox};
/// PATCH: the rustls the TLS configuration is built with.
pub use rustls;
pub use test::TestRequest;
pub use tls::{TlsConfigSlot, TlsSession};
pub use util::PeerKey;

mod client;
mod common;
mod connection;
mod http1;
mod request;
mod response;
mod ssl;
mod test;
mod tls;
mod util;

/// The main class of this library.
///
/// Destroying this object will immediately close the listening socket and the reading
///  part of all the client's connections. Requests that have already been returned by
///  the `recv()` function will not close and the responses will be transferred to the client.
pub struct Server {
    // should be false as long as the server exists
    // when set to true, all the subtasks will close within a few hundreds ms
    close: Arc<AtomicBool>,

    // queue for messages received by child threads
    messages: Arc<MessagesQueue<Message>>,

    // result of TcpListener::local_addr()
    listening_addr: ListenAddr,
}

enum Message {
    Error(IoError),
    NewRequest(Request),
}

impl From<IoError> for Message {
    fn from(e: IoError) -> Message {
        Message::Error(e)
    }
}

impl From<Request> for Message {
    fn from(rq: Request) -> Message {
        Message::NewRequest(rq)
    }
}

// this trait is to make sure that Server implements Share and Send
#[doc(hidden)]
#[allow(dead_code)]
trait MustBeShareDummy: Sync + Send {}
#[doc(hidden)]
impl MustBeShareDummy for Server {}

pub struct IncomingRequests<'a> {
    server: &'a Server,
}

/// Represents the parameters required to create a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The addresses to try to listen to.
    pub addr: ConfigListenAddr,

    /// If `Some`, then the server will use SSL to encode the communications.
    pub ssl: Option<SslConfig>,
}

/// Configuration of the server for SSL.
#[derive(Debug, Clone)]
pub struct SslConfig {
    /// Contains the public certificate to send to clients.
    pub certificate: Vec<u8>,
    /// Contains the ultra-secret private key used to decode communications.
    pub private_key: Vec<u8>,
}

impl Server {
    /// Shortcut for a simple server on a specific address.
    #[inline]
    pub fn http<A>(addr: A) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        A: ToSocketAddrs,
    {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::from_socket_addrs(addr)?,
            ssl: None,
        })
    }

    /// Shortcut for an HTTPS server on a specific address.
    #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
    #[inline]
    pub fn https<A>(
        addr: A,
        config: SslConfig,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        A: ToSocketAddrs,
    {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::from_socket_addrs(addr)?,
            ssl: Some(config),
        })
    }

    #[cfg(unix)]
    #[inline]
    /// Shortcut for a UNIX socket server at a specific path
    pub fn http_unix(
        path: &std::path::Path,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::unix_from_path(path),
            ssl: None,
        })
    }

    /// Builds a new server that listens on the specified address.
    pub fn new(config: ServerConfig) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let listener = config.addr.bind()?;
        Self::from_listener(listener, config.ssl)
    }

    /// Builds a new server using the specified TCP listener.
    ///
    /// This is useful if you've constructed TcpListener using some less usual method
    /// such as from systemd. For other cases, you probably want the `new()` function.
    pub fn from_listener<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Server::from_listener_with_limits(listener, ssl_config, Limits::default())
    }

    /// PATCH: `from_listener` with bounds on connections and on the time and size of
    /// requests; see [`Limits`].
    pub fn from_listener_with_limits<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
        limits: Limits,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let listener = listener.into();
        // building the "close" variable
        let close_trigger = Arc::new(AtomicBool::new(false));

        // building the TcpListener
        let (server, local_addr) = {
            let local_addr = listener.local_addr()?;
            log::debug!("Server listening on {}", local_addr);
            (listener, local_addr)
        };

        // building the SSL capabilities
        #[cfg(all(feature = "ssl-openssl", feature = "ssl-rustls"))]
        compile_error!(
            "Features 'ssl-openssl' and 'ssl-rustls' must not be enabled at the same time"
        );
        #[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
        type SslContext = ();
        #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
        type SslContext = crate::ssl::SslContextImpl;
        let ssl: Option<SslContext> = {
            match ssl_config {
                #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
                Some(config) => Some(SslContext::from_pem(
                    config.certificate,
                    Zeroizing::new(config.private_key),
                )?),
                #[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
                Some(_) => return Err(
                    "Building a server with SSL requires enabling the `ssl` feature in tiny-http"
                        .into(),
                ),
                None => None,
            }
        };

        // PATCH: the patched accept loop serves plain HTTP only (psmonitor builds no TLS).
        if ssl.is_some() {
            return Err("this patched tiny_http serves plain HTTP only".into());
        }

        // creating a task where server.accept() is continuously called
        // and ClientConnection objects are pushed in the messages queue
        let messages = MessagesQueue::with_capacity(8);

        let inside_close_trigger = close_trigger.clone();
        let inside_messages = messages.clone();
        // PATCH: a thread that cannot be started is an error, not a panic.
        thread::Builder::new()
            .name("http-accept".into())
            .spawn(move || accept_loop(server, limits, inside_close_trigger, inside_messages))?;

        // result
        Ok(Server {
            messages,
            close: close_trigger,
            listening_addr: local_addr,
        })
    }

    /// Returns an iterator for all the incoming requests.
    ///
    /// The iterator will return `None` if the server socket is shutdown.
    #[inline]
    pub fn incoming_requests(&self) -> IncomingRequests<'_> {
        IncomingRequests { server: self }
    }

    /// Returns the address the server is listening to.
    #[inline]
    pub fn server_addr(&self) -> ListenAddr {
        self.listening_addr.clone()
    }

    /// Returns the number of clients currently connected to the server.
    pub fn num_connections(&self) -> usize {
        unimplemented!()
        //self.requests_receiver.lock().len()
    }

    /// Blocks until an HTTP request has been submitted and returns it.
    pub fn recv(&self) -> IoResult<Request> {
        match self.messages.pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(rq),
            None => Err(IoError::new(IoErrorKind::Other, "thread unblocked")),
        }
    }

    /// Same as `recv()` but doesn't block longer than timeout
    pub fn recv_timeout(&self, timeout: Duration) -> IoResult<Option<Request>> {
        match self.messages.pop_timeout(timeout) {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Same as `recv()` but doesn't block.
    pub fn try_recv(&self) -> IoResult<Option<Request>> {
        match self.messages.try_pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Unblock thread stuck in recv() or incoming_requests().
    /// If there are several such threads, only one is unblocked.
    /// This method allows graceful shutdown of server.
    pub fn unblock(&self) {
        self.messages.unblock();
    }
}

impl Iterator for IncomingRequests<'_> {
    type Item = Request;
    fn next(&mut self) -> Option<Request> {
        self.server.recv().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close.store(true, Relaxed);
        // Connect briefly to ourselves to unblock the accept thread
        let maybe_stream = match &self.listening_addr {
            ListenAddr::IP(addr) => TcpStream::connect(addr).map(Connection::from),
            #[cfg(unix)]
            ListenAddr::Unix(addr) => {
                // TODO: use connect_addr when its stabilized.
                let path = addr.as_pathname().unwrap();
                std::os::unix::net::UnixStream::connect(path).map(Connection::from)
            }
        };
        if let Ok(stream) = maybe_stream {
            let _ = stream.shutdown(Shutdown::Both);
        }

        #[cfg(unix)]
        if let ListenAddr::Unix(addr) = &self.listening_addr {
            if let Some(path) = addr.as_pathname() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// PATCH: how the embedding server words the refusals tiny_http writes itself: given the
/// status and the reason, the headers (not `Connection` or `Content-Length`) and the body.
pub type RefusalHook = Arc<dyn Fn(u16, &str) -> (Vec<Header>, Vec<u8>) + Send + Sync>;

/// PATCH: what one connection may cost. The original had no bound on any of these: one thread
/// per open connection, no timeouts, unlimited head lines.
#[derive(Clone)]
pub struct Limits {
    /// Connections served at once (each holds one thread until it closes; an upgraded
    /// connection stops counting once upgraded). A newcomer that finds them all open takes the
    /// place of an idle or slow one, or of a half-sent request of a peer holding more than its
    /// fair share (`util/conn_table.rs`); if none can be shed it gets a 503.
    pub max_connections: usize,
    /// Connections one peer (an IPv4 address, an IPv6 /64) may hold open; past it a 503.
    pub max_connections_per_peer: usize,
    /// A request's head must arrive within this from its first byte, its body within this
    /// from the end of the head, and a kept-alive connection must start its next request
    /// within this. Also the write timeout of responses.
    pub request_timeout: Duration,
    /// Bytes in a request line and its headers together; past it, 431.
    pub max_head_bytes: usize,
    /// Header fields in a request; past it, 431.
    pub max_headers: usize,
    /// How refusals are worded; `None` for plain text.
    pub refusal: Option<RefusalHook>,
    /// PATCH: TLS on every connection, with the configuration in force when it is accepted.
    pub tls: Option<TlsConfigSlot>,
    /// A connection that has been reading its head or body, or writing its answer, this long
    /// may be shed for a newcomer when the table is full (a second; tests lengthen it so that
    /// "still young" does not depend on how fast the machine is).
    pub slow_after: Duration,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_peer", &self.max_connections_per_peer)
            .field("request_timeout", &self.request_timeout)
            .field("max_head_bytes", &self.max_head_bytes)
            .field("max_headers", &self.max_headers)
            .field("slow_after", &self.slow_after)
            .finish()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_connections_per_peer: 1024,
            request_timeout: Duration::from_secs(30),
            max_head_bytes: 16 * 1024,
            max_headers: 100,
            refusal: None,
            tls: None,
            slow_after: Duration::from_secs(1),
        }
    }
}

/// PATCH: refused connections are kept a moment before closing: closing a socket with the
/// client's request still unread sends a reset, which can destroy the 503 before the client
/// reads it.
const REFUSED_LINGER: Duration = Duration::from_millis(500);
const REFUSED_HELD: usize = 64;

/// PATCH: answers a connection the table refused without giving it a thread.
fn refuse_busy(sock: Connection, bytes: Vec<u8>, refused: &mut VecDeque<(Instant, Connection)>) {
    log::debug!("connection refused: at a connection limit");
    let mut sock = sock;
    if let Connection::Tcp(ref s) = sock {
        let _ = s.set_nonblocking(true);
    }
    let _ = sock.write(&bytes);
    let _ = sock.shutdown(Shutdown::Write);
    if refused.len() == REFUSED_HELD {
        if let Some((_, old)) = refused.pop_front() {
            drop(old);
        }
    }
    refused.push_back((Instant::now(), sock));
}

/// PATCH: closes refused connections that have lingered long enough (all of them if `all`),
/// reading what they sent so the close is a clean FIN.
fn close_refused(refused: &mut VecDeque<(Instant, Connection)>, all: bool) {
    let mut scratch = [0u8; 1024];
    while let Some((at, _)) = refused.front() {
        if !all && at.elapsed() < REFUSED_LINGER {
            break;
        }
        if let Some((_, mut sock)) = refused.pop_front() {
            while matches!(sock.read(&mut scratch), Ok(n) if n > 0) {}
        }
    }
}

/// PATCH: the accept thread's loop (the original's, with the connection table, per-peer caps,
/// shedding, refusals written by hand and accept errors survived).
fn accept_loop(
    server: Listener,
    limits: Limits,
    close_trigger: Arc<AtomicBool>,
    messages: Arc<MessagesQueue<Message>>,
) {
    // a tasks pool is used to dispatch the connections into threads
    // PATCH: one thread per admitted connection at most.
    let tasks_pool = util::TaskPool::new(limits.max_connections);
    let table = Arc::new(
        util::ConnTable::new(
            limits.max_connections,
            limits.max_connections_per_peer,
            limits.slow_after,
        )
        // A connection shed while sending its request is told to try again (plain text only:
        // on a TLS connection these bytes would break the session).
        .with_shed_note(limits.tls.is_none().then(|| {
            refusal_bytes(
                &limits,
                503,
                "connection shed for another client (too many connections), try again",
            )
        })),
    );
    // Refused connections waiting to be closed, and when an accept error was last logged.
    let mut refused: VecDeque<(Instant, Connection)> = VecDeque::new();
    let mut last_error_log: Option<Instant> = None;
    // A descriptor kept in reserve: when accept() fails with EMFILE, it is closed so the
    // waiting connection can be accepted and refused, instead of waiting in the backlog.
    let mut reserve = std::fs::File::open("/dev/null").ok();

    log::debug!("Running accept thread");
    while !close_trigger.load(Relaxed) {
        let accepted = server.accept();
        close_refused(&mut refused, false);
        let (sock, peer) = match accepted {
            Ok(s) => s,
            // The original ended the accept thread on the first error, so one EMFILE during
            // a connection flood stopped the server for good. Errors from accept() are about
            // one connection or a passing shortage: log, shed, pause so a shortage cannot
            // spin, and go on.
            Err(e) => {
                if close_trigger.load(Relaxed) {
                    break;
                }
                if last_error_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    log::warn!("cannot accept a connection: {}", e);
                    last_error_log = Some(Instant::now());
                }
                close_refused(&mut refused, true);
                if matches!(e.raw_os_error(), Some(EMFILE) | Some(ENFILE))
                    && reserve.take().is_some()
                {
                    {
                        if let Ok((sock, _)) = server.accept() {
                            let mut sock = sock;
                            let bytes = refusal_bytes(
                                &limits,
                                503,
                                "out of file descriptors, try again in a moment",
                            );
                            if let Connection::Tcp(ref s) = sock {
                                let _ = s.set_nonblocking(true);
                            }
                            let _ = sock.write(&bytes);
                            let _ = sock.shutdown(Shutdown::Both);
                        }
                        reserve = std::fs::File::open("/dev/null").ok();
                    }
                }
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if reserve.is_none() {
            reserve = std::fs::File::open("/dev/null").ok();
        }
        let peer = peer.or_else(|| sock.peer());
        let socket = Arc::new(sock);
        let admitted = match table.admit(peer, Some(socket.clone())) {
            Ok(a) => a,
            Err(full) => {
                let why = match full {
                    util::Full::Table => "too many connections, try again in a moment",
                    util::Full::Peer => {
                        "too many connections from your address, try again in a moment"
                    }
                };
                match Arc::try_unwrap(socket) {
                    Ok(sock) => refuse_busy(sock, refusal_bytes(&limits, 503, why), &mut refused),
                    Err(_) => log::debug!("connection refused: {}", why),
                }
                continue;
            }
        };
        if let Some(s) = socket.tcp() {
            // A client that does not read its responses cannot hold a connection thread in
            // one write for longer than this.
            let _ = s.set_write_timeout(Some(limits.request_timeout));
        }
        let (read_closable, write_closable) = match &limits.tls {
            None => util::RefinedTcpStream::new(socket),
            Some(slot) => {
                let config = Arc::clone(&slot.read().unwrap_or_else(|e| e.into_inner()));
                match tls::TlsConn::new(socket, config) {
                    Ok(conn) => util::RefinedTcpStream::new(Arc::new(conn)),
                    Err(e) => {
                        log::warn!("cannot start a TLS session: {}", e);
                        continue;
                    }
                }
            }
        };
        let client = ClientConnection::new(
            write_closable,
            read_closable,
            limits.clone(),
            admitted.slot.clone(),
        );
        let messages = messages.clone();
        let mut job = Some((client, admitted));
        tasks_pool.spawn(Box::new(move || {
            if let Some((client, admitted)) = job.take() {
                serve_connection(client, &admitted.slot, &messages);
            }
        }));
    }
    log::debug!("Terminating accept thread");
}

/// PATCH: one request in flight per connection, for plain HTTP too (the original did this
/// only for HTTPS). Otherwise a client that pipelined thousands of requests and read nothing
/// had every handler thread queued behind its socket. An upgrade is the connection's last
/// request and is not waited for. An answer given with `Request::respond_later` is written
/// here, on the connection's thread.
fn serve_connection(
    client: ClientConnection,
    slot: &util::Slot,
    messages: &MessagesQueue<Message>,
) {
    let (sender, receiver) = mpsc::channel();
    for rq in client {
        if rq.asks_upgrade() {
            messages.push(rq.into());
            break;
        }
        messages.push(rq.with_notify_sender(sender.clone()).into());
        match receiver.recv() {
            Ok(request::Done::Write(job)) => {
                let _ = slot.set(util::Phase::Writing);
                job();
            }
            Ok(request::Done::Responded) => {}
            Err(_) => break,
        }
    }
}

const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// PATCH: the bytes of a refusal written by tiny_http itself (a full connection table, a
/// malformed head): the status line, the embedding server's headers and body from
/// `Limits::refusal`, `Connection: close` and the length.
pub(crate) fn refusal_bytes(limits: &Limits, status: u16, why: &str) -> Vec<u8> {
    let (headers, body) = match &limits.refusal {
        Some(hook) => hook(status, why),
        None => (
            vec![
                Header::from_bytes(&b"Content-Type"[..], &b"text/plain; charset=utf-8"[..])
                    .expect("a valid header"),
            ],
            format!("{}\n", why).into_bytes(),
        ),
    };
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        status,
        StatusCode(status).default_reason_phrase()
    );
    for h in headers {
        out.push_str(&format!("{}: {}\r\n", h.field, h.value));
    }
    out.push_str(&format!(
        "Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    bytes
}
