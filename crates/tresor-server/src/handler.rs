//! The per-request shell, written once for every service: a codec around the core's pipeline.
//! Limits, then the protocol choice, decoding into an [`Operation`] and its body, the pipeline
//! ([`Core::perform`] or [`Core::refuse`], which authorize, act, and record), and the answer
//! encoded once its record is durable. A request is JSON (awsJson1.1, chosen by
//! `X-Amz-Target`) or Query (awsQuery, form-encoded, chosen by `Action`).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::Value;
use tresor_core::metrics::Refusal;
use tresor_core::{Core, CoreError, Operation, Performed, RequestContext, RequestMeta, Service};
use tresor_types::Timestamp;

use crate::wire::{self, Body};
use crate::{dispatch, query, MAX_BODY_BYTES};

/// What every request handler shares.
pub struct Shared {
    pub core: Arc<Core>,
    /// How long a request's body may take to arrive once its head has.
    pub body_read_timeout: std::time::Duration,
    /// Whether `GET /metrics` answers.
    pub metrics: bool,
    /// The AI gateway, answering `/gateway/…`.
    pub gateway: Arc<tresor_gateway::Gateway>,
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
    started: std::time::Instant,
    /// The JSON operation `X-Amz-Target` names, decoded once.
    target: Option<Operation>,
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

/// Answer one request, in its `request` span (the pipeline fills in the operation, the
/// principal, the outcome and the latency).
pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: SocketAddr,
    secure: bool,
) -> Response<Body> {
    let started = std::time::Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let core = shared.core.clone();
    if req.method() == Method::GET {
        match req.uri().path() {
            "/health" => return health(core, &request_id).await,
            "/metrics" if shared.metrics => return metrics(&core),
            _ => {}
        }
    }
    if req.method() == Method::POST && req.uri().path() == crate::UNSEAL_PATH {
        // `tresor operator unseal` against a node that is serving: nothing to do.
        return wire::ok(br#"{"sealed":false,"progress":0}"#.to_vec(), &request_id);
    }
    if req.uri().path().starts_with(tresor_gateway::PATH_PREFIX) {
        let gateway = shared.gateway.clone();
        return gateway.handle(req, peer, secure, request_id, started).await;
    }
    if req.method() != Method::POST || req.uri().path() != "/" {
        let served = if shared.metrics {
            ", /gateway/<route>/…, GET /health and GET /metrics"
        } else {
            ", /gateway/<route>/… and GET /health"
        };
        core.metrics().refused(Refusal::UnknownPath);
        return wire::error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            &format!("Tresor answers POST / (AWS JSON and Query protocols){served}."),
            &request_id,
        );
    }
    // Off at the default level (see `tresor_core::REQUEST_LOG`); the pipeline fills it in.
    let span = tracing::debug_span!(
        target: tresor_core::REQUEST_LOG,
        "request",
        id = %request_id,
        operation = tracing::field::Empty,
        principal = tracing::field::Empty,
        outcome = tracing::field::Empty,
        latency_us = tracing::field::Empty,
    );
    call(shared, req, peer, secure, request_id, started, span).await
}

/// A `POST /`: an AWS call.
async fn call(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: SocketAddr,
    secure: bool,
    request_id: String,
    started: std::time::Instant,
    span: tracing::Span,
) -> Response<Body> {
    let core = shared.core.clone();
    let too_large = || {
        core.metrics().refused(Refusal::BodyTooLarge);
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
        core.metrics().refused(Refusal::BodyTimeout);
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
            core.metrics().refused(Refusal::UnreadableBody);
            return wire::error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "The request body could not be read.",
                &request_id,
            );
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
        body,
        peer,
        secure,
        request_id: request_id.clone(),
        started,
        target: json_target(&headers),
        headers,
    };
    let answer = if exchange.target.is_some_and(|op| core.reads_quickly(op)) {
        // One read snapshot for the whole call (authentication included). A panic is caught
        // here as the blocking pool catches it for the other calls.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            span.in_scope(|| core.reading(|| run_call(&core, &exchange)))
        }))
        .map_err(|_| true)
    } else {
        tokio::task::spawn_blocking(move || span.in_scope(|| run_call(&core, &exchange)))
            .await
            .map_err(|join| join.is_panic())
    };
    match answer {
        Ok(answer) => answer.send().await,
        Err(panicked) => {
            // A panic in an operation: log the fact, never its payload (it might hold data).
            tracing::error!(request_id, panicked, "operation task failed");
            shared.core.metrics().refused(Refusal::Panic);
            wire::core_error(
                &CoreError::Internal("operation task failed".to_owned()),
                &request_id,
            )
        }
    }
}

