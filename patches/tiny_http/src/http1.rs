//! PATCH: strict HTTP/1.1 message parsing (RFC 9112), added for psmonitor.
//!
//! The original took the first `Content-Length` of several, read a malformed one (`abc`, `-1`,
//! `5, 5`, 2^64) as "no body", treated any `Transfer-Encoding` as chunked (also on HTTP/1.0 and
//! beside a `Content-Length`), turned obs-fold continuation lines into headers and accepted bare
//! CRs. Behind a proxy that reads the same bytes another way, each of those lets a client
//! smuggle a request. Here every ambiguous message is refused (400, connection closed) and the
//! standard forms the original refused are accepted: absolute-form targets, trailers.

use crate::common::{HTTPVersion, Header, Method};
use std::str::FromStr;

/// Why a request head is refused; the connection is closed after the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 400, with what was wrong.
    Bad(&'static str),
    /// 501: a transfer coding other than chunked.
    NotImplemented(&'static str),
    /// 505: HTTP/2 (`PRI * HTTP/2.0`, a prior-knowledge `GET / HTTP/2.0`) or HTTP/0.9.
    Version,
}

impl Refusal {
    /// The status code and the reason given to the client.
    pub(crate) fn status(&self) -> (u16, &'static str) {
        match self {
            Refusal::Bad(why) => (400, why),
            Refusal::NotImplemented(why) => (501, why),
            Refusal::Version => (505, "only HTTP/1.0 and HTTP/1.1 are served"),
        }
    }
}

/// A parsed request line, its target in origin-form.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RequestLine {
    pub method: Method,
    /// `/path?query` (absolute-form targets are reduced to this).
    pub target: String,
    /// The authority of an absolute-form target, which replaces `Host` (RFC 9112 §3.2.2).
    pub authority: Option<String>,
    pub version: HTTPVersion,
}

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// `tchar` of RFC 9110 §5.6.2: the characters of methods, header names and codings.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().copied().all(is_tchar)
}

/// Parses `method SP request-target SP HTTP-version`, single spaces only.
pub(crate) fn parse_request_line(line: &[u8]) -> Result<RequestLine, Refusal> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Bad("malformed request line"));
    };
    // The version first: an HTTP/2 preface (`PRI * HTTP/2.0`) gets 505, not a 400 for its
    // method.
    let version = parse_version(version)?;
    if !is_token(method) {
        return Err(Refusal::Bad("malformed request method"));
    }
    let method_text =
        std::str::from_utf8(method).map_err(|_| Refusal::Bad("malformed request method"))?;
    let method =
        Method::from_str(method_text).map_err(|_| Refusal::Bad("malformed request method"))?;
    if target.is_empty() || !target.iter().all(|b| b.is_ascii_graphic()) {
        return Err(Refusal::Bad("malformed request target"));
    }
    let target =
        std::str::from_utf8(target).map_err(|_| Refusal::Bad("malformed request target"))?;
    let (target, authority) = parse_target(&method, target)?;
    Ok(RequestLine {
        method,
        target,
        authority,
        version,
    })
}

fn parse_version(v: &[u8]) -> Result<HTTPVersion, Refusal> {
    match v {
        b"HTTP/1.1" => Ok(HTTPVersion(1, 1)),
        b"HTTP/1.0" => Ok(HTTPVersion(1, 0)),
        [b'H', b'T', b'T', b'P', b'/', rest @ ..]
            if !rest.is_empty() && rest.iter().all(|b| b.is_ascii_digit() || *b == b'.') =>
        {
            Err(Refusal::Version)
        }
        _ => Err(Refusal::Bad("malformed HTTP version")),
    }
}

