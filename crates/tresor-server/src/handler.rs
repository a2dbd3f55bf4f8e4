//! The per-request shell, written once for every service: limits, protocol choice,
//! authentication, dispatch, and the response. A request is JSON (awsJson1.1, chosen by
//! `X-Amz-Target`) or Query (awsQuery, form-encoded, chosen by `Action`).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::Value;
use tresor_core::{AuditedCall, Core, CoreError, RequestContext};
use tresor_types::Timestamp;

use crate::auth_failures::{AuthFailureBudget, Verdict};
use crate::wire::{self, Body};
use crate::{dispatch, query, MAX_BODY_BYTES};

/// What every request handler shares: the core, and the budget of failed authentications each
/// source may write to the audit trail.
pub struct Shared {
    pub core: Arc<Core>,
    pub auth_failures: AuthFailureBudget,
    /// How long a request's body may take to arrive once its head has.
    pub body_read_timeout: std::time::Duration,
}

/// What the client sent, detached from hyper so it can move to a blocking thread.
struct Exchange {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Bytes,
    peer: SocketAddr,
    secure: bool,
    request_id: String,
}

impl Exchange {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn signed(&self) -> tresor_sigv4::Request<'_> {
        tresor_sigv4::Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }

    fn context(&self, auth: tresor_core::Authenticated, now: Timestamp) -> RequestContext {
        RequestContext {
            principal: auth.principal,
            region: auth.region,
            request_id: self.request_id.clone(),
            source_ip: Some(self.peer.ip().to_string()),
            user_agent: self.header("user-agent").map(str::to_owned),
            secure_transport: self.secure,
            now,
        }
    }
}

pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: SocketAddr,
    secure: bool,
) -> Response<Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let core = shared.core.clone();
    if req.uri().path() == "/health" && req.method() == Method::GET {
        return health(core, &request_id).await;
    }
    if req.method() != Method::POST || req.uri().path() != "/" {
        return wire::error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "Tresor answers POST / (AWS JSON and Query protocols) and GET /health.",
            &request_id,
        );
    }
    let too_large = || {
        wire::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            "Request body must be 1 MiB or smaller.",
            &request_id,
        )
    };
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let collected = tokio::time::timeout(
        shared.body_read_timeout,
        Limited::new(body, MAX_BODY_BYTES).collect(),
    )
    .await;
    let Ok(collected) = collected else {
        let mut resp = wire::error(
            StatusCode::REQUEST_TIMEOUT,
            "RequestTimeoutException",
            "The request body did not arrive in time.",
            &request_id,
        );
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        return resp;
    };
    let body: Bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return too_large()
        }
        Err(_) => {
            return wire::error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "The request body could not be read.",
                &request_id,
            )
        }
    };
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    // HTTP/2 carries the host as the `:authority` pseudo-header, which hyper puts in the URI;
    // SigV4 signs it as `host`.
    if !parts.headers.contains_key(http::header::HOST) {
        if let Some(authority) = parts.uri.authority() {
            headers.push(("host".to_owned(), authority.as_str().to_owned()));
        }
    }
    let exchange = Exchange {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers,
        body,
        peer,
        secure,
        request_id: request_id.clone(),
    };
    let answer = if runs_inline(&core, &exchange) {
        // One read snapshot for the whole call (authentication included). A panic is caught
        // here as the blocking pool catches it for the other calls.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            core.reading(|| run_call(&core, &shared.auth_failures, &exchange))
        }))
        .map_err(|_| true)
    } else {
        tokio::task::spawn_blocking(move || run_call(&core, &shared.auth_failures, &exchange))
            .await
            .map_err(|join| join.is_panic())
    };
    match answer {
        Ok(answer) => answer.send().await,
        Err(panicked) => {
            // A panic in an operation: log the fact, never its payload (it might hold data).
            tracing::error!(request_id, panicked, "operation task failed");
            wire::core_error(
                &CoreError::Internal("operation task failed".to_owned()),
                &request_id,
            )
        }
    }
}