/// The JSON operation a request's `X-Amz-Target: <prefix>.<Operation>` names, if any.
///
/// Reads that take microseconds on the embedded store ([`Core::reads_quickly`]) run on the
/// connection's own task: a hop to the blocking pool (and back) would cost more than the call.
/// Everything else (writes, which wait for an fsync; scans that grow with the store;
/// PostgreSQL, where every read is a network round trip) runs on the blocking pool. Either way
/// the wait for the audit record's group commit is asynchronous, so no thread is held while it
/// is made durable.
fn json_target(headers: &[(String, String)]) -> Option<Operation> {
    let (_, target) = headers.iter().find(|(k, _)| k == "x-amz-target")?;
    let (prefix, name) = target.rsplit_once('.')?;
    Operation::parse(json_service(prefix)?, name)
}

/// `GET /metrics`: the Prometheus text format.
fn metrics(core: &Core) -> Response<Body> {
    let mut resp = Response::new(wire::full(core.metrics().render()));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
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

/// What an operation answers, before it is encoded.
enum Payload {
    Json(Vec<u8>),
    /// The `<Action>Result` content of a Query call.
    Query(Value),
}

/// What the record of a JSON call keeps of its response: the body, parsed back.
fn json_elements(payload: &Payload) -> Option<Value> {
    match payload {
        Payload::Json(body) => serde_json::from_slice(body).ok(),
        Payload::Query(value) => Some(value.clone()),
    }
}

/// What the record of a JSON call keeps of its response: [`json_elements`], without the one
/// credential an answer carries (`CreateKey`'s gateway key token, shown once, to its caller).
fn recorded_elements(payload: &Payload) -> Option<Value> {
    let mut elements = json_elements(payload)?;
    if let Some(map) = elements.as_object_mut() {
        if map
            .get("Key")
            .and_then(Value::as_str)
            .is_some_and(|k| k.starts_with(tresor_core::gateway::keys::TOKEN_PREFIX))
        {
            map.remove("Key");
        }
    }
    Some(elements)
}

/// The access key id and region a request claims in its credential scope, read without
/// trusting them (for the record of a request that failed authentication).
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

impl Exchange {
    /// What the record of this request needs from the wire.
    fn meta(&self, now: Timestamp) -> RequestMeta<'_> {
        let (claimed_access_key_id, claimed_region) = claimed_scope(self);
        RequestMeta {
            request_id: &self.request_id,
            source_ip: self.peer.ip(),
            user_agent: self.header("user-agent"),
            claimed_access_key_id,
            claimed_region,
            body_len: self.body.len(),
            time: now,
            started: self.started,
        }
    }
}

/// A call that ran (or was refused) and is recorded, or queued to be, but not yet answered.
struct Answer {
    service: Service,
    operation: String,
    performed: Performed<Payload>,
    request_id: String,
}

impl Answer {
    /// Wait until the call's record is durable, then write the answer in its protocol.
    async fn send(self) -> Response<Body> {
        let result = self.performed.answer().await;
        let rid = &self.request_id;
        match result {
            Ok(Payload::Json(body)) => wire::ok(body, rid),
            Ok(Payload::Query(value)) => wire::ok_xml(
                query::to_xml(&self.operation, xmlns(self.service), &value, rid),
                rid,
            ),
            Err(e) if self.service.is_query() => wire::query_error(&e, xmlns(self.service), rid),
            Err(e) => wire::core_error(&e, rid),
        }
    }
}

/// Choose the protocol, decode the request, and hand it to the core's pipeline.
fn run_call(core: &Core, exchange: &Exchange) -> Answer {
    let now = Timestamp::now();
    let meta = exchange.meta(now);
    let is_query = exchange.header("x-amz-target").is_none() && is_form(exchange);
    let (service, operation, performed) = if is_query {
        query_call(core, exchange, &meta)
    } else {
        json_call(core, exchange, &meta)
    };
    Answer {
        service,
        operation,
        performed,
        request_id: exchange.request_id.clone(),
    }
}

const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

fn xmlns(service: Service) -> &'static str {
    if service == Service::Sts {
        STS_XMLNS
    } else {
        IAM_XMLNS
    }
}

/// `X-Amz-Target` prefixes of the JSON services.
const SECRETS_MANAGER_TARGET: &str = "secretsmanager";
const CLOUDTRAIL_TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

/// A call's outcome before it is answered: its service, its operation as named, and the
/// pipeline's result.
type Decoded = (Service, String, Performed<Payload>);