/// Origin-form (`/p?q`) as is; absolute-form (`http://host:port/p?q`) to origin-form and its
/// authority; asterisk-form only for `OPTIONS`. Authority-form (`CONNECT`) is not served.
fn parse_target(method: &Method, target: &str) -> Result<(String, Option<String>), Refusal> {
    if target.starts_with('/') {
        return Ok((target.to_owned(), None));
    }
    if target == "*" {
        return if *method == Method::Options {
            Ok(("*".to_owned(), None))
        } else {
            Err(Refusal::Bad("'*' is a target for OPTIONS only"))
        };
    }
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &target[7..]
    } else if lower.starts_with("https://") {
        &target[8..]
    } else {
        return Err(Refusal::Bad("malformed request target"));
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') || !valid_host(authority) {
        return Err(Refusal::Bad("malformed authority in the request target"));
    }
    if path.starts_with('#') {
        return Err(Refusal::Bad("malformed request target"));
    }
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{}", path)
    };
    Ok((path, Some(authority.to_owned())))
}

/// A `Host` value (or an authority): reg-name, IPv4 or `[IPv6]`, optional `:port`. Empty is
/// allowed (RFC 9112 §3.2).
pub(crate) fn valid_host(h: &str) -> bool {
    h.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:[]".contains(&b))
}

/// Parses one header line. Refuses obs-fold (a line starting with white space), white space
/// before the colon, names that are not tokens and control characters in values.
pub(crate) fn parse_header(line: &[u8]) -> Result<Header, Refusal> {
    if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return Err(Refusal::Bad("obsolete line folding in a header"));
    }
    let colon = line
        .iter()
        .position(|b| *b == b':')
        .ok_or(Refusal::Bad("malformed header"))?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if !is_token(name) {
        return Err(Refusal::Bad("malformed header name"));
    }
    if value
        .iter()
        .any(|b| (b.is_ascii_control() && *b != b'\t') || !b.is_ascii())
    {
        return Err(Refusal::Bad("control character in a header value"));
    }
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !ows(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    Header::from_bytes(name, &value[start..end]).map_err(|_| Refusal::Bad("malformed header"))
}

fn values<'a>(headers: &'a [Header], name: &'static str) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

/// How the body is delimited (RFC 9112 §6), refusing every ambiguous combination.
pub(crate) fn framing(version: &HTTPVersion, headers: &[Header]) -> Result<Framing, Refusal> {
    let te: Vec<String> = values(headers, "Transfer-Encoding")
        .flat_map(|v| v.split(','))
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .collect();
    let has_te = values(headers, "Transfer-Encoding").next().is_some();
    let lengths: Vec<&str> = values(headers, "Content-Length").collect();
    if has_te {
        if *version < HTTPVersion(1, 1) {
            return Err(Refusal::Bad("Transfer-Encoding on an HTTP/1.0 request"));
        }
        if !lengths.is_empty() {
            return Err(Refusal::Bad("both Transfer-Encoding and Content-Length"));
        }
        return match te.last().map(String::as_str) {
            Some("chunked") if te.len() == 1 => Ok(Framing::Chunked),
            Some("chunked")
                if te.iter().all(|c| is_token(c.as_bytes()))
                    && te.iter().filter(|c| *c == "chunked").count() == 1 =>
            {
                Err(Refusal::NotImplemented(
                    "only the chunked transfer coding is supported",
                ))
            }
            _ => Err(Refusal::Bad(
                "malformed Transfer-Encoding (chunked must be the final coding)",
            )),
        };
    }
    match lengths.as_slice() {
        [] => Ok(Framing::None),
        [one] => {
            let n = parse_length(one).ok_or(Refusal::Bad("malformed Content-Length"))?;
            Ok(if n == 0 {
                Framing::None
            } else {
                Framing::Length(n)
            })
        }
        _ => Err(Refusal::Bad("more than one Content-Length")),
    }
}

