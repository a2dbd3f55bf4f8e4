//! Setting up the two gateways through their own APIs, as an operator would: Tresor with its
//! root credentials (a secret holding the provider key, an IAM user allowed `gateway:Invoke`,
//! a route to the mock and a gateway key for that user), LiteLLM with its master key (a
//! virtual key from `/key/generate` when it has a database).

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{json, Value};

use crate::load::http::{Connection, Endpoint};
use crate::load::sign::{SignedRequest, Signer};

/// The route every Tresor call goes through.
pub const ROUTE: &str = "bench";
/// The IAM user whose policy allows the calls.
const USER: &str = "bench-gateway";
/// The secret holding the mock provider's key.
const SECRET: &str = "bench/mock-openai";
/// What the user may do: call any route (the benchmark's one).
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"gateway:Invoke","Resource":"*"}]}"#;

/// Sends one request on a fresh connection; the body of a 2xx answer, else an error naming
/// `what` with the answer (admin answers carry no secret values but the key we asked for,
/// which only a 2xx answer holds).
async fn call(
    endpoint: &Endpoint,
    request: http::Request<Full<Bytes>>,
    what: &str,
) -> crate::BenchResult<Bytes> {
    let mut conn = Connection::open(endpoint.addr).await?;
    let response = conn
        .send(request)
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    if (200..300).contains(&response.status) {
        Ok(response.body)
    } else {
        Err(format!(
            "{what}: HTTP {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        ))
    }
}

async fn signed(
    endpoint: &Endpoint,
    request: SignedRequest,
    what: &str,
) -> crate::BenchResult<Bytes> {
    call(endpoint, request.to_http(), what).await
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 3986 unreserved kept).
fn form_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An IAM Query call (`Action=…&Version=2010-05-08&…`).
async fn iam(
    endpoint: &Endpoint,
    signer: &Signer,
    action: &str,
    params: &[(&str, &str)],
) -> crate::BenchResult {
    let mut form = format!("Action={action}&Version=2010-05-08");
    for (name, value) in params {
        form.push_str(&format!("&{name}={}", form_value(value)));
    }
    let request = signer.sign_for(
        "iam",
        "application/x-www-form-urlencoded; charset=utf-8",
        None,
        Bytes::from(form),
        action,
    )?;
    signed(endpoint, request, &format!("IAM {action}")).await?;
    Ok(())
}

/// A `TresorGateway.<operation>` admin call; its JSON answer.
async fn gateway_admin(
    endpoint: &Endpoint,
    signer: &Signer,
    operation: &str,
    body: Value,
) -> crate::BenchResult<Value> {
    let target = format!("TresorGateway.{operation}");
    let request = signer.sign_for(
        "gateway",
        "application/x-amz-json-1.1",
        Some(&target),
        Bytes::from(body.to_string()),
        operation,
    )?;
    let answer = signed(endpoint, request, &target).await?;
    serde_json::from_slice(&answer).map_err(|e| format!("{target}: the answer is not JSON: {e}"))
}

/// Sets Tresor up to pass `/gateway/bench/v1/…` to `upstream_base` (`http://host:port/v1`)
/// with `provider_key`; returns the gateway key (`tgk_…`) to call it with.
pub async fn setup_tresor(
    endpoint: &Endpoint,
    signer: &Signer,
    upstream_base: &str,
    provider_key: &str,
) -> crate::BenchResult<String> {
    let secret = json!({
        "Name": SECRET,
        "SecretString": provider_key,
        "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
    });
    signed(
        endpoint,
        signer.sign("CreateSecret", Bytes::from(secret.to_string()))?,
        "CreateSecret",
    )
    .await?;
    iam(endpoint, signer, "CreateUser", &[("UserName", USER)]).await?;
    iam(
        endpoint,
        signer,
        "PutUserPolicy",
        &[
            ("UserName", USER),
            ("PolicyName", "invoke"),
            ("PolicyDocument", POLICY),
        ],
    )
    .await?;
    gateway_admin(
        endpoint,
        signer,
        "CreateRoute",
        json!({
            "Name": ROUTE,
            "Provider": "openai",
            "SecretId": SECRET,
            "BaseUrl": upstream_base,
        }),
    )
    .await?;
    let created = gateway_admin(
        endpoint,
        signer,
        "CreateKey",
        json!({ "UserName": USER, "Routes": [ROUTE] }),
    )
    .await?;
    created
        .get("Key")
        .and_then(Value::as_str)
        .filter(|k| k.starts_with("tgk_"))
        .map(str::to_owned)
        .ok_or_else(|| "TresorGateway.CreateKey answered no tgk_ key".to_owned())
}

/// Asks LiteLLM's `/key/generate` for a virtual key allowed `model`, with the master key.
pub async fn litellm_virtual_key(
    endpoint: &Endpoint,
    master_key: &str,
    model: &str,
) -> crate::BenchResult<String> {
    let body = json!({ "models": [model], "key_alias": format!("bench-{}", uuid::Uuid::new_v4()) });
    let mut auth = http::HeaderValue::from_str(&format!("Bearer {master_key}"))
        .map_err(|_| "the LiteLLM master key is not a valid header value".to_owned())?;
    auth.set_sensitive(true);
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri("/key/generate")
        .header(http::header::HOST, endpoint.authority.as_str())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::AUTHORIZATION, auth)
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| format!("building /key/generate: {e}"))?;
    // LiteLLM has echoed keys in its errors before: never let the master key through.
    let answer = call(endpoint, request, "LiteLLM /key/generate")
        .await
        .map_err(|e| e.replace(master_key, "[REDACTED]"))?;
    let answer: Value = serde_json::from_slice(&answer)
        .map_err(|e| format!("LiteLLM /key/generate: the answer is not JSON: {e}"))?;
    answer
        .get("key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| "LiteLLM /key/generate answered no key".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(form_value("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(
            form_value(r#"{"a": "b/c"}"#),
            "%7B%22a%22%3A%20%22b%2Fc%22%7D"
        );
        assert_eq!(form_value("é"), "%C3%A9");
    }
}