/// Reads that take microseconds on the embedded store run on the connection's own task: a hop
/// to the blocking pool (and back) would cost more than the call. Everything else (writes,
/// which wait for an fsync; scans that grow with the store; PostgreSQL, where every read is a
/// network round trip) runs on the blocking pool. Either way the wait for the audit record's
/// group commit is asynchronous, so no thread is held while it is made durable.
fn runs_inline(core: &Core, exchange: &Exchange) -> bool {
    const INLINE: [&str; 4] = [
        "secretsmanager.GetSecretValue",
        "secretsmanager.DescribeSecret",
        "secretsmanager.GetResourcePolicy",
        "secretsmanager.ListSecretVersionIds",
    ];
    matches!(core.store(), tresor_core::StoreBackend::Sqlite(_))
        && exchange
            .header("x-amz-target")
            .is_some_and(|target| INLINE.contains(&target))
}

/// 200 when the store answers (the keyring is always unsealed in a running server), 503
/// otherwise, so load balancers take a node out while its database is unreachable.
async fn health(core: Arc<Core>, request_id: &str) -> Response<Body> {
    let probe = tokio::task::spawn_blocking(move || core.health()).await;
    match probe {
        Ok(Ok(())) => wire::ok(br#"{"status":"ok","sealed":false}"#.to_vec(), request_id),
        _ => {
            let mut resp = wire::ok(
                br#"{"status":"unavailable","sealed":false,"reason":"the store does not answer"}"#
                    .to_vec(),
                request_id,
            );
            *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            resp
        }
    }
}

fn is_form(exchange: &Exchange) -> bool {
    exchange
        .header("content-type")
        .map(|c| c.split(';').next().unwrap_or("").trim())
        == Some("application/x-www-form-urlencoded")
}

/// A call that ran (or failed to), before it is audited and answered.
struct Finished {
    service: &'static str,
    operation: String,
    /// `None` when authentication failed.
    ctx: Option<RequestContext>,
    request: Value,
    result: Result<Payload, CoreError>,
    /// Whether the record is already written (with the change it describes).
    audited: bool,
}

enum Payload {
    Json(Vec<u8>),
    /// The `<Action>Result` content of a Query call.
    Query(Value),
}

/// The access key id and region a request claims in its credential scope, read without
/// trusting it (for the audit record of a request that failed authentication).
fn claimed_scope(exchange: &Exchange) -> (Option<String>, Option<String>) {
    let credential = exchange
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split([',', ' ']).next())
        .unwrap_or("");
    let mut parts = credential.split('/');
    let key = parts
        .next()
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .map(str::to_owned);
    let region = parts
        .nth(1)
        .filter(|r| tresor_types::Region::parse(r).is_ok())
        .map(str::to_owned);
    (key, region)
}

/// What the audit record keeps of a response: the elements of a call that changes state (reads
/// record none, so a value read is never written down, even redacted).
fn response_elements(operation: &str) -> impl Fn(&Payload) -> Option<Value> + '_ {
    move |payload| {
        if tresor_audit::is_read_only_operation(operation) {
            return None;
        }
        match payload {
            Payload::Json(body) => serde_json::from_slice(body).ok(),
            Payload::Query(value) => Some(value.clone()),
        }
    }
}

/// Longest operation name a record keeps; every real one is shorter.
const MAX_RECORDED_OPERATION: usize = 64;
/// Longest user agent a record keeps (the SDKs send about 200 bytes).
const MAX_RECORDED_USER_AGENT: usize = 512;
/// Bodies larger than this are recorded by their size, not their parameters. Every valid
/// request is smaller (a 64 KiB binary secret is 88 KiB in base64).
const MAX_RECORDED_BODY: usize = 256 * 1024;

