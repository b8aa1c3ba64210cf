//! Certificates for the TLS tests, made with the `openssl` command (Debian's `openssl`): a CA,
//! a server certificate for 127.0.0.1 and localhost, and a client certificate, all P-256;
//! and a TLS client (rustls, the one the server is built with) that trusts the CA.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tiny_http::rustls::{self, pki_types};

/// A scratch directory with `ca.crt`, `server.crt`/`server.key`, `client.crt`/`client.key`.
pub struct Pki {
    pub dir: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    super::ensure_tool("openssl", "openssl");
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pki {
    /// A new CA and certificates signed by it, in a directory named after `name`.
    pub fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("psm-pki-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=psmonitor test CA",
        ]);
        openssl(&dir, &ca);
        let pki = Pki { dir };
        pki.issue(
            "server",
            "localhost",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        );
        pki.issue("client", "scraper", "extendedKeyUsage=clientAuth");
        pki
    }

    /// (Re)issues `NAME.crt` and `NAME.key` for `cn`, signed by the CA, with `ext`.
    pub fn issue(&self, name: &str, cn: &str, ext: &str) {
        let dir = &self.dir;
        std::fs::write(dir.join(format!("{name}.ext")), format!("{ext}\n")).unwrap();
        let (key, csr, crt) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
        );
        let subj = format!("/CN={cn}");
        let mut req = vec![
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        req.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        openssl(dir, &req);
        let extfile = format!("{name}.ext");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                &extfile,
            ],
        );
    }

    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).to_str().unwrap().to_owned()
    }

    /// Writes `web.yml` with `text` and returns its path.
    pub fn web_config(&self, text: &str) -> String {
        std::fs::write(self.dir.join("web.yml"), text).unwrap();
        self.path("web.yml")
    }

    /// A TLS client configuration that trusts the CA, with the client certificate if asked.
    pub fn client(&self, with_cert: bool) -> Arc<rustls::ClientConfig> {
        use pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for c in pki_types::CertificateDer::pem_file_iter(self.dir.join("ca.crt")).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = if with_cert {
            let certs = pki_types::CertificateDer::pem_file_iter(self.dir.join("client.crt"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let key = pki_types::PrivateKeyDer::from_pem_file(self.dir.join("client.key")).unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        } else {
            builder.with_no_client_auth()
        };
        Arc::new(config)
    }

    /// The first certificate of `NAME.crt`, DER.
    pub fn der(&self, name: &str) -> Vec<u8> {
        use pki_types::pem::PemObject;
        pki_types::CertificateDer::pem_file_iter(self.dir.join(format!("{name}.crt")))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .to_vec()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TLS connection to `addr` (as `localhost`), handshake done: the stream, or the error.
pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>;

pub fn connect(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<TlsStream> {
    let tcp = std::net::TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let name = pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
    let mut s = rustls::StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock)?;
    }
    Ok(s)
}

/// `GET path` over a new TLS connection: the response.
pub fn get(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<super::Resp> {
    use std::io::{Read, Write};
    let mut s = connect(addr, config)?;
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    super::responses(&raw)
        .into_iter()
        .next()
        .ok_or_else(|| std::io::Error::other("no whole response"))
}
