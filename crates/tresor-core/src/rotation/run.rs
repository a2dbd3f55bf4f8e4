//! What the engine asks of the core while it runs rotations: which are due
//! ([`Core::rotations_due`]), the claim on one ([`Core::claim_rotation`]: one node at a time,
//! by a lease in the secret's row), credentials for its rotator's role, each step's report
//! ([`Core::rotation_step`], which renews the lease and appends the rotator's log), and how it
//! ended ([`Core::finish_rotation`]). Every change is one transaction with its audit record.
//!
//! A node that dies mid-rotation leaves the run with a lease that runs out; another node's
//! scheduler then claims it and runs the steps again from `createSecret`, with the same token
//! (the steps of a rotation function are written to be run again).

use tresor_store::{
    IdentityStore, RotationStore, RotatorLogRecord, SecretRecord, Store, VersionMeta,
};
use tresor_types::{SecretBytes, Timestamp};

use super::events::{event, RotationEvent};
use super::rotators::ResolvedRotator;
use super::state::{self, Lease, Revocation, RotationState, Run};
use crate::secretsmanager::{AWSCURRENT, AWSPENDING};
use crate::{Core, CoreError};

/// How long past a step's timeout a claim holds, for the report to arrive.
const LEASE_MARGIN_MS: i64 = 10_000;
/// Retries of a failed rotation, before it waits for its next window.
const MAX_ATTEMPTS: u32 = 5;
/// The first retry waits this long; each next one twice as long.
const FIRST_BACKOFF_MS: i64 = 30_000;
/// How often a manual rotation checks whether its new value arrived.
const WAITING_RECHECK_MS: i64 = 30_000;
/// How long a revocation waits after it failed, before it is tried again.
const REVOCATION_RETRY_MS: i64 = 300_000;
/// Revocations tried before they are given up (and the failure kept in `LastError`).
const MAX_REVOCATION_ATTEMPTS: u32 = 5;

/// A rotation one node now runs.
pub struct Claim {
    pub secret_arn: String,
    pub secret_name: String,
    pub account: String,
    pub region: String,
    /// The pending version's id.
    pub token: String,
    /// The `RotationToken` the rotator receives.
    pub rotation_token: SecretBytes,
    /// Only `testSecret` runs.
    pub test_only: bool,
    pub attempt: u32,
    pub node: String,
    pub rotator: ResolvedRotator,
    /// How long each step may take.
    pub step_timeout: std::time::Duration,
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim")
            .field("secret_arn", &self.secret_arn)
            .field("token", &self.token)
            .field("attempt", &self.attempt)
            .field("rotator", &self.rotator.record.arn)
            .finish_non_exhaustive()
    }
}

/// What a claim is for.
#[derive(Debug)]
pub enum Claimed {
    /// Run the steps of a rotation.
    Rotation(Box<Claim>),
    /// Revoke provider keys whose grace period ended, with the rotator that issued them.
    Revocations {
        secret_arn: String,
        account: String,
        revocations: Vec<(Revocation, ResolvedRotator)>,
    },
}

/// How a rotation's run ended, as the engine reports it.
#[derive(Debug, Clone)]
pub enum Finish {
    /// Every step succeeded. `revoke_later`: a built-in rotator's key id of the key replaced.
    Succeeded { revoke_later: Option<String> },
    /// A step failed (or timed out): `summary` says how, without any output.
    Failed { summary: String },
    /// A manual rotation is waiting for its new value.
    Waiting,
}

/// One step's report, for the rotator's log.
pub struct StepLog {
    pub step: String,
    pub outcome: String,
    pub summary: String,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub duration: std::time::Duration,
}

/// Temporary credentials of a rotator's role.
pub struct RotatorCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretBytes,
    pub session_token: SecretBytes,
    pub expiration: Timestamp,
}

impl std::fmt::Debug for RotatorCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatorCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

fn rotation_token(core: &Core, arn: &str, token: &str) -> SecretBytes {
    use base64::Engine as _;
    let mac = core.keyring.rotation_token(arn, token);
    SecretBytes::from_slice(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(mac)
            .as_bytes(),
    )
}

