//! The OpenRouter rotator: each rotation creates an API key with the management (provisioning)
//! key; the replaced key is deleted after the grace period.
//!
//! OpenRouter API (<https://openrouter.ai/docs/guides/overview/auth/management-api-keys>, API
//! reference "API Keys"), management key as `Authorization: Bearer`:
//! - create: `POST /api/v1/keys` with `{"name": …}` answers `{"data": {"hash": …, "name": …,
//!   "label": …, "disabled": false, …}, "key": "sk-or-v1-…"}`: `key` is shown only once and
//!   `data.hash` identifies the key in the other calls;
//! - delete: `DELETE /api/v1/keys/{hash}` answers `{"deleted": true}`;
//! - `GET /api/v1/key` answers the calling key's own details (`data.label`, `data.limit`, …) and
//!   needs a valid key, unlike `GET /api/v1/models`, which answers anyone: testSecret uses it.

use http::Method;
use serde::Deserialize;
use tresor_types::SecretBytes;

use super::four_steps::{refused, KeyIssuer, KeyTester, NewKey};
use super::key_value::SecretText;
use super::provider_http::{deleted, exchange, segment, Auth, Call};
use super::transcript::{Done, Transcript};
use super::OpenRouterConfig;
use crate::http::Client;

pub(crate) struct OpenRouter<'a>(pub &'a OpenRouterConfig);

#[derive(Deserialize)]
struct Created {
    data: Option<CreatedData>,
    key: Option<SecretText>,
}

#[derive(Deserialize)]
struct CreatedData {
    hash: Option<String>,
}

impl KeyTester for OpenRouter<'_> {
    async fn test_key(
        &self,
        client: &Client,
        log: &mut Transcript,
        key: &SecretBytes,
    ) -> Result<Done, Done> {
        const STEP: &str = "testSecret";
        let call = Call {
            method: Method::GET,
            base_url: &self.0.base_url,
            path: "/api/v1/key".into(),
            auth: Auth::Bearer(key),
            json: None,
        };
        let answer = exchange(client, &call, STEP, log).await?;
        if !answer.success() {
            return Err(refused(
                STEP,
                &call.what(),
                answer.status,
                &answer.body,
                log,
            ));
        }
        Ok(Done::ok(format!(
            "testSecret: {} answered HTTP {}",
            call.what(),
            answer.status
        )))
    }
}

impl KeyIssuer for OpenRouter<'_> {
    async fn create_key(
        &self,
        client: &Client,
        log: &mut Transcript,
        admin: &SecretBytes,
        name: &str,
    ) -> Result<NewKey, Done> {
        const STEP: &str = "createSecret";
        let call = Call {
            method: Method::POST,
            base_url: &self.0.base_url,
            path: "/api/v1/keys".into(),
            auth: Auth::Bearer(admin),
            json: Some(
                serde_json::to_vec(&serde_json::json!({ "name": name })).unwrap_or_default(),
            ),
        };
        let answer = exchange(client, &call, STEP, log).await?;
        if !answer.success() {
            return Err(refused(
                STEP,
                &call.what(),
                answer.status,
                &answer.body,
                log,
            ));
        }
        let created: Option<Created> = serde_json::from_slice(&answer.body).ok();
        let (hash, key) = match created {
            Some(Created { data, key }) => (data.and_then(|d| d.hash), key),
            None => (None, None),
        };
        match (hash, key) {
            (Some(hash), Some(key)) if !key.0.is_empty() && !hash.is_empty() => {
                log.redact(&key.0);
                log.note(&format!(
                    "{} answered HTTP {}: key {hash} created",
                    call.what(),
                    answer.status
                ));
                Ok(NewKey {
                    api_key: key.0,
                    key_id: hash,
                })
            }
            (hash, key) => {
                if let Some(key) = &key {
                    log.redact(&key.0);
                }
                // The body is not logged: it may hold a key in a place this parser missed.
                log.note(&format!(
                    "{} answered HTTP {} with {} bytes without both key and data.hash",
                    call.what(),
                    answer.status,
                    answer.body.len()
                ));
                if let Some(hash) = hash.filter(|h| !h.is_empty()) {
                    let _ = self.delete_key(client, log, admin, &hash, STEP).await;
                }
                Err(Done::failed(format!(
                    "createSecret: {} answered without both key and data.hash",
                    call.what()
                )))
            }
        }
    }

    async fn delete_key(
        &self,
        client: &Client,
        log: &mut Transcript,
        admin: &SecretBytes,
        key_id: &str,
        step: &str,
    ) -> Result<Done, Done> {
        let call = Call {
            method: Method::DELETE,
            base_url: &self.0.base_url,
            path: format!("/api/v1/keys/{}", segment(key_id)),
            auth: Auth::Bearer(admin),
            json: None,
        };
        deleted(client, &call, step, log).await
    }
}
