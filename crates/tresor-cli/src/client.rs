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

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The region signed for when neither `AWS_REGION` nor `AWS_DEFAULT_REGION` is set.
const DEFAULT_REGION: &str = "us-east-1";

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

/// Where to send calls and as whom.
pub struct Connection {
    endpoint: http::Uri,
    region: String,
    credentials: Credentials,
    ca_bundle: Option<PathBuf>,
}

impl Connection {
    /// Reads the connection from `--endpoint` (when given) and the environment through `var`
    /// (`std::env::var` in the binary; a map in tests). Empty variables count as unset, as in
    /// the aws CLI.
    pub fn from_env(
        endpoint_flag: Option<&str>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, CallError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let endpoint_text = match endpoint_flag.filter(|e| !e.trim().is_empty()) {
            Some(flag) => flag.trim().to_owned(),
            None => var("AWS_ENDPOINT_URL").ok_or_else(|| {
                CallError::Config(
                    "no endpoint: set AWS_ENDPOINT_URL (e.g. http://127.0.0.1:8750) or pass --endpoint"
                        .to_owned(),
                )
            })?,
        };
        let endpoint = parse_endpoint(endpoint_text.trim())?;
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let access_key_id = var("AWS_ACCESS_KEY_ID").ok_or_else(|| {
            CallError::Config(
                "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned(),
            )
        })?;
        let secret_access_key = var("AWS_SECRET_ACCESS_KEY").ok_or_else(|| {
            CallError::Config(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".to_owned(),
            )
        })?;
        let credentials = Credentials::new(
            access_key_id.trim(),
            secret_access_key.trim(),
            var("AWS_SESSION_TOKEN").map(|t| t.trim().to_owned()),
            None,
            "environment",
        );
        Ok(Self {
            endpoint,
            region: region.trim().to_owned(),
            credentials,
            ca_bundle: var("AWS_CA_BUNDLE").map(PathBuf::from),
        })
    }
}

/// An `http://` or `https://` URL with a host; a path is kept (a proxy may mount the API
/// under one), a query is refused because SigV4 would have to sign it and no API uses one.
fn parse_endpoint(text: &str) -> Result<http::Uri, CallError> {
    let bad = |why: &str| CallError::Config(format!("endpoint {text:?} {why}"));
    let uri: http::Uri = text
        .parse()
        .map_err(|_| bad("is not a URL such as http://127.0.0.1:8750"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(bad("must start with http:// or https://")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if uri.query().is_some() {
        return Err(bad("must not have a query string"));
    }
    Ok(uri)
}

/// A signed JSON client for one service (its SigV4 signing name, e.g. `gateway`).
pub struct Client {
    connection: Connection,
    signing_name: &'static str,
    http: hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Client {
    /// A client for `signing_name`. Reads `AWS_CA_BUNDLE` and the platform roots only when the
    /// endpoint is HTTPS, so a plain-HTTP setup never fails on a broken trust store.
    pub fn new(connection: Connection, signing_name: &'static str) -> Result<Self, CallError> {
        let tls = if connection.endpoint.scheme_str() == Some("https") {
            tls_config(connection.ca_bundle.as_deref())?
        } else {
            empty_tls_config()?
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let http =
            hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector);
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

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The platform's roots, plus the certificates of `AWS_CA_BUNDLE` when set.
fn tls_config(ca_bundle: Option<&std::path::Path>) -> Result<rustls::ClientConfig, CallError> {
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
fn empty_tls_config() -> Result<rustls::ClientConfig, CallError> {
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| CallError::Config(format!("TLS configuration: {e}")))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const CREDS: [(&str, &str); 2] = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret-never-shown"),
    ];

    #[test]
    fn the_flag_wins_over_the_environment_and_the_region_defaults() {
        let mut vars = CREDS.to_vec();
        vars.push(("AWS_ENDPOINT_URL", "http://from-env:1"));
        let c = Connection::from_env(Some("https://flag:2"), env(&vars)).unwrap();
        assert_eq!(c.endpoint.to_string(), "https://flag:2/");
        assert_eq!(c.region, "us-east-1");
        let c = Connection::from_env(None, env(&vars)).unwrap();
        assert_eq!(c.endpoint.to_string(), "http://from-env:1/");
    }

    #[test]
    fn aws_region_comes_before_aws_default_region() {
        let mut vars = CREDS.to_vec();
        vars.extend([
            ("AWS_ENDPOINT_URL", "http://h:1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ]);
        assert_eq!(
            Connection::from_env(None, env(&vars)).unwrap().region,
            "eu-west-1"
        );
        vars.push(("AWS_REGION", "ap-south-1"));
        assert_eq!(
            Connection::from_env(None, env(&vars)).unwrap().region,
            "ap-south-1"
        );
    }

    #[test]
    fn a_missing_endpoint_or_credential_is_a_clear_error() {
        let err = Connection::from_env(None, env(&CREDS))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("AWS_ENDPOINT_URL") && err.contains("--endpoint"),
            "{err}"
        );
        let err = Connection::from_env(None, env(&[("AWS_ENDPOINT_URL", ""), CREDS[0], CREDS[1]]))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no endpoint"), "{err}");
        let err = Connection::from_env(Some("http://h:1"), env(&CREDS[..1]))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("AWS_SECRET_ACCESS_KEY"), "{err}");
        let err = Connection::from_env(Some("http://h:1"), env(&[]))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");
    }

    #[test]
    fn bad_endpoints_are_refused_with_the_reason() {
        for (endpoint, why) in [
            ("127.0.0.1:8750", "http://"),
            ("ftp://h/", "http://"),
            ("http://h:1/?a=b", "query"),
            ("not a url", "not a URL"),
        ] {
            let err = Connection::from_env(Some(endpoint), env(&CREDS))
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(why), "{endpoint}: {err}");
        }
    }

    #[test]
    fn the_secret_key_is_not_in_debug_output() {
        let c = Connection::from_env(Some("http://h:1"), env(&CREDS)).unwrap();
        assert!(!format!("{:?}", c.credentials).contains("secret-never-shown"));
    }

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
