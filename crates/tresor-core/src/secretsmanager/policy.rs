//! Resource policies: stored, validated (grammar and `BlockPublicPolicy`) and returned.
//! Enforcement arrives with the policy engine in a later issue.

use tresor_policy::PolicyKind;

use super::dto::*;
use super::resolve::ensure_not_deleted;
use super::resolve::Access;
use super::Operation;
use crate::authz::Resource;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

fn parse_policy(document: &str) -> Result<tresor_policy::Policy, CoreError> {
    // serde_json accepts what AWS accepts here; the grammar errors point at the problem.
    tresor_policy::parse(document, PolicyKind::Resource).map_err(|e| {
        CoreError::MalformedPolicyDocument(format!(
            "This resource policy contains an unsupported principal or a syntax error: {}",
            e.message
        ))
    })
}

impl Core {
    pub fn put_resource_policy(
        &self,
        ctx: &RequestContext,
        req: Validated<PutResourcePolicyRequest>,
    ) -> Result<ArnName, CoreError> {
        let document = req.resource_policy.as_deref().unwrap_or_default();
        let policy = parse_policy(document)?;
        // AWS blocks public policies unless told otherwise (BlockPublicPolicy defaults to true
        // in current SDKs' documentation; the API default is false). Follow the API default.
        if req.block_public_policy.unwrap_or(false) && tresor_policy::grants_public_access(&policy)
        {
            return Err(CoreError::PublicPolicy(
                "This resource policy will grant public access to the secret. Use BlockPublicPolicy=false to allow it."
                    .to_owned(),
            ));
        }
        let record = self.resolve_secret(
            ctx,
            req.secret_id.as_deref().unwrap_or_default(),
            Access::to(Operation::PutResourcePolicy),
        )?;
        ensure_not_deleted(&record)?;
        // Users and roles it names by ARN are stored by unique id, as IAM does.
        let stored = self.bind_principals(&record.scope.account, document, |_| {
            CoreError::MalformedPolicyDocument(
                "This resource policy contains an unsupported principal.".to_owned(),
            )
        })?;
        self.write_secret(&record.arn, |txn| {
            ensure_not_deleted(&txn.record)?;
            txn.record.resource_policy = Some(stored.clone());
            txn.record.last_changed = ctx.now;
            Ok::<_, CoreError>(())
        })?;
        Ok(ArnName {
            arn: record.arn,
            name: record.name,
        })
    }

    pub fn get_resource_policy(
        &self,
        ctx: &RequestContext,
        req: Validated<SecretIdRequest>,
    ) -> Result<GetResourcePolicyResponse, CoreError> {
        let record = self.resolve_secret_request(
            ctx,
            req.secret_id.as_deref(),
            Operation::GetResourcePolicy,
        )?;
        let resource_policy = record
            .resource_policy
            .map(|doc| self.show_principals(&record.scope.account, &doc))
            .transpose()?;
        Ok(GetResourcePolicyResponse {
            arn: record.arn,
            name: record.name,
            resource_policy,
        })
    }

    pub fn delete_resource_policy(
        &self,
        ctx: &RequestContext,
        req: Validated<SecretIdRequest>,
    ) -> Result<ArnName, CoreError> {
        let record = self.resolve_secret_request(
            ctx,
            req.secret_id.as_deref(),
            Operation::DeleteResourcePolicy,
        )?;
        ensure_not_deleted(&record)?;
        self.write_secret(&record.arn, |txn| {
            ensure_not_deleted(&txn.record)?;
            if txn.record.resource_policy.take().is_some() {
                txn.record.last_changed = ctx.now;
            }
            Ok::<_, CoreError>(())
        })?;
        Ok(ArnName {
            arn: record.arn,
            name: record.name,
        })
    }

    /// Tresor keeps one resource policy per secret; it is listed under the name `default`.
    pub fn list_resource_policies(
        &self,
        ctx: &RequestContext,
        req: Validated<ListResourcePoliciesRequest>,
    ) -> Result<ListResourcePoliciesResponse, CoreError> {
        let record = self.resolve_secret_request(
            ctx,
            req.secret_id.as_deref(),
            Operation::ListResourcePolicies,
        )?;
        let resource_policies = record
            .resource_policy
            .iter()
            .map(|_| ResourcePolicySummary {
                policy_name: "default".to_owned(),
            })
            .collect();
        Ok(ListResourcePoliciesResponse {
            resource_policies,
            next_token: None,
        })
    }

    /// Check a policy without storing it. Grammar errors are `MalformedPolicyDocument`; the
    /// findings (here: public access) come back as `ValidationErrors`.
    pub fn validate_resource_policy(
        &self,
        ctx: &RequestContext,
        req: Validated<ValidateResourcePolicyRequest>,
    ) -> Result<ValidateResourcePolicyResponse, CoreError> {
        match req.secret_id.as_deref() {
            Some(id) => {
                self.resolve_secret(ctx, id, Access::to(Operation::ValidateResourcePolicy))?;
            }
            None => self.authorize(
                ctx,
                &Operation::ValidateResourcePolicy.iam_action(),
                Resource::any(),
            )?,
        }
        let policy = parse_policy(req.resource_policy.as_deref().unwrap_or_default())?;
        let mut validation_errors = Vec::new();
        if tresor_policy::grants_public_access(&policy) {
            validation_errors.push(ValidationErrorsEntry {
                check_name: "PUBLIC_ACCESS_CHECK".to_owned(),
                error_message:
                    "The policy grants access to the secret to everyone (Principal \"*\")."
                        .to_owned(),
            });
        }
        Ok(ValidateResourcePolicyResponse {
            policy_validation_passed: validation_errors.is_empty(),
            validation_errors,
        })
    }
}
