//! The pipeline every request goes through once the server has decoded it, and its record.
//!
//! The walk of one request: the server reads the bytes and headers, and builds a
//! [`RequestMeta`] (what only the wire knows: request id, source, user agent, the credential
//! scope the request claims). It asks [`Core::authenticate`] for the caller, and decodes the
//! operation ([`Operation::parse`]) and its body. Then:
//! - [`Core::perform`] runs the operation: one that [changes state](Operation::changes_state)
//!   acts in one store transaction that also appends its audit record, so the change and its
//!   record commit together (or neither does, and the failure is recorded like any other);
//!   every other call acts, then queues its record for the audit writer's next group commit.
//! - [`Core::refuse`] records a request that never reached an operation (authentication
//!   failed, or its operation or body could not be decoded), by its metadata only when its
//!   sender is unknown, and within the per-source budget of [`crate::auth_failures`].
//!
//! Either gives a [`Performed`]: [`Performed::answer`] resolves once the record is durable,
//! with the result to encode, or with the error that replaces it when the record could not be
//! written (fail-closed). The server then writes the answer in the service's protocol.
//!
//! Observability falls out of the same walk. The pipeline counts every request in
//! [`crate::metrics`] once it is answered. The server opens one `request` span per request
//! (target [`REQUEST_LOG`], level `debug`, with its id); the pipeline records in it the
//! operation and the principal, and, once the answer is final, its outcome (`ok` or the AWS
//! error code) and latency, and logs one line in it (successes at `debug`, failures at `info`).
//! At the default level the span is off (it would cost a twentieth of a GetSecretValue's CPU):
//! a failure is then logged at `info` with the same fields. Never a parameter or a value.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use tresor_types::Timestamp;

use crate::auth_failures::Verdict;
use crate::metrics::{Metrics, Slot};
use crate::{AuditTicket, AuditedCall, Core, CoreError, Operation, RequestContext, Service};

/// The target of the request spans and of their log lines: `TRESOR_LOG=info,tresor::request=debug`
/// logs one line per request.
pub const REQUEST_LOG: &str = "tresor::request";

/// Longest operation name a record keeps; every real one is shorter.
const MAX_RECORDED_OPERATION: usize = 64;
/// Longest user agent a record keeps (the SDKs send about 200 bytes).
const MAX_RECORDED_USER_AGENT: usize = 512;
/// Bodies larger than this are recorded by their size, not their parameters. Every valid
/// request is smaller (a 64 KiB binary secret is 88 KiB in base64).
const MAX_RECORDED_BODY: usize = 256 * 1024;

/// What the record of a request needs that only the wire knows.
#[derive(Debug, Clone)]
pub struct RequestMeta<'a> {
    pub request_id: &'a str,
    pub source_ip: std::net::IpAddr,
    pub user_agent: Option<&'a str>,
    /// The access key id and region the request claims in its credential scope, read without
    /// trusting them (for the record of a request that failed authentication).
    pub claimed_access_key_id: Option<String>,
    pub claimed_region: Option<String>,
    /// The size of the body as received.
    pub body_len: usize,
    pub time: Timestamp,
    /// When the request arrived, for its latency.
    pub started: Instant,
}

/// A request that ran (or was refused) and is recorded, or queued to be, but not answered.
#[must_use = "a request is answered through `Performed::answer`, once its record is durable"]
pub struct Performed<T> {
    result: Result<T, CoreError>,
    /// The record, queued for group commit; `None` when it was written with the change, or
    /// when the request is answered without one (past its source's budget of failures).
    pending: Option<AuditTicket>,
    counted: Counted,
}

/// Where an answered request is counted.
struct Counted {
    metrics: Arc<Metrics>,
    slot: Slot,
    started: Instant,
    /// The request's span, current when the call was performed.
    span: tracing::Span,
}

impl<T> Performed<T> {
    /// The result to answer with, once the record is durable: if it could not be written, the
    /// error that says so instead.
    pub async fn answer(self) -> Result<T, CoreError> {
        let result = match self.pending {
            Some(ticket) => ticket.durable().await.and(self.result),
            None => self.result,
        };
        let Counted {
            metrics,
            slot,
            started,
            span,
        } = self.counted;
        let elapsed = started.elapsed();
        let outcome = result.as_ref().err().map(CoreError::aws_code);
        metrics.answered(slot, outcome, elapsed);
        if !span.is_disabled() {
            span.record("outcome", tracing::field::display(outcome.unwrap_or("ok")));
            span.record("latency_us", elapsed.as_micros() as u64);
            let _in_span = span.enter();
            match &result {
                Ok(_) => tracing::debug!(target: REQUEST_LOG, "answered"),
                Err(_) => tracing::info!(target: REQUEST_LOG, "failed"),
            }
        }
        result
    }
}