/// The operation name as a record keeps it: a name the caller made up is kept only if it looks
/// like one.
fn recorded_operation(operation: &str) -> &str {
    let plausible = operation.len() <= MAX_RECORDED_OPERATION
        && operation.bytes().all(|b| b.is_ascii_alphanumeric());
    if plausible {
        operation
    } else {
        "UnknownOperation"
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn truncated(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The parameters a record keeps of an authenticated request: all of them (redacted later),
/// unless the body is larger than any valid request, when only its size is kept.
fn recorded_parameters(exchange: &Exchange, parameters: Value) -> Value {
    if exchange.body.len() > MAX_RECORDED_BODY {
        serde_json::json!({ "omittedBodyBytes": exchange.body.len() })
    } else {
        parameters
    }
}

/// The audit view of a call. A call that did not authenticate is recorded by its metadata
/// (source, user agent, claimed key and region, operation, error) and never its parameters:
/// they were sent by anyone, and could be made as large as the body limit.
#[allow(clippy::too_many_arguments)]
fn audited_call<'a>(
    exchange: &'a Exchange,
    service: &'a str,
    operation: &'a str,
    ctx: Option<&'a RequestContext>,
    request: Value,
    response: Option<Value>,
    error: Option<&'a CoreError>,
    now: Timestamp,
) -> AuditedCall<'a> {
    let (claimed_key, claimed_region) = claimed_scope(exchange);
    let request = match ctx {
        Some(_) => recorded_parameters(exchange, request),
        None => Value::Null,
    };
    AuditedCall {
        service,
        operation: recorded_operation(operation),
        principal: ctx.map(|c| &c.principal),
        claimed_access_key_id: claimed_key,
        region: ctx
            .map(|c| c.region.as_str().to_owned())
            .or(claimed_region)
            .unwrap_or_else(|| "us-east-1".to_owned()),
        request_id: &exchange.request_id,
        source_ip: Some(exchange.peer.ip().to_string()),
        user_agent: exchange
            .header("user-agent")
            .map(|ua| truncated(ua, MAX_RECORDED_USER_AGENT)),
        time: now,
        request,
        response,
        error,
        additional: None,
    }
}

/// Run an authenticated call. One that changes state runs in a single store transaction with
/// its audit record: the change and the record commit together, or neither does.
#[allow(clippy::too_many_arguments)]
fn run_recorded(
    core: &Core,
    exchange: &Exchange,
    ctx: &RequestContext,
    service: &'static str,
    operation: &str,
    request: &Value,
    now: Timestamp,
    run: impl FnOnce() -> Result<Payload, CoreError>,
) -> (Result<Payload, CoreError>, bool) {
    if tresor_audit::is_read_only_operation(operation) {
        return (run(), false);
    }
    let outcome = core.atomically(|| {
        let payload = run()?;
        let response = response_elements(operation)(&payload);
        core.audit_in_transaction(audited_call(
            exchange,
            service,
            operation,
            Some(ctx),
            request.clone(),
            response,
            None,
            now,
        ))?;
        Ok(payload)
    });
    match outcome {
        Ok(payload) => (Ok(payload), true),
        // Rolled back: nothing changed. The failure is recorded like any other.
        Err(e) => (Err(e), false),
    }
}

/// A call that ran and is recorded, or queued to be, but not yet answered.
struct Answer {
    service: &'static str,
    operation: String,
    result: Result<Payload, CoreError>,
    /// The call's record, queued for group commit: nothing is answered before it is durable.
    pending: Option<tresor_core::AuditTicket>,
    request_id: String,
}

impl Answer {
    /// Wait until the record is durable, then answer. Fail-closed: without a durable record,
    /// nothing is served.
    async fn send(self) -> Response<Body> {
        let result = match self.pending {
            Some(ticket) => match ticket.durable().await {
                Ok(()) => self.result,
                Err(e) => Err(e),
            },
            None => self.result,
        };
        let rid = &self.request_id;
        match (result, self.service) {
            (Ok(Payload::Json(body)), _) => wire::ok(body, rid),
            (Ok(Payload::Query(value)), service) => wire::ok_xml(
                query::to_xml(&self.operation, xmlns(service), &value, rid),
                rid,
            ),
            (Err(e), "iam" | "sts") => wire::query_error(&e, xmlns(self.service), rid),
            (Err(e), _) => wire::core_error(&e, rid),
        }
    }
}

/// Choose the protocol, run the request, and record it.
fn run_call(core: &Core, auth_failures: &AuthFailureBudget, exchange: &Exchange) -> Answer {
    let now = Timestamp::now();
    let is_query = exchange.header("x-amz-target").is_none() && is_form(exchange);
    let finished = if is_query {
        query_call(core, exchange, now)
    } else {
        json_call(core, exchange, now)
    };
    if let Some(ctx) = &finished.ctx {
        log_outcome(ctx, &finished.operation, finished.result.as_ref().err());
    }

    // A call that failed authentication is recorded within its source's budget; past it, it
    // is answered the same way, and only counted.
    let mut unrecorded_before = 0;
    if finished.ctx.is_none() {
        match auth_failures.admit(exchange.peer.ip(), std::time::Instant::now()) {
            Verdict::Record {
                unrecorded_before: n,
            } => unrecorded_before = n,
            Verdict::Skip => {
                return Answer {
                    service: finished.service,
                    operation: finished.operation,
                    result: finished.result,
                    pending: None,
                    request_id: exchange.request_id.clone(),
                }
            }
        }
    }

    // Calls that changed state wrote their record in the same transaction; every other call
    // is queued for the next group commit now, and answered once it is durable.
    let queued = if finished.audited {
        Ok(None)
    } else {
        let response = finished
            .result
            .as_ref()
            .ok()
            .and_then(response_elements(&finished.operation));
        let mut call = audited_call(
            exchange,
            finished.service,
            &finished.operation,
            finished.ctx.as_ref(),
            finished.request,
            response,
            finished.result.as_ref().err(),
            now,
        );
        if unrecorded_before > 0 {
            call.additional =
                Some(serde_json::json!({ "unrecordedAuthFailures": unrecorded_before }));
        }
        core.submit_audit(call).map(Some)
    };
    let (result, pending) = match queued {
        Ok(pending) => (finished.result, pending),
        Err(e) => (Err(e), None),
    };
    Answer {
        service: finished.service,
        operation: finished.operation,
        result,
        pending,
        request_id: exchange.request_id.clone(),
    }
}

const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

fn xmlns(service: &str) -> &'static str {
    if service == "sts" {
        STS_XMLNS
    } else {
        IAM_XMLNS
    }
}

