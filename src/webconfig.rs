//! `--web.config.file`: the web configuration file of Prometheus' exporter-toolkit, which
//! node_exporter reads and Prometheus users already write (TLS, extra response headers, basic
//! auth users with bcrypt hashes). Read at start (a mistake is one line and exit 2, as the
//! toolkit refuses it) and on SIGHUP (a mistake keeps the configuration in force).
//!
//! Every key the toolkit knows is either supported or refused by name with why; an unknown
//! key is refused like the toolkit's strict YAML decoding does.

use crate::files;
use crate::yaml::{self, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The whole file, checked.
#[derive(Debug, Default)]
pub struct WebConfig {
    /// `tls_server_config`, when given.
    pub tls: Option<TlsConfig>,
    /// `http_server_config.headers`: added to every answer.
    pub headers: Vec<(String, String)>,
    /// `basic_auth_users`.
    pub users: Users,
}

/// `tls_server_config`, with its files read (relative paths are relative to the config file,
/// as the toolkit reads them).
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The certificate chain and key, PEM.
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub client_auth: ClientAuth,
    /// The CAs that sign client certificates, PEM (`client_ca_file`).
    pub client_ca_pem: Option<Vec<u8>>,
    /// Lowest and highest protocol versions: 12 or 13.
    pub min_version: u8,
    pub max_version: u8,
    /// TLS 1.2 cipher suites by their IANA names (as Go names them); empty: the defaults.
    pub cipher_suites: Vec<String>,
    /// Key exchange groups, in Go's names (`X25519`, `CurveP256`, `CurveP384`); empty: the
    /// defaults.
    pub curve_preferences: Vec<String>,
}

/// `client_auth_type`: what is asked of a client's certificate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClientAuth {
    /// `NoClientCert` (the default).
    None,
    /// `VerifyClientCertIfGiven`: a certificate, if sent, must verify against `client_ca_file`.
    IfGiven,
    /// `RequireAndVerifyClientCert`.
    Required,
}

/// The TLS 1.2 suites the TLS library (rustls) offers, by the IANA names Go uses; TLS 1.3's
/// suites are not configurable (in Go either).
pub const CIPHER_SUITES: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
];

/// The key exchange groups offered, by Go's names.
pub const CURVES: &[&str] = &["X25519", "CurveP256", "CurveP384"];

/// `basic_auth_users`: names and bcrypt hashes. A password that verified is remembered (per
/// user, until the configuration is replaced), since bcrypt costs tens of milliseconds a try
/// on a small board and Prometheus sends the same one every scrape.
#[derive(Default)]
pub struct Users {
    hashes: Vec<(String, String)>,
    verified: Mutex<HashMap<String, Vec<u8>>>,
}

/// Never shows hashes or passwords (the config is logged at debug level).
impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Users({} users)", self.hashes.len())
    }
}

impl Users {
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether `user` with `password` is one of the users.
    pub fn admits(&self, user: &str, password: &[u8]) -> bool {
        let Some((_, hash)) = self.hashes.iter().find(|(u, _)| u == user) else {
            // An unknown name costs what a wrong password costs (a bcrypt against a configured
            // hash), so answer times do not tell which user names exist.
            if let Some((_, any)) = self.hashes.first() {
                verify(password, any);
            }
            return false;
        };
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified
            .get(user)
            .is_some_and(|p| crate::auth::constant_time_eq(p, password))
        {
            return true;
        }
        drop(verified);
        let ok = verify(password, hash);
        if ok {
            verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
            verified.insert(user.to_owned(), password.to_vec());
        }
        ok
    }
}

