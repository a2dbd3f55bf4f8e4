//! `DeleteSecret` (recovery window or immediate), `RestoreSecret`, and the purge of secrets
//! whose recovery window has ended.

use tresor_audit::AuditEvent;
use tresor_store::{Deletion, SecretRecord, Store, StoreError};
use tresor_types::Timestamp;

use super::dto::*;
use super::replicate::refuse_deleting_primary;
use super::resolve::marked_for_deletion;
use super::resolve::Access;
use super::write::deletion_after;
use super::Operation;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

/// The answer to a forced delete of a secret that doesn't exist: the ARN and name the
/// `SecretId` spells (a name gets an ARN without the random suffix, which it never had).
fn nothing_to_delete(ctx: &RequestContext, secret_id: &str) -> DeleteSecretResponse {
    let (arn, name) = match secret_id.split_once(":secret:") {
        Some((_, name)) if secret_id.starts_with("arn:") => (secret_id.to_owned(), name.to_owned()),
        _ => {
            let scope = ctx.scope();
            (
                format!(
                    "arn:aws:secretsmanager:{}:{}:secret:{secret_id}",
                    scope.region, scope.account
                ),
                secret_id.to_owned(),
            )
        }
    };
    DeleteSecretResponse {
        arn,
        name,
        deletion_date: ctx.now,
    }
}

impl Core {
    pub fn delete_secret(
        &self,
        ctx: &RequestContext,
        req: Validated<DeleteSecretRequest>,
    ) -> Result<DeleteSecretResponse, CoreError> {
        let force = req.force_delete_without_recovery.unwrap_or(false);
        // AWS checks the window's range first: a window of 0 with the force flag is refused
        // for its range, not for the combination.
        let days = req.recovery_window_in_days.unwrap_or(30);
        if !(7..=30).contains(&days) {
            return Err(CoreError::InvalidParameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
                    .to_owned(),
            ));
        }
        if force && req.recovery_window_in_days.is_some() {
            return Err(CoreError::InvalidParameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
                    .to_owned(),
            ));
        }
        let secret_id = req.secret_id.as_deref().unwrap_or_default();
        let record = match self.resolve_secret(ctx, secret_id, Access::to(Operation::DeleteSecret))
        {
            Ok(record) => record,
            // "If you forcibly delete an already deleted or nonexistent secret, the operation
            // does not return ResourceNotFoundException."
            Err(CoreError::ResourceNotFound(_)) if force => {
                return Ok(nothing_to_delete(ctx, secret_id));
            }
            Err(e) => return Err(e),
        };
        refuse_deleting_primary(&record)?;
        if force {
            match self.store.purge_secret(&record.arn) {
                // Purged by a concurrent request: the outcome the caller asked for.
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
            return Ok(DeleteSecretResponse {
                arn: record.arn,
                name: record.name,
                deletion_date: ctx.now,
            });
        }
        let deletion = self.write_secret(&record.arn, |txn| {
            if txn.record.deletion.is_some() {
                return Err(marked_for_deletion());
            }
            refuse_deleting_primary(&txn.record)?;
            let d = deletion_after(ctx.now, days);
            txn.record.deletion = Some(d);
            txn.record.last_changed = ctx.now;
            Ok(d)
        })?;
        Ok(DeleteSecretResponse {
            arn: record.arn,
            name: record.name,
            deletion_date: deletion.purge_after,
        })
    }

    pub fn restore_secret(
        &self,
        ctx: &RequestContext,
        req: Validated<SecretIdRequest>,
    ) -> Result<ArnName, CoreError> {
        let record =
            self.resolve_secret_request(ctx, req.secret_id.as_deref(), Operation::RestoreSecret)?;
        self.write_secret(&record.arn, |txn| {
            if txn.record.deletion.take().is_some() {
                txn.record.last_changed = ctx.now;
            }
            Ok::<_, CoreError>(())
        })?;
        Ok(ArnName {
            arn: record.arn,
            name: record.name,
        })
    }

    /// Remove for good every secret whose recovery window ended by `now` (the periodic sweep
    /// passes the current time), each in one transaction with its audit record. Returns how
    /// many went.
    pub fn purge_expired_secrets(&self, now: Timestamp) -> Result<usize, CoreError> {
        let mut purged = 0;
        for arn in self.store.expired_deletions(now)? {
            if self.purge_expired_secret(&arn, now)? {
                purged += 1;
            }
        }
        Ok(purged)
    }

    /// Purge one secret if its recovery window still ended by `now`; whether it did.
    fn purge_expired_secret(&self, arn: &str, now: Timestamp) -> Result<bool, CoreError> {
        self.atomically(|| {
            // Read again under the secret's lock: a RestoreSecret since the sweep listed it
            // wins, and of two nodes sweeping at once only one purges (and records it).
            let due = self.store.update_secret(arn, |txn| {
                let record = &txn.record;
                Ok::<_, StoreError>(
                    record
                        .deletion
                        .filter(|d| d.purge_after <= now)
                        .map(|d| purge_event(record, d, now)),
                )
            });
            let event = match due {
                Ok(Some(event)) => event,
                // Restored, or purged meanwhile (by a forced delete, which has its own record).
                Ok(None) | Err(StoreError::NotFound(_)) => return Ok(false),
                Err(e) => return Err(e.into()),
            };
            self.store.purge_secret(arn)?;
            self.audit_event_in_transaction(event)?;
            Ok(true)
        })
    }
}

/// The record of a purge: what AWS records for what a service did on its own, with the
/// service as the identity (as KMS records `DeleteKey` when a key's waiting period ends).
fn purge_event(record: &SecretRecord, deletion: Deletion, now: Timestamp) -> AuditEvent {
    let mut event = crate::audit_event::service_event("DeleteSecret", record, now);
    event.additional_event_data = Some(serde_json::json!({
        "reason": "RecoveryWindowEnded",
        "DeletedDate": deletion.deleted_date.epoch_seconds(),
        "DeletionDate": deletion.purge_after.epoch_seconds(),
    }));
    event
}
