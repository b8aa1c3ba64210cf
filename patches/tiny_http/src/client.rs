use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::io::{BufReader, BufWriter, ErrorKind, Read};

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::common::HTTPVersion;
use crate::connection::Connection;
use crate::http1::{self, Refusal};
use crate::request::UpgradeParts;
use crate::util::{Phase, ReadDeadline, RefinedTcpStream, Slot};
use crate::util::{SequentialReader, SequentialReaderBuilder, SequentialWriterBuilder};
use crate::Limits;
use crate::Request;

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
pub struct ClientConnection {
    // address of the client
    remote_addr: IoResult<Option<SocketAddr>>,

    // sequence of Readers to the stream, so that the data is not read in
    //  the wrong order
    source: SequentialReaderBuilder<BufReader<RefinedTcpStream>>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<BufWriter<RefinedTcpStream>>,

    // Reader to read the next header from
    next_header_source: SequentialReader<BufReader<RefinedTcpStream>>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // true if the connection goes through SSL
    secure: bool,

    // PATCH: the read deadline shared with the socket's read half, the bounds on a request
    // head, and the flag a request body sets when it is abandoned before its end.
    deadline: Arc<ReadDeadline>,
    limits: Limits,
    poisoned: Arc<AtomicBool>,
    // PATCH: this connection's entry in the connection table (what it is doing, for
    // shedding), and what an upgrade hands over.
    slot: Arc<Slot>,
    socket: Option<Arc<Connection>>,
    // PATCH: the TLS state, handed to an upgraded connection's new owner.
    tls: Option<Arc<crate::tls::TlsConn>>,
    handed_over: Arc<AtomicBool>,
}

/// Error that can happen when reading a request.
#[derive(Debug)]
enum ReadError {
    /// PATCH: the head is malformed or ambiguous (`http1`): 400, 501 or 505, then close.
    Refused(Refusal),
    /// the client sent an unrecognized `Expect` header
    ExpectationFailed,
    /// PATCH: the head passed `Limits::max_head_bytes` or `max_headers` (431).
    HeadTooLarge,
    /// PATCH: the head started but did not finish before the deadline (408).
    TimedOut,
    ReadIoError(IoError),
}

