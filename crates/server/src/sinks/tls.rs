//! The TLS client side of the syslog-over-TLS sink (RFC 5425): rustls on aws-lc-rs, TLS 1.3
//! and 1.2, the collector's certificate checked against a given CA file or the platform's
//! roots. No client certificate (yet).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use super::DeliveryError;

/// A client configuration trusting the certificates in `ca_file` (PEM), or the platform's
/// roots without one. Reads the file: call it when connecting, not in validation.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, DeliveryError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| DeliveryError::Trust(e.to_string()))?;
    let config = match ca_file {
        Some(path) => builder
            .with_root_certificates(roots_from(path)?)
            .with_no_client_auth(),
        None => {
            let verifier = rustls_platform_verifier::Verifier::new(provider)
                .map_err(|e| DeliveryError::Trust(e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

fn roots_from(path: &Path) -> Result<RootCertStore, DeliveryError> {
    let bad =
        |e: &dyn std::fmt::Display| DeliveryError::Trust(format!("`{}`: {e}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| bad(&e))?;
    }
    if roots.is_empty() {
        return Err(bad(&"holds no certificate"));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = client_config(Some(&path)).unwrap_err().to_string();
        assert!(err.ends_with("holds no certificate"), "{err}");
        let err = client_config(Some(&dir.path().join("missing.pem"))).unwrap_err();
        assert!(err.is_permanent());
    }
}
