//! Test support: sign requests with the independent `aws-sigv4` crate and hand them to
//! `tresor-sigv4` the way the server would.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use tresor_sigv4::Request;
use tresor_types::Timestamp;

/// What the client wants to send.
#[derive(Debug, Clone)]
pub struct Spec {
    pub method: String,
    /// Path and query as sent, e.g. `/a/b?x=1` (already percent-encoded).
    pub path_and_query: String,
    pub host: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub access_key_id: String,
    pub secret: String,
    pub session_token: Option<String>,
    pub region: String,
    pub service: String,
    /// Signing time, seconds since the epoch.
    pub time: i64,
    /// Ask the signer to add `x-amz-content-sha256`.
    pub content_sha256: bool,
}

impl Spec {
    /// A plain Secrets Manager-shaped request.
    pub fn simple(time: i64) -> Self {
        Spec {
            method: "POST".to_owned(),
            path_and_query: "/".to_owned(),
            host: "tresor.example:8443".to_owned(),
            headers: vec![
                (
                    "content-type".to_owned(),
                    "application/x-amz-json-1.1".to_owned(),
                ),
                (
                    "x-amz-target".to_owned(),
                    "secretsmanager.GetSecretValue".to_owned(),
                ),
            ],
            body: br#"{"SecretId":"prod/db"}"#.to_vec(),
            access_key_id: "AKIAIOSFODNN7EXAMPLE".to_owned(),
            secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY".to_owned(),
            session_token: None,
            region: "us-east-1".to_owned(),
            service: "secretsmanager".to_owned(),
            time,
            content_sha256: false,
        }
    }
}

/// A received request, owned, as the server shell would build it.
#[derive(Debug, Clone)]
pub struct OwnedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl OwnedRequest {
    pub fn as_request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| n != name);
    }
}

/// Signs `spec` with `aws-sigv4` (default settings: non-S3, double-encoded normalized path,
/// headers location) and returns the request as the server receives it, plus the signature.
pub fn sign_with_aws_sigv4(spec: &Spec) -> (OwnedRequest, String) {
    let uri = format!("https://{}{}", spec.host, spec.path_and_query);
    let mut builder = http::Request::builder()
        .method(spec.method.as_str())
        .uri(&uri)
        .header("host", &spec.host);
    for (name, value) in &spec.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let mut request = builder.body(spec.body.clone()).unwrap();

    let identity: Identity = Credentials::new(
        &spec.access_key_id,
        &spec.secret,
        spec.session_token.clone(),
        None,
        "test",
    )
    .into();
    let mut settings = SigningSettings::default();
    if spec.content_sha256 {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let time = UNIX_EPOCH + Duration::from_secs(u64::try_from(spec.time).unwrap());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&spec.region)
        .name(&spec.service)
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();

    let header_pairs: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        request.uri().to_string(),
        header_pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(request.body()),
    )
    .unwrap();
    let (instructions, signature) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut request);

    (received(&request), signature)
}

/// What a hyper-based server hands over: lower-case names (HeaderName is already lower-case),
/// values as received, path and query raw.
pub fn received(request: &http::Request<Vec<u8>>) -> OwnedRequest {
    OwnedRequest {
        method: request.method().as_str().to_owned(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or("").to_owned(),
        headers: request
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect(),
        body: request.body().clone(),
    }
}

pub fn millis(seconds: i64) -> Timestamp {
    Timestamp::from_millis(seconds * 1000)
}

/// 2015-08-30T12:36:00Z, the instant of AWS's test suite.
pub const SUITE_TIME: i64 = 1_440_938_160;

pub fn system_now_seconds() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}
