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
    /// A token from text; surrounding white space (a file's trailing newline) is ignored.
    /// Empty text means no token.
    pub fn new(text: &str) -> Option<Token> {
        let t = text.trim();
        (!t.is_empty()).then(|| Token(t.to_owned()))
    }

    /// True when the request carries `Authorization: Bearer <this token>`.
    pub fn admits(&self, req: &Request) -> bool {
        req.headers()
            .iter()
            .filter(|h| h.field.equiv("Authorization"))
            .filter_map(|h| {
                let v = h.value.as_str().trim();
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .any(|given| constant_time_eq(given.as_bytes(), self.0.as_bytes()))
    }
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
    fn compares_whole_strings() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(!constant_time_eq(b"x\xff", b"x"));
        assert!(Token::new("  \n").is_none());
        assert_eq!(
            format!("{:?}", Token::new("abc").unwrap()),
            "Token(<redacted>)"
        );
    }
}
