//! Built-in rotators for AI providers' keys.
//!
//! TO BUILD (helper): see the brief.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tresor_types::SecretBytes;

use crate::http::Client;
use crate::rotator::{StepEvent, StepReport};

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
        let _ = (api, client, event);
        todo!("helper")
    }

    /// Revoke (delete or deactivate) a provider key a rotation replaced, once its grace period
    /// is over.
    pub async fn revoke(&self, api: &dyn SecretsApi, client: &Client, key_id: &str) -> StepReport {
        let _ = (api, client, key_id);
        todo!("helper")
    }

    pub fn grace_period(&self) -> Duration {
        match self {
            Self::OpenAi(c) => c.grace_period,
            Self::OpenRouter(c) => c.grace_period,
            Self::Manual(c) => c.grace_period,
        }
    }
}
