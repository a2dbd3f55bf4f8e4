//! AWS's standard four-step rotation function, ported: what every built-in rotator does the
//! same way, with the provider-specific calls left to a [`KeyTester`] / [`KeyIssuer`].
//!
//! The shape follows the rotation function templates AWS publishes (`lambda_handler` checks the
//! token's stage first, then `create_secret`, `set_secret`, `test_secret`, `finish_secret`):
//! - every step first checks that the token is a version staged for rotation: not listed →
//!   `Secret version <token> has no stage for rotation of secret <arn>.`; already `AWSCURRENT`
//!   → nothing to do; not `AWSPENDING` → `Secret version <token> not set as AWSPENDING for
//!   rotation of secret <arn>.`;
//! - createSecret is idempotent: a pending value already there means a retry, and no second
//!   provider key is made;
//! - finishSecret moves `AWSCURRENT` to the token and names the replaced key for revocation;
//!   retried after the move (token already `AWSCURRENT`), it names the `AWSPREVIOUS` key again,
//!   so an engine stopped between the move and its record still revokes the old key.

use std::collections::BTreeMap;

use tresor_types::SecretBytes;

use super::key_value::{self, KeyValue};
use super::transcript::{Done, Transcript};
use super::{ApiError, SecretsApi};
use crate::http::Client;
use crate::rotator::{Step, StepEvent};

pub(crate) const CURRENT: &str = "AWSCURRENT";
pub(crate) const PENDING: &str = "AWSPENDING";
pub(crate) const PREVIOUS: &str = "AWSPREVIOUS";

/// A key a provider just issued.
pub(crate) struct NewKey {
    pub api_key: SecretBytes,
    pub key_id: String,
}

/// Checks that a key works (testSecret).
pub(crate) trait KeyTester {
    /// `Ok` with the step's summary when the provider accepts `key`.
    async fn test_key(
        &self,
        client: &Client,
        log: &mut Transcript,
        key: &SecretBytes,
    ) -> Result<Done, Done>;
}

/// Issues and deletes keys with an admin key (createSecret, revoke).
pub(crate) trait KeyIssuer: KeyTester {
    /// Issue a key named `name`.
    async fn create_key(
        &self,
        client: &Client,
        log: &mut Transcript,
        admin: &SecretBytes,
        name: &str,
    ) -> Result<NewKey, Done>;

    /// Delete `key_id`; a key already gone counts as deleted. `step` names the caller.
    async fn delete_key(
        &self,
        client: &Client,
        log: &mut Transcript,
        admin: &SecretBytes,
        key_id: &str,
        step: &str,
    ) -> Result<Done, Done>;
}

/// Where the token stands.
pub(crate) enum Staged {
    /// `AWSPENDING`: the step has work to do.
    Pending(BTreeMap<String, Vec<String>>),
    /// Already `AWSCURRENT`: the step has nothing to do (a retried finishSecret still names
    /// the replaced key, see [`finish_retried`]).
    Current(BTreeMap<String, Vec<String>>),
}

/// The stage check every step starts with.
pub(crate) async fn check_stage(api: &dyn SecretsApi, event: &StepEvent) -> Result<Staged, Done> {
    let step = event.step.as_str();
    let token = &event.client_request_token;
    let arn = &event.secret_id;
    let versions = api
        .stages(arn)
        .await
        .map_err(|e| api_failure(step, "DescribeSecret", &e))?;
    let stages = versions.get(token.as_str()).filter(|s| !s.is_empty());
    let Some(stages) = stages else {
        return Err(Done::failed(format!(
            "Secret version {token} has no stage for rotation of secret {arn}."
        )));
    };
    if stages.iter().any(|s| s == CURRENT) {
        return Ok(Staged::Current(versions));
    }
    if !stages.iter().any(|s| s == PENDING) {
        return Err(Done::failed(format!(
            "Secret version {token} not set as AWSPENDING for rotation of secret {arn}."
        )));
    }
    Ok(Staged::Pending(versions))
}

/// The step's answer when the token is already `AWSCURRENT`.
pub(crate) fn already_current(event: &StepEvent) -> Done {
    Done::ok(format!(
        "{}: version {} is already AWSCURRENT: nothing to do",
        event.step.as_str(),
        event.client_request_token
    ))
}

/// A Secrets Manager call that failed, as a step's failure.
pub(crate) fn api_failure(step: &str, operation: &str, e: &ApiError) -> Done {
    Done::failed(format!(
        "{step}: {operation} failed: {}: {}",
        e.code, e.message
    ))
}

/// The pending version's value, if it has one.
pub(crate) async fn pending_value(
    api: &dyn SecretsApi,
    event: &StepEvent,
) -> Result<Option<SecretBytes>, Done> {
    api.value(
        &event.secret_id,
        Some(&event.client_request_token),
        Some(PENDING),
    )
    .await
    .map_err(|e| api_failure(event.step.as_str(), "GetSecretValue (AWSPENDING)", &e))
}