/// The JSON services, chosen by `X-Amz-Target: <prefix>.<Operation>`.
fn json_call(core: &Core, exchange: &Exchange, meta: &RequestMeta<'_>) -> Decoded {
    let target = exchange.header("x-amz-target").unwrap_or("");
    let (prefix, name) = target.rsplit_once('.').unwrap_or(("", target));
    // A target no service has is refused as Secrets Manager's, the default service.
    let service = json_service(prefix).unwrap_or(Service::SecretsManager);
    let refuse = |ctx: Option<&RequestContext>, request: Value, e: CoreError| {
        (
            service,
            name.to_owned(),
            core.refuse(meta, service, name, ctx, request, e),
        )
    };
    let auth = match core.authenticate(&exchange.signed(), &[service], meta.time) {
        Ok(auth) => auth,
        Err(e) => return refuse(None, Value::Null, e),
    };
    // Only now: a body is parsed for the record once its sender is known.
    let request = serde_json::from_slice(&exchange.body).unwrap_or(Value::Null);
    let ctx = exchange.context(auth, meta.time);
    let op = match json_operation(exchange, prefix, name) {
        Ok(op) => op,
        Err(e) => return refuse(Some(&ctx), request, e),
    };
    let performed = core.perform(
        meta,
        &ctx,
        op,
        request,
        || {
            match op {
                Operation::SecretsManager(op) => {
                    dispatch::secretsmanager(core, &ctx, op, &exchange.body)
                }
                Operation::CloudTrail(tresor_core::cloudtrail::Operation::LookupEvents) => {
                    dispatch::lookup_events(core, &ctx, &exchange.body)
                }
                Operation::Gateway(op) => dispatch::gateway(core, &ctx, op, &exchange.body),
                Operation::Rotation(op) => dispatch::rotation(core, &ctx, op, &exchange.body),
                Operation::Kms(op) => dispatch::kms(core, &ctx, op, &exchange.body),
                Operation::Iam(_) | Operation::Sts(_) => Err(unknown_target(prefix, name)),
            }
            .map(Payload::Json)
        },
        recorded_elements,
    );
    (service, name.to_owned(), performed)
}

fn unknown_target(prefix: &str, name: &str) -> CoreError {
    CoreError::UnknownOperation(format!("Unknown operation {prefix}.{name}."))
}

/// The operation a JSON request names, once its content type is one the services take.
fn json_operation(exchange: &Exchange, prefix: &str, name: &str) -> Result<Operation, CoreError> {
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
    if prefix.is_empty() {
        return Err(CoreError::UnknownOperation(
            "Missing X-Amz-Target header: Tresor needs it to choose the operation.".to_owned(),
        ));
    }
    exchange.target.ok_or_else(|| unknown_target(prefix, name))
}

/// The JSON service whose `X-Amz-Target` prefix this is.
fn json_service(prefix: &str) -> Option<Service> {
    match prefix {
        SECRETS_MANAGER_TARGET => Some(Service::SecretsManager),
        CLOUDTRAIL_TARGET => Some(Service::CloudTrail),
        tresor_core::gateway::TARGET_PREFIX => Some(Service::Gateway),
        tresor_core::rotation::TARGET_PREFIX => Some(Service::Rotation),
        tresor_core::kms::TARGET_PREFIX => Some(Service::Kms),
        _ => None,
    }
}

/// The Query services (IAM, STS), chosen by the signature's scope and `Action`.
fn query_call(core: &Core, exchange: &Exchange, meta: &RequestMeta<'_>) -> Decoded {
    // The form is decoded before authentication (the signature covers the body, not its
    // meaning), within the decoder's limits; one it refuses is answered at once.
    let (named_action, params) = match query::decode_form(&exchange.body) {
        Ok(decoded) => decoded,
        Err(e) => {
            let e = CoreError::Validation(e.message());
            return (
                Service::Iam,
                String::new(),
                core.refuse(meta, Service::Iam, "", None, Value::Null, e),
            );
        }
    };
    let action = named_action.clone().unwrap_or_default();
    let auth = match core.authenticate(&exchange.signed(), &[Service::Iam, Service::Sts], meta.time)
    {
        Ok(auth) => auth,
        Err(e) => {
            // Unauthenticated, the service is the one whose operation the request names (the
            // STS actions are STS's alone), for its record and its answer's namespace.
            let named = if Operation::parse(Service::Sts, &action).is_some() {
                Service::Sts
            } else {
                Service::Iam
            };
            return (
                named,
                action.clone(),
                core.refuse(meta, named, &action, None, Value::Null, e),
            );
        }
    };
    let service = auth.service;
    let ctx = exchange.context(auth, meta.time);
    let op = match named_action {
        None => Err(CoreError::InvalidInput(
            "Missing Action parameter.".to_owned(),
        )),
        Some(_) => Operation::parse(service, &action).ok_or_else(|| {
            let version = if service == Service::Sts {
                "2011-06-15"
            } else {
                "2010-05-08"
            };
            CoreError::InvalidAction(format!(
                "Could not find operation {action} for version {version}"
            ))
        }),
    };
    let op = match op {
        Ok(op) => op,
        Err(e) => {
            return (
                service,
                action.clone(),
                core.refuse(meta, service, &action, Some(&ctx), params, e),
            )
        }
    };
    let performed = core.perform(
        meta,
        &ctx,
        op,
        params.clone(),
        || {
            match op {
                Operation::Iam(op) => tresor_core::iam::dispatch(core, &ctx, op, params.clone()),
                Operation::Sts(op) => tresor_core::sts::dispatch(core, &ctx, op, params.clone()),
                Operation::SecretsManager(_)
                | Operation::CloudTrail(_)
                | Operation::Gateway(_)
                | Operation::Rotation(_)
                | Operation::Kms(_) => Err(CoreError::InvalidAction(format!(
                    "Could not find operation {action} for this service"
                ))),
            }
            .map(Payload::Query)
        },
        json_elements,
    );
    (service, action, performed)
}
