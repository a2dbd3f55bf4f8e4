//! Authentication: SigV4 header auth against the access keys in the store.

use tresor_sigv4::{AuthError, Request};
use tresor_store::{AccessKeyStatus, Store};
use tresor_types::{AccountId, Region, Timestamp};

use crate::{Core, CoreError, Principal};

/// What authentication establishes: the caller and the region its signature was scoped to.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub region: Region,
}

fn auth_error(e: &AuthError) -> CoreError {
    CoreError::Authentication {
        code: e.aws_code(),
        message: e.message(),
    }
}

fn unrecognized() -> CoreError {
    CoreError::Authentication {
        code: "UnrecognizedClientException",
        message: "The security token included in the request is invalid.".to_owned(),
    }
}

impl Core {
    /// Verify a request's SigV4 signature for `service` and name its caller. Unknown, inactive
    /// or deleted access keys are refused on every request: nothing about a key is cached but
    /// the derived signing key, which is bound to the key's secret.
    pub fn authenticate(
        &self,
        request: &Request<'_>,
        service: &str,
        now: Timestamp,
    ) -> Result<Authenticated, CoreError> {
        let parsed = tresor_sigv4::parse(request, now).map_err(|e| auth_error(&e))?;
        // Any well-formed region is served: secrets live per (account, region).
        parsed
            .check_scope(&parsed.region, service)
            .map_err(|e| auth_error(&e))?;
        let region = Region::parse(&parsed.region).map_err(|_| CoreError::Authentication {
            code: "InvalidSignatureException",
            message: "Credential should be scoped to a valid region. ".to_owned(),
        })?;
        // Temporary credentials come with STS (a later issue); until then a session token
        // cannot be valid.
        if parsed.session_token.is_some() {
            return Err(unrecognized());
        }
        let key = self
            .store
            .get_access_key(&parsed.access_key_id)?
            .ok_or_else(unrecognized)?;
        if key.status != AccessKeyStatus::Active {
            return Err(unrecognized());
        }
        let secret = self.keyring.open_access_secret(&key)?;
        tresor_sigv4::verify(request, &parsed, &secret, &self.signing_keys)
            .map_err(|e| auth_error(&e))?;
        Ok(Authenticated {
            principal: Principal {
                account: key.account.clone(),
                arn: key.principal_arn.clone(),
                user_name: key.user_name.clone(),
                access_key_id: key.access_key_id,
            },
            region,
        })
    }
}

/// The ARN of an account's root principal.
pub fn root_arn(account: &AccountId) -> String {
    format!("arn:aws:iam::{account}:root")
}
