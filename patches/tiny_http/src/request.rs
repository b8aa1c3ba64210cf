use std::io::Error as IoError;
use std::io::{self, Cursor, ErrorKind, Read, Write};

use std::convert::TryFrom;
use std::fmt;
use std::net::SocketAddr;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

use crate::connection::Connection;
use crate::http1::Framing;
use crate::util::{ChunkedReader, EqualReader, FusedReader};
use crate::{HTTPVersion, Header, Method, Response, StatusCode};
use std::net::TcpStream;

/// Represents an HTTP request made by a client.
///
/// A `Request` object is what is produced by the server, and is your what
/// your code must analyse and answer.
///
/// This object implements the `Send` trait, therefore you can dispatch your requests to
/// worker threads.
///
/// # Pipelining
///
/// If a client sends multiple requests in a row (without waiting for the response), then you will
/// get multiple `Request` objects simultaneously. This is called *requests pipelining*.
/// Tiny-http automatically reorders the responses so that you don't need to worry about the order
/// in which you call `respond` or `into_writer`.
///
/// This mechanic is disabled if:
///
///  - The body of a request is large enough (handling requires pipelining requires storing the
///    body of the request in a buffer ; if the body is too big, tiny-http will avoid doing that)
///  - A request sends a `Expect: 100-continue` header (which means that the client waits to
///    know whether its body will be processed before sending it)
///  - A request sends a `Connection: close` header or `Connection: upgrade` header (used for
///    websockets), which indicates that this is the last request that will be received on this
///    connection
///
/// # Automatic cleanup
///
/// If a `Request` object is destroyed without `into_writer` or `respond` being called,
/// an empty response with a 500 status code (internal server error) will automatically be
/// sent back to the client.
/// This means that if your code fails during the handling of a request, this "internal server
/// error" response will automatically be sent during the stack unwinding.
///
/// # Testing
///
/// If you want to build fake requests to test your server, use [`TestRequest`](crate::test::TestRequest).
pub struct Request {
    // where to read the body from
    data_reader: Option<Box<dyn Read + Send + 'static>>,

    // if this writer is empty, then the request has been answered
    response_writer: Option<Box<dyn Write + Send + 'static>>,

    remote_addr: Option<SocketAddr>,

    // true if HTTPS, false if HTTP
    secure: bool,

    method: Method,

    path: String,

    http_version: HTTPVersion,

    headers: Vec<Header>,

    body_length: Option<usize>,

    // true if a `100 Continue` response must be sent when `as_reader()` is called
    must_send_continue: bool,

    // If Some, a message must be sent after responding
    notify_when_responded: Option<Sender<Done>>,

    // PATCH: for a request asking for an upgrade: what `upgrade_tcp` hands over.
    upgrade: Option<UpgradeParts>,

    // PATCH: set when this request's body (or an earlier one's) was abandoned: the connection
    // closes after the answer, and the answer says so.
    poisoned: Arc<AtomicBool>,
}

/// PATCH: what a request tells its connection's thread once handled: that it was answered,
/// or the answer to write (see [`Request::respond_later`]).
pub(crate) enum Done {
    Responded,
    Write(Box<dyn FnOnce() + Send>),
}

/// PATCH: the socket of a connection asking for an upgrade, the flag that keeps tiny_http from
/// shutting it down, and the bytes read past the request head.
pub(crate) struct UpgradeParts {
    pub socket: Arc<Connection>,
    /// PATCH: the TLS state of a TLS connection (the session's bytes go through it).
    pub tls: Option<Arc<crate::tls::TlsConn>>,
    pub handed_over: Arc<AtomicBool>,
    pub buffered: Vec<u8>,
}

/// PATCH: an upgraded connection (a websocket), from [`Request::upgrade_tcp`]: the socket,
/// to read, write and set timeouts on, and what the client sent after its request head, which
/// comes before anything read from the socket.
#[derive(Debug)]
pub struct Upgraded {
    pub stream: TcpStream,
    pub buffered: Vec<u8>,
    /// On a TLS connection, its session: read and write plaintext through it, not `stream`
    /// (which is still the socket to poll and set timeouts on).
    pub tls: Option<crate::tls::TlsSession>,
}