/// PATCH: empty lines a client may send before a request line (RFC 9112 §2.2: a server
/// SHOULD ignore at least one, as some clients send a CRLF after a POST body).
const LEADING_EMPTY_LINES: usize = 4;

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the `TcpStream`.
    pub fn new(
        write_socket: RefinedTcpStream,
        read_socket: RefinedTcpStream,
        limits: Limits,
        slot: Arc<Slot>,
    ) -> ClientConnection {
        let deadline = Arc::new(ReadDeadline::new(limits.request_timeout));
        let mut read_socket = read_socket.with_deadline(deadline.clone());
        let remote_addr = read_socket.peer_addr();
        let secure = read_socket.secure();
        let socket = read_socket.socket();
        let tls = read_socket.tls();
        let handed_over = read_socket.handed_over();

        let mut source = SequentialReaderBuilder::new(BufReader::with_capacity(1024, read_socket));
        let poisoned = source.poison_flag();
        let first_header = source.next_reader();

        ClientConnection {
            source,
            sink: SequentialWriterBuilder::new(BufWriter::with_capacity(1024, write_socket)),
            remote_addr,
            next_header_source: first_header,
            no_more_requests: false,
            secure,
            deadline,
            limits,
            poisoned,
            slot,
            socket,
            tls,
            handed_over,
        }
    }

    /// true if the connection is HTTPS
    #[allow(dead_code)]
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Reads the next line from self.next_header_source.
    ///
    /// Reads until `CRLF` is reached. The next read will start
    ///  at the first byte of the new line.
    ///
    /// PATCH: at most `budget` bytes (what is left of `Limits::max_head_bytes`); the first
    /// byte of a request line starts the head's deadline. A deadline that passes before that
    /// byte is an idle keep-alive connection ending (a plain I/O error, closed silently);
    /// after it, a 408. A CR not followed by LF, or an LF without its CR, is refused (RFC 9112
    /// §2.2: a bare CR must be refused or replaced; a proxy that reads a bare LF as a line end
    /// would see other headers than we do).
    fn read_next_line(&mut self, budget: &mut usize, first: bool) -> Result<Vec<u8>, ReadError> {
        let mut buf = Vec::new();
        let mut prev_byte_was_cr = false;

        loop {
            // The source is a `BufReader`: one byte at a time costs no system call.
            #[allow(clippy::unbuffered_bytes)]
            let byte = self.next_header_source.by_ref().bytes().next();

            let byte = match byte {
                Some(Ok(b)) => b,
                Some(Err(e)) if e.kind() == ErrorKind::TimedOut && !(first && buf.is_empty()) => {
                    return Err(ReadError::TimedOut)
                }
                Some(Err(e)) => return Err(ReadError::ReadIoError(e)),
                None => {
                    return Err(ReadError::ReadIoError(IoError::new(
                        ErrorKind::ConnectionAborted,
                        "Unexpected EOF",
                    )))
                }
            };
            if first && buf.is_empty() && !prev_byte_was_cr {
                self.deadline.rearm();
                if !self.slot.set(Phase::Head) {
                    return Err(ReadError::ReadIoError(IoError::new(
                        ErrorKind::ConnectionAborted,
                        "shed for a newcomer",
                    )));
                }
            }
            // Heads are ASCII: refuse at the first byte that is not, rather than wait for a
            // line end that garbage may never send.
            if !byte.is_ascii() || byte == 0 {
                return Err(ReadError::Refused(Refusal::Bad("malformed request")));
            }
            if prev_byte_was_cr {
                if byte == b'\n' {
                    return Ok(buf);
                }
                return Err(ReadError::Refused(Refusal::Bad(
                    "bare CR in the request head",
                )));
            }
            if byte == b'\n' {
                return Err(ReadError::Refused(Refusal::Bad(
                    "bare LF in the request head",
                )));
            }
            if byte == b'\r' {
                prev_byte_was_cr = true;
                continue;
            }

            if *budget == 0 {
                return Err(ReadError::HeadTooLarge);
            }
            *budget -= 1;

            buf.push(byte);
        }
    }

    /// Reads a request from the stream.
    /// Blocks until the header has been read.
    fn read(&mut self) -> Result<Request, ReadError> {
        if !self.slot.set(Phase::Idle) {
            return Err(ReadError::ReadIoError(IoError::new(
                ErrorKind::ConnectionAborted,
                "shed for a newcomer",
            )));
        }
        let mut budget = self.limits.max_head_bytes;
        // PATCH: strict parsing (`http1`): the request line, then every header line.
        let mut line = self.read_next_line(&mut budget, true)?;
        for _ in 0..LEADING_EMPTY_LINES {
            if !line.is_empty() {
                break;
            }
            line = self.read_next_line(&mut budget, true)?;
        }
        let request_line = http1::parse_request_line(&line).map_err(ReadError::Refused)?;
        let version = request_line.version.clone();

        let mut headers = Vec::new();
        loop {
            let line = self.read_next_line(&mut budget, false)?;
            if line.is_empty() {
                break;
            }
            if headers.len() == self.limits.max_headers {
                return Err(ReadError::HeadTooLarge);
            }
            headers.push(http1::parse_header(&line).map_err(ReadError::Refused)?);
        }
        http1::check_host(&version, &headers).map_err(ReadError::Refused)?;
        if let Some(authority) = &request_line.authority {
            http1::set_host(&mut headers, authority);
        }
        let framing = http1::framing(&version, &headers).map_err(ReadError::Refused)?;
        // PATCH: a connection shed meanwhile (its socket is shut down) ends here: its
        // request is not handed on.
        if !self.slot.set(Phase::Body) {
            return Err(ReadError::ReadIoError(IoError::new(
                ErrorKind::ConnectionAborted,
                "shed for a newcomer",
            )));
        }

        // PATCH: the body gets a fresh deadline; an upgraded socket gets none (its new
        // owner sets its own timeouts). Only a bodiless HTTP/1.1 GET that names the protocol
        // it wants is an upgrade: `Connection: upgrade` alone once turned off the deadline,
        // the body's framing and the connection caps for any request.
        let upgrade = request_line.method == crate::Method::Get
            && version >= HTTPVersion(1, 1)
            && framing == http1::Framing::None
            && asks_upgrade(&headers);
        if upgrade {
            self.deadline.disarm();
        } else {
            self.deadline.rearm();
        }

        // building the writer for the request
        let writer = self.sink.next_writer();

        // follow-up for next potential request
        let mut data_source = self.source.next_reader();
        std::mem::swap(&mut self.next_header_source, &mut data_source);

        let upgrade = match (&self.socket, upgrade) {
            (Some(socket), true) => Some(UpgradeParts {
                socket: socket.clone(),
                tls: self.tls.clone(),
                handed_over: self.handed_over.clone(),
                buffered: data_source.buffered(),
            }),
            _ => None,
        };

        // building the next reader
        let remote_addr = self.remote_addr.as_ref().ok().copied().flatten();
        let request = crate::request::new_request(
            self.secure,
            request_line.method,
            request_line.target,
            version.clone(),
            headers,
            remote_addr,
            data_source,
            writer,
            self.poisoned.clone(),
            framing,
            upgrade,
        )
        .map_err(|e| {
            use crate::request;
            match e {
                // PATCH: a small body is read here, under the body's deadline.
                request::RequestCreationError::CreationIoError(e)
                    if e.kind() == ErrorKind::TimedOut =>
                {
                    ReadError::TimedOut
                }
                // PATCH: a malformed chunked body, read here: a 400 like a malformed head.
                request::RequestCreationError::CreationIoError(e)
                    if e.kind() == ErrorKind::InvalidData =>
                {
                    ReadError::Refused(Refusal::Bad("malformed chunked body"))
                }
                request::RequestCreationError::CreationIoError(e) => ReadError::ReadIoError(e),
                request::RequestCreationError::ExpectationFailed => ReadError::ExpectationFailed,
            }
        })?;
        // PATCH: a connection shed meanwhile (its socket is shut down) ends here: its
        // request is not handed on.
        if !self.slot.set(Phase::Handling) {
            return Err(ReadError::ReadIoError(IoError::new(
                ErrorKind::ConnectionAborted,
                "shed for a newcomer",
            )));
        }

        // return the request
        Ok(request)
    }
}

