//! Request and response shapes of the Secrets Manager API, named as in the botocore model so
//! that code greps against it. Secret values arrive as [`SecretText`]/[`SecretBlob`] (redacted
//! `Debug`) and leave only through [`RevealedString`]/[`RevealedBlob`] in read responses.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use tresor_types::{
    epoch, epoch_opt, Description, KmsKeyId, NextToken, RegionName, ResourcePolicyText,
    SecretBytes, SecretId, SecretName, SecretType, StagingLabel, TagKey, TagValue, Timestamp,
    VersionId,
};

/// A `SecretString` as sent by a client.
#[derive(Debug, Clone)]
pub struct SecretText(pub SecretBytes);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self(SecretBytes::new(s.into_bytes())))
    }
}

/// A `SecretBinary` as sent by a client (base64 on the wire).
#[derive(Debug, Clone)]
pub struct SecretBlob(pub SecretBytes);

impl<'de> Deserialize<'de> for SecretBlob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = zeroize::Zeroizing::new(String::deserialize(d)?);
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(|v| Self(SecretBytes::new(v)))
            .map_err(|_| serde::de::Error::custom("SecretBinary is not valid base64"))
    }
}

/// A plaintext string value on its way to an authorized reader. Serializing it is the one
/// place where a secret value leaves Tresor.
#[derive(Debug)]
pub struct RevealedString(pub SecretBytes);

impl Serialize for RevealedString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0.expose()) {
            Ok(text) => s.serialize_str(text),
            Err(_) => Err(serde::ser::Error::custom(
                "stored SecretString is not UTF-8",
            )),
        }
    }
}

/// A plaintext binary value on its way to an authorized reader (base64 on the wire).
#[derive(Debug)]
pub struct RevealedBlob(pub SecretBytes);

impl Serialize for RevealedBlob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = zeroize::Zeroizing::new(
            base64::engine::general_purpose::STANDARD.encode(self.0.expose()),
        );
        s.serialize_str(&text)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    #[serde(default)]
    pub key: Option<TagKey>,
    #[serde(default)]
    pub value: Option<TagValue>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicaRegionType {
    pub region: Option<RegionName>,
    pub kms_key_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "PascalCase")]
