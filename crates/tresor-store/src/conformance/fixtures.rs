//! Records and helpers the cases share.

use tresor_types::{AccountId, Region, Timestamp};

use crate::{
    AccessKeyRecord, AccessKeyStatus, AuditRow, KmsKeyRecord, ManagedPolicyRecord,
    PolicyVersionRecord, PrincipalKind, PrincipalName, RoleRecord, Scope, SealedVersion,
    SecretRecord, SecretTxn, SessionRecord, Store, StoreError, Tag, UserRecord, VersionMeta,
};

/// A scope from literal ids (panics on malformed ones: test data only).
pub fn scope(account: &str, region: &str) -> Scope {
    Scope {
        account: AccountId::parse(account).unwrap(),
        region: Region::parse(region).unwrap(),
    }
}

pub(super) fn home() -> Scope {
    scope("111111111111", "us-east-1")
}

pub(super) fn other_region() -> Scope {
    scope("111111111111", "eu-west-1")
}

pub(super) fn other_account() -> Scope {
    scope("222222222222", "us-east-1")
}

pub(super) const T0: Timestamp = Timestamp(1_700_000_000_000);

pub(super) fn arn_for(scope: &Scope, name: &str) -> String {
    format!(
        "arn:aws:secretsmanager:{}:{}:secret:{name}-AbCdEf",
        scope.region, scope.account
    )
}

/// A secret without versions and with every optional field empty.
pub(super) fn bare_secret(scope: &Scope, name: &str) -> SecretRecord {
    SecretRecord {
        scope: scope.clone(),
        arn: arn_for(scope, name),
        name: name.to_owned(),
        description: None,
        kms_key_id: None,
        tags: Vec::new(),
        resource_policy: None,
        rotation: None,
        replication: None,
        created: T0,
        last_changed: T0,
        last_accessed: None,
        deletion: None,
        versions: Vec::new(),
    }
}

pub(super) fn version(version_id: &str, stages: &[&str]) -> VersionMeta {
    VersionMeta {
        version_id: version_id.to_owned(),
        stages: stages.iter().map(|s| (*s).to_owned()).collect(),
        created: T0,
        last_accessed: None,
        value_digest: format!("digest of {version_id}").into_bytes(),
        kms_key_id: "alias/aws/secretsmanager".to_owned(),
    }
}

pub(super) fn envelope(version_id: &str) -> Vec<u8> {
    format!("sealed value of {version_id}").into_bytes()
}

/// Create `name` in `scope` with a first version `v1` labelled `AWSCURRENT`.
pub(super) fn create_with_version(store: &impl Store, scope: &Scope, name: &str) -> SecretRecord {
    let mut record = bare_secret(scope, name);
    record.versions.push(version("v1", &["AWSCURRENT"]));
    let first = SealedVersion {
        version_id: "v1".to_owned(),
        envelope: envelope("v1"),
    };
    store.create_secret(&record, Some(&first)).unwrap();
    record
}

pub(super) fn find(store: &impl Store, arn: &str) -> SecretRecord {
    store
        .find_secret_by_arn(arn)
        .unwrap()
        .expect("the secret exists")
}

/// Run an update that cannot fail in the closure.
pub(super) fn update<T>(
    store: &impl Store,
    arn: &str,
    mut f: impl FnMut(&mut SecretTxn) -> T,
) -> T {
    store
        .update_secret::<T, StoreError, _>(arn, |txn| Ok(f(txn)))
        .unwrap()
}

pub(super) fn version_ids(record: &SecretRecord) -> Vec<&str> {
    record
        .versions
        .iter()
        .map(|v| v.version_id.as_str())
        .collect()
}

pub(super) fn stages_of<'a>(record: &'a SecretRecord, version_id: &str) -> Vec<&'a str> {
    record
        .version(version_id)
        .expect("the version exists")
        .stages
        .iter()
        .map(String::as_str)
        .collect()
}

pub(super) fn set_stages(txn: &mut SecretTxn, version_id: &str, stages: &[&str]) {
    let v = txn
        .record
        .versions
        .iter_mut()
        .find(|v| v.version_id == version_id)
        .unwrap();
    v.stages = stages.iter().map(|s| (*s).to_owned()).collect();
}

/// An error type of the caller's own, as the core uses with `update_secret`.
#[derive(Debug)]
pub(super) enum CallerError {
    Store(StoreError),
    Refused,
}

impl From<StoreError> for CallerError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

pub(super) fn access_key(id: &str, account: &str, user_name: Option<&str>) -> AccessKeyRecord {
    AccessKeyRecord {
        access_key_id: id.to_owned(),
        account: AccountId::parse(account).unwrap(),
        principal_arn: match user_name {
            Some(user) => format!("arn:aws:iam::{account}:user/{user}"),
            None => format!("arn:aws:iam::{account}:root"),
        },
        user_name: user_name.map(str::to_owned),
        sealed_secret: format!("sealed secret of {id}").into_bytes(),
        status: AccessKeyStatus::Active,
        created: T0,
    }
}

pub(super) fn kms_key(scope: &Scope, key_id: &str, alias: Option<&str>) -> KmsKeyRecord {
    KmsKeyRecord {
        scope: scope.clone(),
        key_id: key_id.to_owned(),
        arn: format!(
            "arn:aws:kms:{}:{}:key/{key_id}",
            scope.region, scope.account
        ),
        alias: alias.map(str::to_owned),
        description: format!("key {key_id}"),
        created: T0,
        versions: vec![(1, format!("wrapped {key_id} v1").into_bytes())],
    }
}

// ---- identities ----

