//! Finding a key and deciding whether the caller may use it: the step every KMS operation and
//! Secrets Manager's reads and writes take before they touch a key.
//!
//! A key is named by key id, key ARN, alias name or alias ARN, in the caller's account and
//! region. Loading it also applies what time has decided since it was last seen (lazily, on
//! access, so every node agrees without a scheduler): a key whose deletion date has passed is
//! destroyed (its wrapped material deleted for good, [`Core::kms_load_key`] answers
//! `NotFoundException`), and a key whose rotation is due gets its new versions.
//!
//! Authorization is KMS's ([`Core::authorize_by_key_policy`]): the key policy is required,
//! naming the account delegates to IAM, a Deny anywhere wins.

use tresor_crypto::EncryptionContext;
use tresor_store::{KeyManager, KmsKeyMeta, KmsKeyRecord, KmsKeyState, KmsStore, Scope, Store};
use tresor_types::Timestamp;

use crate::authz::Resource;
use crate::keyring::DEFAULT_SECRETS_KEY_ALIAS;
use crate::kms::{alias_arn, key_arn, policy, rotation};
use crate::{Core, CoreError, KmsError, RequestContext};

/// Why a key is wanted: the IAM action it needs and the request's KMS condition keys.
#[derive(Debug, Clone, Copy)]
pub struct KeyUse<'a> {
    /// `kms:Encrypt`, `kms:Decrypt`, `kms:GenerateDataKey`, `kms:ReEncryptFrom`, …
    pub action: &'static str,
    /// The request's encryption context (`kms:EncryptionContext:<key>` and
    /// `kms:EncryptionContextKeys`).
    pub encryption_context: Option<&'a EncryptionContext>,
    /// The service that calls KMS on the caller's behalf (`kms:ViaService`), e.g.
    /// `secretsmanager.<region>.amazonaws.com`; `None` for a direct KMS call.
    pub via_service: Option<&'a str>,
}

/// A key with its management state.
#[derive(Debug, Clone)]
pub struct LoadedKey {
    pub record: KmsKeyRecord,
    pub meta: KmsKeyMeta,
}

impl LoadedKey {
    pub fn arn(&self) -> &str {
        &self.record.arn
    }

    /// The key policy in force: the stored one, or AWS's for a managed key.
    pub fn policy(&self) -> String {
        match &self.meta.policy {
            Some(doc) => doc.clone(),
            None => policy::aws_managed_policy(&self.record.scope),
        }
    }

    pub fn is_aws_managed(&self) -> bool {
        self.meta.key_manager == KeyManager::Aws
    }
}

/// The record of a key destroyed at the end of its waiting period: what AWS records, a
/// `DeleteKey` service event by KMS itself.
fn deletion_event(
    scope: &Scope,
    arn: &str,
    deletion_date: Option<Timestamp>,
    now: Timestamp,
) -> tresor_audit::AuditEvent {
    use tresor_audit::{AuditEvent, Resource, UserIdentity, AWS_SERVICE_EVENT, KMS_SOURCE};
    let account = scope.account.as_str();
    let mut event = AuditEvent::new(KMS_SOURCE, "DeleteKey", scope.region.as_str(), account, now);
    event.user_identity = UserIdentity::aws_service(account, KMS_SOURCE);
    event.event_type = AWS_SERVICE_EVENT.to_owned();
    event.read_only = false;
    event.source_ip_address = KMS_SOURCE.to_owned();
    event.user_agent = KMS_SOURCE.to_owned();
    event.request_id = uuid::Uuid::new_v4().to_string();
    event.resources = vec![Resource {
        arn: arn.to_owned(),
        account_id: account.to_owned(),
        resource_type: "AWS::KMS::Key".to_owned(),
    }];
    event.additional_event_data = Some(serde_json::json!({
        "reason": "PendingWindowEnded",
        "DeletionDate": deletion_date.map(Timestamp::epoch_seconds),
    }));
    event
}

