//! KMS: the `TrentService` API (awsJson1.1, SigV4 service `kms`) over the keys that wrap every
//! secret's data keys.
//!
//! - [`keys`]: key management (create, describe, list, enable/disable, deletion, aliases,
//!   rotation, key policy, tags) and [`Core::kms_key_for_use`], the one way any operation
//!   (KMS's own cryptographic ones, Secrets Manager's reads and writes) gets a key it may use:
//!   resolved, in a usable state, and authorized by the key policy and IAM as AWS evaluates
//!   them for KMS.
//!   The operations live in [`manage`] (lifecycle), [`aliases`], [`rotation`], [`policy`]
//!   (key policies) and [`tags`]; [`dto`] holds their shapes.
//! - [`crypto`]: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext),
//!   GenerateRandom, with AWS's ciphertext-blob semantics (Decrypt finds the key in the blob);
//!   their request and response shapes in [`crypto_model`].
//!
//! A key's ARN is `arn:aws:kms:<region>:<account>:key/<key id>`; an alias's
//! `arn:aws:kms:<region>:<account>:alias/<name>`.

pub mod aliases;
pub mod crypto;
pub mod crypto_model;
pub mod dto;
pub mod keys;
pub mod manage;
pub mod paging;
pub mod policy;
pub mod responses;
pub mod rotation;
pub mod tags;

#[allow(unused_imports)]
use crate::Core;

/// The JSON target prefix of the KMS API.
pub const TARGET_PREFIX: &str = "TrentService";

/// The KMS operations Tresor serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateKey,
    DescribeKey,
    ListKeys,
    UpdateKeyDescription,
    EnableKey,
    DisableKey,
    ScheduleKeyDeletion,
    CancelKeyDeletion,
    CreateAlias,
    UpdateAlias,
    DeleteAlias,
    ListAliases,
    EnableKeyRotation,
    DisableKeyRotation,
    GetKeyRotationStatus,
    RotateKeyOnDemand,
    ListKeyRotations,
    GetKeyPolicy,
    PutKeyPolicy,
    ListKeyPolicies,
    TagResource,
    UntagResource,
    ListResourceTags,
    Encrypt,
    Decrypt,
    ReEncrypt,
    GenerateDataKey,
    GenerateDataKeyWithoutPlaintext,
    GenerateRandom,
}

impl Operation {
    pub const ALL: [Operation; 29] = [
        Self::CreateKey,
        Self::DescribeKey,
        Self::ListKeys,
        Self::UpdateKeyDescription,
        Self::EnableKey,
        Self::DisableKey,
        Self::ScheduleKeyDeletion,
        Self::CancelKeyDeletion,
        Self::CreateAlias,
        Self::UpdateAlias,
        Self::DeleteAlias,
        Self::ListAliases,
        Self::EnableKeyRotation,
        Self::DisableKeyRotation,
        Self::GetKeyRotationStatus,
        Self::RotateKeyOnDemand,
        Self::ListKeyRotations,
        Self::GetKeyPolicy,
        Self::PutKeyPolicy,
        Self::ListKeyPolicies,
        Self::TagResource,
        Self::UntagResource,
        Self::ListResourceTags,
        Self::Encrypt,
        Self::Decrypt,
        Self::ReEncrypt,
        Self::GenerateDataKey,
        Self::GenerateDataKeyWithoutPlaintext,
        Self::GenerateRandom,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CreateKey => "CreateKey",
            Self::DescribeKey => "DescribeKey",
            Self::ListKeys => "ListKeys",
            Self::UpdateKeyDescription => "UpdateKeyDescription",
            Self::EnableKey => "EnableKey",
            Self::DisableKey => "DisableKey",
            Self::ScheduleKeyDeletion => "ScheduleKeyDeletion",
            Self::CancelKeyDeletion => "CancelKeyDeletion",
            Self::CreateAlias => "CreateAlias",
            Self::UpdateAlias => "UpdateAlias",
            Self::DeleteAlias => "DeleteAlias",
            Self::ListAliases => "ListAliases",
            Self::EnableKeyRotation => "EnableKeyRotation",
            Self::DisableKeyRotation => "DisableKeyRotation",
            Self::GetKeyRotationStatus => "GetKeyRotationStatus",
            Self::RotateKeyOnDemand => "RotateKeyOnDemand",
            Self::ListKeyRotations => "ListKeyRotations",
            Self::GetKeyPolicy => "GetKeyPolicy",
            Self::PutKeyPolicy => "PutKeyPolicy",
            Self::ListKeyPolicies => "ListKeyPolicies",
            Self::TagResource => "TagResource",
            Self::UntagResource => "UntagResource",
            Self::ListResourceTags => "ListResourceTags",
            Self::Encrypt => "Encrypt",
            Self::Decrypt => "Decrypt",
            Self::ReEncrypt => "ReEncrypt",
            Self::GenerateDataKey => "GenerateDataKey",
            Self::GenerateDataKeyWithoutPlaintext => "GenerateDataKeyWithoutPlaintext",
            Self::GenerateRandom => "GenerateRandom",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// CloudTrail's `readOnly`: KMS records its cryptographic operations as reads.
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Self::DescribeKey
                | Self::ListKeys
                | Self::ListAliases
                | Self::GetKeyRotationStatus
                | Self::ListKeyRotations
                | Self::GetKeyPolicy
                | Self::ListKeyPolicies
                | Self::ListResourceTags
                | Self::Encrypt
                | Self::Decrypt
                | Self::ReEncrypt
                | Self::GenerateDataKey
                | Self::GenerateDataKeyWithoutPlaintext
                | Self::GenerateRandom
        )
    }

    /// Whether it changes stored state (then it runs in one transaction with its record).
    pub fn changes_state(self) -> bool {
        !self.is_read_only()
    }

    /// Whether it is one of the cryptographic operations ([`crypto`]); the others manage keys.
    pub fn is_cryptographic(self) -> bool {
        matches!(
            self,
            Self::Encrypt
                | Self::Decrypt
                | Self::ReEncrypt
                | Self::GenerateDataKey
                | Self::GenerateDataKeyWithoutPlaintext
                | Self::GenerateRandom
        )
    }
}

/// A key's ARN.
pub fn key_arn(region: &str, account: &str, key_id: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:key/{key_id}")
}

/// An alias's ARN (`alias` includes its `alias/` prefix).
pub fn alias_arn(region: &str, account: &str, alias: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:{alias}")
}
