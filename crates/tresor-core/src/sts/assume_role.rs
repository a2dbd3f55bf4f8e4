//! `AssumeRole`: check the role's trust policy, then mint temporary credentials.
//!
//! Who may assume a role of the caller's own account (cross-account is not served yet):
//! - never the account root (AWS: "Roles may not be assumed by root accounts");
//! - a caller the trust policy names itself (its user ARN, its session ARN, or, for a role
//!   session, its role's ARN): the trust policy alone grants;
//! - a caller whose account the trust policy names (`"AWS": "<acct>"` or `…:root`): only if
//!   the caller's identity policies also allow `sts:AssumeRole` on the role;
//! - and in every case, no applicable Deny in the trust policy, the identity policies or the
//!   calling session's policy.
//!
//! A role session may assume a role again (role chaining), for at most one hour.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use tresor_policy::{
    AuthzRequest, ConditionContext, Decision, DecisionKind, NamedPolicy, PolicyKind, PolicySet,
};
use tresor_store::{AccessKeyRecord, AccessKeyStatus, IdentityStore, RoleRecord, SessionRecord};
use tresor_types::SecretBytes;
use zeroize::Zeroizing;

use super::dto::*;
use crate::authz::{parse_stored, Named};
use crate::iam::dto::RevealedSecret;
use crate::iam::format::{iso8601, parse_iam_arn, policy_size};
use crate::iam::validate::{self, NAME_PATTERN};
use crate::validate::Validator;
use crate::{Core, CoreError, PrincipalKind, RequestContext};

const ACTION: &str = "sts:AssumeRole";
const DURATION_MIN: i64 = 900;
const DURATION_MAX: i64 = 43_200;
const DURATION_DEFAULT: i64 = 3_600;
/// Role chaining: a session started from another role session lasts at most an hour.
const CHAINED_MAX: i64 = 3_600;
/// The plaintext session policy quota, in characters (white space not counted).
const SESSION_POLICY_MAX: usize = 2_048;
/// Random bytes in a session token (160 base64 characters).
const SESSION_TOKEN_BYTES: usize = 120;

fn denied(caller_arn: &str, role_arn: &str) -> CoreError {
    CoreError::access_denied(format!(
        "User: {caller_arn} is not authorized to perform: {ACTION} on resource: {role_arn}"
    ))
}

fn is_explicit_deny(d: &Decision) -> bool {
    matches!(
        d.kind,
        DecisionKind::ExplicitDenyIdentity
            | DecisionKind::ExplicitDenyResource
            | DecisionKind::ExplicitDenySession
    )
}

/// A fresh session token: 120 random bytes, base64.
fn new_session_token() -> Result<SecretBytes, CoreError> {
    let raw = Zeroizing::new(tresor_crypto::random_bytes(SESSION_TOKEN_BYTES)?);
    let mut text = String::with_capacity(SESSION_TOKEN_BYTES / 3 * 4);
    STANDARD.encode_string(raw.as_slice(), &mut text);
    Ok(SecretBytes::new(text.into_bytes()))
}

fn named((name, policy): &Named) -> NamedPolicy<'_> {
    NamedPolicy { name, policy }
}

