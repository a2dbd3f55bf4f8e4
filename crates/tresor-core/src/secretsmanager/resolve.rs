//! `SecretId` resolution: a name, a full ARN, or a partial ARN (one without the 6-character
//! random suffix), always within the caller's (account, region).

use tresor_store::{SealedValue, SecretKey, SecretRecord, Store, VersionPick};

use super::validate;
use super::Operation;
use crate::authz::{CallerPolicies, Resource};
use crate::{Core, CoreError, RequestContext};

/// What an operation on one secret asks permission for, with the request's condition keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct Access<'a> {
    pub action: String,
    pub version_id: Option<&'a str>,
    pub version_stage: Option<&'a str>,
    pub kms_key_id: Option<&'a str>,
    /// Tags the request sets (`aws:RequestTag/*`), and the keys it names (`aws:TagKeys`).
    pub request_tags: Vec<(String, String)>,
    pub tag_keys: Vec<String>,
    /// Which of the secret's versions to load with it.
    pub load: Versions<'a>,
    /// Whether the operation may act on a replica (reads, and promoting it); every other one
    /// answers AWS's "not permitted on a replica" once the caller is authorized.
    pub on_replica: bool,
}

/// Which versions a resolved secret carries in `versions`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum Versions<'a> {
    /// Every stored version: listing them, or moving a label to any of them.
    #[default]
    All,
    /// Those with a staging label, and the one named if it exists: enough to read one
    /// version, describe the secret or add a version, without loading the deprecated ones (a
    /// secret written often has hundreds).
    Labelled(Option<&'a str>),
}

impl Access<'_> {
    pub fn to(op: Operation) -> Self {
        let load = match op {
            Operation::GetSecretValue
            | Operation::BatchGetSecretValue
            | Operation::DescribeSecret
            | Operation::PutSecretValue
            | Operation::UpdateSecret
            | Operation::GetResourcePolicy => Versions::Labelled(None),
            _ => Versions::All,
        };
        let on_replica = matches!(
            op,
            Operation::GetSecretValue
                | Operation::BatchGetSecretValue
                | Operation::DescribeSecret
                | Operation::ListSecretVersionIds
                | Operation::ListSecrets
                | Operation::ValidateResourcePolicy
                | Operation::StopReplicationToReplica
        );
        Self {
            action: op.iam_action(),
            load,
            on_replica,
            ..Self::default()
        }
    }
}

/// The condition keys that describe a secret (by ARN and name, with its tags) and the request.
fn secret_keys(
    arn: &str,
    name: &str,
    tags: &[tresor_store::Tag],
    access: &Access<'_>,
) -> Vec<(String, Vec<String>)> {
    let mut keys = vec![
        ("secretsmanager:SecretId".to_owned(), vec![arn.to_owned()]),
        ("secretsmanager:Name".to_owned(), vec![name.to_owned()]),
    ];
    for t in tags {
        keys.push((format!("aws:ResourceTag/{}", t.key), vec![t.value.clone()]));
        keys.push((
            format!("secretsmanager:ResourceTag/{}", t.key),
            vec![t.value.clone()],
        ));
    }
    let optional = [
        ("secretsmanager:VersionId", access.version_id),
        ("secretsmanager:VersionStage", access.version_stage),
        ("secretsmanager:KmsKeyId", access.kms_key_id),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            keys.push((key.to_owned(), vec![v.to_owned()]));
        }
    }
    for (k, v) in &access.request_tags {
        keys.push((format!("aws:RequestTag/{k}"), vec![v.clone()]));
    }
    if !access.tag_keys.is_empty() {
        keys.push(("aws:TagKeys".to_owned(), access.tag_keys.clone()));
    }
    keys
}

/// A secret as the resource of `access`, a denial naming it as `shown_as` if given.
fn secret_resource<'a>(
    record: &'a SecretRecord,
    access: &Access<'_>,
    shown_as: Option<&'a str>,
) -> Resource<'a> {
    Resource {
        arn: &record.arn,
        account: Some(&record.scope.account),
        policy: record.resource_policy.as_deref(),
        keys: secret_keys(&record.arn, &record.name, &record.tags, access),
        shown_as,
    }
}

