//! Each Secrets Manager request's check against the botocore model (2017-10-17): required
//! members, the shapes of its string members (read off their types, see
//! [`tresor_types::model`]), ranges, enums and list sizes, collected in the order AWS reports
//! them. The server runs it when it decodes the request ([`crate::validate::Validated`]), so
//! it comes before any lookup or authorization. The few rules that answer in its middle with
//! their own error (both a string and a binary value) keep their place here; the Secrets
//! Manager rules that come after it stay with their operation.

use super::dto::*;
use super::filters::validate_filters;
use super::validate::{self as rules, SECRET_VALUE_MAX};
use crate::validate::{Validate, Validator};
use crate::CoreError;

/// `RotationToken` (sensitive, so never echoed): 36 to 256 characters.
const ROTATION_TOKEN_MIN: usize = 36;
const ROTATION_TOKEN_MAX: usize = 256;

/// The members of a `Tags` list.
fn tags(v: &mut Validator, tags: Option<&[Tag]>, at: &str) {
    for (i, t) in tags.unwrap_or_default().iter().enumerate() {
        let base = format!("{at}.{}.member", i + 1);
        v.required(&t.key, &format!("{base}.key"));
        v.member(t.key.as_ref(), &format!("{base}.key"));
        v.member(t.value.as_ref(), &format!("{base}.value"));
    }
}

/// `SecretString` xor `SecretBinary`, each 1 to 64 KiB. Both at once is refused at once, with
/// its own error, whatever else the model check finds.
fn value(
    v: &mut Validator,
    string: Option<&SecretText>,
    binary: Option<&SecretBlob>,
) -> Result<(), CoreError> {
    rules::one_value(string.is_some(), binary.is_some())?;
    v.sensitive_length(
        string.map(|s| s.0.len()),
        "secretString",
        1,
        SECRET_VALUE_MAX,
    );
    v.sensitive_length(
        binary.map(|b| b.0.len()),
        "secretBinary",
        1,
        SECRET_VALUE_MAX,
    );
    Ok(())
}

/// A required `SecretId`.
fn secret_id(v: &mut Validator, id: &Option<tresor_types::SecretId>) {
    v.required(id, "secretId");
    v.member(id.as_ref(), "secretId");
}

impl Validate for SecretIdRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.finish()
    }
}

impl Validate for CreateSecretRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        v.required(&self.name, "name");
        v.member(self.name.as_ref(), "name");
        v.member(self.client_request_token.as_ref(), "clientRequestToken");
        v.member(self.description.as_ref(), "description");
        v.member(self.kms_key_id.as_ref(), "kmsKeyId");
        v.member(self.secret_type.as_ref(), "type");
        tags(&mut v, self.tags.as_deref(), "tags");
        v.count(
            self.add_replica_regions.as_deref(),
            "addReplicaRegions",
            1,
            usize::MAX,
        );
        value(
            &mut v,
            self.secret_string.as_ref(),
            self.secret_binary.as_ref(),
        )?;
        v.finish()
    }
}

impl Validate for GetSecretValueRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.member(self.version_id.as_ref(), "versionId");
        v.member(self.version_stage.as_ref(), "versionStage");
        v.finish()
    }
}

impl Validate for PutSecretValueRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.member(self.client_request_token.as_ref(), "clientRequestToken");
        v.count(self.version_stages.as_deref(), "versionStages", 1, 20);
        v.each(self.version_stages.as_deref(), "versionStages");
        v.sensitive_length(
            self.rotation_token.as_ref().map(|t| t.0.len()),
            "rotationToken",
            ROTATION_TOKEN_MIN,
            ROTATION_TOKEN_MAX,
        );
        value(
            &mut v,
            self.secret_string.as_ref(),
            self.secret_binary.as_ref(),
        )?;
        v.finish()
    }
}

impl Validate for UpdateSecretRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.member(self.client_request_token.as_ref(), "clientRequestToken");
        v.member(self.description.as_ref(), "description");
        v.member(self.kms_key_id.as_ref(), "kmsKeyId");
        v.member(self.secret_type.as_ref(), "type");
        value(
            &mut v,
            self.secret_string.as_ref(),
            self.secret_binary.as_ref(),
        )?;
        v.finish()
    }
}

