//! Request and response shapes of the STS API, named as in the botocore `sts` model. The
//! temporary credentials' secret and session token travel as
//! [`RevealedSecret`](crate::iam::dto::RevealedSecret)s (redacted `Debug`).

use serde::{Deserialize, Serialize};

use crate::iam::dto::{RevealedSecret, TagParam};
use crate::iam::params::{int, list};

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetCallerIdentityResponse {
    pub user_id: String,
    pub account: String,
    pub arn: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PolicyDescriptorType {
    pub arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AssumeRoleRequest {
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    #[serde(deserialize_with = "list")]
    pub policy_arns: Option<Vec<PolicyDescriptorType>>,
    pub policy: Option<String>,
    #[serde(deserialize_with = "int")]
    pub duration_seconds: Option<i64>,
    #[serde(deserialize_with = "list")]
    pub tags: Option<Vec<TagParam>>,
    #[serde(deserialize_with = "list")]
    pub transitive_tag_keys: Option<Vec<String>>,
    pub external_id: Option<String>,
    pub serial_number: Option<String>,
    pub token_code: Option<String>,
    pub source_identity: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: RevealedSecret,
    pub session_token: RevealedSecret,
    pub expiration: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumedRoleUser {
    /// `<role id>:<session name>`.
    pub assumed_role_id: String,
    pub arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleResponse {
    pub credentials: Credentials,
    pub assumed_role_user: AssumedRoleUser,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packed_policy_size: Option<usize>,
}