impl Core {
    /// May the caller do `access` on this secret (its resource policy included)?
    pub(crate) fn authorize_secret(
        &self,
        ctx: &RequestContext,
        record: &SecretRecord,
        access: &Access<'_>,
    ) -> Result<(), CoreError> {
        self.authorize(ctx, &access.action, secret_resource(record, access, None))
    }

    /// [`Self::authorize_secret`] with the caller's policies already read
    /// ([`Core::caller_policies`]): deciding is pure, so a call that asks about many secrets,
    /// or several actions on one, reads the policies once.
    pub(crate) fn may_on_secret(
        ctx: &RequestContext,
        policies: &CallerPolicies,
        record: &SecretRecord,
        access: &Access<'_>,
    ) -> bool {
        let resource = secret_resource(record, access, None);
        Self::decide(ctx, policies, &access.action, resource).is_ok()
    }

    /// May the caller create a secret with this ARN and name?
    pub(crate) fn authorize_new_secret(
        &self,
        ctx: &RequestContext,
        arn: &str,
        name: &str,
        access: &Access<'_>,
    ) -> Result<(), CoreError> {
        let resource = Resource {
            arn,
            account: Some(&ctx.principal.account),
            policy: None,
            keys: secret_keys(arn, name, &[], access),
            shown_as: None,
        };
        self.authorize(ctx, &access.action, resource)
    }

