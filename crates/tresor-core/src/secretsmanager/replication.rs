//! Replication's data path: every write to a secret goes through [`Core::write_secret`] or
//! [`Core::write_secret_version`], which refuse a replica and, for a primary, bring each of its
//! replicas in step ([`Core::sync_replicas`]) in the same store transaction as the write.
//!
//! A replica is a secret row in another region's scope with the primary's name and random ARN
//! suffix (the ARN with the replica's region), the same version ids, creation dates and staging
//! labels, and the primary's description, tags and resource policy. Its values are opened
//! from the primary's envelopes and sealed again under the replica region's key (its own
//! `KmsKeyId`, else that region's default key), bound to the replica's ARN. Rotation settings
//! stay with the primary: a replica is never rotated on its own.
//!
//! The state is the store's opaque `replication` column ([`Replication`]): a primary lists its
//! replicas and their status; a replica names its primary's region.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tresor_store::{
    Scope, SecretRecord, SecretTxn, Store, StoreError, VersionMeta, VersionPruning,
};
use tresor_types::Region;

use super::dto::ReplicationStatusType;
use crate::rotation::run::is_empty_version;
use crate::{Core, CoreError};

/// A secret's replication state, as kept in its row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Replication {
    /// A secret replicated to other regions.
    Primary { replicas: Vec<ReplicaState> },
    /// A read-only copy of the secret of the same ARN suffix in `primary_region`.
    Replica { primary_region: String },
}

/// One replica region of a primary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReplicaState {
    pub region: String,
    /// The key the caller asked for in that region, or `None` for its default key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// `None` while in sync; why the replica was not created otherwise (`Failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl ReplicaState {
    pub fn in_sync(&self) -> bool {
        self.failure.is_none()
    }

    /// The `ReplicationStatus` entry AWS shows for this region.
    pub fn status(&self) -> ReplicationStatusType {
        ReplicationStatusType {
            region: self.region.clone(),
            kms_key_id: Some(
                self.kms_key_id
                    .clone()
                    .unwrap_or_else(|| crate::keyring::DEFAULT_SECRETS_KEY_ALIAS.to_owned()),
            ),
            status: if self.in_sync() { "InSync" } else { "Failed" }.to_owned(),
            status_message: Some(
                self.failure
                    .clone()
                    .unwrap_or_else(|| "Replication succeeded".to_owned()),
            ),
            last_accessed_date: None,
        }
    }
}

impl Replication {
    /// The state of `record`. A state that cannot be read is an error: callers that decide
    /// what a secret allows treat it as a replica (see [`is_replica`]).
    pub fn of(record: &SecretRecord) -> Result<Option<Self>, CoreError> {
        record
            .replication
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|_| CoreError::Internal("unreadable replication state".to_owned()))
    }

    /// Write this state into `record`; a primary without replicas is a plain secret again.
    pub fn store(self, record: &mut SecretRecord) -> Result<(), CoreError> {
        record.replication = match &self {
            Self::Primary { replicas } if replicas.is_empty() => None,
            _ => Some(
                serde_json::to_string(&self)
                    .map_err(|e| CoreError::Internal(format!("replication state: {e}")))?,
            ),
        };
        Ok(())
    }
}

/// The replicas of `record` if it is a primary (none otherwise).
pub(crate) fn replicas_of(record: &SecretRecord) -> Result<Vec<ReplicaState>, CoreError> {
    Ok(match Replication::of(record)? {
        Some(Replication::Primary { replicas }) => replicas,
        _ => Vec::new(),
    })
}

/// Whether `record` is a replica. An unreadable state counts as one: it refuses writes.
pub(crate) fn is_replica(record: &SecretRecord) -> bool {
    !matches!(
        Replication::of(record),
        Ok(None | Some(Replication::Primary { .. }))
    )
}

/// `PrimaryRegion` as DescribeSecret shows it: the primary's region on a replica, the own
/// region on a secret that has replicas, nothing on a plain secret.
pub(crate) fn primary_region(record: &SecretRecord) -> Option<String> {
    match Replication::of(record).ok()?? {
        Replication::Replica { primary_region } => Some(primary_region),
        Replication::Primary { .. } => Some(record.scope.region.as_str().to_owned()),
    }
}

