//! `ReplicateSecretToRegions`, `RemoveRegionsFromReplication`, `StopReplicationToReplica`, and
//! `CreateSecret`'s `AddReplicaRegions`: which regions hold a replica of a secret. Each runs in
//! the one transaction of its request: replica rows are created or purged, and the primary's
//! list changed through [`Core::write_secret`], which then copies the primary into every
//! replica in sync (see [`super::replication`]).

use tresor_store::{SecretKey, SecretRecord, Store, StoreError};

use super::dto::*;
use super::replication::{
    arn_in_region, invalid_region, is_replica, replica_scope, replicas_of, ReplicaState,
    Replication,
};
use super::resolve::{ensure_not_deleted, Access};
use super::Operation;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

/// A replica region asked for, with the key the caller named for it.
pub(crate) struct WantedReplica {
    region: String,
    kms_key_id: Option<String>,
}

/// Check the regions of `AddReplicaRegions` for a primary in `home` that already has
/// `existing` replicas: each must be a region name other than the primary's, named once.
pub(crate) fn wanted_replicas(
    home: &str,
    existing: &[ReplicaState],
    asked: Vec<ReplicaRegionType>,
) -> Result<Vec<WantedReplica>, CoreError> {
    let mut wanted: Vec<WantedReplica> = Vec::new();
    for r in asked {
        let region = r.region.map(String::from).unwrap_or_default();
        if tresor_types::Region::parse(&region).is_err()
            || region == home
            || wanted.iter().any(|w| w.region == region)
        {
            return Err(invalid_region());
        }
        if existing.iter().any(|e| e.region == region && e.in_sync()) {
            return Err(CoreError::InvalidParameter(format!(
                "The secret is already replicated to the Region {region}."
            )));
        }
        wanted.push(WantedReplica {
            region,
            kms_key_id: r.kms_key_id.filter(|k| !k.trim().is_empty()),
        });
    }
    Ok(wanted)
}

/// Why a replica cannot be created: AWS's message for a name taken in its region.
fn name_taken_in(name: &str, region: &str) -> String {
    format!("Replication failed: Secret name {name} already exists in region {region}.")
}

impl Core {
    pub fn replicate_secret_to_regions(
        &self,
        ctx: &RequestContext,
        req: Validated<ReplicateSecretToRegionsRequest>,
    ) -> Result<ReplicationResponse, CoreError> {
        let req = req.into_inner();
        let record = self.resolve_secret(
            ctx,
            req.secret_id.as_deref().unwrap_or_default(),
            Access::to(Operation::ReplicateSecretToRegions),
        )?;
        ensure_not_deleted(&record)?;
        let wanted = wanted_replicas(
            record.scope.region.as_str(),
            &replicas_of(&record)?,
            req.add_replica_regions.unwrap_or_default(),
        )?;
        let force = req.force_overwrite_replica_secret.unwrap_or(false);
        let replication_status = self.add_replicas(ctx, &record, wanted, force)?;
        Ok(ReplicationResponse {
            arn: record.arn,
            replication_status,
        })
    }

    /// Create the replicas of `primary` in `wanted` and list them on it (a region where one
    /// cannot be created is listed as `Failed`, as AWS does). Their status, in order.
    pub(crate) fn add_replicas(
        &self,
        ctx: &RequestContext,
        primary: &SecretRecord,
        wanted: Vec<WantedReplica>,
        force: bool,
    ) -> Result<Vec<ReplicationStatusType>, CoreError> {
        let mut added = Vec::new();
        for w in wanted {
            let failure = self.place_replica(ctx, primary, &w, force)?;
            added.push(ReplicaState {
                region: w.region,
                kms_key_id: w.kms_key_id,
                failure,
            });
        }
        // Listing them on the primary makes `write_secret` copy it into each new replica.
        self.write_secret(&primary.arn, |txn| {
            let mut replicas = replicas_of(&txn.record)?;
            for state in &added {
                replicas.retain(|r| r.region != state.region);
                replicas.push(state.clone());
            }
            Replication::Primary { replicas }.store(&mut txn.record)?;
            txn.record.last_changed = ctx.now;
            Ok::<_, CoreError>(())
        })?;
        Ok(added.iter().map(ReplicaState::status).collect())
    }