impl Core {
    /// May the caller assume `role`? See the module documentation for the rules.
    fn trust_allows(
        &self,
        ctx: &RequestContext,
        role: &RoleRecord,
        session_name: &str,
        external_id: Option<&str>,
    ) -> Result<bool, CoreError> {
        let Some((trust_name, trust)) = parse_stored(
            &format!("trust:{}", role.arn),
            &role.assume_role_policy,
            PolicyKind::Trust,
        ) else {
            return Ok(false);
        };
        let caller = Self::caller(ctx);
        let source_ip = ctx.source_ip.as_deref().and_then(|ip| ip.parse().ok());
        let mut keys = ConditionContext::for_caller(
            &caller,
            ctx.now.millis().div_euclid(1000),
            source_ip,
            ctx.secure_transport,
            ctx.region.as_str(),
        );
        keys.insert("sts:RoleSessionName", session_name);
        if let Some(id) = external_id {
            keys.insert("sts:ExternalId", id);
        }
        let (identity, session) = self.caller_policies(ctx)?;
        let trust = NamedPolicy {
            name: &trust_name,
            policy: &trust,
        };
        let session = session.as_ref().map(named);
        let account = role.account.as_str();

        // The trust policy alone: grants when it names the caller itself or its role.
        let alone = tresor_policy::evaluate(
            &AuthzRequest {
                caller: &caller,
                action: ACTION,
                resource: &role.arn,
                resource_account: Some(account),
                context: &keys,
            },
            &PolicySet {
                identity: Vec::new(),
                resource: Some(trust),
                session,
            },
        );
        // Naming the caller's account delegates to the account's identity policies, as a
        // resource policy does across accounts: the evaluator applies exactly that rule when
        // it sees the resource in another account, so this question is asked that way (the
        // empty account id is no account's). It also collects every applicable Deny.
        let delegated = tresor_policy::evaluate(
            &AuthzRequest {
                caller: &caller,
                action: ACTION,
                resource: &role.arn,
                resource_account: Some(""),
                context: &keys,
            },
            &PolicySet {
                identity: identity.iter().map(named).collect(),
                resource: Some(trust),
                session,
            },
        );
        for e in alone.errors.iter().chain(&delegated.errors) {
            tracing::warn!(request_id = %ctx.request_id, error = %e, "policy statement could not be evaluated");
        }
        Ok(!is_explicit_deny(&delegated)
            && !is_explicit_deny(&alone)
            && (alone.allowed || delegated.allowed))
    }

    pub fn assume_role(
        &self,
        ctx: &RequestContext,
        req: AssumeRoleRequest,
    ) -> Result<AssumeRoleResponse, CoreError> {
        let mut v = Validator::new();
        v.required(&req.role_arn, "roleArn");
        v.length(req.role_arn.as_deref(), "roleArn", 20, 2048);
        v.required(&req.role_session_name, "roleSessionName");
        v.length(req.role_session_name.as_deref(), "roleSessionName", 2, 64);
        v.chars(
            req.role_session_name.as_deref(),
            "roleSessionName",
            NAME_PATTERN,
            validate::is_name_char,
        );
        v.range(
            req.duration_seconds,
            "durationSeconds",
            DURATION_MIN,
            DURATION_MAX,
        );
        if req.policy.is_some() {
            validate::document(&mut v, &req.policy, "policy");
        }
        v.length(req.external_id.as_deref(), "externalId", 2, 1224);
        validate::tags(&mut v, req.tags.as_deref(), "tags");
        v.finish()?;
        if req.policy_arns.as_ref().is_some_and(|p| !p.is_empty()) {
            // Refused rather than ignored: managed session policies narrow the session.
            return Err(CoreError::Validation(
                "PolicyArns (managed session policies) are not supported by Tresor; pass the session policy as Policy."
                    .to_owned(),
            ));
        }
        let session_policy = req.policy.filter(|p| !p.is_empty());
        let packed_size = match &session_policy {
            Some(doc) => {
                validate::parse_policy(doc, PolicyKind::Identity)?;
                let percent = (policy_size(doc) * 100).div_ceil(SESSION_POLICY_MAX);
                if percent > 100 {
                    return Err(CoreError::PackedPolicyTooLarge(format!(
                        "Packed policy consumes {percent}% of allotted space, please use smaller policy for session."
                    )));
                }
                Some(percent)
            }
            None => None,
        };
        let role_arn = req.role_arn.unwrap_or_default();
        let session_name = req.role_session_name.unwrap_or_default();
        let caller_arn = ctx.principal.arn.clone();
        let chained = match &ctx.principal.kind {
            PrincipalKind::Root => {
                return Err(CoreError::access_denied(
                    "Roles may not be assumed by root accounts.".to_owned(),
                ))
            }
            PrincipalKind::User { .. } => false,
            PrincipalKind::AssumedRole { .. } => true,
        };
        let Some((account, "role", _, role_name)) = parse_iam_arn(&role_arn) else {
            return Err(CoreError::Validation(format!("{role_arn} is invalid")));
        };
        if account != ctx.principal.account.as_str() {
            // Cross-account roles are not served yet.
            return Err(denied(&caller_arn, &role_arn));
        }
        let role = match self.store.get_role(&ctx.principal.account, role_name) {
            Ok(Some(r)) if r.arn == role_arn => r,
            Ok(_) => return Err(denied(&caller_arn, &role_arn)),
            Err(e) => return Err(CoreError::Internal(e.to_string())),
        };
        let duration = req.duration_seconds.unwrap_or(DURATION_DEFAULT);
        if chained && duration > CHAINED_MAX {
            return Err(CoreError::Validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
                    .to_owned(),
            ));
        }
        if duration > role.max_session_duration {
            return Err(CoreError::Validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                    .to_owned(),
            ));
        }
        if !self.trust_allows(ctx, &role, &session_name, req.external_id.as_deref())? {
            return Err(denied(&caller_arn, &role_arn));
        }

        let issued = self.issue_session(&role, &session_name, session_policy, duration, ctx.now)?;
        Ok(AssumeRoleResponse {
            credentials: Credentials {
                access_key_id: issued.access_key_id,
                secret_access_key: RevealedSecret(issued.secret_access_key),
                session_token: RevealedSecret(issued.session_token),
                expiration: iso8601(issued.expires),
            },
            assumed_role_user: AssumedRoleUser {
                assumed_role_id: format!("{}:{session_name}", role.role_id),
                arn: issued.assumed_arn,
            },
            packed_policy_size: packed_size,
        })
    }
}

