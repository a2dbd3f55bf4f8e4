//! `GetCallerIdentity`: who the request's credentials belong to.

use super::dto::GetCallerIdentityResponse;
use crate::{Core, CoreError, RequestContext};

impl Core {
    /// The caller as AWS names it: the root (`UserId` is the account id), a user (its `AIDA…`
    /// id) or a role session (`<role id>:<session name>`, with the assumed-role ARN).
    pub fn get_caller_identity(
        &self,
        ctx: &RequestContext,
    ) -> Result<GetCallerIdentityResponse, CoreError> {
        let p = &ctx.principal;
        Ok(GetCallerIdentityResponse {
            user_id: p.user_id(),
            account: p.account.as_str().to_owned(),
            arn: p.arn.clone(),
        })
    }
}
