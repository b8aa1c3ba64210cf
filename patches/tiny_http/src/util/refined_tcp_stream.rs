use std::io::Result as IoResult;
use std::io::{Error as IoError, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::connection::Connection;
#[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
use crate::ssl::SslStream;
use crate::tls::TlsConn;

pub(crate) enum Stream {
    // PATCH: shared, not duplicated: see `impl Read for &Connection`.
    Http(Arc<Connection>),
    #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
    Https(SslStream),
    // PATCH: TLS through rustls 0.23 (`crate::tls`), sharing the socket like `Http`.
    Tls(Arc<TlsConn>),
}

impl Clone for Stream {
    fn clone(&self) -> Self {
        match self {
            Stream::Http(tcp_stream) => Stream::Http(Arc::clone(tcp_stream)),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => Stream::Https(ssl_stream.clone()),
            Stream::Tls(c) => Stream::Tls(Arc::clone(c)),
        }
    }
}

impl From<Arc<TlsConn>> for Stream {
    fn from(c: Arc<TlsConn>) -> Self {
        Stream::Tls(c)
    }
}

impl From<Arc<Connection>> for Stream {
    fn from(tcp_stream: Arc<Connection>) -> Self {
        Stream::Http(tcp_stream)
    }
}

impl Stream {
    fn secure(&self) -> bool {
        match self {
            Stream::Http(_) => false,
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(_) => true,
            Stream::Tls(_) => true,
        }
    }

    fn peer_addr(&mut self) -> IoResult<Option<SocketAddr>> {
        match self {
            Stream::Http(tcp_stream) => Ok(tcp_stream.peer()),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.peer_addr(),
            Stream::Tls(c) => Ok(c.socket().peer()),
        }
    }

    fn shutdown(&mut self, how: Shutdown) -> IoResult<()> {
        match self {
            Stream::Http(tcp_stream) => tcp_stream.shutdown(how),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.shutdown(how),
            Stream::Tls(c) => c.shutdown(how),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        match self {
            Stream::Http(tcp_stream) => (&**tcp_stream).read(buf),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.read(buf),
            Stream::Tls(c) => c.read_plain(buf, false),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> IoResult<usize> {
        match self {
            Stream::Http(tcp_stream) => (&**tcp_stream).write(buf),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.write(buf),
            Stream::Tls(c) => c.write_plain(buf),
        }
    }

    fn flush(&mut self) -> IoResult<()> {
        match self {
            Stream::Http(_) => Ok(()),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.flush(),
            Stream::Tls(c) => c.flush_pending(),
        }
    }
}

pub struct RefinedTcpStream {
    stream: Stream,
    close_read: bool,
    close_write: bool,
    // PATCH: the connection's read deadline, applied to every socket read (head and body).
    deadline: Option<Arc<ReadDeadline>>,
    // PATCH: set when the connection was upgraded: its new owner has the socket, so the halves
    // must not shut it down when tiny_http drops them.
    handed_over: Arc<AtomicBool>,
}

/// PATCH: when the current read phase of a connection (waiting for a request, reading its
/// head, reading its body) must be over. Every socket read sets `SO_RCVTIMEO` to the time
/// left, so a client that trickles bytes cannot stretch a phase by sending just before each
/// read times out.
#[derive(Debug)]
pub struct ReadDeadline {
    timeout: Duration,
    at: Mutex<Option<Instant>>,
}

impl ReadDeadline {
    /// A deadline `timeout` from now.
    pub fn new(timeout: Duration) -> ReadDeadline {
        ReadDeadline {
            timeout,
            at: Mutex::new(Some(Instant::now() + timeout)),
        }
    }

    /// Starts a new phase: the deadline moves to `timeout` from now.
    pub fn rearm(&self) {
        if let Ok(mut at) = self.at.lock() {
            *at = Some(Instant::now() + self.timeout);
        }
    }

    /// No deadline any more (the connection was upgraded; its new owner sets timeouts).
    pub fn disarm(&self) {
        if let Ok(mut at) = self.at.lock() {
            *at = None;
        }
    }

    fn left(&self) -> Option<Instant> {
        self.at.lock().ok().and_then(|at| *at)
    }
}

impl RefinedTcpStream {
    pub(crate) fn new<S>(stream: S) -> (RefinedTcpStream, RefinedTcpStream)
    where
        S: Into<Stream>,
    {
        let stream: Stream = stream.into();

        let (read, write) = (stream.clone(), stream);
        let handed_over = Arc::new(AtomicBool::new(false));

        let read = RefinedTcpStream {
            stream: read,
            close_read: true,
            close_write: false,
            deadline: None,
            handed_over: handed_over.clone(),
        };

        let write = RefinedTcpStream {
            stream: write,
            close_read: false,
            close_write: true,
            deadline: None,
            handed_over,
        };

        (read, write)
    }

    /// Returns true if this struct wraps around a secure connection.
    #[inline]
    pub(crate) fn secure(&self) -> bool {
        self.stream.secure()
    }

    pub(crate) fn peer_addr(&mut self) -> IoResult<Option<SocketAddr>> {
        self.stream.peer_addr()
    }

    /// PATCH: the socket itself, shared (plain HTTP and rustls TLS).
    pub(crate) fn socket(&self) -> Option<Arc<Connection>> {
        match &self.stream {
            Stream::Http(c) => Some(Arc::clone(c)),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(_) => None,
            Stream::Tls(c) => Some(Arc::clone(c.socket())),
        }
    }

    /// PATCH: the TLS state, on a TLS connection.
    pub(crate) fn tls(&self) -> Option<Arc<TlsConn>> {
        match &self.stream {
            Stream::Tls(c) => Some(Arc::clone(c)),
            _ => None,
        }
    }

    /// PATCH: the flag that, once set, keeps both halves from shutting the socket down.
    pub(crate) fn handed_over(&self) -> Arc<AtomicBool> {
        self.handed_over.clone()
    }

    /// PATCH: reads through this half obey `deadline`.
    pub(crate) fn with_deadline(mut self, deadline: Arc<ReadDeadline>) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

impl Drop for RefinedTcpStream {
    fn drop(&mut self) {
        if self.handed_over.load(Ordering::Acquire) {
            return;
        }
        if self.close_read {
            self.stream.shutdown(Shutdown::Read).ok();
        }

        if self.close_write {
            self.stream.shutdown(Shutdown::Write).ok();
        }
    }
}

impl Read for RefinedTcpStream {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        let armed = self.deadline.as_ref().and_then(|d| d.left());
        let socket = match &self.stream {
            Stream::Http(conn) => Some(conn),
            Stream::Tls(c) => Some(c.socket()),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(_) => None,
        };
        if let (Some(at), Some(conn)) = (armed, socket) {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(IoError::new(ErrorKind::TimedOut, "request deadline passed"));
            }
            conn.set_read_timeout(Some(left))?;
        }
        match self.stream.read(buf) {
            // SO_RCVTIMEO expiring reads as EAGAIN on Linux; say what it means. Once disarmed
            // (an upgraded socket), WouldBlock belongs to the new owner's own timeout.
            Err(e) if e.kind() == ErrorKind::WouldBlock && armed.is_some() => {
                Err(IoError::new(ErrorKind::TimedOut, "request deadline passed"))
            }
            other => other,
        }
    }
}

impl Write for RefinedTcpStream {
    fn write(&mut self, buf: &[u8]) -> IoResult<usize> {
        match self.stream.write(buf) {
            // PATCH: the write timeout passed: the client is not reading. Close the whole
            // connection so that no later response on it waits out the timeout again.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let _ = self.stream.shutdown(Shutdown::Both);
                Err(IoError::new(ErrorKind::TimedOut, "client is not reading"))
            }
            other => other,
        }
    }

    fn flush(&mut self) -> IoResult<()> {
        self.stream.flush()
    }
}
