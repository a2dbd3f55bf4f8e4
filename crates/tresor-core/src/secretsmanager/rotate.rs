//! `RotateSecret` and `CancelRotateSecret`, and what a manual write does to a rotation.
//!
//! RotateSecret checks everything before it changes anything (the schedule, the rotator, the
//! caller's right to invoke it, a rotation already in progress), then in one transaction
//! stores the configuration and creates the pending version (id = the `ClientRequestToken`,
//! label AWSPENDING, no value yet) before any rotator runs, and wakes the scheduler. It
//! answers at once; the rotation runs in the background (`tresor-rotation`).

use tresor_store::SecretTxn;
use tresor_types::Timestamp;

use super::dto::*;
use super::resolve::{ensure_not_deleted, Access};
use super::write::missing_token;
use super::{Operation, AWSCURRENT, AWSPENDING};
use crate::authz::Resource;
use crate::rotation::events::{event, RotationEvent};
use crate::rotation::run::{add_pending_version, is_empty_version};
use crate::rotation::schedule::Schedule;
use crate::rotation::state::{self, RotationState, Run};
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

fn no_rotator() -> CoreError {
    CoreError::InvalidRequest(
        "No Lambda rotation function ARN is associated with this secret.".to_owned(),
    )
}

fn cannot_invoke() -> CoreError {
    CoreError::access_denied(
        "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com."
            .to_owned(),
    )
}

fn in_progress() -> CoreError {
    CoreError::InvalidRequest(
        "A previous rotation isn't complete. That rotation will be reattempted.".to_owned(),
    )
}

impl Core {
    pub fn rotate_secret(
        &self,
        ctx: &RequestContext,
        req: Validated<RotateSecretRequest>,
    ) -> Result<ArnNameVersion, CoreError> {
        let req = req.into_inner();
        // The SDKs always send a token; AWS refuses a raw request without one before it looks
        // the secret up.
        let token = String::from(req.client_request_token.ok_or_else(missing_token)?);
        if req.external_secret_rotation_metadata.is_some()
            || req.external_secret_rotation_role_arn.is_some()
        {
            return Err(CoreError::InvalidRequest(
                "Managed external secret rotation is not available in Tresor: register a rotator and give its ARN as RotationLambdaARN."
                    .to_owned(),
            ));
        }
        let record = self.resolve_secret(
            ctx,
            req.secret_id.as_deref().unwrap_or_default(),
            Access::to(Operation::RotateSecret),
        )?;
        ensure_not_deleted(&record)?;
        if let Some(rules) = &req.rotation_rules {
            Schedule::parse(rules)?;
        }
        let stored = RotationState::of(&record).unwrap_or_default();
        let lambda_arn = req
            .rotation_lambda_arn
            .clone()
            .filter(|a| !a.is_empty())
            .or_else(|| stored.lambda_arn.clone())
            .ok_or_else(no_rotator)?;
        // As AWS asks for `lambda:InvokeFunction`: attaching a rotator to a secret makes it
        // act with its role, so only a caller allowed to invoke it may.
        let invoke = Resource {
            arn: &lambda_arn,
            account: Some(&ctx.principal.account),
            policy: None,
            keys: Vec::new(),
            shown_as: None,
        };
        self.authorize(ctx, "lambda:InvokeFunction", invoke)?;
        match self.resolve_rotator(&lambda_arn)? {
            Some(r) if r.record.scope == record.scope => {}
            _ => return Err(cannot_invoke()),
        }
        let immediately = req.rotate_immediately.unwrap_or(true);
        let rules = req.rotation_rules.clone();
        let now = ctx.now;
        let started = self.write_secret(&record.arn, |txn| {
            ensure_not_deleted(&txn.record)?;
            let mut st = RotationState::of(&txn.record).unwrap_or_default();
            if st.run.as_ref().is_some_and(|r| r.token == token) {
                // A retry of this very call.
                return Ok(false);
            }
            if let Some(existing) = txn.record.version(&token) {
                if !is_empty_version(existing) {
                    // The token names a finished version: the retry of a rotation that ended.
                    return Ok(false);
                }
            }
            if st.run.is_some() || state::pending_elsewhere(&txn.record).is_some() {
                return Err(in_progress());
            }
            st.enabled = true;
            st.lambda_arn = Some(lambda_arn.clone());
            if let Some(rules) = &rules {
                st.rules = Some(rules.clone());
            }
            add_pending_version(txn, &token, now);
            st.run = Some(Run {
                token: token.clone(),
                started: now.millis(),
                attempts: 0,
                next_attempt: now.millis(),
                test_only: !immediately,
                ..Run::default()
            });
            let from = st.last_rotated.map(Timestamp::from_millis).unwrap_or(now);
            st.schedule_from(from);
            st.store(&mut txn.record);
            txn.record.last_changed = now;
            Ok::<_, CoreError>(true)
        })?;
        if started {
            self.rotation_wakeup.notify_one();
        }
        Ok(ArnNameVersion {
            arn: record.arn,
            name: record.name,
            version_id: Some(token),
            replication_status: None,
        })
    }

