//! `DeleteSecret` (recovery window or immediate), `RestoreSecret`, and the purge of secrets
//! whose recovery window has ended.

use tresor_store::Store;
use tresor_types::Timestamp;

use super::dto::*;
use super::resolve::marked_for_deletion;
use super::validate::Validator;
use super::write::deletion_after;
use crate::{Core, CoreError, RequestContext};

impl Core {
    pub fn delete_secret(
        &self,
        ctx: &RequestContext,
        req: DeleteSecretRequest,
    ) -> Result<DeleteSecretResponse, CoreError> {
        let mut v = Validator::new();
        v.required(&req.secret_id, "secretId");
        v.length(req.secret_id.as_deref(), "secretId", 1, 2048);
        v.finish()?;
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
        let record = self.resolve_secret(ctx, req.secret_id.as_deref().unwrap_or_default())?;
        if force {
            self.store.purge_secret(&record.arn)?;
            return Ok(DeleteSecretResponse {
                arn: record.arn,
                name: record.name,
                deletion_date: ctx.now,
            });
        }
        let deletion = self.store.update_secret(&record.arn, |txn| {
            if txn.record.deletion.is_some() {
                return Err(marked_for_deletion());
            }
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
        req: SecretIdRequest,
    ) -> Result<ArnName, CoreError> {
        let record = self.resolve_secret_request(ctx, req.secret_id.as_deref())?;
        self.store.update_secret(&record.arn, |txn| {
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

    /// Remove for good every secret whose recovery window ended. Returns how many went.
    pub fn purge_expired_secrets(&self, now: Timestamp) -> Result<usize, CoreError> {
        let arns = self.store.expired_deletions(now)?;
        for arn in &arns {
            self.store.purge_secret(arn)?;
        }
        Ok(arns.len())
    }
}
