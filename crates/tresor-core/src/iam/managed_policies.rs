//! Customer managed policies and their versions: `CreatePolicy` (version `v1`, the default),
//! `GetPolicy`, `ListPolicies`, `DeletePolicy`, `CreatePolicyVersion` (at most five),
//! `GetPolicyVersion`, `ListPolicyVersions`, `SetDefaultPolicyVersion`,
//! `DeletePolicyVersion`. Only the caller's own account's policies exist here: AWS managed
//! policies (`arn:aws:iam::aws:policy/…`) are not provided.

use tresor_store::{IdentityStore, ManagedPolicyRecord, PolicyVersionRecord};

use super::dto::*;
use super::errors::{self, no_such_policy, no_such_policy_version};
use super::format::{iam_arn, iso8601, new_id, parse_iam_arn, url_encode};
use super::paging;
use super::validate;
use crate::validate::Validator;
use crate::{Core, CoreError, RequestContext};

/// IAM's quota of versions per managed policy.
pub(crate) const MAX_POLICY_VERSIONS: usize = 5;

fn policy_view(p: &ManagedPolicyRecord, attachment_count: usize, with_description: bool) -> Policy {
    Policy {
        policy_name: p.policy_name.clone(),
        policy_id: p.policy_id.clone(),
        arn: p.arn.clone(),
        path: p.path.clone(),
        default_version_id: p.default_version_id.clone(),
        attachment_count,
        permissions_boundary_usage_count: 0,
        is_attachable: true,
        description: if with_description {
            p.description.clone()
        } else {
            None
        },
        create_date: iso8601(p.created),
        update_date: iso8601(p.updated),
    }
}

fn version_view(
    p: &ManagedPolicyRecord,
    v: &PolicyVersionRecord,
    with_document: bool,
) -> PolicyVersion {
    PolicyVersion {
        document: with_document.then(|| url_encode(&v.document)),
        version_id: v.version_id.clone(),
        is_default_version: v.version_id == p.default_version_id,
        create_date: iso8601(v.created),
    }
}

