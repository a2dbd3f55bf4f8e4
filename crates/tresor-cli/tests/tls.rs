//! TLS: the server started with `--tls-cert`/`--tls-key` answers the AWS SDK over https when
//! the client trusts the certificate, and only then.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::error::SdkError;
use aws_smithy_http_client::tls;
use common::{sdk_config, unique, Creds, Server, ServerOptions};

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM files.
struct TestCert {
    cert_pem: String,
    cert_der: Vec<u8>,
}

fn write_cert(dir: &Path) -> TestCert {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("generate certificate");
    std::fs::write(dir.join("cert.pem"), cert.pem()).expect("write cert");
    std::fs::write(dir.join("key.pem"), signing_key.serialize_pem()).expect("write key");
    TestCert {
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
    }
}

fn tls_server(dir: &Path) -> Server {
    ServerOptions::dev()
        .arg("--tls-cert")
        .arg(dir.join("cert.pem").display().to_string())
        .arg("--tls-key")
        .arg(dir.join("key.pem").display().to_string())
        .start()
}

/// An SDK client whose https connector trusts exactly `ca_pem`.
fn https_client(endpoint: &str, creds: &Creds, ca_pem: &str) -> aws_sdk_secretsmanager::Client {
    let context = tls::TlsContext::builder()
        .with_trust_store(tls::TrustStore::empty().with_pem_certificate(ca_pem.as_bytes()))
        .build()
        .expect("TLS context");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https();
    aws_sdk_secretsmanager::Client::from_conf(sdk_config(endpoint, creds).http_client(http).build())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_over_https_with_a_trusted_certificate() {
    let certs = tempfile::tempdir().expect("tmp");
    let cert = write_cert(certs.path());
    let server = tls_server(certs.path());
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "banner: {}",
        server.url
    );
    let export = server
        .stdout_lines
        .iter()
        .find(|l| l.starts_with("export AWS_ENDPOINT_URL="))
        .expect("export line");
    assert!(
        export.starts_with(&format!("export AWS_ENDPOINT_URL={} ", server.url)),
        "{export}"
    );
    let creds = server.dev_creds.clone().expect("dev creds");
    let port = server.addr.port();

    // By DNS name and by IP address: both are in the certificate.
    for endpoint in [
        format!("https://localhost:{port}"),
        format!("https://127.0.0.1:{port}"),
    ] {
        let client = https_client(&endpoint, &creds, &cert.cert_pem);
        let name = unique("tls");
        client
            .create_secret()
            .name(&name)
            .secret_string("over TLS")
            .send()
            .await
            .unwrap_or_else(|e| panic!("create via {endpoint}: {e:?}"));
        let got = client
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get via {endpoint}: {e:?}"));
        assert_eq!(got.secret_string(), Some("over TLS"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_refuses_an_untrusted_certificate() {
    let certs = tempfile::tempdir().expect("tmp");
    write_cert(certs.path());
    let server = tls_server(certs.path());
    let creds = server.dev_creds.clone().expect("dev creds");
    let endpoint = format!("https://localhost:{}", server.addr.port());

    // The SDK's default https client (system roots) must not accept the self-signed cert…
    let default_client =
        aws_sdk_secretsmanager::Client::from_conf(sdk_config(&endpoint, &creds).build());
    let err = default_client
        .list_secrets()
        .send()
        .await
        .expect_err("untrusted certificate accepted");
    assert!(matches!(err, SdkError::DispatchFailure(_)), "{err:?}");

    // …nor one that trusts a different certificate.
    let other = tempfile::tempdir().expect("tmp");
    let other_cert = write_cert(other.path());
    let err = https_client(&endpoint, &creds, &other_cert.cert_pem)
        .list_secrets()
        .send()
        .await
        .expect_err("certificate of another key accepted");
    assert!(matches!(err, SdkError::DispatchFailure(_)), "{err:?}");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    assert!(
        !raw.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
}

/// `GET /health` through a plain rustls client that trusts only the test certificate.
fn https_health(addr: SocketAddr, cert_der: &[u8]) -> (u16, String) {
    use rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(cert_der.to_vec()))
        .expect("add root");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("server name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client connection");
    let sock = TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("TLS handshake and request");
    let mut raw = Vec::new();
    // A peer that closes without close_notify ends in UnexpectedEof after the full answer.
    if let Err(e) = tls.read_to_end(&mut raw) {
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
    }
    let version = tls.conn.protocol_version().expect("TLS version");
    assert!(
        matches!(
            version,
            rustls::ProtocolVersion::TLSv1_3 | rustls::ProtocolVersion::TLSv1_2
        ),
        "{version:?}"
    );
    common::parse_http_response(&raw)
}

#[test]
fn health_over_tls_with_a_plain_rustls_client() {
    let certs = tempfile::tempdir().expect("tmp");
    let cert = write_cert(certs.path());
    let server = tls_server(certs.path());
    let (status, body) = https_health(server.addr, &cert.cert_der);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":"ok""#), "{body}");
}