    /// Why the replica's customer key cannot seal its values, if it cannot: KMS must allow the
    /// caller `kms:GenerateDataKey` on it through Secrets Manager in the replica's region (as
    /// for a secret created there), and the key must be usable. `None` for the region's AWS
    /// managed key. The region is then listed as `Failed` with the reason, as AWS does.
    fn replica_key_refusal(
        &self,
        ctx: &RequestContext,
        scope: &tresor_store::Scope,
        kms_key_id: Option<&str>,
    ) -> Result<Option<String>, CoreError> {
        let Some(id) =
            kms_key_id.filter(|id| !crate::keyring::Keyring::names_default_key(scope, Some(id)))
        else {
            return Ok(None);
        };
        let in_region = RequestContext {
            region: scope.region.clone(),
            ..ctx.clone()
        };
        let via = super::keys::via_secrets_manager(scope.region.as_str());
        let usage = crate::kms::keys::KeyUse {
            action: "kms:GenerateDataKey",
            encryption_context: None,
            via_service: Some(&via),
        };
        match self.kms_key_for_use(&in_region, id.trim(), &usage) {
            Ok(_) => Ok(None),
            Err(e) if e.is_server_error() => Err(e),
            Err(e) => Ok(Some(
                super::keys::as_secrets_manager_error(e, super::keys::KeyPurpose::Seal).message(),
            )),
        }
    }

