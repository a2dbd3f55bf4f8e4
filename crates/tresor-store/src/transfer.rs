//! Copying a whole store to another backend (`tresor migrate-storage`), without decrypting
//! anything.
//!
//! Everything the store keeps is ciphertext or metadata, and every AAD is bound to an ARN or an
//! id that the copy keeps, so records move as they are stored: the sealed root key and the rest
//! of the metadata, access keys (sealed secrets) and their sessions, KMS keys (wrapped
//! material), secrets with every version (envelopes as stored), identities and policies, the
//! audit trail (every row verbatim, in order, so its chain still verifies) and its checkpoints,
//! the AI gateway's state: routes, gateway keys (their token's MAC as stored: the MAC key
//! derives from the root key, which moves too, so every token still works), price overrides
//! and the budget ledgers (so budgets do not reset by moving), and rotation's: the rotators
//! (their sealed secret as stored) and their logs, in order. A secret's rotation
//! configuration and the state of a rotation in progress are in the secret's own row, and
//! move with it.
//!
//! The gateway's transient state is not copied: holds, settled markers and rate windows. A
//! move runs with every server stopped, so no call is in flight: there is no live hold to
//! carry and no settle left to repeat, and a rate window lasts a minute.
//!
//! A backend implements the few listings of [`Transfer`] (what exists, by id: for rotation,
//! [`Transfer::rotator_scopes`] and [`Transfer::rotator_log_arns`]); reading each record and
//! writing it go through the ordinary store traits (a budget ledger, which no store trait
//! writes, through [`Transfer::import_gateway_ledger`]). [`transfer`] writes the whole
//! copy in one transaction of the target (`Store::atomically`), so a failed copy leaves the
//! target as it was, and holds the source's write lock meanwhile, so the copy is one consistent
//! state of the source (on SQLite; stop every node before moving a store).

use std::collections::HashMap;

use tresor_types::AccountId;

use crate::{
    AccessKeyRecord, AuditStore, GatewayKeyRecord, GatewayStore, IdentityStore, KeyVersionOrigin,
    KmsAliasRecord, KmsKeyMeta, KmsKeyRecord, KmsKeyVersionInfo, KmsStore, LedgerRecord,
    ManagedPolicyRecord, PriceRecord, PrincipalBudgetRecord, PrincipalKind, PrincipalName, Result,
    RoleRecord, RotationStore, RotatorLogRecord, RotatorRecord, RouteRecord, Scope, SealedVersion,
    SecretRecord, SessionRecord, Store, StoreError, UserRecord,
};

/// Audit records read and appended per batch.
const AUDIT_BATCH: usize = 500;

/// How often (in records) the progress callback hears about a long table.
const PROGRESS_EVERY: u64 = 100;

