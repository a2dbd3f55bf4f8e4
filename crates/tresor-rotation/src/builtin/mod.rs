//! Built-in rotators for AI providers' keys: Rust ports of AWS's standard four-step rotation
//! function (`four_steps`) acting through [`SecretsApi`] as the rotator's role, with the
//! provider calls of `openai`, `openrouter` and `manual`.
//!
//! A rotated secret's value is JSON `{"api_key": "<new key>", "key_id": "<provider id>"}`
//! (`key_value`; a plain-text value is a key with no known id). finishSecret names the replaced
//! key's id in `revoke_later`; the engine calls [`Builtin::revoke`] with it once the grace
//! period is over, so clients still holding `AWSPREVIOUS` keep working until then.
//!
//! Every provider call has a 30 s timeout (`provider_http`). A step's `summary` holds no
//! answer body and no key; answer bodies go to `stderr` (`transcript`) with every key value
//! the step handled replaced by `[REDACTED]`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tresor_types::SecretBytes;

use crate::http::Client;
use crate::rotator::{Step, StepEvent, StepReport};

mod four_steps;
mod key_value;
mod manual;
mod openai;
mod openrouter;
mod provider_http;
mod transcript;

#[cfg(test)]
mod tests;

use four_steps::{already_current, check_stage, finish_retried, issued_step, Staged};
use transcript::Transcript;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An error of a Secrets Manager operation, as AWS names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// `ResourceNotFoundException`, `AccessDeniedException`, …
    pub code: String,
    pub message: String,
}

/// The Secrets Manager operations a built-in rotator uses, performed as the rotator's role
/// (authorized by its policies and audited like any call). The engine implements it over the
/// core; tests implement it in memory.
pub trait SecretsApi: Send + Sync {
    /// `DescribeSecret`'s `VersionIdsToStages`.
    fn stages<'a>(
        &'a self,
        secret_id: &'a str,
    ) -> BoxFuture<'a, Result<BTreeMap<String, Vec<String>>, ApiError>>;
    /// `GetSecretValue` by version id and/or stage (`SecretString`); `Ok(None)` when there is no
    /// such value (`ResourceNotFoundException`, which includes a pending version with no value
    /// yet).
    fn value<'a>(
        &'a self,
        secret_id: &'a str,
        version_id: Option<&'a str>,
        stage: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<SecretBytes>, ApiError>>;
    /// `PutSecretValue` with `ClientRequestToken = token`, `VersionStages = ["AWSPENDING"]`.
    fn put_pending<'a>(
        &'a self,
        secret_id: &'a str,
        token: &'a str,
        value: SecretBytes,
    ) -> BoxFuture<'a, Result<(), ApiError>>;
    /// `UpdateSecretVersionStage`: `AWSCURRENT` to `token`, from the version holding it.
    fn promote<'a>(
        &'a self,
        secret_id: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ApiError>>;
}

/// Which built-in rotator, with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Builtin {
    OpenAi(OpenAiConfig),
    OpenRouter(OpenRouterConfig),
    Manual(ManualConfig),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiConfig {
    /// `https://api.openai.com` (no `/v1`).
    pub base_url: String,
    /// The secret holding the organization admin key.
    pub admin_secret_id: String,
    /// The project whose service account keys are created.
    pub project_id: String,
    /// How long a replaced key keeps working.
    pub grace_period: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRouterConfig {
    /// `https://openrouter.ai` (no `/api/v1`).
    pub base_url: String,
    /// The secret holding the management (provisioning) key.
    pub admin_secret_id: String,
    pub grace_period: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualConfig {
    /// The provider whose key a person rotates: `anthropic` or `openai` (how `testSecret`
    /// calls `GET /v1/models` and how an old key is deactivated).
    pub provider: String,
    /// `https://api.anthropic.com`.
    pub base_url: String,
    /// The secret holding an admin key, if one is configured (the old key is then set
    /// inactive after the grace period).
    pub admin_secret_id: Option<String>,
    pub grace_period: Duration,
}

impl Builtin {
    /// Run one step of the four.
    pub async fn step(
        &self,
        api: &dyn SecretsApi,
        client: &Client,
        event: &StepEvent,
    ) -> StepReport {
        let started = Instant::now();
        let mut log = Transcript::new();
        let done = async {
            let versions = match check_stage(api, event).await? {
                Staged::Current(versions) if event.step == Step::FinishSecret => {
                    return finish_retried(api, event, &versions, self.revokes(), &mut log).await;
                }
                Staged::Current(_) => return Ok(already_current(event)),
                Staged::Pending(versions) => versions,
            };
            match self {
                Self::OpenAi(c) => {
                    let p = openai::OpenAi(c);
                    issued_step(
                        &p,
                        &c.admin_secret_id,
                        api,
                        client,
                        event,
                        &versions,
                        &mut log,
                    )
                    .await
                }
                Self::OpenRouter(c) => {
                    let p = openrouter::OpenRouter(c);
                    issued_step(
                        &p,
                        &c.admin_secret_id,
                        api,
                        client,
                        event,
                        &versions,
                        &mut log,
                    )
                    .await
                }
                Self::Manual(c) => {
                    manual::Manual(c)
                        .step(api, client, event, &versions, &mut log)
                        .await
                }
            }
        }
        .await;
        let done = done.unwrap_or_else(|failed| failed);
        log.report(done, started)
    }

    /// Revoke (delete or deactivate) a provider key a rotation replaced, once its grace period
    /// is over.
    pub async fn revoke(&self, api: &dyn SecretsApi, client: &Client, key_id: &str) -> StepReport {
        let started = Instant::now();
        let mut log = Transcript::new();
        let done = match self {
            Self::OpenAi(c) => {
                let p = openai::OpenAi(c);
                four_steps::revoke(&p, &c.admin_secret_id, api, client, key_id, &mut log).await
            }
            Self::OpenRouter(c) => {
                let p = openrouter::OpenRouter(c);
                four_steps::revoke(&p, &c.admin_secret_id, api, client, key_id, &mut log).await
            }
            Self::Manual(c) => {
                manual::Manual(c)
                    .revoke(api, client, key_id, &mut log)
                    .await
            }
        };
        let done = done.unwrap_or_else(|failed| failed);
        log.report(done, started)
    }

    /// Whether finishSecret names the replaced key for revocation.
    fn revokes(&self) -> bool {
        match self {
            Self::OpenAi(_) | Self::OpenRouter(_) => true,
            Self::Manual(c) => c.admin_secret_id.is_some(),
        }
    }

    pub fn grace_period(&self) -> Duration {
        match self {
            Self::OpenAi(c) => c.grace_period,
            Self::OpenRouter(c) => c.grace_period,
            Self::Manual(c) => c.grace_period,
        }
    }
}