/// The admin key: `AWSCURRENT` of `admin_secret_id`, plain text or JSON with `api_key`.
pub(crate) async fn admin_key(
    api: &dyn SecretsApi,
    admin_secret_id: &str,
    step: &str,
    log: &mut Transcript,
) -> Result<SecretBytes, Done> {
    let value = api
        .value(admin_secret_id, None, Some(CURRENT))
        .await
        .map_err(|e| api_failure(step, "GetSecretValue (admin key)", &e))?
        .ok_or_else(|| {
            Done::failed(format!(
                "{step}: the admin key secret {admin_secret_id} has no AWSCURRENT value"
            ))
        })?;
    log.redact(&value);
    let key = key_value::parse(&value).map_err(|bad| {
        Done::failed(format!(
            "{step}: the admin key secret {admin_secret_id}'s value {}",
            bad.describe()
        ))
    })?;
    log.redact(&key.api_key);
    Ok(key.api_key)
}

/// createSecret with a provider that issues keys.
pub(crate) async fn create_secret<P: KeyIssuer>(
    provider: &P,
    admin_secret_id: &str,
    api: &dyn SecretsApi,
    client: &Client,
    event: &StepEvent,
    log: &mut Transcript,
) -> Result<Done, Done> {
    const STEP: &str = "createSecret";
    if pending_value(api, event).await?.is_some() {
        return Ok(Done::ok(
            "createSecret: the pending version already has a value: no new key made",
        ));
    }
    let admin = admin_key(api, admin_secret_id, STEP, log).await?;
    let name = key_name(&event.secret_id, &event.client_request_token);
    let new = provider.create_key(client, log, &admin, &name).await?;
    log.redact(&new.api_key);
    let value = key_value::render(&new.api_key, &new.key_id)
        .map_err(|_| Done::failed("createSecret: the provider's new key is not text"));
    let (put, value) = match value {
        Ok(value) => {
            log.redact(&value);
            let put = api
                .put_pending(&event.secret_id, &event.client_request_token, value.clone())
                .await
                .map_err(|e| api_failure(STEP, "PutSecretValue (AWSPENDING)", &e));
            (put, Some(value))
        }
        Err(failed) => (Err(failed), None),
    };
    let created = format!(
        "createSecret: created provider key {} and put it as AWSPENDING",
        new.key_id
    );
    let Err(mut failed) = put else {
        return Ok(Done::ok(created));
    };
    // The put failed, or its answer was lost: what the pending version holds now decides.
    let held = match &value {
        Some(_) => pending_value(api, event).await,
        None => Ok(None),
    };
    match held {
        Ok(Some(held)) if Some(&held) == value.as_ref() => {
            log.note(&failed.summary);
            Ok(Done::ok(created + " (the put's error was not its outcome)"))
        }
        Ok(_) => {
            // The key is in no secret: delete it rather than leave a live key nobody holds.
            let deleted = provider
                .delete_key(client, log, &admin, &new.key_id, STEP)
                .await;
            failed.summary.push_str(match deleted {
                Ok(_) => "; the new provider key was deleted",
                Err(_) => "; deleting the new provider key failed too",
            });
            Err(failed)
        }
        Err(_) => {
            // Whether the key is in the pending version is unknown: deleting it could leave a
            // pending value that can never pass testSecret. Keep it, and say which it is.
            failed.summary.push_str(&format!(
                "; provider key {} was kept: whether the put succeeded is unknown",
                new.key_id
            ));
            Err(failed)
        }
    }
}

/// testSecret: the pending key, tried at the provider.
pub(crate) async fn test_secret<T: KeyTester>(
    tester: &T,
    api: &dyn SecretsApi,
    client: &Client,
    event: &StepEvent,
    log: &mut Transcript,
) -> Result<Done, Done> {
    let value = pending_value(api, event)
        .await?
        .ok_or_else(|| Done::failed("testSecret: the pending version has no value"))?;
    log.redact(&value);
    let key = pending_key(&value)?;
    log.redact(&key.api_key);
    tester.test_key(client, log, &key.api_key).await
}

fn pending_key(value: &SecretBytes) -> Result<KeyValue, Done> {
    key_value::parse(value)
        .map_err(|bad| Done::failed(format!("testSecret: the pending value {}", bad.describe())))
}

/// finishSecret: `AWSCURRENT` to the token; with `revoke`, the replaced value's `key_id` is
/// named for revocation after the grace period.
pub(crate) async fn finish_secret(
    api: &dyn SecretsApi,
    event: &StepEvent,
    versions: &BTreeMap<String, Vec<String>>,
    revoke: bool,
    log: &mut Transcript,
) -> Result<Done, Done> {
    const STEP: &str = "finishSecret";
    let token = &event.client_request_token;
    let current = versions
        .iter()
        .find(|(_, stages)| stages.iter().any(|s| s == CURRENT))
        .map(|(version, _)| version.as_str());
    if current == Some(token.as_str()) {
        return finish_retried(api, event, versions, revoke, log).await;
    }
    // Read the replaced key's id before the move: a failure here leaves everything as it was.
    let replaced = match current {
        Some(version) if revoke => replaced_key_id(api, event, version, CURRENT, log).await?,
        _ => None,
    };
    api.promote(&event.secret_id, token)
        .await
        .map_err(|e| api_failure(STEP, "UpdateSecretVersionStage", &e))?;
    let mut summary = match current {
        Some(old) => format!("finishSecret: AWSCURRENT moved from version {old} to {token}"),
        None => format!("finishSecret: AWSCURRENT set on version {token}"),
    };
    match (&replaced, revoke) {
        (Some(id), _) => summary.push_str(&format!(
            "; provider key {id} is revoked after the grace period"
        )),
        (None, true) => summary.push_str("; the replaced value names no provider key to revoke"),
        (None, false) => {}
    }
    let mut done = Done::ok(summary);
    done.revoke_later = replaced;
    Ok(done)
}

