//! Reading: `GetSecretValue` (the hot path), `DescribeSecret`, `ListSecretVersionIds`.

use std::collections::BTreeMap;
use tresor_store::{SealedValue, SecretRecord, Store, VersionPick};
use tresor_types::Timestamp;

use super::dto::*;
use super::keys::Reader;
use super::resolve::ensure_not_deleted;
use super::resolve::Access;
use super::Operation;
use super::AWSCURRENT;
use crate::keyring::{ValueKind, DEFAULT_SECRETS_KEY_ALIAS};
use crate::paging::{page_token, parse_page_token};
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

/// Which version a read asks for.
pub(crate) struct VersionSelector<'a> {
    pub version_id: Option<&'a str>,
    pub version_stage: Option<&'a str>,
}

/// Pick the version a `GetSecretValue` names: by id, by stage, or `AWSCURRENT`.
pub(crate) fn select_version<'r>(
    record: &'r SecretRecord,
    sel: &VersionSelector<'_>,
) -> Result<&'r tresor_store::VersionMeta, CoreError> {
    match (sel.version_id, sel.version_stage) {
        (Some(id), stage) => {
            let v = record.version(id).ok_or_else(|| {
                CoreError::ResourceNotFound(format!(
                    "Secrets Manager can't find the specified secret value for VersionId: {id}"
                ))
            })?;
            if let Some(stage) = stage {
                if !v.stages.iter().any(|s| s == stage) {
                    return Err(CoreError::InvalidRequest(
                        "You provided a VersionStage that is not associated to the provided VersionId."
                            .to_owned(),
                    ));
                }
            }
            Ok(v)
        }
        (None, stage) => {
            let stage = stage.unwrap_or(AWSCURRENT);
            record.version_with_stage(stage).ok_or_else(|| {
                CoreError::ResourceNotFound(format!(
                    "Secrets Manager can't find the specified secret value for staging label: {stage}"
                ))
            })
        }
    }
}

/// `VersionIdsToStages` / `SecretVersionsToStages`: the labelled versions, or nothing at all
/// for a secret without one (AWS leaves the member out rather than answer `{}`).
pub(crate) fn stages_map(record: &SecretRecord) -> Option<BTreeMap<String, Vec<String>>> {
    let map: BTreeMap<_, _> = record
        .versions
        .iter()
        .filter(|v| !v.stages.is_empty())
        .map(|v| (v.version_id.clone(), v.stages.clone()))
        .collect();
    (!map.is_empty()).then_some(map)
}

/// The `KmsKeyId` shown for a secret: AWS omits it for the managed `aws/secretsmanager` key,
/// however the caller named that key.
fn shown_kms_key_id(record: &SecretRecord) -> Option<String> {
    let id = record.kms_key_id.as_deref()?;
    let arn_prefix = format!(
        "arn:aws:kms:{}:{}:",
        record.scope.region, record.scope.account
    );
    let bare = id.strip_prefix(&arn_prefix).unwrap_or(id);
    (bare != DEFAULT_SECRETS_KEY_ALIAS).then(|| id.to_owned())
}

/// The shape `DescribeSecret` and `ListSecrets` share. AWS leaves out what there is nothing to
/// show for: an empty description, an empty tag list.
pub(crate) fn describe(record: &SecretRecord) -> SecretDescription {
    let rotation = crate::rotation::state::RotationState::of(record);
    let enabled = rotation.as_ref().is_some_and(|r| r.enabled);
    SecretDescription {
        arn: record.arn.clone(),
        name: record.name.clone(),
        description: record.description.clone().filter(|d| !d.is_empty()),
        kms_key_id: shown_kms_key_id(record),
        // "If the secret has never been configured for rotation, Secrets Manager returns null."
        rotation_enabled: rotation.as_ref().map(|r| r.enabled),
        rotation_lambda_arn: rotation.as_ref().and_then(|r| r.lambda_arn.clone()),
        rotation_rules: rotation.as_ref().and_then(|r| r.rules.clone()),
        last_rotated_date: rotation
            .as_ref()
            .and_then(|r| r.last_rotated)
            .map(Timestamp::from_millis),
        // "On or before": the start of the next window, while rotation is on.
        next_rotation_date: rotation
            .as_ref()
            .filter(|_| enabled)
            .and_then(|r| r.next_rotation_date)
            .map(Timestamp::from_millis),
        last_changed_date: Some(record.last_changed),
        last_accessed_date: record.last_accessed,
        deleted_date: record.deletion.map(|d| d.deleted_date),
        tags: (!record.tags.is_empty()).then(|| {
            record
                .tags
                .iter()
                .map(|t| Tag {
                    key: Some(t.key.as_str().into()),
                    value: Some(t.value.as_str().into()),
                })
                .collect()
        }),
        version_ids_to_stages: None,
        secret_versions_to_stages: None,
        created_date: Some(record.created),
        primary_region: super::replication::primary_region(record),
        replication_status: super::replication::replicas_of(record)
            .ok()
            .filter(|replicas| !replicas.is_empty())
            .map(|replicas| replicas.iter().map(|r| r.status()).collect()),
    }
}