/// The listings a backend provides so that a whole store can be read, and the emptiness check
/// a target must pass. The records themselves are read and written through [`Store`],
/// [`IdentityStore`], [`AuditStore`], [`GatewayStore`] and [`RotationStore`]; budget ledgers,
/// which no store trait lists or writes as they are, through [`Transfer::gateway_ledgers`] and
/// [`Transfer::import_gateway_ledger`].
pub trait Transfer:
    Store + IdentityStore + AuditStore + GatewayStore + RotationStore + KmsStore
{
    // ---- read side (backend-specific listings) ----

    /// Every metadata entry, by key.
    fn all_meta(&self) -> Result<Vec<(String, Vec<u8>)>>;
    /// The id of every access key (long-term and temporary), sorted.
    fn access_key_ids(&self) -> Result<Vec<String>>;
    /// Every KMS key's (scope, key id), sorted.
    fn kms_key_ids(&self) -> Result<Vec<(Scope, String)>>;
    /// The ARN of every secret (including those scheduled for deletion), by scope and name.
    fn secret_arns(&self) -> Result<Vec<String>>;
    /// Every account that has users, roles or managed policies, sorted.
    fn identity_accounts(&self) -> Result<Vec<AccountId>>;
    /// Every account that has gateway routes, keys or price overrides, sorted.
    fn gateway_accounts(&self) -> Result<Vec<AccountId>>;
    /// Every budget ledger (what a scope spent and used in a period), by scope and period.
    fn gateway_ledgers(&self) -> Result<Vec<LedgerRecord>>;
    /// Every scope that has rotators, sorted.
    fn rotator_scopes(&self) -> Result<Vec<Scope>>;
    /// The ARN of every rotator that has log entries (a deleted rotator's late entries
    /// included), sorted.
    fn rotator_log_arns(&self) -> Result<Vec<String>>;
    /// Whether the store holds nothing at all: no metadata entry, access key, KMS key, secret,
    /// identity, policy, audit record or checkpoint, no row in any gateway table (the
    /// transient ones included, though a copy does not carry them), and no rotator or rotator
    /// log entry.
    fn is_empty(&self) -> Result<bool>;

    // ---- read side (records, through the store traits) ----

    /// Every access key, with its session if it is temporary.
    fn all_access_keys(&self) -> Result<Vec<(AccessKeyRecord, Option<SessionRecord>)>> {
        let mut out = Vec::new();
        for id in self.access_key_ids()? {
            let key = self.get_access_key(&id)?.ok_or_else(vanished)?;
            let session = self.get_session(&id)?;
            out.push((key, session));
        }
        Ok(out)
    }

    /// The sessions, by access key id.
    fn all_sessions(&self) -> Result<Vec<(String, SessionRecord)>> {
        let mut out = Vec::new();
        for id in self.access_key_ids()? {
            if let Some(session) = self.get_session(&id)? {
                out.push((id, session));
            }
        }
        Ok(out)
    }

    fn all_kms_keys(&self) -> Result<Vec<KmsKeyRecord>> {
        let mut out = Vec::new();
        for (scope, id) in self.kms_key_ids()? {
            out.push(self.get_kms_key(&scope, &id)?.ok_or_else(vanished)?);
        }
        Ok(out)
    }

    /// Every secret with the sealed value of each of its versions (in the record's order), one
    /// at a time, so that memory stays bounded by the largest secret.
    fn for_each_secret(
        &self,
        f: &mut dyn FnMut(SecretRecord, Vec<SealedVersion>) -> Result<()>,
    ) -> Result<()> {
        for arn in self.secret_arns()? {
            let record = self.find_secret_by_arn(&arn)?.ok_or_else(vanished)?;
            let mut sealed = Vec::with_capacity(record.versions.len());
            for version in &record.versions {
                let envelope = self
                    .read_envelope(&arn, &version.version_id)?
                    .ok_or_else(vanished)?;
                sealed.push(SealedVersion {
                    version_id: version.version_id.clone(),
                    envelope,
                });
            }
            f(record, sealed)?;
        }
        Ok(())
    }

    fn all_users(&self) -> Result<Vec<UserRecord>> {
        let mut out = Vec::new();
        for account in self.identity_accounts()? {
            out.extend(self.list_users(&account)?);
        }
        Ok(out)
    }

    fn all_roles(&self) -> Result<Vec<RoleRecord>> {
        let mut out = Vec::new();
        for account in self.identity_accounts()? {
            out.extend(self.list_roles(&account)?);
        }
        Ok(out)
    }

    /// Managed policies with all their versions.
    fn all_managed_policies(&self) -> Result<Vec<ManagedPolicyRecord>> {
        let mut out = Vec::new();
        for account in self.identity_accounts()? {
            out.extend(self.list_managed_policies(&account)?);
        }
        Ok(out)
    }

    /// Every user's and role's principal name (groups are not stored).
    fn all_principals(&self) -> Result<Vec<PrincipalName>> {
        let mut out = Vec::new();
        for account in self.identity_accounts()? {
            for user in self.list_users(&account)? {
                out.push(PrincipalName {
                    account: account.clone(),
                    kind: PrincipalKind::User,
                    name: user.user_name,
                });
            }
            for role in self.list_roles(&account)? {
                out.push(PrincipalName {
                    account: account.clone(),
                    kind: PrincipalKind::Role,
                    name: role.role_name,
                });
            }
        }
        Ok(out)
    }

    /// Inline policies: (owner, policy name, document).
    fn all_inline_policies(&self) -> Result<Vec<(PrincipalName, String, String)>> {
        let mut out = Vec::new();
        for owner in self.all_principals()? {
            for name in self.list_inline_policies(&owner)? {
                let document = self
                    .get_inline_policy(&owner, &name)?
                    .ok_or_else(vanished)?;
                out.push((owner.clone(), name, document));
            }
        }
        Ok(out)
    }

    /// Attachments: (owner, managed policy ARN).
    fn all_attachments(&self) -> Result<Vec<(PrincipalName, String)>> {
        let mut out = Vec::new();
        for owner in self.all_principals()? {
            for arn in self.list_attached_policies(&owner)? {
                out.push((owner.clone(), arn));
            }
        }
        Ok(out)
    }

    /// Every gateway route, by account and name.
    fn all_routes(&self) -> Result<Vec<RouteRecord>> {
        let mut out = Vec::new();
        for account in self.gateway_accounts()? {
            out.extend(self.list_routes(&account)?);
        }
        Ok(out)
    }

    /// Every gateway key (its MAC as stored), by account and key id.
    fn all_gateway_keys(&self) -> Result<Vec<GatewayKeyRecord>> {
        let mut out = Vec::new();
        for account in self.gateway_accounts()? {
            out.extend(self.list_gateway_keys(&account, None)?);
        }
        Ok(out)
    }

    /// Every price override, by account and model.
    fn all_prices(&self) -> Result<Vec<PriceRecord>> {
        let mut out = Vec::new();
        for account in self.gateway_accounts()? {
            out.extend(self.list_prices(&account)?);
        }
        Ok(out)
    }

    /// Every user's and role's gateway budget, by account.
    fn all_principal_budgets(&self) -> Result<Vec<PrincipalBudgetRecord>> {
        let mut out = Vec::new();
        for account in self.gateway_accounts()? {
            out.extend(self.list_principal_budgets(&account)?);
        }
        Ok(out)
    }

    /// Every rotator (its sealed secret as stored), by scope and name.
    fn all_rotators(&self) -> Result<Vec<RotatorRecord>> {
        let mut out = Vec::new();
        for scope in self.rotator_scopes()? {
            out.extend(self.list_rotators(&scope)?);
        }
        Ok(out)
    }

    /// Every log entry of the rotator `rotator_arn`, oldest first (the order to append them
    /// in).
    fn all_rotator_logs(&self, rotator_arn: &str) -> Result<Vec<RotatorLogRecord>> {
        let mut entries = self.rotator_logs(rotator_arn, None, usize::MAX)?;
        entries.reverse();
        Ok(entries)
    }

    // ---- write side: each inserts records as they are ----

    /// All metadata entries at once (`AlreadyInitialized` if any exists).
    fn import_meta(&self, entries: &[(String, Vec<u8>)]) -> Result<()> {
        let entries: Vec<(&str, Vec<u8>)> = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        self.init_meta(&entries)
    }

    /// An access key, with its session if it is temporary.
    fn import_access_key(
        &self,
        key: &AccessKeyRecord,
        session: Option<&SessionRecord>,
    ) -> Result<()> {
        match session {
            Some(session) => self.put_session_key(key, session),
            None => self.put_access_key(key),
        }
    }

    /// A KMS key as it is: its material (each version with its date and origin), its
    /// metadata and every alias naming it, in one transaction.
    fn import_kms_key(
        &self,
        key: &KmsKeyRecord,
        meta: &KmsKeyMeta,
        versions: &[KmsKeyVersionInfo],
        aliases: &[KmsAliasRecord],
    ) -> Result<()> {
        self.atomically(|| {
            let origin_of = |version: u32| versions.iter().find(|v| v.version == version);
            let created_with = KmsKeyRecord {
                alias: None,
                versions: key
                    .versions
                    .iter()
                    .filter(|(v, _)| {
                        origin_of(*v).is_none_or(|i| i.origin == KeyVersionOrigin::Created)
                    })
                    .cloned()
                    .collect(),
                ..key.clone()
            };
            self.create_kms_key(&created_with, meta)?;
            for (version, wrapped) in &key.versions {
                if let Some(info) =
                    origin_of(*version).filter(|i| i.origin != KeyVersionOrigin::Created)
                {
                    self.add_kms_key_version(&key.scope, &key.key_id, info, wrapped)?;
                }
            }
            for alias in aliases {
                self.create_kms_alias(alias)?;
            }
            Ok(())
        })
    }

    /// A secret with all its versions (metadata, stages and envelopes as they are); `sealed`
    /// holds the envelope of every version of `record`.
    fn import_secret(&self, record: &SecretRecord, sealed: &[SealedVersion]) -> Result<()> {
        let envelopes: HashMap<&str, &SealedVersion> =
            sealed.iter().map(|s| (s.version_id.as_str(), s)).collect();
        let envelope_of = |version_id: &str| -> Result<SealedVersion> {
            envelopes
                .get(version_id)
                .map(|s| (*s).clone())
                .ok_or_else(|| {
                    StoreError::Backend("import_secret: a version has no sealed value".to_owned())
                })
        };
        // The first version goes in with the secret, the others are added in order.
        let mut first = record.clone();
        first.versions.truncate(1);
        let first_sealed = match first.versions.first() {
            Some(meta) => Some(envelope_of(&meta.version_id)?),
            None => None,
        };
        self.create_secret(&first, first_sealed.as_ref())?;
        let rest = record.versions.get(1..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(());
        }
        let rest: Vec<(crate::VersionMeta, SealedVersion)> = rest
            .iter()
            .map(|meta| Ok((meta.clone(), envelope_of(&meta.version_id)?)))
            .collect::<Result<_>>()?;
        self.update_secret(&record.arn, |txn| {
            for (meta, sealed) in &rest {
                txn.add_version(meta.clone(), sealed.envelope.clone());
            }
            Ok::<(), StoreError>(())
        })
    }

    fn import_user(&self, user: &UserRecord) -> Result<()> {
        self.create_user(user)
    }

    fn import_role(&self, role: &RoleRecord) -> Result<()> {
        self.create_role(role)
    }

    /// A managed policy with all its versions.
    fn import_managed_policy(&self, policy: &ManagedPolicyRecord) -> Result<()> {
        self.create_managed_policy(policy)
    }

    fn import_inline_policy(
        &self,
        owner: &PrincipalName,
        name: &str,
        document: &str,
    ) -> Result<()> {
        self.put_inline_policy(owner, name, document)
    }

    fn import_attachment(&self, owner: &PrincipalName, policy_arn: &str) -> Result<()> {
        self.attach_policy(owner, policy_arn)
    }

    /// Audit records, verbatim and in order (they must continue the target's trail), indexed
    /// for lookups as they arrive: a copied trail is not left to the audit writer's batches.
    fn import_audit(&self, rows: &[crate::AuditRow]) -> Result<()> {
        self.append_audit(rows)?;
        self.index_audit(rows.len())?;
        Ok(())
    }

    fn import_checkpoint(&self, checkpoint: &crate::CheckpointRow) -> Result<()> {
        self.put_checkpoint(checkpoint)
    }

    fn import_route(&self, route: &RouteRecord) -> Result<()> {
        self.create_route(route)
    }

    /// A gateway key with its MAC as stored (`Conflict` if its id or MAC is taken).
    fn import_gateway_key(&self, key: &GatewayKeyRecord) -> Result<()> {
        self.create_gateway_key(key)
    }

    fn import_price(&self, price: &PriceRecord) -> Result<()> {
        self.put_price(price)
    }

    fn import_principal_budget(&self, budget: &PrincipalBudgetRecord) -> Result<()> {
        self.put_principal_budget(budget)
    }

    /// A budget ledger as it is (`Conflict` if the target has one for that scope and period;
    /// a bad figure is refused naming the field).
    fn import_gateway_ledger(&self, ledger: &LedgerRecord) -> Result<()>;

    /// A rotator, its sealed secret as stored (`Conflict` if its name or ARN is taken).
    fn import_rotator(&self, rotator: &RotatorRecord) -> Result<()> {
        self.create_rotator(rotator)
    }

    /// One log entry, after the entries of its rotator imported before it.
    fn import_rotator_log(&self, entry: &RotatorLogRecord) -> Result<()> {
        self.append_rotator_log(entry)
    }
}

