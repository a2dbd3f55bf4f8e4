//! Inline policies of users and roles: `Put`/`Get`/`List`/`Delete` `UserPolicy` and
//! `RolePolicy`. Documents are checked against the identity-policy grammar and IAM's aggregate
//! size quota (all inline policies of one user: 2,048 characters; of one role: 10,240; white
//! space not counted), stored as given, and answered URL-encoded.

use tresor_policy::PolicyKind;
use tresor_store::IdentityStore;

use super::dto::*;
use super::errors::{self, no_such_inline_policy};
use super::format::{policy_size, url_encode};
use super::owner::OwnerKind;
use super::paging;
use super::validate;
use crate::validate::Validator;
use crate::{Core, CoreError, RequestContext};

/// The longest owner name the model accepts in these operations: existing user names may be
/// up to 128 characters, role names 64.
fn owner_max(kind: OwnerKind) -> usize {
    match kind {
        OwnerKind::User => 128,
        OwnerKind::Role => 64,
    }
}

fn inline_quota(kind: OwnerKind) -> usize {
    match kind {
        OwnerKind::User => validate::USER_INLINE_MAX,
        OwnerKind::Role => validate::ROLE_INLINE_MAX,
    }
}

/// A validated (owner, policy name) pair of a request.
struct InlineRef {
    owner: String,
    policy_name: String,
}

fn check_ref(
    v: &mut Validator,
    kind: OwnerKind,
    owner: Option<String>,
    policy_name: Option<String>,
) -> InlineRef {
    validate::required_name(v, &owner, kind.member(), owner_max(kind));
    validate::required_name(v, &policy_name, "policyName", 128);
    InlineRef {
        owner: owner.unwrap_or_default(),
        policy_name: policy_name.unwrap_or_default(),
    }
}

impl Core {
    fn put_inline_policy(
        &self,
        ctx: &RequestContext,
        kind: OwnerKind,
        owner: Option<String>,
        policy_name: Option<String>,
        document: Option<String>,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        let r = check_ref(&mut v, kind, owner, policy_name);
        validate::document(&mut v, &document, "policyDocument");
        v.finish()?;
        let document = document.unwrap_or_default();
        validate::parse_policy(&document, PolicyKind::Identity)?;
        let owner = self.iam_owner(ctx, kind, &r.owner)?;
        let others: usize = self
            .store
            .principal_policies(&owner)
            .map_err(errors::internal)?
            .inline
            .iter()
            .filter(|(name, _)| *name != r.policy_name)
            .map(|(_, doc)| policy_size(doc))
            .sum();
        let quota = inline_quota(kind);
        if others + policy_size(&document) > quota {
            return Err(CoreError::LimitExceeded(format!(
                "Maximum policy size of {quota} bytes exceeded for {} {}",
                kind.noun(),
                owner.name
            )));
        }
        self.store
            .put_inline_policy(&owner, &r.policy_name, &document)?;
        Ok(Empty {})
    }

    /// (owner name as created, policy name, URL-encoded document).
    fn get_inline_policy(
        &self,
        ctx: &RequestContext,
        kind: OwnerKind,
        owner: Option<String>,
        policy_name: Option<String>,
    ) -> Result<(String, String, String), CoreError> {
        let mut v = Validator::new();
        let r = check_ref(&mut v, kind, owner, policy_name);
        v.finish()?;
        let owner = self.iam_owner(ctx, kind, &r.owner)?;
        let document = self
            .store
            .get_inline_policy(&owner, &r.policy_name)
            .map_err(errors::internal)?
            .ok_or_else(|| no_such_inline_policy(kind, &r.policy_name))?;
        Ok((owner.name, r.policy_name, url_encode(&document)))
    }

    fn list_inline_policies(
        &self,
        ctx: &RequestContext,
        kind: OwnerKind,
        owner: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    ) -> Result<ListPolicyNamesResponse, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &owner, kind.member(), owner_max(kind));
        paging::check(&mut v, marker.as_deref(), max_items);
        v.finish()?;
        let name = owner.unwrap_or_default();
        let owner = self.iam_owner(ctx, kind, &name)?;
        let names = self.store.list_inline_policies(&owner)?;
        let page = paging::page(names, String::clone, marker.as_deref(), max_items)?;
        Ok(ListPolicyNamesResponse {
            policy_names: page.items,
            is_truncated: page.is_truncated,
            marker: page.marker,
        })
    }

    fn delete_inline_policy(
        &self,
        ctx: &RequestContext,
        kind: OwnerKind,
        owner: Option<String>,
        policy_name: Option<String>,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        let r = check_ref(&mut v, kind, owner, policy_name);
        v.finish()?;
        let owner = self.iam_owner(ctx, kind, &r.owner)?;
        self.store.delete_inline_policy(&owner, &r.policy_name)?;
        Ok(Empty {})
    }

    pub fn put_user_policy(
        &self,
        ctx: &RequestContext,
        req: PutUserPolicyRequest,
    ) -> Result<Empty, CoreError> {
        self.put_inline_policy(
            ctx,
            OwnerKind::User,
            req.user_name,
            req.policy_name,
            req.policy_document,
        )
    }

    pub fn get_user_policy(
        &self,
        ctx: &RequestContext,
        req: GetUserPolicyRequest,
    ) -> Result<GetUserPolicyResponse, CoreError> {
        let (user_name, policy_name, policy_document) =
            self.get_inline_policy(ctx, OwnerKind::User, req.user_name, req.policy_name)?;
        Ok(GetUserPolicyResponse {
            user_name,
            policy_name,
            policy_document,
        })
    }

    pub fn list_user_policies(
        &self,
        ctx: &RequestContext,
        req: ListUserPoliciesRequest,
    ) -> Result<ListPolicyNamesResponse, CoreError> {
        self.list_inline_policies(
            ctx,
            OwnerKind::User,
            req.user_name,
            req.marker,
            req.max_items,
        )
    }

    pub fn delete_user_policy(
        &self,
        ctx: &RequestContext,
        req: DeleteUserPolicyRequest,
    ) -> Result<Empty, CoreError> {
        self.delete_inline_policy(ctx, OwnerKind::User, req.user_name, req.policy_name)
    }

    pub fn put_role_policy(
        &self,
        ctx: &RequestContext,
        req: PutRolePolicyRequest,
    ) -> Result<Empty, CoreError> {
        self.put_inline_policy(
            ctx,
            OwnerKind::Role,
            req.role_name,
            req.policy_name,
            req.policy_document,
        )
    }

    pub fn get_role_policy(
        &self,
        ctx: &RequestContext,
        req: GetRolePolicyRequest,
    ) -> Result<GetRolePolicyResponse, CoreError> {
        let (role_name, policy_name, policy_document) =
            self.get_inline_policy(ctx, OwnerKind::Role, req.role_name, req.policy_name)?;
        Ok(GetRolePolicyResponse {
            role_name,
            policy_name,
            policy_document,
        })
    }

    pub fn list_role_policies(
        &self,
        ctx: &RequestContext,
        req: ListRolePoliciesRequest,
    ) -> Result<ListPolicyNamesResponse, CoreError> {
        self.list_inline_policies(
            ctx,
            OwnerKind::Role,
            req.role_name,
            req.marker,
            req.max_items,
        )
    }

    pub fn delete_role_policy(
        &self,
        ctx: &RequestContext,
        req: DeleteRolePolicyRequest,
    ) -> Result<Empty, CoreError> {
        self.delete_inline_policy(ctx, OwnerKind::Role, req.role_name, req.policy_name)
    }
}