/// How a request names a key.
#[derive(Debug, PartialEq, Eq)]
enum KeyRef<'a> {
    Id(&'a str),
    Alias(&'a str),
}

/// Whether aliases may name the key (AWS takes them in `DescribeKey` and the cryptographic
/// operations; the management operations want a key id or key ARN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    KeyOrAlias,
    KeyOnly,
}

/// `Key '<arn>' does not exist`, AWS's `NotFoundException` for an unknown key id.
pub(crate) fn key_not_found(scope: &Scope, key_id: &str) -> CoreError {
    CoreError::Kms(
        KmsError::NotFound,
        format!(
            "Key '{}' does not exist",
            key_arn(scope.region.as_str(), scope.account.as_str(), key_id)
        ),
    )
}

/// `Alias <alias arn> is not found.`, AWS's `NotFoundException` for an unknown alias.
pub(crate) fn alias_not_found(scope: &Scope, alias: &str) -> CoreError {
    CoreError::Kms(
        KmsError::NotFound,
        format!(
            "Alias {} is not found.",
            alias_arn(scope.region.as_str(), scope.account.as_str(), alias)
        ),
    )
}

fn invalid_key_id(id: &str) -> CoreError {
    CoreError::Kms(KmsError::NotFound, format!("Invalid keyId {id}"))
}

/// `KMSInvalidStateException` for a key whose state does not allow the operation.
pub(crate) fn invalid_state(key: &LoadedKey) -> CoreError {
    let arn = key.arn();
    let message = match key.meta.state {
        KmsKeyState::PendingDeletion => format!("{arn} is pending deletion."),
        KmsKeyState::Disabled => format!("{arn} is disabled."),
        KmsKeyState::Enabled => format!("{arn} is enabled."),
    };
    CoreError::Kms(KmsError::InvalidState, message)
}

/// How `id` names a key of `scope`; `None` if it cannot name one there (another account's or
/// region's ARN, or not an identifier at all).
fn parse_key_ref<'a>(scope: &Scope, id: &'a str) -> Option<KeyRef<'a>> {
    if let Some(rest) = id.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [_, "kms", region, account, resource] = parts.as_slice() else {
            return None;
        };
        if *region != scope.region.as_str() || *account != scope.account.as_str() {
            return None;
        }
        return if let Some(key) = resource.strip_prefix("key/") {
            Some(KeyRef::Id(key))
        } else if resource.starts_with("alias/") {
            Some(KeyRef::Alias(resource))
        } else {
            None
        };
    }
    if id.starts_with("alias/") {
        return Some(KeyRef::Alias(id));
    }
    Some(KeyRef::Id(id))
}

/// A key id as KMS makes them (a UUID); anything else cannot name a key.
fn is_key_id(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok() || id.starts_with("mrk-")
}

impl<'a> KeyUse<'a> {
    /// A direct KMS call (no service on the caller's behalf) for `action` with `context`.
    pub fn direct(action: &'static str, context: &'a EncryptionContext) -> Self {
        Self {
            action,
            encryption_context: Some(context),
            via_service: None,
        }
    }
}

impl Core {
    /// The key `id` names in the caller's scope, with time's decisions applied (see the
    /// module comment). An unknown key or alias is AWS's `NotFoundException`.
    pub fn kms_load_key(
        &self,
        ctx: &RequestContext,
        id: &str,
        naming: Naming,
    ) -> Result<LoadedKey, CoreError> {
        let scope = ctx.scope();
        let record = match parse_key_ref(&scope, id) {
            Some(KeyRef::Alias(alias)) if naming == Naming::KeyOrAlias => {
                if alias == DEFAULT_SECRETS_KEY_ALIAS {
                    // AWS creates a managed key the first time its alias is used.
                    self.keyring.default_key(&self.store, &scope)?
                } else {
                    self.store
                        .get_kms_key_by_alias(&scope, alias)?
                        .ok_or_else(|| alias_not_found(&scope, alias))?
                }
            }
            Some(KeyRef::Id(key_id)) if is_key_id(key_id) => self
                .store
                .get_kms_key(&scope, key_id)?
                .ok_or_else(|| key_not_found(&scope, key_id))?,
            _ => return Err(invalid_key_id(id)),
        };
        let meta = self
            .store
            .get_kms_key_meta(&scope, &record.key_id)?
            .ok_or_else(|| key_not_found(&scope, &record.key_id))?;
        self.apply_time(ctx, LoadedKey { record, meta })
    }

