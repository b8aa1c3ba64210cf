//! Optional bearer-token authorisation for the data endpoints.

use std::sync::RwLock;
use tiny_http::Request;

/// The token in force, replaced on SIGHUP when the token file is re-read.
#[derive(Default)]
pub struct TokenCell(RwLock<Option<Token>>);

impl TokenCell {
    pub fn new(token: Option<Token>) -> TokenCell {
        TokenCell(RwLock::new(token))
    }

    /// The current token, if one is set.
    pub fn get(&self) -> Option<Token> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set(&self, token: Token) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(token);
    }
}

/// The configured token. Its `Debug` never shows the secret, so it cannot leak into logs.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A token from text (surrounding white space, a file's trailing newline, ignored), or why it cannot be one: empty, or holding anything but printable
    /// ASCII (a space, a control character, `é`). HTTP sends header values as ASCII, so such a
    /// token could never arrive as a Bearer token (only inside Basic's base64): refused at
    /// start, rather than half working.
    pub fn parse(text: &str) -> Result<Token, &'static str> {
        let t = text.trim();
        if t.is_empty() {
            return Err("is empty");
        }
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("holds characters other than printable ASCII (spaces, control characters or non-ASCII letters cannot be sent as a Bearer token)");
        }
        Ok(Token(t.to_owned()))
    }

    /// Whether one `Authorization` value carries the token: `Bearer <this token>`, or HTTP
    /// Basic with the token as the password and any user name (Home Assistant's and
    /// Homepage's Glances clients only do Basic).
    pub fn admits_value(&self, value: &str) -> bool {
        let Some((scheme, rest)) = value.trim().split_once(' ') else {
            return false;
        };
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return constant_time_eq(rest.as_bytes(), self.0.as_bytes());
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let Some(pair) = base64_decode(rest) else {
                return false;
            };
            let password = pair.splitn(2, |b| *b == b':').nth(1).unwrap_or(&[]);
            return constant_time_eq(password, self.0.as_bytes());
        }
        false
    }
}

/// The user name and password of an `Authorization: Basic` value.
pub fn basic_credentials(value: &str) -> Option<(String, Vec<u8>)> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let pair = base64_decode(rest.trim())?;
    let colon = pair.iter().position(|b| *b == b':')?;
    let user = String::from_utf8(pair[..colon].to_vec()).ok()?;
    Some((user, pair[colon + 1..].to_vec()))
}

/// What guards the data: the token and the web config's users, either of which admits.
pub struct Guard<'a> {
    pub token: Option<&'a Token>,
    pub users: &'a crate::webconfig::Users,
}

impl Guard<'_> {
    /// Whether anything is asked of a client at all.
    pub fn is_set(&self) -> bool {
        self.token.is_some() || !self.users.is_empty()
    }

    /// Whether the request carries the token (Bearer, or Basic's password) or a user's name
    /// and password.
    pub fn admits(&self, req: &Request) -> bool {
        req.headers()
            .iter()
            .filter(|h| h.field.equiv("Authorization"))
            .any(|h| {
                let v = h.value.as_str();
                self.token.is_some_and(|t| t.admits_value(v))
                    || basic_credentials(v).is_some_and(|(u, p)| self.users.admits(&u, &p))
            })
    }
}

/// The web config in force, replaced on SIGHUP when its file is re-read.
#[derive(Default)]
pub struct WebCell(RwLock<std::sync::Arc<crate::webconfig::WebConfig>>);

impl WebCell {
    pub fn get(&self) -> std::sync::Arc<crate::webconfig::WebConfig> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set(&self, c: std::sync::Arc<crate::webconfig::WebConfig>) {
        crate::http::set_headers(c.headers.clone());
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = c;
    }
}

/// Standard base64 (RFC 4648, padding optional); `None` on anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = text.trim_end_matches('=').as_bytes();
    if bytes.len() % 4 == 1 || text.len() > 4096 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= digit(*c)? << (18 - 6 * i);
        }
        let got = chunk.len() * 6 / 8;
        out.extend_from_slice(&n.to_be_bytes()[1..1 + got]);
    }
    Some(out)
}