pub(super) fn account(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

/// The home account of the identity and audit cases.
pub(super) fn acct() -> AccountId {
    home().account
}

pub(super) fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

pub(super) fn user(account: &AccountId, name: &str) -> UserRecord {
    UserRecord {
        account: account.clone(),
        user_name: name.to_owned(),
        user_id: format!("AIDA{}{}", account, name.to_ascii_uppercase()),
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        path: "/".to_owned(),
        tags: Vec::new(),
        created: T0,
    }
}

pub(super) fn role(account: &AccountId, name: &str) -> RoleRecord {
    RoleRecord {
        account: account.clone(),
        role_name: name.to_owned(),
        role_id: format!("AROA{}{}", account, name.to_ascii_uppercase()),
        arn: format!("arn:aws:iam::{account}:role/{name}"),
        path: "/".to_owned(),
        description: None,
        assume_role_policy: trust_policy(&format!("arn:aws:iam::{account}:root")),
        max_session_duration: 3600,
        tags: Vec::new(),
        created: T0,
    }
}

pub(super) fn trust_policy(principal: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

/// A policy document that names `what`, so that documents are told apart.
pub(super) fn document(what: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{what}","Resource":"*"}}]}}"#
    )
}

pub(super) fn policy_arn(account: &AccountId, name: &str) -> String {
    format!("arn:aws:iam::{account}:policy/{name}")
}

/// A managed policy with one version `v1` (the default) whose document names `name`.
pub(super) fn managed_policy(account: &AccountId, name: &str) -> ManagedPolicyRecord {
    ManagedPolicyRecord {
        account: account.clone(),
        policy_name: name.to_owned(),
        policy_id: format!("ANPA{}{}", account, name.to_ascii_uppercase()),
        arn: policy_arn(account, name),
        path: "/".to_owned(),
        description: None,
        default_version_id: "v1".to_owned(),
        versions: vec![policy_version("v1", &format!("{name}:v1"), T0)],
        created: T0,
        updated: T0,
    }
}

pub(super) fn policy_version(
    version_id: &str,
    what: &str,
    created: Timestamp,
) -> PolicyVersionRecord {
    PolicyVersionRecord {
        version_id: version_id.to_owned(),
        document: document(what),
        created,
    }
}

pub(super) fn principal(account: &AccountId, kind: PrincipalKind, name: &str) -> PrincipalName {
    PrincipalName {
        account: account.clone(),
        kind,
        name: name.to_owned(),
    }
}

pub(super) fn session(role: &RoleRecord, name: &str, expires: Timestamp) -> SessionRecord {
    SessionRecord {
        token_digest: format!("digest of the token of {name}").into_bytes(),
        expires,
        role_name: role.role_name.clone(),
        role_id: role.role_id.clone(),
        role_arn: role.arn.clone(),
        session_name: name.to_owned(),
        session_policy: None,
    }
}

/// A session's temporary key (`ASIA…`), acting as `role`.
pub(super) fn session_key(id: &str, role: &RoleRecord, session_name: &str) -> AccessKeyRecord {
    AccessKeyRecord {
        access_key_id: id.to_owned(),
        account: role.account.clone(),
        principal_arn: format!(
            "arn:aws:sts::{}:assumed-role/{}/{session_name}",
            role.account, role.role_name
        ),
        user_name: None,
        sealed_secret: format!("sealed secret of {id}").into_bytes(),
        status: AccessKeyStatus::Active,
        created: T0,
    }
}

// ---- audit ----

/// The hash the audit cases give record `seq` of chain `chain`.
pub(super) fn audit_hash(chain: &str, seq: u64) -> Vec<u8> {
    format!("hash {chain}/{seq}").into_bytes()
}

/// A record at `seq` following `prev_hash`, with lookup columns derived from `seq` (event time
/// `T0 + seq` seconds, `GetSecretValue`, read-only, in the home account).
pub(super) fn audit_row(seq: u64, prev_hash: Vec<u8>, hash: Vec<u8>) -> AuditRow {
    let seconds = i64::try_from(seq).unwrap();
    AuditRow {
        seq,
        prev_hash,
        mac: [b"mac of ".as_slice(), &hash].concat(),
        hash,
        event_json: format!(r#"{{"eventID":"event-{seq}","eventName":"GetSecretValue"}}"#),
        event_time: T0.plus_seconds(seconds),
        event_id: format!("event-{seq}"),
        event_name: "GetSecretValue".to_owned(),
        event_source: "secretsmanager.amazonaws.com".to_owned(),
        account: Some(acct()),
        read_only: true,
        username: Some("alice".to_owned()),
        access_key_id: Some("AKIAALICE00000000001".to_owned()),
        resources: vec![(
            "AWS::SecretsManager::Secret".to_owned(),
            arn_for(&home(), "app"),
        )],
    }
}

/// `count` contiguous records of chain `chain` after head `(seq, hash)` (`None`: the genesis,
/// with an all-zero `prev_hash`), each shaped by `shape` after `audit_row`.
pub(super) fn audit_batch(
    chain: &str,
    head: Option<(u64, Vec<u8>)>,
    count: u64,
    mut shape: impl FnMut(&mut AuditRow),
) -> Vec<AuditRow> {
    let (mut seq, mut prev) = head.unwrap_or((0, vec![0; 32]));
    let mut rows = Vec::new();
    for _ in 0..count {
        seq += 1;
        let mut row = audit_row(seq, prev, audit_hash(chain, seq));
        shape(&mut row);
        prev = row.hash.clone();
        rows.push(row);
    }
    rows
}
