//! Writing values: `CreateSecret`, `PutSecretValue`, `UpdateSecret`, and the version rules they
//! share (idempotent `ClientRequestToken`, staging-label moves, pruning of old versions).

use tresor_store::{
    Deletion, SecretRecord, SecretTxn, Store, StoreError, Tag, VersionMeta, VersionPruning,
};
use tresor_types::{SecretBytes, Timestamp};

use super::dto::*;
use super::resolve::ensure_not_deleted;
use super::resolve::Access;
use super::validate;
use super::Operation;
use super::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use crate::keyring::ValueKind;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

/// Versions beyond this many are pruned, oldest deprecated first…
const MAX_VERSIONS: usize = 100;
/// …but never one created within the last day.
const PRUNE_MIN_AGE_MS: i64 = 86_400_000;

/// A value to store, already checked for size.
pub(crate) struct NewValue {
    pub kind: ValueKind,
    pub value: SecretBytes,
}

/// Take the value members of a validated request (`SecretString` xor `SecretBinary`).
pub(crate) fn take_value(
    string: Option<SecretText>,
    binary: Option<SecretBlob>,
) -> Option<NewValue> {
    match (string, binary) {
        (Some(s), _) => Some(NewValue {
            kind: ValueKind::String,
            value: s.0,
        }),
        (None, Some(b)) => Some(NewValue {
            kind: ValueKind::Binary,
            value: b.0,
        }),
        (None, None) => None,
    }
}

/// AWS answers a write without a token (only raw requests can omit it) with
/// `InvalidRequestException`, before it looks the secret up.
pub(crate) fn missing_token() -> CoreError {
    CoreError::InvalidRequest(
        "You must provide a ClientRequestToken value. We recommend a UUID-type value.".to_owned(),
    )
}

/// A token that names a version of the secret with another value (AWS's words).
fn token_in_use(token: &str, arn: &str) -> CoreError {
    CoreError::ResourceExists(format!(
        "You can't use ClientRequestToken {token} because that value is already in use for a version of secret {arn}."
    ))
}

/// A sealed version ready to be added inside a transaction.
pub(crate) struct PreparedVersion {
    pub meta: VersionMeta,
    pub envelope: Vec<u8>,
}

/// What adding a version did.
pub(crate) enum Added {
    /// A new version with these labels.
    Created { stages: Vec<String> },
    /// The token named an existing version with the same value: nothing changed.
    AlreadyThere { stages: Vec<String> },
}

/// Add `prepared` to the secret with `stages`, inside a transaction. Same token and same value
/// is an idempotent success; same token and another value is `ResourceExistsException`.
pub(crate) fn add_version(
    txn: &mut SecretTxn,
    prepared: &PreparedVersion,
    stages: &[String],
    now: Timestamp,
) -> Result<Added, CoreError> {
    // The pending version a rotation created has no value yet: the first value written under
    // its token fills it, keeping its labels (a rotation function's createSecret).
    let mut kept = Vec::new();
    if let Some(existing) = txn.record.version(&prepared.meta.version_id) {
        if crate::rotation::run::is_empty_version(existing) {
            kept = existing.stages.clone();
            txn.remove_version(&prepared.meta.version_id);
        } else if tresor_crypto::ct_eq(&existing.value_digest, &prepared.meta.value_digest) {
            return Ok(Added::AlreadyThere {
                stages: existing.stages.clone(),
            });
        } else {
            return Err(token_in_use(&prepared.meta.version_id, &txn.record.arn));
        }
    }
    // Each label once, in the order asked for (then those the pending version had).
    let mut stages = stages
        .iter()
        .chain(&kept)
        .fold(Vec::<String>::new(), |mut acc, s| {
            if !acc.contains(s) {
                acc.push(s.clone());
            }
            acc
        });
    // The first version of a secret always becomes AWSCURRENT, whatever labels were asked for.
    let first = txn.record.versions.is_empty() && txn.unloaded_versions() == 0;
    if first && !stages.iter().any(|s| s == AWSCURRENT) {
        stages.push(AWSCURRENT.to_owned());
    }
    // The version a new value replaces as current loses AWSPENDING with AWSCURRENT (keeping
    // AWSPREVIOUS), as in AWS: the value written settles the rotation that label stood for.
    let replaced = stages
        .iter()
        .any(|s| s == AWSCURRENT)
        .then(|| txn.record.version_with_stage(AWSCURRENT))
        .flatten()
        .map(|v| v.version_id.clone());
    txn.add_version(prepared.meta.clone(), prepared.envelope.clone());
    move_stages(&mut txn.record, &prepared.meta.version_id, &stages);
    if let Some(old) = replaced {
        for v in txn
            .record
            .versions
            .iter_mut()
            .filter(|v| v.version_id == old)
        {
            v.stages.retain(|s| s != AWSPENDING);
        }
    }
    txn.record.last_changed = now;
    Ok(Added::Created { stages })
}

