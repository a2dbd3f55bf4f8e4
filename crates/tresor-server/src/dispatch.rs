//! From a decoded operation name to the core function, with the body decoded into its typed
//! request, checked against the model ([`Validated`]) and the response encoded back. One
//! exhaustive `match`: the enum is the API surface.

mod kms;
pub use kms::kms;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tresor_core::secretsmanager::Operation;
use tresor_core::validate::{Validate, Validated};
use tresor_core::{Core, CoreError, RequestContext};

/// Deepest nesting of arrays and objects a JSON body may have (the JSON parser's own limit for
/// the values it builds; members it skips would otherwise go unchecked).
pub const MAX_JSON_NESTING: usize = 128;

/// Whether `body` nests arrays and objects at most `max` deep, read in one pass without
/// recursion. Brackets inside strings do not count.
fn nesting_within(body: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// Decode a request body into its typed request and check it against the model: a body that
/// does not decode is a `SerializationException`, a request that breaks the model the
/// collected `ValidationException` (or the rule AWS applies with it).
pub(crate) fn decode<T: DeserializeOwned + Default + Validate>(
    body: &[u8],
) -> Result<Validated<T>, CoreError> {
    Validated::new(decode_body(body)?)
}

/// Decode a request body. serde's messages can quote the offending input, which may be a
/// secret value, so only the position and the kind of problem are reported. Any JSON string
/// decodes into a string member (a typed identifier too): its model constraints are checked
/// after, by [`decode`].
pub(crate) fn decode_body<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, CoreError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    if !nesting_within(body, MAX_JSON_NESTING) {
        return Err(CoreError::Serialization(format!(
            "Unable to parse the request: it nests more than {MAX_JSON_NESTING} levels deep."
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        let kind = match e.classify() {
            serde_json::error::Category::Data => "a member has the wrong type or value",
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "the body is not valid JSON"
            }
            serde_json::error::Category::Io => "the body could not be read",
        };
        CoreError::Serialization(format!(
            "Unable to parse the request: {kind} (line {}, column {}).",
            e.line(),
            e.column()
        ))
    })
}

pub(crate) fn encode<T: Serialize>(value: Result<T, CoreError>) -> Result<Vec<u8>, CoreError> {
    let value = value?;
    serde_json::to_vec(&value).map_err(|e| CoreError::Internal(format!("encoding response: {e}")))
}

/// Run one Secrets Manager operation.
pub fn secretsmanager(
    core: &Core,
    ctx: &RequestContext,
    op: Operation,
    body: &[u8],
) -> Result<Vec<u8>, CoreError> {
    use Operation as O;
    match op {
        O::BatchGetSecretValue => encode(core.batch_get_secret_value(ctx, decode(body)?)),
        O::CancelRotateSecret => encode(core.cancel_rotate_secret(ctx, decode(body)?)),
        O::CreateSecret => encode(core.create_secret(ctx, decode(body)?)),
        O::DeleteResourcePolicy => encode(core.delete_resource_policy(ctx, decode(body)?)),
        O::DeleteSecret => encode(core.delete_secret(ctx, decode(body)?)),
        O::DescribeSecret => encode(core.describe_secret(ctx, decode(body)?)),
        O::GetRandomPassword => encode(core.get_random_password(ctx, decode(body)?)),
        O::GetResourcePolicy => encode(core.get_resource_policy(ctx, decode(body)?)),
        O::GetSecretValue => encode(core.get_secret_value(ctx, decode(body)?)),
        O::ListResourcePolicies => encode(core.list_resource_policies(ctx, decode(body)?)),
        O::ListSecretVersionIds => encode(core.list_secret_version_ids(ctx, decode(body)?)),
        O::ListSecrets => encode(core.list_secrets(ctx, decode(body)?)),
        O::PutResourcePolicy => encode(core.put_resource_policy(ctx, decode(body)?)),
        O::PutSecretValue => encode(core.put_secret_value(ctx, decode(body)?)),
        O::RemoveRegionsFromReplication => {
            encode(core.remove_regions_from_replication(ctx, decode(body)?))
        }
        O::ReplicateSecretToRegions => encode(core.replicate_secret_to_regions(ctx, decode(body)?)),
        O::RestoreSecret => encode(core.restore_secret(ctx, decode(body)?)),
        O::RotateSecret => encode(core.rotate_secret(ctx, decode(body)?)),
        O::StopReplicationToReplica => encode(core.stop_replication_to_replica(ctx, decode(body)?)),
        O::TagResource => encode(core.tag_resource(ctx, decode(body)?)),
        O::UntagResource => encode(core.untag_resource(ctx, decode(body)?)),
        O::UpdateSecret => encode(core.update_secret(ctx, decode(body)?)),
        O::UpdateSecretVersionStage => encode(core.update_secret_version_stage(ctx, decode(body)?)),
        O::ValidateResourcePolicy => encode(core.validate_resource_policy(ctx, decode(body)?)),
        O::AssociateCrossAccountReplica => {
            encode(core.associate_cross_account_replica(ctx, decode(body)?))
        }
        O::DisassociateCrossAccountReplica => {
            encode(core.disassociate_cross_account_replica(ctx, decode(body)?))
        }
    }
}

/// Run one operation of the gateway's admin API. `Invoke` has no admin target: it is reached
/// through `/gateway/<route>/…` only.
pub fn gateway(
    core: &Core,
    ctx: &RequestContext,
    op: tresor_core::gateway::Operation,
    body: &[u8],
) -> Result<Vec<u8>, CoreError> {
    use tresor_core::gateway::Operation as O;
    match op {
        O::CreateRoute => encode(core.gateway_create_route(ctx, decode(body)?)),
        O::UpdateRoute => encode(core.gateway_update_route(ctx, decode(body)?)),
        O::GetRoute => encode(core.gateway_get_route(ctx, decode(body)?)),
        O::ListRoutes => encode(core.gateway_list_routes(ctx, decode(body)?)),
        O::DeleteRoute => encode(core.gateway_delete_route(ctx, decode(body)?)),
        O::CreateKey => encode(core.gateway_create_key(ctx, decode(body)?)),
        O::UpdateKey => encode(core.gateway_update_key(ctx, decode(body)?)),
        O::GetKey => encode(core.gateway_get_key(ctx, decode(body)?)),
        O::ListKeys => encode(core.gateway_list_keys(ctx, decode(body)?)),
        O::DeleteKey => encode(core.gateway_delete_key(ctx, decode(body)?)),
        O::GetKeyUsage => encode(core.gateway_key_usage(ctx, decode(body)?)),
        O::PutPrice => encode(core.gateway_put_price(ctx, decode(body)?)),
        O::ListPrices => encode(core.gateway_list_prices(ctx, decode(body)?, default_prices())),
        O::DeletePrice => encode(core.gateway_delete_price(ctx, decode(body)?)),
        O::PutBudget => encode(core.gateway_put_budget(ctx, decode(body)?)),
        O::GetBudget => encode(core.gateway_get_budget(ctx, decode(body)?)),
        O::ListBudgets => encode(core.gateway_list_budgets(ctx, decode(body)?)),
        O::DeleteBudget => encode(core.gateway_delete_budget(ctx, decode(body)?)),
        O::Invoke => Err(CoreError::UnknownOperation(
            "Unknown operation TresorGateway.Invoke: calls go through /gateway/<route>/."
                .to_owned(),
        )),
    }
}

/// Run one operation of the rotation admin API.
pub fn rotation(
    core: &Core,
    ctx: &RequestContext,
    op: tresor_core::rotation::Operation,
    body: &[u8],
) -> Result<Vec<u8>, CoreError> {
    use tresor_core::rotation::Operation as O;
    match op {
        O::CreateRotator => encode(core.rotation_create_rotator(ctx, decode(body)?)),
        O::GetRotator => encode(core.rotation_get_rotator(ctx, decode(body)?)),
        O::ListRotators => encode(core.rotation_list_rotators(ctx, decode(body)?)),
        O::DeleteRotator => encode(core.rotation_delete_rotator(ctx, decode(body)?)),
        O::GetRotatorLogs => encode(core.rotation_get_rotator_logs(ctx, decode(body)?)),
        O::ListRotationStatus => encode(core.rotation_list_status(ctx, decode(body)?)),
        O::RunDueRotations => encode(core.rotation_run_due(ctx, decode(body)?)),
    }
}

/// The gateway's shipped price table, as `ListPrices` shows it.
fn default_prices() -> Vec<tresor_core::gateway::Price> {
    let usd = |micro: i64| micro as f64 / 1e6;
    tresor_gateway::prices::PriceTable::defaults()
        .entries()
        .into_iter()
        .map(|(model, p, _)| tresor_core::gateway::Price {
            model,
            input_per_million_usd: usd(p.input_per_mtok_micro),
            output_per_million_usd: usd(p.output_per_mtok_micro),
            cached_input_per_million_usd: p.cached_input_per_mtok_micro.map(usd),
            source: Some("default".to_owned()),
        })
        .collect()
}

/// CloudTrail `LookupEvents`.
pub fn lookup_events(core: &Core, ctx: &RequestContext, body: &[u8]) -> Result<Vec<u8>, CoreError> {
    encode(core.lookup_events(ctx, decode(body)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tresor_core::secretsmanager::dto::{CreateSecretRequest, GetSecretValueRequest};

    #[test]
    fn decode_errors_never_quote_the_input() {
        let body = br#"{"Name": "x", "SecretString": 987654321}"#;
        let err = decode_body::<CreateSecretRequest>(body).unwrap_err();
        assert_eq!(err.aws_code(), "SerializationException");
        assert!(!err.message().contains("987654321"), "{}", err.message());
        let err = decode_body::<CreateSecretRequest>(b"{\"Name\": \"sk-abc").unwrap_err();
        assert!(!err.message().contains("sk-abc"));
    }

    #[test]
    fn nesting_is_bounded_without_recursion() {
        let deep = |n: usize| {
            format!(
                r#"{{"SecretId":"x","Junk":{}{}}}"#,
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        assert!(decode_body::<CreateSecretRequest>(deep(MAX_JSON_NESTING - 1).as_bytes()).is_ok());
        let err = decode_body::<CreateSecretRequest>(deep(100_000).as_bytes()).unwrap_err();
        assert_eq!(err.aws_code(), "SerializationException");
        // Brackets in strings, escaped quotes included, are text.
        let text = format!(r#"{{"Name":"a\"{}"}}"#, "[".repeat(1000));
        assert!(decode_body::<CreateSecretRequest>(text.as_bytes()).is_ok());
    }

    #[test]
    fn empty_body_is_an_empty_request() {
        let r: CreateSecretRequest = decode_body(b"").unwrap();
        assert!(r.name.is_none());
    }

    #[test]
    fn requests_are_checked_against_the_model_once_decoded() {
        let err = decode::<CreateSecretRequest>(br#"{"Name": "", "SecretString": "s3cr3t"}"#)
            .unwrap_err();
        assert_eq!(err.aws_code(), "ValidationException");
        assert_eq!(
            err.message(),
            "1 validation error detected: Value '' at 'name' failed to satisfy constraint: \
             Member must have length greater than or equal to 1"
        );
        // Any JSON string is a member value; only the check refuses it.
        let r: GetSecretValueRequest =
            decode_body(br#"{"SecretId": "a b", "VersionId": "\u0001"}"#).unwrap();
        assert_eq!(r.secret_id.as_deref(), Some("a b"));
        assert!(decode::<GetSecretValueRequest>(br#"{"SecretId": "prod/db"}"#).is_ok());
    }
}