struct NotifyOnDrop<R> {
    sender: Sender<Done>,
    inner: R,
}

impl<R: Read> Read for NotifyOnDrop<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}
impl<R: Write> Write for NotifyOnDrop<R> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
impl<R> Drop for NotifyOnDrop<R> {
    fn drop(&mut self) {
        self.sender.send(Done::Responded).ok();
    }
}

/// Error that can happen when building a `Request` object.
#[derive(Debug)]
pub enum RequestCreationError {
    /// The client sent an `Expect` header that was not recognized by tiny-http.
    ExpectationFailed,

    /// Error while reading data from the socket during the creation of the `Request`.
    CreationIoError(IoError),
}

impl From<IoError> for RequestCreationError {
    fn from(err: IoError) -> RequestCreationError {
        RequestCreationError::CreationIoError(err)
    }
}

/// Builds a new request.
///
/// After the request line and headers have been read from the socket, a new `Request` object
/// is built.
///
/// You must pass a `Read` that will allow the `Request` object to read from the incoming data.
/// It is the responsibility of the `Request` to read only the data of the request and not further.
///
/// The `Write` object will be used by the `Request` to write the response.
#[allow(clippy::too_many_arguments)]
pub fn new_request<R, W>(
    secure: bool,
    method: Method,
    path: String,
    version: HTTPVersion,
    headers: Vec<Header>,
    remote_addr: Option<SocketAddr>,
    mut source_data: R,
    writer: W,
    poisoned: Arc<AtomicBool>,
    framing: Framing,
    upgrade: Option<UpgradeParts>,
) -> Result<Request, RequestCreationError>
where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    // PATCH: the framing was decided, strictly, from the head (`http1::framing`); a
    // `Content-Length` that does not fit in memory is still a length: the handler refuses it.
    let content_length = match framing {
        Framing::Length(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        Framing::None | Framing::Chunked => None,
    };
    let chunked = framing == Framing::Chunked;

    // true if the client sent a `Expect: 100-continue` header
    let expects_continue = {
        match headers
            .iter()
            .find(|h: &&Header| h.field.equiv("Expect"))
            .map(|h| h.value.as_str())
        {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("100-continue") => true,
            _ => return Err(RequestCreationError::ExpectationFailed),
        }
    };

    let connection_upgrade = upgrade.is_some();

    // PATCH: bodies up to `BUFFERED_BODY` (declared or chunked) are read here, on the
    // connection's thread and under the body's deadline, so a handler never waits on a slow
    // client (the original buffered only bodies of at most 1024 declared bytes). An
    // `Expect: 100-continue` is answered here for them. Larger bodies are left to the handler
    // (which can refuse them by their length); a chunked body past the limit is cut there and
    // the connection closes after the answer.
    let buffered = !connection_upgrade
        && (chunked || content_length.is_some_and(|n| n > 0 && n <= BUFFERED_BODY));
    let mut writer = writer;
    let mut expects_continue = expects_continue;
    if buffered && expects_continue {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
        expects_continue = false;
    }

    // we wrap `source_data` around a reading whose nature depends on the transfer-encoding and
    // content-length headers
    let reader = if connection_upgrade {
        // if we have a `Connection: upgrade`, always keeping the whole reader
        Box::new(source_data) as Box<dyn Read + Send + 'static>
    } else if let Some(content_length) = content_length {
        if content_length == 0 {
            Box::new(io::empty()) as Box<dyn Read + Send + 'static>
        } else if buffered {
            let mut buffer = vec![0; content_length];
            let mut offset = 0;

            while offset != content_length {
                let read = source_data.read(&mut buffer[offset..])?;
                if read == 0 {
                    // the socket returned EOF, but we were before the expected content-length
                    // aborting
                    let info = "Connection has been closed before we received enough data";
                    let err = IoError::new(ErrorKind::ConnectionAborted, info);
                    return Err(RequestCreationError::CreationIoError(err));
                }

                offset += read;
            }

            Box::new(Cursor::new(buffer)) as Box<dyn Read + Send + 'static>
        } else {
            let (data_reader, _) = EqualReader::new(source_data, content_length); // TODO:
            let declared = Some(content_length as u64);
            Box::new(BodyGuard::new(
                FusedReader::new(data_reader),
                declared,
                poisoned.clone(),
            )) as Box<dyn Read + Send + 'static>
        }
    } else if chunked {
        let mut buffer = Vec::new();
        let got = ChunkedReader::new(source_data.by_ref())
            .take(BUFFERED_BODY as u64 + 1)
            .read_to_end(&mut buffer)?;
        if got > BUFFERED_BODY {
            // More to come than is buffered: the handler sees too much and refuses it, and
            // the rest of the body is never read, so the connection must close.
            poisoned.store(true, Ordering::Relaxed);
        }
        drop(source_data);
        Box::new(Cursor::new(buffer)) as Box<dyn Read + Send + 'static>
    } else {
        Box::new(io::empty()) as Box<dyn Read + Send + 'static>
    };

    Ok(Request {
        data_reader: Some(reader),
        response_writer: Some(Box::new(writer) as Box<dyn Write + Send + 'static>),
        remote_addr,
        secure,
        method,
        path,
        http_version: version,
        headers,
        body_length: content_length,
        must_send_continue: expects_continue,
        notify_when_responded: None,
        upgrade,
        poisoned,
    })
}

/// PATCH: how much of an unread request body is read and thrown away so the connection can
/// carry on. Past it the connection is closed instead: the original drained any remainder,
/// allocating a buffer of the size the client claimed (`Content-Length: 60000000000` aborted
/// the process), and did not drain chunked bodies at all, so their rest was parsed as the next
/// request.
const DRAIN_LIMIT: u64 = 64 * 1024;

/// PATCH: request bodies up to this size are read before the request is handed over.
const BUFFERED_BODY: usize = 64 * 1024;

/// PATCH: a request body that, when dropped unfinished, drains up to `DRAIN_LIMIT` bytes with
/// a fixed buffer, or else poisons the connection so it closes.
struct BodyGuard<R: Read> {
    inner: R,
    done: bool,
    /// Bytes still to come, when the length was declared.
    left: Option<u64>,
    poisoned: Arc<AtomicBool>,
}

impl<R: Read> BodyGuard<R> {
    fn new(inner: R, left: Option<u64>, poisoned: Arc<AtomicBool>) -> Self {
        BodyGuard {
            inner,
            done: false,
            left,
            poisoned,
        }
    }
}

impl<R: Read> Read for BodyGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            // A malformed or cut body: nobody knows where the next request starts.
            Err(e) if e.kind() != ErrorKind::Interrupted => {
                self.poisoned.store(true, Ordering::Relaxed);
                self.done = true;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        if n == 0 && !buf.is_empty() {
            self.done = true;
        }
        if let Some(left) = self.left.as_mut() {
            *left = left.saturating_sub(n as u64);
        }
        Ok(n)
    }
}

