//! Request shapes of KMS key management, named as in the botocore `kms` model so that code
//! greps against it, each with its model constraints ([`Validate`]); the responses are in
//! [`super::responses`], re-exported here.

use serde::{Deserialize, Serialize};

pub use super::responses::*;
use crate::validate::{Validate, Validator};
use crate::CoreError;

/// `KeyIdType`: a key id, key ARN, alias name or alias ARN.
fn key_id(v: &mut Validator, value: Option<&String>, at: &str) {
    v.length(value.map(String::as_str), at, 1, 2048);
}

fn required_key_id(v: &mut Validator, value: &Option<String>) {
    v.required(value, "keyId");
    key_id(v, value.as_ref(), "keyId");
}

/// `LimitType` and `MarkerType`.
fn paging(v: &mut Validator, limit: Option<i64>, marker: Option<&String>) {
    v.range(limit, "limit", 1, 1000);
    v.length(marker.map(String::as_str), "marker", 1, 1024);
}

/// `AliasNameType`: 1–256 of `[a-zA-Z0-9:/_-]`.
pub(crate) fn alias_name(v: &mut Validator, value: &Option<String>, at: &str) {
    v.required(value, at);
    let value = value.as_deref();
    v.length(value, at, 1, 256);
    v.chars(value, at, "^[a-zA-Z0-9:/_-]+$", |c| {
        c.is_ascii_alphanumeric() || ":/_-".contains(c)
    });
}

fn policy_document(v: &mut Validator, value: Option<&String>, at: &str) {
    let value = value.map(String::as_str);
    v.length(value, at, 1, 131_072);
    v.chars(value, at, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+", |c| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}')
    });
}

fn policy_name(v: &mut Validator, value: Option<&String>) {
    let value = value.map(String::as_str);
    v.length(value, "policyName", 1, 128);
    v.chars(value, "policyName", "[\\w]+", |c| {
        c.is_ascii_alphanumeric() || c == '_'
    });
}

/// `Tag`: `TagKey` 1–128, `TagValue` 0–256, both required.
fn tags(v: &mut Validator, tags: Option<&[KmsTag]>, at: &str) {
    for (i, tag) in tags.unwrap_or_default().iter().enumerate() {
        let n = i + 1;
        v.required(&tag.tag_key, &format!("{at}.{n}.member.tagKey"));
        v.length(
            tag.tag_key.as_deref(),
            &format!("{at}.{n}.member.tagKey"),
            1,
            128,
        );
        v.required(&tag.tag_value, &format!("{at}.{n}.member.tagValue"));
        v.length(
            tag.tag_value.as_deref(),
            &format!("{at}.{n}.member.tagValue"),
            0,
            256,
        );
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct KmsTag {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_value: Option<String>,
}

// ---- requests ----

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyRequest {
    pub policy: Option<String>,
    pub description: Option<String>,
    pub key_usage: Option<String>,
    pub customer_master_key_spec: Option<String>,
    pub key_spec: Option<String>,
    pub origin: Option<String>,
    pub custom_key_store_id: Option<String>,
    #[serde(default)]
    pub bypass_policy_lockout_safety_check: bool,
    pub tags: Option<Vec<KmsTag>>,
    pub multi_region: Option<bool>,
    pub xks_key_id: Option<String>,
}

pub const KEY_USAGES: &[&str] = &[
    "SIGN_VERIFY",
    "ENCRYPT_DECRYPT",
    "GENERATE_VERIFY_MAC",
    "KEY_AGREEMENT",
];
pub const KEY_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SYMMETRIC_DEFAULT",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
    "ECC_NIST_EDWARDS25519",
];
pub const ORIGINS: &[&str] = &["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"];

impl Validate for CreateKeyRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        policy_document(v, self.policy.as_ref(), "policy");
        v.length(self.description.as_deref(), "description", 0, 8192);
        v.one_of(self.key_usage.as_deref(), "keyUsage", KEY_USAGES);
        v.one_of(
            self.customer_master_key_spec.as_deref(),
            "customerMasterKeySpec",
            &KEY_SPECS[..12],
        );
        v.one_of(self.key_spec.as_deref(), "keySpec", KEY_SPECS);
        v.one_of(self.origin.as_deref(), "origin", ORIGINS);
        v.length(
            self.custom_key_store_id.as_deref(),
            "customKeyStoreId",
            1,
            64,
        );
        tags(v, self.tags.as_deref(), "tags");
        v.length(self.xks_key_id.as_deref(), "xksKeyId", 1, 128);
        Ok(())
    }
}