fn vanished() -> StoreError {
    StoreError::Backend("a record vanished while the store was being read".to_owned())
}

/// Where a copy is: `done` of `total` records of `kind` (e.g. `"secrets"`) copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferProgress {
    pub kind: &'static str,
    pub done: u64,
    pub total: u64,
}

/// What a copy moved, by kind, in the order it copied them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferCounts {
    pub meta: u64,
    pub kms_keys: u64,
    pub users: u64,
    pub roles: u64,
    pub managed_policies: u64,
    pub policy_versions: u64,
    pub inline_policies: u64,
    pub attachments: u64,
    pub access_keys: u64,
    pub sessions: u64,
    pub secrets: u64,
    pub secret_versions: u64,
    pub gateway_routes: u64,
    pub gateway_keys: u64,
    pub gateway_prices: u64,
    pub gateway_budgets: u64,
    pub gateway_ledgers: u64,
    pub rotators: u64,
    pub rotator_logs: u64,
    pub audit_records: u64,
    pub checkpoints: u64,
}

impl TransferCounts {
    /// (kind, count) pairs, for printing.
    pub fn by_kind(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("metadata entries", self.meta),
            ("KMS keys", self.kms_keys),
            ("users", self.users),
            ("roles", self.roles),
            ("managed policies", self.managed_policies),
            ("managed policy versions", self.policy_versions),
            ("inline policies", self.inline_policies),
            ("policy attachments", self.attachments),
            ("access keys", self.access_keys),
            ("STS sessions", self.sessions),
            ("secrets", self.secrets),
            ("secret versions", self.secret_versions),
            ("gateway routes", self.gateway_routes),
            ("gateway keys", self.gateway_keys),
            ("gateway price overrides", self.gateway_prices),
            ("gateway principal budgets", self.gateway_budgets),
            ("gateway budget ledgers", self.gateway_ledgers),
            ("rotators", self.rotators),
            ("rotator log entries", self.rotator_logs),
            ("audit records", self.audit_records),
            ("audit checkpoints", self.checkpoints),
        ]
    }
}

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The target already holds data; nothing was written to it.
    #[error("the target store is not empty; nothing was copied")]
    TargetNotEmpty,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Copy everything `from` holds into `to`, which must be empty (else
/// [`TransferError::TargetNotEmpty`], and `to` is untouched). The whole copy is one transaction
/// of `to`: on any error nothing of it remains. `progress` hears about each kind as it starts
/// and every few records of a long one.
pub fn transfer<F: Transfer, T: Transfer>(
    from: &F,
    to: &T,
    progress: &mut dyn FnMut(TransferProgress),
) -> Result<TransferCounts, TransferError> {
    if !to.is_empty()? {
        return Err(TransferError::TargetNotEmpty);
    }
    // The source's write lock keeps its state still while it is read; nothing is written to it.
    from.atomically(|| to.atomically(|| copy(from, to, progress)))
}

fn copy<F: Transfer, T: Transfer>(
    from: &F,
    to: &T,
    progress: &mut dyn FnMut(TransferProgress),
) -> Result<TransferCounts, TransferError> {
    // Checked again inside the target's transaction (another copy may have raced this one; on
    // PostgreSQL the metadata insert below also meets a concurrent one).
    if !to.is_empty()? {
        return Err(TransferError::TargetNotEmpty);
    }
    let mut counts = TransferCounts::default();
    let mut step = |kind: &'static str, done: u64, total: u64| {
        if done == 0 || done == total || done % PROGRESS_EVERY == 0 {
            progress(TransferProgress { kind, done, total });
        }
    };

    let meta = from.all_meta()?;
    step("metadata", 0, len(&meta));
    to.import_meta(&meta)?;
    counts.meta = len(&meta);
    step("metadata", counts.meta, counts.meta);

    let kms_keys = from.all_kms_keys()?;
    let total = len(&kms_keys);
    step("KMS keys", 0, total);
    for key in &kms_keys {
        let meta = from
            .get_kms_key_meta(&key.scope, &key.key_id)?
            .ok_or_else(vanished)?;
        let versions = from.kms_key_versions(&key.scope, &key.key_id)?;
        let aliases = from.list_kms_aliases(&key.scope, Some(&key.key_id), None, usize::MAX)?;
        to.import_kms_key(key, &meta, &versions, &aliases)?;
        counts.kms_keys += 1;
        step("KMS keys", counts.kms_keys, total);
    }

    let users = from.all_users()?;
    let total = len(&users);
    step("users", 0, total);
    for user in &users {
        to.import_user(user)?;
        counts.users += 1;
        step("users", counts.users, total);
    }

    let roles = from.all_roles()?;
    let total = len(&roles);
    step("roles", 0, total);
    for role in &roles {
        to.import_role(role)?;
        counts.roles += 1;
        step("roles", counts.roles, total);
    }

    let policies = from.all_managed_policies()?;
    let total = len(&policies);
    step("managed policies", 0, total);
    for policy in &policies {
        to.import_managed_policy(policy)?;
        counts.managed_policies += 1;
        counts.policy_versions += len(&policy.versions);
        step("managed policies", counts.managed_policies, total);
    }

    let inline = from.all_inline_policies()?;
    let total = len(&inline);
    step("inline policies", 0, total);
    for (owner, name, document) in &inline {
        to.import_inline_policy(owner, name, document)?;
        counts.inline_policies += 1;
        step("inline policies", counts.inline_policies, total);
    }

    let attachments = from.all_attachments()?;
    let total = len(&attachments);
    step("policy attachments", 0, total);
    for (owner, arn) in &attachments {
        to.import_attachment(owner, arn)?;
        counts.attachments += 1;
        step("policy attachments", counts.attachments, total);
    }

    let ids = from.access_key_ids()?;
    let total = len(&ids);
    step("access keys", 0, total);
    for id in &ids {
        let key = from.get_access_key(id)?.ok_or_else(vanished)?;
        let session = from.get_session(id)?;
        to.import_access_key(&key, session.as_ref())?;
        counts.access_keys += 1;
        counts.sessions += u64::from(session.is_some());
        step("access keys", counts.access_keys, total);
    }

    let total = len(&from.secret_arns()?);
    step("secrets", 0, total);
    from.for_each_secret(&mut |record, sealed| {
        to.import_secret(&record, &sealed)?;
        counts.secrets += 1;
        counts.secret_versions += len(&record.versions);
        step("secrets", counts.secrets, total);
        Ok(())
    })?;

    // After the secrets their routes name and the identities their keys belong to (neither is
    // a constraint, but a reader of the copy in progress sees a consistent order).
    let routes = from.all_routes()?;
    let total = len(&routes);
    step("gateway routes", 0, total);
    for route in &routes {
        to.import_route(route)?;
        counts.gateway_routes += 1;
        step("gateway routes", counts.gateway_routes, total);
    }

    let keys = from.all_gateway_keys()?;
    let total = len(&keys);
    step("gateway keys", 0, total);
    for key in &keys {
        to.import_gateway_key(key)?;
        counts.gateway_keys += 1;
        step("gateway keys", counts.gateway_keys, total);
    }

    let prices = from.all_prices()?;
    let total = len(&prices);
    step("gateway price overrides", 0, total);
    for price in &prices {
        to.import_price(price)?;
        counts.gateway_prices += 1;
        step("gateway price overrides", counts.gateway_prices, total);
    }

    let budgets = from.all_principal_budgets()?;
    let total = len(&budgets);
    step("gateway principal budgets", 0, total);
    for budget in &budgets {
        to.import_principal_budget(budget)?;
        counts.gateway_budgets += 1;
        step("gateway principal budgets", counts.gateway_budgets, total);
    }

    let ledgers = from.gateway_ledgers()?;
    let total = len(&ledgers);
    step("gateway budget ledgers", 0, total);
    for ledger in &ledgers {
        to.import_gateway_ledger(ledger)?;
        counts.gateway_ledgers += 1;
        step("gateway budget ledgers", counts.gateway_ledgers, total);
    }

    // After the secrets they rotate (not a constraint: a rotator names none).
    let rotators = from.all_rotators()?;
    let total = len(&rotators);
    step("rotators", 0, total);
    for rotator in &rotators {
        to.import_rotator(rotator)?;
        counts.rotators += 1;
        step("rotators", counts.rotators, total);
    }

    // One rotator's log at a time (at most `ROTATOR_LOG_KEEP` entries), in the order its
    // entries were appended, so that the copy lists them newest first as the source does.
    // Progress counts logs (one per rotator).
    let log_arns = from.rotator_log_arns()?;
    let total = len(&log_arns);
    step("rotator logs", 0, total);
    let mut logs_done = 0;
    for arn in &log_arns {
        for entry in &from.all_rotator_logs(arn)? {
            to.import_rotator_log(entry)?;
            counts.rotator_logs += 1;
        }
        logs_done += 1;
        step("rotator logs", logs_done, total);
    }

    let total = from.audit_head()?.map_or(0, |(seq, _)| seq);
    step("audit records", 0, total);
    let mut next = 1;
    loop {
        let rows = from.read_audit(next, AUDIT_BATCH)?;
        let Some(last) = rows.last() else { break };
        next = last.seq + 1;
        to.import_audit(&rows)?;
        counts.audit_records += len(&rows);
        step("audit records", counts.audit_records, total);
    }

    let checkpoints = from.list_checkpoints()?;
    let total = len(&checkpoints);
    step("audit checkpoints", 0, total);
    for checkpoint in &checkpoints {
        to.import_checkpoint(checkpoint)?;
        counts.checkpoints += 1;
        step("audit checkpoints", counts.checkpoints, total);
    }
    Ok(counts)
}

fn len<T>(items: &[T]) -> u64 {
    u64::try_from(items.len()).unwrap_or(u64::MAX)
}