impl Validate for DeleteSecretRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.finish()
    }
}

impl Validate for ListSecretsRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        v.range(self.max_results, "maxResults", 1, 100);
        v.member(self.next_token.as_ref(), "nextToken");
        v.one_of(self.sort_order.as_deref(), "sortOrder", &["asc", "desc"]);
        v.one_of(
            self.sort_by.as_deref(),
            "sortBy",
            &[
                "created-date",
                "last-accessed-date",
                "last-changed-date",
                "name",
            ],
        );
        validate_filters(&mut v, self.filters.as_deref());
        v.finish()
    }
}

impl Validate for ListSecretVersionIdsRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.range(self.max_results, "maxResults", 1, 100);
        v.member(self.next_token.as_ref(), "nextToken");
        v.finish()
    }
}

impl Validate for UpdateSecretVersionStageRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.required(&self.version_stage, "versionStage");
        v.member(self.version_stage.as_ref(), "versionStage");
        v.member(self.remove_from_version_id.as_ref(), "removeFromVersionId");
        v.member(self.move_to_version_id.as_ref(), "moveToVersionId");
        v.finish()
    }
}

impl Validate for TagResourceRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.required(&self.tags, "tags");
        tags(&mut v, self.tags.as_deref(), "tags");
        v.finish()
    }
}

impl Validate for UntagResourceRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.required(&self.tag_keys, "tagKeys");
        v.each(self.tag_keys.as_deref(), "tagKeys");
        v.finish()
    }
}

impl Validate for PutResourcePolicyRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.required(&self.resource_policy, "resourcePolicy");
        v.member(self.resource_policy.as_ref(), "resourcePolicy");
        v.finish()
    }
}

impl Validate for ValidateResourcePolicyRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        v.member(self.secret_id.as_ref(), "secretId");
        v.required(&self.resource_policy, "resourcePolicy");
        v.member(self.resource_policy.as_ref(), "resourcePolicy");
        v.finish()
    }
}

impl Validate for ListResourcePoliciesRequest {
    /// Paging first: Tresor keeps one policy per secret, so it never issues a `NextToken` and
    /// any token is invalid, whatever the `SecretId`; the `SecretId` is checked after it.
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        v.range(self.max_results, "maxResults", 1, 100);
        v.member(self.next_token.as_ref(), "nextToken");
        v.finish()?;
        if self.next_token.is_some() {
            return Err(CoreError::InvalidNextToken(
                "The NextToken value is invalid.".to_owned(),
            ));
        }
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.finish()
    }
}

impl Validate for GetRandomPasswordRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        v.range(self.password_length, "passwordLength", 1, 4096);
        v.length(
            self.exclude_characters.as_deref(),
            "excludeCharacters",
            0,
            4096,
        );
        v.finish()
    }
}

impl Validate for BatchGetSecretValueRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        v.count(self.secret_id_list.as_deref(), "secretIdList", 1, 20);
        v.each(self.secret_id_list.as_deref(), "secretIdList");
        validate_filters(&mut v, self.filters.as_deref());
        v.range(self.max_results, "maxResults", 1, 20);
        v.member(self.next_token.as_ref(), "nextToken");
        v.finish()
    }
}

impl Validate for RotateSecretRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.member(self.client_request_token.as_ref(), "clientRequestToken");
        v.length(
            self.rotation_lambda_arn.as_deref(),
            "rotationLambdaARN",
            0,
            2048,
        );
        v.length(
            self.external_secret_rotation_role_arn.as_deref(),
            "externalSecretRotationRoleArn",
            20,
            2048,
        );
        if let Some(rules) = &self.rotation_rules {
            v.range(
                rules.automatically_after_days,
                "rotationRules.automaticallyAfterDays",
                1,
                1000,
            );
            v.length(rules.duration.as_deref(), "rotationRules.duration", 2, 3);
            v.length(
                rules.schedule_expression.as_deref(),
                "rotationRules.scheduleExpression",
                1,
                256,
            );
        }
        v.finish()
    }
}

impl Validate for ReplicateSecretToRegionsRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.required(&self.add_replica_regions, "addReplicaRegions");
        v.count(
            self.add_replica_regions.as_deref(),
            "addReplicaRegions",
            1,
            usize::MAX,
        );
        for (i, r) in self
            .add_replica_regions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            v.member(
                r.region.as_ref(),
                &format!("addReplicaRegions.{}.member", i + 1),
            );
        }
        v.finish()
    }
}

impl Validate for RemoveRegionsFromReplicationRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        secret_id(&mut v, &self.secret_id);
        v.required(&self.remove_replica_regions, "removeReplicaRegions");
        v.count(
            self.remove_replica_regions.as_deref(),
            "removeReplicaRegions",
            1,
            usize::MAX,
        );
        v.each(
            self.remove_replica_regions.as_deref(),
            "removeReplicaRegions",
        );
        v.finish()
    }
}

/// The members both cross-account operations check.
fn cross_account_replica(v: &mut Validator, req: &CrossAccountReplicaRequest) {
    secret_id(v, &req.secret_id);
    v.required(&req.cross_account_replica_arn, "crossAccountReplicaARN");
    v.length(
        req.cross_account_replica_arn.as_deref(),
        "crossAccountReplicaARN",
        20,
        2048,
    );
}

impl Validate for AssociateCrossAccountReplicaRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        cross_account_replica(&mut v, &self.0);
        v.one_of(
            self.0.replica_restriction.as_deref(),
            "replicaRestriction",
            &["SameOrg", "NoRestriction"],
        );
        v.length(
            self.0.replication_role_arn.as_deref(),
            "replicationRoleARN",
            20,
            2048,
        );
        v.finish()
    }
}

impl Validate for DisassociateCrossAccountReplicaRequest {
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        cross_account_replica(&mut v, &self.0);
        v.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> T {
        serde_json::from_value(json).unwrap()
    }

    fn message(r: Result<(), CoreError>) -> String {
        r.unwrap_err().message()
    }

    #[test]
    fn messages_are_collected_in_the_models_order() {
        let req: GetSecretValueRequest = request(serde_json::json!({
            "VersionId": "x",
            "VersionStage": "",
        }));
        assert_eq!(
            message(req.validate()),
            "3 validation errors detected: \
             Value 'null' at 'secretId' failed to satisfy constraint: Member must not be null; \
             Value 'x' at 'versionId' failed to satisfy constraint: Member must have length greater than or equal to 32; \
             Value '' at 'versionStage' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
    }

    #[test]
    fn two_values_are_refused_before_the_model_check() {
        let req: PutSecretValueRequest = request(serde_json::json!({
            "SecretId": "",
            "SecretString": "s",
            "SecretBinary": "YQ==",
        }));
        let err = req.validate().unwrap_err();
        assert_eq!(err.aws_code(), "InvalidParameterException");
    }

    #[test]
    fn a_list_resource_policies_token_is_refused_before_the_secret_id() {
        let req: ListResourcePoliciesRequest = request(serde_json::json!({ "NextToken": "t" }));
        assert_eq!(
            req.validate().unwrap_err().aws_code(),
            "InvalidNextTokenException"
        );
        let req: ListResourcePoliciesRequest = request(serde_json::json!({ "MaxResults": 0 }));
        assert!(message(req.validate()).starts_with("1 validation error detected: Value '0'"));
    }

    #[test]
    fn the_restriction_is_checked_only_when_associating() {
        let json = serde_json::json!({
            "SecretId": "s",
            "CrossAccountReplicaARN": "arn:aws:secretsmanager:us-east-1:1:secret:x",
            "ReplicaRestriction": "Anyone",
        });
        let associate: AssociateCrossAccountReplicaRequest = request(json.clone());
        assert!(message(associate.validate()).contains("'replicaRestriction'"));
        let disassociate: DisassociateCrossAccountReplicaRequest = request(json);
        assert!(disassociate.validate().is_ok());
    }
}
