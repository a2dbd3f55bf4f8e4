//! The server's request decoders, reachable without a listener or a core, for the fuzz targets
//! in `fuzz/` and the test that replays their corpus (`crates/tresor-fuzz`).
//!
//! Each function calls the very code the request path runs on an untrusted body — the awsJson
//! `decode_body` of `dispatch.rs`, the awsQuery `decode_form` of `query.rs` — so a fuzz finding
//! is a server finding. The server itself does not use this module.

use serde::de::DeserializeOwned;
use serde_json::Value;
use tresor_core::secretsmanager::Operation;
use tresor_core::validate::Validated;
use tresor_core::{Core, CoreError, RequestContext};

use crate::dispatch::decode_body;

/// Decodes an awsJson body into the typed request of `operation` exactly as the server does
/// before running it, and drops the result.
///
/// `operation` is a Secrets Manager operation name (`GetSecretValue`), one of KMS's
/// cryptographic operations (`Encrypt`, `Decrypt`, …) or CloudTrail's `LookupEvents`; any
/// other name is `UnknownOperation`. A body that does not decode is the
/// server's `SerializationException`, message included.
pub fn decode_json_request(operation: &str, body: &[u8]) -> Result<(), CoreError> {
    if operation == "LookupEvents" {
        return decode_for(Core::lookup_events, body);
    }
    if let Some(op) = kms_cryptographic(operation) {
        return decode_kms_crypto(op, body);
    }
    let op = Operation::from_name(operation)
        .ok_or_else(|| CoreError::UnknownOperation(format!("Unknown operation {operation}.")))?;
    // Why the core methods and not the DTO names: the request type is read off the method the
    // server calls, so this cannot drift from `dispatch::secretsmanager`.
    use Operation as O;
    match op {
        O::BatchGetSecretValue => decode_for(Core::batch_get_secret_value, body),
        O::CancelRotateSecret => decode_for(Core::cancel_rotate_secret, body),
        O::CreateSecret => decode_for(Core::create_secret, body),
        O::DeleteResourcePolicy => decode_for(Core::delete_resource_policy, body),
        O::DeleteSecret => decode_for(Core::delete_secret, body),
        O::DescribeSecret => decode_for(Core::describe_secret, body),
        O::GetRandomPassword => decode_for(Core::get_random_password, body),
        O::GetResourcePolicy => decode_for(Core::get_resource_policy, body),
        O::GetSecretValue => decode_for(Core::get_secret_value, body),
        O::ListResourcePolicies => decode_for(Core::list_resource_policies, body),
        O::ListSecretVersionIds => decode_for(Core::list_secret_version_ids, body),
        O::ListSecrets => decode_for(Core::list_secrets, body),
        O::PutResourcePolicy => decode_for(Core::put_resource_policy, body),
        O::PutSecretValue => decode_for(Core::put_secret_value, body),
        O::RemoveRegionsFromReplication => decode_for(Core::remove_regions_from_replication, body),
        O::ReplicateSecretToRegions => decode_for(Core::replicate_secret_to_regions, body),
        O::RestoreSecret => decode_for(Core::restore_secret, body),
        O::RotateSecret => decode_for(Core::rotate_secret, body),
        O::StopReplicationToReplica => decode_for(Core::stop_replication_to_replica, body),
        O::TagResource => decode_for(Core::tag_resource, body),
        O::UntagResource => decode_for(Core::untag_resource, body),
        O::UpdateSecret => decode_for(Core::update_secret, body),
        O::UpdateSecretVersionStage => decode_for(Core::update_secret_version_stage, body),
        O::ValidateResourcePolicy => decode_for(Core::validate_resource_policy, body),
        O::AssociateCrossAccountReplica => decode_for(Core::associate_cross_account_replica, body),
        O::DisassociateCrossAccountReplica => {
            decode_for(Core::disassociate_cross_account_replica, body)
        }
    }
}

/// The KMS cryptographic operation named `operation` (their names are no other service's).
pub fn kms_cryptographic(operation: &str) -> Option<tresor_core::kms::Operation> {
    tresor_core::kms::Operation::from_name(operation).filter(|op| op.is_cryptographic())
}

/// As `dispatch/kms_crypto.rs` decodes a KMS cryptographic operation's body.
fn decode_kms_crypto(op: tresor_core::kms::Operation, body: &[u8]) -> Result<(), CoreError> {
    use tresor_core::kms::Operation as K;
    match op {
        K::Encrypt => decode_for(Core::kms_encrypt, body),
        K::Decrypt => decode_for(Core::kms_decrypt, body),
        K::ReEncrypt => decode_for(Core::kms_re_encrypt, body),
        K::GenerateDataKey => decode_for(Core::kms_generate_data_key, body),
        K::GenerateDataKeyWithoutPlaintext => {
            decode_for(Core::kms_generate_data_key_without_plaintext, body)
        }
        K::GenerateRandom => decode_for(Core::kms_generate_random, body),
        other => Err(CoreError::UnknownOperation(format!(
            "Unknown operation {}.",
            other.name()
        ))),
    }
}

/// Decodes `body` into the request type `_operation` takes (its model check, which answers
/// with its own errors, is not part of decoding).
fn decode_for<T, R>(
    _operation: impl Fn(&Core, &RequestContext, Validated<T>) -> Result<R, CoreError>,
    body: &[u8],
) -> Result<(), CoreError>
where
    T: DeserializeOwned + Default,
{
    decode_body::<T>(body).map(drop)
}

/// Decodes an awsQuery (IAM, STS) body exactly as the server does: the `Action`, and the
/// parameters rebuilt as nested JSON. The error is the decoder's message.
pub fn decode_query_request(body: &[u8]) -> Result<(Option<String>, Value), String> {
    crate::query::decode_form(body).map_err(|e| e.message())
}
