//! Aliases: `CreateAlias`, `UpdateAlias`, `DeleteAlias`, `ListAliases`. A name is
//! `alias/<name>` (the model's pattern and length), unique in its account and region;
//! `alias/aws/` is reserved for AWS managed keys.

use tresor_store::{KmsAliasRecord, KmsKeyState, KmsStore, StoreError};

use super::alias_arn;
use super::dto::{
    AliasListEntry, AliasRequest, AliasTargetRequest, Empty, ListAliasesResponse, ListRequest,
};
use super::keys::{alias_not_found, invalid_state, LoadedKey, Naming};
use super::paging::{check_name_marker, page_limit};
use crate::authz::Resource;
use crate::validate::Validated;
use crate::{Core, CoreError, KmsError, RequestContext};

const PREFIX: &str = "alias/";
const RESERVED_PREFIX: &str = "alias/aws/";

/// The rules of an alias name beyond the model's pattern: the `alias/` prefix, something
/// after it, and (for names the caller creates or changes) not `alias/aws/`.
pub fn check_alias_name(name: &str, creating: bool) -> Result<(), CoreError> {
    if !name.starts_with(PREFIX) || name.len() == PREFIX.len() {
        return Err(CoreError::Validation(
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html".to_owned(),
        ));
    }
    if creating && name.starts_with(RESERVED_PREFIX) {
        return Err(CoreError::Kms(
            KmsError::NotAuthorized,
            format!("Cannot create, update or delete an alias with the reserved prefix {RESERVED_PREFIX}."),
        ));
    }
    Ok(())
}

/// An alias may name only a customer key that is not pending deletion.
fn check_target(key: &LoadedKey) -> Result<(), CoreError> {
    if key.meta.state == KmsKeyState::PendingDeletion {
        return Err(invalid_state(key));
    }
    if key.is_aws_managed() {
        return Err(CoreError::Kms(
            KmsError::NotAuthorized,
            format!("{} is an AWS managed key: it takes no aliases.", key.arn()),
        ));
    }
    Ok(())
}

impl Core {
    /// IAM's say on the alias itself (`kms:CreateAlias` and friends are authorized on the
    /// alias by IAM and on the key by its key policy).
    fn authorize_alias(
        &self,
        ctx: &RequestContext,
        action: &str,
        name: &str,
    ) -> Result<(), CoreError> {
        let arn = alias_arn(ctx.region.as_str(), ctx.principal.account.as_str(), name);
        self.authorize(
            ctx,
            action,
            Resource {
                arn: &arn,
                account: Some(&ctx.principal.account),
                policy: None,
                keys: Vec::new(),
                shown_as: None,
            },
        )
    }

