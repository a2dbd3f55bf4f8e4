//! SigV4 signing with the `aws-sigv4` crate, the signer the AWS SDKs use. Tresor's own
//! `tresor-sigv4` is never used here: the bench must exercise the server the way a real
//! client does, and a bug shared by signer and verifier would go unseen.
//!
//! Also the request shape every workload sends ([`SignedRequest`]): a signed Secrets Manager
//! call, or (for the gateway workloads) a plain call carrying a bearer key.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::Full;

/// The Secrets Manager signing name.
const SERVICE: &str = "secretsmanager";

/// A request ready to send any number of times (a signed one until its `x-amz-date` is older
/// than the server's 15-minute skew window).
#[derive(Clone)]
pub struct SignedRequest {
    /// Origin-form path (HTTP/1.1 to the server itself).
    path: http::Uri,
    headers: http::HeaderMap,
    body: Bytes,
}

impl SignedRequest {
    /// A request to `path` that needs no signature (its headers carry the credential, if any).
    pub fn unsigned(path: http::Uri, headers: http::HeaderMap, body: Bytes) -> Self {
        Self {
            path,
            headers,
            body,
        }
    }

    /// A sendable copy: `POST` to the path, with the headers and the body.
    pub fn to_http(&self) -> http::Request<Full<Bytes>> {
        let mut request = http::Request::new(Full::new(self.body.clone()));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = self.path.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Signs calls to `POST /` for one identity, region and host.
#[derive(Clone)]
pub struct Signer {
    identity: Identity,
    region: String,
    /// `host:port` as sent in the `Host` header.
    authority: String,
}

impl Signer {
    pub fn new(
        access_key_id: &str,
        secret_access_key: &str,
        region: &str,
        authority: &str,
    ) -> Self {
        let identity =
            Credentials::new(access_key_id, secret_access_key, None, None, "tresor-bench").into();
        Self {
            identity,
            region: region.to_owned(),
            authority: authority.to_owned(),
        }
    }

    /// `host:port`, as sent in the `Host` header.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Signs awsJson1.1 `secretsmanager.<operation>` with `body`, dated now.
    pub fn sign(&self, operation: &str, body: Bytes) -> crate::BenchResult<SignedRequest> {
        let target = format!("secretsmanager.{operation}");
        self.sign_for(
            SERVICE,
            "application/x-amz-json-1.1",
            Some(&target),
            body,
            operation,
        )
    }

    /// Signs a call to `service` (its SigV4 signing name) with this content type, an optional
    /// `X-Amz-Target`, and `body`, dated now: the JSON services (`gateway`) and the Query ones
    /// (`iam`, form-encoded, no target) alike. `what` names the call in errors.
    pub fn sign_for(
        &self,
        service: &str,
        content_type: &str,
        target: Option<&str>,
        body: Bytes,
        what: &str,
    ) -> crate::BenchResult<SignedRequest> {
        let mut builder = http::Request::builder()
            .method(http::Method::POST)
            .uri(format!("http://{}/", self.authority))
            .header(http::header::HOST, self.authority.as_str())
            .header(http::header::CONTENT_TYPE, content_type);
        if let Some(target) = target {
            builder = builder.header("x-amz-target", target);
        }
        let mut request = builder
            .body(())
            .map_err(|e| format!("building {what}: {e}"))?;
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name(service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("signing parameters: {e}"))?
            .into();
        let headers: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
            .collect();
        let signable = SignableRequest::new(
            "POST",
            format!("http://{}/", self.authority),
            headers.into_iter(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| format!("signing {what}: {e}"))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| format!("signing {what}: {e}"))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut request);
        Ok(SignedRequest {
            path: http::Uri::from_static("/"),
            headers: request.into_parts().0.headers,
            body,
        })
    }
}
