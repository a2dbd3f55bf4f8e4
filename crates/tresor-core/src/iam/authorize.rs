//! Which IAM resource each IAM operation acts on, so every call is authorized like the other
//! services: the action is `iam:<Operation>`, the resource the user, role or policy it names
//! (with its real path when it exists), or `*` for listings.

use serde_json::Value;
use tresor_store::IdentityStore;

use super::Operation;
use crate::authz::Resource;
use crate::{Core, CoreError, PrincipalKind, RequestContext};

enum Target {
    User,
    Role,
    Policy,
    Everything,
}

fn target(op: Operation) -> Target {
    use Operation as O;
    match op {
        O::CreateUser
        | O::GetUser
        | O::DeleteUser
        | O::TagUser
        | O::UntagUser
        | O::ListUserTags
        | O::CreateAccessKey
        | O::ListAccessKeys
        | O::UpdateAccessKey
        | O::DeleteAccessKey
        | O::PutUserPolicy
        | O::GetUserPolicy
        | O::ListUserPolicies
        | O::DeleteUserPolicy
        | O::AttachUserPolicy
        | O::DetachUserPolicy
        | O::ListAttachedUserPolicies => Target::User,
        O::CreateRole
        | O::GetRole
        | O::DeleteRole
        | O::UpdateAssumeRolePolicy
        | O::PutRolePolicy
        | O::GetRolePolicy
        | O::ListRolePolicies
        | O::DeleteRolePolicy
        | O::AttachRolePolicy
        | O::DetachRolePolicy
        | O::ListAttachedRolePolicies => Target::Role,
        O::CreatePolicy
        | O::GetPolicy
        | O::GetPolicyVersion
        | O::DeletePolicy
        | O::CreatePolicyVersion
        | O::ListPolicyVersions
        | O::SetDefaultPolicyVersion
        | O::DeletePolicyVersion => Target::Policy,
        O::ListUsers | O::ListPolicies | O::ListRoles => Target::Everything,
    }
}

/// `/` or a `/path/` as given; anything malformed falls back to `/` (validation rejects it
/// later, and the resource only has to be what a policy would name).
fn path_of(params: &Value) -> String {
    params
        .get("Path")
        .and_then(Value::as_str)
        .filter(|p| p.starts_with('/') && p.ends_with('/'))
        .unwrap_or("/")
        .to_owned()
}

impl Core {
    /// The ARN an IAM call acts on.
    fn iam_resource(
        &self,
        ctx: &RequestContext,
        op: Operation,
        params: &Value,
    ) -> Result<String, CoreError> {
        let account = &ctx.principal.account;
        let param = |k: &str| {
            params
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        Ok(match target(op) {
            Target::Everything => "*".to_owned(),
            Target::User => match param("UserName") {
                Some(name) => match self.store.get_user(account, name)? {
                    Some(user) => user.arn,
                    None => format!("arn:aws:iam::{account}:user{}{name}", path_of(params)),
                },
                // Calls without a user name act on the calling user itself.
                None => match &ctx.principal.kind {
                    PrincipalKind::User { .. } => ctx.principal.arn.clone(),
                    _ => "*".to_owned(),
                },
            },
            Target::Role => match param("RoleName") {
                Some(name) => match self.store.get_role(account, name)? {
                    Some(role) => role.arn,
                    None => format!("arn:aws:iam::{account}:role{}{name}", path_of(params)),
                },
                None => "*".to_owned(),
            },
            Target::Policy => match param("PolicyArn") {
                Some(arn) => arn.to_owned(),
                None => match param("PolicyName") {
                    Some(name) => format!("arn:aws:iam::{account}:policy{}{name}", path_of(params)),
                    None => "*".to_owned(),
                },
            },
        })
    }

    /// Authorize an IAM call before it runs.
    pub(crate) fn authorize_iam(
        &self,
        ctx: &RequestContext,
        op: Operation,
        params: &Value,
    ) -> Result<(), CoreError> {
        let arn = self.iam_resource(ctx, op, params)?;
        let account = (arn != "*").then_some(&ctx.principal.account);
        let mut keys = Vec::new();
        if let Some(policy_arn) = params.get("PolicyArn").and_then(Value::as_str) {
            keys.push(("iam:PolicyARN".to_owned(), vec![policy_arn.to_owned()]));
        }
        self.authorize(
            ctx,
            &op.iam_action(),
            Resource {
                arn: &arn,
                account,
                policy: None,
                keys,
                shown_as: None,
            },
        )
    }
}