/// The number in `v7` (and `v7.x`); 0 if there is none.
fn version_number(id: &str) -> u64 {
    id.strip_prefix('v')
        .map(|rest| rest.split('.').next().unwrap_or_default())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn no_such_version_of(p: &ManagedPolicyRecord, id: &str) -> CoreError {
    no_such_policy_version(&p.arn, id)
}

impl Core {
    /// A managed policy of the caller's account by ARN: `InvalidInput` for something that is
    /// not a policy ARN, `NoSuchEntity` for a policy that does not exist here.
    pub(crate) fn iam_managed_policy(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<ManagedPolicyRecord, CoreError> {
        match parse_iam_arn(arn) {
            Some((account, "policy", _, _)) if account == ctx.principal.account.as_str() => {}
            Some((_, "policy", _, _)) => return Err(no_such_policy(arn)),
            _ => return Err(errors::invalid_arn(arn)),
        }
        self.store
            .get_managed_policy(arn)
            .map_err(errors::internal)?
            .ok_or_else(|| no_such_policy(arn))
    }

    fn attachment_count(&self, arn: &str) -> Result<usize, CoreError> {
        self.store
            .managed_policy_attachment_count(arn)
            .map_err(CoreError::from)
    }

    pub fn create_policy(
        &self,
        ctx: &RequestContext,
        req: CreatePolicyRequest,
    ) -> Result<CreatePolicyResponse, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &req.policy_name, "policyName", 128);
        validate::policy_path(&mut v, req.path.as_deref(), "path");
        validate::document(&mut v, &req.policy_document, "policyDocument");
        v.length(req.description.as_deref(), "description", 0, 1000);
        validate::tags(&mut v, req.tags.as_deref(), "tags");
        v.finish()?;
        if req.tags.as_ref().is_some_and(|t| !t.is_empty()) {
            // Refused rather than dropped: tags can decide `aws:ResourceTag` conditions.
            return Err(CoreError::InvalidInput(
                "Tags on managed policies are not supported by Tresor.".to_owned(),
            ));
        }
        let document = req.policy_document.unwrap_or_default();
        validate::managed_document(&document)?;
        let name = req.policy_name.unwrap_or_default();
        let path = req.path.unwrap_or_else(|| "/".to_owned());
        let account = ctx.principal.account.clone();
        let policy = ManagedPolicyRecord {
            arn: iam_arn(&account, "policy", &path, &name),
            account,
            policy_id: new_id("ANPA")?,
            policy_name: name,
            path,
            description: req.description.filter(|d| !d.is_empty()),
            default_version_id: "v1".to_owned(),
            versions: vec![PolicyVersionRecord {
                version_id: "v1".to_owned(),
                document,
                created: ctx.now,
            }],
            created: ctx.now,
            updated: ctx.now,
        };
        self.store
            .create_managed_policy(&policy)
            .map_err(|e| errors::store(e, || errors::policy_exists(&policy.policy_name)))?;
        Ok(CreatePolicyResponse {
            policy: policy_view(&policy, 0, true),
        })
    }

    pub fn get_policy(
        &self,
        ctx: &RequestContext,
        req: GetPolicyRequest,
    ) -> Result<GetPolicyResponse, CoreError> {
        let mut v = Validator::new();
        validate::policy_arn(&mut v, &req.policy_arn, "policyArn");
        v.finish()?;
        let policy = self.iam_managed_policy(ctx, req.policy_arn.as_deref().unwrap_or_default())?;
        let count = self.attachment_count(&policy.arn)?;
        Ok(GetPolicyResponse {
            policy: policy_view(&policy, count, true),
        })
    }

    pub fn get_policy_version(
        &self,
        ctx: &RequestContext,
        req: GetPolicyVersionRequest,
    ) -> Result<PolicyVersionResponse, CoreError> {
        let mut v = Validator::new();
        validate::policy_arn(&mut v, &req.policy_arn, "policyArn");
        validate::version_id(&mut v, &req.version_id, "versionId");
        v.finish()?;
        let policy = self.iam_managed_policy(ctx, req.policy_arn.as_deref().unwrap_or_default())?;
        let id = req.version_id.unwrap_or_default();
        let version = policy
            .versions
            .iter()
            .find(|v| v.version_id == id)
            .ok_or_else(|| no_such_version_of(&policy, &id))?;
        Ok(PolicyVersionResponse {
            policy_version: version_view(&policy, version, true),
        })
    }

    pub fn list_policies(
        &self,
        ctx: &RequestContext,
        req: ListPoliciesRequest,
    ) -> Result<ListPoliciesResponse, CoreError> {
        let mut v = Validator::new();
        v.one_of(req.scope.as_deref(), "scope", &["All", "AWS", "Local"]);
        validate::policy_path(&mut v, req.path_prefix.as_deref(), "pathPrefix");
        v.one_of(
            req.policy_usage_filter.as_deref(),
            "policyUsageFilter",
            &["PermissionsPolicy", "PermissionsBoundary"],
        );
        paging::check(&mut v, req.marker.as_deref(), req.max_items);
        v.finish()?;
        // No AWS managed policies, and no policy is used as a permissions boundary.
        let none = req.scope.as_deref() == Some("AWS")
            || req.policy_usage_filter.as_deref() == Some("PermissionsBoundary");
        let prefix = req.path_prefix.unwrap_or_else(|| "/".to_owned());
        let mut listed = Vec::new();
        if !none {
            for p in self
                .store
                .list_managed_policies(&ctx.principal.account)
                .map_err(errors::internal)?
            {
                if !p.path.starts_with(&prefix) {
                    continue;
                }
                let count = match self.store.managed_policy_attachment_count(&p.arn) {
                    Ok(n) => n,
                    // Deleted since it was listed.
                    Err(tresor_store::StoreError::NotFound(_)) => continue,
                    Err(e) => return Err(errors::internal(e)),
                };
                if req.only_attached == Some(true) && count == 0 {
                    continue;
                }
                listed.push((p, count));
            }
        }
        let page = paging::page(
            listed,
            |(p, _)| format!("{}\u{0}{}", p.policy_name, p.arn),
            req.marker.as_deref(),
            req.max_items,
        )?;
        Ok(ListPoliciesResponse {
            policies: page
                .items
                .iter()
                .map(|(p, n)| policy_view(p, *n, false))
                .collect(),
            is_truncated: page.is_truncated,
            marker: page.marker,
        })
    }

    pub fn delete_policy(
        &self,
        ctx: &RequestContext,
        req: DeletePolicyRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        validate::policy_arn(&mut v, &req.policy_arn, "policyArn");
        v.finish()?;
        let policy = self.iam_managed_policy(ctx, req.policy_arn.as_deref().unwrap_or_default())?;
        let attached =
            || CoreError::DeleteConflict("Cannot delete a policy attached to entities.".to_owned());
        if self.attachment_count(&policy.arn)? > 0 {
            return Err(attached());
        }
        if policy.versions.len() > 1 {
            return Err(CoreError::DeleteConflict(
                "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."
                    .to_owned(),
            ));
        }
        self.store
            .delete_managed_policy(&policy.arn)
            .map_err(|e| errors::store(e, attached))?;
        Ok(Empty {})
    }

    pub fn create_policy_version(
        &self,
        ctx: &RequestContext,
        req: CreatePolicyVersionRequest,
    ) -> Result<PolicyVersionResponse, CoreError> {
        let mut v = Validator::new();
        validate::policy_arn(&mut v, &req.policy_arn, "policyArn");
        validate::document(&mut v, &req.policy_document, "policyDocument");
        v.finish()?;
        let policy = self.iam_managed_policy(ctx, req.policy_arn.as_deref().unwrap_or_default())?;
        let document = req.policy_document.unwrap_or_default();
        validate::managed_document(&document)?;
        if policy.versions.len() >= MAX_POLICY_VERSIONS {
            return Err(CoreError::LimitExceeded(format!(
                "A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version."
            )));
        }
        let next = policy
            .versions
            .iter()
            .map(|v| version_number(&v.version_id))
            .max()
            .unwrap_or(0)
            + 1;
        let version = PolicyVersionRecord {
            version_id: format!("v{next}"),
            document,
            created: ctx.now,
        };
        let set_as_default = req.set_as_default.unwrap_or(false);
        self.store
            .add_policy_version(&policy.arn, &version, set_as_default)
            .map_err(|e| {
                errors::store(e, || {
                    CoreError::Internal(
                        "a concurrent CreatePolicyVersion took the version id".to_owned(),
                    )
                })
            })?;
        Ok(PolicyVersionResponse {
            policy_version: PolicyVersion {
                document: None,
                version_id: version.version_id,
                is_default_version: set_as_default,
                create_date: iso8601(version.created),
            },
        })
    }

    pub fn list_policy_versions(
        &self,
        ctx: &RequestContext,
        req: ListPolicyVersionsRequest,
    ) -> Result<ListPolicyVersionsResponse, CoreError> {
        let mut v = Validator::new();
        validate::policy_arn(&mut v, &req.policy_arn, "policyArn");
        paging::check(&mut v, req.marker.as_deref(), req.max_items);
        v.finish()?;
        let policy = self.iam_managed_policy(ctx, req.policy_arn.as_deref().unwrap_or_default())?;
        let page = paging::page(
            policy.versions.clone(),
            |v| format!("{:020}/{}", version_number(&v.version_id), v.version_id),
            req.marker.as_deref(),
            req.max_items,
        )?;
        Ok(ListPolicyVersionsResponse {
            versions: page
                .items
                .iter()
                .map(|v| version_view(&policy, v, false))
                .collect(),
            is_truncated: page.is_truncated,
            marker: page.marker,
        })
    }

    pub fn set_default_policy_version(
        &self,
        ctx: &RequestContext,
        req: SetDefaultPolicyVersionRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        validate::policy_arn(&mut v, &req.policy_arn, "policyArn");
        validate::version_id(&mut v, &req.version_id, "versionId");
        v.finish()?;
        let policy = self.iam_managed_policy(ctx, req.policy_arn.as_deref().unwrap_or_default())?;
        let id = req.version_id.unwrap_or_default();
        let missing = || no_such_version_of(&policy, &id);
        if !policy.versions.iter().any(|v| v.version_id == id) {
            return Err(missing());
        }
        self.store.set_default_policy_version(&policy.arn, &id)?;
        Ok(Empty {})
    }

    pub fn delete_policy_version(
        &self,
        ctx: &RequestContext,
        req: DeletePolicyVersionRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        validate::policy_arn(&mut v, &req.policy_arn, "policyArn");
        validate::version_id(&mut v, &req.version_id, "versionId");
        v.finish()?;
        let policy = self.iam_managed_policy(ctx, req.policy_arn.as_deref().unwrap_or_default())?;
        let id = req.version_id.unwrap_or_default();
        let missing = || no_such_version_of(&policy, &id);
        let is_default = || {
            CoreError::DeleteConflict("Cannot delete the default version of a policy.".to_owned())
        };
        if !policy.versions.iter().any(|v| v.version_id == id) {
            return Err(missing());
        }
        if policy.default_version_id == id {
            return Err(is_default());
        }
        self.store
            .delete_policy_version(&policy.arn, &id)
            .map_err(|e| errors::store(e, is_default))?;
        Ok(Empty {})
    }
}

#[cfg(test)]
mod tests {
    use super::version_number;

    #[test]
    fn version_numbers() {
        assert_eq!(version_number("v1"), 1);
        assert_eq!(version_number("v12"), 12);
        assert_eq!(version_number("v3.x"), 3);
        assert_eq!(version_number("x"), 0);
    }
}
