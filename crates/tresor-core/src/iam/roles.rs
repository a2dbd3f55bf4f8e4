//! Roles and their trust policies: `CreateRole`, `GetRole`, `ListRoles`, `DeleteRole`,
//! `UpdateAssumeRolePolicy`. A trust policy must follow the trust grammar, fit IAM's
//! `ACLSizePerRole` quota, and name only users and roles of this account that exist (as IAM
//! refuses "Invalid principal in policy").

use tresor_policy::{Policy, PrincipalSpec, Principals};
use tresor_store::{IdentityStore, RoleRecord};

use super::dto::*;
use super::errors::{self, no_such_role};
use super::format::{iam_arn, iso8601, new_id, parse_iam_arn, url_encode};
use super::owner::{owner_name, OwnerKind};
use super::paging;
use super::users::{new_tags, tags_view};
use super::validate;
use crate::validate::Validator;
use crate::{Core, CoreError, RequestContext};

/// The default and the bounds of a role's `MaxSessionDuration`, in seconds.
pub(crate) const DEFAULT_MAX_SESSION: i64 = 3_600;
const MAX_SESSION_MIN: i64 = 3_600;
const MAX_SESSION_MAX: i64 = 43_200;

/// How much of a role an answer shows: `ListRoles` leaves out tags and `RoleLastUsed`,
/// `CreateRole` leaves out `RoleLastUsed`.
#[derive(Clone, Copy)]
enum Detail {
    Listed,
    Created,
    Full,
}

fn role_view(r: &RoleRecord, detail: Detail) -> Role {
    Role {
        path: r.path.clone(),
        role_name: r.role_name.clone(),
        role_id: r.role_id.clone(),
        arn: r.arn.clone(),
        create_date: iso8601(r.created),
        assume_role_policy_document: url_encode(&r.assume_role_policy),
        description: r.description.clone(),
        max_session_duration: r.max_session_duration,
        tags: match detail {
            Detail::Listed => None,
            Detail::Created | Detail::Full => tags_view(&r.tags),
        },
        role_last_used: matches!(detail, Detail::Full).then_some(RoleLastUsed {}),
    }
}

fn is_description_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}')
}