/// Every request that names one key and nothing else.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdRequest {
    pub key_id: Option<String>,
    /// `DescribeKey`'s grant tokens: accepted and ignored (Tresor has no grants).
    pub grant_tokens: Option<Vec<String>>,
}

impl Validate for KeyIdRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        required_key_id(v, &self.key_id);
        v.count(self.grant_tokens.as_deref(), "grantTokens", 0, 10);
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRequest {
    pub key_id: Option<String>,
    pub limit: Option<i64>,
    pub marker: Option<String>,
    /// `ListKeyRotations`'s: accepted (Tresor's material is all its own).
    pub include_key_material: Option<String>,
}

impl Validate for ListRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        key_id(v, self.key_id.as_ref(), "keyId");
        paging(v, self.limit, self.marker.as_ref());
        v.one_of(
            self.include_key_material.as_deref(),
            "includeKeyMaterial",
            &["ALL_KEY_MATERIAL", "ROTATIONS_ONLY"],
        );
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateKeyDescriptionRequest {
    pub key_id: Option<String>,
    pub description: Option<String>,
}

impl Validate for UpdateKeyDescriptionRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        required_key_id(v, &self.key_id);
        v.required(&self.description, "description");
        v.length(self.description.as_deref(), "description", 0, 8192);
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionRequest {
    pub key_id: Option<String>,
    pub pending_window_in_days: Option<i64>,
}

impl Validate for ScheduleKeyDeletionRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        required_key_id(v, &self.key_id);
        // The model says 1–365; the service takes 7–30.
        v.range(self.pending_window_in_days, "pendingWindowInDays", 7, 30);
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasRequest {
    pub alias_name: Option<String>,
    pub target_key_id: Option<String>,
}

/// `CreateAlias` and `UpdateAlias` (both members required).
#[derive(Debug, Default)]
pub struct AliasTargetRequest(pub AliasRequest);

impl<'de> Deserialize<'de> for AliasTargetRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AliasRequest::deserialize(d).map(Self)
    }
}

impl Validate for AliasTargetRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        alias_name(v, &self.0.alias_name, "aliasName");
        v.required(&self.0.target_key_id, "targetKeyId");
        key_id(v, self.0.target_key_id.as_ref(), "targetKeyId");
        Ok(())
    }
}

/// `DeleteAlias`.
impl Validate for AliasRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        alias_name(v, &self.alias_name, "aliasName");
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnableKeyRotationRequest {
    pub key_id: Option<String>,
    pub rotation_period_in_days: Option<i64>,
}

impl Validate for EnableKeyRotationRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        required_key_id(v, &self.key_id);
        v.range(
            self.rotation_period_in_days,
            "rotationPeriodInDays",
            90,
            2560,
        );
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyPolicyRequest {
    pub key_id: Option<String>,
    pub policy_name: Option<String>,
    pub policy: Option<String>,
    #[serde(default)]
    pub bypass_policy_lockout_safety_check: bool,
}

/// `GetKeyPolicy` (the policy name is optional since 2024: `default`).
#[derive(Debug, Default)]
pub struct GetKeyPolicyRequest(pub KeyPolicyRequest);

impl<'de> Deserialize<'de> for GetKeyPolicyRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        KeyPolicyRequest::deserialize(d).map(Self)
    }
}

impl Validate for GetKeyPolicyRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        required_key_id(v, &self.0.key_id);
        policy_name(v, self.0.policy_name.as_ref());
        Ok(())
    }
}

/// `PutKeyPolicy`.
impl Validate for KeyPolicyRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        required_key_id(v, &self.key_id);
        policy_name(v, self.policy_name.as_ref());
        v.required(&self.policy, "policy");
        policy_document(v, self.policy.as_ref(), "policy");
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    pub key_id: Option<String>,
    pub tags: Option<Vec<KmsTag>>,
}

impl Validate for TagResourceRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        required_key_id(v, &self.key_id);
        v.required(&self.tags, "tags");
        tags(v, self.tags.as_deref(), "tags");
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    pub key_id: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

impl Validate for UntagResourceRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        required_key_id(v, &self.key_id);
        v.required(&self.tag_keys, "tagKeys");
        for (i, k) in self
            .tag_keys
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            v.length(Some(k), &format!("tagKeys.{}.member", i + 1), 1, 128);
        }
        Ok(())
    }
}