impl<R: Read> Drop for BodyGuard<R> {
    fn drop(&mut self) {
        if self.done || self.left == Some(0) {
            return;
        }
        if self.left.is_some_and(|left| left > DRAIN_LIMIT) {
            // Not worth waiting for: close instead.
            self.poisoned.store(true, Ordering::Relaxed);
            return;
        }
        let mut buf = [0u8; 4096];
        let mut left = DRAIN_LIMIT;
        while left > 0 {
            match self.inner.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => left = left.saturating_sub(n as u64),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.poisoned.store(true, Ordering::Relaxed);
    }
}

impl Request {
    /// Returns true if the request was made through HTTPS.
    #[inline]
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Returns the method requested by the client (eg. `GET`, `POST`, etc.).
    #[inline]
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Returns the resource requested by the client.
    #[inline]
    pub fn url(&self) -> &str {
        &self.path
    }

    /// Returns a list of all headers sent by the client.
    #[inline]
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// Returns the HTTP version of the request.
    #[inline]
    pub fn http_version(&self) -> &HTTPVersion {
        &self.http_version
    }

    /// Returns the length of the body in bytes.
    ///
    /// Returns `None` if the length is unknown.
    #[inline]
    pub fn body_length(&self) -> Option<usize> {
        self.body_length
    }

