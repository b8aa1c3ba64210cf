//! PATCH: TLS with rustls (0.23, the embedding server's `ServerConfig`), in place of the
//! published crate's openssl and rustls 0.20 modules, which the patched accept loop never used.
//!
//! A [`TlsConn`] is one connection's rustls state and its socket. Reads and writes go through a
//! shared reference, like the plain [`Connection`], so the read half, the write half and the
//! connection table share one socket. The socket is read *outside* the lock (one request is in
//! flight per connection, but a blocking read must never hold up a write), then the bytes are
//! handed to rustls. The handshake happens within the first reads, so it runs under the same
//! deadline as a request head: a slow handshake is shed like a slow head.
//!
//! A plain HTTP request sent to the TLS port is answered in plain text (`400`, "this port
//! speaks HTTPS") and closed, never left to wait for a handshake.

use crate::connection::Connection;
use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// The TLS configuration in force, shared with the embedding server, which may replace it
/// (certificate renewal): each new connection takes the one in force when it is accepted.
pub type TlsConfigSlot = Arc<RwLock<Arc<rustls::ServerConfig>>>;

/// Bytes read from the socket at a time: small enough that rustls always takes them whole.
const CHUNK: usize = 4096;

/// One TLS connection: rustls' state and the socket.
pub struct TlsConn {
    sock: Arc<Connection>,
    state: Mutex<rustls::ServerConnection>,
    /// Whether the first bytes were looked at (a plain HTTP request is refused in plain text).
    sniffed: AtomicBool,
}

impl std::fmt::Debug for TlsConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConn")
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, e)
}

impl TlsConn {
    pub(crate) fn new(
        sock: Arc<Connection>,
        config: Arc<rustls::ServerConfig>,
    ) -> io::Result<TlsConn> {
        let state = rustls::ServerConnection::new(config).map_err(tls_error)?;
        Ok(TlsConn {
            sock,
            state: Mutex::new(state),
            sniffed: AtomicBool::new(false),
        })
    }

    pub(crate) fn socket(&self) -> &Arc<Connection> {
        &self.sock
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, rustls::ServerConnection> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes out whatever rustls has to send (handshake messages, alerts, records).
    fn send_pending(&self, state: &mut rustls::ServerConnection) -> io::Result<()> {
        while state.wants_write() {
            state.write_tls(&mut &*self.sock)?;
        }
        Ok(())
    }

    /// Reads plaintext; `dont_wait` reads the socket without blocking (a websocket session
    /// polls it), else the socket's read timeout bounds the wait.
    pub(crate) fn read_plain(&self, buf: &mut [u8], dont_wait: bool) -> io::Result<usize> {
        loop {
            {
                let mut state = self.lock();
                self.send_pending(&mut state)?;
                match state.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    // The peer closed without close_notify: the end of the stream for us.
                    Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) => return Err(e),
                }
            }
            let mut chunk = [0u8; CHUNK];
            let n = self.recv(&mut chunk, dont_wait)?;
            if n == 0 {
                return Ok(0);
            }
            if !self.sniffed.swap(true, Ordering::AcqRel) && chunk[0].is_ascii_alphabetic() {
                // A TLS record starts with 0x16; a request line with a method's letters.
                let _ = (&*self.sock).write_all(PLAIN_REFUSAL);
                let _ = self.sock.shutdown(Shutdown::Both);
                return Err(io::Error::new(
                    ErrorKind::InvalidData,
                    "plain HTTP sent to the TLS port",
                ));
            }
            let mut state = self.lock();
            let mut rest = &chunk[..n];
            while !rest.is_empty() {
                if state.read_tls(&mut rest)? == 0 {
                    return Err(io::Error::new(ErrorKind::InvalidData, "TLS buffer full"));
                }
                if let Err(e) = state.process_new_packets() {
                    // Tell the peer why (an alert) before giving up.
                    let _ = self.send_pending(&mut state);
                    return Err(tls_error(e));
                }
            }
        }
    }

    fn recv(&self, buf: &mut [u8], dont_wait: bool) -> io::Result<usize> {
        if !dont_wait {
            return (&*self.sock).read(buf);
        }
        let fd = match self.sock.tcp() {
            Some(s) => s.as_raw_fd(),
            None => return (&*self.sock).read(buf),
        };
        // SAFETY: reads at most `buf.len()` bytes into `buf` from a socket we hold open.
        #[allow(unsafe_code)]
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    pub(crate) fn write_plain(&self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.lock();
        let n = state.writer().write(buf)?;
        self.send_pending(&mut state)?;
        Ok(n)
    }

    pub(crate) fn flush_pending(&self) -> io::Result<()> {
        let mut state = self.lock();
        self.send_pending(&mut state)
    }

    /// Shuts the socket down, with a close_notify first when closing for writing only (the
    /// orderly end of an answer); `Both` is an abort (a write timed out), no more writes.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how == Shutdown::Write {
            let mut state = self.lock();
            state.send_close_notify();
            let _ = self.send_pending(&mut state);
        }
        self.sock.shutdown(how)
    }
}

/// What a plain HTTP client gets from the TLS port.
const PLAIN_REFUSAL: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: 57\r\n\r\nThis port speaks HTTPS: use https:// instead of http://.\n";

/// PATCH: a websocket's TLS session after the upgrade, for its new owner: plaintext reads
/// (non-blocking) and writes over the same socket.
#[derive(Debug, Clone)]
pub struct TlsSession(pub(crate) Arc<TlsConn>);

impl TlsSession {
    /// Reads plaintext without waiting for the socket: `WouldBlock` when nothing is there.
    pub fn read_nonblocking(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read_plain(buf, true)
    }

    /// Writes plaintext (encrypted and sent at once; the socket's write timeout applies).
    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_plain(buf)
    }

    /// Sends close_notify and shuts the socket down.
    pub fn close(&self) {
        let _ = self.0.shutdown(Shutdown::Write);
        let _ = self.0.shutdown(Shutdown::Read);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_plain_refusal_says_its_length() {
        let text = std::str::from_utf8(super::PLAIN_REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(body.len(), len);
    }
}
