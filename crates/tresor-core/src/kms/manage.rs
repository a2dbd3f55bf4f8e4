//! Key lifecycle: `CreateKey`, `DescribeKey`, `ListKeys`, `UpdateKeyDescription`,
//! `EnableKey`/`DisableKey`, `ScheduleKeyDeletion`/`CancelKeyDeletion`.
//!
//! A key's states: Enabled ⇄ Disabled; either → PendingDeletion (with a deletion date
//! 7–30 days ahead) → Disabled again on cancel, or destroyed when the date passes. AWS
//! managed keys are changed by no one: their key policy allows none of these changes.

use tresor_store::{KmsKeyMeta, KmsKeyRecord, KmsKeyState, KmsStore, Tag};
use tresor_types::Timestamp;

use super::dto::{
    CreateKeyRequest, Empty, KeyIdRequest, KeyIdResponse, KeyListEntry, KeyMetadata,
    KeyMetadataResponse, ListKeysResponse, ListRequest, ScheduleKeyDeletionRequest,
    ScheduleKeyDeletionResponse, UpdateKeyDescriptionRequest,
};
use super::key_arn;
use super::keys::{invalid_state, LoadedKey, Naming};
use super::paging::page_limit;
use super::policy::{check_parses, default_key_policy};
use super::tags::check_new_tags;
use crate::authz::Resource;
use crate::validate::Validated;
use crate::{Core, CoreError, KmsError, RequestContext};

/// `PendingWindowInDays` when none is given.
pub const DEFAULT_PENDING_WINDOW_DAYS: i64 = 30;

fn unsupported(message: String) -> CoreError {
    CoreError::Kms(KmsError::UnsupportedOperation, message)
}

/// What Tresor's keys are (symmetric, AWS_KMS origin, single-region): anything else asked of
/// `CreateKey` is AWS's `UnsupportedOperationException`.
fn check_supported(req: &CreateKeyRequest) -> Result<(), CoreError> {
    let spec = req
        .key_spec
        .as_deref()
        .or(req.customer_master_key_spec.as_deref())
        .unwrap_or("SYMMETRIC_DEFAULT");
    if spec != "SYMMETRIC_DEFAULT" {
        return Err(unsupported(format!(
            "KeySpec {spec} is not supported: only SYMMETRIC_DEFAULT keys are available."
        )));
    }
    let usage = req.key_usage.as_deref().unwrap_or("ENCRYPT_DECRYPT");
    if usage != "ENCRYPT_DECRYPT" {
        return Err(CoreError::Validation(format!(
            "KeyUsage {usage} is not compatible with KeySpec SYMMETRIC_DEFAULT"
        )));
    }
    let origin = req.origin.as_deref().unwrap_or("AWS_KMS");
    if origin != "AWS_KMS" {
        return Err(unsupported(format!(
            "Origin {origin} is not supported: only AWS_KMS keys are available."
        )));
    }
    if req.custom_key_store_id.is_some() || req.xks_key_id.is_some() {
        return Err(unsupported(
            "Custom key stores are not supported.".to_owned(),
        ));
    }
    if req.multi_region == Some(true) {
        return Err(unsupported(
            "Multi-Region keys are not supported.".to_owned(),
        ));
    }
    Ok(())
}

/// `KeyMetadata` as botocore shapes it.
pub(crate) fn key_metadata(key: &LoadedKey) -> KeyMetadata {
    KeyMetadata {
        aws_account_id: key.record.scope.account.as_str().to_owned(),
        key_id: key.record.key_id.clone(),
        arn: key.record.arn.clone(),
        creation_date: key.record.created,
        enabled: key.meta.state == KmsKeyState::Enabled,
        description: key.record.description.clone(),
        key_usage: "ENCRYPT_DECRYPT",
        key_state: key.meta.state.as_str(),
        deletion_date: key
            .meta
            .deletion_date
            .filter(|_| key.meta.state == KmsKeyState::PendingDeletion),
        origin: "AWS_KMS",
        key_manager: key.meta.key_manager.as_str(),
        customer_master_key_spec: "SYMMETRIC_DEFAULT",
        key_spec: "SYMMETRIC_DEFAULT",
        encryption_algorithms: ["SYMMETRIC_DEFAULT"],
        multi_region: false,
    }
}