    /// Returns the address of the client that sent this request.
    ///
    /// The address is always `Some` for TCP listeners, but always `None` for UNIX listeners
    /// (as the remote address of a UNIX client is almost always unnamed).
    ///
    /// Note that this is gathered from the socket. If you receive the request from a proxy,
    /// this function will return the address of the proxy and not the address of the actual
    /// user.
    #[inline]
    pub fn remote_addr(&self) -> Option<&SocketAddr> {
        self.remote_addr.as_ref()
    }

    /// Sends a response with a `Connection: upgrade` header, then turns the `Request` into a `Stream`.
    ///
    /// The main purpose of this function is to support websockets.
    /// If you detect that the request wants to use some kind of protocol upgrade, you can
    ///  call this function to obtain full control of the socket stream.
    ///
    /// If you call this on a non-websocket request, tiny-http will wait until this `Stream` object
    ///  is destroyed before continuing to read or write on the socket. Therefore you should always
    ///  destroy it as soon as possible.
    pub fn upgrade<R: Read>(
        mut self,
        protocol: &str,
        response: Response<R>,
    ) -> Box<dyn ReadWrite + Send> {
        use crate::util::CustomStream;

        response
            .raw_print(
                self.response_writer.as_mut().unwrap().by_ref(),
                self.http_version.clone(),
                &self.headers,
                false,
                Some(protocol),
            )
            .ok(); // TODO: unused result

        self.response_writer.as_mut().unwrap().flush().ok(); // TODO: unused result

        let stream = CustomStream::new(self.extract_reader_impl(), self.extract_writer_impl());
        if let Some(sender) = self.notify_when_responded.take() {
            let stream = NotifyOnDrop {
                sender,
                inner: stream,
            };
            Box::new(stream) as Box<dyn ReadWrite + Send>
        } else {
            Box::new(stream) as Box<dyn ReadWrite + Send>
        }
    }

    /// Allows to read the body of the request.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # extern crate rustc_serialize;
    /// # extern crate tiny_http;
    /// # use rustc_serialize::json::Json;
    /// # use std::io::Read;
    /// # fn get_content_type(_: &tiny_http::Request) -> &'static str { "" }
    /// # fn main() {
    /// # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
    /// let mut request = server.recv().unwrap();
    ///
    /// if get_content_type(&request) == "application/json" {
    ///     let mut content = String::new();
    ///     request.as_reader().read_to_string(&mut content).unwrap();
    ///     let json: Json = content.parse().unwrap();
    /// }
    /// # }
    /// ```
    ///
    /// If the client sent a `Expect: 100-continue` header with the request, calling this
    ///  function will send back a `100 Continue` response.
    #[inline]
    pub fn as_reader(&mut self) -> &mut dyn Read {
        if self.must_send_continue {
            let msg = Response::new_empty(StatusCode(100));
            msg.raw_print(
                self.response_writer.as_mut().unwrap().by_ref(),
                self.http_version.clone(),
                &self.headers,
                true,
                None,
            )
            .ok();
            self.response_writer.as_mut().unwrap().flush().ok();
            self.must_send_continue = false;
        }

        self.data_reader.as_mut().unwrap()
    }