/// `1*DIGIT` that fits in a u64: no sign, no list, no spaces inside.
fn parse_length(v: &str) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.bytes().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Exactly one valid `Host` on HTTP/1.1, at most one on HTTP/1.0 (RFC 9112 §3.2).
pub(crate) fn check_host(version: &HTTPVersion, headers: &[Header]) -> Result<(), Refusal> {
    let hosts: Vec<&str> = values(headers, "Host").collect();
    match hosts.as_slice() {
        [] if *version >= HTTPVersion(1, 1) => Err(Refusal::Bad("missing Host header")),
        [] => Ok(()),
        [one] if valid_host(one) => Ok(()),
        [_] => Err(Refusal::Bad("malformed Host header")),
        _ => Err(Refusal::Bad("more than one Host header")),
    }
}

/// Replaces every `Host` by the authority of an absolute-form target.
pub(crate) fn set_host(headers: &mut Vec<Header>, authority: &str) {
    headers.retain(|h| !h.field.equiv("Host"));
    if let Ok(h) = Header::from_bytes(&b"Host"[..], authority.as_bytes()) {
        headers.push(h);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn heads(lines: &[&str]) -> Vec<Header> {
        lines
            .iter()
            .map(|l| parse_header(l.as_bytes()).expect(l))
            .collect()
    }

    /// Carried from the crate's own `client::test::test_parse_request_line`, which tested the
    /// parser this module replaces.
    #[test]
    fn test_parse_request_line() {
        let l = parse_request_line(b"GET /hello HTTP/1.1").unwrap();
        assert!(l.method == Method::Get);
        assert!(l.target == "/hello");
        assert!(l.version == HTTPVersion(1, 1));
        assert!(parse_request_line(b"GET /hello").is_err());
        assert!(parse_request_line(b"qsd qsd qsd").is_err());
    }

    #[test]
    fn request_lines() {
        let l = parse_request_line(b"GET /system?x=1 HTTP/1.1").unwrap();
        assert_eq!((l.target.as_str(), l.authority), ("/system?x=1", None));
        let l = parse_request_line(b"GET http://host:4500/system HTTP/1.1").unwrap();
        assert_eq!(l.target, "/system");
        assert_eq!(l.authority.as_deref(), Some("host:4500"));
        let l = parse_request_line(b"GET HTTP://h?a=1 HTTP/1.0").unwrap();
        assert_eq!(l.target, "/?a=1");
        assert!(parse_request_line(b"OPTIONS * HTTP/1.1").is_ok());
        for v in [
            &b"PRI * HTTP/2.0"[..],
            b"GET / HTTP/2.0",
            b"GET / HTTP/2",
            b"GET / HTTP/0.9",
            b"GET / HTTP/3",
        ] {
            assert_eq!(parse_request_line(v), Err(Refusal::Version), "{:?}", v);
        }
        for bad in [
            &b"GET /"[..],
            b"GET  / HTTP/1.1",
            b"GET / HTTP/1.1 ",
            b"GET / http/1.1",
            b"GET / HTTP/1.1x",
            b"G(T / HTTP/1.1",
            b"GET * HTTP/1.1",
            b"CONNECT host:443 HTTP/1.1",
            b"GET http://user@host/ HTTP/1.1",
            b"GET http:/// HTTP/1.1",
            b"",
        ] {
            assert!(
                matches!(parse_request_line(bad), Err(Refusal::Bad(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn header_lines() {
        let h = parse_header(b"Name:  a value \t").unwrap();
        assert_eq!(h.value.as_str(), "a value");
        assert!(parse_header(b"Empty:").unwrap().value.as_str().is_empty());
        for bad in [
            &b" Transfer-Encoding: chunked"[..],
            b"\tX: y",
            b"Content-Length : 5",
            b"No colon",
            b": value",
            b"Na(me: v",
            b"X: a\rb",
            b"X: a\x00b",
        ] {
            assert!(
                parse_header(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn body_framing() {
        let v11 = HTTPVersion(1, 1);
        let v10 = HTTPVersion(1, 0);
        assert_eq!(framing(&v11, &heads(&[])), Ok(Framing::None));
        assert_eq!(
            framing(&v11, &heads(&["Content-Length: 0"])),
            Ok(Framing::None)
        );
        assert_eq!(
            framing(&v11, &heads(&["Content-Length: 12"])),
            Ok(Framing::Length(12))
        );
        assert_eq!(
            framing(&v11, &heads(&["Content-Length: 18446744073709551615"])),
            Ok(Framing::Length(u64::MAX))
        );
        assert_eq!(
            framing(&v11, &heads(&["Transfer-Encoding: Chunked"])),
            Ok(Framing::Chunked)
        );
        assert!(matches!(
            framing(&v11, &heads(&["Transfer-Encoding: gzip, chunked"])),
            Err(Refusal::NotImplemented(_))
        ));
        for bad in [
            &["Content-Length: 5", "Content-Length: 6"][..],
            &["Content-Length: 5", "Content-Length: 5"],
            &["Content-Length: 5, 5"],
            &["Content-Length: abc"],
            &["Content-Length: -1"],
            &["Content-Length: +5"],
            &["Content-Length: 18446744073709551616"],
            &["Content-Length: 5 5"],
            &["Content-Length:"],
            &["Transfer-Encoding: chunked", "Content-Length: 5"],
            &["Transfer-Encoding: xchunked"],
            &["Transfer-Encoding: gzip"],
            &["Transfer-Encoding: chunked, gzip"],
            &["Transfer-Encoding: chunked, chunked"],
            &["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
            &["Transfer-Encoding:"],
        ] {
            assert!(
                matches!(framing(&v11, &heads(bad)), Err(Refusal::Bad(_))),
                "{:?}",
                bad
            );
        }
        assert!(framing(&v10, &heads(&["Transfer-Encoding: chunked"])).is_err());
    }

    /// Each refusal's status and reason, as the client gets them.
    #[test]
    fn refusal_statuses() {
        assert_eq!(Refusal::Bad("why").status(), (400, "why"));
        assert_eq!(Refusal::NotImplemented("coding").status(), (501, "coding"));
        assert_eq!(
            Refusal::Version.status(),
            (505, "only HTTP/1.0 and HTTP/1.1 are served")
        );
    }

    /// Absolute-form targets at their edges: `https://`, no path, a query or fragment right
    /// after the authority, characters a host may not hold.
    #[test]
    fn absolute_targets() {
        let l = parse_request_line(b"GET https://h.example/a/b?c HTTP/1.1").unwrap();
        assert_eq!(
            (l.target.as_str(), l.authority.as_deref()),
            ("/a/b?c", Some("h.example"))
        );
        let l = parse_request_line(b"GET http://h HTTP/1.1").unwrap();
        assert_eq!(
            (l.target.as_str(), l.authority.as_deref()),
            ("/", Some("h"))
        );
        let l = parse_request_line(b"GET hTtPs://[::1]:4500 HTTP/1.1").unwrap();
        assert_eq!(
            (l.target.as_str(), l.authority.as_deref()),
            ("/", Some("[::1]:4500"))
        );
        let l = parse_request_line(b"GET http://h?q=1 HTTP/1.1").unwrap();
        assert_eq!(
            (l.target.as_str(), l.authority.as_deref()),
            ("/?q=1", Some("h"))
        );
        let l = parse_request_line(b"GET /?x HTTP/1.0").unwrap();
        assert_eq!(l.version, HTTPVersion(1, 0));
        for bad in [
            &b"GET http://h#f HTTP/1.1"[..],
            b"GET http://h\"x/ HTTP/1.1",
            b"GET https:// HTTP/1.1",
            b"GET ftp://h/ HTTP/1.1",
            b"GET http:/h HTTP/1.1",
            b"GET h/ HTTP/1.1",
            b"GET /\x7f HTTP/1.1",
            b"GET /\xc3\xa9 HTTP/1.1",
        ] {
            assert!(
                matches!(parse_request_line(bad), Err(Refusal::Bad(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(valid_host("a-b.c_d~e%20!$&'()*+,;=:[]9"));
        for bad in ["a b", "a/b", "a@b", "a\"b", "a#b", "a?b", "\u{e9}"] {
            assert!(!valid_host(bad), "{:?}", bad);
        }
    }

    /// Header values: tabs inside are kept, outside trimmed; non-ASCII is refused; a name is
    /// a token; a value may hold a colon.
    #[test]
    fn header_edges() {
        let h = parse_header(b"X-A:\ta\tb c\t ").unwrap();
        assert_eq!(h.value.as_str(), "a\tb c");
        assert!(h.field.equiv("x-a"));
        // Obsolete line folding is named as such (not as a malformed name).
        for folded in [&b" X: y"[..], b"\tX: y"] {
            assert_eq!(
                parse_header(folded).err(),
                Some(Refusal::Bad("obsolete line folding in a header"))
            );
        }
        let h = parse_header(b"Host: h:4500").unwrap();
        assert_eq!(h.value.as_str(), "h:4500");
        assert!(parse_header(b"X: caf\xc3\xa9").is_err());
        assert!(parse_header(b"X: a\x7fb").is_err());
        assert!(parse_header(b"X!#$%&'*+-.^_`|~: v").is_ok());
    }

    /// Transfer codings: chunked last and once is 501 beside other (token) codings, 400
    /// otherwise; only HTTP/1.1 may use them.
    #[test]
    fn transfer_codings() {
        let v11 = HTTPVersion(1, 1);
        let chunked = |lines: &[&str]| framing(&v11, &heads(lines));
        assert_eq!(
            chunked(&["Transfer-Encoding: ,chunked, "]),
            Ok(Framing::Chunked)
        );
        assert!(matches!(
            chunked(&["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"]),
            Err(Refusal::NotImplemented(_))
        ));
        for bad in [
            &["Transfer-Encoding: g(z, chunked"][..],
            &["Transfer-Encoding: chunked, gzip, chunked"],
            &["Transfer-Encoding: gzip, chunked", "Content-Length: 1"],
        ] {
            assert!(matches!(chunked(bad), Err(Refusal::Bad(_))), "{:?}", bad);
        }
        assert!(matches!(
            framing(&HTTPVersion(1, 0), &heads(&["Transfer-Encoding: chunked"])),
            Err(Refusal::Bad(_))
        ));
        assert_eq!(
            framing(&HTTPVersion(1, 0), &heads(&["Content-Length: 3"])),
            Ok(Framing::Length(3))
        );
        assert_eq!(parse_length("007"), Some(7));
        assert_eq!(parse_length(""), None);
        assert_eq!(
            parse_length("1844674407370955161"),
            Some(1_844_674_407_370_955_161)
        );
        assert_eq!(parse_length("18446744073709551620"), None);
    }

    #[test]
    fn host_rules() {
        let v11 = HTTPVersion(1, 1);
        let v10 = HTTPVersion(1, 0);
        assert!(check_host(&v11, &heads(&["Host: a.example:4500"])).is_ok());
        assert!(check_host(&v11, &heads(&["Host: [::1]:4500"])).is_ok());
        assert!(check_host(&v11, &heads(&["Host:"])).is_ok());
        assert!(check_host(&v11, &heads(&[])).is_err());
        assert!(check_host(&v10, &heads(&[])).is_ok());
        assert!(check_host(&v11, &heads(&["Host: a", "Host: a"])).is_err());
        assert!(check_host(&v10, &heads(&["Host: a", "Host: b"])).is_err());
        assert_eq!(
            check_host(&v11, &heads(&["Host: a/b"])),
            Err(Refusal::Bad("malformed Host header"))
        );
        assert_eq!(
            check_host(&v11, &heads(&["Host: a", "Host: a"])),
            Err(Refusal::Bad("more than one Host header"))
        );
        assert!(check_host(&v11, &heads(&["Host: a b"])).is_err());
        let mut h = heads(&["Host: wrong", "X: y"]);
        set_host(&mut h, "right:1");
        assert_eq!(values(&h, "Host").collect::<Vec<_>>(), vec!["right:1"]);
    }
}
