//! The audit records of what rotation does on its own: CloudTrail's non-API events
//! `RotationStarted`, `RotationSucceeded`, `RotationFailed` and `RotationAbandoned`, with the
//! service as the identity. They name the secret and the pending version, and a failure's
//! one-line summary; never a value, a `RotationToken` or a rotator's output.

use tresor_audit::AuditEvent;
use tresor_store::SecretRecord;
use tresor_types::Timestamp;

/// A rotation event's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationEvent {
    Started,
    Succeeded,
    Failed,
    Abandoned,
}

impl RotationEvent {
    pub fn name(self) -> &'static str {
        match self {
            Self::Started => "RotationStarted",
            Self::Succeeded => "RotationSucceeded",
            Self::Failed => "RotationFailed",
            Self::Abandoned => "RotationAbandoned",
        }
    }
}

/// The record of `kind` for the rotation of `record` creating `version_id`. `details` joins
/// the additional event data (attempt, summary, rotator).
pub fn event(
    kind: RotationEvent,
    record: &SecretRecord,
    version_id: &str,
    details: serde_json::Value,
    now: Timestamp,
) -> AuditEvent {
    let mut event = crate::audit_event::service_event(kind.name(), record, now);
    let mut data = serde_json::json!({ "VersionId": version_id });
    if let (Some(map), serde_json::Value::Object(extra)) = (data.as_object_mut(), details) {
        map.extend(extra);
    }
    event.additional_event_data = Some(data);
    event.redact();
    event
}
