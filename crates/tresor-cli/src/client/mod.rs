//! The client side of Tresor's signed JSON APIs: one awsJson 1.1 call at a time, for
//! `tresor gateway …` and any later command that talks to a running server.
//!
//! Data path: [`Connection::from_env`] reads the endpoint, region and credentials the way the
//! aws CLI does (`AWS_ENDPOINT_URL` or `--endpoint`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_CA_BUNDLE`).
//! [`Client::call`] serializes the request, signs it with SigV4 for the client's signing name
//! (the independent `aws-sigv4` crate, never the server's verifier), sends it over HTTP or
//! HTTPS (the platform's roots plus the optional bundle), and returns the answer's JSON, or the
//! service's error (`__type`, `Message`) as [`CallError::Api`].
//!
//! The secret access key lives in `aws_credential_types::Credentials`, whose `Debug` redacts
//! it; no error quotes it, a header, or a body.

mod connection;
mod tls;
mod unsigned;

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub use connection::Connection;
pub use unsigned::post_unsigned;

/// How long one call may take, connection included; the aws CLI's default read timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest answer read: a list of every key of a big account is far below it, and a
/// misdirected endpoint streaming something else cannot exhaust memory.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Why a call did not return an answer. `Display` is what the user reads after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The service refused the request: its code (`ResourceNotFoundException`) and message.
    #[error("{code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// The environment or flags do not describe a usable connection.
    #[error("{0}")]
    Config(String),
    /// The request did not reach the service, or its answer did not come back.
    #[error("cannot call {endpoint}: {reason}")]
    Transport { endpoint: String, reason: String },
    /// Something answered, but not with an AWS JSON answer (a proxy, another service).
    #[error("the endpoint answered HTTP {status} with a body that is not a JSON answer of this API ({what})")]
    BadAnswer { status: u16, what: String },
}
/// A signed JSON client for one service (its SigV4 signing name, e.g. `gateway`).
pub struct Client {
    connection: Connection,
    signing_name: &'static str,
    http: HttpClient,
}

impl Client {
    /// A client for `signing_name`. Reads `AWS_CA_BUNDLE` and the platform roots only when the
    /// endpoint is HTTPS, so a plain-HTTP setup never fails on a broken trust store.
    pub fn new(connection: Connection, signing_name: &'static str) -> Result<Self, CallError> {
        let http = http_client(&connection.endpoint, connection.ca_bundle.as_deref())?;
        Ok(Self {
            connection,
            signing_name,
            http,
        })
    }

    /// Calls `target` (`TresorGateway.CreateRoute`) with `request` as the JSON body and returns
    /// the answer's JSON.
    pub async fn call(&self, target: &str, request: &Value) -> Result<Value, CallError> {
        let body = serde_json::to_vec(request).map_err(|e| CallError::Config(e.to_string()))?;
        let signed = self.signed_request(target, body)?;
        let endpoint = self.connection.endpoint.to_string();
        let transport = |reason: String| CallError::Transport {
            endpoint: endpoint.clone(),
            reason,
        };
        let exchange = async {
            let answer = self
                .http
                .request(signed)
                .await
                .map_err(|e| transport(error_chain(&e)))?;
            let status = answer.status().as_u16();
            let bytes = Limited::new(answer.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| transport(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok::<_, CallError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| transport(format!("no answer within {} s", CALL_TIMEOUT.as_secs())))??;
        interpret(status, &bytes)
    }

    fn signed_request(
        &self,
        target: &str,
        body: Vec<u8>,
    ) -> Result<http::Request<Full<Bytes>>, CallError> {
        let uri = &self.connection.endpoint;
        let host = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        // Why the host header is set here: it is signed, so it must be exactly what is sent,
        // not whatever the HTTP client would add later.
        let mut headers = vec![
            ("host", host),
            ("content-type", "application/x-amz-json-1.1".to_owned()),
            ("x-amz-target", target.to_owned()),
        ];
        let identity: Identity = self.connection.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.connection.region)
            .name(self.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| CallError::Config(format!("cannot sign the request: {e}")))?
            .into();
        let url = uri.to_string();
        let signable = SignableRequest::new(
            "POST",
            url.as_str(),
            headers.iter().map(|(n, v)| (*n, v.as_str())),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| CallError::Config(format!("cannot sign the request: {e}")))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| CallError::Config(format!("cannot sign the request: {e}")))?
            .into_parts();
        let mut builder = http::Request::post(uri.clone());
        for (name, value) in headers.drain(..) {
            builder = builder.header(name, value);
        }
        for (name, value) in instructions.headers() {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(Bytes::from(body)))
            // Why no detail: the failing header could be the signature or session token.
            .map_err(|_| CallError::Config("cannot build the signed request".to_owned()))
    }
}

type HttpClient = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The HTTP client for `endpoint`: reads `ca_bundle` and the platform roots only when the
/// endpoint is HTTPS, so a plain-HTTP setup never fails on a broken trust store.
fn http_client(
    endpoint: &http::Uri,
    ca_bundle: Option<&std::path::Path>,
) -> Result<HttpClient, CallError> {
    let tls = if endpoint.scheme_str() == Some("https") {
        tls::tls_config(ca_bundle)?
    } else {
        tls::empty_tls_config()?
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector))
}

/// A 2xx answer's JSON, or the service's error. An empty 2xx body is `{}`.
fn interpret(status: u16, body: &[u8]) -> Result<Value, CallError> {
    let bad = |what: &str| CallError::BadAnswer {
        status,
        what: what.to_owned(),
    };
    let json: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice(body).map_err(|_| bad("not JSON"))?)
    };
    if (200..300).contains(&status) {
        return match json {
            None => Ok(Value::Object(serde_json::Map::new())),
            Some(v @ Value::Object(_)) => Ok(v),
            Some(_) => Err(bad("not a JSON object")),
        };
    }
    let json = json.ok_or_else(|| bad("empty error"))?;
    let code = json["__type"]
        .as_str()
        .ok_or_else(|| bad("an error without __type"))?;
    // `namespace#Code` in some services; the code is the last part.
    let code = code.rsplit('#').next().unwrap_or(code).to_owned();
    let message = json["Message"]
        .as_str()
        .or_else(|| json["message"].as_str())
        .unwrap_or("")
        .to_owned();
    Err(CallError::Api {
        status,
        code,
        message,
    })
}

/// The causes of a transport error, outermost first: hyper's own message ("client error
/// (Connect)") says little; the I/O or TLS cause says what to fix.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_json_objects_and_errors_carry_their_code() {
        assert_eq!(interpret(200, b"").unwrap(), serde_json::json!({}));
        assert_eq!(interpret(200, b"{\"A\":1}").unwrap()["A"], 1);
        assert!(matches!(
            interpret(200, b"[1]"),
            Err(CallError::BadAnswer { .. })
        ));
        assert!(matches!(
            interpret(200, b"<html>"),
            Err(CallError::BadAnswer { .. })
        ));
        let err = interpret(
            404,
            br#"{"__type":"tresor#ResourceNotFoundException","Message":"no route x"}"#,
        )
        .err()
        .unwrap();
        assert_eq!(err.to_string(), "ResourceNotFoundException: no route x");
        let err = interpret(
            400,
            br#"{"__type":"ValidationException","message":"lower"}"#,
        )
        .err()
        .unwrap();
        assert_eq!(err.to_string(), "ValidationException: lower");
        assert!(matches!(
            interpret(502, b"Bad Gateway"),
            Err(CallError::BadAnswer { status: 502, .. })
        ));
    }
}