/// Attach each label to `target`, taking it from whichever version held it. When `AWSCURRENT`
/// moves, the version it left becomes `AWSPREVIOUS`.
pub(crate) fn move_stages(record: &mut SecretRecord, target: &str, stages: &[String]) {
    for label in stages {
        let previous_holder = record
            .version_with_stage(label)
            .map(|v| v.version_id.clone())
            .filter(|id| id != target);
        for v in record.versions.iter_mut() {
            if v.version_id != target {
                v.stages.retain(|s| s != label);
            }
        }
        if label == AWSCURRENT {
            if let Some(prev) = previous_holder {
                for v in record.versions.iter_mut() {
                    v.stages.retain(|s| s != AWSPREVIOUS);
                    if v.version_id == prev {
                        v.stages.push(AWSPREVIOUS.to_owned());
                    }
                }
            }
        }
        if let Some(v) = record.versions.iter_mut().find(|v| v.version_id == target) {
            if !v.stages.contains(label) {
                v.stages.push(label.clone());
            }
        }
    }
}

/// Keep the 100 most recent versions plus any created in the last 24 hours; only versions
/// without a staging label are ever removed, oldest first (the store does it, in the
/// transaction that adds a version: see `Store::add_secret_version`).
fn pruning(now: Timestamp) -> VersionPruning {
    VersionPruning {
        keep: MAX_VERSIONS,
        created_before: Timestamp(now.millis() - PRUNE_MIN_AGE_MS),
    }
}

fn random_suffix() -> Result<String, CoreError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = tresor_crypto::random_bytes(6)?;
    // 256 % 62 bias is irrelevant for a name suffix that only has to be unlikely to collide.
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

impl Core {
    /// Seal a value for a version of `record` and compute its metadata.
    pub(crate) fn prepare_version(
        &self,
        ctx: &RequestContext,
        record: &SecretRecord,
        version_id: &str,
        value: &NewValue,
    ) -> Result<PreparedVersion, CoreError> {
        let key = self.sealing_key(ctx, record, version_id)?;
        let envelope =
            self.keyring
                .seal_value(&key, &record.arn, version_id, value.kind, &value.value)?;
        Ok(PreparedVersion {
            meta: VersionMeta {
                version_id: version_id.to_owned(),
                stages: Vec::new(),
                created: ctx.now,
                last_accessed: None,
                value_digest: self
                    .keyring
                    .value_digest(&record.arn, value.kind, &value.value),
                kms_key_id: key.key_id.clone(),
            },
            envelope,
        })
    }