    pub fn cancel_rotate_secret(
        &self,
        ctx: &RequestContext,
        req: Validated<SecretIdRequest>,
    ) -> Result<ArnNameVersion, CoreError> {
        let record = self.resolve_secret_request(
            ctx,
            req.secret_id.as_deref(),
            Operation::CancelRotateSecret,
        )?;
        ensure_not_deleted(&record)?;
        let now = ctx.now;
        let version_id = self.write_secret(&record.arn, |txn| {
            ensure_not_deleted(&txn.record)?;
            let Some(mut st) = RotationState::of(&txn.record) else {
                return Ok::<_, CoreError>(None);
            };
            // Labels stay as they are: the caller may need to take AWSPENDING off itself.
            let cancelled = st.run.take().map(|r| r.token);
            st.enabled = false;
            st.store(&mut txn.record);
            txn.record.last_changed = now;
            Ok(cancelled)
        })?;
        Ok(ArnNameVersion {
            arn: record.arn,
            name: record.name,
            version_id,
            replication_status: None,
        })
    }

    /// What a write that made `version_id` AWSCURRENT does to the secret's rotation, inside
    /// its transaction: a rotation in progress that this write is not part of is abandoned
    /// (AWSPENDING removed), and with `AutomaticallyAfterDays` the schedule counts from now.
    /// Returns the `RotationAbandoned` record to write with the change.
    pub(crate) fn after_manual_write(
        txn: &mut SecretTxn,
        version_id: &str,
        now: Timestamp,
    ) -> Option<tresor_audit::AuditEvent> {
        let mut st = RotationState::of(&txn.record)?;
        let now_current = txn
            .record
            .version(version_id)
            .is_some_and(|v| v.stages.iter().any(|s| s == AWSCURRENT));
        if !now_current {
            return None;
        }
        let mut abandoned = None;
        if let Some(run) = st.run.take_if(|r| r.token != version_id) {
            for v in txn.record.versions.iter_mut() {
                v.stages.retain(|s| s != AWSPENDING);
            }
            let unused = txn
                .record
                .version(&run.token)
                .is_some_and(|v| is_empty_version(v) && v.stages.is_empty());
            if unused {
                txn.remove_version(&run.token);
            }
            st.last_result = Some(state::ABANDONED.to_owned());
            abandoned = Some(event(
                RotationEvent::Abandoned,
                &txn.record,
                &run.token,
                serde_json::json!({ "Reason": "A new value was made AWSCURRENT by a caller." }),
                now,
            ));
        }
        // With AutomaticallyAfterDays, a value set by hand counts as a rotation (AWS).
        let by_days = st.schedule().is_some_and(|s| s.counts_manual_changes());
        if st.enabled && by_days && st.run.is_none() {
            st.schedule_from(now);
        }
        st.store(&mut txn.record);
        abandoned
    }
}