    /// Destroy a key whose deletion date has passed; add the versions a due rotation owes.
    fn apply_time(&self, ctx: &RequestContext, key: LoadedKey) -> Result<LoadedKey, CoreError> {
        let scope = &key.record.scope;
        if key.meta.state == KmsKeyState::PendingDeletion
            && key.meta.deletion_date.is_some_and(|d| d <= ctx.now)
        {
            self.destroy_kms_key_if_due(scope, &key.record.key_id, ctx.now)?;
            return Err(key_not_found(scope, &key.record.key_id));
        }
        rotation::rotate_if_due(self, ctx, key)
    }

    /// Destroy every key, of every account and region, whose waiting period ended by `now`
    /// (the periodic sweep passes the current time), so that a key nobody uses again does not
    /// keep its material past its deletion date. Returns how many went.
    pub fn destroy_due_kms_keys(&self, now: Timestamp) -> Result<usize, CoreError> {
        /// Keys destroyed per sweep; the next sweep takes the rest.
        const SWEEP: usize = 1000;
        let mut destroyed = 0;
        for (scope, key_id) in self.store.kms_keys_due_for_destruction(now, SWEEP)? {
            if self.destroy_kms_key_if_due(&scope, &key_id, now)? {
                destroyed += 1;
            }
        }
        Ok(destroyed)
    }

    /// Destroy one key for good if it is still pending deletion with a date at or before
    /// `now`, in one transaction with its record (KMS's `DeleteKey` service event); whether
    /// it did. Read again inside the transaction: a CancelKeyDeletion since wins, and of two
    /// nodes destroying at once only one records it.
    fn destroy_kms_key_if_due(
        &self,
        scope: &Scope,
        key_id: &str,
        now: Timestamp,
    ) -> Result<bool, CoreError> {
        let destroyed = self.atomically(|| {
            let Some(meta) = self.store.get_kms_key_meta(scope, key_id)? else {
                return Ok(None);
            };
            let due = meta.state == KmsKeyState::PendingDeletion
                && meta.deletion_date.is_some_and(|d| d <= now);
            if !due || !self.store.destroy_kms_key(scope, key_id)? {
                return Ok(None);
            }
            let arn = key_arn(scope.region.as_str(), scope.account.as_str(), key_id);
            self.audit_event_in_transaction(deletion_event(scope, &arn, meta.deletion_date, now))?;
            Ok(Some(arn))
        })?;
        let Some(arn) = destroyed else {
            return Ok(false);
        };
        self.keyring.forget_key(scope, key_id);
        tracing::info!(key = %arn, "KMS key destroyed after its waiting period");
        Ok(true)
    }

    /// The key a management operation names (by key id or key ARN only), once the caller may
    /// perform `action` on it.
    pub(crate) fn kms_key_to_manage(
        &self,
        ctx: &RequestContext,
        key_id: Option<&str>,
        action: &str,
    ) -> Result<LoadedKey, CoreError> {
        let key = self.kms_load_key(ctx, key_id.unwrap_or_default(), Naming::KeyOnly)?;
        self.kms_authorize(ctx, &key, action, None)?;
        Ok(key)
    }

    /// May the caller perform `action` on `key`? The key policy decides first (KMS's
    /// evaluation), with the KMS condition keys of the request and the key's tags.
    pub fn kms_authorize(
        &self,
        ctx: &RequestContext,
        key: &LoadedKey,
        action: &str,
        usage: Option<&KeyUse<'_>>,
    ) -> Result<(), CoreError> {
        let policy = key.policy();
        self.authorize_by_key_policy(ctx, action, key_resource(ctx, key, &policy, usage))
    }