impl Core {
    pub fn create_key(
        &self,
        ctx: &RequestContext,
        req: Validated<CreateKeyRequest>,
    ) -> Result<KeyMetadataResponse, CoreError> {
        let req = req.into_inner();
        let request_tags: Vec<Tag> = req
            .tags
            .iter()
            .flatten()
            .map(|t| Tag {
                key: t.tag_key.clone().unwrap_or_default(),
                value: t.tag_value.clone().unwrap_or_default(),
            })
            .collect();
        let mut keys = vec![(
            "aws:TagKeys".to_owned(),
            request_tags.iter().map(|t| t.key.clone()).collect(),
        )];
        for tag in &request_tags {
            keys.push((
                format!("aws:RequestTag/{}", tag.key),
                vec![tag.value.clone()],
            ));
        }
        self.authorize(
            ctx,
            "kms:CreateKey",
            Resource {
                keys,
                ..Resource::any()
            },
        )?;
        check_supported(&req)?;
        check_new_tags(&[], &request_tags)?;
        let scope = ctx.scope();
        let account = scope.account.as_str().to_owned();
        // The safety check applies to a policy the caller writes; the default one gives the
        // account root every action, so it can always be changed again (as AWS lets a caller
        // allowed only `kms:CreateKey` create keys).
        let check_lockout = req.policy.is_some() && !req.bypass_policy_lockout_safety_check;
        let policy = match req.policy {
            Some(doc) => {
                check_parses(&doc)?;
                doc
            }
            None => default_key_policy(&account),
        };
        let key_id = uuid::Uuid::new_v4().to_string();
        let mut record = KmsKeyRecord {
            arn: key_arn(scope.region.as_str(), &account, &key_id),
            scope,
            key_id,
            alias: None,
            description: req.description.unwrap_or_default(),
            created: ctx.now,
            versions: Vec::new(),
        };
        let wrapped = self.keyring.wrap_new_material(&record, 1)?;
        record.versions.push((1, wrapped));
        let mut meta = KmsKeyMeta::customer(policy);
        meta.tags = request_tags;
        let key = LoadedKey { record, meta };
        if check_lockout {
            let policy = key.policy();
            self.check_policy_lockout(ctx, &key, &policy)?;
        }
        self.store.create_kms_key(&key.record, &key.meta)?;
        Ok(KeyMetadataResponse {
            key_metadata: key_metadata(&key),
        })
    }

    pub fn describe_key(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyIdRequest>,
    ) -> Result<KeyMetadataResponse, CoreError> {
        let req = req.into_inner();
        let key = self.kms_load_key(
            ctx,
            req.key_id.as_deref().unwrap_or_default(),
            Naming::KeyOrAlias,
        )?;
        self.kms_authorize(ctx, &key, "kms:DescribeKey", None)?;
        Ok(KeyMetadataResponse {
            key_metadata: key_metadata(&key),
        })
    }

    pub fn list_keys(
        &self,
        ctx: &RequestContext,
        req: Validated<ListRequest>,
    ) -> Result<ListKeysResponse, CoreError> {
        let req = req.into_inner();
        self.authorize(ctx, "kms:ListKeys", Resource::any())?;
        let scope = ctx.scope();
        // The managed key is listed as AWS lists it: it exists from the first use on.
        self.keyring.default_key(&self.store, &scope)?;
        let limit = page_limit(req.limit);
        let mut page =
            self.store
                .list_kms_keys(&scope, req.marker.as_deref(), limit.saturating_add(1))?;
        // Keys whose deletion date has passed are destroyed as they are met.
        let mut keys = Vec::with_capacity(page.len());
        for (key_id, arn) in page.drain(..) {
            match self.kms_load_key(ctx, &key_id, Naming::KeyOnly) {
                Ok(_) => keys.push(KeyListEntry {
                    key_id,
                    key_arn: arn,
                }),
                Err(CoreError::Kms(KmsError::NotFound, _)) => {}
                Err(e) => return Err(e),
            }
        }
        let truncated = keys.len() > limit;
        keys.truncate(limit);
        let next_marker = truncated
            .then(|| keys.last().map(|k| k.key_id.clone()))
            .flatten();
        Ok(ListKeysResponse {
            keys,
            next_marker,
            truncated,
        })
    }

