//! TLS through rustls on aws-lc-rs: TLS 1.3 and 1.2 only, HTTP/2 and HTTP/1.1 by ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::ServerError;

pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, ServerError> {
    let tls_err = |what: &Path, e: &dyn std::fmt::Display| {
        ServerError::Tls(format!("`{}`: {e}", what.display()))
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| tls_err(cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err(cert, &e))?;
    if certs.is_empty() {
        return Err(ServerError::Tls(format!(
            "`{}` holds no certificate",
            cert.display()
        )));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| tls_err(key, &e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ServerError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| ServerError::Tls(format!("certificate and key do not match: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
