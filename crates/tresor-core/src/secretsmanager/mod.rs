//! The Secrets Manager API: one function per operation on [`crate::Core`].

pub mod dto;
mod filters;
pub(crate) mod keys;
mod lifecycle;
mod listing;
mod model;
mod password;
mod policy;
mod read;
mod replicate;
pub(crate) mod replication;
pub(crate) mod resolve;
mod rotate;
mod stages;
mod tags;
mod unsupported;
pub mod validate;
pub(crate) mod write;

/// Every operation of the botocore `secretsmanager` model (2017-10-17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    BatchGetSecretValue,
    CancelRotateSecret,
    CreateSecret,
    DeleteResourcePolicy,
    DeleteSecret,
    DescribeSecret,
    GetRandomPassword,
    GetResourcePolicy,
    GetSecretValue,
    ListResourcePolicies,
    ListSecretVersionIds,
    ListSecrets,
    PutResourcePolicy,
    PutSecretValue,
    RemoveRegionsFromReplication,
    ReplicateSecretToRegions,
    RestoreSecret,
    RotateSecret,
    StopReplicationToReplica,
    TagResource,
    UntagResource,
    UpdateSecret,
    UpdateSecretVersionStage,
    ValidateResourcePolicy,
    AssociateCrossAccountReplica,
    DisassociateCrossAccountReplica,
}

impl Operation {
    pub const ALL: [Operation; 26] = [
        Self::BatchGetSecretValue,
        Self::CancelRotateSecret,
        Self::CreateSecret,
        Self::DeleteResourcePolicy,
        Self::DeleteSecret,
        Self::DescribeSecret,
        Self::GetRandomPassword,
        Self::GetResourcePolicy,
        Self::GetSecretValue,
        Self::ListResourcePolicies,
        Self::ListSecretVersionIds,
        Self::ListSecrets,
        Self::PutResourcePolicy,
        Self::PutSecretValue,
        Self::RemoveRegionsFromReplication,
        Self::ReplicateSecretToRegions,
        Self::RestoreSecret,
        Self::RotateSecret,
        Self::StopReplicationToReplica,
        Self::TagResource,
        Self::UntagResource,
        Self::UpdateSecret,
        Self::UpdateSecretVersionStage,
        Self::ValidateResourcePolicy,
        Self::AssociateCrossAccountReplica,
        Self::DisassociateCrossAccountReplica,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::BatchGetSecretValue => "BatchGetSecretValue",
            Self::CancelRotateSecret => "CancelRotateSecret",
            Self::CreateSecret => "CreateSecret",
            Self::DeleteResourcePolicy => "DeleteResourcePolicy",
            Self::DeleteSecret => "DeleteSecret",
            Self::DescribeSecret => "DescribeSecret",
            Self::GetRandomPassword => "GetRandomPassword",
            Self::GetResourcePolicy => "GetResourcePolicy",
            Self::GetSecretValue => "GetSecretValue",
            Self::ListResourcePolicies => "ListResourcePolicies",
            Self::ListSecretVersionIds => "ListSecretVersionIds",
            Self::ListSecrets => "ListSecrets",
            Self::PutResourcePolicy => "PutResourcePolicy",
            Self::PutSecretValue => "PutSecretValue",
            Self::RemoveRegionsFromReplication => "RemoveRegionsFromReplication",
            Self::ReplicateSecretToRegions => "ReplicateSecretToRegions",
            Self::RestoreSecret => "RestoreSecret",
            Self::RotateSecret => "RotateSecret",
            Self::StopReplicationToReplica => "StopReplicationToReplica",
            Self::TagResource => "TagResource",
            Self::UntagResource => "UntagResource",
            Self::UpdateSecret => "UpdateSecret",
            Self::UpdateSecretVersionStage => "UpdateSecretVersionStage",
            Self::ValidateResourcePolicy => "ValidateResourcePolicy",
            Self::AssociateCrossAccountReplica => "AssociateCrossAccountReplica",
            Self::DisassociateCrossAccountReplica => "DisassociateCrossAccountReplica",
        }
    }

    /// Parse the operation part of `X-Amz-Target: secretsmanager.<Op>`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The IAM action that authorizes this operation.
    pub fn iam_action(self) -> String {
        format!("secretsmanager:{}", self.name())
    }

    /// Operations that change nothing (CloudTrail's `readOnly`).
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Self::BatchGetSecretValue
                | Self::DescribeSecret
                | Self::GetRandomPassword
                | Self::GetResourcePolicy
                | Self::GetSecretValue
                | Self::ListResourcePolicies
                | Self::ListSecretVersionIds
                | Self::ListSecrets
                | Self::ValidateResourcePolicy
        )
    }
}

/// Staging label that marks the current version.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// Staging label that marks the version `AWSCURRENT` left.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";
/// Staging label of a rotation in progress.
pub const AWSPENDING: &str = "AWSPENDING";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_for_all_26_operations() {
        let mut names: Vec<_> = Operation::ALL.iter().map(|o| o.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 26);
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(op));
        }
        assert_eq!(Operation::from_name("getSecretValue"), None);
        assert_eq!(
            Operation::GetSecretValue.iam_action(),
            "secretsmanager:GetSecretValue"
        );
    }
}