    pub fn update_key_description(
        &self,
        ctx: &RequestContext,
        req: Validated<UpdateKeyDescriptionRequest>,
    ) -> Result<Empty, CoreError> {
        let req = req.into_inner();
        let key = self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:UpdateKeyDescription")?;
        if key.meta.state == KmsKeyState::PendingDeletion {
            return Err(invalid_state(&key));
        }
        self.store.set_kms_key_description(
            &key.record.scope,
            &key.record.key_id,
            req.description.as_deref().unwrap_or_default(),
        )?;
        Ok(Empty {})
    }

    pub fn enable_key(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyIdRequest>,
    ) -> Result<Empty, CoreError> {
        self.set_key_enabled(ctx, req, true)
    }

    pub fn disable_key(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyIdRequest>,
    ) -> Result<Empty, CoreError> {
        self.set_key_enabled(ctx, req, false)
    }

    fn set_key_enabled(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyIdRequest>,
        enabled: bool,
    ) -> Result<Empty, CoreError> {
        let req = req.into_inner();
        let action = if enabled {
            "kms:EnableKey"
        } else {
            "kms:DisableKey"
        };
        let mut key = self.kms_key_to_manage(ctx, req.key_id.as_deref(), action)?;
        if key.meta.state == KmsKeyState::PendingDeletion {
            return Err(invalid_state(&key));
        }
        key.meta.state = if enabled {
            KmsKeyState::Enabled
        } else {
            KmsKeyState::Disabled
        };
        self.store
            .put_kms_key_meta(&key.record.scope, &key.record.key_id, &key.meta)?;
        Ok(Empty {})
    }

    pub fn schedule_key_deletion(
        &self,
        ctx: &RequestContext,
        req: Validated<ScheduleKeyDeletionRequest>,
    ) -> Result<ScheduleKeyDeletionResponse, CoreError> {
        let req = req.into_inner();
        let mut key =
            self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:ScheduleKeyDeletion")?;
        if key.meta.state == KmsKeyState::PendingDeletion {
            return Err(invalid_state(&key));
        }
        let days = req
            .pending_window_in_days
            .unwrap_or(DEFAULT_PENDING_WINDOW_DAYS);
        let deletion_date = deletion_date(ctx.now, days);
        key.meta.state = KmsKeyState::PendingDeletion;
        key.meta.deletion_date = Some(deletion_date);
        self.store
            .put_kms_key_meta(&key.record.scope, &key.record.key_id, &key.meta)?;
        tracing::warn!(key = %key.record.arn, days, "KMS key scheduled for deletion: once deleted, everything encrypted under it is unreadable for good");
        Ok(ScheduleKeyDeletionResponse {
            key_id: key.record.arn,
            deletion_date,
            key_state: KmsKeyState::PendingDeletion.as_str(),
            pending_window_in_days: days,
        })
    }

    pub fn cancel_key_deletion(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyIdRequest>,
    ) -> Result<KeyIdResponse, CoreError> {
        let req = req.into_inner();
        let mut key =
            self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:CancelKeyDeletion")?;
        if key.meta.state != KmsKeyState::PendingDeletion {
            return Err(CoreError::Kms(
                KmsError::InvalidState,
                format!("{} is not pending deletion.", key.arn()),
            ));
        }
        // AWS brings a key back disabled: using it again is a second, deliberate step.
        key.meta.state = KmsKeyState::Disabled;
        key.meta.deletion_date = None;
        self.store
            .put_kms_key_meta(&key.record.scope, &key.record.key_id, &key.meta)?;
        Ok(KeyIdResponse {
            key_id: key.record.arn,
        })
    }
}

/// When a key scheduled now with a window of `days` is destroyed.
pub fn deletion_date(now: Timestamp, days: i64) -> Timestamp {
    now.plus_days(days)
}
