//! Users: `CreateUser`, `GetUser`, `ListUsers`, `DeleteUser`, and their tags.

use tresor_store::{IdentityStore, Store, UserRecord};

use super::dto::*;
use super::errors::{self, no_such_user};
use super::format::{iam_arn, iso8601, new_id};
use super::owner::{owner_name, OwnerKind};
use super::paging;
use super::validate;
use crate::auth::root_arn;
use crate::validate::Validator;
use crate::{Core, CoreError, PrincipalKind, RequestContext};

/// The tags of a request as stored, after IAM's rules on keys.
pub(crate) fn new_tags(params: Option<Vec<TagParam>>) -> Result<Vec<tresor_store::Tag>, CoreError> {
    let tags: Vec<tresor_store::Tag> = params
        .unwrap_or_default()
        .into_iter()
        .map(|t| tresor_store::Tag {
            key: t.key.unwrap_or_default(),
            value: t.value.unwrap_or_default(),
        })
        .collect();
    validate::tag_rules(tags.iter().map(|t| t.key.as_str()))?;
    Ok(tags)
}

/// Tags as answered; `None` when there are none (IAM leaves the element out).
pub(crate) fn tags_view(tags: &[tresor_store::Tag]) -> Option<Vec<Tag>> {
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|t| Tag {
                key: t.key.clone(),
                value: t.value.clone(),
            })
            .collect()
    })
}

fn user_view(user: &UserRecord, with_tags: bool) -> User {
    User {
        path: Some(user.path.clone()),
        user_name: Some(user.user_name.clone()),
        user_id: user.user_id.clone(),
        arn: user.arn.clone(),
        create_date: iso8601(user.created),
        tags: if with_tags {
            tags_view(&user.tags)
        } else {
            None
        },
    }
}