#[cfg(test)]
thread_local! {
    /// bcrypt checks made on this thread (tests count them: timing is not asserted).
    static VERIFIES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One bcrypt check of `password` against `hash`.
fn verify(password: &[u8], hash: &str) -> bool {
    #[cfg(test)]
    VERIFIES.with(|n| n.set(n.get() + 1));
    bcrypt::verify(password, hash).unwrap_or(false)
}

/// Reads and checks the file at `path`; why not, in one line naming the file.
pub fn load(path: &Path) -> Result<WebConfig, String> {
    let text = files::read_text(path, files::CONFIG_CAP, "the web config file")?;
    let fail = |why: String| format!("web config file '{}': {why}", path.display());
    let dir = path.parent().unwrap_or(Path::new("."));
    let top = match yaml::parse(&text).map_err(fail)? {
        Value::Null => Vec::new(),
        Value::Map(m) => m,
        _ => return Err(fail("expected a mapping of keys".into())),
    };
    let mut config = WebConfig::default();
    for (key, value) in top {
        match key.as_str() {
            "tls_server_config" => config.tls = tls(value, dir).map_err(fail)?,
            "http_server_config" => config.headers = http_server(value).map_err(fail)?,
            "basic_auth_users" => config.users = users(value).map_err(fail)?,
            "rate_limit" => return Err(fail(format!("{key}: {}", unsupported(&key)))),
            _ => return Err(fail(format!("unknown key '{key}'"))),
        }
    }
    Ok(config)
}

/// Why a key the toolkit knows is refused here.
fn unsupported(key: &str) -> &'static str {
    match key {
        "cert" | "key" | "client_ca" => {
            "inline PEM is not supported by psmonitor; use cert_file, key_file, client_ca_file"
        }
        "client_allowed_sans" => {
            "not supported by psmonitor (any certificate the CA signed is admitted)"
        }
        "prefer_server_cipher_suites" => "not supported by psmonitor (the server's order is used)",
        "rate_limit" => "not supported by psmonitor (its per-peer caps apply instead)",
        _ => "not supported by psmonitor",
    }
}

fn map(value: Value, key: &str) -> Result<Vec<(String, Value)>, String> {
    match value {
        Value::Map(m) => Ok(m),
        Value::Null => Ok(Vec::new()),
        _ => Err(format!("{key}: expected a mapping")),
    }
}

fn text(value: Value, key: &str) -> Result<String, String> {
    match value {
        Value::Scalar(s) => Ok(s),
        Value::Null => Ok(String::new()),
        _ => Err(format!("{key}: expected a single value")),
    }
}

fn list(value: Value, key: &str) -> Result<Vec<String>, String> {
    match value {
        Value::Seq(items) => items.into_iter().map(|v| text(v, key)).collect(),
        Value::Null => Ok(Vec::new()),
        _ => Err(format!("{key}: expected a list")),
    }
}

