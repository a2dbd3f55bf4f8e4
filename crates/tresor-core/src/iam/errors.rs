//! IAM's error messages, worded as IAM words them (scripts match on them), and the mapping of
//! store conditions to them.

use tresor_store::{Missing, StoreError};

use super::owner::OwnerKind;
use crate::CoreError;

/// "The user with name X cannot be found." (`noun`: user, role, group, user policy, …).
fn no_such_named(noun: &str, name: &str) -> CoreError {
    CoreError::NoSuchEntity(format!("The {noun} with name {name} cannot be found."))
}

pub(crate) fn no_such_owner(kind: OwnerKind, name: &str) -> CoreError {
    no_such_named(kind.noun(), name)
}

pub(crate) fn no_such_user(name: &str) -> CoreError {
    no_such_owner(OwnerKind::User, name)
}

pub(crate) fn no_such_role(name: &str) -> CoreError {
    no_such_owner(OwnerKind::Role, name)
}

pub(crate) fn user_exists(name: &str) -> CoreError {
    CoreError::EntityAlreadyExists(format!("User with name {name} already exists."))
}

pub(crate) fn role_exists(name: &str) -> CoreError {
    CoreError::EntityAlreadyExists(format!("Role with name {name} already exists."))
}

pub(crate) fn policy_exists(name: &str) -> CoreError {
    CoreError::EntityAlreadyExists(format!(
        "A policy called {name} already exists. Duplicate names are not allowed."
    ))
}

pub(crate) fn no_such_access_key(id: &str) -> CoreError {
    CoreError::NoSuchEntity(format!("The Access Key with id {id} cannot be found."))
}

pub(crate) fn no_such_inline_policy(kind: OwnerKind, policy_name: &str) -> CoreError {
    no_such_named(&format!("{} policy", kind.noun()), policy_name)
}

pub(crate) fn no_such_policy(arn: &str) -> CoreError {
    CoreError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
}

pub(crate) fn no_such_policy_version(arn: &str, version_id: &str) -> CoreError {
    CoreError::NoSuchEntity(format!("Policy {arn} version {version_id} does not exist."))
}

pub(crate) fn not_attached(arn: &str) -> CoreError {
    CoreError::NoSuchEntity(format!("Policy {arn} was not found."))
}

pub(crate) fn invalid_arn(arn: &str) -> CoreError {
    CoreError::InvalidInput(format!("ARN {arn} is not valid."))
}

/// `DeleteUser`/`DeleteRole` with dependents: what must go first.
pub(crate) fn must_delete_access_keys() -> CoreError {
    CoreError::DeleteConflict("Cannot delete entity, must delete access keys first.".to_owned())
}

pub(crate) fn must_delete_policies() -> CoreError {
    CoreError::DeleteConflict("Cannot delete entity, must delete policies first.".to_owned())
}

pub(crate) fn must_detach_policies() -> CoreError {
    CoreError::DeleteConflict("Cannot delete entity, must detach all policies first.".to_owned())
}

/// Operations that default to the caller's own user need a user to default to.
pub(crate) fn needs_user_name() -> CoreError {
    CoreError::Validation("Must specify userName when calling with non-User credentials".to_owned())
}

/// IAM's `NoSuchEntity` for what the store did not find, which names it.
pub(crate) fn no_such(missing: &Missing) -> CoreError {
    match missing {
        Missing::Principal { kind, name } => no_such_named(kind.as_str(), name),
        Missing::AccessKey(id) => no_such_access_key(id),
        Missing::InlinePolicy { kind, name } => {
            no_such_named(&format!("{} policy", kind.as_str()), name)
        }
        Missing::ManagedPolicy(arn) => no_such_policy(arn),
        Missing::PolicyVersion { arn, version_id } => no_such_policy_version(arn, version_id),
        Missing::Attachment(arn) => not_attached(arn),
        Missing::Secret | Missing::SecretVersion => CoreError::secret_not_found(),
        Missing::GatewayRoute(name) => crate::gateway::routes::route_not_found(name),
        Missing::GatewayKey(id) => crate::gateway::keys::key_not_found(id),
        Missing::Price(model) => {
            CoreError::ResourceNotFound(format!("No price override for model {model}."))
        }
        Missing::PrincipalBudget { kind, name } => CoreError::ResourceNotFound(format!(
            "The {} {name} has no gateway budget.",
            kind.as_str()
        )),
        Missing::KmsKey(id) => CoreError::Kms(
            crate::KmsError::NotFound,
            format!("Key '{id}' does not exist"),
        ),
    }
}

/// Map a store failure where `Conflict` has a meaning of its own: `NotFound` says what was
/// missing (see [`no_such`]), anything else is an internal error (its detail goes to the log
/// only).
pub(crate) fn store(e: StoreError, conflict: impl FnOnce() -> CoreError) -> CoreError {
    match e {
        StoreError::Conflict => conflict(),
        other => CoreError::from(other),
    }
}

/// For store calls where neither `NotFound` nor `Conflict` is expected.
pub(crate) fn internal(e: StoreError) -> CoreError {
    CoreError::Internal(e.to_string())
}

/// IAM's refusal of a trust policy naming a user or role that does not exist.
pub(crate) fn invalid_principal(principal: &str) -> CoreError {
    CoreError::MalformedPolicyDocument(format!(
        "Invalid principal in policy: \"AWS\":\"{principal}\""
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tresor_store::PrincipalKind;

    /// What the store did not find is answered as IAM words it, whichever call found it missing.
    #[test]
    fn what_the_store_did_not_find_is_answered_as_iam_words_it() {
        let arn = "arn:aws:iam::000000000000:policy/p";
        let cases = [
            (
                Missing::user("Alice"),
                no_such_owner(OwnerKind::User, "Alice"),
            ),
            (Missing::role("ci"), no_such_owner(OwnerKind::Role, "ci")),
            (
                Missing::InlinePolicy {
                    kind: PrincipalKind::Role,
                    name: "inline".to_owned(),
                },
                no_such_inline_policy(OwnerKind::Role, "inline"),
            ),
            (
                Missing::AccessKey("AKIA1".to_owned()),
                no_such_access_key("AKIA1"),
            ),
            (Missing::ManagedPolicy(arn.to_owned()), no_such_policy(arn)),
            (
                Missing::policy_version(arn, "v2"),
                no_such_policy_version(arn, "v2"),
            ),
            (Missing::Attachment(arn.to_owned()), not_attached(arn)),
        ];
        for (missing, expected) in cases {
            let got = CoreError::from(StoreError::NotFound(missing.clone()));
            assert_eq!(got.aws_code(), expected.aws_code(), "{missing:?}");
            assert_eq!(got.message(), expected.message(), "{missing:?}");
        }
        assert_eq!(
            no_such(&Missing::user("Alice")).message(),
            "The user with name Alice cannot be found."
        );
        let secret = CoreError::from(StoreError::NotFound(Missing::Secret));
        assert_eq!(secret.aws_code(), "ResourceNotFoundException");
    }
}
