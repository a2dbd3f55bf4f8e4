//! What the core's integration tests share.

#![allow(clippy::unwrap_used)] // test support code

use tresor_core::{AuditedCall, Principal, PrincipalKind, RequestContext};
use tresor_types::{AccountId, Region, Timestamp};

/// A request of `account`'s root user in us-east-1, over TLS, now.
pub fn root(account: &AccountId) -> RequestContext {
    RequestContext {
        principal: Principal {
            account: account.clone(),
            arn: format!("arn:aws:iam::{account}:root"),
            kind: PrincipalKind::Root,
            access_key_id: "AKIAROOT".into(),
            tags: vec![],
        },
        region: Region::parse("us-east-1").unwrap(),
        request_id: "test".into(),
        source_ip: None,
        user_agent: None,
        secure_transport: true,
        now: Timestamp::now(),
    }
}

/// The record of one Secrets Manager call by `ctx`, in its region, as the server's handler
/// makes it.
#[allow(dead_code)] // not every test file records calls
pub fn audited_call<'a>(ctx: &'a RequestContext, operation: &'a str) -> AuditedCall<'a> {
    AuditedCall {
        read_only: None,
        service: tresor_core::Service::SecretsManager,
        operation,
        principal: Some(&ctx.principal),
        claimed_access_key_id: None,
        region: ctx.region.as_str().to_owned(),
        request_id: &ctx.request_id,
        source_ip: None,
        user_agent: None,
        time: Timestamp::now(),
        request: serde_json::json!({ "SecretId": "openai/prod" }),
        response: None,
        error: None,
        additional: None,
    }
}
