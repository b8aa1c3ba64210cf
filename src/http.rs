//! Response building shared by every route: bodies, JSON, errors, CORS, and query strings.

use crate::model::ApiError;
use serde::Serialize;
use std::io::Cursor;
use std::sync::{OnceLock, RwLock};
use tiny_http::{Header, Response, StatusCode};
use tungstenite::Utf8Bytes;

/// A response body: a shared snapshot (no copy), an owned buffer, or an embedded asset; or
/// one of these holding its size from the answer budget until written (see [`leased`]).
pub enum Body {
    Shared(Utf8Bytes),
    Owned(Vec<u8>),
    Static(&'static [u8]),
    Leased {
        body: Box<Body>,
        _lease: crate::budget::Lease,
    },
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        match self {
            Body::Shared(b) => b.as_bytes(),
            Body::Owned(v) => v,
            Body::Static(s) => s,
            Body::Leased { body, .. } => body.as_ref().as_ref(),
        }
    }
}

/// Every response the API sends.
pub type Reply = Response<Cursor<Body>>;

/// Builds a header from known-good parts. Names and values here are ASCII constants or
/// values we produced, so the parse cannot fail; if it ever did, the header is dropped.
pub fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// The first value of a request header.
pub fn request_header(req: &tiny_http::Request, name: &'static str) -> Option<String> {
    req.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str().to_owned())
}

/// Which other origins' pages may read the answers from a browser (`--web.cors-origin`).
#[derive(Debug, Clone, PartialEq)]
pub enum Cors {
    /// `Access-Control-Allow-Origin: *` on every answer (the default: the original's clients,
    /// pages served from elsewhere, rely on it).
    Any,
    /// Only these origins (`scheme://host[:port]`, as browsers send them in `Origin`) are
    /// named back, each answer varying by `Origin`; any other page cannot read an answer.
    Only(Vec<String>),
}

/// The policy in force: set once at start ([`set_cors`]), read by every reply builder, which
/// has no other context (tiny_http's own refusals included).
static CORS: OnceLock<Cors> = OnceLock::new();

/// Sets the CORS policy; the first call wins (the server calls it once before serving).
pub fn set_cors(policy: Cors) {
    let _ = CORS.set(policy);
}

fn cors() -> &'static Cors {
    CORS.get().unwrap_or(&Cors::Any)
}

/// The web config's `http_server_config.headers`, added to every answer (replaced on SIGHUP).
static HEADERS: RwLock<Vec<(String, String)>> = RwLock::new(Vec::new());

/// Sets the headers every answer gets from the web config.
pub fn set_headers(headers: Vec<(String, String)>) {
    *HEADERS.write().unwrap_or_else(|e| e.into_inner()) = headers;
}

/// Whether the web config sets header `name` (it then replaces a default of ours).
pub fn configured_header(name: &str) -> bool {
    HEADERS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case(name))
}

/// The last touches of every answer the API sends: the web config's headers, and the CORS
/// header for `origin` ([`allow_origin`]).
pub fn finish(r: Reply, origin: Option<&str>) -> Reply {
    let r = HEADERS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .fold(r, |r, (k, v)| with(r, k, v));
    allow_origin(r, origin)
}

/// Adds what the policy says for a request from `origin` (its `Origin` header): with a list,
/// the origin itself when listed, and `Vary: Origin` either way. With `*`, [`reply`] has added
/// it already.
fn allow_origin(r: Reply, origin: Option<&str>) -> Reply {
    match cors() {
        Cors::Any => r,
        Cors::Only(list) => {
            let r = with(r, "Vary", "Origin");
            match origin.filter(|o| list.iter().any(|l| l == o)) {
                Some(o) => with(r, "Access-Control-Allow-Origin", o),
                None => r,
            }
        }
    }
}

/// A response with the CORS headers every answer carries.
pub fn reply(status: u16, content_type: &str, body: Body) -> Reply {
    let len = body.as_ref().len();
    let mut r = Response::new(
        StatusCode(status),
        Vec::new(),
        Cursor::new(body),
        Some(len),
        None,
    );
    let any = (*cors() == Cors::Any).then_some(("Access-Control-Allow-Origin", "*"));
    for (k, v) in [
        ("Content-Type", content_type),
        ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
        (
            "Access-Control-Allow-Headers",
            "x-requested-with, content-type, authorization",
        ),
    ]
    .into_iter()
    .chain(any)
    {
        if let Some(h) = header(k, v) {
            r.add_header(h);
        }
    }
    r
}

