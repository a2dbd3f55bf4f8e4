//! Response shapes of KMS key management, named as in the botocore `kms` model.

use serde::Serialize;
use tresor_types::{epoch, epoch_opt, Timestamp};

use super::dto::KmsTag;

#[derive(Debug, Serialize)]
pub struct KeyMetadata {
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "Arn")]
    pub arn: String,
    #[serde(rename = "CreationDate", serialize_with = "epoch")]
    pub creation_date: Timestamp,
    #[serde(rename = "Enabled")]
    pub enabled: bool,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "KeyUsage")]
    pub key_usage: &'static str,
    #[serde(rename = "KeyState")]
    pub key_state: &'static str,
    #[serde(
        rename = "DeletionDate",
        serialize_with = "epoch_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub deletion_date: Option<Timestamp>,
    #[serde(rename = "Origin")]
    pub origin: &'static str,
    #[serde(rename = "KeyManager")]
    pub key_manager: &'static str,
    #[serde(rename = "CustomerMasterKeySpec")]
    pub customer_master_key_spec: &'static str,
    #[serde(rename = "KeySpec")]
    pub key_spec: &'static str,
    #[serde(rename = "EncryptionAlgorithms")]
    pub encryption_algorithms: [&'static str; 1],
    #[serde(rename = "MultiRegion")]
    pub multi_region: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadataResponse {
    pub key_metadata: KeyMetadata,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    pub key_id: String,
    pub key_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysResponse {
    pub keys: Vec<KeyListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub truncated: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasListEntry {
    pub alias_name: String,
    pub alias_arn: String,
    pub target_key_id: String,
    #[serde(serialize_with = "epoch")]
    pub creation_date: Timestamp,
    #[serde(serialize_with = "epoch")]
    pub last_updated_date: Timestamp,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesResponse {
    pub aliases: Vec<AliasListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub truncated: bool,
}

/// The empty response of the operations that answer nothing.
#[derive(Debug, Serialize)]
pub struct Empty {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdResponse {
    pub key_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionResponse {
    pub key_id: String,
    #[serde(serialize_with = "epoch")]
    pub deletion_date: Timestamp,
    pub key_state: &'static str,
    pub pending_window_in_days: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyRotationStatusResponse {
    pub key_rotation_enabled: bool,
    pub key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<u32>,
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<Timestamp>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationsListEntry {
    pub key_id: String,
    #[serde(serialize_with = "epoch")]
    pub rotation_date: Timestamp,
    pub rotation_type: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyRotationsResponse {
    pub rotations: Vec<RotationsListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub truncated: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyResponse {
    pub policy: String,
    pub policy_name: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesResponse {
    pub policy_names: [&'static str; 1],
    pub truncated: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsResponse {
    pub tags: Vec<KmsTag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub truncated: bool,
}