pub struct RotationRulesType {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatically_after_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    pub key: Option<String>,
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ExternalSecretRotationMetadataItem {
    pub key: Option<String>,
    pub value: Option<String>,
}

// ---------------------------------------------------------------- requests

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateSecretRequest {
    pub name: Option<SecretName>,
    pub client_request_token: Option<VersionId>,
    pub description: Option<Description>,
    pub kms_key_id: Option<KmsKeyId>,
    pub secret_binary: Option<SecretBlob>,
    pub secret_string: Option<SecretText>,
    pub tags: Option<Vec<Tag>>,
    pub add_replica_regions: Option<Vec<ReplicaRegionType>>,
    pub force_overwrite_replica_secret: Option<bool>,
    #[serde(rename = "Type")]
    pub secret_type: Option<SecretType>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetSecretValueRequest {
    pub secret_id: Option<SecretId>,
    pub version_id: Option<VersionId>,
    pub version_stage: Option<StagingLabel>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutSecretValueRequest {
    pub secret_id: Option<SecretId>,
    pub client_request_token: Option<VersionId>,
    pub secret_binary: Option<SecretBlob>,
    pub secret_string: Option<SecretText>,
    pub version_stages: Option<Vec<StagingLabel>>,
    pub rotation_token: Option<SecretText>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateSecretRequest {
    pub secret_id: Option<SecretId>,
    pub client_request_token: Option<VersionId>,
    pub description: Option<Description>,
    pub kms_key_id: Option<KmsKeyId>,
    pub secret_binary: Option<SecretBlob>,
    pub secret_string: Option<SecretText>,
    #[serde(rename = "Type")]
    pub secret_type: Option<SecretType>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct SecretIdRequest {
    pub secret_id: Option<SecretId>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteSecretRequest {
    pub secret_id: Option<SecretId>,
    pub recovery_window_in_days: Option<i64>,
    pub force_delete_without_recovery: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListSecretsRequest {
    pub include_planned_deletion: Option<bool>,
    pub max_results: Option<i64>,
    pub next_token: Option<NextToken>,
    pub filters: Option<Vec<Filter>>,
    pub sort_order: Option<String>,
    pub sort_by: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListSecretVersionIdsRequest {
    pub secret_id: Option<SecretId>,
    pub max_results: Option<i64>,
    pub next_token: Option<NextToken>,
    pub include_deprecated: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateSecretVersionStageRequest {
    pub secret_id: Option<SecretId>,
    pub version_stage: Option<StagingLabel>,
    pub remove_from_version_id: Option<VersionId>,
    pub move_to_version_id: Option<VersionId>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct TagResourceRequest {
    pub secret_id: Option<SecretId>,
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct UntagResourceRequest {
    pub secret_id: Option<SecretId>,
    pub tag_keys: Option<Vec<TagKey>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutResourcePolicyRequest {
    pub secret_id: Option<SecretId>,
    pub resource_policy: Option<ResourcePolicyText>,
    pub block_public_policy: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ValidateResourcePolicyRequest {
    pub secret_id: Option<SecretId>,
    pub resource_policy: Option<ResourcePolicyText>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListResourcePoliciesRequest {
    pub secret_id: Option<SecretId>,
    pub max_results: Option<i64>,
    pub next_token: Option<NextToken>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetRandomPasswordRequest {
    pub password_length: Option<i64>,
    pub exclude_characters: Option<String>,
    pub exclude_numbers: Option<bool>,
    pub exclude_punctuation: Option<bool>,
    pub exclude_uppercase: Option<bool>,
    pub exclude_lowercase: Option<bool>,
    pub include_space: Option<bool>,
    pub require_each_included_type: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct BatchGetSecretValueRequest {
    pub secret_id_list: Option<Vec<SecretId>>,
    pub filters: Option<Vec<Filter>>,
    pub max_results: Option<i64>,
    pub next_token: Option<NextToken>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct RotateSecretRequest {
    pub secret_id: Option<SecretId>,
    pub client_request_token: Option<VersionId>,
    #[serde(rename = "RotationLambdaARN")]
    pub rotation_lambda_arn: Option<String>,
    pub rotation_rules: Option<RotationRulesType>,
    pub external_secret_rotation_metadata: Option<Vec<ExternalSecretRotationMetadataItem>>,
    pub external_secret_rotation_role_arn: Option<String>,
    pub rotate_immediately: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReplicateSecretToRegionsRequest {
    pub secret_id: Option<SecretId>,
    pub add_replica_regions: Option<Vec<ReplicaRegionType>>,
    pub force_overwrite_replica_secret: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct RemoveRegionsFromReplicationRequest {
    pub secret_id: Option<SecretId>,
    pub remove_replica_regions: Option<Vec<RegionName>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct CrossAccountReplicaRequest {
    pub secret_id: Option<SecretId>,
    #[serde(rename = "CrossAccountReplicaARN")]
    pub cross_account_replica_arn: Option<String>,
    pub replica_restriction: Option<String>,
    #[serde(rename = "ReplicationRoleARN")]
    pub replication_role_arn: Option<String>,
}

/// `AssociateCrossAccountReplica`: [`CrossAccountReplicaRequest`], all members checked.
#[derive(Debug, Deserialize, Default)]
#[serde(transparent)]
pub struct AssociateCrossAccountReplicaRequest(pub CrossAccountReplicaRequest);

/// `DisassociateCrossAccountReplica`: [`CrossAccountReplicaRequest`], whose restriction and
/// role are not checked (nor used).
#[derive(Debug, Deserialize, Default)]
#[serde(transparent)]
pub struct DisassociateCrossAccountReplicaRequest(pub CrossAccountReplicaRequest);

// ---------------------------------------------------------------- responses

#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ArnNameVersion {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// `CreateSecret` with `AddReplicaRegions`: the replicas it made (or failed to).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_status: Option<Vec<ReplicationStatusType>>,
}

/// One replica region of a secret and how its replication stands.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicationStatusType {
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// When the replica was last read (`DescribeSecret` only); left out if it never was.
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<Timestamp>,
}

/// `ReplicateSecretToRegions` and `RemoveRegionsFromReplication`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicationResponse {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub replication_status: Vec<ReplicationStatusType>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopReplicationToReplicaResponse {
    #[serde(rename = "ARN")]
    pub arn: String,
}

#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ArnName {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSecretValueResponse {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    pub version_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_string: Option<RevealedString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_binary: Option<RevealedBlob>,
    /// Left out, as AWS does, for a version without labels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub version_stages: Vec<String>,
    #[serde(serialize_with = "epoch")]
    pub created_date: Timestamp,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutSecretValueResponse {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    pub version_id: String,
    /// Left out, as AWS does, for a version without labels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub version_stages: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSecretResponse {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(serialize_with = "epoch")]
    pub deletion_date: Timestamp,
}

/// `DescribeSecret`'s response and, with `SecretVersionsToStages`, a `ListSecrets` entry.
#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct SecretDescription {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_enabled: Option<bool>,
    #[serde(rename = "RotationLambdaARN", skip_serializing_if = "Option::is_none")]
    pub rotation_lambda_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_rules: Option<RotationRulesType>,
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub last_rotated_date: Option<Timestamp>,
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<Timestamp>,
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub last_changed_date: Option<Timestamp>,
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<Timestamp>,
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub deleted_date: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_ids_to_stages: Option<BTreeMap<String, Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_versions_to_stages: Option<BTreeMap<String, Vec<String>>>,
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub created_date: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication_status: Option<Vec<ReplicationStatusType>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretsResponse {
    pub secret_list: Vec<SecretDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretVersionsListEntry {
    pub version_id: String,
    /// Left out, as AWS does, for a version without labels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub version_stages: Vec<String>,
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<Timestamp>,
    #[serde(serialize_with = "epoch")]
    pub created_date: Timestamp,
    pub kms_key_ids: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretVersionIdsResponse {
    pub versions: Vec<SecretVersionsListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetResourcePolicyResponse {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidationErrorsEntry {
    pub check_name: String,
    pub error_message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidateResourcePolicyResponse {
    pub policy_validation_passed: bool,
    pub validation_errors: Vec<ValidationErrorsEntry>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourcePolicySummary {
    pub policy_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourcePoliciesResponse {
    pub resource_policies: Vec<ResourcePolicySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRandomPasswordResponse {
    pub random_password: RevealedString,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretValueEntry {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    pub version_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_string: Option<RevealedString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_binary: Option<RevealedBlob>,
    /// Left out, as AWS does, for a version without labels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub version_stages: Vec<String>,
    #[serde(serialize_with = "epoch")]
    pub created_date: Timestamp,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiErrorType {
    pub secret_id: String,
    pub error_code: String,
    pub message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetSecretValueResponse {
    pub secret_values: Vec<SecretValueEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub errors: Vec<ApiErrorType>,
}

#[derive(Debug, Serialize, Default)]
pub struct Empty {}
