//! `ListRotationStatus` (what `tresor rotation status` shows) and `RunDueRotations` (what
//! `tresor rotation run-due` asks: make what is due by a time due now, and wake the
//! scheduler). Both see only the caller's scope, and only the secrets the caller may describe.

use tresor_store::{RotationStore, SecretRecord, Store};
use tresor_types::Timestamp;

use super::dto::*;
use super::state::RotationState;
use super::Operation;
use crate::secretsmanager::resolve::Access;
use crate::secretsmanager::Operation as SecretsOperation;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

/// `running` covers a rotation due now that no node has claimed yet: it is about to run.
fn state_name(st: &RotationState, now: Timestamp) -> &'static str {
    let now_ms = now.millis();
    match &st.run {
        None if st.enabled && st.next_rotation.is_some_and(|n| n <= now_ms) => "running",
        None => "idle",
        Some(run) if st.leased(now) || run.next_attempt <= now_ms => "running",
        Some(run) if run.waiting => "waiting",
        Some(_) => "retrying",
    }
}

impl Core {
    /// The rotating secrets of the caller's scope that it may describe, with their state.
    fn visible_rotations(
        &self,
        ctx: &RequestContext,
    ) -> Result<Vec<(SecretRecord, RotationState)>, CoreError> {
        let prefix = format!(
            "arn:aws:secretsmanager:{}:{}:secret:",
            ctx.region.as_str(),
            ctx.principal.account.as_str()
        );
        let policies = self.caller_policies(ctx)?;
        let mut out = Vec::new();
        for (arn, _) in self.store.rotating_secrets()? {
            if !arn.starts_with(&prefix) {
                continue;
            }
            let Some(record) = self.store.find_secret_by_arn(&arn)? else {
                continue;
            };
            let may = Self::may_on_secret(
                ctx,
                &policies,
                &record,
                &Access::to(SecretsOperation::DescribeSecret),
            );
            if let (true, Some(st)) = (may, RotationState::of(&record)) {
                out.push((record, st));
            }
        }
        Ok(out)
    }

    pub fn rotation_list_status(
        &self,
        ctx: &RequestContext,
        _req: Validated<ListRotationStatusRequest>,
    ) -> Result<ListRotationStatusResponse, CoreError> {
        self.authorize_rotator(ctx, Operation::ListRotationStatus, None)?;
        let rotations = self
            .visible_rotations(ctx)?
            .into_iter()
            .map(|(record, st)| RotationStatus {
                arn: record.arn.clone(),
                name: record.name.clone(),
                rotation_enabled: st.enabled,
                rotation_lambda_arn: st.lambda_arn.clone(),
                last_rotated_date: st.last_rotated.map(Timestamp::from_millis),
                next_rotation_date: st
                    .next_rotation_date
                    .filter(|_| st.enabled)
                    .map(Timestamp::from_millis),
                pending_version_id: st.run.as_ref().map(|r| r.token.clone()),
                state: state_name(&st, ctx.now).to_owned(),
                last_result: st.last_result.clone(),
                last_error: st.last_error.clone(),
                attempts: st.run.as_ref().map(|r| r.attempts),
            })
            .collect();
        Ok(ListRotationStatusResponse { rotations })
    }

    pub fn rotation_run_due(
        &self,
        ctx: &RequestContext,
        req: Validated<RunDueRotationsRequest>,
    ) -> Result<RunDueRotationsResponse, CoreError> {
        self.authorize_rotator(ctx, Operation::RunDueRotations, None)?;
        let now = ctx.now;
        let as_of = match req.as_of {
            Some(secs) if secs.is_finite() => {
                let at = Timestamp::from_millis((secs * 1000.0) as i64);
                if at.millis() < now.millis() {
                    now
                } else {
                    at
                }
            }
            Some(_) => {
                return Err(CoreError::InvalidParameter(
                    "AsOf must be a time in epoch seconds.".to_owned(),
                ))
            }
            None => now,
        };
        let policies = self.caller_policies(ctx)?;
        let mut arns = Vec::new();
        for (record, _) in self.visible_rotations(ctx)? {
            // Making a rotation due is rotating it: the caller must be allowed that too.
            if !Self::may_on_secret(
                ctx,
                &policies,
                &record,
                &Access::to(SecretsOperation::RotateSecret),
            ) {
                continue;
            }
            let made_due =
                self.write_secret(&record.arn, |txn| {
                    let Some(mut st) = RotationState::of(&txn.record) else {
                        return Ok::<_, CoreError>(false);
                    };
                    if !st.due(as_of) {
                        return Ok(false);
                    }
                    let now_ms = now.millis();
                    let as_of_ms = as_of.millis();
                    match st.run.as_mut() {
                        Some(run) => run.next_attempt = run.next_attempt.min(now_ms),
                        None => {
                            if st.enabled {
                                st.next_rotation = st.next_rotation.map(|n| {
                                    if n <= as_of_ms {
                                        n.min(now_ms)
                                    } else {
                                        n
                                    }
                                });
                            }
                            for r in st.revocations.iter_mut().filter(|r| r.due <= as_of_ms) {
                                r.due = r.due.min(now_ms);
                            }
                        }
                    }
                    st.store(&mut txn.record);
                    Ok(true)
                })?;
            if made_due {
                arns.push(record.arn);
            }
        }
        if !arns.is_empty() {
            self.rotation_wakeup.notify_one();
        }
        Ok(RunDueRotationsResponse { arns })
    }

    /// Refuse to register or run command rotators (a command runs as the server's OS user,
    /// so a server may forbid them and keep to webhooks and built-ins).
    pub fn disable_command_rotators(&self) {
        self.command_rotators
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether command rotators may be registered and run.
    pub fn command_rotators_allowed(&self) -> bool {
        self.command_rotators
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Woken when a rotation becomes due now (RotateSecret, RunDueRotations): the scheduler
    /// waits on it between its ticks.
    pub fn rotation_wakeup(&self) -> &tokio::sync::Notify {
        &self.rotation_wakeup
    }
}
