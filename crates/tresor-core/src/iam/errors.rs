//! IAM's error messages, worded as IAM words them (scripts match on them), and the mapping of
//! store conditions to them.

use tresor_store::StoreError;

use super::owner::OwnerKind;
use crate::CoreError;

pub(crate) fn no_such_owner(kind: OwnerKind, name: &str) -> CoreError {
    CoreError::NoSuchEntity(format!(
        "The {} with name {name} cannot be found.",
        kind.noun()
    ))
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
    CoreError::NoSuchEntity(format!(
        "The {} policy with name {policy_name} cannot be found.",
        kind.noun()
    ))
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

/// Map a store failure: `NotFound` and `Conflict` to the operation's own errors, anything else
/// to an internal error (its detail goes to the log only).
pub(crate) fn store(
    e: StoreError,
    not_found: impl FnOnce() -> CoreError,
    conflict: impl FnOnce() -> CoreError,
) -> CoreError {
    match e {
        StoreError::NotFound(_) => not_found(),
        StoreError::Conflict => conflict(),
        other => CoreError::Internal(other.to_string()),
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