/// Temporary credentials of a role session, as issued.
pub struct IssuedSession {
    pub access_key_id: String,
    pub secret_access_key: SecretBytes,
    pub session_token: SecretBytes,
    pub expires: tresor_types::Timestamp,
    pub assumed_arn: String,
}

impl std::fmt::Debug for IssuedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedSession")
            .field("access_key_id", &self.access_key_id)
            .field("assumed_arn", &self.assumed_arn)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Mint a session of `role` lasting `duration` seconds from `now`, and store it: what
    /// `AssumeRole` answers once its checks passed, and what a rotator runs with.
    pub(crate) fn issue_session(
        &self,
        role: &RoleRecord,
        session_name: &str,
        session_policy: Option<String>,
        duration: i64,
        now: tresor_types::Timestamp,
    ) -> Result<IssuedSession, CoreError> {
        let access_key_id = tresor_crypto::new_access_key_id("ASIA")?;
        let secret = tresor_crypto::new_secret_access_key()?;
        let token = new_session_token()?;
        let token_text = std::str::from_utf8(token.expose())
            .map_err(|_| CoreError::Internal("session token is not UTF-8".to_owned()))?;
        let expires = now.plus_seconds(duration);
        let assumed_arn = format!(
            "arn:aws:sts::{}:assumed-role/{}/{session_name}",
            role.account, role.role_name
        );
        let key = AccessKeyRecord {
            sealed_secret: self.keyring.seal_access_secret(&access_key_id, &secret)?,
            access_key_id: access_key_id.clone(),
            account: role.account.clone(),
            principal_arn: assumed_arn.clone(),
            user_name: None,
            status: AccessKeyStatus::Active,
            created: now,
        };
        let session = SessionRecord {
            token_digest: self.keyring.session_token_digest(token_text),
            expires,
            role_name: role.role_name.clone(),
            role_id: role.role_id.clone(),
            role_arn: role.arn.clone(),
            session_name: session_name.to_owned(),
            session_policy,
        };
        self.store
            .put_session_key(&key, &session)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(IssuedSession {
            access_key_id,
            secret_access_key: secret,
            session_token: token,
            expires,
            assumed_arn,
        })
    }
}