fn tls(value: Value, dir: &Path) -> Result<Option<TlsConfig>, String> {
    let mut cert_file = String::new();
    let mut key_file = String::new();
    let mut client_auth = ClientAuth::None;
    let mut client_ca_file = String::new();
    let mut min_version = 12;
    let mut max_version = 13;
    let mut cipher_suites = Vec::new();
    let mut curve_preferences = Vec::new();
    for (key, v) in map(value, "tls_server_config")? {
        let name = format!("tls_server_config.{key}");
        match key.as_str() {
            "cert_file" => cert_file = text(v, &name)?,
            "key_file" => key_file = text(v, &name)?,
            "client_ca_file" => client_ca_file = text(v, &name)?,
            "client_auth_type" => {
                client_auth = match text(v, &name)?.as_str() {
                    "" | "NoClientCert" => ClientAuth::None,
                    "VerifyClientCertIfGiven" => ClientAuth::IfGiven,
                    "RequireAndVerifyClientCert" => ClientAuth::Required,
                    t @ ("RequestClientCert" | "RequireAnyClientCert") => {
                        return Err(format!("{name}: {t} admits certificates nobody verified; psmonitor supports NoClientCert, VerifyClientCertIfGiven and RequireAndVerifyClientCert"))
                    }
                    t => return Err(format!("{name}: unknown value '{t}' (NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)")),
                }
            }
            "min_version" => min_version = version(&text(v, &name)?, &name)?,
            "max_version" => max_version = version(&text(v, &name)?, &name)?,
            "cipher_suites" => {
                cipher_suites = list(v, &name)?;
                if let Some(bad) = cipher_suites.iter().find(|s| !CIPHER_SUITES.contains(&s.as_str())) {
                    return Err(format!("{name}: '{bad}' is not offered (one of: {})", CIPHER_SUITES.join(", ")));
                }
            }
            "curve_preferences" => {
                curve_preferences = list(v, &name)?;
                if let Some(bad) = curve_preferences.iter().find(|s| !CURVES.contains(&s.as_str())) {
                    return Err(format!("{name}: '{bad}' is not offered (one of: {})", CURVES.join(", ")));
                }
            }
            "cert" | "key" | "client_ca" | "client_allowed_sans" | "prefer_server_cipher_suites" => {
                return Err(format!("{name}: {}", unsupported(&key)))
            }
            _ => return Err(format!("unknown key '{name}'")),
        }
    }
    if cert_file.is_empty() && key_file.is_empty() && client_ca_file.is_empty() {
        // An empty `tls_server_config:` means plain HTTP, as in the toolkit.
        return Ok(None);
    }
    if cert_file.is_empty() {
        return Err("tls_server_config: missing cert_file".into());
    }
    if key_file.is_empty() {
        return Err("tls_server_config: missing key_file".into());
    }
    if min_version > max_version {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    if client_auth != ClientAuth::None && client_ca_file.is_empty() {
        return Err("tls_server_config: client_auth_type verifies client certificates, but no client_ca_file is given".into());
    }
    if client_auth == ClientAuth::None && !client_ca_file.is_empty() {
        return Err("tls_server_config: client_ca_file is given, but client_auth_type is NoClientCert (use VerifyClientCertIfGiven or RequireAndVerifyClientCert)".into());
    }
    let read = |file: &str, what: &str| {
        let path = dir.join(file);
        files::read_regular(&path, files::CONFIG_CAP, what).map(|b| (path, b))
    };
    let (cert_file, cert_pem) = read(&cert_file, "tls_server_config.cert_file")?;
    let (key_file, key_pem) = read(&key_file, "tls_server_config.key_file")?;
    let client_ca_pem = match client_ca_file.as_str() {
        "" => None,
        f => Some(read(f, "tls_server_config.client_ca_file")?.1),
    };
    Ok(Some(TlsConfig {
        cert_file,
        key_file,
        cert_pem,
        key_pem,
        client_auth,
        client_ca_pem,
        min_version,
        max_version,
        cipher_suites,
        curve_preferences,
    }))
}

/// `TLS12`/`TLS13` as 12/13; the older versions are refused (the TLS library has none).
fn version(text: &str, name: &str) -> Result<u8, String> {
    match text {
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        "TLS10" | "TLS11" => Err(format!("{name}: {text} is not offered (TLS12 or TLS13)")),
        t => Err(format!("{name}: unknown version '{t}' (TLS12 or TLS13)")),
    }
}

/// Response headers psmonitor sets itself or that frame the answer: not for the config file.
const RESERVED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "www-authenticate",
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "upgrade",
    "vary",
    "etag",
    "date",
    "server",
    "set-cookie",
];

fn http_server(value: Value) -> Result<Vec<(String, String)>, String> {
    let mut headers = Vec::new();
    for (key, v) in map(value, "http_server_config")? {
        let name = format!("http_server_config.{key}");
        match key.as_str() {
            "headers" => {
                for (h, v) in map(v, &name)? {
                    let value = text(v, &format!("{name}.{h}"))?;
                    let lower = h.to_ascii_lowercase();
                    if h.is_empty()
                        || !h
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
                    {
                        return Err(format!("{name}: '{h}' is not a header name"));
                    }
                    if RESERVED.contains(&lower.as_str()) || lower.starts_with("access-control-") {
                        return Err(format!("{name}: '{h}' is set by psmonitor itself"));
                    }
                    if !value
                        .bytes()
                        .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
                    {
                        return Err(format!("{name}.{h}: the value must be printable ASCII"));
                    }
                    headers.push((h, value));
                }
            }
            // HTTP/2 is not spoken here; `http2: false` or `true` (the toolkit's default)
            // changes nothing for HTTP/1.1 clients, so either is accepted.
            "http2" => match text(v, &name)?.as_str() {
                "true" | "false" => {}
                t => return Err(format!("{name}: '{t}' is not true or false")),
            },
            _ => return Err(format!("unknown key '{name}'")),
        }
    }
    Ok(headers)
}