    pub fn create_secret(
        &self,
        ctx: &RequestContext,
        req: Validated<CreateSecretRequest>,
    ) -> Result<ArnNameVersion, CoreError> {
        let req = req.into_inner();
        let value = take_value(req.secret_string, req.secret_binary);
        let name = req.name.map(String::from).unwrap_or_default();
        validate::secret_name(&name)?;
        // A key names one tag: a repeated key keeps its last value, as TagResource does.
        let mut tags: Vec<Tag> = Vec::new();
        for t in req.tags.unwrap_or_default() {
            let key = t.key.map(String::from).unwrap_or_default();
            let value = t.value.map(String::from).unwrap_or_default();
            match tags.iter_mut().find(|existing| existing.key == key) {
                Some(existing) => existing.value = value,
                None => tags.push(Tag { key, value }),
            }
        }
        validate::tag_rules(tags.iter().map(|t| t.key.clone()), tags.len())?;
        let token = match (&value, req.client_request_token) {
            (Some(_), None) => return Err(missing_token()),
            (_, t) => t.map(String::from),
        };
        let scope = ctx.scope();
        // Bad replica regions fail the create before anything is written, as AWS does.
        let replicas = req
            .add_replica_regions
            .map(|asked| super::replicate::wanted_replicas(scope.region.as_str(), &[], asked))
            .transpose()?;
        let arn = format!(
            "arn:aws:secretsmanager:{}:{}:secret:{name}-{}",
            scope.region,
            scope.account,
            random_suffix()?
        );
        // Authorize before looking at what exists, so a denied caller learns nothing.
        let access = Access {
            kms_key_id: req.kms_key_id.as_deref(),
            request_tags: tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
            tag_keys: tags.iter().map(|t| t.key.clone()).collect(),
            ..Access::to(Operation::CreateSecret)
        };
        self.authorize_new_secret(ctx, &arn, &name, &access)?;
        // "To add replica Regions, you must also have secretsmanager:ReplicateSecretToRegions."
        if replicas.is_some() {
            let replicate = Access::to(Operation::ReplicateSecretToRegions);
            self.authorize_new_secret(ctx, &arn, &name, &replicate)?;
        }

        if let Some(existing) = self.store.find_secret_by_name(&scope, &name)? {
            return self.create_again(ctx, existing, token.as_deref(), value.as_ref());
        }

        let mut record = SecretRecord {
            scope,
            arn: arn.clone(),
            name: name.clone(),
            description: req.description.map(String::from),
            kms_key_id: req.kms_key_id.map(String::from).filter(|k| !k.is_empty()),
            tags,
            resource_policy: None,
            rotation: None,
            replication: None,
            created: ctx.now,
            last_changed: ctx.now,
            last_accessed: None,
            deletion: None,
            versions: Vec::new(),
        };
        let sealed = match (&value, &token) {
            (Some(value), Some(token)) => {
                let mut prepared = self.prepare_version(ctx, &record, token, value)?;
                prepared.meta.stages = vec![AWSCURRENT.to_owned()];
                record.versions.push(prepared.meta);
                Some(tresor_store::SealedVersion {
                    version_id: token.clone(),
                    envelope: prepared.envelope,
                })
            }
            _ => {
                // Resolve the key now so that a bad KmsKeyId fails the create.
                self.check_secret_key_exists(ctx, record.kms_key_id.as_deref())?;
                None
            }
        };
        match self.store.create_secret(&record, sealed.as_ref()) {
            Ok(()) => {}
            Err(StoreError::SecretExists {
                scheduled_for_deletion,
            }) => {
                return Err(name_taken(&name, scheduled_for_deletion));
            }
            Err(e) => return Err(e.into()),
        }
        let replication_status = match replicas {
            Some(wanted) => Some(self.add_replicas(
                ctx,
                &record,
                wanted,
                req.force_overwrite_replica_secret.unwrap_or(false),
            )?),
            None => None,
        };
        Ok(ArnNameVersion {
            arn,
            name,
            version_id: sealed.map(|s| s.version_id),
            replication_status,
        })
    }

    /// `CreateSecret` for a name that exists: a retry with the same token and value succeeds
    /// (the SDKs retry with the same token); the same token with another value is refused
    /// for the token, anything else for the name.
    ///
    /// Both answers depend on the secret's versions, so they are given only to a caller who
    /// may create this very secret (its resource policy and tags included) and read or write
    /// its value. Any other caller gets `ResourceExistsException` for the name without the
    /// existing versions being looked at, whatever token and value it sent: the answer cannot
    /// confirm a guess.
    fn create_again(
        &self,
        ctx: &RequestContext,
        existing: SecretRecord,
        token: Option<&str>,
        value: Option<&NewValue>,
    ) -> Result<ArnNameVersion, CoreError> {
        if existing.deletion.is_some() {
            return Err(name_taken(&existing.name, true));
        }
        let policies = self.caller_policies(ctx)?;
        let may = |op: Operation| Self::may_on_secret(ctx, &policies, &existing, &Access::to(op));
        let may_confirm = may(Operation::CreateSecret)
            && (may(Operation::GetSecretValue) || may(Operation::PutSecretValue));
        if !may_confirm {
            return Err(name_taken(&existing.name, false));
        }
        if let (Some(token), Some(value)) = (token, value) {
            if let Some(version) = existing.version(token) {
                let digest = self
                    .keyring
                    .value_digest(&existing.arn, value.kind, &value.value);
                if tresor_crypto::ct_eq(&digest, &version.value_digest) {
                    return Ok(ArnNameVersion {
                        arn: existing.arn.clone(),
                        name: existing.name.clone(),
                        version_id: Some(token.to_owned()),
                        replication_status: None,
                    });
                }
                return Err(token_in_use(token, &existing.arn));
            }
        }
        Err(name_taken(&existing.name, false))
    }