/// `r` with its body's size leased from the answer budget ([`crate::budget`]) until it is
/// written or dropped; a 503 with `Retry-After` when the budget is spent. Embedded assets
/// (never copied) and small bodies need no lease.
pub fn leased(r: Reply) -> Reply {
    let len = r.data_length().unwrap_or(0);
    if len <= crate::budget::SMALL {
        return r;
    }
    let status = r.status_code();
    let headers = r.headers().to_vec();
    let body = r.into_reader().into_inner();
    if matches!(body, Body::Static(_)) {
        return Response::new(status, headers, Cursor::new(body), Some(len), None);
    }
    match crate::budget::ANSWERS.lease(len) {
        Some(lease) => {
            let body = Body::Leased {
                body: Box::new(body),
                _lease: lease,
            };
            Response::new(status, headers, Cursor::new(body), Some(len), None)
        }
        None => with(
            error(
                503,
                "answers waiting for slow readers fill the server's budget, try again",
            ),
            "Retry-After",
            "2",
        ),
    }
}

/// Adds a header to a reply (builder style).
pub fn with(mut r: Reply, name: &str, value: &str) -> Reply {
    if let Some(h) = header(name, value) {
        r.add_header(h);
    }
    r
}

pub const JSON: &str = "application/json";

/// A JSON body.
pub fn json<T: Serialize>(status: u16, value: &T) -> Reply {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    reply(status, JSON, Body::Owned(body))
}

/// A pre-serialised JSON body shared with the sampler (no copy).
pub fn json_shared(bytes: &Utf8Bytes) -> Reply {
    reply(200, JSON, Body::Shared(bytes.clone()))
}

/// An error body `{"error": message}`.
pub fn error(status: u16, message: &str) -> Reply {
    json(status, &api_error(message))
}

/// An [`ApiError`] with only the message set, for callers to add details to.
pub fn api_error(message: &str) -> ApiError {
    ApiError {
        error: message.to_owned(),
        path: None,
        parameter: None,
        reason: None,
        allow: None,
    }
}

/// How tiny_http words the refusals it writes itself (a full connection table, a malformed
/// or ambiguous request head): the same JSON error body and CORS header as every answer (`*`
/// only: with a list of origins the request is not at hand), and `Retry-After` on a 503.
pub fn refusal(status: u16, why: &str) -> (Vec<Header>, Vec<u8>) {
    let any = (*cors() == Cors::Any).then_some(("Access-Control-Allow-Origin", "*"));
    let mut headers: Vec<Header> = [("Content-Type", JSON)]
        .into_iter()
        .chain(any)
        .filter_map(|(k, v)| header(k, v))
        .collect();
    if status == 503 {
        headers.extend(header("Retry-After", "1"));
    }
    let body = serde_json::to_vec(&api_error(why)).unwrap_or_else(|_| b"{}".to_vec());
    (headers, body)
}

/// 400 naming the query parameter and why its value was refused.
pub fn bad_parameter(parameter: &str, reason: &str) -> Reply {
    json(
        400,
        &ApiError {
            parameter: Some(parameter.to_owned()),
            reason: Some(reason.to_owned()),
            ..api_error("bad request")
        },
    )
}

/// Splits a request target into its path and query string.
pub fn split_target(url: &str) -> (&str, &str) {
    match url.split_once('?') {
        Some((p, q)) => (p, q),
        None => (url, ""),
    }
}

/// Parses `a=1&b=two%20words` into decoded pairs. Invalid escapes are kept as written and
/// invalid UTF-8 becomes U+FFFD, so any input parses.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The first name given more than once in the query (`id=x&id=y`): such a query is refused
/// rather than read as last-wins, since a proxy or a client library may read the first.
/// The names in `lists` are lists, given once per value (`collect[]=cpu&collect[]=meminfo`).
/// One pass with a set: a query of a thousand names (16 KiB of head) costs no more than its
/// reading.
pub fn repeated<'a>(pairs: &'a [(String, String)], lists: &[&str]) -> Option<&'a str> {
    let mut seen = std::collections::HashSet::with_capacity(pairs.len());
    pairs
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !lists.contains(k))
        .find(|k| !seen.insert(*k))
}

