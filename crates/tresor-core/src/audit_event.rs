//! Turning a finished request into its audit event.

use serde_json::Value;
use tresor_audit::{
    AuditEvent, IdentityType, SessionAttributes, SessionContext, SessionIssuer, UserIdentity,
};
use tresor_types::Timestamp;

use crate::{Core, CoreError, Principal, PrincipalKind, Service};

/// One finished request, as the audit trail records it. Failed authentication has no
/// principal; the access key id it claimed (if readable) is kept.
pub struct AuditedCall<'a> {
    pub service: Service,
    pub operation: &'a str,
    /// CloudTrail's `readOnly`, when the operation is known (else guessed from its name).
    pub read_only: Option<bool>,
    pub principal: Option<&'a Principal>,
    pub claimed_access_key_id: Option<String>,
    pub region: String,
    pub request_id: &'a str,
    pub source_ip: Option<String>,
    pub user_agent: Option<&'a str>,
    pub time: Timestamp,
    /// The request's parameters (redacted before they are written).
    pub request: Value,
    /// The response, for calls that change something (redacted before they are written).
    pub response: Option<Value>,
    pub error: Option<&'a CoreError>,
    /// `additionalEventData`: facts about the call that are not its parameters (redacted
    /// before they are written, like them).
    pub additional: Option<Value>,
}

// Why by hand: `request` and `response` are not redacted yet (that happens when the event is
// built) and can hold secret values, so `Debug` names the call but never prints them.
impl std::fmt::Debug for AuditedCall<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditedCall")
            .field("service", &self.service)
            .field("operation", &self.operation)
            .field("principal", &self.principal.map(|p| &p.arn))
            .field("region", &self.region)
            .field("request_id", &self.request_id)
            .field("error", &self.error.map(CoreError::aws_code))
            .finish_non_exhaustive()
    }
}

fn identity(principal: Option<&Principal>, claimed_key: Option<&str>) -> UserIdentity {
    let Some(p) = principal else {
        return UserIdentity {
            access_key_id: claimed_key.map(str::to_owned),
            ..UserIdentity::unknown()
        };
    };
    let base = UserIdentity {
        identity_type: IdentityType::Unknown,
        principal_id: Some(p.user_id()),
        arn: Some(p.arn.clone()),
        account_id: Some(p.account.as_str().to_owned()),
        access_key_id: Some(p.access_key_id.clone()),
        user_name: None,
        session_context: None,
        invoked_by: None,
    };
    match &p.kind {
        PrincipalKind::Root => UserIdentity {
            identity_type: IdentityType::Root,
            ..base
        },
        PrincipalKind::User { name, .. } => UserIdentity {
            identity_type: IdentityType::IamUser,
            user_name: Some(name.clone()),
            ..base
        },
        PrincipalKind::AssumedRole {
            role_name,
            role_id,
            role_arn,
            ..
        } => UserIdentity {
            identity_type: IdentityType::AssumedRole,
            session_context: Some(SessionContext {
                session_issuer: Some(SessionIssuer {
                    issuer_type: "Role".to_owned(),
                    principal_id: role_id.clone(),
                    arn: role_arn.clone(),
                    account_id: p.account.as_str().to_owned(),
                    user_name: role_name.clone(),
                }),
                attributes: SessionAttributes {
                    creation_date: String::new(),
                    mfa_authenticated: "false".to_owned(),
                },
            }),
            ..base
        },
    }
}

/// The secret a Secrets Manager call was about, when it names one by ARN.
fn resources(call: &AuditedCall<'_>, account: &str) -> Vec<tresor_audit::Resource> {
    if call.service != Service::SecretsManager {
        return Vec::new();
    }
    let arn = call
        .response
        .as_ref()
        .and_then(|r| r.get("ARN"))
        .and_then(Value::as_str)
        .or_else(|| {
            call.request
                .get("SecretId")
                .and_then(Value::as_str)
                .filter(|s| s.starts_with("arn:"))
        });
    arn.map(|arn| tresor_audit::Resource {
        arn: arn.to_owned(),
        account_id: account.to_owned(),
        resource_type: "AWS::SecretsManager::Secret".to_owned(),
    })
    .into_iter()
    .collect()
}

/// The record of what Secrets Manager did on its own to `record` (`eventType`
/// `AwsServiceEvent`, the service as the identity, the secret as the resource), as AWS records
/// a purge at the end of a recovery window or a rotation's progress. The caller adds its
/// `additionalEventData`.
pub(crate) fn service_event(
    name: &str,
    record: &tresor_store::SecretRecord,
    now: Timestamp,
) -> AuditEvent {
    use tresor_audit::{Resource, AWS_SERVICE_EVENT, SECRETS_MANAGER_SOURCE};
    let account = record.scope.account.as_str();
    let mut event = AuditEvent::new(
        SECRETS_MANAGER_SOURCE,
        name,
        record.scope.region.as_str(),
        account,
        now,
    );
    event.user_identity = UserIdentity::aws_service(account, SECRETS_MANAGER_SOURCE);
    event.event_type = AWS_SERVICE_EVENT.to_owned();
    event.read_only = false;
    event.source_ip_address = SECRETS_MANAGER_SOURCE.to_owned();
    event.user_agent = SECRETS_MANAGER_SOURCE.to_owned();
    event.request_id = uuid::Uuid::new_v4().to_string();
    event.resources = vec![Resource {
        arn: record.arn.clone(),
        account_id: account.to_owned(),
        resource_type: "AWS::SecretsManager::Secret".to_owned(),
    }];
    event.response_elements = serde_json::json!({ "ARN": record.arn, "Name": record.name });
    event
}

