//! Records of requests whose batch could not be written (a full disk, a lost database
//! connection), appended once the store takes writes again.
//!
//! Such a request was answered with `InternalServiceError` and served nothing (fail-closed), but
//! it happened, and every request leaves a record. So the writer keeps each of those records,
//! rewritten as the failure its client saw ([`PendingRow::failed`]), and appends it as soon as
//! an append succeeds again. This also corrects the trail where a failed change left a record
//! of success: SQLite commits the audit file before the store file, so on a full disk the
//! audit half of a change can be committed while the change itself fails. That request's
//! failure record then follows its record of success, under the same `requestID`.
//!
//! They are kept in memory, at most [`MAX_LATE`] (the oldest give way, counted in the log), so
//! a stop before the store recovers loses them, as a crash loses a request in flight.

use std::collections::VecDeque;

use serde_json::Value;

use super::{canonical, PendingRow};
use crate::CoreError;

/// Most records kept for a later append.
const MAX_LATE: usize = 4096;

#[derive(Default)]
pub(super) struct Late {
    rows: VecDeque<PendingRow>,
    /// Records given up (over [`MAX_LATE`], or not serializable), for the log.
    dropped: u64,
}

impl PendingRow {
    /// The record of this request as it ended: answered with a server error, because its
    /// record was not written. A new event: its first form may be in the trail after all.
    fn failed(mut self) -> Result<Self, CoreError> {
        let error = CoreError::Internal(String::new());
        self.event.error_code = Some(error.aws_code().to_owned());
        self.event.error_message = Some(error.message());
        self.event.response_elements = Value::Null;
        self.event.event_id = uuid::Uuid::now_v7();
        self.event_json = canonical(&self.event)?;
        Ok(self)
    }
}

impl Late {
    /// Keep the records of a batch that failed, as failures.
    pub(super) fn defer(&mut self, rows: Vec<PendingRow>) {
        let before = self.dropped;
        for row in rows {
            match row.failed() {
                Ok(row) => self.rows.push_back(row),
                Err(_) => self.dropped += 1,
            }
        }
        while self.rows.len() > MAX_LATE {
            self.rows.pop_front();
            self.dropped += 1;
        }
        if self.dropped > before {
            tracing::error!(
                dropped = self.dropped,
                "records of failed requests were given up: the audit trail cannot be written"
            );
        }
    }

    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The oldest records, at most `max`; `None` when none wait.
    pub(super) fn oldest(&mut self, max: usize) -> Option<&[PendingRow]> {
        let n = self.rows.len().min(max);
        (n > 0).then(|| &self.rows.make_contiguous()[..n])
    }

    /// The `n` oldest records were appended.
    pub(super) fn appended(&mut self, n: usize) {
        self.rows.drain(..n.min(self.rows.len()));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tresor_audit::AuditEvent;
    use tresor_types::Timestamp;

    use super::*;

    fn row(name: &str, error: Option<&str>) -> PendingRow {
        let mut event = AuditEvent::new(
            "secretsmanager.amazonaws.com",
            name,
            "us-east-1",
            "000000000000",
            Timestamp(0),
        );
        event.request_id = format!("request-{name}");
        event.response_elements = serde_json::json!({"VersionId": "v1"});
        event.error_code = error.map(str::to_owned);
        PendingRow {
            event_json: canonical(&event).unwrap(),
            event,
        }
    }

    #[test]
    fn a_deferred_record_says_the_request_failed_on_the_server() {
        let ok = row("PutSecretValue", None);
        let first_id = ok.event.event_id;
        let mut late = Late::default();
        late.defer(vec![
            ok,
            row("GetSecretValue", Some("ResourceNotFoundException")),
        ]);
        let rows = late.oldest(10).unwrap();
        assert_eq!(rows.len(), 2);
        for r in rows {
            let json: Value = serde_json::from_str(&r.event_json).unwrap();
            assert_eq!(json["errorCode"], "InternalServiceError", "{json}");
            assert_eq!(
                json["errorMessage"],
                "An error occurred on the server side."
            );
            assert_eq!(json["responseElements"], Value::Null);
            assert!(json["requestID"].as_str().unwrap().starts_with("request-"));
        }
        assert_ne!(rows[0].event.event_id, first_id, "a new event");
        late.appended(1);
        assert_eq!(late.len(), 1);
        assert_eq!(
            late.oldest(10).unwrap()[0].event.event_name,
            "GetSecretValue"
        );
        late.appended(1);
        assert!(late.oldest(10).is_none());
    }

    #[test]
    fn the_oldest_give_way_beyond_the_bound() {
        let mut late = Late::default();
        late.defer(
            (0..MAX_LATE + 3)
                .map(|i| row(&format!("Op{i}"), None))
                .collect(),
        );
        assert_eq!(late.len(), MAX_LATE);
        assert_eq!(late.dropped, 3);
        assert_eq!(late.oldest(1).unwrap()[0].event.event_name, "Op3");
    }
}
