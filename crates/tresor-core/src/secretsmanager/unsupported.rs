//! Cross-account replication (`AssociateCrossAccountReplica`, `DisassociateCrossAccountReplica`)
//! is not built: each operation takes its validated input, resolves the secret (so a missing
//! secret still answers `ResourceNotFoundException`), and then refuses with a clear
//! `InvalidRequestException`: never a fake success. Replication within an account is in
//! [`super::replicate`].

use super::dto::*;
use super::resolve::Access;
use super::Operation;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

pub(crate) fn replication_unavailable() -> CoreError {
    CoreError::InvalidRequest(
        "Cross-account replication is not available in this version of Tresor: no replica was created or changed."
            .to_owned(),
    )
}

impl Core {
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