const CLOUDTRAIL_TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

/// The JSON services, chosen by `X-Amz-Target: <prefix>.<Operation>`.
fn json_call(core: &Core, exchange: &Exchange, now: Timestamp) -> Finished {
    let target = exchange.header("x-amz-target").unwrap_or("");
    let (prefix, operation) = target.rsplit_once('.').unwrap_or(("", target));
    let service = if prefix == CLOUDTRAIL_TARGET {
        "cloudtrail"
    } else {
        "secretsmanager"
    };
    let mut request = Value::Null;
    let (ctx, result, audited) = match core.authenticate(&exchange.signed(), &[service], now) {
        Err(e) => (None, Err(e), false),
        Ok(auth) => {
            // Only now: a body is parsed for the record once its sender is known.
            request = serde_json::from_slice(&exchange.body).unwrap_or(Value::Null);
            let ctx = exchange.context(auth, now);
            let (result, audited) = run_recorded(
                core,
                exchange,
                &ctx,
                service,
                operation,
                &request,
                now,
                || json_dispatch(core, exchange, &ctx, prefix, operation).map(Payload::Json),
            );
            (Some(ctx), result, audited)
        }
    };
    Finished {
        service,
        operation: operation.to_owned(),
        ctx,
        request,
        result,
        audited,
    }
}