    /// Turns the `Request` into a writer.
    ///
    /// The writer has a raw access to the stream to the user.
    /// This function is useful for things like CGI.
    ///
    /// Note that the destruction of the `Writer` object may trigger
    /// some events. For exemple if a client has sent multiple requests and the requests
    /// have been processed in parallel, the destruction of a writer will trigger
    /// the writing of the next response.
    /// Therefore you should always destroy the `Writer` as soon as possible.
    #[inline]
    pub fn into_writer(mut self) -> Box<dyn Write + Send + 'static> {
        let writer = self.extract_writer_impl();
        if let Some(sender) = self.notify_when_responded.take() {
            let writer = NotifyOnDrop {
                sender,
                inner: writer,
            };
            Box::new(writer) as Box<dyn Write + Send + 'static>
        } else {
            writer
        }
    }

    /// Extract the response `Writer` object from the Request, dropping this `Writer` has the same side effects
    /// as the object returned by `into_writer` above.
    ///
    /// This may only be called once on a single request.
    fn extract_writer_impl(&mut self) -> Box<dyn Write + Send + 'static> {
        use std::mem;

        assert!(self.response_writer.is_some());

        let mut writer = None;
        mem::swap(&mut self.response_writer, &mut writer);
        writer.unwrap()
    }

    /// Extract the body `Reader` object from the Request.
    ///
    /// This may only be called once on a single request.
    fn extract_reader_impl(&mut self) -> Box<dyn Read + Send + 'static> {
        use std::mem;

        assert!(self.data_reader.is_some());

        let mut reader = None;
        mem::swap(&mut self.data_reader, &mut reader);
        reader.unwrap()
    }

    /// Sends a response to this request.
    #[inline]
    pub fn respond<R>(mut self, response: Response<R>) -> Result<(), IoError>
    where
        R: Read,
    {
        let res = self.respond_impl(response);
        if let Some(sender) = self.notify_when_responded.take() {
            sender.send(Done::Responded).ok();
        }
        res
    }

    fn respond_impl<R>(&mut self, mut response: Response<R>) -> Result<(), IoError>
    where
        R: Read,
    {
        // PATCH: finish with the body first (`BodyGuard` drains what is left, up to 64 KiB,
        // or poisons the connection), so that the answer can say the connection closes.
        drop(self.data_reader.take());
        if self.poisoned.load(Ordering::Relaxed) {
            response.close_connection();
        }
        let mut writer = self.extract_writer_impl();

        let do_not_send_body = self.method == Method::Head;

        let written = response
            .raw_print(
                writer.by_ref(),
                self.http_version.clone(),
                &self.headers,
                do_not_send_body,
                None,
            )
            .and_then(|()| writer.flush());
        // PATCH: a failed write (the client hung up, reset, or timed out) closes the
        // connection: poisoned, its next read fails, so the requests it pipelined are dropped
        // instead of each being answered into a socket nobody reads. The original ignored a
        // broken pipe or reset here and went on serving them.
        if let Err(e) = &written {
            log::debug!("write failed ({}): closing the connection", e);
            self.poisoned.store(true, Ordering::Relaxed);
        }
        Self::ignore_client_closing_errors(written)
    }

    fn ignore_client_closing_errors(result: io::Result<()>) -> io::Result<()> {
        result.or_else(|err| match err.kind() {
            ErrorKind::BrokenPipe => Ok(()),
            ErrorKind::ConnectionAborted => Ok(()),
            ErrorKind::ConnectionRefused => Ok(()),
            ErrorKind::ConnectionReset => Ok(()),
            _ => Err(err),
        })
    }

    /// PATCH: whether this request is an upgrade (`upgrade_tcp` can hand its socket over).
    pub fn asks_upgrade(&self) -> bool {
        self.upgrade.is_some()
    }

    /// PATCH: sends `response` from the connection's own thread instead of the caller's, so a
    /// client that reads its answer slowly holds that thread (one per connection, bounded by
    /// `Limits::max_connections`), never a handler thread of the embedding server. A request
    /// not read from a connection (a `TestRequest`) is answered at once.
    pub fn respond_later<R>(mut self, response: Response<R>)
    where
        R: Read + Send + 'static,
    {
        match self.notify_when_responded.take() {
            Some(sender) => {
                let job = Box::new(move || {
                    let _ = self.respond(response);
                });
                // A connection thread that is gone drops the job, and with it the request.
                let _ = sender.send(Done::Write(job));
            }
            None => {
                let _ = self.respond(response);
            }
        }
    }

    /// PATCH: answers an upgrade request with `response` (a `101`) and hands its socket over.
    /// Unlike [`Request::upgrade`], the caller gets the `TcpStream` itself, to set timeouts and
    /// poll on; tiny_http no longer touches the connection. Fails on a request that did not ask
    /// for an upgrade, on a non-TCP connection, and when the socket cannot be duplicated
    /// (`EMFILE`): the connection then closes.
    pub fn upgrade_tcp<R: Read>(
        mut self,
        protocol: &str,
        response: Response<R>,
    ) -> io::Result<Upgraded> {
        let parts = self.upgrade.take().ok_or_else(|| {
            IoError::new(ErrorKind::InvalidInput, "the request asked for no upgrade")
        })?;
        let stream = parts
            .socket
            .tcp()
            .ok_or_else(|| IoError::new(ErrorKind::Unsupported, "not a TCP connection"))?
            .try_clone()?;
        let mut writer = self.extract_writer_impl();
        response.raw_print(
            writer.by_ref(),
            self.http_version.clone(),
            &self.headers,
            false,
            Some(protocol),
        )?;
        writer.flush()?;
        parts.handed_over.store(true, Ordering::Release);
        Ok(Upgraded {
            stream,
            tls: parts.tls.map(crate::tls::TlsSession),
            buffered: parts.buffered,
        })
    }

    pub(crate) fn with_notify_sender(mut self, sender: Sender<Done>) -> Self {
        self.notify_when_responded = Some(sender);
        self
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> Result<(), fmt::Error> {
        write!(
            formatter,
            "Request({} {} from {:?})",
            self.method, self.path, self.remote_addr
        )
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if self.response_writer.is_some() {
            let response = Response::empty(500);
            let _ = self.respond_impl(response); // ignoring any potential error
            if let Some(sender) = self.notify_when_responded.take() {
                sender.send(Done::Responded).ok();
            }
        }
    }
}