    /// The key `key_id` names (key id, key ARN, alias name or alias ARN) in the caller's
    /// account and region: resolved, authorized for the caller by the key policy and IAM as
    /// KMS evaluates them (with `kms:ViaService`, `kms:EncryptionContext:*` and
    /// `kms:CallerAccount`), and in a state that allows use (AWS's `DisabledException` /
    /// `KMSInvalidStateException` otherwise). An unknown key is `NotFoundException`.
    pub fn kms_key_for_use(
        &self,
        ctx: &RequestContext,
        key_id: &str,
        usage: &KeyUse<'_>,
    ) -> Result<KmsKeyRecord, CoreError> {
        let key = self.kms_load_key(ctx, key_id, Naming::KeyOrAlias)?;
        self.kms_authorize(ctx, &key, usage.action, Some(usage))?;
        match key.meta.state {
            KmsKeyState::Enabled => Ok(key.record),
            KmsKeyState::Disabled => Err(CoreError::Kms(
                KmsError::Disabled,
                format!("{} is disabled.", key.arn()),
            )),
            KmsKeyState::PendingDeletion => Err(invalid_state(&key)),
        }
    }
}

/// The resource side of a key's authorization: its ARN, account, policy and condition keys.
pub(crate) fn key_resource<'a>(
    ctx: &RequestContext,
    key: &'a LoadedKey,
    policy: &'a str,
    usage: Option<&KeyUse<'_>>,
) -> Resource<'a> {
    let mut keys = vec![(
        "kms:CallerAccount".to_owned(),
        vec![ctx.principal.account.as_str().to_owned()],
    )];
    for tag in &key.meta.tags {
        keys.push((
            format!("aws:ResourceTag/{}", tag.key),
            vec![tag.value.clone()],
        ));
    }
    if let Some(usage) = usage {
        if let Some(via) = usage.via_service {
            keys.push(("kms:ViaService".to_owned(), vec![via.to_owned()]));
        }
        if let Some(context) = usage.encryption_context {
            for (k, v) in &context.0 {
                keys.push((format!("kms:EncryptionContext:{k}"), vec![v.clone()]));
            }
            keys.push((
                "kms:EncryptionContextKeys".to_owned(),
                context.0.keys().cloned().collect(),
            ));
        }
    }
    Resource {
        arn: &key.record.arn,
        account: Some(&key.record.scope.account),
        policy: Some(policy),
        keys,
        shown_as: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn scope() -> Scope {
        Scope {
            account: tresor_types::AccountId::parse("111122223333").unwrap(),
            region: tresor_types::Region::parse("us-east-1").unwrap(),
        }
    }

    #[test]
    fn key_references() {
        let s = scope();
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(parse_key_ref(&s, id), Some(KeyRef::Id(id)));
        assert_eq!(
            parse_key_ref(&s, &format!("arn:aws:kms:us-east-1:111122223333:key/{id}")),
            Some(KeyRef::Id(id))
        );
        assert_eq!(
            parse_key_ref(&s, "alias/app"),
            Some(KeyRef::Alias("alias/app"))
        );
        assert_eq!(
            parse_key_ref(&s, "arn:aws:kms:us-east-1:111122223333:alias/app"),
            Some(KeyRef::Alias("alias/app"))
        );
        assert_eq!(
            parse_key_ref(&s, &format!("arn:aws:kms:eu-west-1:111122223333:key/{id}")),
            None
        );
        assert_eq!(
            parse_key_ref(&s, &format!("arn:aws:kms:us-east-1:444455556666:key/{id}")),
            None
        );
        assert_eq!(
            parse_key_ref(&s, "arn:aws:kms:us-east-1:111122223333:grant/x"),
            None
        );
        assert!(is_key_id(id));
        assert!(!is_key_id("not-a-key"));
    }
}
