//! `SecretId` resolution: a name, a full ARN, or a partial ARN (one without the 6-character
//! random suffix), always within the caller's (account, region).

use tresor_store::{SecretRecord, Store};

use crate::{Core, CoreError, RequestContext};

impl Core {
    /// Find the secret `secret_id` names, or `ResourceNotFoundException`.
    pub(crate) fn resolve_secret(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
    ) -> Result<SecretRecord, CoreError> {
        let scope = ctx.scope();
        if let Some(rest) = secret_id.strip_prefix("arn:") {
            // arn:<partition>:secretsmanager:<region>:<account>:secret:<name>[-<suffix>]
            let mut parts = rest.splitn(6, ':');
            let (
                Some(_partition),
                Some(service),
                Some(region),
                Some(account),
                Some("secret"),
                Some(name),
            ) = (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            )
            else {
                return Err(CoreError::secret_not_found());
            };
            if service != "secretsmanager"
                || region != scope.region.as_str()
                || account != scope.account.as_str()
            {
                return Err(CoreError::secret_not_found());
            }
            if let Some(found) = self.store.find_secret_by_arn(secret_id)? {
                return Ok(found);
            }
            // A partial ARN ends with the bare name.
            return self
                .store
                .find_secret_by_name(&scope, name)?
                .ok_or_else(CoreError::secret_not_found);
        }
        self.store
            .find_secret_by_name(&scope, secret_id)?
            .ok_or_else(CoreError::secret_not_found)
    }
}

/// The error for operations that a secret scheduled for deletion refuses.
pub(crate) fn marked_for_deletion() -> CoreError {
    CoreError::InvalidRequest(
        "You can't perform this operation on the secret because it was marked for deletion."
            .to_owned(),
    )
}

/// Refuse if the secret is scheduled for deletion.
pub(crate) fn ensure_not_deleted(record: &SecretRecord) -> Result<(), CoreError> {
    if record.deletion.is_some() {
        return Err(marked_for_deletion());
    }
    Ok(())
}