/// Compares without an early exit, so the time taken does not tell how much of a guess was
/// right. (The length is not secret-dependent in a useful way: tokens are long and random.)
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= usize::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_takes_the_token_as_password() {
        let t = Token::parse("s3cret").unwrap();
        // "homepage:s3cret", "x:s3cret" (no padding), ":s3cret"
        assert!(t.admits_value("Basic aG9tZXBhZ2U6czNjcmV0"));
        assert!(t.admits_value("basic eDpzM2NyZXQ"));
        assert!(t.admits_value("Basic OnMzY3JldA=="));
        assert!(t.admits_value("Bearer s3cret"));
        // "homepage:wrong", "s3cret" (no colon), garbage
        assert!(!t.admits_value("Basic aG9tZXBhZ2U6d3Jvbmc="));
        assert!(!t.admits_value("Basic czNjcmV0"));
        assert!(!t.admits_value("Basic !!!!"));
        assert!(!t.admits_value("Digest s3cret"));
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert!(base64_decode("a").is_none());
        assert_eq!(
            basic_credentials("Basic YWxpY2U6czNjOnJldA=="),
            Some(("alice".to_owned(), b"s3c:ret".to_vec()))
        );
        assert_eq!(basic_credentials("Bearer x"), None);
    }

    /// SIGHUP's new web config is the one in force afterwards (its users admit, its headers
    /// are sent). An empty config keeps the process-wide headers as they are for other tests.
    #[test]
    fn the_web_config_in_force_is_replaced() {
        let cell = WebCell::default();
        let first = cell.get();
        let next = std::sync::Arc::new(crate::webconfig::WebConfig::default());
        cell.set(next.clone());
        assert!(std::sync::Arc::ptr_eq(&cell.get(), &next));
        assert!(!std::sync::Arc::ptr_eq(&cell.get(), &first));
        let tokens = TokenCell::new(None);
        assert!(tokens.get().is_none());
        tokens.set(Token::parse("t0ken").unwrap());
        assert!(tokens.get().unwrap().admits_value("Bearer t0ken"));
    }

    /// Standard base64 of any bytes, padded or not, decodes back to them; the URL-safe
    /// alphabet's `-` and `_` are not base64 here.
    #[test]
    fn base64_round_trips() {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let encode = |bytes: &[u8]| -> String {
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let mut n = 0u32;
                for (i, b) in chunk.iter().enumerate() {
                    n |= u32::from(*b) << (16 - 8 * i);
                }
                for i in 0..=chunk.len() {
                    out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
                }
                out.push_str(&"=".repeat(3 - chunk.len()));
            }
            out
        };
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..=all.len() {
            let bytes: Vec<u8> = all
                .iter()
                .rev()
                .cycle()
                .skip(len)
                .take(len)
                .copied()
                .collect();
            let text = encode(&bytes);
            assert_eq!(base64_decode(&text).as_deref(), Some(&bytes[..]), "{text}");
            let bare = text.trim_end_matches('=');
            assert_eq!(base64_decode(bare).as_deref(), Some(&bytes[..]), "{bare}");
        }
        assert_eq!(base64_decode("+/8=").unwrap(), [0xfb, 0xff]);
        assert!(base64_decode("-_8=").is_none());
        assert!(base64_decode(&"A".repeat(4100)).is_none());
        assert_eq!(
            base64_decode(&"A".repeat(4096)).map(|v| v.len()),
            Some(3072)
        );
    }

    #[test]
    fn compares_whole_strings() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(!constant_time_eq(b"x\xff", b"x"));
        assert!(Token::parse("  \n").is_err());
        assert!(Token::parse("caf\u{e9}").is_err());
        assert!(Token::parse("two words").is_err());
        assert!(Token::parse("tab\there").is_err());
        assert!(Token::parse(" ok-token~!\n").is_ok());
        assert_eq!(
            format!("{:?}", Token::parse("abc").unwrap()),
            "Token(<redacted>)"
        );
    }
}