/// The value of the last `name=` in the query, if any.
pub fn query_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Percent-decoding with `+` as space (form encoding).
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                // Two hex digits exactly (`from_str_radix` alone would take `%+a` as 0x0a).
                let hex = b
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        let q = parse_query("id=abc&stream=net%77ork&x&y=a+b&bad=%zz%4&id=last");
        assert_eq!(query_value(&q, "stream"), Some("network"));
        assert_eq!(query_value(&q, "id"), Some("last"));
        assert_eq!(query_value(&q, "x"), Some(""));
        assert_eq!(query_value(&q, "y"), Some("a b"));
        assert_eq!(query_value(&q, "bad"), Some("%zz%4"));
        assert_eq!(query_value(&q, "nope"), None);
        assert_eq!(decode("%ff%fe"), "\u{fffd}\u{fffd}");
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("%e2%82"), "\u{fffd}");
        assert_eq!(repeated(&q, &[]), Some("id"));
        assert_eq!(
            repeated(&parse_query("processes=500&processes=5"), &[]),
            Some("processes")
        );
        assert_eq!(repeated(&parse_query("a=1&b=2&c"), &[]), None);
        // The first name that repeats an earlier one, in order.
        assert_eq!(repeated(&parse_query("a=1&b=1&b=2&a=2"), &[]), Some("b"));
        let many: String = (0..1400).map(|i| format!("k{i}=1&")).collect();
        assert_eq!(
            repeated(&parse_query(&format!("{many}k7=2")), &[]),
            Some("k7")
        );
        assert_eq!(
            repeated(&parse_query("a=1&%61=2"), &[]),
            Some("a"),
            "names compare decoded"
        );
        let lists = parse_query("collect%5B%5D=cpu&collect[]=stat&a=1");
        assert_eq!(repeated(&lists, &["collect[]"]), None);
        assert_eq!(repeated(&lists, &[]), Some("collect[]"));
    }

    #[test]
    fn target_split() {
        assert_eq!(split_target("/system?a=1"), ("/system", "a=1"));
        assert_eq!(split_target("/"), ("/", ""));
    }

    /// Found by `props::plus_and_broken_escapes`: `u8::from_str_radix` accepts a leading `+`,
    /// so `%+a` decoded as the byte 0x0a (a newline) instead of staying `%` then a space.
    #[test]
    fn a_sign_is_not_a_hex_digit() {
        assert_eq!(decode("%+a"), "% a");
        assert_eq!(decode("x=%+9"), "x=% 9");
    }

    mod props {
        //! Properties of the hand-written query parsing, over generated input.
        use super::super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        /// Percent-encodes every byte but the unreserved ones, as a careful client would.
        fn encode(s: &str) -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        }

        proptest! {
            #![proptest_config(crate::testing::cases(128))]

            /// Any text decodes, and never into more bytes than it had (an escape is three
            /// bytes; even a U+FFFD for an invalid one is no more than three).
            #[test]
            fn decode_takes_anything_and_never_grows(s in any::<String>()) {
                prop_assert!(decode(&s).len() <= s.len());
            }

            /// Any bytes a client sends, made into text as a server would see them, parse.
            #[test]
            fn arbitrary_bytes_parse(bytes in vec(any::<u8>(), 0..200)) {
                let text = String::from_utf8_lossy(&bytes);
                let (path, query) = split_target(&text);
                let pairs = parse_query(query);
                let _ = query_value(&pairs, "processes");
                prop_assert!(!path.contains('?'));
            }

            /// Encoding then decoding gives back the original, whatever it holds.
            #[test]
            fn percent_encoding_round_trips(s in any::<String>()) {
                prop_assert_eq!(decode(&encode(&s)), s);
            }

            /// Escapes of arbitrary bytes decode to those bytes, invalid UTF-8 to U+FFFD.
            #[test]
            fn escaped_bytes_decode_like_lossy_utf8(bytes in vec(any::<u8>(), 0..64), lower in any::<bool>()) {
                let escaped: String = bytes
                    .iter()
                    .map(|b| if lower { format!("%{b:02x}") } else { format!("%{b:02X}") })
                    .collect();
                prop_assert_eq!(decode(&escaped), String::from_utf8_lossy(&bytes));
            }

            /// `+` is a space; broken escapes stay as written.
            #[test]
            fn plus_and_broken_escapes(
                s in "[g-z +%]{0,40}"
            ) {
                // No hex digit follows any '%' here, so every '%' is kept literally.
                prop_assert_eq!(decode(&s), s.replace('+', " "));
            }

            /// A query built from any pairs parses back into the same pairs, in order, and
            /// `query_value` finds the last value given for a name.
            #[test]
            fn query_round_trips(pairs in vec((any::<String>(), any::<String>()), 0..8)) {
                let query = pairs
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                let parsed = parse_query(&query);
                prop_assert_eq!(&parsed, &pairs);
                for (k, _) in &pairs {
                    let last = pairs.iter().rev().find(|(k2, _)| k2 == k).map(|(_, v)| v.as_str());
                    prop_assert_eq!(query_value(&parsed, k), last);
                }
            }

            /// Empty pairs (`&&`) are skipped; a name without `=` has the empty value.
            #[test]
            fn bare_names_and_empty_pairs(names in vec("[a-z]{1,8}", 1..6), amps in 1usize..4) {
                let query = names.join(&"&".repeat(amps));
                let parsed = parse_query(&query);
                let want: Vec<(String, String)> =
                    names.iter().map(|n| (n.clone(), String::new())).collect();
                prop_assert_eq!(parsed, want);
            }

            /// The path is everything before the first `?`, the query everything after it.
            #[test]
            fn split_target_splits_at_the_first_question_mark(url in any::<String>()) {
                let (path, query) = split_target(&url);
                prop_assert!(!path.contains('?'));
                if url.contains('?') {
                    prop_assert_eq!(format!("{path}?{query}"), url);
                } else {
                    prop_assert_eq!((path, query), (url.as_str(), ""));
                }
            }
        }
    }
}