/// A version with no value yet: the pending version RotateSecret (or the scheduler) creates
/// before the rotator runs, which its `createSecret` fills with `PutSecretValue`.
pub(crate) fn empty_version(token: &str, now: Timestamp) -> VersionMeta {
    VersionMeta {
        version_id: token.to_owned(),
        stages: vec![AWSPENDING.to_owned()],
        created: now,
        last_accessed: None,
        value_digest: Vec::new(),
        kms_key_id: String::new(),
    }
}

/// Whether a version has no value (a pending version not filled yet).
pub fn is_empty_version(v: &VersionMeta) -> bool {
    v.value_digest.is_empty()
}

/// Put AWSPENDING on a new empty version `token`, taking the label from any other version.
pub(crate) fn add_pending_version(txn: &mut tresor_store::SecretTxn, token: &str, now: Timestamp) {
    if txn.record.version(token).is_none() {
        txn.add_version(empty_version(token, now), Vec::new());
    }
    crate::secretsmanager::write::move_stages(&mut txn.record, token, &[AWSPENDING.to_owned()]);
}

/// Take AWSPENDING off every version; remove `drop_empty` if it has no value and no label.
fn clear_pending(txn: &mut tresor_store::SecretTxn, drop_empty: Option<&str>) {
    for v in txn.record.versions.iter_mut() {
        v.stages.retain(|s| s != AWSPENDING);
    }
    if let Some(id) = drop_empty {
        let unused = txn
            .record
            .version(id)
            .is_some_and(|v| is_empty_version(v) && v.stages.is_empty());
        if unused {
            txn.remove_version(id);
        }
    }
}

/// Whether `run` is the claim's rotation and its lease is still the claim's node's.
fn holds(run: &Run, claim: &Claim) -> bool {
    run.token == claim.token && run.lease.as_ref().is_some_and(|l| l.owner == claim.node)
}

/// A rotator's log entry for `log`.
fn log_record(
    account: &str,
    rotator_arn: &str,
    secret_arn: &str,
    version_id: &str,
    log: StepLog,
    now: Timestamp,
) -> Result<RotatorLogRecord, CoreError> {
    Ok(RotatorLogRecord {
        account: tresor_types::AccountId::parse(account)
            .map_err(|_| CoreError::Internal("a rotation's account is malformed".to_owned()))?,
        rotator_arn: rotator_arn.to_owned(),
        secret_arn: secret_arn.to_owned(),
        version_id: version_id.to_owned(),
        step: log.step,
        time: now,
        outcome: log.outcome,
        summary: log.summary,
        stdout: log.stdout,
        stderr: log.stderr,
        duration_ms: log.duration.as_millis().min(i64::MAX as u128) as i64,
    })
}

/// Keep a failed run for its retry: with backoff, at most [`MAX_ATTEMPTS`] times, then at
/// the next window (AWSPENDING stays, as AWS leaves it).
fn after_failure(st: &mut RotationState, run: Run, summary: String, now: Timestamp) {
    let now_ms = now.millis();
    let next_attempt = if run.attempts < MAX_ATTEMPTS {
        now_ms + backoff(run.attempts)
    } else {
        st.next_window_start(now).unwrap_or(now_ms + 86_400_000)
    };
    let attempts = if run.attempts < MAX_ATTEMPTS {
        run.attempts
    } else {
        0
    };
    st.last_result = Some(state::FAILED.to_owned());
    st.last_error = Some(summary);
    st.run = Some(Run {
        attempts,
        next_attempt,
        lease: None,
        waiting: false,
        ..run
    });
}

fn backoff(attempts: u32) -> i64 {
    FIRST_BACKOFF_MS.saturating_mul(1 << attempts.saturating_sub(1).min(10))
}

impl Core {
    /// The secrets with something due at `now`, of every account and region.
    pub fn rotations_due(&self, now: Timestamp) -> Result<Vec<String>, CoreError> {
        Ok(self
            .store
            .rotating_secrets()?
            .into_iter()
            .filter(|(_, json)| {
                serde_json::from_str::<RotationState>(json).is_ok_and(|s| s.due(now))
            })
            .map(|(arn, _)| arn)
            .collect())
    }

