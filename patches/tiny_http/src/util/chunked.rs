//! PATCH: a strict decoder for chunked request bodies (RFC 9112 §7.1), replacing
//! `chunked_transfer::Decoder`, which refused trailer fields (a valid body with a trailer got a
//! 400) and read chunk-size lines without bound.

use std::convert::TryFrom;
use std::io::{Error, ErrorKind, Read, Result};

/// Longest chunk-size line (size, extensions) or trailer line accepted.
const MAX_LINE: usize = 4096;
/// Trailer bytes accepted in all.
const MAX_TRAILER: usize = 16 * 1024;

enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk, this many bytes left.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// After the last chunk: trailer fields, then the empty line.
    Trailer,
    Done,
}

/// Reads the decoded body of a chunked request; trailers and chunk extensions are read and
/// dropped. Malformed framing is an `InvalidData` error.
pub struct ChunkedReader<R> {
    inner: R,
    state: State,
}

fn invalid(why: &'static str) -> Error {
    Error::new(ErrorKind::InvalidData, why)
}

impl<R: Read> ChunkedReader<R> {
    pub fn new(inner: R) -> ChunkedReader<R> {
        ChunkedReader {
            inner,
            state: State::Size,
        }
    }

    fn byte(&mut self) -> Result<u8> {
        let mut b = [0u8; 1];
        loop {
            match self.inner.read(&mut b) {
                Ok(0) => {
                    return Err(Error::new(
                        ErrorKind::UnexpectedEof,
                        "chunked body cut short",
                    ))
                }
                Ok(_) => return Ok(b[0]),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// One CRLF-terminated line, without the CRLF; a bare CR or LF is an error.
    fn line(&mut self, limit: usize) -> Result<Vec<u8>> {
        let mut line = Vec::new();
        loop {
            match self.byte()? {
                b'\r' => {
                    return if self.byte()? == b'\n' {
                        Ok(line)
                    } else {
                        Err(invalid("bare CR in a chunked body"))
                    }
                }
                b'\n' => return Err(invalid("bare LF in a chunked body")),
                b if line.len() < limit => line.push(b),
                _ => return Err(invalid("chunk line too long")),
            }
        }
    }

    fn size_line(&mut self) -> Result<u64> {
        let line = self.line(MAX_LINE)?;
        let digits = line
            .iter()
            .position(|b| !b.is_ascii_hexdigit())
            .unwrap_or(line.len());
        if digits == 0 || digits > 16 {
            return Err(invalid("malformed chunk size"));
        }
        // What follows the size may only be white space and `;extensions`.
        let rest = &line[digits..];
        let rest = &rest[rest
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count()..];
        if !(rest.is_empty() || rest[0] == b';') {
            return Err(invalid("malformed chunk size"));
        }
        let text =
            std::str::from_utf8(&line[..digits]).map_err(|_| invalid("malformed chunk size"))?;
        u64::from_str_radix(text, 16).map_err(|_| invalid("malformed chunk size"))
    }
}

impl<R: Read> Read for ChunkedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        loop {
            match self.state {
                State::Done => return Ok(0),
                State::Size => {
                    let size = self.size_line()?;
                    self.state = if size == 0 {
                        State::Trailer
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    if buf.is_empty() {
                        return Ok(0);
                    }
                    let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = self.inner.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(Error::new(
                            ErrorKind::UnexpectedEof,
                            "chunked body cut short",
                        ));
                    }
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                    return Ok(n);
                }
                State::DataEnd => {
                    if !self.line(0)?.is_empty() {
                        return Err(invalid("chunk data longer than its size"));
                    }
                    self.state = State::Size;
                }
                State::Trailer => {
                    let mut total = 0;
                    loop {
                        let line = self.line(MAX_LINE)?;
                        if line.is_empty() {
                            break;
                        }
                        total += line.len();
                        if total > MAX_TRAILER
                            || !line.contains(&b':')
                            || line[0] == b' '
                            || line[0] == b'\t'
                        {
                            return Err(invalid("malformed trailer"));
                        }
                    }
                    self.state = State::Done;
                }
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::ChunkedReader;
    use std::io::Read;

    fn decode(raw: &str) -> std::io::Result<String> {
        let mut out = String::new();
        ChunkedReader::new(raw.as_bytes()).read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn valid_bodies() {
        assert_eq!(decode("5\r\nhello\r\n0\r\n\r\n").unwrap(), "hello");
        assert_eq!(
            decode("3;ext=1\r\nabc\r\n1 ; x\r\nd\r\n0\r\n\r\n").unwrap(),
            "abcd"
        );
        assert_eq!(
            decode("2\r\nhi\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n").unwrap(),
            "hi"
        );
        assert_eq!(
            decode("A\r\n0123456789\r\n0\r\n\r\n").unwrap(),
            "0123456789"
        );
        // The decoder stops at the end of the body: what follows is the next request.
        let raw = "1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
        let mut r = ChunkedReader::new(raw.as_bytes());
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        let mut rest = String::new();
        r.inner.read_to_string(&mut rest).unwrap();
        assert_eq!((out.as_str(), rest.as_str()), ("a", "GET / HTTP/1.1\r\n"));
    }

    #[test]
    fn malformed_bodies() {
        for bad in [
            "5\r\nhello",
            "5\r\nhelloX\r\n0\r\n\r\n",
            "x\r\n",
            "-1\r\n",
            "+1\r\na\r\n0\r\n\r\n",
            "1\na\r\n0\r\n\r\n",
            "1\r\na\r\n0\r\n",
            "11111111111111111\r\n",
            "0\r\nno colon\r\n\r\n",
            "0\r\n folded: x\r\n\r\n",
            "1\r\na\r\r\n0\r\n\r\n",
        ] {
            assert!(decode(bad).is_err(), "{:?}", bad);
        }
    }
}
