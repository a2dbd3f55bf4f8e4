//! The owners of inline policies and attachments: users and roles.

use tresor_store::{IdentityStore, PrincipalName};

use super::errors::{self, no_such_owner};
use crate::{Core, CoreError, RequestContext};

/// Whose inline policies or attachments an operation acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnerKind {
    User,
    Role,
}

impl OwnerKind {
    /// `user` / `role`, as in messages and ARNs.
    pub fn noun(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Role => "role",
        }
    }

    /// The member name in validation messages.
    pub fn member(self) -> &'static str {
        match self {
            Self::User => "userName",
            Self::Role => "roleName",
        }
    }
}

/// The store's name for a user or role of the caller's account.
pub(crate) fn owner_name(ctx: &RequestContext, kind: OwnerKind, name: &str) -> PrincipalName {
    PrincipalName {
        account: ctx.principal.account.clone(),
        kind: match kind {
            OwnerKind::User => tresor_store::PrincipalKind::User,
            OwnerKind::Role => tresor_store::PrincipalKind::Role,
        },
        name: name.to_owned(),
    }
}

impl Core {
    /// The user or role named, as the store knows it (its name as created), or `NoSuchEntity`.
    pub(crate) fn iam_owner(
        &self,
        ctx: &RequestContext,
        kind: OwnerKind,
        name: &str,
    ) -> Result<PrincipalName, CoreError> {
        let account = &ctx.principal.account;
        let canonical = match kind {
            OwnerKind::User => self
                .store
                .get_user(account, name)
                .map_err(errors::internal)?
                .map(|u| u.user_name),
            OwnerKind::Role => self
                .store
                .get_role(account, name)
                .map_err(errors::internal)?
                .map(|r| r.role_name),
        };
        let canonical = canonical.ok_or_else(|| no_such_owner(kind, name))?;
        Ok(owner_name(ctx, kind, &canonical))
    }
}
