//! The rustls server configuration from the web config's `tls_server_config` (see
//! [`crate::webconfig`]): the certificate chain and key, client certificates verified against
//! `client_ca_file` when asked, the protocol versions, TLS 1.2 suites and key exchange groups
//! named. The patched tiny_http runs the connections (`patches/tiny_http/src/tls.rs`).

use crate::webconfig::{ClientAuth, TlsConfig};
use std::sync::Arc;
use tiny_http::rustls::{self, crypto::ring, pki_types};

/// Builds the configuration; why not, in one line, for the operator.
pub fn server_config(c: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, String> {
    use pki_types::pem::PemObject;
    let file = |p: &std::path::Path| p.display().to_string();
    let certs = pki_types::CertificateDer::pem_slice_iter(&c.cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("tls_server_config.cert_file '{}': {e}", file(&c.cert_file)))?;
    if certs.is_empty() {
        return Err(format!(
            "tls_server_config.cert_file '{}' holds no PEM certificate",
            file(&c.cert_file)
        ));
    }
    let key = pki_types::PrivateKeyDer::from_pem_slice(&c.key_pem).map_err(|e| {
        format!(
            "tls_server_config.key_file '{}' holds no usable PEM private key: {e}",
            file(&c.key_file)
        )
    })?;

    // ring, not aws-lc-rs: pure Rust and a little C/asm that cross-builds for the boards, and
    // smaller; the post-quantum group it lacks is no loss for a LAN monitoring agent.
    #[allow(deprecated)]
    let mut provider = ring::default_provider();
    if !c.cipher_suites.is_empty() {
        // TLS 1.3's suites stay (not configurable, as in Go); the 1.2 ones named, in order.
        let all = provider.cipher_suites.clone();
        let named = |s: &rustls::SupportedCipherSuite, want: &str| {
            let name = s.suite().as_str().unwrap_or("");
            name == want || name == format!("{want}_SHA256")
        };
        provider.cipher_suites = all
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .chain(
                c.cipher_suites
                    .iter()
                    .filter_map(|want| all.iter().find(|s| named(s, want)).copied()),
            )
            .collect();
    }
    if !c.curve_preferences.is_empty() {
        let all = provider.kx_groups.clone();
        provider.kx_groups = c
            .curve_preferences
            .iter()
            .filter_map(|want| {
                let group = match want.as_str() {
                    "X25519" => rustls::NamedGroup::X25519,
                    "CurveP256" => rustls::NamedGroup::secp256r1,
                    "CurveP384" => rustls::NamedGroup::secp384r1,
                    _ => return None,
                };
                all.iter().find(|g| g.name() == group).copied()
            })
            .collect();
    }
    let provider = Arc::new(provider);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (c.min_version..=c.max_version).contains(v))
            .map(|(_, v)| v)
            .collect();
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let builder = match (&c.client_ca_pem, c.client_auth) {
        (Some(pem), auth) if auth != ClientAuth::None => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in pki_types::CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?;
            }
            if roots.is_empty() {
                return Err("tls_server_config.client_ca_file holds no PEM certificate".into());
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                Arc::clone(&provider),
            );
            let verifier = if auth == ClientAuth::IfGiven {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        format!(
            "tls_server_config: the certificate in '{}' and the key in '{}' do not go together: {e}",
            file(&c.cert_file),
            file(&c.key_file)
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
