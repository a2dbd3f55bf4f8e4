//! Records of changes that never committed, answered in the trail.
//!
//! A store that commits the trail and the changes separately (SQLite's two files, see
//! `tresor-store`'s `sqlite::commit`) can be stopped, or fail to write, after a group's records
//! committed and before its changes did. Those records stay: the chain is append-only. The
//! store reports such groups ([`AuditStore::lost_changes`]); this appends, for each account and
//! service among their records, one `UncommittedChanges` record naming them (event ids, names,
//! request ids and resources) and saying that nothing they describe happened and no response
//! was sent for them, then settles the groups, all in one transaction. It runs when the audit
//! writer starts and with every periodic checkpoint.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use tresor_audit::{AuditEvent, Resource, UserIdentity, AWS_SERVICE_EVENT};
use tresor_store::{AuditRow, AuditStore, LostChanges, Store, StoreError};
use tresor_types::{SecretBytes, Timestamp};

use super::{append_now, canonical, PendingRow};
use crate::StoreBackend;

/// The `eventName` of the record that answers lost changes.
const UNCOMMITTED_CHANGES: &str = "UncommittedChanges";

/// Most records one group commit holds (its members' and the writer's batch): a lost group is
/// read whole.
const MAX_GROUP_RECORDS: usize = 65_536;

/// Answer every group of lost changes the store reports; how many groups that was.
pub(super) fn reconcile(store: &StoreBackend, mac_key: &SecretBytes) -> Result<usize, StoreError> {
    store.atomically(|| {
        let lost = store.lost_changes()?;
        if lost.is_empty() {
            return Ok(0);
        }
        let mut answers = Vec::new();
        for group in &lost {
            let records = store.read_audit(group.first_seq, MAX_GROUP_RECORDS)?;
            let records = records
                .iter()
                .filter(|r| r.seq <= group.last_seq)
                .collect::<Vec<_>>();
            answers.extend(answers_for(group, &records)?);
        }
        append_now(store, &answers, mac_key)?;
        store.settle_lost_changes(&lost)?;
        tracing::error!(
            groups = lost.len(),
            records = answers.len(),
            "audit records of changes that never committed were answered in the trail"
        );
        Ok(lost.len())
    })
}

/// The records answering one lost group: one per (account, region, event source).
fn answers_for(group: &LostChanges, records: &[&AuditRow]) -> Result<Vec<PendingRow>, StoreError> {
    let mut by_trail: BTreeMap<(String, String, String), Vec<AuditEvent>> = BTreeMap::new();
    for row in records {
        let event = AuditEvent::from_json(&row.event_json).map_err(|_| {
            StoreError::Backend(format!("audit record {} cannot be read back", row.seq))
        })?;
        by_trail
            .entry((
                event.recipient_account_id.clone(),
                event.aws_region.clone(),
                event.event_source.clone(),
            ))
            .or_default()
            .push(event);
    }
    let now = Timestamp::now();
    by_trail
        .into_iter()
        .map(|((account, region, source), events)| {
            let event = answer(group, &account, &region, &source, &events, now);
            let event_json = canonical(&event)
                .map_err(|_| StoreError::Backend("serializing an audit event".to_owned()))?;
            Ok(PendingRow { event_json, event })
        })
        .collect()
}

fn answer(
    group: &LostChanges,
    account: &str,
    region: &str,
    source: &str,
    events: &[AuditEvent],
    now: Timestamp,
) -> AuditEvent {
    let mut event = AuditEvent::new(source, UNCOMMITTED_CHANGES, region, account, now);
    event.user_identity = UserIdentity::aws_service(account, source);
    event.event_type = AWS_SERVICE_EVENT.to_owned();
    event.read_only = false;
    event.source_ip_address = source.to_owned();
    event.user_agent = source.to_owned();
    let mut resources: Vec<Resource> = Vec::new();
    for e in events {
        for r in &e.resources {
            if !resources.contains(r) {
                resources.push(r.clone());
            }
        }
    }
    event.resources = resources;
    let records: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "eventID": e.event_id.to_string(),
                "eventName": e.event_name,
                "requestID": e.request_id,
            })
        })
        .collect();
    event.additional_event_data = Some(json!({
        "reason": "The process stopped, or the store failed to write, after these records were \
                   committed and before the changes they record were. Nothing they record \
                   happened, and no response was sent for them.",
        "records": records,
        "firstSeq": group.first_seq,
        "lastSeq": group.last_seq,
    }));
    event
}