    pub fn put_secret_value(
        &self,
        ctx: &RequestContext,
        req: Validated<PutSecretValueRequest>,
    ) -> Result<PutSecretValueResponse, CoreError> {
        let req = req.into_inner();
        let value = take_value(req.secret_string, req.secret_binary).ok_or_else(|| {
            CoreError::InvalidParameter(
                "You must provide either SecretString or SecretBinary.".to_owned(),
            )
        })?;
        let token = String::from(req.client_request_token.ok_or_else(missing_token)?);
        let stages = req.version_stages.map_or_else(
            || vec![AWSCURRENT.to_owned()],
            |labels| labels.into_iter().map(String::from).collect(),
        );

        let record = self.resolve_secret(
            ctx,
            req.secret_id.as_deref().unwrap_or_default(),
            Access::to(Operation::PutSecretValue),
        )?;
        ensure_not_deleted(&record)?;
        let prepared = self.prepare_version(ctx, &record, &token, &value)?;
        let (added, abandoned) =
            self.write_secret_version(&record.arn, &token, pruning(ctx.now), |txn| {
                ensure_not_deleted(&txn.record)?;
                let added = add_version(txn, &prepared, &stages, ctx.now)?;
                let abandoned = match added {
                    Added::Created { .. } => Self::after_manual_write(txn, &token, ctx.now),
                    Added::AlreadyThere { .. } => None,
                };
                Ok::<_, CoreError>((added, abandoned))
            })?;
        if let Some(event) = abandoned {
            self.audit_event_in_transaction(event)?;
        }
        let version_stages = match added {
            Added::Created { stages } | Added::AlreadyThere { stages } => stages,
        };
        Ok(PutSecretValueResponse {
            arn: record.arn,
            name: record.name,
            version_id: token,
            version_stages,
        })
    }

    pub fn update_secret(
        &self,
        ctx: &RequestContext,
        req: Validated<UpdateSecretRequest>,
    ) -> Result<ArnNameVersion, CoreError> {
        let req = req.into_inner();
        let value = take_value(req.secret_string, req.secret_binary);
        let token = match (&value, req.client_request_token) {
            (Some(_), None) => return Err(missing_token()),
            (_, token) => token.map(String::from),
        };

        let access = Access {
            kms_key_id: req.kms_key_id.as_deref(),
            ..Access::to(Operation::UpdateSecret)
        };
        let mut record =
            self.resolve_secret(ctx, req.secret_id.as_deref().unwrap_or_default(), access)?;
        ensure_not_deleted(&record)?;
        // `Some(None)`: back to the default key ("If you set this to an empty string, Secrets
        // Manager uses the Amazon Web Services managed key aws/secretsmanager").
        let new_kms_key: Option<Option<String>> = req.kms_key_id.as_deref().map(|k| {
            let k = k.trim();
            (!k.is_empty()).then(|| k.to_owned())
        });
        // A bad key fails the whole update before anything is written. A key that changes
        // takes the labelled versions with it, resealed in the update's transaction.
        let reseals = match &new_kms_key {
            Some(k) => {
                self.check_secret_key_exists(ctx, k.as_deref())?;
                let changed = *k != record.kms_key_id;
                record.kms_key_id = k.clone();
                if changed {
                    self.reseal_for_new_key(ctx, &record)?
                } else {
                    Vec::new()
                }
            }
            None => Vec::new(),
        };
        let prepared = match (&value, &token) {
            (Some(value), Some(token)) => Some(self.prepare_version(ctx, &record, token, value)?),
            _ => None,
        };
        let description = req.description.map(String::from);
        let update = |txn: &mut SecretTxn| {
            ensure_not_deleted(&txn.record)?;
            if let Some(d) = &description {
                txn.record.description = Some(d.clone());
            }
            if let Some(k) = &new_kms_key {
                txn.record.kms_key_id = k.clone();
            }
            let mut abandoned = None;
            if let Some(p) = &prepared {
                if let Added::Created { .. } =
                    add_version(txn, p, &[AWSCURRENT.to_owned()], ctx.now)?
                {
                    abandoned = Self::after_manual_write(txn, &p.meta.version_id, ctx.now);
                }
            }
            super::keys::apply_reseals(txn, &reseals);
            txn.record.last_changed = ctx.now;
            Ok::<_, CoreError>(abandoned)
        };
        let abandoned = match &prepared {
            Some(p) => self.write_secret_version(
                &record.arn,
                &p.meta.version_id,
                pruning(ctx.now),
                update,
            )?,
            None => self.write_secret(&record.arn, update)?,
        };
        if let Some(event) = abandoned {
            self.audit_event_in_transaction(event)?;
        }
        Ok(ArnNameVersion {
            arn: record.arn,
            name: record.name,
            version_id: prepared.map(|p| p.meta.version_id),
            replication_status: None,
        })
    }
}