/// PATCH: whether request headers ask for a protocol upgrade (a websocket): an `upgrade`
/// token in `Connection` and an `Upgrade` header naming the protocol.
pub(crate) fn asks_upgrade(headers: &[crate::Header]) -> bool {
    let token = headers.iter().any(|h| {
        h.field.equiv("Connection")
            && h.value
                .as_str()
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
    });
    token
        && headers
            .iter()
            .any(|h| h.field.equiv("Upgrade") && !h.value.as_str().trim().is_empty())
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests {
            return None;
        }

        // PATCH: every refusal is answered (through `Limits::refusal`) and closes the
        // connection: after a malformed or ambiguous head nobody knows where the next request
        // would start. HTTP/2 request lines and the h2c preface get their 505 at once (the
        // original wrote its 505 through a second writer that waited for the first, which the
        // refused request still held: the connection and its thread hung forever).
        let rq = match self.read() {
            Err(ReadError::Refused(r)) => {
                let (status, why) = r.status();
                self.refuse(status, why);
                return None;
            }
            Err(ReadError::TimedOut) => {
                self.refuse(408, "request not received in time");
                return None;
            }
            Err(ReadError::HeadTooLarge) => {
                self.refuse(431, "request head too large");
                return None;
            }
            Err(ReadError::ExpectationFailed) => {
                self.refuse(417, "unsupported Expect header");
                return None;
            }
            Err(ReadError::ReadIoError(e)) => {
                log::trace!("connection ended: {}", e);
                return None;
            }
            Ok(rq) => rq,
        };

        // updating the status of the connection
        if rq.asks_upgrade() {
            self.no_more_requests = true;
        }
        let connection_header = rq
            .headers()
            .iter()
            .find(|h| h.field.equiv("Connection"))
            .map(|h| h.value.as_str());

        let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

        match lowercase {
            Some(ref val) if val.contains("close") => self.no_more_requests = true,
            Some(ref val)
                if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
            {
                self.no_more_requests = true
            }
            None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
            _ => (),
        };

        // returning the request
        Some(rq)
    }
}

impl ClientConnection {
    /// PATCH: answers a request that cannot be served and will be the connection's last,
    /// written by hand because tiny_http's `Response` drops a `Connection` header.
    fn refuse(&mut self, status: u16, why: &str) {
        use std::io::Write;
        log::debug!("request refused: {} {}", status, why);
        let mut writer = self.sink.next_writer();
        let bytes = crate::refusal_bytes(&self.limits, status, why);
        let _ = writer.write_all(&bytes).and_then(|_| writer.flush());
    }
}

#[cfg(test)]
mod test {
    #[test]
    fn upgrade_tokens() {
        let h = |v: &str, upgrade: bool| {
            let mut h = vec![crate::Header::from_bytes(&b"Connection"[..], v.as_bytes()).unwrap()];
            if upgrade {
                h.push(crate::Header::from_bytes(&b"Upgrade"[..], &b"websocket"[..]).unwrap());
            }
            h
        };
        assert!(super::asks_upgrade(&h("Upgrade", true)));
        assert!(super::asks_upgrade(&h("keep-alive, upgrade", true)));
        assert!(
            !super::asks_upgrade(&h("upgrade", false)),
            "no protocol named"
        );
        assert!(!super::asks_upgrade(&h("keep-alive", true)));
        assert!(!super::asks_upgrade(&h("upgraded", true)));
    }
}
