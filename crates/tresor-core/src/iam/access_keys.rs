//! A user's long-term access keys: `CreateAccessKey` (the secret is answered once and stored
//! only sealed), `ListAccessKeys`, `UpdateAccessKey`, `DeleteAccessKey`. Authentication reads
//! the store on every request, so a deactivated or deleted key stops working at once.

use tresor_store::{AccessKeyRecord, AccessKeyStatus, IdentityStore, Store, UserRecord};

use super::dto::*;
use super::errors::{self, no_such_access_key};
use super::format::iso8601;
use super::paging;
use super::validate;
use crate::validate::Validator;
use crate::{Core, CoreError, RequestContext};

/// IAM's quota of access keys per user.
pub(crate) const MAX_KEYS_PER_USER: usize = 2;

fn check_key_id(v: &mut Validator, id: &Option<String>) {
    v.required(id, "accessKeyId");
    v.length(id.as_deref(), "accessKeyId", 16, 128);
    v.chars(id.as_deref(), "accessKeyId", "[\\w]+", |c| {
        c.is_ascii_alphanumeric() || c == '_'
    });
}

impl Core {
    /// A long-term key of `user`, or `NoSuchEntity` (also for another user's key, a session
    /// key, or the root's).
    fn user_access_key(&self, user: &UserRecord, id: &str) -> Result<AccessKeyRecord, CoreError> {
        let key = self.store.get_access_key(id).map_err(errors::internal)?;
        match key {
            Some(k)
                if k.account == user.account
                    && k.user_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&user.user_name)) =>
            {
                Ok(k)
            }
            _ => Err(no_such_access_key(id)),
        }
    }

    pub fn create_access_key(
        &self,
        ctx: &RequestContext,
        req: CreateAccessKeyRequest,
    ) -> Result<CreateAccessKeyResponse, CoreError> {
        let mut v = Validator::new();
        validate::name(&mut v, req.user_name.as_deref(), "userName", 128);
        v.finish()?;
        let user = self.iam_target_user(ctx, req.user_name.as_deref())?;
        let existing = self
            .store
            .list_user_access_keys(&user.account, &user.user_name)?;
        if existing.len() >= MAX_KEYS_PER_USER {
            return Err(CoreError::LimitExceeded(format!(
                "Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}"
            )));
        }
        let access_key_id = tresor_crypto::new_access_key_id("AKIA")?;
        let secret = tresor_crypto::new_secret_access_key()?;
        let record = AccessKeyRecord {
            sealed_secret: self.keyring.seal_access_secret(&access_key_id, &secret)?,
            access_key_id,
            account: user.account.clone(),
            principal_arn: user.arn.clone(),
            user_name: Some(user.user_name.clone()),
            status: AccessKeyStatus::Active,
            created: ctx.now,
        };
        self.store
            .put_access_key(&record)
            .map_err(errors::internal)?;
        Ok(CreateAccessKeyResponse {
            access_key: AccessKey {
                user_name: user.user_name,
                access_key_id: record.access_key_id,
                status: AccessKeyStatus::Active.as_str().to_owned(),
                secret_access_key: RevealedSecret(secret),
                create_date: iso8601(record.created),
            },
        })
    }

    pub fn list_access_keys(
        &self,
        ctx: &RequestContext,
        req: ListAccessKeysRequest,
    ) -> Result<ListAccessKeysResponse, CoreError> {
        let mut v = Validator::new();
        validate::name(&mut v, req.user_name.as_deref(), "userName", 128);
        paging::check(&mut v, req.marker.as_deref(), req.max_items);
        v.finish()?;
        let user = self.iam_target_user(ctx, req.user_name.as_deref())?;
        let keys = self
            .store
            .list_user_access_keys(&user.account, &user.user_name)?;
        let page = paging::page(
            keys,
            |k| format!("{:020}/{}", k.created.millis(), k.access_key_id),
            req.marker.as_deref(),
            req.max_items,
        )?;
        Ok(ListAccessKeysResponse {
            access_key_metadata: page
                .items
                .into_iter()
                .map(|k| AccessKeyMetadata {
                    user_name: user.user_name.clone(),
                    access_key_id: k.access_key_id,
                    status: k.status.as_str().to_owned(),
                    create_date: iso8601(k.created),
                })
                .collect(),
            is_truncated: page.is_truncated,
            marker: page.marker,
        })
    }

    pub fn update_access_key(
        &self,
        ctx: &RequestContext,
        req: UpdateAccessKeyRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        validate::name(&mut v, req.user_name.as_deref(), "userName", 128);
        check_key_id(&mut v, &req.access_key_id);
        v.required(&req.status, "status");
        v.one_of(
            req.status.as_deref(),
            "status",
            &["Active", "Inactive", "Expired"],
        );
        v.finish()?;
        let status = match req.status.as_deref() {
            Some("Active") => AccessKeyStatus::Active,
            Some("Inactive") => AccessKeyStatus::Inactive,
            _ => {
                return Err(CoreError::InvalidInput(
                    "An access key's status can only be set to Active or Inactive.".to_owned(),
                ))
            }
        };
        let id = req.access_key_id.unwrap_or_default();
        let user = self.iam_target_user(ctx, req.user_name.as_deref())?;
        let key = self.user_access_key(&user, &id)?;
        self.store
            .set_access_key_status(&key.access_key_id, status)?;
        Ok(Empty {})
    }

    pub fn delete_access_key(
        &self,
        ctx: &RequestContext,
        req: DeleteAccessKeyRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        validate::name(&mut v, req.user_name.as_deref(), "userName", 128);
        check_key_id(&mut v, &req.access_key_id);
        v.finish()?;
        let id = req.access_key_id.unwrap_or_default();
        let user = self.iam_target_user(ctx, req.user_name.as_deref())?;
        let key = self.user_access_key(&user, &id)?;
        self.store.delete_access_key(&key.access_key_id)?;
        Ok(Empty {})
    }
}
