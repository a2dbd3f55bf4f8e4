//! What the core's integration tests share.

#![allow(clippy::unwrap_used)] // test support code

use tresor_core::{Principal, PrincipalKind, RequestContext};
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