    /// Create the (empty) row of `primary`'s replica in `w.region`, replacing a plain secret of
    /// that name there if `force`. `Some(why)` when it cannot be created.
    fn place_replica(
        &self,
        ctx: &RequestContext,
        primary: &SecretRecord,
        w: &WantedReplica,
        force: bool,
    ) -> Result<Option<String>, CoreError> {
        let scope = replica_scope(primary, &w.region)?;
        match self
            .keyring
            .resolve_key(&self.store, &scope, w.kms_key_id.as_deref())
        {
            Ok(_) => {}
            Err(CoreError::ResourceNotFound(why)) => {
                return Ok(Some(format!("Replication failed: {why}")))
            }
            Err(e) => return Err(e),
        }
        if let Some(why) = self.replica_key_refusal(ctx, &scope, w.kms_key_id.as_deref())? {
            return Ok(Some(format!("Replication failed: {why}")));
        }
        let own = arn_in_region(&primary.arn, &w.region);
        if let Some(existing) = self.store.find_secret_by_name(&scope, &primary.name)? {
            // This primary's own replica, left out of sync (its key was disabled): taken back
            // as it is, and brought in step by the write that lists it again.
            if is_replica(&existing) && own.as_deref() == Some(existing.arn.as_str()) {
                return Ok(None);
            }
            // Never overwritten: a replica (of another primary) or a primary of replicas of
            // its own.
            let plain = !is_replica(&existing) && replicas_of(&existing)?.is_empty();
            if !(force && plain) {
                return Ok(Some(name_taken_in(&primary.name, &w.region)));
            }
            self.store.purge_secret(&existing.arn)?;
        }
        let arn = arn_in_region(&primary.arn, &w.region)
            .ok_or_else(|| CoreError::Internal("a primary ARN without a region".to_owned()))?;
        let mut replica = SecretRecord {
            scope,
            arn,
            name: primary.name.clone(),
            description: primary.description.clone(),
            kms_key_id: w.kms_key_id.clone(),
            tags: primary.tags.clone(),
            resource_policy: primary.resource_policy.clone(),
            rotation: None,
            replication: None,
            created: ctx.now,
            last_changed: primary.last_changed,
            last_accessed: None,
            deletion: None,
            versions: Vec::new(),
        };
        Replication::Replica {
            primary_region: primary.scope.region.as_str().to_owned(),
        }
        .store(&mut replica)?;
        match self.store.create_secret(&replica, None) {
            Ok(()) => Ok(None),
            Err(StoreError::SecretExists { .. } | StoreError::Conflict) => {
                Ok(Some(name_taken_in(&primary.name, &w.region)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Fill in `LastAccessedDate` of each replica region listed in `statuses` of `primary`:
    /// when the replica in that region was last read.
    pub(crate) fn replicas_last_accessed(
        &self,
        primary: &SecretRecord,
        statuses: &mut [ReplicationStatusType],
    ) -> Result<(), CoreError> {
        for status in statuses.iter_mut() {
            let Some(arn) = arn_in_region(&primary.arn, &status.region) else {
                continue;
            };
            status.last_accessed_date = self
                .store
                .find_secret_labelled(SecretKey::Arn(&arn), None)?
                .and_then(|replica| replica.last_accessed);
        }
        Ok(())
    }

    pub fn remove_regions_from_replication(
        &self,
        ctx: &RequestContext,
        req: Validated<RemoveRegionsFromReplicationRequest>,
    ) -> Result<ReplicationResponse, CoreError> {
        let req = req.into_inner();
        let record = self.resolve_secret(
            ctx,
            req.secret_id.as_deref().unwrap_or_default(),
            Access::to(Operation::RemoveRegionsFromReplication),
        )?;
        let regions: Vec<String> = req
            .remove_replica_regions
            .unwrap_or_default()
            .into_iter()
            .map(String::from)
            .collect();
        // A region that holds no replica is left as it is: removing one twice is no error.
        let (removed, remaining) = self.write_secret(&record.arn, |txn| {
            let (removed, kept): (Vec<_>, Vec<_>) = replicas_of(&txn.record)?
                .into_iter()
                .partition(|r| regions.contains(&r.region));
            Replication::Primary {
                replicas: kept.clone(),
            }
            .store(&mut txn.record)?;
            if !removed.is_empty() {
                txn.record.last_changed = ctx.now;
            }
            Ok::<_, CoreError>((removed, kept))
        })?;
        // A region out of sync may still hold this primary's copy (its key was disabled after
        // it was made): it goes too. `purge_replica` removes only this primary's own replica.
        for gone in &removed {
            self.purge_replica(&record, &gone.region)?;
        }
        Ok(ReplicationResponse {
            arn: record.arn,
            replication_status: remaining.iter().map(ReplicaState::status).collect(),
        })
    }

    /// Delete the replica of `primary` in `region`, if that region holds one of it.
    fn purge_replica(&self, primary: &SecretRecord, region: &str) -> Result<(), CoreError> {
        let Some(arn) = arn_in_region(&primary.arn, region) else {
            return Ok(());
        };
        let Some(replica) = self.store.find_secret_by_arn(&arn)? else {
            return Ok(());
        };
        let ours = matches!(
            Replication::of(&replica)?,
            Some(Replication::Replica { primary_region }) if primary_region == primary.scope.region.as_str()
        );
        if ours {
            match self.store.purge_secret(&arn) {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    pub fn stop_replication_to_replica(
        &self,
        ctx: &RequestContext,
        req: Validated<SecretIdRequest>,
    ) -> Result<StopReplicationToReplicaResponse, CoreError> {
        let record = self.resolve_secret_request(
            ctx,
            req.secret_id.as_deref(),
            Operation::StopReplicationToReplica,
        )?;
        let not_a_replica = || {
            CoreError::InvalidRequest(
                "StopReplicationToReplica can only be called on a replica secret.".to_owned(),
            )
        };
        let Some(Replication::Replica { primary_region }) = Replication::of(&record)? else {
            return Err(not_a_replica());
        };
        let here = record.scope.region.as_str().to_owned();
        // The primary first, the order every write to a primary takes its replicas in.
        if let Some(primary_arn) = arn_in_region(&record.arn, &primary_region) {
            let unlisted = self.write_secret(&primary_arn, |txn| {
                let mut replicas = replicas_of(&txn.record)?;
                replicas.retain(|r| r.region != here);
                Replication::Primary { replicas }.store(&mut txn.record)?;
                Ok::<_, CoreError>(())
            });
            match unlisted {
                // A primary deleted meanwhile leaves its replica to be promoted all the same.
                Ok(()) | Err(CoreError::ResourceNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        self.store.update_secret(&record.arn, |txn| {
            if !is_replica(&txn.record) {
                return Err(not_a_replica());
            }
            txn.record.replication = None;
            txn.record.last_changed = ctx.now;
            Ok(())
        })?;
        Ok(StopReplicationToReplicaResponse { arn: record.arn })
    }
}

/// AWS's answer to deleting a primary that still has replicas.
pub(crate) fn refuse_deleting_primary(record: &SecretRecord) -> Result<(), CoreError> {
    let replicas = replicas_of(record)?;
    if replicas.is_empty() {
        return Ok(());
    }
    let regions: Vec<&str> = replicas.iter().map(|r| r.region.as_str()).collect();
    Err(CoreError::InvalidParameter(format!(
        "You can't delete secret {} that still has replica regions [{}].",
        record.arn,
        regions.join(", ")
    )))
}
