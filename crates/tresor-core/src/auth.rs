//! Authentication: SigV4 header auth against the access keys in the store.

use tresor_sigv4::{AuthError, AuthFailure, Request};
use tresor_store::{AccessKeyRecord, AccessKeyStatus, IdentityStore, SessionRecord, Store};
use tresor_types::{AccountId, Region, Timestamp};

use crate::{Core, CoreError, Principal, PrincipalKind, Service};

/// What authentication establishes: the caller and the region its signature was scoped to.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub region: Region,
    /// The service the signature was scoped to (one of those the caller accepted).
    pub service: Service,
}

fn auth_error(e: &AuthError) -> CoreError {
    CoreError::Authentication {
        failure: e.failure(),
        message: e.message(),
    }
}

fn unrecognized() -> CoreError {
    CoreError::Authentication {
        failure: AuthFailure::UnrecognizedClient,
        message: "The security token included in the request is invalid.".to_owned(),
    }
}

impl Core {
    /// Verify a request's SigV4 signature, scoped to one of `services`, and name its caller. Unknown, inactive
    /// or deleted access keys are refused on every request: nothing about a key is cached but
    /// the derived signing key, which is bound to the key's secret.
    pub fn authenticate(
        &self,
        request: &Request<'_>,
        services: &[Service],
        now: Timestamp,
    ) -> Result<Authenticated, CoreError> {
        let parsed = tresor_sigv4::parse(request, now).map_err(|e| auth_error(&e))?;
        // Any well-formed region is served: secrets live per (account, region).
        // The service the signature names, if the caller accepts it; else the first, whose
        // scope check then refuses it.
        let service = services
            .iter()
            .find(|s| s.name() == parsed.service)
            .or(services.first())
            .copied()
            .ok_or_else(|| CoreError::Internal("no service to authenticate for".to_owned()))?;
        parsed
            .check_scope(&parsed.region, service.name())
            .map_err(|e| auth_error(&e))?;
        let region = Region::parse(&parsed.region).map_err(|_| CoreError::Authentication {
            failure: AuthFailure::InvalidSignature,
            message: "Credential should be scoped to a valid region. ".to_owned(),
        })?;
        let key = self
            .store
            .get_access_key(&parsed.access_key_id)?
            .ok_or_else(unrecognized)?;
        if key.status != AccessKeyStatus::Active {
            return Err(unrecognized());
        }
        let session = self.store.get_session(&key.access_key_id)?;
        // A session key needs its token, and a long-term key must not come with one.
        match (&session, parsed.session_token.as_deref()) {
            (Some(s), Some(token)) => {
                let digest = self.keyring.session_token_digest(token);
                if !tresor_crypto::ct_eq(&digest, &s.token_digest) {
                    return Err(unrecognized());
                }
            }
            (None, None) => {}
            _ => return Err(unrecognized()),
        }
        let secret = self.keyring.open_access_secret(&key)?;
        tresor_sigv4::verify(request, &parsed, &secret, &self.signing_keys)
            .map_err(|e| auth_error(&e))?;
        if let Some(s) = &session {
            // Checked after the signature so an expired-token answer is only given to the
            // holder of the key.
            if s.expires <= now {
                return Err(CoreError::Authentication {
                    failure: AuthFailure::ExpiredToken,
                    message: "The security token included in the request is expired".to_owned(),
                });
            }
        }
        let principal = self.principal_for(key, session)?;
        Ok(Authenticated {
            principal,
            region,
            service,
        })
    }

    /// Name the principal behind an authenticated key: the root, a user that still exists, or
    /// a session of a role that still exists.
    pub(crate) fn principal_for(
        &self,
        key: AccessKeyRecord,
        session: Option<SessionRecord>,
    ) -> Result<Principal, CoreError> {
        let account = key.account.clone();
        if let Some(s) = session {
            let role = self
                .store
                .get_role(&account, &s.role_name)?
                .ok_or_else(unrecognized)?;
            if role.role_id != s.role_id {
                // The role was deleted and re-created: old sessions die with the old role.
                return Err(unrecognized());
            }
            return Ok(Principal {
                arn: format!(
                    "arn:aws:sts::{account}:assumed-role/{}/{}",
                    s.role_name, s.session_name
                ),
                account,
                kind: PrincipalKind::AssumedRole {
                    role_name: s.role_name,
                    role_id: s.role_id,
                    role_arn: s.role_arn,
                    session_name: s.session_name,
                    session_policy: s.session_policy,
                },
                access_key_id: key.access_key_id,
                tags: role.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            });
        }
        match &key.user_name {
            None => Ok(Principal {
                arn: root_arn(&account),
                account,
                kind: PrincipalKind::Root,
                access_key_id: key.access_key_id,
                tags: Vec::new(),
            }),
            Some(name) => {
                let user = self
                    .store
                    .get_user(&account, name)?
                    .ok_or_else(unrecognized)?;
                Ok(Principal {
                    arn: user.arn,
                    account,
                    kind: PrincipalKind::User {
                        name: user.user_name,
                        id: user.user_id,
                    },
                    access_key_id: key.access_key_id,
                    tags: user.tags.into_iter().map(|t| (t.key, t.value)).collect(),
                })
            }
        }
    }
}

/// The ARN of an account's root principal.
pub fn root_arn(account: &AccountId) -> String {
    format!("arn:aws:iam::{account}:root")
}