    /// Claim what is due on `arn` for `node`, if it still is (another node may have claimed
    /// it, or a caller cancelled it). A rotation whose rotator is gone fails here.
    pub fn claim_rotation(
        &self,
        arn: &str,
        node: &str,
        now: Timestamp,
    ) -> Result<Option<Claimed>, CoreError> {
        enum Took {
            Nothing,
            Run {
                run: Run,
                rotator: Box<ResolvedRotator>,
                record: Box<SecretRecord>,
            },
            Revocations(Vec<Revocation>, Box<SecretRecord>),
        }
        let took = self.atomically(|| {
            let mut events = Vec::new();
            let result = self.write_secret(arn, |txn| {
                if txn.record.deletion.is_some() {
                    return Ok(Took::Nothing);
                }
                let Some(mut st) = RotationState::of(&txn.record) else {
                    return Ok(Took::Nothing);
                };
                if !st.due(now) {
                    return Ok(Took::Nothing);
                }
                let now_ms = now.millis();
                if st.run.is_none()
                    && !(st.enabled && st.next_rotation.is_some_and(|n| n <= now_ms))
                {
                    // Only revocations are due.
                    let (due, later): (Vec<_>, Vec<_>) =
                        st.revocations.drain(..).partition(|r| r.due <= now_ms);
                    st.revocations = later;
                    st.store(&mut txn.record);
                    return Ok(Took::Revocations(due, Box::new(txn.record.clone())));
                }
                let lambda_arn = st.lambda_arn.clone().unwrap_or_default();
                let rotator = self.resolve_rotator(&lambda_arn)?;
                let mut run = match st.run.take() {
                    Some(run) => run,
                    None => {
                        // A scheduled rotation: its pending version first. A version someone
                        // left AWSPENDING on is the rotation to finish.
                        let token = state::pending_elsewhere(&txn.record)
                            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                        add_pending_version(txn, &token, now);
                        Run {
                            token,
                            started: now_ms,
                            attempts: 0,
                            next_attempt: now_ms,
                            ..Run::default()
                        }
                    }
                };
                let Some(rotator) = rotator else {
                    run.attempts += 1;
                    let summary = format!("the rotator {lambda_arn} is not registered");
                    events.push(event(
                        RotationEvent::Failed,
                        &txn.record,
                        &run.token,
                        serde_json::json!({ "Attempt": run.attempts, "Summary": summary }),
                        now,
                    ));
                    after_failure(&mut st, run, summary, now);
                    st.store(&mut txn.record);
                    return Ok(Took::Nothing);
                };
                if !run.waiting {
                    run.attempts += 1;
                    events.push(event(
                        RotationEvent::Started,
                        &txn.record,
                        &run.token,
                        serde_json::json!({
                            "Attempt": run.attempts,
                            "RotationLambdaARN": lambda_arn,
                            "RotateImmediately": !run.test_only,
                        }),
                        now,
                    ));
                }
                let timeout_ms = rotator.config.step_timeout_seconds.saturating_mul(1000);
                run.lease = Some(Lease {
                    owner: node.to_owned(),
                    until: now_ms + timeout_ms + LEASE_MARGIN_MS,
                });
                st.run = Some(run.clone());
                st.store(&mut txn.record);
                Ok::<_, CoreError>(Took::Run {
                    run,
                    rotator: Box::new(rotator),
                    record: Box::new(txn.record.clone()),
                })
            });
            let took = match result {
                Ok(t) => t,
                Err(CoreError::ResourceNotFound(_)) => Took::Nothing,
                Err(e) => return Err(e),
            };
            for e in events {
                self.audit_event_in_transaction(e)?;
            }
            Ok(took)
        })?;
        match took {
            Took::Nothing => Ok(None),
            Took::Revocations(due, record) => {
                let mut revocations = Vec::new();
                for r in due {
                    match self.resolve_rotator(&r.rotator_arn)? {
                        Some(rotator) => revocations.push((r, rotator)),
                        None => tracing::warn!(
                            secret = %record.arn,
                            "a replaced provider key was not revoked: its rotator is gone"
                        ),
                    }
                }
                if revocations.is_empty() {
                    return Ok(None);
                }
                Ok(Some(Claimed::Revocations {
                    secret_arn: record.arn.clone(),
                    account: record.scope.account.as_str().to_owned(),
                    revocations,
                }))
            }
            Took::Run {
                run,
                rotator,
                record,
            } => Ok(Some(Claimed::Rotation(Box::new(Claim {
                rotation_token: rotation_token(self, &record.arn, &run.token),
                secret_arn: record.arn.clone(),
                secret_name: record.name.clone(),
                account: record.scope.account.as_str().to_owned(),
                region: record.scope.region.as_str().to_owned(),
                token: run.token,
                test_only: run.test_only,
                attempt: run.attempts,
                node: node.to_owned(),
                step_timeout: std::time::Duration::from_secs(
                    rotator.config.step_timeout_seconds.max(1) as u64,
                ),
                rotator: *rotator,
            })))),
        }
    }