    pub fn create_alias(
        &self,
        ctx: &RequestContext,
        req: Validated<AliasTargetRequest>,
    ) -> Result<Empty, CoreError> {
        let req = req.into_inner().0;
        let name = req.alias_name.unwrap_or_default();
        check_alias_name(&name, true)?;
        self.authorize_alias(ctx, "kms:CreateAlias", &name)?;
        let key = self.kms_key_to_manage(ctx, req.target_key_id.as_deref(), "kms:CreateAlias")?;
        check_target(&key)?;
        let record = KmsAliasRecord {
            scope: ctx.scope(),
            name: name.clone(),
            key_id: key.record.key_id.clone(),
            created: ctx.now,
            updated: ctx.now,
        };
        match self.store.create_kms_alias(&record) {
            Ok(()) => Ok(Empty {}),
            Err(StoreError::Conflict) => Err(CoreError::Kms(
                KmsError::AlreadyExists,
                format!(
                    "An alias with the name {} already exists",
                    alias_arn(ctx.region.as_str(), ctx.principal.account.as_str(), &name)
                ),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub fn update_alias(
        &self,
        ctx: &RequestContext,
        req: Validated<AliasTargetRequest>,
    ) -> Result<Empty, CoreError> {
        let req = req.into_inner().0;
        let name = req.alias_name.unwrap_or_default();
        check_alias_name(&name, true)?;
        self.authorize_alias(ctx, "kms:UpdateAlias", &name)?;
        let scope = ctx.scope();
        let current = self
            .store
            .get_kms_alias(&scope, &name)?
            .ok_or_else(|| alias_not_found(&scope, &name))?;
        // The alias's current key must allow it too, as AWS asks.
        self.kms_key_to_manage(ctx, Some(&current.key_id), "kms:UpdateAlias")?;
        let to = self.kms_key_to_manage(ctx, req.target_key_id.as_deref(), "kms:UpdateAlias")?;
        check_target(&to)?;
        if !self
            .store
            .update_kms_alias(&scope, &name, &to.record.key_id, ctx.now)?
        {
            return Err(alias_not_found(&scope, &name));
        }
        Ok(Empty {})
    }

    pub fn delete_alias(
        &self,
        ctx: &RequestContext,
        req: Validated<AliasRequest>,
    ) -> Result<Empty, CoreError> {
        let req = req.into_inner();
        let name = req.alias_name.unwrap_or_default();
        check_alias_name(&name, true)?;
        self.authorize_alias(ctx, "kms:DeleteAlias", &name)?;
        let scope = ctx.scope();
        let current = self
            .store
            .get_kms_alias(&scope, &name)?
            .ok_or_else(|| alias_not_found(&scope, &name))?;
        self.kms_key_to_manage(ctx, Some(&current.key_id), "kms:DeleteAlias")?;
        if !self.store.delete_kms_alias(&scope, &name)? {
            return Err(alias_not_found(&scope, &name));
        }
        Ok(Empty {})
    }

    pub fn list_aliases(
        &self,
        ctx: &RequestContext,
        req: Validated<ListRequest>,
    ) -> Result<ListAliasesResponse, CoreError> {
        let req = req.into_inner();
        self.authorize(ctx, "kms:ListAliases", Resource::any())?;
        check_name_marker(req.marker.as_deref(), PREFIX)?;
        let scope = ctx.scope();
        self.keyring.default_key(&self.store, &scope)?;
        let key_id = match req.key_id.as_deref() {
            Some(id) => Some(self.kms_load_key(ctx, id, Naming::KeyOnly)?.record.key_id),
            None => None,
        };
        let limit = page_limit(req.limit);
        let mut aliases = self.store.list_kms_aliases(
            &scope,
            key_id.as_deref(),
            req.marker.as_deref(),
            limit.saturating_add(1),
        )?;
        let truncated = aliases.len() > limit;
        aliases.truncate(limit);
        let next_marker = truncated
            .then(|| aliases.last().map(|a| a.name.clone()))
            .flatten();
        let region = scope.region.as_str();
        let account = scope.account.as_str();
        Ok(ListAliasesResponse {
            aliases: aliases
                .into_iter()
                .map(|a| AliasListEntry {
                    alias_arn: alias_arn(region, account, &a.name),
                    alias_name: a.name,
                    target_key_id: a.key_id,
                    creation_date: a.created,
                    last_updated_date: a.updated,
                })
                .collect(),
            next_marker,
            truncated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyring::DEFAULT_SECRETS_KEY_ALIAS;

    #[test]
    fn alias_names() {
        assert!(check_alias_name("alias/app-key", true).is_ok());
        assert!(check_alias_name(DEFAULT_SECRETS_KEY_ALIAS, false).is_ok());
        assert!(matches!(
            check_alias_name(DEFAULT_SECRETS_KEY_ALIAS, true),
            Err(CoreError::Kms(KmsError::NotAuthorized, _))
        ));
        for bad in ["app-key", "alias/", "Alias/x"] {
            assert!(
                matches!(check_alias_name(bad, true), Err(CoreError::Validation(_))),
                "{bad}"
            );
        }
    }
}