impl Core {
    /// Decrypt one version of a resolved secret and record the read (day resolution, so a
    /// busy secret is written at most once a day). `read` is a sealed value read with the
    /// secret, used if it is the selected version's; `reader` says whose KMS permissions a
    /// customer key asks for.
    pub(crate) fn reveal(
        &self,
        ctx: &RequestContext,
        record: &SecretRecord,
        sel: &VersionSelector<'_>,
        read: Option<SealedValue>,
        reader: Reader,
    ) -> Result<SecretValueEntry, CoreError> {
        ensure_not_deleted(record)?;
        let version = select_version(record, sel)?;
        if crate::rotation::run::is_empty_version(version) {
            // A pending version a rotation created and its rotator has not filled yet: as in
            // AWS, there is no value to read (a rotation function's createSecret relies on it).
            return Err(CoreError::ResourceNotFound(match sel.version_id {
                Some(id) => format!(
                    "Secrets Manager can't find the specified secret value for VersionId: {id}"
                ),
                None => format!(
                    "Secrets Manager can't find the specified secret value for staging label: {}",
                    sel.version_stage.unwrap_or(AWSCURRENT)
                ),
            }));
        }
        let envelope = match read {
            Some(read) if read.version_id == version.version_id => read.envelope,
            _ => self
                .store
                .read_envelope(&record.arn, &version.version_id)?
                .ok_or_else(|| CoreError::Internal("version without a sealed value".to_owned()))?,
        };
        let (kind, value) =
            self.open_secret_value(ctx, reader, &record.arn, &version.version_id, &envelope)?;
        let today = ctx.now.day_floor();
        if record.last_accessed != Some(today) || version.last_accessed != Some(today) {
            // Written with the next audit group commit, which this read's own record waits for.
            self.audit_log.touch(crate::audit::Touch {
                arn: record.arn.clone(),
                version_id: version.version_id.clone(),
                day: today,
            });
        }
        let (secret_string, secret_binary) = match kind {
            ValueKind::String => (Some(RevealedString(value)), None),
            ValueKind::Binary => (None, Some(RevealedBlob(value))),
        };
        Ok(SecretValueEntry {
            arn: record.arn.clone(),
            name: record.name.clone(),
            version_id: version.version_id.clone(),
            secret_string,
            secret_binary,
            version_stages: version.stages.clone(),
            created_date: version.created,
        })
    }

    pub fn get_secret_value(
        &self,
        ctx: &RequestContext,
        req: Validated<GetSecretValueRequest>,
    ) -> Result<GetSecretValueResponse, CoreError> {
        let access = Access {
            version_id: req.version_id.as_deref(),
            version_stage: req.version_stage.as_deref(),
            ..Access::to(Operation::GetSecretValue)
        };
        // The value is read with the secret, in one snapshot (and, on SQLite, straight from
        // the version row the secret's lookup found); it is opened only once authorized.
        let pick = VersionPick {
            version_id: req.version_id.as_deref(),
            stage: req.version_stage.as_deref(),
        };
        let (record, read) = self.resolve_secret_value(
            ctx,
            req.secret_id.as_deref().unwrap_or_default(),
            access,
            pick,
        )?;
        let sel = VersionSelector {
            version_id: req.version_id.as_deref(),
            version_stage: req.version_stage.as_deref(),
        };
        let e = self.reveal(ctx, &record, &sel, read, Reader::Caller)?;
        Ok(GetSecretValueResponse {
            arn: e.arn,
            name: e.name,
            version_id: e.version_id,
            secret_string: e.secret_string,
            secret_binary: e.secret_binary,
            version_stages: e.version_stages,
            created_date: e.created_date,
        })
    }

