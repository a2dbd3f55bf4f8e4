//! Whole-store copies ([`crate::transfer`]): a store filled through the ordinary traits reads
//! back the same, record for record, from the copy. These cases take two stores (the source
//! and an empty target), so they are not in [`cases`](super::cases); a backend's tests call
//! them with each pair of backends they support.

use tresor_types::Timestamp;

use super::fixtures::*;
use super::transfer_gateway::{
    assert_gateway_moved, assert_same_gateway_contents, fill_gateway_for_transfer, GATEWAY_COUNTS,
};
use super::transfer_rotation::{
    assert_rotation_moved, assert_same_rotation_contents, fill_rotation_for_transfer,
    ROTATION_COUNTS,
};
use crate::{
    transfer, AccessKeyStatus, CheckpointRow, Deletion, KeyVersionOrigin, KmsAliasRecord,
    KmsKeyMeta, KmsKeyState, KmsKeyVersionInfo, PrincipalKind, SealedVersion, Tag, Transfer,
    TransferError,
};

/// Fill `store` with a bit of everything, through the ordinary trait methods.
pub fn fill_for_transfer<S: Transfer>(store: &S) {
    let me = acct();
    let them = other_account().account;
    store
        .init_meta(&[
            ("root_key", b"sealed root key".to_vec()),
            ("account", me.as_str().as_bytes().to_vec()),
            ("mode", b"production".to_vec()),
        ])
        .unwrap();

    // KMS keys: a rotated one with an alias, one per scope.
    let mut default_key = kms_key(&home(), "key-home", Some("alias/aws/secretsmanager"));
    default_key
        .versions
        .push((2, b"wrapped key-home v2".to_vec()));
    store.put_kms_key(&default_key).unwrap();
    store
        .put_kms_key(&kms_key(
            &other_region(),
            "key-eu",
            Some("alias/aws/secretsmanager"),
        ))
        .unwrap();
    store
        .put_kms_key(&kms_key(&home(), "key-plain", None))
        .unwrap();
    // A customer key with everything KMS management keeps: state, policy, tags, rotation, an
    // on-demand version, two aliases.
    let mut meta = KmsKeyMeta::customer("{\"Statement\":[]}".to_owned());
    meta.state = KmsKeyState::PendingDeletion;
    meta.deletion_date = Some(Timestamp(T0.0 + 86_400_000));
    meta.tags = vec![tag("team", "core")];
    meta.rotation_enabled = true;
    meta.rotation_period_days = 180;
    meta.next_rotation = Some(Timestamp(T0.0 + 180 * 86_400_000));
    store
        .create_kms_key(&kms_key(&home(), "key-customer", None), &meta)
        .unwrap();
    store
        .add_kms_key_version(
            &home(),
            "key-customer",
            &KmsKeyVersionInfo {
                version: 2,
                created: Timestamp(T0.0 + 5),
                origin: KeyVersionOrigin::OnDemand,
            },
            b"wrapped key-customer v2",
        )
        .unwrap();
    for name in ["alias/app", "alias/app-old"] {
        store
            .create_kms_alias(&KmsAliasRecord {
                scope: home(),
                name: name.to_owned(),
                key_id: "key-customer".to_owned(),
                created: T0,
                updated: Timestamp(T0.0 + 7),
            })
            .unwrap();
    }

    // Identities.
    let mut alice = user(&me, "Alice");
    alice.tags = vec![tag("team", "core"), tag("env", "prod")];
    alice.path = "/engineering/".to_owned();
    store.create_user(&alice).unwrap();
    store.create_user(&user(&me, "bob")).unwrap();
    store.create_user(&user(&them, "carol")).unwrap();
    let mut deployer = role(&me, "Deployer");
    deployer.description = Some("deploys".to_owned());
    deployer.max_session_duration = 7200;
    deployer.tags = vec![tag("k", "v")];
    store.create_role(&deployer).unwrap();
    store.create_role(&role(&them, "auditor")).unwrap();

    let mut readers = managed_policy(&me, "Readers");
    readers.description = Some("read secrets".to_owned());
    store.create_managed_policy(&readers).unwrap();
    store
        .add_policy_version(
            &readers.arn,
            &policy_version("v2", "Readers:v2", T0.plus_seconds(60)),
            true,
        )
        .unwrap();
    store
        .add_policy_version(
            &readers.arn,
            &policy_version("v3", "Readers:v3", T0.plus_seconds(120)),
            false,
        )
        .unwrap();
    store
        .create_managed_policy(&managed_policy(&them, "Theirs"))
        .unwrap();

    let alice_p = principal(&me, PrincipalKind::User, "Alice");
    let deployer_p = principal(&me, PrincipalKind::Role, "Deployer");
    let carol_p = principal(&them, PrincipalKind::User, "carol");
    store
        .put_inline_policy(&alice_p, "own", &document("secretsmanager:*"))
        .unwrap();
    store
        .put_inline_policy(&alice_p, "extra", &document("iam:Get*"))
        .unwrap();
    store
        .put_inline_policy(&deployer_p, "deploy", &document("sts:*"))
        .unwrap();
    store.attach_policy(&alice_p, &readers.arn).unwrap();
    store.attach_policy(&deployer_p, &readers.arn).unwrap();
    store
        .attach_policy(&carol_p, &policy_arn(&them, "Theirs"))
        .unwrap();

    // Access keys: the root's, a user's (inactive), another account's, and a session.
    store
        .put_access_key(&access_key("AKIAROOT000000000001", "111111111111", None))
        .unwrap();
    store
        .put_access_key(&access_key(
            "AKIAALICE00000000001",
            "111111111111",
            Some("Alice"),
        ))
        .unwrap();
    store
        .set_access_key_status("AKIAALICE00000000001", AccessKeyStatus::Inactive)
        .unwrap();
    store
        .put_access_key(&access_key(
            "AKIACAROL00000000001",
            "222222222222",
            Some("carol"),
        ))
        .unwrap();
    let mut sess = session(&deployer, "ci-run", T0.plus_seconds(3600));
    sess.session_policy = Some(document("secretsmanager:GetSecretValue"));
    store
        .put_session_key(
            &session_key("ASIASESSION000000001", &deployer, "ci-run"),
            &sess,
        )
        .unwrap();

    // Secrets in two scopes: several versions with stages, a deprecated one, an accessed one,
    // tags and a policy, one without versions, and one scheduled for deletion.
    let app = create_with_version(store, &home(), "app");
    update(store, &app.arn, |txn| {
        set_stages(txn, "v1", &["AWSPREVIOUS"]);
        txn.add_version(version("v2", &["AWSCURRENT", "blue"]), envelope("v2"));
        txn.record.description = Some("the app".to_owned());
        txn.record.tags = vec![Tag {
            key: "owner".to_owned(),
            value: "me".to_owned(),
        }];
        txn.record.resource_policy = Some(document("secretsmanager:GetSecretValue"));
        txn.record.rotation = Some(r#"{"days":30}"#.to_owned());
        txn.record.replication = Some(r#"{"primary":{"replicas":[]}}"#.to_owned());
        txn.record.kms_key_id = Some("key-home".to_owned());
        txn.record.last_changed = T0.plus_seconds(10);
    });
    update(store, &app.arn, |txn| {
        set_stages(txn, "v1", &[]);
        set_stages(txn, "v2", &["AWSPREVIOUS"]);
        txn.add_version(version("v3", &["AWSCURRENT", "AWSPENDING"]), envelope("v3"));
    });
    store
        .touch_secret(&app.arn, "v3", Timestamp(1_700_006_400_000))
        .unwrap();
    create_with_version(store, &other_region(), "app");
    create_with_version(store, &other_account(), "theirs");
    store
        .create_secret(&bare_secret(&home(), "empty"), None)
        .unwrap();
    let gone = create_with_version(store, &home(), "gone");
    update(store, &gone.arn, |txn| {
        txn.record.deletion = Some(Deletion {
            deleted_date: T0.plus_seconds(5),
            purge_after: T0.plus_seconds(5 + 7 * 86_400),
        });
    });
    let mut big = bare_secret(&home(), "binary");
    big.versions.push(version("b1", &["AWSCURRENT"]));
    store
        .create_secret(
            &big,
            Some(&SealedVersion {
                version_id: "b1".to_owned(),
                envelope: (0..=255u8).cycle().take(70_000).collect(),
            }),
        )
        .unwrap();

    // The audit trail (two batches, one record of another account) and checkpoints.
    let first = audit_batch("t", None, 3, |_| {});
    store.append_audit(&first).unwrap();
    store
        .put_checkpoint(&CheckpointRow {
            seq: 3,
            hash: audit_hash("t", 3),
            time: T0.plus_seconds(3),
            signature: b"signature 3".to_vec(),
        })
        .unwrap();
    let head = store.audit_head().unwrap();
    let second = audit_batch("t", head, 1200, |row| {
        if row.seq == 7 {
            row.account = Some(other_account().account);
            row.read_only = false;
            row.username = None;
            row.access_key_id = None;
            row.resources = Vec::new();
        }
    });
    store.append_audit(&second).unwrap();
    store
        .put_checkpoint(&CheckpointRow {
            seq: 1203,
            hash: audit_hash("t", 1203),
            time: T0.plus_seconds(1203),
            signature: b"signature 1203".to_vec(),
        })
        .unwrap();

    fill_gateway_for_transfer(store);
    fill_rotation_for_transfer(store);
}

/// Everything `a` holds reads back the same from `b`, through the ordinary trait methods.
pub fn assert_same_contents<A: Transfer, B: Transfer>(a: &A, b: &B) {
    assert_eq!(a.all_meta().unwrap(), b.all_meta().unwrap());
    for (key, value) in a.all_meta().unwrap() {
        assert_eq!(b.get_meta(&key).unwrap(), Some(value));
    }
    assert_eq!(a.access_key_ids().unwrap(), b.access_key_ids().unwrap());
    assert_eq!(a.all_access_keys().unwrap(), b.all_access_keys().unwrap());
    assert_eq!(a.all_sessions().unwrap(), b.all_sessions().unwrap());
    assert_eq!(a.kms_key_ids().unwrap(), b.kms_key_ids().unwrap());
    for key in a.all_kms_keys().unwrap() {
        assert_eq!(
            b.get_kms_key(&key.scope, &key.key_id).unwrap().as_ref(),
            Some(&key)
        );
        if let Some(alias) = &key.alias {
            assert_eq!(
                b.get_kms_key_by_alias(&key.scope, alias).unwrap().as_ref(),
                Some(&key)
            );
        }
        assert_eq!(
            b.get_kms_key_meta(&key.scope, &key.key_id).unwrap(),
            a.get_kms_key_meta(&key.scope, &key.key_id).unwrap()
        );
        assert_eq!(
            b.kms_key_versions(&key.scope, &key.key_id).unwrap(),
            a.kms_key_versions(&key.scope, &key.key_id).unwrap()
        );
        assert_eq!(
            b.list_kms_aliases(&key.scope, Some(&key.key_id), None, 100)
                .unwrap(),
            a.list_kms_aliases(&key.scope, Some(&key.key_id), None, 100)
                .unwrap()
        );
    }
    assert_eq!(a.secret_arns().unwrap(), b.secret_arns().unwrap());
    let mut scopes = Vec::new();
    a.for_each_secret(&mut |record, sealed| {
        assert_eq!(
            b.find_secret_by_arn(&record.arn).unwrap().as_ref(),
            Some(&record)
        );
        assert_eq!(
            b.find_secret_by_name(&record.scope, &record.name)
                .unwrap()
                .as_ref(),
            Some(&record)
        );
        for s in &sealed {
            assert_eq!(
                b.read_envelope(&record.arn, &s.version_id)
                    .unwrap()
                    .as_ref(),
                Some(&s.envelope)
            );
        }
        if !scopes.contains(&record.scope) {
            scopes.push(record.scope.clone());
        }
        Ok(())
    })
    .unwrap();
    for scope in &scopes {
        assert_eq!(
            a.list_secrets(scope, None, 1000).unwrap(),
            b.list_secrets(scope, None, 1000).unwrap()
        );
    }
    let now = T0.plus_seconds(30 * 86_400);
    assert_eq!(
        a.expired_deletions(now).unwrap(),
        b.expired_deletions(now).unwrap()
    );

    assert_eq!(
        a.identity_accounts().unwrap(),
        b.identity_accounts().unwrap()
    );
    assert_eq!(a.all_users().unwrap(), b.all_users().unwrap());
    assert_eq!(a.all_roles().unwrap(), b.all_roles().unwrap());
    assert_eq!(
        a.all_managed_policies().unwrap(),
        b.all_managed_policies().unwrap()
    );
    for policy in a.all_managed_policies().unwrap() {
        assert_eq!(
            a.managed_policy_attachment_count(&policy.arn).unwrap(),
            b.managed_policy_attachment_count(&policy.arn).unwrap()
        );
    }
    assert_eq!(
        a.all_inline_policies().unwrap(),
        b.all_inline_policies().unwrap()
    );
    assert_eq!(a.all_attachments().unwrap(), b.all_attachments().unwrap());
    for owner in a.all_principals().unwrap() {
        assert_eq!(
            a.principal_policies(&owner).unwrap(),
            b.principal_policies(&owner).unwrap()
        );
    }
    for user in a.all_users().unwrap() {
        assert_eq!(
            a.list_user_access_keys(&user.account, &user.user_name)
                .unwrap(),
            b.list_user_access_keys(&user.account, &user.user_name)
                .unwrap()
        );
    }

    assert_eq!(a.audit_head().unwrap(), b.audit_head().unwrap());
    let mut next = 1;
    loop {
        let rows = a.read_audit(next, 400).unwrap();
        assert_eq!(b.read_audit(next, 400).unwrap(), rows);
        let Some(last) = rows.last() else { break };
        next = last.seq + 1;
    }
    for account in [acct(), other_account().account] {
        let query = crate::AuditQuery {
            limit: 50,
            ..crate::AuditQuery::default()
        };
        assert_eq!(
            a.lookup_audit(&account, &query).unwrap(),
            b.lookup_audit(&account, &query).unwrap()
        );
    }
    assert_eq!(a.list_checkpoints().unwrap(), b.list_checkpoints().unwrap());

    assert_same_gateway_contents(a, b);
    assert_same_rotation_contents(a, b);
}

/// Fill `from`, copy it into the empty `to`, and read everything back the same; the counts
/// say what was copied; a later append continues the moved chain.
pub fn transfer_round_trip<F: Transfer, T: Transfer>(from: &F, to: &T) {
    fill_for_transfer(from);
    assert!(!from.is_empty().unwrap());
    assert!(to.is_empty().unwrap());
    let mut seen = Vec::new();
    let counts = transfer(from, to, &mut |p| seen.push(p)).unwrap();
    assert_same_contents(from, to);

    assert_eq!(counts.meta, 3);
    assert_eq!(counts.kms_keys, 4);
    assert_eq!(counts.users, 3);
    assert_eq!(counts.roles, 2);
    assert_eq!(counts.managed_policies, 2);
    assert_eq!(counts.policy_versions, 4);
    assert_eq!(counts.inline_policies, 3);
    assert_eq!(counts.attachments, 3);
    assert_eq!(counts.access_keys, 4);
    assert_eq!(counts.sessions, 1);
    assert_eq!(counts.secrets, 6);
    assert_eq!(counts.secret_versions, 7);
    assert_eq!(counts.audit_records, 1203);
    assert_eq!(counts.checkpoints, 2);
    assert_eq!(
        (
            counts.gateway_routes,
            counts.gateway_keys,
            counts.gateway_prices,
            counts.gateway_ledgers
        ),
        GATEWAY_COUNTS
    );
    assert_eq!(counts.gateway_budgets, 1);
    assert_eq!((counts.rotators, counts.rotator_logs), ROTATION_COUNTS);
    // Progress: every kind starts at 0 and ends at its total.
    for (kind, total) in [
        ("secrets", 6),
        ("gateway keys", 3),
        ("gateway budget ledgers", 4),
        ("rotators", 3),
        // One log per rotator ARN with entries: three rotators and a deleted one.
        ("rotator logs", 4),
        ("audit records", 1203),
    ] {
        assert!(seen
            .iter()
            .any(|p| p.kind == kind && p.done == 0 && p.total == total));
        assert!(seen
            .iter()
            .any(|p| p.kind == kind && p.done == total && p.total == total));
    }

    // The copied trail is indexed for lookups already.
    assert_eq!(to.index_audit(usize::MAX).unwrap(), 0);
    // The moved chain goes on where it stopped.
    let head = to.audit_head().unwrap();
    assert_eq!(head, Some((1203, audit_hash("t", 1203))));
    to.append_audit(&audit_batch("t", head, 2, |_| {})).unwrap();
    // The source is untouched by the copy.
    assert_eq!(
        from.audit_head().unwrap(),
        Some((1203, audit_hash("t", 1203)))
    );
    // Budgets did not reset; holds, rate windows and settled markers stayed behind.
    assert_gateway_moved(from, to);
    assert_rotation_moved(from, to);
}

/// A target that holds anything is refused, and stays as it was.
pub fn transfer_refuses_a_non_empty_target<F: Transfer, T: Transfer>(from: &F, to: &T) {
    fill_for_transfer(from);
    // Only one audit record in the target: still not empty.
    to.append_audit(&audit_batch("other", None, 1, |_| {}))
        .unwrap();
    let r = transfer(from, to, &mut |_| {});
    assert!(matches!(r, Err(TransferError::TargetNotEmpty)), "{r:?}");
    assert_eq!(to.audit_head().unwrap(), Some((1, audit_hash("other", 1))));
    assert!(to.all_meta().unwrap().is_empty());
    assert!(to.secret_arns().unwrap().is_empty());
    assert!(to.access_key_ids().unwrap().is_empty());
}