impl Core {
    /// Run an authenticated, decoded call of `op` with `act`, and record it. `request` is its
    /// parameters for the record (redacted there); `elements` gives the response elements a
    /// state-changing call's record keeps (reads keep none, so a value read is never written
    /// down, even redacted).
    pub fn perform<T>(
        &self,
        meta: &RequestMeta<'_>,
        ctx: &RequestContext,
        op: Operation,
        request: Value,
        act: impl FnOnce() -> Result<T, CoreError>,
        elements: impl Fn(&T) -> Option<Value>,
    ) -> Performed<T> {
        let counted = self.counted(meta, op.service(), Some(op));
        let request = recorded_parameters(meta, request);
        let result = if op.changes_state() {
            let outcome = self.atomically(|| {
                let out = act()?;
                let mut call = record_of(meta, op.service(), op.name(), Some(ctx), request.clone());
                call.read_only = Some(op.is_read_only());
                call.response = elements(&out);
                self.audit_in_transaction(call)?;
                Ok(out)
            });
            match outcome {
                Ok(out) => {
                    note(&counted.span, meta, op.name(), Some(ctx), None);
                    return Performed {
                        result: Ok(out),
                        pending: None,
                        counted,
                    };
                }
                // Rolled back: nothing changed. The failure is recorded like any other.
                Err(e) => Err(e),
            }
        } else {
            act()
        };
        note(
            &counted.span,
            meta,
            op.name(),
            Some(ctx),
            result.as_ref().err(),
        );
        let mut call = record_of(meta, op.service(), op.name(), Some(ctx), request);
        call.read_only = Some(op.is_read_only());
        call.error = result.as_ref().err();
        let queued = self.submit_audit(call);
        queued_answer(queued, result, counted)
    }

    fn counted(&self, meta: &RequestMeta<'_>, service: Service, op: Option<Operation>) -> Counted {
        Counted {
            metrics: self.metrics.clone(),
            slot: Slot::of(service, op),
            started: meta.started,
            span: tracing::Span::current(),
        }
    }

    /// Record a request of `service` that did not reach an operation: its authentication
    /// failed (`ctx` is `None`), or its operation (`operation`, as the request named it) or its
    /// body could not be decoded. A request whose sender is unknown is recorded by its metadata
    /// only (never its parameters: anyone sent them, as large as the body limit), within its
    /// source's budget; past it, it is answered the same way without a record, and counted.
    pub fn refuse<T>(
        &self,
        meta: &RequestMeta<'_>,
        service: Service,
        operation: &str,
        ctx: Option<&RequestContext>,
        request: Value,
        error: CoreError,
    ) -> Performed<T> {
        let operation = recorded_operation(operation);
        let named = Operation::parse(service, operation);
        let counted = self.counted(meta, service, named);
        note(&counted.span, meta, operation, ctx, Some(&error));
        let mut additional = None;
        match ctx {
            Some(_) => {}
            None => match self
                .auth_failures
                .admit(meta.source_ip, std::time::Instant::now())
            {
                Verdict::Record { unrecorded_before } => {
                    if unrecorded_before > 0 {
                        additional = Some(
                            serde_json::json!({ "unrecordedAuthFailures": unrecorded_before }),
                        );
                    }
                }
                Verdict::Skip => {
                    return Performed {
                        result: Err(error),
                        pending: None,
                        counted,
                    }
                }
            },
        }
        let request = match ctx {
            Some(_) => recorded_parameters(meta, request),
            None => Value::Null,
        };
        let mut call = record_of(meta, service, operation, ctx, request);
        // A request refused before its operation ran may still name one (a failed signature
        // on a GetSecretValue): its record says what that operation is.
        call.read_only = named.map(Operation::is_read_only);
        call.error = Some(&error);
        call.additional = additional;
        let queued = self.submit_audit(call);
        queued_answer(queued, Err(error), counted)
    }
}

/// The answer of a call whose record was queued, or could not be.
fn queued_answer<T>(
    queued: Result<AuditTicket, CoreError>,
    result: Result<T, CoreError>,
    counted: Counted,
) -> Performed<T> {
    match queued {
        Ok(ticket) => Performed {
            result,
            pending: Some(ticket),
            counted,
        },
        Err(e) => Performed {
            result: Err(e),
            pending: None,
            counted,
        },
    }
}

/// Fill in the request's span; or, when requests are not traced (the default level), log a
/// failure with what the span would have said.
fn note(
    span: &tracing::Span,
    meta: &RequestMeta<'_>,
    operation: &str,
    ctx: Option<&RequestContext>,
    failure: Option<&CoreError>,
) {
    let principal = ctx.map(|c| c.principal.arn.as_str());
    if span.is_disabled() {
        if let Some(e) = failure {
            tracing::info!(
                target: REQUEST_LOG,
                request_id = meta.request_id,
                operation,
                principal,
                outcome = e.aws_code(),
                "failed"
            );
        }
        return;
    }
    span.record("operation", tracing::field::display(operation));
    if let Some(principal) = principal {
        span.record("principal", tracing::field::display(principal));
    }
}

/// The record of a call, without its outcome (response, error, extra data).
fn record_of<'a>(
    meta: &'a RequestMeta<'_>,
    service: Service,
    operation: &'a str,
    ctx: Option<&'a RequestContext>,
    request: Value,
) -> AuditedCall<'a> {
    AuditedCall {
        service,
        operation,
        read_only: None,
        principal: ctx.map(|c| &c.principal),
        claimed_access_key_id: meta.claimed_access_key_id.clone(),
        region: ctx
            .map(|c| c.region.as_str().to_owned())
            .or_else(|| meta.claimed_region.clone())
            .unwrap_or_else(|| "us-east-1".to_owned()),
        request_id: meta.request_id,
        source_ip: Some(meta.source_ip.to_string()),
        user_agent: meta
            .user_agent
            .map(|ua| truncated(ua, MAX_RECORDED_USER_AGENT)),
        time: meta.time,
        request,
        response: None,
        error: None,
        additional: None,
    }
}

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
fn recorded_parameters(meta: &RequestMeta<'_>, parameters: Value) -> Value {
    if meta.body_len > MAX_RECORDED_BODY {
        serde_json::json!({ "omittedBodyBytes": meta.body_len })
    } else {
        parameters
    }
}