fn json_dispatch(
    core: &Core,
    exchange: &Exchange,
    ctx: &RequestContext,
    prefix: &str,
    operation: &str,
) -> Result<Vec<u8>, CoreError> {
    match exchange
        .header("content-type")
        .map(|c| c.split(';').next().unwrap_or("").trim())
    {
        Some("application/x-amz-json-1.1") | Some("application/x-amz-json-1.0") => {}
        _ if prefix.is_empty() => {}
        _ => {
            return Err(CoreError::Serialization(
                "Content-Type must be application/x-amz-json-1.1.".to_owned(),
            ))
        }
    }
    match prefix {
        "secretsmanager" => {
            let op =
                tresor_core::secretsmanager::Operation::from_name(operation).ok_or_else(|| {
                    CoreError::UnknownOperation(format!(
                        "Unknown operation secretsmanager.{operation}."
                    ))
                })?;
            dispatch::secretsmanager(core, ctx, op, &exchange.body)
        }
        CLOUDTRAIL_TARGET => match tresor_core::cloudtrail::Operation::from_name(operation) {
            Some(tresor_core::cloudtrail::Operation::LookupEvents) => {
                dispatch::lookup_events(core, ctx, &exchange.body)
            }
            None => Err(CoreError::UnknownOperation(format!(
                "Unknown operation {prefix}.{operation}."
            ))),
        },
        "" => Err(CoreError::UnknownOperation(
            "Missing X-Amz-Target header: Tresor needs it to choose the operation.".to_owned(),
        )),
        _ => Err(CoreError::UnknownOperation(format!(
            "Unknown operation {prefix}.{operation}."
        ))),
    }
}

/// The Query services (IAM, STS), chosen by the signature's scope and `Action`.
fn query_call(core: &Core, exchange: &Exchange, now: Timestamp) -> Finished {
    // The form is decoded before authentication (the signature covers the body, not its
    // meaning), within the decoder's limits; one it refuses is answered at once.
    let decoded = match query::decode_form(&exchange.body) {
        Ok(decoded) => decoded,
        Err(e) => {
            return Finished {
                service: "iam",
                operation: String::new(),
                ctx: None,
                request: Value::Null,
                result: Err(CoreError::Validation(e.message())),
                audited: false,
            }
        }
    };
    let (named_action, params) = decoded;
    let action = named_action.clone().unwrap_or_default();
    let (ctx, service, result, audited) =
        match core.authenticate(&exchange.signed(), &["iam", "sts"], now) {
            Err(e) => (None, "iam", Err(e), false),
            Ok(auth) => {
                let service = if auth.service == "sts" { "sts" } else { "iam" };
                let ctx = exchange.context(auth, now);
                let run = || {
                    match named_action {
                        None => Err(CoreError::InvalidInput(
                            "Missing Action parameter.".to_owned(),
                        )),
                        Some(_) if service == "sts" => {
                            match tresor_core::sts::Operation::from_name(&action) {
                                Some(op) => {
                                    tresor_core::sts::dispatch(core, &ctx, op, params.clone())
                                }
                                None => Err(CoreError::InvalidAction(format!(
                                    "Could not find operation {action} for version 2011-06-15"
                                ))),
                            }
                        }
                        Some(_) => match tresor_core::iam::Operation::from_name(&action) {
                            Some(op) => tresor_core::iam::dispatch(core, &ctx, op, params.clone()),
                            None => Err(CoreError::InvalidAction(format!(
                                "Could not find operation {action} for version 2010-05-08"
                            ))),
                        },
                    }
                    .map(Payload::Query)
                };
                let (result, audited) =
                    run_recorded(core, exchange, &ctx, service, &action, &params, now, run);
                (Some(ctx), service, result, audited)
            }
        };
    Finished {
        service,
        operation: action,
        ctx,
        request: params,
        result,
        audited,
    }
}

/// One line per request: successes at `debug` (the audit trail is the record of who did what;
/// an info line per request would cost a locked stderr write on the hot path), failures at
/// `info`.
fn log_outcome(ctx: &RequestContext, operation: &str, error: Option<&CoreError>) {
    match error {
        None => tracing::debug!(request_id = %ctx.request_id, operation, "ok"),
        Some(e) => {
            tracing::info!(request_id = %ctx.request_id, operation, error = e.aws_code(), "failed")
        }
    }
}
