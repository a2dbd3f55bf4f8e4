//! Attaching managed policies to users and roles: `Attach`/`Detach`/`ListAttached`
//! `UserPolicies`/`RolePolicies`. At most ten managed policies per user or role.

use tresor_store::IdentityStore;

use super::dto::*;
use super::errors::{self, no_such_policy};
use super::owner::OwnerKind;
use super::paging;
use super::validate;
use crate::validate::Validator;
use crate::{Core, CoreError, RequestContext};

/// IAM's quota of managed policies attached to one user or role.
pub(crate) const MAX_ATTACHED: usize = 10;

impl Core {
    fn attach_policy(
        &self,
        ctx: &RequestContext,
        kind: OwnerKind,
        owner: Option<String>,
        policy_arn: Option<String>,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &owner, kind.member(), 64);
        validate::policy_arn(&mut v, &policy_arn, "policyArn");
        v.finish()?;
        let name = owner.unwrap_or_default();
        let arn = policy_arn.unwrap_or_default();
        let owner = self.iam_owner(ctx, kind, &name)?;
        let policy = self.iam_managed_policy(ctx, &arn)?;
        let attached = self.store.list_attached_policies(&owner)?;
        if !attached.contains(&policy.arn) && attached.len() >= MAX_ATTACHED {
            let quota = match kind {
                OwnerKind::User => "PoliciesPerUser",
                OwnerKind::Role => "PoliciesPerRole",
            };
            return Err(CoreError::LimitExceeded(format!(
                "Cannot exceed quota for {quota}: {MAX_ATTACHED}"
            )));
        }
        self.store
            .attach_policy(&owner, &policy.arn)
            .map_err(|e| errors::store(e, || no_such_policy(&policy.arn)))?;
        Ok(Empty {})
    }

    fn detach_policy(
        &self,
        ctx: &RequestContext,
        kind: OwnerKind,
        owner: Option<String>,
        policy_arn: Option<String>,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &owner, kind.member(), 64);
        validate::policy_arn(&mut v, &policy_arn, "policyArn");
        v.finish()?;
        let name = owner.unwrap_or_default();
        let arn = policy_arn.unwrap_or_default();
        if super::format::parse_iam_arn(&arn).is_none_or(|(_, k, _, _)| k != "policy") {
            return Err(errors::invalid_arn(&arn));
        }
        let owner = self.iam_owner(ctx, kind, &name)?;
        self.store.detach_policy(&owner, &arn)?;
        Ok(Empty {})
    }

    fn list_attached_policies(
        &self,
        ctx: &RequestContext,
        kind: OwnerKind,
        owner: Option<String>,
        path_prefix: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    ) -> Result<ListAttachedPoliciesResponse, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &owner, kind.member(), 64);
        validate::policy_path(&mut v, path_prefix.as_deref(), "pathPrefix");
        paging::check(&mut v, marker.as_deref(), max_items);
        v.finish()?;
        let name = owner.unwrap_or_default();
        let owner = self.iam_owner(ctx, kind, &name)?;
        let arns = self.store.list_attached_policies(&owner)?;
        let prefix = path_prefix.unwrap_or_else(|| "/".to_owned());
        let mut attached = Vec::with_capacity(arns.len());
        for arn in arns {
            // A policy deleted since the listing is simply not there any more.
            if let Some(p) = self
                .store
                .get_managed_policy(&arn)
                .map_err(errors::internal)?
            {
                if p.path.starts_with(&prefix) {
                    attached.push(AttachedPolicy {
                        policy_name: p.policy_name,
                        policy_arn: p.arn,
                    });
                }
            }
        }
        let page = paging::page(
            attached,
            |a| a.policy_arn.clone(),
            marker.as_deref(),
            max_items,
        )?;
        Ok(ListAttachedPoliciesResponse {
            attached_policies: page.items,
            is_truncated: page.is_truncated,
            marker: page.marker,
        })
    }

    pub fn attach_user_policy(
        &self,
        ctx: &RequestContext,
        req: AttachUserPolicyRequest,
    ) -> Result<Empty, CoreError> {
        self.attach_policy(ctx, OwnerKind::User, req.user_name, req.policy_arn)
    }

    pub fn detach_user_policy(
        &self,
        ctx: &RequestContext,
        req: DetachUserPolicyRequest,
    ) -> Result<Empty, CoreError> {
        self.detach_policy(ctx, OwnerKind::User, req.user_name, req.policy_arn)
    }

    pub fn list_attached_user_policies(
        &self,
        ctx: &RequestContext,
        req: ListAttachedUserPoliciesRequest,
    ) -> Result<ListAttachedPoliciesResponse, CoreError> {
        self.list_attached_policies(
            ctx,
            OwnerKind::User,
            req.user_name,
            req.path_prefix,
            req.marker,
            req.max_items,
        )
    }

    pub fn attach_role_policy(
        &self,
        ctx: &RequestContext,
        req: AttachRolePolicyRequest,
    ) -> Result<Empty, CoreError> {
        self.attach_policy(ctx, OwnerKind::Role, req.role_name, req.policy_arn)
    }

    pub fn detach_role_policy(
        &self,
        ctx: &RequestContext,
        req: DetachRolePolicyRequest,
    ) -> Result<Empty, CoreError> {
        self.detach_policy(ctx, OwnerKind::Role, req.role_name, req.policy_arn)
    }

    pub fn list_attached_role_policies(
        &self,
        ctx: &RequestContext,
        req: ListAttachedRolePoliciesRequest,
    ) -> Result<ListAttachedPoliciesResponse, CoreError> {
        self.list_attached_policies(
            ctx,
            OwnerKind::Role,
            req.role_name,
            req.path_prefix,
            req.marker,
            req.max_items,
        )
    }
}