pub(crate) fn name_taken(name: &str, scheduled_for_deletion: bool) -> CoreError {
    if scheduled_for_deletion {
        CoreError::InvalidRequest(
            "You can't create this secret because a secret with this name is already scheduled for deletion."
                .to_owned(),
        )
    } else {
        CoreError::ResourceExists(format!(
            "The operation failed because the secret {name} already exists."
        ))
    }
}

/// When a deletion scheduled now with `days` of recovery window ends.
pub(crate) fn deletion_after(now: Timestamp, days: i64) -> Deletion {
    Deletion {
        deleted_date: now,
        purge_after: now.plus_days(days),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tresor_store::Scope;
    use tresor_types::{AccountId, Region};

    fn meta(id: &str, stages: &[&str], created: i64) -> VersionMeta {
        VersionMeta {
            version_id: id.to_owned(),
            stages: stages.iter().map(|s| s.to_string()).collect(),
            created: Timestamp(created),
            last_accessed: None,
            value_digest: vec![],
            kms_key_id: "k".to_owned(),
        }
    }

    fn record(versions: Vec<VersionMeta>) -> SecretRecord {
        SecretRecord {
            scope: Scope {
                account: AccountId::parse("000000000000").unwrap(),
                region: Region::parse("us-east-1").unwrap(),
            },
            arn: "arn".into(),
            name: "n".into(),
            description: None,
            kms_key_id: None,
            tags: vec![],
            resource_policy: None,
            rotation: None,
            replication: None,
            created: Timestamp(0),
            last_changed: Timestamp(0),
            last_accessed: None,
            deletion: None,
            versions,
        }
    }

    fn stages_of(r: &SecretRecord, id: &str) -> Vec<String> {
        r.version(id).unwrap().stages.clone()
    }

    #[test]
    fn awscurrent_moves_and_leaves_awsprevious() {
        let mut r = record(vec![
            meta("a", &["AWSPREVIOUS"], 1),
            meta("b", &["AWSCURRENT"], 2),
            meta("c", &[], 3),
        ]);
        move_stages(&mut r, "c", &["AWSCURRENT".to_owned()]);
        assert_eq!(stages_of(&r, "a"), Vec::<String>::new());
        assert_eq!(stages_of(&r, "b"), vec!["AWSPREVIOUS"]);
        assert_eq!(stages_of(&r, "c"), vec!["AWSCURRENT"]);
    }

    #[test]
    fn custom_labels_move_without_touching_current() {
        let mut r = record(vec![
            meta("a", &["AWSCURRENT", "blue"], 1),
            meta("b", &[], 2),
        ]);
        move_stages(&mut r, "b", &["blue".to_owned()]);
        assert_eq!(stages_of(&r, "a"), vec!["AWSCURRENT"]);
        assert_eq!(stages_of(&r, "b"), vec!["blue"]);
    }

    fn prepared(id: &str, digest: u8) -> PreparedVersion {
        let mut m = meta(id, &[], 1);
        m.value_digest = vec![digest];
        PreparedVersion {
            meta: m,
            envelope: vec![0],
        }
    }

    #[test]
    fn the_first_version_always_becomes_current() {
        let mut txn = SecretTxn::new(record(vec![]));
        let blue = ["blue".to_owned()];
        match add_version(&mut txn, &prepared("v1", 1), &blue, Timestamp(1)) {
            Ok(Added::Created { stages }) => assert_eq!(stages, vec!["blue", AWSCURRENT]),
            _ => panic!("first version not created"),
        }
        assert_eq!(stages_of(&txn.record, "v1"), vec!["blue", AWSCURRENT]);
        // A later version with custom labels leaves AWSCURRENT where it is.
        match add_version(&mut txn, &prepared("v2", 2), &blue, Timestamp(2)) {
            Ok(Added::Created { stages }) => assert_eq!(stages, vec!["blue"]),
            _ => panic!("second version not created"),
        }
        assert_eq!(stages_of(&txn.record, "v1"), vec![AWSCURRENT]);
        assert_eq!(stages_of(&txn.record, "v2"), vec!["blue"]);
        // Same token, same value: nothing changes; another value: refused.
        assert!(matches!(
            add_version(
                &mut txn,
                &prepared("v2", 2),
                &[AWSCURRENT.to_owned()],
                Timestamp(3)
            ),
            Ok(Added::AlreadyThere { .. })
        ));
        assert_eq!(stages_of(&txn.record, "v1"), vec![AWSCURRENT]);
        match add_version(&mut txn, &prepared("v2", 9), &blue, Timestamp(3)) {
            Err(CoreError::ResourceExists(msg)) => assert_eq!(
                msg,
                "You can't use ClientRequestToken v2 because that value is already in use for a version of secret arn."
            ),
            _ => panic!("token reuse with another value not refused"),
        }
    }

    #[test]
    fn a_new_current_value_takes_awspending_off_the_version_it_replaces() {
        let mut txn = SecretTxn::new(record(vec![
            meta("a", &[AWSPREVIOUS], 1),
            meta("b", &[AWSPENDING, "blue", AWSCURRENT], 2),
        ]));
        let current = [AWSCURRENT.to_owned()];
        assert!(add_version(&mut txn, &prepared("c", 3), &current, Timestamp(3)).is_ok());
        assert_eq!(stages_of(&txn.record, "a"), Vec::<String>::new());
        assert_eq!(stages_of(&txn.record, "b"), vec!["blue", AWSPREVIOUS]);
        assert_eq!(stages_of(&txn.record, "c"), vec![AWSCURRENT]);

        // A pending version that is not the current one, and a write that leaves AWSCURRENT
        // where it is, keep their AWSPENDING.
        let mut txn = SecretTxn::new(record(vec![
            meta("a", &[AWSCURRENT], 1),
            meta("b", &[AWSPENDING], 2),
        ]));
        assert!(add_version(&mut txn, &prepared("c", 3), &current, Timestamp(3)).is_ok());
        assert_eq!(stages_of(&txn.record, "b"), vec![AWSPENDING]);
        let mut txn = SecretTxn::new(record(vec![meta("a", &[AWSCURRENT, AWSPENDING], 1)]));
        let blue = ["blue".to_owned()];
        assert!(add_version(&mut txn, &prepared("c", 3), &blue, Timestamp(3)).is_ok());
        assert_eq!(stages_of(&txn.record, "a"), vec![AWSCURRENT, AWSPENDING]);
    }

    #[test]
    fn pruning_keeps_a_hundred_versions_and_everything_from_the_last_day() {
        let now = Timestamp(10 * PRUNE_MIN_AGE_MS);
        let p = pruning(now);
        assert_eq!(p.keep, 100);
        assert_eq!(p.created_before, Timestamp(9 * PRUNE_MIN_AGE_MS));
    }
}
