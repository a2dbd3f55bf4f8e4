//! Unsigned calls to Tresor's operator endpoints (`POST /tresor/unseal`): a sealed node
//! cannot check a signature (the access keys are sealed too), so these carry no SigV4. The
//! endpoint and the CA bundle are read as for the signed client.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use serde_json::Value;

use super::connection::parse_endpoint;
use super::{error_chain, http_client, interpret, CallError, CALL_TIMEOUT};

/// The largest answer read: operator answers are a few hundred bytes.
const MAX_OPERATOR_ANSWER: usize = 64 * 1024;

/// POST `body` (JSON) to `path` on `endpoint`; the answer's JSON, or the server's error.
pub async fn post_unsigned(
    endpoint: &str,
    ca_bundle: Option<&std::path::Path>,
    path: &str,
    body: Vec<u8>,
) -> Result<Value, CallError> {
    let base = parse_endpoint(endpoint.trim())?;
    let base_text = base.to_string();
    let uri: http::Uri = format!("{}{path}", base_text.trim_end_matches('/'))
        .parse()
        .map_err(|_| CallError::Config(format!("endpoint {endpoint:?} is not a URL")))?;
    let http = http_client(&uri, ca_bundle)?;
    let request = http::Request::post(uri)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| CallError::Config("cannot build the request".to_owned()))?;
    let transport = |reason: String| CallError::Transport {
        endpoint: base_text.clone(),
        reason,
    };
    let exchange = async {
        let answer = http
            .request(request)
            .await
            .map_err(|e| transport(error_chain(&e)))?;
        let status = answer.status().as_u16();
        let bytes = Limited::new(answer.into_body(), MAX_OPERATOR_ANSWER)
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