    /// Find the secret `secret_id` names and authorize `access` on it. A secret that does not
    /// exist is reported as missing only to callers allowed to act on that name; others get
    /// `AccessDeniedException`, so denial does not reveal what exists (see [`Self::authorize_found`]).
    pub(crate) fn resolve_secret(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        access: Access<'_>,
    ) -> Result<SecretRecord, CoreError> {
        let load = access.load;
        let find = |key: SecretKey<'_>| match (load, key) {
            (Versions::All, SecretKey::Arn(arn)) => self.store.find_secret_by_arn(arn),
            (Versions::All, SecretKey::Name(scope, name)) => {
                self.store.find_secret_by_name(scope, name)
            }
            (Versions::Labelled(also), key) => self.store.find_secret_labelled(key, also),
        };
        match self.find_secret(ctx, secret_id, find)? {
            Some(record) => {
                self.authorize_found(ctx, secret_id, &record, &access)?;
                refuse_replica(&record, &access)?;
                Ok(record)
            }
            None => Err(self.missing_secret(ctx, secret_id, &access)),
        }
    }

    /// [`Self::resolve_secret`] for reading a value: the secret with its labelled versions
    /// (and `pick.version_id`) and, read with it, the sealed value of the version `pick`
    /// picks, if it has one (the caller still selects the version and checks its stage).
    pub(crate) fn resolve_secret_value(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        access: Access<'_>,
        pick: VersionPick<'_>,
    ) -> Result<(SecretRecord, Option<SealedValue>), CoreError> {
        let find = |key: SecretKey<'_>| self.store.find_secret_value(key, pick);
        match self.find_secret(ctx, secret_id, find)? {
            Some((record, value)) => {
                self.authorize_found(ctx, secret_id, &record, &access)?;
                refuse_replica(&record, &access)?;
                Ok((record, value))
            }
            None => Err(self.missing_secret(ctx, secret_id, &access)),
        }
    }

    /// Authorize `access` on the secret `secret_id` found. A caller denied gets the answer it
    /// would get if the secret did not exist, whenever that answer is a denial too: the same
    /// message (naming the secret as the request did, as AWS does), so that neither the
    /// stored ARN's random suffix nor the reason (a Deny in the secret's own policy) tells
    /// that it exists. Only a caller allowed on the name itself, who would be told that a
    /// missing secret is missing, learns that this one is refused by its policy or its tags.
    fn authorize_found(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        record: &SecretRecord,
        access: &Access<'_>,
    ) -> Result<(), CoreError> {
        // The caller's policies are read once for both questions, so a denial costs about
        // what the denial of a missing secret costs.
        let policies = self.caller_policies(ctx)?;
        let resource = secret_resource(record, access, Some(secret_id));
        match Self::decide(ctx, &policies, &access.action, resource) {
            Err(CoreError::AccessDenied {
                message: real,
                unreadable,
            }) => match Self::missing_with(ctx, &policies, secret_id, access) {
                // The caller is told what a missing secret would tell it; the record keeps
                // why this one was refused if a policy could not be read.
                CoreError::AccessDenied {
                    message,
                    unreadable: missing,
                } => Err(CoreError::AccessDenied {
                    message,
                    unreadable: unreadable.or(missing),
                }),
                _ => Err(CoreError::AccessDenied {
                    message: real,
                    unreadable,
                }),
            },
            other => other,
        }
    }

    /// The error for a `secret_id` that names no secret: `ResourceNotFoundException` if the
    /// caller may do `access` on a secret of that name, else the authorization's denial.
    fn missing_secret(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        access: &Access<'_>,
    ) -> CoreError {
        match self.caller_policies(ctx) {
            Ok(policies) => Self::missing_with(ctx, &policies, secret_id, access),
            Err(e) => e,
        }
    }

    /// [`Self::missing_secret`] with the caller's policies already read.
    fn missing_with(
        ctx: &RequestContext,
        policies: &CallerPolicies,
        secret_id: &str,
        access: &Access<'_>,
    ) -> CoreError {
        let scope = ctx.scope();
        let (arn, name) = match secret_id.strip_prefix("arn:") {
            Some(_) => (
                secret_id.to_owned(),
                secret_id
                    .rsplit_once(":secret:")
                    .map(|(_, n)| n.to_owned())
                    .unwrap_or_default(),
            ),
            None => (
                format!(
                    "arn:aws:secretsmanager:{}:{}:secret:{secret_id}",
                    scope.region, scope.account
                ),
                secret_id.to_owned(),
            ),
        };
        let resource = Resource {
            arn: &arn,
            account: Some(&scope.account),
            policy: None,
            keys: secret_keys(&arn, &name, &[], access),
            shown_as: Some(secret_id),
        };
        match Self::decide(ctx, policies, &access.action, resource) {
            Ok(()) => CoreError::secret_not_found(),
            Err(denied) => denied,
        }
    }

    /// Find the secret `secret_id` names, within the caller's (account, region): by exact ARN,
    /// by partial ARN (without the random suffix) or by name, each looked up with `find`. A
    /// malformed name is refused here, before any lookup or authorization, for every operation.
    pub(crate) fn find_secret<T>(
        &self,
        ctx: &RequestContext,
        secret_id: &str,
        find: impl Fn(SecretKey<'_>) -> Result<Option<T>, tresor_store::StoreError>,
    ) -> Result<Option<T>, CoreError> {
        validate::secret_id(secret_id)?;
        let scope = ctx.scope();
        if let Some(rest) = secret_id.strip_prefix("arn:") {
            // arn:<partition>:secretsmanager:<region>:<account>:secret:<name>[-<suffix>]
            let mut parts = rest.splitn(6, ':');
            let (
                Some(partition),
                Some(service),
                Some(region),
                Some(account),
                Some("secret"),
                Some(name),
            ) = (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            )
            else {
                return Ok(None);
            };
            // Secrets live in the `aws` partition only: `arn:aws-cn:…` names nothing here.
            if partition != "aws"
                || service != "secretsmanager"
                || region != scope.region.as_str()
                || account != scope.account.as_str()
            {
                return Ok(None);
            }
            if let Some(found) = find(SecretKey::Arn(secret_id))? {
                return Ok(Some(found));
            }
            // A partial ARN ends with the bare name.
            return Ok(find(SecretKey::Name(&scope, name))?);
        }
        Ok(find(SecretKey::Name(&scope, secret_id))?)
    }
}

/// Refuse `access` on a replica unless the operation may act on one.
fn refuse_replica(record: &SecretRecord, access: &Access<'_>) -> Result<(), CoreError> {
    if !access.on_replica && super::replication::is_replica(record) {
        return Err(super::replication::not_on_replica());
    }
    Ok(())
}

/// The error for operations that a secret scheduled for deletion refuses.
pub(crate) fn marked_for_deletion() -> CoreError {
    CoreError::InvalidRequest(
        "You can't perform this operation on the secret because it was marked for deletion."
            .to_owned(),
    )
}

/// Refuse if the secret is scheduled for deletion.
pub(crate) fn ensure_not_deleted(record: &SecretRecord) -> Result<(), CoreError> {
    if record.deletion.is_some() {
        return Err(marked_for_deletion());
    }
    Ok(())
}
