//! Request and response shapes of the IAM API, named as in the botocore `iam` model so code
//! greps against it. Requests arrive as the server's JSON rendering of the awsQuery form
//! (scalars as strings, see [`super::params`]); responses are the `<Action>Result` content,
//! with dates as ISO 8601 strings and policy documents URL-encoded.
//!
//! The one secret here is a new access key's `SecretAccessKey`, carried as a [`RevealedSecret`]
//! (redacted `Debug`) until it is serialized into the `CreateAccessKey` answer.

use serde::{Deserialize, Serialize, Serializer};
use tresor_types::SecretBytes;

use super::params::{boolean, int, list};

/// A credential secret on its way to its owner (a new access key's secret, a session token).
/// Serializing it is the one place it leaves Tresor.
#[derive(Debug)]
pub struct RevealedSecret(pub SecretBytes);

impl Serialize for RevealedSecret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0.expose()) {
            Ok(text) => s.serialize_str(text),
            Err(_) => Err(serde::ser::Error::custom(
                "a credential secret is not UTF-8",
            )),
        }
    }
}

/// A tag as sent (both members required by the model; checked by the validator).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct TagParam {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// An empty `<Action>Result`.
#[derive(Debug, Serialize)]
pub struct Empty {}

// ---------------------------------------------------------------- users

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateUserRequest {
    pub path: Option<String>,
    pub user_name: Option<String>,
    pub permissions_boundary: Option<String>,
    #[serde(deserialize_with = "list")]
    pub tags: Option<Vec<TagParam>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetUserRequest {
    pub user_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListUsersRequest {
    pub path_prefix: Option<String>,
    pub marker: Option<String>,
    #[serde(deserialize_with = "int")]
    pub max_items: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteUserRequest {
    pub user_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TagUserRequest {
    pub user_name: Option<String>,
    #[serde(deserialize_with = "list")]
    pub tags: Option<Vec<TagParam>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UntagUserRequest {
    pub user_name: Option<String>,
    #[serde(deserialize_with = "list")]
    pub tag_keys: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListUserTagsRequest {
    pub user_name: Option<String>,
    pub marker: Option<String>,
    #[serde(deserialize_with = "int")]
    pub max_items: Option<i64>,
}

/// IAM's `User`. `Path` and `UserName` are absent only for the account root (`GetUser` called
/// by the root without a name), as in AWS.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    pub user_id: String,
    pub arn: String,
    pub create_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateUserResponse {
    pub user: User,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetUserResponse {
    pub user: User,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUsersResponse {
    pub users: Vec<User>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUserTagsResponse {
    pub tags: Vec<Tag>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

// ---------------------------------------------------------------- access keys

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateAccessKeyRequest {
    pub user_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListAccessKeysRequest {
    pub user_name: Option<String>,
    pub marker: Option<String>,
    #[serde(deserialize_with = "int")]
    pub max_items: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateAccessKeyRequest {
    pub user_name: Option<String>,
    pub access_key_id: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteAccessKeyRequest {
    pub user_name: Option<String>,
    pub access_key_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKey {
    pub user_name: String,
    pub access_key_id: String,
    pub status: String,
    pub secret_access_key: RevealedSecret,
    pub create_date: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccessKeyResponse {
    pub access_key: AccessKey,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKeyMetadata {
    pub user_name: String,
    pub access_key_id: String,
    pub status: String,
    pub create_date: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccessKeysResponse {
    pub access_key_metadata: Vec<AccessKeyMetadata>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

// ---------------------------------------------------------------- inline policies

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutUserPolicyRequest {
    pub user_name: Option<String>,
    pub policy_name: Option<String>,
    pub policy_document: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetUserPolicyRequest {
    pub user_name: Option<String>,
    pub policy_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListUserPoliciesRequest {
    pub user_name: Option<String>,
    pub marker: Option<String>,
    #[serde(deserialize_with = "int")]
    pub max_items: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteUserPolicyRequest {
    pub user_name: Option<String>,
    pub policy_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PutRolePolicyRequest {
    pub role_name: Option<String>,
    pub policy_name: Option<String>,
    pub policy_document: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetRolePolicyRequest {
    pub role_name: Option<String>,
    pub policy_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListRolePoliciesRequest {
    pub role_name: Option<String>,
    pub marker: Option<String>,
    #[serde(deserialize_with = "int")]
    pub max_items: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteRolePolicyRequest {
    pub role_name: Option<String>,
    pub policy_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetUserPolicyResponse {
    pub user_name: String,
    pub policy_name: String,
    /// URL-encoded.
    pub policy_document: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRolePolicyResponse {
    pub role_name: String,
    pub policy_name: String,
    /// URL-encoded.
    pub policy_document: String,
}

/// `ListUserPolicies` / `ListRolePolicies`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPolicyNamesResponse {
    pub policy_names: Vec<String>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

// ---------------------------------------------------------------- managed policies

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreatePolicyRequest {
    pub policy_name: Option<String>,
    pub path: Option<String>,
    pub policy_document: Option<String>,
    pub description: Option<String>,
    #[serde(deserialize_with = "list")]
    pub tags: Option<Vec<TagParam>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetPolicyRequest {
    pub policy_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetPolicyVersionRequest {
    pub policy_arn: Option<String>,
    pub version_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListPoliciesRequest {
    pub scope: Option<String>,
    #[serde(deserialize_with = "boolean")]
    pub only_attached: Option<bool>,
    pub path_prefix: Option<String>,
    pub policy_usage_filter: Option<String>,
    pub marker: Option<String>,
    #[serde(deserialize_with = "int")]
    pub max_items: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeletePolicyRequest {
    pub policy_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreatePolicyVersionRequest {
    pub policy_arn: Option<String>,
    pub policy_document: Option<String>,
    #[serde(deserialize_with = "boolean")]
    pub set_as_default: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListPolicyVersionsRequest {
    pub policy_arn: Option<String>,
    pub marker: Option<String>,
    #[serde(deserialize_with = "int")]
    pub max_items: Option<i64>,
}

/// `SetDefaultPolicyVersion` and `DeletePolicyVersion`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PolicyVersionRequest {
    pub policy_arn: Option<String>,
    pub version_id: Option<String>,
}

pub type SetDefaultPolicyVersionRequest = PolicyVersionRequest;
pub type DeletePolicyVersionRequest = PolicyVersionRequest;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    pub policy_name: String,
    pub policy_id: String,
    pub arn: String,
    pub path: String,
    pub default_version_id: String,
    pub attachment_count: usize,
    pub permissions_boundary_usage_count: usize,
    pub is_attachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub create_date: String,
    pub update_date: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersion {
    /// URL-encoded; only `GetPolicyVersion` returns it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    pub version_id: String,
    pub is_default_version: bool,
    pub create_date: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePolicyResponse {
    pub policy: Policy,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyResponse {
    pub policy: Policy,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPoliciesResponse {
    pub policies: Vec<Policy>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// `GetPolicyVersion` and `CreatePolicyVersion`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersionResponse {
    pub policy_version: PolicyVersion,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPolicyVersionsResponse {
    pub versions: Vec<PolicyVersion>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

// ---------------------------------------------------------------- attachments

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AttachUserPolicyRequest {
    pub user_name: Option<String>,
    pub policy_arn: Option<String>,
}

pub type DetachUserPolicyRequest = AttachUserPolicyRequest;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AttachRolePolicyRequest {
    pub role_name: Option<String>,
    pub policy_arn: Option<String>,
}

pub type DetachRolePolicyRequest = AttachRolePolicyRequest;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListAttachedUserPoliciesRequest {
    pub user_name: Option<String>,
    pub path_prefix: Option<String>,
    pub marker: Option<String>,
    #[serde(deserialize_with = "int")]
    pub max_items: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListAttachedRolePoliciesRequest {
    pub role_name: Option<String>,
    pub path_prefix: Option<String>,
    pub marker: Option<String>,
    #[serde(deserialize_with = "int")]
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicy {
    pub policy_name: String,
    pub policy_arn: String,
}

/// `ListAttachedUserPolicies` / `ListAttachedRolePolicies`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAttachedPoliciesResponse {
    pub attached_policies: Vec<AttachedPolicy>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

// ---------------------------------------------------------------- roles

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateRoleRequest {
    pub path: Option<String>,
    pub role_name: Option<String>,
    pub assume_role_policy_document: Option<String>,
    pub description: Option<String>,
    #[serde(deserialize_with = "int")]
    pub max_session_duration: Option<i64>,
    pub permissions_boundary: Option<String>,
    #[serde(deserialize_with = "list")]
    pub tags: Option<Vec<TagParam>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetRoleRequest {
    pub role_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListRolesRequest {
    pub path_prefix: Option<String>,
    pub marker: Option<String>,
    #[serde(deserialize_with = "int")]
    pub max_items: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteRoleRequest {
    pub role_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateAssumeRolePolicyRequest {
    pub role_name: Option<String>,
    pub policy_document: Option<String>,
}

/// `RoleLastUsed`: Tresor does not track it yet, so it is empty, as AWS answers for a role
/// never used.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleLastUsed {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub path: String,
    pub role_name: String,
    pub role_id: String,
    pub arn: String,
    pub create_date: String,
    /// URL-encoded.
    pub assume_role_policy_document: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub max_session_duration: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_last_used: Option<RoleLastUsed>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRoleResponse {
    pub role: Role,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRoleResponse {
    pub role: Role,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRolesResponse {
    pub roles: Vec<Role>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revealed_secrets_serialize_but_never_debug() {
        let key = AccessKey {
            user_name: "alice".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            status: "Active".into(),
            secret_access_key: RevealedSecret(SecretBytes::from_slice(b"wJalrXUtnFEMI/K7MDENG")),
            create_date: "2026-01-01T00:00:00Z".into(),
        };
        assert!(!format!("{key:?}").contains("wJalr"));
        let json = serde_json::to_value(&key).unwrap();
        assert_eq!(json["SecretAccessKey"], "wJalrXUtnFEMI/K7MDENG");
    }
}
