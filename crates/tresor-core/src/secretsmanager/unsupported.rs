//! Replication: its engine arrives in a later issue. Until then each operation
//! takes its validated input, resolves the secret (so a missing secret still answers
//! `ResourceNotFoundException`), and then refuses with a clear `InvalidRequestException`: never
//! a fake success.

use super::dto::*;
use super::resolve::Access;
use super::Operation;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

pub(crate) fn replication_unavailable() -> CoreError {
    CoreError::InvalidRequest(
        "Replication is not available in this version of Tresor: no replica was created or changed."
            .to_owned(),
    )
}

impl Core {
    pub fn replicate_secret_to_regions(
        &self,
        ctx: &RequestContext,
        req: Validated<ReplicateSecretToRegionsRequest>,
    ) -> Result<Empty, CoreError> {
        self.resolve_secret(
            ctx,
            req.secret_id.as_deref().unwrap_or_default(),
            Access::to(Operation::ReplicateSecretToRegions),
        )?;
        Err(replication_unavailable())
    }

    pub fn remove_regions_from_replication(
        &self,
        ctx: &RequestContext,
        req: Validated<RemoveRegionsFromReplicationRequest>,
    ) -> Result<Empty, CoreError> {
        self.resolve_secret(
            ctx,
            req.secret_id.as_deref().unwrap_or_default(),
            Access::to(Operation::RemoveRegionsFromReplication),
        )?;
        Err(replication_unavailable())
    }

    pub fn stop_replication_to_replica(
        &self,
        ctx: &RequestContext,
        req: Validated<SecretIdRequest>,
    ) -> Result<Empty, CoreError> {
        self.resolve_secret_request(
            ctx,
            req.secret_id.as_deref(),
            Operation::StopReplicationToReplica,
        )?;
        Err(replication_unavailable())
    }

    pub fn associate_cross_account_replica(
        &self,
        ctx: &RequestContext,
        req: Validated<AssociateCrossAccountReplicaRequest>,
    ) -> Result<Empty, CoreError> {
        self.cross_account_replica(ctx, &req.0, Operation::AssociateCrossAccountReplica)
    }

    pub fn disassociate_cross_account_replica(
        &self,
        ctx: &RequestContext,
        req: Validated<DisassociateCrossAccountReplicaRequest>,
    ) -> Result<Empty, CoreError> {
        self.cross_account_replica(ctx, &req.0, Operation::DisassociateCrossAccountReplica)
    }

    fn cross_account_replica(
        &self,
        ctx: &RequestContext,
        req: &CrossAccountReplicaRequest,
        op: Operation,
    ) -> Result<Empty, CoreError> {
        self.resolve_secret(
            ctx,
            req.secret_id.as_deref().unwrap_or_default(),
            Access::to(op),
        )?;
        Err(replication_unavailable())
    }
}
