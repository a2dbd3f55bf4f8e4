//! The IAM API (awsQuery): users and their access keys, roles with trust policies, inline and
//! customer managed policies, and attachments.
//!
//! Data path: the server decodes the form-encoded request into nested JSON whose scalars are all
//! strings and calls [`dispatch`] with the [`Operation`] named by `Action`. Each operation
//! decodes its typed request ([`params`]), validates it against the botocore model
//! ([`validate`]), changes identity state in one [`tresor_store::IdentityStore`] call, and
//! answers its `<Action>Result` as JSON (dates as ISO 8601 strings, policy documents
//! URL-encoded as IAM returns them), which the server writes as XML. An access key's secret
//! leaves exactly once, in the `CreateAccessKey` answer, and is stored only sealed.

mod access_keys;
mod attachments;
mod authorize;
pub mod dto;
pub(crate) mod errors;
pub(crate) mod format;
mod inline_policies;
mod managed_policies;
mod owner;
pub(crate) mod paging;
pub(crate) mod params;
mod roles;
#[cfg(test)]
pub(crate) mod tests;
mod users;
pub(crate) mod validate;

use serde_json::Value;

use crate::{Core, CoreError, RequestContext};
use params::{decode, encode};

/// The IAM operations Tresor serves (a subset of the botocore `iam` model, 2010-05-08).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateUser,
    GetUser,
    ListUsers,
    DeleteUser,
    TagUser,
    UntagUser,
    ListUserTags,
    CreateAccessKey,
    ListAccessKeys,
    UpdateAccessKey,
    DeleteAccessKey,
    PutUserPolicy,
    GetUserPolicy,
    ListUserPolicies,
    DeleteUserPolicy,
    CreatePolicy,
    GetPolicy,
    GetPolicyVersion,
    ListPolicies,
    DeletePolicy,
    CreatePolicyVersion,
    ListPolicyVersions,
    SetDefaultPolicyVersion,
    DeletePolicyVersion,
    AttachUserPolicy,
    DetachUserPolicy,
    ListAttachedUserPolicies,
    CreateRole,
    GetRole,
    ListRoles,
    DeleteRole,
    UpdateAssumeRolePolicy,
    PutRolePolicy,
    GetRolePolicy,
    ListRolePolicies,
    DeleteRolePolicy,
    AttachRolePolicy,
    DetachRolePolicy,
    ListAttachedRolePolicies,
}

impl Operation {
    pub const ALL: [Operation; 39] = [
        Self::CreateUser,
        Self::GetUser,
        Self::ListUsers,
        Self::DeleteUser,
        Self::TagUser,
        Self::UntagUser,
        Self::ListUserTags,
        Self::CreateAccessKey,
        Self::ListAccessKeys,
        Self::UpdateAccessKey,
        Self::DeleteAccessKey,
        Self::PutUserPolicy,
        Self::GetUserPolicy,
        Self::ListUserPolicies,
        Self::DeleteUserPolicy,
        Self::CreatePolicy,
        Self::GetPolicy,
        Self::GetPolicyVersion,
        Self::ListPolicies,
        Self::DeletePolicy,
        Self::CreatePolicyVersion,
        Self::ListPolicyVersions,
        Self::SetDefaultPolicyVersion,
        Self::DeletePolicyVersion,
        Self::AttachUserPolicy,
        Self::DetachUserPolicy,
        Self::ListAttachedUserPolicies,
        Self::CreateRole,
        Self::GetRole,
        Self::ListRoles,
        Self::DeleteRole,
        Self::UpdateAssumeRolePolicy,
        Self::PutRolePolicy,
        Self::GetRolePolicy,
        Self::ListRolePolicies,
        Self::DeleteRolePolicy,
        Self::AttachRolePolicy,
        Self::DetachRolePolicy,
        Self::ListAttachedRolePolicies,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CreateUser => "CreateUser",
            Self::GetUser => "GetUser",
            Self::ListUsers => "ListUsers",
            Self::DeleteUser => "DeleteUser",
            Self::TagUser => "TagUser",
            Self::UntagUser => "UntagUser",
            Self::ListUserTags => "ListUserTags",
            Self::CreateAccessKey => "CreateAccessKey",
            Self::ListAccessKeys => "ListAccessKeys",
            Self::UpdateAccessKey => "UpdateAccessKey",
            Self::DeleteAccessKey => "DeleteAccessKey",
            Self::PutUserPolicy => "PutUserPolicy",
            Self::GetUserPolicy => "GetUserPolicy",
            Self::ListUserPolicies => "ListUserPolicies",
            Self::DeleteUserPolicy => "DeleteUserPolicy",
            Self::CreatePolicy => "CreatePolicy",
            Self::GetPolicy => "GetPolicy",
            Self::GetPolicyVersion => "GetPolicyVersion",
            Self::ListPolicies => "ListPolicies",
            Self::DeletePolicy => "DeletePolicy",
            Self::CreatePolicyVersion => "CreatePolicyVersion",
            Self::ListPolicyVersions => "ListPolicyVersions",
            Self::SetDefaultPolicyVersion => "SetDefaultPolicyVersion",
            Self::DeletePolicyVersion => "DeletePolicyVersion",
            Self::AttachUserPolicy => "AttachUserPolicy",
            Self::DetachUserPolicy => "DetachUserPolicy",
            Self::ListAttachedUserPolicies => "ListAttachedUserPolicies",
            Self::CreateRole => "CreateRole",
            Self::GetRole => "GetRole",
            Self::ListRoles => "ListRoles",
            Self::DeleteRole => "DeleteRole",
            Self::UpdateAssumeRolePolicy => "UpdateAssumeRolePolicy",
            Self::PutRolePolicy => "PutRolePolicy",
            Self::GetRolePolicy => "GetRolePolicy",
            Self::ListRolePolicies => "ListRolePolicies",
            Self::DeleteRolePolicy => "DeleteRolePolicy",
            Self::AttachRolePolicy => "AttachRolePolicy",
            Self::DetachRolePolicy => "DetachRolePolicy",
            Self::ListAttachedRolePolicies => "ListAttachedRolePolicies",
        }
    }

    /// Parse the request's `Action` parameter (exact, case-sensitive, as AWS does).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The IAM action that authorizes this operation (`iam:CreateUser`).
    pub fn iam_action(self) -> String {
        format!("iam:{}", self.name())
    }

    /// Operations that change nothing (CloudTrail's `readOnly`).
    pub fn is_read_only(self) -> bool {
        let name = self.name();
        name.starts_with("Get") || name.starts_with("List")
    }
}

