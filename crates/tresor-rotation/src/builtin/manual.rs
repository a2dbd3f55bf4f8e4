//! The manual rotator, for providers with no key-creation API (Anthropic): createSecret waits
//! (without failing) until a person puts the new key as `AWSPENDING` with the rotation's
//! token; then the key is tested, promoted, and, when an admin key is configured, the replaced
//! key is set inactive after the grace period.
//!
//! Provider calls:
//! - testSecret, `anthropic`: `GET /v1/models` with `x-api-key` and `anthropic-version:
//!   2023-06-01` (<https://docs.claude.com/en/api/models-list>); `openai`: `GET /v1/models`
//!   with `Authorization: Bearer` (<https://platform.openai.com/docs/api-reference/models/list>);
//! - revoke, `anthropic`: Admin API "Update API Key", `POST /v1/organizations/api_keys/{id}`
//!   with `{"status": "inactive"}` and the admin key in `x-api-key`
//!   (<https://docs.claude.com/en/api/admin-api/apikeys/update-api-key>; the Admin API cannot
//!   create or delete keys, only rename them and set them `active`, `inactive` or `archived`);
//!   `openai`: a user's key cannot be revoked through the API, so revoke is skipped.

use std::collections::BTreeMap;

use http::Method;
use tresor_types::SecretBytes;

use super::four_steps::{admin_key, finish_secret, pending_value, test_secret, KeyTester};
use super::openai::list_models;
use super::provider_http::{deleted, segment, Auth, Call};
use super::transcript::{Done, Transcript};
use super::{ManualConfig, SecretsApi};
use crate::http::Client;
use crate::rotator::{Step, StepEvent};

pub(crate) struct Manual<'a>(pub &'a ManualConfig);

enum Provider {
    Anthropic,
    OpenAi,
}

impl Manual<'_> {
    fn provider(&self, step: &str) -> Result<Provider, Done> {
        match self.0.provider.as_str() {
            "anthropic" => Ok(Provider::Anthropic),
            "openai" => Ok(Provider::OpenAi),
            other => Err(Done::failed(format!(
                "{step}: unknown provider {other:?} (anthropic or openai)"
            ))),
        }
    }

    /// One step, the token being `AWSPENDING` (`versions` from the stage check).
    pub async fn step(
        &self,
        api: &dyn SecretsApi,
        client: &Client,
        event: &StepEvent,
        versions: &BTreeMap<String, Vec<String>>,
        log: &mut Transcript,
    ) -> Result<Done, Done> {
        match event.step {
            Step::CreateSecret => match pending_value(api, event).await? {
                Some(_) => Ok(Done::ok(
                    "createSecret: the pending version has a value: the new key was put",
                )),
                None => Ok(Done::waiting(format!(
                    "waiting for the new key: put it as AWSPENDING with ClientRequestToken {}",
                    event.client_request_token
                ))),
            },
            Step::SetSecret => Ok(Done::ok(
                "setSecret: nothing to install: the new key was made at the provider by a person",
            )),
            Step::TestSecret => test_secret(self, api, client, event, log).await,
            Step::FinishSecret => {
                let revoke = self.0.admin_secret_id.is_some();
                finish_secret(api, event, versions, revoke, log).await
            }
        }
    }

    /// Set `key_id` inactive (Anthropic, with the admin key).
    pub async fn revoke(
        &self,
        api: &dyn SecretsApi,
        client: &Client,
        key_id: &str,
        log: &mut Transcript,
    ) -> Result<Done, Done> {
        const STEP: &str = "revoke";
        let Some(admin_secret_id) = &self.0.admin_secret_id else {
            return Ok(Done::ok(format!(
                "revoke skipped: no admin key is configured to deactivate key {key_id}"
            )));
        };
        match self.provider(STEP)? {
            Provider::OpenAi => Ok(Done::ok(format!(
                "revoke skipped: OpenAI user keys cannot be revoked through the API; \
                 delete key {key_id} in the OpenAI dashboard"
            ))),
            Provider::Anthropic => {
                let admin = admin_key(api, admin_secret_id, STEP, log).await?;
                let call = Call {
                    method: Method::POST,
                    base_url: &self.0.base_url,
                    path: format!("/v1/organizations/api_keys/{}", segment(key_id)),
                    auth: Auth::Anthropic(&admin),
                    json: Some(br#"{"status":"inactive"}"#.to_vec()),
                };
                deleted(client, &call, STEP, log).await
            }
        }
    }
}

impl KeyTester for Manual<'_> {
    async fn test_key(
        &self,
        client: &Client,
        log: &mut Transcript,
        key: &SecretBytes,
    ) -> Result<Done, Done> {
        let auth = match self.provider("testSecret")? {
            Provider::Anthropic => Auth::Anthropic(key),
            Provider::OpenAi => Auth::Bearer(key),
        };
        list_models(client, &self.0.base_url, auth, log).await
    }
}
