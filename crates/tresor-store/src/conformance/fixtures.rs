//! Records and helpers the cases share.

use tresor_types::{AccountId, Region, Timestamp};

use crate::{
    AccessKeyRecord, AccessKeyStatus, KmsKeyRecord, Scope, SealedVersion, SecretRecord, SecretTxn,
    Store, StoreError, VersionMeta,
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
