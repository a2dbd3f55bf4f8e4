//! The TLS trust of an HTTPS endpoint: the platform's roots plus `AWS_CA_BUNDLE`.

use std::sync::Arc;

use super::CallError;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The platform's roots, plus the certificates of `AWS_CA_BUNDLE` when set.
pub(super) fn tls_config(
    ca_bundle: Option<&std::path::Path>,
) -> Result<rustls::ClientConfig, CallError> {
    let mut roots = rustls::RootCertStore::empty();
    // Why the errors are ignored: one unreadable file in the platform store should not stop a
    // call that the other roots (or the bundle) can verify; a missing root fails the
    // handshake with a clear "unknown issuer".
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = ca_bundle {
        let shown = path.display();
        let pem = std::fs::read(path)
            .map_err(|e| CallError::Config(format!("cannot read AWS_CA_BUNDLE {shown}: {e}")))?;
        let certs = rustls_pemfile::certs(&mut pem.as_slice())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                CallError::Config(format!(
                    "AWS_CA_BUNDLE {shown} is not a PEM certificate file"
                ))
            })?;
        if certs.is_empty() {
            return Err(CallError::Config(format!(
                "AWS_CA_BUNDLE {shown} holds no PEM certificate"
            )));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                CallError::Config(format!("AWS_CA_BUNDLE {shown}: unusable certificate: {e}"))
            })?;
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| CallError::Config(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The connector wants a TLS configuration even for a plain-HTTP endpoint, where it is never
/// used.
pub(super) fn empty_tls_config() -> Result<rustls::ClientConfig, CallError> {
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| CallError::Config(format!("TLS configuration: {e}")))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}