/// The ARN of the copy of `arn` in `region`: the same account, name and suffix.
pub(crate) fn arn_in_region(arn: &str, region: &str) -> Option<String> {
    // arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>
    let mut parts = arn.splitn(5, ':');
    let (Some(arn_word), Some(partition), Some(service), Some(_), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some(format!("{arn_word}:{partition}:{service}:{region}:{rest}"))
}

/// AWS's answer to a change made to a replica (or from its region).
pub(crate) fn not_on_replica() -> CoreError {
    CoreError::InvalidParameter(
        "Operation not permitted on a replica secret. Call must be made in primary secret's region."
            .to_owned(),
    )
}

impl Core {
    /// `Store::update_secret` for every write the API makes to a secret: a replica is refused
    /// (inside the transaction, so a concurrent promotion or replication is seen), and a
    /// primary's replicas are brought in step before the transaction commits.
    pub(crate) fn write_secret<T, E, F>(&self, arn: &str, mut f: F) -> Result<T, E>
    where
        F: FnMut(&mut SecretTxn) -> Result<T, E>,
        E: From<StoreError> + From<CoreError>,
    {
        // A secret without replication (nearly every one) is written as before, with the
        // store's own retries; a replicated one is written again, with its replicas, in one
        // transaction.
        let plain = self
            .store
            .update_secret(arn, |txn| plain_attempt(txn, &mut f));
        match plain {
            Ok(out) => Ok(out),
            Err(Attempt::Failed(e)) => Err(e),
            Err(Attempt::Replicated) => self.store.atomically(|| {
                let out = self.store.update_secret(arn, |txn| guarded(txn, &mut f))?;
                self.sync_replicas(arn)?;
                Ok(out)
            }),
        }
    }

    /// [`Self::write_secret`] for a write that adds the version `version_id`
    /// (`Store::add_secret_version`).
    pub(crate) fn write_secret_version<T, E, F>(
        &self,
        arn: &str,
        version_id: &str,
        prune: VersionPruning,
        mut f: F,
    ) -> Result<T, E>
    where
        F: FnMut(&mut SecretTxn) -> Result<T, E>,
        E: From<StoreError> + From<CoreError>,
    {
        let plain = self
            .store
            .add_secret_version(arn, version_id, prune, |txn| plain_attempt(txn, &mut f));
        match plain {
            Ok(out) => Ok(out),
            Err(Attempt::Failed(e)) => Err(e),
            Err(Attempt::Replicated) => self.store.atomically(|| {
                let out = self
                    .store
                    .add_secret_version(arn, version_id, prune, |txn| guarded(txn, &mut f))?;
                self.sync_replicas(arn)?;
                Ok(out)
            }),
        }
    }

    /// Bring every replica of the primary `arn` that is in sync to the primary's state as
    /// this transaction sees it. Runs inside the transaction of the write to the primary.
    pub(crate) fn sync_replicas(&self, arn: &str) -> Result<(), CoreError> {
        let Some(primary) = self.store.find_secret_by_arn(arn)? else {
            return Ok(());
        };
        let mut failed = Vec::new();
        for replica in replicas_of(&primary)?.iter().filter(|r| r.in_sync()) {
            // A replica's customer key disabled (or pending deletion) since it was made seals
            // nothing more: the region drops out of sync, as AWS reports it, and the primary's
            // write goes on. Replicating to the region again brings it back once the key is.
            if let Some(why) = self.replica_key_unusable(&primary, replica)? {
                failed.push((replica.region.clone(), why));
                continue;
            }
            self.mirror(&primary, replica)?;
        }
        if failed.is_empty() {
            return Ok(());
        }
        self.store.update_secret(arn, |txn| {
            let mut replicas = replicas_of(&txn.record)?;
            for replica in &mut replicas {
                if let Some((_, why)) = failed.iter().find(|(r, _)| *r == replica.region) {
                    replica.failure = Some(why.clone());
                }
            }
            Replication::Primary { replicas }.store(&mut txn.record)
        })
    }

    /// Why `replica`'s customer key can no longer seal its copies (`Some`), or `None` (the
    /// region's AWS managed key, or a customer key that is enabled).
    fn replica_key_unusable(
        &self,
        primary: &SecretRecord,
        replica: &ReplicaState,
    ) -> Result<Option<String>, CoreError> {
        let scope = replica_scope(primary, &replica.region)?;
        if crate::keyring::Keyring::names_default_key(&scope, replica.kms_key_id.as_deref()) {
            return Ok(None);
        }
        let usable =
            match self
                .keyring
                .resolve_key(&self.store, &scope, replica.kms_key_id.as_deref())
            {
                Ok(key) => {
                    use tresor_store::KmsStore;
                    self.store
                        .get_kms_key_meta(&scope, &key.key_id)?
                        .is_some_and(|m| m.state == tresor_store::KmsKeyState::Enabled)
                }
                Err(CoreError::ResourceNotFound(_)) => false,
                Err(e) => return Err(e),
            };
        Ok((!usable).then(|| {
            format!(
                "Replication failed: {}",
                super::keys::encryption_failure().message()
            )
        }))
    }

    /// Make the replica in `replica.region` a copy of `primary` (which carries all its
    /// versions): metadata copied, versions it lacks sealed again under the replica's key,
    /// versions the primary no longer has removed, labels as on the primary.
    pub(crate) fn mirror(
        &self,
        primary: &SecretRecord,
        replica: &ReplicaState,
    ) -> Result<(), CoreError> {
        let replica_arn = arn_in_region(&primary.arn, &replica.region)
            .ok_or_else(|| CoreError::Internal("a primary ARN without a region".to_owned()))?;
        let scope = replica_scope(primary, &replica.region)?;
        let key = self
            .keyring
            .resolve_key(&self.store, &scope, replica.kms_key_id.as_deref())?;
        // Sealed before the replica's row is opened for writing: reads made inside a write's
        // closure may not see this transaction's own writes (SQLite reads them elsewhere).
        let held = self
            .store
            .find_secret_by_arn(&replica_arn)?
            .ok_or_else(|| CoreError::Internal("a listed replica is missing".to_owned()))?;
        let mut sealed = HashMap::new();
        for version in &primary.versions {
            let stale = match held.version(&version.version_id) {
                None => true,
                // A pending version the primary has since filled is copied again.
                Some(copy) => is_empty_version(copy) && !is_empty_version(version),
            };
            if stale {
                let copy = self.reseal(primary, version, &replica_arn, &key)?;
                sealed.insert(version.version_id.as_str(), copy);
            }
        }
        self.store.update_secret(&replica_arn, |txn| {
            txn.record.description = primary.description.clone();
            txn.record.tags = primary.tags.clone();
            txn.record.resource_policy = primary.resource_policy.clone();
            txn.record.last_changed = primary.last_changed;
            txn.record
                .versions
                .retain(|v| primary.version(&v.version_id).is_some());
            for version in &primary.versions {
                let id = version.version_id.as_str();
                if let Some((meta, envelope)) = sealed.get(id) {
                    txn.remove_version(id);
                    txn.add_version(meta.clone(), envelope.clone());
                    continue;
                }
                let copy = txn
                    .record
                    .versions
                    .iter_mut()
                    .find(|v| v.version_id == id)
                    .ok_or_else(|| {
                        CoreError::Internal("a replica changed while it was synced".to_owned())
                    })?;
                copy.stages = version.stages.clone();
            }
            Ok::<_, CoreError>(())
        })
    }

    /// A version of `primary` sealed for the replica `replica_arn` under `key`. A version
    /// without a value (a rotation's pending one) stays without one.
    fn reseal(
        &self,
        primary: &SecretRecord,
        version: &VersionMeta,
        replica_arn: &str,
        key: &tresor_store::KmsKeyRecord,
    ) -> Result<(VersionMeta, Vec<u8>), CoreError> {
        let mut meta = VersionMeta {
            last_accessed: None,
            kms_key_id: key.key_id.clone(),
            ..version.clone()
        };
        if is_empty_version(version) {
            return Ok((meta, Vec::new()));
        }
        let envelope = self
            .store
            .read_envelope(&primary.arn, &version.version_id)?
            .ok_or_else(|| CoreError::Internal("version without a sealed value".to_owned()))?;
        let (kind, value) = self.keyring.open_value(
            &self.store,
            &primary.scope,
            &primary.arn,
            &version.version_id,
            &envelope,
        )?;
        meta.value_digest = self.keyring.value_digest(replica_arn, kind, &value);
        let sealed =
            self.keyring
                .seal_value(key, replica_arn, &version.version_id, kind, &value)?;
        Ok((meta, sealed))
    }
}

/// How the first, plain attempt of a write ended when it did not succeed.
enum Attempt<E> {
    Failed(E),
    /// The secret is a primary or a replica: nothing was done, the write runs again with its
    /// replicas (or is refused).
    Replicated,
}

impl<E: From<StoreError>> From<StoreError> for Attempt<E> {
    fn from(e: StoreError) -> Self {
        Self::Failed(E::from(e))
    }
}

/// Run a write's closure on a secret without replication. A replicated one, or one the
/// closure makes a primary, is left untouched (the transaction is rolled back).
fn plain_attempt<T, E, F>(txn: &mut SecretTxn, f: &mut F) -> Result<T, Attempt<E>>
where
    F: FnMut(&mut SecretTxn) -> Result<T, E>,
{
    if txn.record.replication.is_some() {
        return Err(Attempt::Replicated);
    }
    let out = f(txn).map_err(Attempt::Failed)?;
    if txn.record.replication.is_some() {
        return Err(Attempt::Replicated);
    }
    Ok(out)
}

/// Run a write's closure unless the secret is a replica.
fn guarded<T, E, F>(txn: &mut SecretTxn, f: &mut F) -> Result<T, E>
where
    F: FnMut(&mut SecretTxn) -> Result<T, E>,
    E: From<CoreError>,
{
    if is_replica(&txn.record) {
        return Err(not_on_replica().into());
    }
    f(txn)
}

/// The scope of the primary's account in `region`.
pub(crate) fn replica_scope(primary: &SecretRecord, region: &str) -> Result<Scope, CoreError> {
    Ok(Scope {
        account: primary.scope.account.clone(),
        region: Region::parse(region).map_err(|_| invalid_region())?,
    })
}

/// AWS's answer to a replica region that cannot be one.
pub(crate) fn invalid_region() -> CoreError {
    CoreError::InvalidParameter("Invalid replica region.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_arn_differs_only_by_region() {
        assert_eq!(
            arn_in_region(
                "arn:aws:secretsmanager:us-east-1:111122223333:secret:a:b-AbCdEf",
                "eu-west-1"
            )
            .as_deref(),
            Some("arn:aws:secretsmanager:eu-west-1:111122223333:secret:a:b-AbCdEf")
        );
        assert_eq!(arn_in_region("not-an-arn", "eu-west-1"), None);
    }

    #[test]
    fn state_round_trips_and_an_unreadable_one_counts_as_a_replica() {
        let mut record = SecretRecord {
            scope: Scope {
                account: tresor_types::AccountId::parse("111122223333").unwrap(),
                region: Region::parse("us-east-1").unwrap(),
            },
            arn: "arn:aws:secretsmanager:us-east-1:111122223333:secret:s-AbCdEf".to_owned(),
            name: "s".to_owned(),
            description: None,
            kms_key_id: None,
            tags: vec![],
            resource_policy: None,
            rotation: None,
            replication: None,
            created: tresor_types::Timestamp(0),
            last_changed: tresor_types::Timestamp(0),
            last_accessed: None,
            deletion: None,
            versions: vec![],
        };
        assert!(!is_replica(&record));
        assert_eq!(primary_region(&record), None);
        Replication::Primary {
            replicas: vec![ReplicaState {
                region: "eu-west-1".to_owned(),
                kms_key_id: None,
                failure: None,
            }],
        }
        .store(&mut record)
        .unwrap();
        assert!(!is_replica(&record));
        assert_eq!(primary_region(&record).as_deref(), Some("us-east-1"));
        assert_eq!(replicas_of(&record).unwrap().len(), 1);
        // No replicas left: a plain secret again.
        Replication::Primary { replicas: vec![] }
            .store(&mut record)
            .unwrap();
        assert_eq!(record.replication, None);
        Replication::Replica {
            primary_region: "us-west-2".to_owned(),
        }
        .store(&mut record)
        .unwrap();
        assert!(is_replica(&record));
        assert_eq!(primary_region(&record).as_deref(), Some("us-west-2"));
        record.replication = Some("{not json".to_owned());
        assert!(is_replica(&record));
        assert!(replicas_of(&record).is_err());
    }
}