impl Core {
    fn event_of(call: AuditedCall<'_>) -> AuditEvent {
        let account = call
            .principal
            .map(|p| p.account.as_str().to_owned())
            .unwrap_or_default();
        let mut event = AuditEvent::new(
            format!("{}.amazonaws.com", call.service.name()),
            call.operation,
            call.region.as_str(),
            account.clone(),
            call.time,
        );
        if let Some(read_only) = call.read_only {
            event.read_only = read_only;
        }
        event.user_identity = identity(call.principal, call.claimed_access_key_id.as_deref());
        event.source_ip_address = call.source_ip.clone().unwrap_or_default();
        event.user_agent = call.user_agent.unwrap_or_default().to_owned();
        event.request_id = call.request_id.to_owned();
        event.resources = resources(&call, &account);
        let mut additional = call.additional;
        if let Some(e) = call.error {
            event.error_code = Some(e.code_for(call.service).to_owned());
            event.error_message = Some(e.message());
            if let Some((key, detail)) = e.audit_detail() {
                match &mut additional {
                    Some(Value::Object(data)) => {
                        data.insert(key.to_owned(), detail.into());
                    }
                    _ => additional = Some(serde_json::json!({ key: detail })),
                }
            }
        }
        event.request_parameters = call.request;
        if let Some(r) = call.response {
            event.response_elements = r;
        }
        event.additional_event_data = additional;
        event.redact();
        event
    }

    /// Record a finished request (group commit). `Err` means the record is not durable and
    /// the response must not be sent (fail-closed).
    pub fn audit(&self, call: AuditedCall<'_>) -> Result<(), CoreError> {
        self.audit_log.record(Self::event_of(call))
    }

    /// Queue the record of a call that changed nothing for the next group commit, without
    /// waiting: the caller must await [`crate::AuditTicket::durable`] before answering.
    pub fn submit_audit(&self, call: AuditedCall<'_>) -> Result<crate::AuditTicket, CoreError> {
        self.audit_log.submit(Self::event_of(call))
    }

    /// Record a request that changed state inside the [`Core::atomically`] block that made the
    /// change, so that both commit together or neither does.
    pub fn audit_in_transaction(&self, call: AuditedCall<'_>) -> Result<(), CoreError> {
        self.audit_event_in_transaction(Self::event_of(call))
    }

    /// [`Core::audit_in_transaction`] for an event built here (what the service did on its
    /// own, on no caller's request).
    pub(crate) fn audit_event_in_transaction(&self, event: AuditEvent) -> Result<(), CoreError> {
        crate::audit::record_in_transaction(&self.store, &self.audit_mac, event)?;
        if !uncommitted::count_one() {
            // Not inside `atomically`: the record's own transaction has committed.
            self.audit_log.appended_in_transaction(1);
        }
        Ok(())
    }

    /// Run `f` so that every store write it makes commits with its `Ok`, or none does.
    pub fn atomically<T>(&self, f: impl FnOnce() -> Result<T, CoreError>) -> Result<T, CoreError> {
        use tresor_store::Store;
        let block = uncommitted::Block::enter();
        let out = self.store.atomically(f);
        // Records count towards an indexing batch once committed: counted earlier, a batch
        // running before the commit would take the count without indexing them.
        let records = block.leave();
        if out.is_ok() && records > 0 {
            self.audit_log.appended_in_transaction(records);
        }
        out
    }

    /// Run read-only work with its store reads in one snapshot where the store can
    /// ([`tresor_store::Store::reading`]).
    pub fn reading<T>(&self, f: impl FnOnce() -> T) -> T {
        use tresor_store::Store;
        self.store.reading(f)
    }

    /// Stop the audit writer after what is queued, with a final signed checkpoint.
    pub fn shutdown(&self) {
        self.audit_log.shutdown();
    }
}

/// Records appended inside the outermost [`Core::atomically`] block of this thread, not yet
/// committed.
mod uncommitted {
    use std::cell::Cell;

    thread_local! {
        /// (nesting depth, records appended)
        static OPEN: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    }

    /// Count a record appended in a block; `false` when no block is open.
    pub(super) fn count_one() -> bool {
        let (depth, records) = OPEN.get();
        if depth == 0 {
            return false;
        }
        OPEN.set((depth, records + 1));
        true
    }

    /// An open block; leaving it (or unwinding out of it) closes it.
    pub(super) struct Block(bool);

    impl Block {
        pub(super) fn enter() -> Self {
            let (depth, records) = OPEN.get();
            OPEN.set((depth + 1, records));
            Self(false)
        }

        /// Close the block: the records it appended when it was the outermost, else 0 (the
        /// outer block commits them).
        pub(super) fn leave(mut self) -> usize {
            self.0 = true;
            let (depth, records) = OPEN.get();
            if depth <= 1 {
                OPEN.set((0, 0));
                return records;
            }
            OPEN.set((depth - 1, records));
            0
        }
    }

    impl Drop for Block {
        fn drop(&mut self) {
            if !self.0 {
                let (depth, records) = OPEN.get();
                OPEN.set((
                    depth.saturating_sub(1),
                    if depth <= 1 { 0 } else { records },
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_request_or_response_values() {
        let call = AuditedCall {
            read_only: None,
            service: Service::SecretsManager,
            operation: "CreateSecret",
            principal: None,
            claimed_access_key_id: None,
            region: "us-east-1".to_owned(),
            request_id: "r",
            source_ip: None,
            user_agent: None,
            time: Timestamp::now(),
            request: serde_json::json!({"Name": "n", "SecretString": "sk-debug-canary"}),
            response: Some(serde_json::json!({"SecretString": "sk-debug-canary-2"})),
            error: None,
            additional: None,
        };
        let shown = format!("{call:?}");
        assert!(shown.contains("CreateSecret"), "{shown}");
        assert!(!shown.contains("sk-debug-canary"), "{shown}");
    }
}