    /// Short-lived credentials of a rotator's role: a session named after what it is for
    /// (`label`: the rotation's token, or a revocation), lasting a whole rotation.
    pub fn rotator_credentials(
        &self,
        rotator: &ResolvedRotator,
        label: &str,
        now: Timestamp,
    ) -> Result<RotatorCredentials, CoreError> {
        let role_arn = &rotator.config.role_arn;
        let Some((account, "role", _, role_name)) = crate::iam::format::parse_iam_arn(role_arn)
        else {
            return Err(CoreError::InvalidRequest(format!(
                "the rotator's role {role_arn} is not a role ARN"
            )));
        };
        let account = tresor_types::AccountId::parse(account)
            .map_err(|_| CoreError::InvalidRequest(format!("bad account in {role_arn}")))?;
        let role = self
            .store
            .get_role(&account, role_name)?
            .filter(|r| &r.arn == role_arn)
            .ok_or_else(|| {
                CoreError::InvalidRequest(format!("the rotator's role {role_arn} does not exist"))
            })?;
        // Four steps and some slack; never less than STS's minimum.
        let duration = (rotator.config.step_timeout_seconds * 4 + 300).clamp(900, 43_200);
        let session_name: String = format!("tresor-rotation-{label}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(*c))
            .take(64)
            .collect();
        let issued = self.issue_session(&role, &session_name, None, duration, now)?;
        Ok(RotatorCredentials {
            access_key_id: issued.access_key_id,
            secret_access_key: issued.secret_access_key,
            session_token: issued.session_token,
            expiration: issued.expires,
        })
    }

    /// Record a step's report in the rotator's log and renew the claim for the next step.
    /// `false`: the claim no longer holds (cancelled, abandoned, or taken over), so stop.
    pub fn rotation_step(
        &self,
        claim: &Claim,
        log: StepLog,
        now: Timestamp,
    ) -> Result<bool, CoreError> {
        self.store.append_rotator_log(&log_record(
            &claim.account,
            &claim.rotator.record.arn,
            &claim.secret_arn,
            &claim.token,
            log,
            now,
        )?)?;
        let lease_ms = claim.step_timeout.as_millis() as i64 + LEASE_MARGIN_MS;
        let held = self.write_secret(&claim.secret_arn, |txn| {
            let Some(mut st) = RotationState::of(&txn.record) else {
                return Ok::<_, CoreError>(false);
            };
            let Some(run) = st.run.as_mut() else {
                return Ok(false);
            };
            if !holds(run, claim) {
                return Ok(false);
            }
            run.lease = Some(Lease {
                owner: claim.node.clone(),
                until: now.millis() + lease_ms,
            });
            st.store(&mut txn.record);
            Ok(true)
        });
        match held {
            Err(CoreError::ResourceNotFound(_)) => Ok(false),
            other => other,
        }
    }

    /// Record how the claimed run ended: success clears AWSPENDING and sets the dates; a
    /// failure keeps AWSPENDING and schedules a retry with backoff. `false` if the claim no
    /// longer held (nothing was changed).
    pub fn finish_rotation(
        &self,
        claim: &Claim,
        finish: Finish,
        now: Timestamp,
    ) -> Result<bool, CoreError> {
        self.atomically(|| {
            let mut events = Vec::new();
            let result = self.write_secret(&claim.secret_arn, |txn| {
                let Some(mut st) = RotationState::of(&txn.record) else {
                    return Ok::<_, CoreError>(false);
                };
                let Some(run) = st.run.take() else {
                    return Ok(false);
                };
                if !holds(&run, claim) {
                    return Ok(false);
                }
                let finish = match finish.clone() {
                    Finish::Succeeded { .. } if !claim.test_only => {
                        let promoted = txn
                            .record
                            .version(&run.token)
                            .is_some_and(|v| v.stages.iter().any(|s| s == AWSCURRENT));
                        if promoted {
                            finish.clone()
                        } else {
                            Finish::Failed {
                                summary:
                                    "finishSecret did not move AWSCURRENT to the pending version"
                                        .to_owned(),
                            }
                        }
                    }
                    other => other,
                };
                match finish {
                    Finish::Succeeded { revoke_later } => {
                        clear_pending(txn, Some(&run.token));
                        st.last_error = None;
                        if !claim.test_only {
                            st.last_rotated = Some(now.millis());
                            st.last_result = Some(state::SUCCEEDED.to_owned());
                            st.schedule_from(now);
                            if let Some(key_id) = revoke_later {
                                st.revocations.push(Revocation {
                                    rotator_arn: claim.rotator.record.arn.clone(),
                                    key_id,
                                    due: now.millis()
                                        + claim.rotator.config.grace_period_seconds * 1000,
                                    attempts: 0,
                                });
                            }
                        }
                        events.push(event(
                            RotationEvent::Succeeded,
                            &txn.record,
                            &run.token,
                            serde_json::json!({
                                "Attempt": run.attempts,
                                "RotateImmediately": !claim.test_only,
                            }),
                            now,
                        ));
                    }
                    Finish::Failed { summary } => {
                        events.push(event(
                            RotationEvent::Failed,
                            &txn.record,
                            &run.token,
                            serde_json::json!({ "Attempt": run.attempts, "Summary": summary }),
                            now,
                        ));
                        if claim.test_only {
                            clear_pending(txn, Some(&run.token));
                            st.last_error = Some(summary);
                        } else {
                            after_failure(&mut st, run, summary, now);
                        }
                    }
                    Finish::Waiting => {
                        st.run = Some(Run {
                            waiting: true,
                            lease: None,
                            next_attempt: now.millis() + WAITING_RECHECK_MS,
                            ..run
                        });
                    }
                }
                st.store(&mut txn.record);
                Ok(true)
            });
            let done = match result {
                Err(CoreError::ResourceNotFound(_)) => false,
                other => other?,
            };
            for e in events {
                self.audit_event_in_transaction(e)?;
            }
            Ok(done)
        })
    }

    /// Put back a revocation that failed, to try again later (or give it up, keeping why).
    pub fn revocation_failed(
        &self,
        secret_arn: &str,
        mut revocation: Revocation,
        summary: String,
        now: Timestamp,
    ) -> Result<(), CoreError> {
        revocation.attempts += 1;
        let result = self.write_secret(secret_arn, |txn| {
            let Some(mut st) = RotationState::of(&txn.record) else {
                return Ok::<_, CoreError>(());
            };
            if revocation.attempts < MAX_REVOCATION_ATTEMPTS {
                revocation.due = now.millis() + REVOCATION_RETRY_MS;
                st.revocations.push(revocation.clone());
            }
            st.last_error = Some(format!(
                "revoking the replaced provider key {}: {summary}",
                revocation.key_id
            ));
            st.store(&mut txn.record);
            Ok(())
        });
        match result {
            Err(CoreError::ResourceNotFound(_)) => Ok(()),
            other => other,
        }
    }

    /// Append a log entry for a revocation (no claim: it is not a rotation's step).
    pub fn log_revocation(
        &self,
        secret_arn: &str,
        account: &str,
        rotator_arn: &str,
        log: StepLog,
        now: Timestamp,
    ) -> Result<(), CoreError> {
        Ok(self.store.append_rotator_log(&log_record(
            account,
            rotator_arn,
            secret_arn,
            "",
            log,
            now,
        )?)?)
    }
}

impl Core {
    /// The principal a rotator's credentials authenticate as (its role's session), for a
    /// built-in rotator's calls, which go through the pipeline without a signed request.
    pub fn rotator_principal(
        &self,
        credentials: &RotatorCredentials,
    ) -> Result<crate::Principal, CoreError> {
        let key = self
            .store
            .get_access_key(&credentials.access_key_id)?
            .ok_or_else(|| CoreError::Internal("the rotator's session is gone".to_owned()))?;
        let session = self.store.get_session(&key.access_key_id)?;
        if session.is_none() {
            return Err(CoreError::Internal(
                "the rotator's key is not a session".to_owned(),
            ));
        }
        self.principal_for(key, session)
    }
}