impl Core {
    /// A role of the caller's account by name (case-insensitively), or `NoSuchEntity`.
    pub(crate) fn iam_role(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<RoleRecord, CoreError> {
        self.store
            .get_role(&ctx.principal.account, name)
            .map_err(errors::internal)?
            .ok_or_else(|| no_such_role(name))
    }

    /// Every user or role of this account that the trust policy names must exist, with the
    /// path it has.
    fn check_trusted_principals(
        &self,
        ctx: &RequestContext,
        policy: &Policy,
    ) -> Result<(), CoreError> {
        let account = &ctx.principal.account;
        for statement in &policy.statements {
            let Some(PrincipalSpec::Principal(Principals::Map(map))) = &statement.principal else {
                continue;
            };
            for principal in &map.aws {
                let Some((acct, kind, _, name)) = parse_iam_arn(principal) else {
                    continue;
                };
                if acct != account.as_str() || principal.contains(['*', '?']) {
                    continue;
                }
                let found = match kind {
                    "user" => self
                        .store
                        .get_user(account, name)
                        .map_err(errors::internal)?
                        .map(|u| u.arn),
                    "role" => self
                        .store
                        .get_role(account, name)
                        .map_err(errors::internal)?
                        .map(|r| r.arn),
                    _ => continue,
                };
                if found.as_deref() != Some(principal.as_str()) {
                    return Err(errors::invalid_principal(principal));
                }
            }
        }
        Ok(())
    }

    pub fn create_role(
        &self,
        ctx: &RequestContext,
        req: CreateRoleRequest,
    ) -> Result<CreateRoleResponse, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &req.role_name, "roleName", 64);
        validate::path(&mut v, req.path.as_deref(), "path");
        validate::document(
            &mut v,
            &req.assume_role_policy_document,
            "assumeRolePolicyDocument",
        );
        v.length(req.description.as_deref(), "description", 0, 1000);
        v.chars(
            req.description.as_deref(),
            "description",
            "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*",
            is_description_char,
        );
        v.range(
            req.max_session_duration,
            "maxSessionDuration",
            MAX_SESSION_MIN,
            MAX_SESSION_MAX,
        );
        validate::tags(&mut v, req.tags.as_deref(), "tags");
        v.finish()?;
        validate::no_permissions_boundary(req.permissions_boundary.as_deref())?;
        let tags = new_tags(req.tags)?;
        let document = req.assume_role_policy_document.unwrap_or_default();
        let trust = validate::trust_document(&document)?;
        self.check_trusted_principals(ctx, &trust)?;
        let name = req.role_name.unwrap_or_default();
        let path = req.path.unwrap_or_else(|| "/".to_owned());
        let account = ctx.principal.account.clone();
        let role = RoleRecord {
            arn: iam_arn(&account, "role", &path, &name),
            account,
            role_id: new_id("AROA")?,
            role_name: name,
            path,
            description: req.description.filter(|d| !d.is_empty()),
            assume_role_policy: self.bind_principals(
                &ctx.principal.account,
                &document,
                errors::invalid_principal,
            )?,
            max_session_duration: req.max_session_duration.unwrap_or(DEFAULT_MAX_SESSION),
            tags,
            created: ctx.now,
        };
        self.store
            .create_role(&role)
            .map_err(|e| errors::store(e, || errors::role_exists(&role.role_name)))?;
        // Shown as given: every principal it names by ARN exists (checked above).
        let shown = RoleRecord {
            assume_role_policy: document,
            ..role
        };
        Ok(CreateRoleResponse {
            role: role_view(&shown, Detail::Created),
        })
    }

    pub fn get_role(
        &self,
        ctx: &RequestContext,
        req: GetRoleRequest,
    ) -> Result<GetRoleResponse, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &req.role_name, "roleName", 64);
        v.finish()?;
        let mut role = self.iam_role(ctx, req.role_name.as_deref().unwrap_or_default())?;
        role.assume_role_policy =
            self.show_principals(&ctx.principal.account, &role.assume_role_policy)?;
        Ok(GetRoleResponse {
            role: role_view(&role, Detail::Full),
        })
    }

    pub fn list_roles(
        &self,
        ctx: &RequestContext,
        req: ListRolesRequest,
    ) -> Result<ListRolesResponse, CoreError> {
        let mut v = Validator::new();
        validate::path_prefix(&mut v, req.path_prefix.as_deref(), "pathPrefix");
        paging::check(&mut v, req.marker.as_deref(), req.max_items);
        v.finish()?;
        let prefix = req.path_prefix.unwrap_or_else(|| "/".to_owned());
        let roles: Vec<RoleRecord> = self
            .store
            .list_roles(&ctx.principal.account)
            .map_err(errors::internal)?
            .into_iter()
            .filter(|r| r.path.starts_with(&prefix))
            .collect();
        let page = paging::page(
            roles,
            |r| r.role_name.clone(),
            req.marker.as_deref(),
            req.max_items,
        )?;
        let arns = self.principal_arns(&ctx.principal.account)?;
        Ok(ListRolesResponse {
            roles: page
                .items
                .into_iter()
                .map(|r| {
                    let assume_role_policy = crate::principals::show(&r.assume_role_policy, &arns);
                    let shown = RoleRecord {
                        assume_role_policy,
                        ..r
                    };
                    role_view(&shown, Detail::Listed)
                })
                .collect(),
            is_truncated: page.is_truncated,
            marker: page.marker,
        })
    }

    pub fn delete_role(
        &self,
        ctx: &RequestContext,
        req: DeleteRoleRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &req.role_name, "roleName", 64);
        v.finish()?;
        let role = self.iam_role(ctx, req.role_name.as_deref().unwrap_or_default())?;
        let owner = owner_name(ctx, OwnerKind::Role, &role.role_name);
        let inline = self
            .store
            .list_inline_policies(&owner)
            .map_err(|e| errors::store(e, errors::must_delete_policies))?;
        if !inline.is_empty() {
            return Err(errors::must_delete_policies());
        }
        let attached = self
            .store
            .list_attached_policies(&owner)
            .map_err(|e| errors::store(e, errors::must_detach_policies))?;
        if !attached.is_empty() {
            return Err(errors::must_detach_policies());
        }
        // Sessions of the role stop working: authentication checks the role still exists with
        // the same id.
        self.store
            .delete_role(&ctx.principal.account, &role.role_name)
            .map_err(|e| errors::store(e, errors::must_delete_policies))?;
        Ok(Empty {})
    }

    pub fn update_assume_role_policy(
        &self,
        ctx: &RequestContext,
        req: UpdateAssumeRolePolicyRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &req.role_name, "roleName", 64);
        validate::document(&mut v, &req.policy_document, "policyDocument");
        v.finish()?;
        let role = self.iam_role(ctx, req.role_name.as_deref().unwrap_or_default())?;
        let document = req.policy_document.unwrap_or_default();
        let trust = validate::trust_document(&document)?;
        self.check_trusted_principals(ctx, &trust)?;
        let stored =
            self.bind_principals(&ctx.principal.account, &document, errors::invalid_principal)?;
        self.store
            .update_role_trust_policy(&ctx.principal.account, &role.role_name, &stored)?;
        Ok(Empty {})
    }
}
