//! Key policies: the default one `CreateKey` writes, AWS's for the managed
//! `aws/secretsmanager` key, the checks a new policy passes (it parses; unless the caller
//! bypasses it, the caller could still change it), and `Get/PutKeyPolicy`,
//! `ListKeyPolicies`.

use tresor_policy::PolicyKind;
use tresor_store::{KmsStore, Scope};

use super::dto::{
    Empty, GetKeyPolicyRequest, GetKeyPolicyResponse, KeyIdRequest, KeyPolicyRequest,
    ListKeyPoliciesResponse,
};
use super::keys::{invalid_state, key_resource, LoadedKey};
use crate::validate::Validated;
use crate::{Core, CoreError, KmsError, RequestContext};

/// The only policy name a key has.
pub const POLICY_NAME: &str = "default";

/// AWS's default key policy: the account root may do everything, which delegates the key to
/// the account's IAM policies ("Enable IAM User Permissions").
pub fn default_key_policy(account: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

/// AWS's policy of the managed `aws/secretsmanager` key: any principal of the account may use
/// it through Secrets Manager in this region; the account may read its metadata directly.
pub fn aws_managed_policy(scope: &Scope) -> String {
    let account = scope.account.as_str();
    let region = scope.region.as_str();
    serde_json::json!({
        "Version": "2012-10-17",
        "Id": "auto-secretsmanager-2",
        "Statement": [
            {
                "Sid": "Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS Secrets Manager",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:CreateGrant", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {
                    "kms:CallerAccount": account,
                    "kms:ViaService": format!("secretsmanager.{region}.amazonaws.com")
                }}
            },
            {
                // AWS repeats the first statement's Sid here; Tresor's parser wants Sids
                // unique, so this one says which actions it covers.
                "Sid": "Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS Secrets Manager (data keys)",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account},
                    "StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}
                }
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*"
            }
        ]
    })
    .to_string()
}

fn malformed(message: impl Into<String>) -> CoreError {
    CoreError::Kms(KmsError::MalformedPolicyDocument, message.into())
}

/// A key policy document must parse as a resource policy.
pub(crate) fn check_parses(document: &str) -> Result<(), CoreError> {
    tresor_policy::parse(document, PolicyKind::Resource)
        .map(|_| ())
        .map_err(|e| malformed(format!("The key policy is malformed: {}", e.message)))
}

fn check_policy_name(name: Option<&str>) -> Result<(), CoreError> {
    match name {
        None | Some(POLICY_NAME) => Ok(()),
        Some(_) => Err(CoreError::Kms(
            KmsError::NotFound,
            "No such policy exists".to_owned(),
        )),
    }
}

impl Core {
    /// AWS's lockout safety check: under `document`, could the caller still change the key's
    /// policy? If not, the policy is refused (unless the caller bypasses the check).
    pub(crate) fn check_policy_lockout(
        &self,
        ctx: &RequestContext,
        key: &LoadedKey,
        document: &str,
    ) -> Result<(), CoreError> {
        let resource = key_resource(ctx, key, document, None);
        match self.authorize_by_key_policy(ctx, "kms:PutKeyPolicy", resource) {
            Ok(()) => Ok(()),
            Err(CoreError::AccessDenied { .. }) => Err(malformed(
                "The new key policy will not allow you to update the key policy in the future.",
            )),
            Err(e) => Err(e),
        }
    }

    pub fn get_key_policy(
        &self,
        ctx: &RequestContext,
        req: Validated<GetKeyPolicyRequest>,
    ) -> Result<GetKeyPolicyResponse, CoreError> {
        let req = req.into_inner().0;
        let key = self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:GetKeyPolicy")?;
        check_policy_name(req.policy_name.as_deref())?;
        Ok(GetKeyPolicyResponse {
            policy: key.policy(),
            policy_name: POLICY_NAME,
        })
    }

    pub fn put_key_policy(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyPolicyRequest>,
    ) -> Result<Empty, CoreError> {
        let req = req.into_inner();
        let mut key = self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:PutKeyPolicy")?;
        check_policy_name(req.policy_name.as_deref())?;
        if key.is_aws_managed() {
            return Err(CoreError::AccessDenied {
                message: format!(
                    "User: {} is not authorized to perform: kms:PutKeyPolicy on resource: {} because the key is an AWS managed key",
                    ctx.principal.arn,
                    key.arn()
                ),
                unreadable: None,
            });
        }
        if key.meta.state == tresor_store::KmsKeyState::PendingDeletion {
            return Err(invalid_state(&key));
        }
        let document = req.policy.unwrap_or_default();
        check_parses(&document)?;
        if !req.bypass_policy_lockout_safety_check {
            self.check_policy_lockout(ctx, &key, &document)?;
        }
        key.meta.policy = Some(document);
        self.store
            .put_kms_key_meta(&key.record.scope, &key.record.key_id, &key.meta)?;
        Ok(Empty {})
    }

    pub fn list_key_policies(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyIdRequest>,
    ) -> Result<ListKeyPoliciesResponse, CoreError> {
        let req = req.into_inner();
        self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:ListKeyPolicies")?;
        Ok(ListKeyPoliciesResponse {
            policy_names: [POLICY_NAME],
            truncated: false,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_built_in_policies_parse() {
        check_parses(&default_key_policy("111122223333")).unwrap();
        let scope = Scope {
            account: tresor_types::AccountId::parse("111122223333").unwrap(),
            region: tresor_types::Region::parse("us-east-1").unwrap(),
        };
        check_parses(&aws_managed_policy(&scope)).unwrap();
        assert!(matches!(
            check_parses("{\"Statement\": 1}"),
            Err(CoreError::Kms(KmsError::MalformedPolicyDocument, _))
        ));
    }
}