/// finishSecret when the token is already `AWSCURRENT`: a retry after the move (the engine may
/// have stopped before recording the outcome). Nothing moves; with `revoke`, the key of the
/// version the move made `AWSPREVIOUS` is named again, so it is still revoked.
pub(crate) async fn finish_retried(
    api: &dyn SecretsApi,
    event: &StepEvent,
    versions: &BTreeMap<String, Vec<String>>,
    revoke: bool,
    log: &mut Transcript,
) -> Result<Done, Done> {
    let mut done = already_current(event);
    let previous = versions
        .iter()
        .find(|(_, stages)| stages.iter().any(|s| s == PREVIOUS))
        .map(|(version, _)| version.as_str());
    if let (Some(version), true) = (previous, revoke) {
        done.revoke_later = replaced_key_id(api, event, version, PREVIOUS, log).await?;
        if let Some(id) = &done.revoke_later {
            done.summary.push_str(&format!(
                "; provider key {id} (AWSPREVIOUS) is revoked after the grace period"
            ));
        }
    }
    Ok(done)
}

/// The `key_id` of `version`'s value (`label` names it in errors), if it records one.
async fn replaced_key_id(
    api: &dyn SecretsApi,
    event: &StepEvent,
    version: &str,
    label: &str,
    log: &mut Transcript,
) -> Result<Option<String>, Done> {
    let value = api
        .value(&event.secret_id, Some(version), None)
        .await
        .map_err(|e| {
            api_failure(
                event.step.as_str(),
                &format!("GetSecretValue ({label})"),
                &e,
            )
        })?;
    let Some(value) = value else {
        return Ok(None);
    };
    log.redact(&value);
    Ok(key_value::parse(&value).ok().and_then(|k| {
        log.redact(&k.api_key);
        k.key_id
    }))
}

/// One step of a rotator that issues keys, the token being `AWSPENDING` (`versions` from the
/// stage check).
pub(crate) async fn issued_step<P: KeyIssuer>(
    provider: &P,
    admin_secret_id: &str,
    api: &dyn SecretsApi,
    client: &Client,
    event: &StepEvent,
    versions: &BTreeMap<String, Vec<String>>,
    log: &mut Transcript,
) -> Result<Done, Done> {
    match event.step {
        Step::CreateSecret => {
            create_secret(provider, admin_secret_id, api, client, event, log).await
        }
        Step::SetSecret => Ok(Done::ok(
            "setSecret: nothing to install: the provider key is live once created",
        )),
        Step::TestSecret => test_secret(provider, api, client, event, log).await,
        Step::FinishSecret => finish_secret(api, event, versions, true, log).await,
    }
}

/// revoke: delete `key_id` with the admin key.
pub(crate) async fn revoke<P: KeyIssuer>(
    provider: &P,
    admin_secret_id: &str,
    api: &dyn SecretsApi,
    client: &Client,
    key_id: &str,
    log: &mut Transcript,
) -> Result<Done, Done> {
    let admin = admin_key(api, admin_secret_id, "revoke", log).await?;
    provider
        .delete_key(client, log, &admin, key_id, "revoke")
        .await
}

/// `tresor-<secret name>-<first 8 characters of the token>`: findable at the provider.
pub(crate) fn key_name(secret_id: &str, token: &str) -> String {
    let name = match secret_id.rsplit_once(":secret:") {
        // An ARN ends in the name and AWS's `-` + six random characters.
        Some((_, tail)) => match tail.rsplit_once('-') {
            Some((name, suffix)) if suffix.len() == 6 && !name.is_empty() => name,
            _ => tail,
        },
        None => secret_id,
    };
    let short: String = token.chars().take(8).collect();
    format!("tresor-{name}-{short}")
}

/// The summary and transcript line for a provider answer that is not a success.
pub(crate) fn refused(
    step: &str,
    what: &str,
    status: u16,
    body: &[u8],
    log: &mut Transcript,
) -> Done {
    log.answer(what, status, body);
    Done::failed(format!("{step}: {what} answered HTTP {status}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_key_name_uses_the_secret_name_and_a_short_token() {
        assert_eq!(
            key_name(
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/openai-AbCdEf",
                "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
            ),
            "tresor-prod/openai-0f1e2d3c"
        );
        assert_eq!(key_name("plain-name", "abc"), "tresor-plain-name-abc");
    }
}