/// Dummy trait that regroups the `Read` and `Write` traits.
///
/// Automatically implemented on all types that implement both `Read` and `Write`.
pub trait ReadWrite: Read + Write {}
impl<T> ReadWrite for T where T: Read + Write {}

#[cfg(test)]
mod tests {
    use super::Request;

    /// PATCH: a client that pipelines requests for large answers and hangs up gets none of
    /// the rest served: the first failed write closes the connection. The original answered
    /// every pipelined request into the dead socket.
    #[test]
    fn a_failed_write_drops_the_pipelined_requests() {
        use std::io::{Read, Write};
        use std::time::Duration;
        let server = crate::Server::http("127.0.0.1:0").unwrap();
        let addr = server.server_addr().to_ip().unwrap();
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let pipelined = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(50);
        client.write_all(pipelined.as_bytes()).unwrap();
        let first = server.recv().unwrap();
        first.respond_later(crate::Response::from_data(vec![b'x'; 4 << 20]));
        // Some of the answer arrived; closing with it unread resets the connection.
        let mut byte = [0; 1];
        client.read_exact(&mut byte).unwrap();
        drop(client);
        let mut served = 1;
        while let Ok(Some(rq)) = server.recv_timeout(Duration::from_secs(2)) {
            served += 1;
            rq.respond_later(crate::Response::from_data(vec![b'x'; 4 << 20]));
        }
        assert!(
            served <= 3,
            "{} of 50 pipelined requests served after a hang-up",
            served
        );
    }

    #[test]
    fn must_be_send() {
        #![allow(dead_code)]
        fn f<T: Send>(_: &T) {}
        fn bar(rq: &Request) {
            f(rq);
        }
    }
}
