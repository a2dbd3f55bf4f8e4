//! The OpenAI rotator: each rotation creates a project service account, whose API key is the
//! new value; the replaced service account is deleted after the grace period.
//!
//! OpenAI Administration API (admin key as `Authorization: Bearer`), as documented in
//! <https://platform.openai.com/docs/api-reference/project-service-accounts>:
//! - create: `POST /v1/organization/projects/{project_id}/service_accounts` with `{"name": …}`
//!   answers the service account (`id`, `object: "organization.project.service_account"`,
//!   `role`, …) with its unredacted key in `api_key.value` (`api_key.id` is the key's own id);
//! - delete: `DELETE /v1/organization/projects/{project_id}/service_accounts/{id}` answers
//!   `{"object": "organization.project.service_account.deleted", "id": …, "deleted": true}`;
//!   deleting the service account ends its keys.
//!
//! testSecret lists models with the new key (`GET /v1/models`,
//! <https://platform.openai.com/docs/api-reference/models/list>), which any valid key may do.

use http::Method;
use serde::Deserialize;
use tresor_types::SecretBytes;

use super::four_steps::{refused, KeyIssuer, KeyTester, NewKey};
use super::provider_http::{deleted, exchange, segment, Auth, Call};
use super::transcript::{Done, Transcript};
use super::OpenAiConfig;
use crate::http::Client;

pub(crate) struct OpenAi<'a>(pub &'a OpenAiConfig);

impl OpenAi<'_> {
    fn accounts_path(&self) -> String {
        format!(
            "/v1/organization/projects/{}/service_accounts",
            segment(&self.0.project_id)
        )
    }
}

/// The part of the create answer used (the key is read straight into `SecretBytes`).
#[derive(Deserialize)]
struct Created {
    id: Option<String>,
    api_key: Option<CreatedKey>,
}

#[derive(Deserialize)]
struct CreatedKey {
    value: Option<super::key_value::SecretText>,
}

impl KeyTester for OpenAi<'_> {
    async fn test_key(
        &self,
        client: &Client,
        log: &mut Transcript,
        key: &SecretBytes,
    ) -> Result<Done, Done> {
        list_models(client, &self.0.base_url, Auth::Bearer(key), log).await
    }
}

/// `GET {base}/v1/models` with `auth`: 2xx → Ok.
pub(crate) async fn list_models(
    client: &Client,
    base_url: &str,
    auth: Auth<'_>,
    log: &mut Transcript,
) -> Result<Done, Done> {
    const STEP: &str = "testSecret";
    let call = Call {
        method: Method::GET,
        base_url,
        path: "/v1/models".into(),
        auth,
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

impl KeyIssuer for OpenAi<'_> {
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
            path: self.accounts_path(),
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
        let (id, key) = match created {
            Some(Created { id, api_key }) => (id, api_key.and_then(|k| k.value)),
            None => (None, None),
        };
        match (id, key) {
            (Some(id), Some(key)) if !key.0.is_empty() => {
                log.redact(&key.0);
                log.note(&format!(
                    "{} answered HTTP {}: service account {id} created",
                    call.what(),
                    answer.status
                ));
                Ok(NewKey {
                    api_key: key.0,
                    key_id: id,
                })
            }
            (Some(id), _) => {
                // An account without a key is no use: delete it, then fail.
                log.note(&format!(
                    "{} answered HTTP {}: service account {id} created without an api_key.value",
                    call.what(),
                    answer.status
                ));
                let _ = self.delete_key(client, log, admin, &id, STEP).await;
                Err(Done::failed(format!(
                    "createSecret: {} answered a service account without an API key",
                    call.what()
                )))
            }
            (None, _) => {
                // The body is not logged: it may hold a key in a place this parser missed.
                log.note(&format!(
                    "{} answered HTTP {} with {} bytes that are not a service account",
                    call.what(),
                    answer.status,
                    answer.body.len()
                ));
                Err(Done::failed(format!(
                    "createSecret: {} answered something other than a service account",
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
            path: format!("{}/{}", self.accounts_path(), segment(key_id)),
            auth: Auth::Bearer(admin),
            json: None,
        };
        deleted(client, &call, step, log).await
    }
}
