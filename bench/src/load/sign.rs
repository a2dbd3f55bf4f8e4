//! SigV4 signing with the `aws-sigv4` crate, the signer the AWS SDKs use. Tresor's own
//! `tresor-sigv4` is never used here: the bench must exercise the server the way a real
//! client does, and a bug shared by signer and verifier would go unseen.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::Full;

/// The Secrets Manager signing name.
const SERVICE: &str = "secretsmanager";

/// A signed request ready to send any number of times (until its `x-amz-date` is older than
/// the server's 15-minute skew window).
#[derive(Clone)]
pub struct SignedRequest {
    headers: http::HeaderMap,
    body: Bytes,
}

impl SignedRequest {
    /// A sendable copy: origin-form URI `/` (HTTP/1.1 to the server itself), the signed
    /// headers and the body.
    pub fn to_http(&self) -> http::Request<Full<Bytes>> {
        let mut request = http::Request::new(Full::new(self.body.clone()));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = http::Uri::from_static("/");
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Signs awsJson1.1 Secrets Manager calls for one identity, region and host.
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

    /// Signs `secretsmanager.<operation>` with `body`, dated now.
    pub fn sign(&self, operation: &str, body: Bytes) -> crate::BenchResult<SignedRequest> {
        let target = format!("secretsmanager.{operation}");
        let mut request = http::Request::builder()
            .method(http::Method::POST)
            .uri(format!("http://{}/", self.authority))
            .header(http::header::HOST, self.authority.as_str())
            .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.1")
            .header("x-amz-target", target.as_str())
            .body(())
            .map_err(|e| format!("building {operation}: {e}"))?;
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name(SERVICE)
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
        .map_err(|e| format!("signing {operation}: {e}"))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| format!("signing {operation}: {e}"))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut request);
        Ok(SignedRequest {
            headers: request.into_parts().0.headers,
            body,
        })
    }
}