fn users(value: Value) -> Result<Users, String> {
    let mut hashes = Vec::new();
    for (user, v) in map(value, "basic_auth_users")? {
        let hash = text(v, "basic_auth_users")?;
        if user.contains(':') || !user.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "basic_auth_users: '{user}' cannot be a user name (printable ASCII, no ':')"
            ));
        }
        if hash.parse::<bcrypt::HashParts>().is_err() {
            return Err(format!("basic_auth_users.{user}: not a bcrypt hash (make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"));
        }
        hashes.push((user, hash));
    }
    Ok(Users {
        hashes,
        verified: Mutex::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bcrypt hash of "secret" at cost 4 (cheap for tests).
    fn hash() -> String {
        bcrypt::hash("secret", 4).unwrap()
    }

    fn load_text(name: &str, text: &str) -> Result<WebConfig, String> {
        let dir = std::env::temp_dir().join(format!("psm-webcfg-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("server.crt"), "CERT").unwrap();
        std::fs::write(dir.join("server.key"), "KEY").unwrap();
        std::fs::write(dir.join("web.yml"), text).unwrap();
        let r = load(&dir.join("web.yml"));
        std::fs::remove_dir_all(&dir).unwrap();
        r
    }

    #[test]
    fn the_toolkits_keys_are_read() {
        let text = format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n  curve_preferences:\n    - X25519\nhttp_server_config:\n  http2: false\n  headers:\n    Strict-Transport-Security: max-age=31536000\nbasic_auth_users:\n  alice: {}\n",
            hash()
        );
        let c = load_text("ok", &text).unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(
            (tls.cert_pem.as_slice(), tls.key_pem.as_slice()),
            (&b"CERT"[..], &b"KEY"[..])
        );
        assert_eq!((tls.min_version, tls.max_version), (13, 13));
        assert_eq!(tls.curve_preferences, ["X25519"]);
        assert_eq!(
            c.headers,
            [(
                "Strict-Transport-Security".to_owned(),
                "max-age=31536000".to_owned()
            )]
        );
        assert!(c.users.admits("alice", b"secret"));
        assert!(c.users.admits("alice", b"secret"), "remembered");
        assert!(!c.users.admits("alice", b"wrong"));
        let checks = || VERIFIES.with(|n| n.get());
        let before = checks();
        assert!(!c.users.admits("bob", b"secret"));
        assert_eq!(checks(), before + 1, "an unknown user costs a bcrypt too");
        assert!(!c.users.admits("alice", b"wrong again"));
        assert_eq!(checks(), before + 2, "as a wrong password does");
        assert!(load_text("empty", "").unwrap().tls.is_none());
        assert!(load_text("emptytls", "tls_server_config:\n")
            .unwrap()
            .tls
            .is_none());
    }

    #[test]
    fn mistakes_are_one_line_naming_the_key() {
        for (text, says) in [
            ("nope: 1\n", "unknown key 'nope'"),
            ("tls_server_config:\n  cert_fil: x\n", "unknown key 'tls_server_config.cert_fil'"),
            ("tls_server_config:\n  cert_file: server.crt\n", "missing key_file"),
            ("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n", "missing.crt"),
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS11\n", "TLS11 is not offered"),
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n", "no client_ca_file"),
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n", "nobody verified"),
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  curve_preferences: [CurveP521]\n", "'CurveP521' is not offered"),
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n", "is not offered"),
            ("tls_server_config:\n  cert: inline\n", "inline PEM"),
            ("http_server_config:\n  headers:\n    Content-Type: x\n", "set by psmonitor"),
            ("basic_auth_users:\n  alice: plain\n", "not a bcrypt hash"),
            ("rate_limit:\n  interval: 1s\n", "not supported"),
        ] {
            let err = load_text("bad", text).expect_err(text).to_string();
            assert!(err.contains(says), "{text:?}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }
}