/// Run one IAM operation. `params` is the request's form parameters as nested JSON (scalars as
/// strings); the answer is the `<Action>Result` content as JSON.
pub fn dispatch(
    core: &Core,
    ctx: &RequestContext,
    op: Operation,
    params: Value,
) -> Result<Value, CoreError> {
    use Operation as O;
    core.authorize_iam(ctx, op, &params)?;
    let p = params;
    match op {
        O::CreateUser => encode(core.create_user(ctx, decode(p)?)),
        O::GetUser => encode(core.get_user(ctx, decode(p)?)),
        O::ListUsers => encode(core.list_users(ctx, decode(p)?)),
        O::DeleteUser => encode(core.delete_user(ctx, decode(p)?)),
        O::TagUser => encode(core.tag_user(ctx, decode(p)?)),
        O::UntagUser => encode(core.untag_user(ctx, decode(p)?)),
        O::ListUserTags => encode(core.list_user_tags(ctx, decode(p)?)),
        O::CreateAccessKey => encode(core.create_access_key(ctx, decode(p)?)),
        O::ListAccessKeys => encode(core.list_access_keys(ctx, decode(p)?)),
        O::UpdateAccessKey => encode(core.update_access_key(ctx, decode(p)?)),
        O::DeleteAccessKey => encode(core.delete_access_key(ctx, decode(p)?)),
        O::PutUserPolicy => encode(core.put_user_policy(ctx, decode(p)?)),
        O::GetUserPolicy => encode(core.get_user_policy(ctx, decode(p)?)),
        O::ListUserPolicies => encode(core.list_user_policies(ctx, decode(p)?)),
        O::DeleteUserPolicy => encode(core.delete_user_policy(ctx, decode(p)?)),
        O::CreatePolicy => encode(core.create_policy(ctx, decode(p)?)),
        O::GetPolicy => encode(core.get_policy(ctx, decode(p)?)),
        O::GetPolicyVersion => encode(core.get_policy_version(ctx, decode(p)?)),
        O::ListPolicies => encode(core.list_policies(ctx, decode(p)?)),
        O::DeletePolicy => encode(core.delete_policy(ctx, decode(p)?)),
        O::CreatePolicyVersion => encode(core.create_policy_version(ctx, decode(p)?)),
        O::ListPolicyVersions => encode(core.list_policy_versions(ctx, decode(p)?)),
        O::SetDefaultPolicyVersion => encode(core.set_default_policy_version(ctx, decode(p)?)),
        O::DeletePolicyVersion => encode(core.delete_policy_version(ctx, decode(p)?)),
        O::AttachUserPolicy => encode(core.attach_user_policy(ctx, decode(p)?)),
        O::DetachUserPolicy => encode(core.detach_user_policy(ctx, decode(p)?)),
        O::ListAttachedUserPolicies => encode(core.list_attached_user_policies(ctx, decode(p)?)),
        O::CreateRole => encode(core.create_role(ctx, decode(p)?)),
        O::GetRole => encode(core.get_role(ctx, decode(p)?)),
        O::ListRoles => encode(core.list_roles(ctx, decode(p)?)),
        O::DeleteRole => encode(core.delete_role(ctx, decode(p)?)),
        O::UpdateAssumeRolePolicy => encode(core.update_assume_role_policy(ctx, decode(p)?)),
        O::PutRolePolicy => encode(core.put_role_policy(ctx, decode(p)?)),
        O::GetRolePolicy => encode(core.get_role_policy(ctx, decode(p)?)),
        O::ListRolePolicies => encode(core.list_role_policies(ctx, decode(p)?)),
        O::DeleteRolePolicy => encode(core.delete_role_policy(ctx, decode(p)?)),
        O::AttachRolePolicy => encode(core.attach_role_policy(ctx, decode(p)?)),
        O::DetachRolePolicy => encode(core.detach_role_policy(ctx, decode(p)?)),
        O::ListAttachedRolePolicies => encode(core.list_attached_role_policies(ctx, decode(p)?)),
    }
}

#[cfg(test)]
mod operation_tests {
    use super::*;

    #[test]
    fn names_round_trip_for_all_operations() {
        let mut names: Vec<_> = Operation::ALL.iter().map(|o| o.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Operation::ALL.len());
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(op));
        }
        assert_eq!(Operation::from_name("createUser"), None);
        assert_eq!(Operation::CreateUser.iam_action(), "iam:CreateUser");
        assert!(Operation::ListAttachedRolePolicies.is_read_only());
        assert!(Operation::GetPolicyVersion.is_read_only());
        assert!(!Operation::DeleteUser.is_read_only());
        assert!(!Operation::UpdateAssumeRolePolicy.is_read_only());
    }
}