impl Core {
    /// A user of the caller's account by name (case-insensitively), or `NoSuchEntity`.
    pub(crate) fn iam_user(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<UserRecord, CoreError> {
        self.store
            .get_user(&ctx.principal.account, name)
            .map_err(errors::internal)?
            .ok_or_else(|| no_such_user(name))
    }

    /// The user an operation acts on: the one named, or else the calling user itself.
    pub(crate) fn iam_target_user(
        &self,
        ctx: &RequestContext,
        name: Option<&str>,
    ) -> Result<UserRecord, CoreError> {
        match (name, &ctx.principal.kind) {
            (Some(n), _) => self.iam_user(ctx, n),
            (None, PrincipalKind::User { name, .. }) => self.iam_user(ctx, name),
            (None, _) => Err(errors::needs_user_name()),
        }
    }

    pub fn create_user(
        &self,
        ctx: &RequestContext,
        req: CreateUserRequest,
    ) -> Result<CreateUserResponse, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &req.user_name, "userName", 64);
        validate::path(&mut v, req.path.as_deref(), "path");
        validate::tags(&mut v, req.tags.as_deref(), "tags");
        v.finish()?;
        validate::no_permissions_boundary(req.permissions_boundary.as_deref())?;
        let tags = new_tags(req.tags)?;
        let name = req.user_name.unwrap_or_default();
        let path = req.path.unwrap_or_else(|| "/".to_owned());
        let account = ctx.principal.account.clone();
        let user = UserRecord {
            arn: iam_arn(&account, "user", &path, &name),
            account,
            user_id: new_id("AIDA")?,
            user_name: name,
            path,
            tags,
            created: ctx.now,
        };
        self.store
            .create_user(&user)
            .map_err(|e| errors::store(e, || errors::user_exists(&user.user_name)))?;
        Ok(CreateUserResponse {
            user: user_view(&user, true),
        })
    }

    pub fn get_user(
        &self,
        ctx: &RequestContext,
        req: GetUserRequest,
    ) -> Result<GetUserResponse, CoreError> {
        let mut v = Validator::new();
        validate::name(&mut v, req.user_name.as_deref(), "userName", 128);
        v.finish()?;
        if req.user_name.is_none() && ctx.principal.is_root() {
            // The root "user", as AWS answers it: the account id and the root ARN.
            let created = self
                .store
                .get_access_key(&ctx.principal.access_key_id)
                .map_err(errors::internal)?
                .map_or(ctx.now, |k| k.created);
            return Ok(GetUserResponse {
                user: User {
                    path: None,
                    user_name: None,
                    user_id: ctx.principal.account.as_str().to_owned(),
                    arn: root_arn(&ctx.principal.account),
                    create_date: iso8601(created),
                    tags: None,
                },
            });
        }
        let user = self.iam_target_user(ctx, req.user_name.as_deref())?;
        Ok(GetUserResponse {
            user: user_view(&user, true),
        })
    }

    pub fn list_users(
        &self,
        ctx: &RequestContext,
        req: ListUsersRequest,
    ) -> Result<ListUsersResponse, CoreError> {
        let mut v = Validator::new();
        validate::path_prefix(&mut v, req.path_prefix.as_deref(), "pathPrefix");
        paging::check(&mut v, req.marker.as_deref(), req.max_items);
        v.finish()?;
        let prefix = req.path_prefix.unwrap_or_else(|| "/".to_owned());
        let users: Vec<UserRecord> = self
            .store
            .list_users(&ctx.principal.account)
            .map_err(errors::internal)?
            .into_iter()
            .filter(|u| u.path.starts_with(&prefix))
            .collect();
        let page = paging::page(
            users,
            |u| u.user_name.clone(),
            req.marker.as_deref(),
            req.max_items,
        )?;
        Ok(ListUsersResponse {
            users: page.items.iter().map(|u| user_view(u, false)).collect(),
            is_truncated: page.is_truncated,
            marker: page.marker,
        })
    }

    pub fn delete_user(
        &self,
        ctx: &RequestContext,
        req: DeleteUserRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &req.user_name, "userName", 128);
        v.finish()?;
        let user = self.iam_user(ctx, req.user_name.as_deref().unwrap_or_default())?;
        let account = &ctx.principal.account;
        // Name what is in the way, as IAM does; the store re-checks atomically.
        let keys = self
            .store
            .list_user_access_keys(account, &user.user_name)
            .map_err(|e| errors::store(e, errors::must_delete_access_keys))?;
        if !keys.is_empty() {
            return Err(errors::must_delete_access_keys());
        }
        let owner = owner_name(ctx, OwnerKind::User, &user.user_name);
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
        self.store
            .delete_user(account, &user.user_name)
            .map_err(|e| errors::store(e, errors::must_delete_access_keys))?;
        Ok(Empty {})
    }

    pub fn tag_user(&self, ctx: &RequestContext, req: TagUserRequest) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &req.user_name, "userName", 128);
        v.required(&req.tags, "tags");
        validate::tags(&mut v, req.tags.as_deref(), "tags");
        v.finish()?;
        let new = new_tags(req.tags)?;
        let user = self.iam_user(ctx, req.user_name.as_deref().unwrap_or_default())?;
        let mut tags = user.tags;
        for tag in new {
            match tags
                .iter_mut()
                .find(|t| t.key.eq_ignore_ascii_case(&tag.key))
            {
                Some(existing) => *existing = tag,
                None => tags.push(tag),
            }
        }
        if tags.len() > validate::MAX_TAGS {
            return Err(CoreError::LimitExceeded(format!(
                "Cannot exceed quota for TagsPerUser: {}.",
                validate::MAX_TAGS
            )));
        }
        self.store
            .set_user_tags(&ctx.principal.account, &user.user_name, &tags)?;
        Ok(Empty {})
    }

    pub fn untag_user(
        &self,
        ctx: &RequestContext,
        req: UntagUserRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &req.user_name, "userName", 128);
        v.required(&req.tag_keys, "tagKeys");
        v.count(req.tag_keys.as_deref(), "tagKeys", 0, validate::MAX_TAGS);
        for (i, k) in req.tag_keys.iter().flatten().enumerate() {
            v.length(Some(k), &format!("tagKeys.{}.member", i + 1), 1, 128);
        }
        v.finish()?;
        let keys = req.tag_keys.unwrap_or_default();
        let user = self.iam_user(ctx, req.user_name.as_deref().unwrap_or_default())?;
        let mut tags = user.tags;
        tags.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
        self.store
            .set_user_tags(&ctx.principal.account, &user.user_name, &tags)?;
        Ok(Empty {})
    }

    pub fn list_user_tags(
        &self,
        ctx: &RequestContext,
        req: ListUserTagsRequest,
    ) -> Result<ListUserTagsResponse, CoreError> {
        let mut v = Validator::new();
        validate::required_name(&mut v, &req.user_name, "userName", 128);
        paging::check(&mut v, req.marker.as_deref(), req.max_items);
        v.finish()?;
        let user = self.iam_user(ctx, req.user_name.as_deref().unwrap_or_default())?;
        let page = paging::page(
            user.tags,
            |t| t.key.clone(),
            req.marker.as_deref(),
            req.max_items,
        )?;
        Ok(ListUserTagsResponse {
            tags: tags_view(&page.items).unwrap_or_default(),
            is_truncated: page.is_truncated,
            marker: page.marker,
        })
    }
}
