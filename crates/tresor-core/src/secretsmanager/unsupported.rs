//! Rotation and replication: their engine arrives in a later issue. Until then each operation
//! validates its input, resolves the secret (so a missing secret still answers
//! `ResourceNotFoundException`), and then refuses with a clear `InvalidRequestException`: never
//! a fake success.

use super::dto::*;
use super::resolve::Access;
use super::validate::{self, Validator};
use super::Operation;
use crate::{Core, CoreError, RequestContext};

pub(crate) fn rotation_unavailable() -> CoreError {
    CoreError::InvalidRequest(
        "Rotation is not available in this version of Tresor: no rotation was scheduled or started."
            .to_owned(),
    )
}

pub(crate) fn replication_unavailable() -> CoreError {
    CoreError::InvalidRequest(
        "Replication is not available in this version of Tresor: no replica was created or changed."
            .to_owned(),
    )
}

fn regions(v: &mut Validator, regions: impl Iterator<Item = Option<String>>, at: &str) {
    for (i, r) in regions.enumerate() {
        let at = format!("{at}.{}.member", i + 1);
        v.length(r.as_deref(), &at, 1, 128);
        v.chars(r.as_deref(), &at, "^([a-z]+-)+\\d+$", |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
        });
    }
}

impl Core {
    pub fn rotate_secret(
        &self,
        ctx: &RequestContext,
        req: RotateSecretRequest,
    ) -> Result<ArnNameVersion, CoreError> {
        let mut v = Validator::new();
        v.required(&req.secret_id, "secretId");
        v.length(req.secret_id.as_deref(), "secretId", 1, 2048);
        validate::version_token(
            &mut v,
            req.client_request_token.as_deref(),
            "clientRequestToken",
        );
        v.length(
            req.rotation_lambda_arn.as_deref(),
            "rotationLambdaARN",
            0,
            2048,
        );
        v.length(
            req.external_secret_rotation_role_arn.as_deref(),
            "externalSecretRotationRoleArn",
            20,
            2048,
        );
        if let Some(rules) = &req.rotation_rules {
            v.range(
                rules.automatically_after_days,
                "rotationRules.automaticallyAfterDays",
                1,
                1000,
            );
            v.length(rules.duration.as_deref(), "rotationRules.duration", 2, 3);
            v.length(
                rules.schedule_expression.as_deref(),
                "rotationRules.scheduleExpression",
                1,
                256,
            );
        }
        v.finish()?;
        // The SDKs always send a token; AWS refuses a raw request without one before it looks
        // the secret up.
        if req.client_request_token.is_none() {
            return Err(super::write::missing_token());
        }
        self.resolve_secret(
            ctx,
            req.secret_id.as_deref().unwrap_or_default(),
            Access::to(Operation::RotateSecret),
        )?;
        Err(rotation_unavailable())
    }

    pub fn cancel_rotate_secret(
        &self,
        ctx: &RequestContext,
        req: SecretIdRequest,
    ) -> Result<ArnNameVersion, CoreError> {
        self.resolve_secret_request(ctx, req.secret_id.as_deref(), Operation::CancelRotateSecret)?;
        Err(rotation_unavailable())
    }

    pub fn replicate_secret_to_regions(
        &self,
        ctx: &RequestContext,
        req: ReplicateSecretToRegionsRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        v.required(&req.secret_id, "secretId");
        v.length(req.secret_id.as_deref(), "secretId", 1, 2048);
        v.required(&req.add_replica_regions, "addReplicaRegions");
        v.count(
            req.add_replica_regions.as_deref(),
            "addReplicaRegions",
            1,
            usize::MAX,
        );
        regions(
            &mut v,
            req.add_replica_regions
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.region),
            "addReplicaRegions",
        );
        v.finish()?;
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
        req: RemoveRegionsFromReplicationRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        v.required(&req.secret_id, "secretId");
        v.length(req.secret_id.as_deref(), "secretId", 1, 2048);
        v.required(&req.remove_replica_regions, "removeReplicaRegions");
        v.count(
            req.remove_replica_regions.as_deref(),
            "removeReplicaRegions",
            1,
            usize::MAX,
        );
        regions(
            &mut v,
            req.remove_replica_regions
                .unwrap_or_default()
                .into_iter()
                .map(Some),
            "removeReplicaRegions",
        );
        v.finish()?;
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
        req: SecretIdRequest,
    ) -> Result<Empty, CoreError> {
        self.resolve_secret_request(
            ctx,
            req.secret_id.as_deref(),
            Operation::StopReplicationToReplica,
        )?;
        Err(replication_unavailable())
    }

    pub fn cross_account_replica(
        &self,
        ctx: &RequestContext,
        req: CrossAccountReplicaRequest,
        associate: bool,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        v.required(&req.secret_id, "secretId");
        v.length(req.secret_id.as_deref(), "secretId", 1, 2048);
        v.required(&req.cross_account_replica_arn, "crossAccountReplicaARN");
        v.length(
            req.cross_account_replica_arn.as_deref(),
            "crossAccountReplicaARN",
            20,
            2048,
        );
        if associate {
            v.one_of(
                req.replica_restriction.as_deref(),
                "replicaRestriction",
                &["SameOrg", "NoRestriction"],
            );
            v.length(
                req.replication_role_arn.as_deref(),
                "replicationRoleARN",
                20,
                2048,
            );
        }
        v.finish()?;
        let op = if associate {
            Operation::AssociateCrossAccountReplica
        } else {
            Operation::DisassociateCrossAccountReplica
        };
        self.resolve_secret(
            ctx,
            req.secret_id.as_deref().unwrap_or_default(),
            Access::to(op),
        )?;
        Err(replication_unavailable())
    }
}
