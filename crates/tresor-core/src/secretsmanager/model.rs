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

impl Validate for SecretIdRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
        Ok(())
    }
}

impl Validate for CreateSecretRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.name, "name");
        v.member(self.client_request_token.as_ref(), "clientRequestToken");
        v.member(self.description.as_ref(), "description");
        v.member(self.kms_key_id.as_ref(), "kmsKeyId");
        v.member(self.secret_type.as_ref(), "type");
        tags(v, self.tags.as_deref(), "tags");
        v.count(
            self.add_replica_regions.as_deref(),
            "addReplicaRegions",
            1,
            usize::MAX,
        );
        value(v, self.secret_string.as_ref(), self.secret_binary.as_ref())
    }
}

impl Validate for GetSecretValueRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
        v.member(self.version_id.as_ref(), "versionId");
        v.member(self.version_stage.as_ref(), "versionStage");
        Ok(())
    }
}

impl Validate for PutSecretValueRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
        v.member(self.client_request_token.as_ref(), "clientRequestToken");
        v.count(self.version_stages.as_deref(), "versionStages", 1, 20);
        v.each(self.version_stages.as_deref(), "versionStages");
        v.sensitive_length(
            self.rotation_token.as_ref().map(|t| t.0.len()),
            "rotationToken",
            ROTATION_TOKEN_MIN,
            ROTATION_TOKEN_MAX,
        );
        value(v, self.secret_string.as_ref(), self.secret_binary.as_ref())
    }
}

impl Validate for UpdateSecretRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
        v.member(self.client_request_token.as_ref(), "clientRequestToken");
        v.member(self.description.as_ref(), "description");
        v.member(self.kms_key_id.as_ref(), "kmsKeyId");
        v.member(self.secret_type.as_ref(), "type");
        value(v, self.secret_string.as_ref(), self.secret_binary.as_ref())
    }
}

impl Validate for DeleteSecretRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
        Ok(())
    }
}

impl Validate for ListSecretsRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
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
        validate_filters(v, self.filters.as_deref());
        Ok(())
    }
}

impl Validate for ListSecretVersionIdsRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
        v.range(self.max_results, "maxResults", 1, 100);
        v.member(self.next_token.as_ref(), "nextToken");
        Ok(())
    }
}

impl Validate for UpdateSecretVersionStageRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
        v.required_member(&self.version_stage, "versionStage");
        v.member(self.remove_from_version_id.as_ref(), "removeFromVersionId");
        v.member(self.move_to_version_id.as_ref(), "moveToVersionId");
        Ok(())
    }
}

impl Validate for TagResourceRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
        v.required(&self.tags, "tags");
        tags(v, self.tags.as_deref(), "tags");
        Ok(())
    }
}

impl Validate for UntagResourceRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
        v.required(&self.tag_keys, "tagKeys");
        v.each(self.tag_keys.as_deref(), "tagKeys");
        Ok(())
    }
}

impl Validate for PutResourcePolicyRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
        v.required_member(&self.resource_policy, "resourcePolicy");
        Ok(())
    }
}

impl Validate for ValidateResourcePolicyRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.member(self.secret_id.as_ref(), "secretId");
        v.required_member(&self.resource_policy, "resourcePolicy");
        Ok(())
    }
}

impl Validate for ListResourcePoliciesRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.range(self.max_results, "maxResults", 1, 100);
        v.member(self.next_token.as_ref(), "nextToken");
        Ok(())
    }

    /// Paging first: Tresor keeps one policy per secret, so it never issues a `NextToken` and
    /// any token is invalid, whatever the `SecretId`; the `SecretId` is checked after it.
    fn validate(&self) -> Result<(), CoreError> {
        let mut v = Validator::new();
        self.check(&mut v)?;
        v.finish()?;
        if self.next_token.is_some() {
            return Err(CoreError::InvalidNextToken(
                "The NextToken value is invalid.".to_owned(),
            ));
        }
        let mut v = Validator::new();
        v.required_member(&self.secret_id, "secretId");
        v.finish()
    }
}

impl Validate for GetRandomPasswordRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.range(self.password_length, "passwordLength", 1, 4096);
        v.length(
            self.exclude_characters.as_deref(),
            "excludeCharacters",
            0,
            4096,
        );
        Ok(())
    }
}

impl Validate for BatchGetSecretValueRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.count(self.secret_id_list.as_deref(), "secretIdList", 1, 20);
        v.each(self.secret_id_list.as_deref(), "secretIdList");
        validate_filters(v, self.filters.as_deref());
        v.range(self.max_results, "maxResults", 1, 20);
        v.member(self.next_token.as_ref(), "nextToken");
        Ok(())
    }
}

impl Validate for RotateSecretRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
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
        Ok(())
    }
}

impl Validate for ReplicateSecretToRegionsRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
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
        Ok(())
    }
}

impl Validate for RemoveRegionsFromReplicationRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.required_member(&self.secret_id, "secretId");
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
        Ok(())
    }
}

/// The members both cross-account operations check.
fn cross_account_replica(v: &mut Validator, req: &CrossAccountReplicaRequest) {
    v.required_member(&req.secret_id, "secretId");
    v.required(&req.cross_account_replica_arn, "crossAccountReplicaARN");
    v.length(
        req.cross_account_replica_arn.as_deref(),
        "crossAccountReplicaARN",
        20,
        2048,
    );
}

impl Validate for AssociateCrossAccountReplicaRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        cross_account_replica(v, &self.0);
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
        Ok(())
    }
}

impl Validate for DisassociateCrossAccountReplicaRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        cross_account_replica(v, &self.0);
        Ok(())
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