    pub fn describe_secret(
        &self,
        ctx: &RequestContext,
        req: Validated<SecretIdRequest>,
    ) -> Result<SecretDescription, CoreError> {
        let record =
            self.resolve_secret_request(ctx, req.secret_id.as_deref(), Operation::DescribeSecret)?;
        let mut d = describe(&record);
        d.version_ids_to_stages = stages_map(&record);
        if let Some(statuses) = d.replication_status.as_mut() {
            self.replicas_last_accessed(&record, statuses)?;
        }
        Ok(d)
    }

    pub fn list_secret_version_ids(
        &self,
        ctx: &RequestContext,
        req: Validated<ListSecretVersionIdsRequest>,
    ) -> Result<ListSecretVersionIdsResponse, CoreError> {
        let record = self.resolve_secret(
            ctx,
            req.secret_id.as_deref().unwrap_or_default(),
            Access::to(Operation::ListSecretVersionIds),
        )?;
        let include_deprecated = req.include_deprecated.unwrap_or(false);
        let mut all: Vec<_> = record
            .versions
            .iter()
            .filter(|v| include_deprecated || !v.stages.is_empty())
            .collect();
        // Newest first.
        all.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then_with(|| a.version_id.cmp(&b.version_id))
        });
        let fingerprint = format!("versions:{}:{include_deprecated}", record.arn);
        let start = match req.next_token.as_deref() {
            Some(t) => parse_page_token(t, &fingerprint)?,
            None => 0,
        };
        let size = usize::try_from(req.max_results.unwrap_or(100)).unwrap_or(100);
        let end = (start + size).min(all.len());
        let versions = all
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|v| SecretVersionsListEntry {
                version_id: v.version_id.clone(),
                version_stages: v.stages.clone(),
                last_accessed_date: v.last_accessed,
                created_date: v.created,
                kms_key_ids: vec![v.kms_key_id.clone()],
            })
            .collect();
        let next_token = (end < all.len()).then(|| page_token(end, &fingerprint));
        Ok(ListSecretVersionIdsResponse {
            versions,
            next_token,
            arn: record.arn,
            name: record.name,
        })
    }

    /// Resolve the `SecretId` of a validated request (where it is required) and authorize
    /// `op` on it.
    pub(crate) fn resolve_secret_request(
        &self,
        ctx: &RequestContext,
        secret_id: Option<&str>,
        op: Operation,
    ) -> Result<SecretRecord, CoreError> {
        self.resolve_secret(ctx, secret_id.unwrap_or_default(), Access::to(op))
    }
}

impl Core {
    /// Authorize the caller to read the secret `secret_id` as `GetSecretValue` would (its
    /// customer KMS key included), without reading its value: what pointing a gateway route
    /// at a secret needs, since the route sends that value to an upstream its creator chooses.
    pub(crate) fn authorize_secret_read(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
    ) -> Result<SecretRecord, CoreError> {
        let access = Access {
            load: super::resolve::Versions::Labelled(None),
            ..Access::to(Operation::GetSecretValue)
        };
        let record = self.resolve_secret(ctx, secret_id, access)?;
        ensure_not_deleted(&record)?;
        self.authorize_current_value_key(ctx, &record)?;
        Ok(record)
    }

    /// The `AWSCURRENT` value of `secret_id` in `ctx`'s scope, read by Tresor on its own
    /// behalf (the gateway's upstream key: its callers are authorized for the route, never
    /// for the secret), with its version id. The read is recorded on the secret as any read.
    pub(crate) fn current_value_unchecked(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
    ) -> Result<(String, tresor_types::SecretBytes), CoreError> {
        let pick = VersionPick::default();
        let find = |key: tresor_store::SecretKey<'_>| self.store.find_secret_value(key, pick);
        let (record, read) = self
            .find_secret(ctx, secret_id, find)?
            .ok_or_else(CoreError::secret_not_found)?;
        let sel = VersionSelector {
            version_id: None,
            version_stage: None,
        };
        let entry = self.reveal(ctx, &record, &sel, read, Reader::Tresor)?;
        let value = match (entry.secret_string, entry.secret_binary) {
            (Some(RevealedString(v)), _) | (None, Some(RevealedBlob(v))) => v,
            (None, None) => return Err(CoreError::secret_not_found()),
        };
        Ok((entry.version_id, value))
    }
}
