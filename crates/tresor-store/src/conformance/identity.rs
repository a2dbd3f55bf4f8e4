//! Identities, their policies and sessions ([`IdentityStore`]).

use tresor_types::Timestamp;

use crate::{AccessKeyStatus, IdentityStore, PrincipalKind, PrincipalPolicies, Store, StoreError};

use super::fixtures::*;

fn assert_err<T: std::fmt::Debug>(r: crate::Result<T>, expected: fn(&StoreError) -> bool) {
    match r {
        Err(e) if expected(&e) => {}
        other => panic!("unexpected outcome: {other:?}"),
    }
}

fn conflict(e: &StoreError) -> bool {
    matches!(e, StoreError::Conflict)
}

fn not_found(e: &StoreError) -> bool {
    matches!(e, StoreError::NotFound(_))
}

// ---- users ----

/// Users round-trip with every field, are found by name case-insensitively (with the name as
/// created), are listed by name per account, and have their tags replaced as a whole.
pub fn users_round_trip<S: Store + IdentityStore>(store: &S) {
    let mut alice = user(&acct(), "alice");
    alice.path = "/engineering/".to_owned();
    alice.arn = format!("arn:aws:iam::{}:user/engineering/alice", acct());
    alice.tags = vec![tag("team", "payments"), tag("empty", "")];
    alice.created = Timestamp(T0.0 + 7);
    let bob = user(&acct(), "Bob");
    let carol = user(&acct(), "carol");
    let elsewhere = user(&account("222222222222"), "dave");
    for u in [&carol, &alice, &bob, &elsewhere] {
        store.create_user(u).unwrap();
    }

    assert_eq!(
        store.get_user(&acct(), "alice").unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store.get_user(&acct(), "ALICE").unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.get_user(&acct(), "bob").unwrap(), Some(bob.clone()));
    assert_eq!(store.get_user(&acct(), "missing").unwrap(), None);
    assert_eq!(store.get_user(&acct(), "dave").unwrap(), None);
    assert_eq!(
        store.get_user(&elsewhere.account, "dave").unwrap(),
        Some(elsewhere.clone())
    );

    // Ordered by name, bytewise: "Bob" < "alice" < "carol".
    assert_eq!(
        store.list_users(&acct()).unwrap(),
        vec![bob.clone(), alice.clone(), carol.clone()]
    );
    assert_eq!(
        store.list_users(&elsewhere.account).unwrap(),
        vec![elsewhere]
    );
    assert_eq!(store.list_users(&account("333333333333")).unwrap(), vec![]);

    let tags = vec![tag("env", "prod")];
    store.set_user_tags(&acct(), "Alice", &tags).unwrap();
    let found = store.get_user(&acct(), "alice").unwrap().unwrap();
    assert_eq!(found.tags, tags);
    assert_eq!(
        found,
        crate::UserRecord {
            tags: tags.clone(),
            ..alice
        }
    );
    store.set_user_tags(&acct(), "alice", &[]).unwrap();
    assert_eq!(
        store.get_user(&acct(), "alice").unwrap().unwrap().tags,
        vec![]
    );
    assert_err(store.set_user_tags(&acct(), "missing", &tags), not_found);
}

/// A user name is taken case-insensitively within an account (and a user id or ARN once).
pub fn user_names_are_unique_case_insensitively<S: Store + IdentityStore>(store: &S) {
    let original = user(&acct(), "Alice");
    store.create_user(&original).unwrap();

    let mut same_name = user(&acct(), "aLiCe");
    same_name.user_id = "AIDAOTHER".to_owned();
    same_name.tags = vec![tag("k", "v")];
    assert_err(store.create_user(&same_name), conflict);

    let mut same_id = user(&acct(), "other");
    same_id.user_id = original.user_id.clone();
    assert_err(store.create_user(&same_id), conflict);

    assert_eq!(store.list_users(&acct()).unwrap(), vec![original.clone()]);
    assert_eq!(store.get_user(&acct(), "alice").unwrap(), Some(original));

    // The same name in another account is another user.
    store
        .create_user(&user(&account("222222222222"), "alice"))
        .unwrap();
}

/// A user's long-term keys: listed oldest first (matched to the user case-insensitively, not
/// the root's, not another user's, not sessions'), status changes, deletion.
pub fn user_access_keys_list_status_delete<S: Store + IdentityStore>(store: &S) {
    store.create_user(&user(&acct(), "alice")).unwrap();
    store.create_user(&user(&acct(), "bob")).unwrap();
    let mut newer = access_key("AKIAALICE00000000001", "111111111111", Some("alice"));
    newer.created = Timestamp(T0.0 + 10);
    let mut older = access_key("AKIAALICE00000000002", "111111111111", Some("ALICE"));
    older.created = Timestamp(T0.0 + 5);
    let bobs = access_key("AKIABOB0000000000001", "111111111111", Some("bob"));
    let root = access_key("AKIAROOT000000000001", "111111111111", None);
    let other_account = access_key("AKIAALICE00000000003", "222222222222", Some("alice"));
    for k in [&newer, &older, &bobs, &root, &other_account] {
        store.put_access_key(k).unwrap();
    }

    assert_eq!(
        store.list_user_access_keys(&acct(), "alice").unwrap(),
        vec![older.clone(), newer.clone()]
    );
    assert_eq!(
        store.list_user_access_keys(&acct(), "Alice").unwrap(),
        vec![older.clone(), newer.clone()]
    );
    assert_eq!(
        store.list_user_access_keys(&acct(), "bob").unwrap(),
        vec![bobs]
    );
    assert_err(store.list_user_access_keys(&acct(), "missing"), not_found);

    store
        .set_access_key_status(&newer.access_key_id, AccessKeyStatus::Inactive)
        .unwrap();
    let found = store.get_access_key(&newer.access_key_id).unwrap().unwrap();
    assert_eq!(found.status, AccessKeyStatus::Inactive);
    store
        .set_access_key_status(&newer.access_key_id, AccessKeyStatus::Active)
        .unwrap();
    assert_eq!(
        store.get_access_key(&newer.access_key_id).unwrap(),
        Some(newer.clone())
    );
    assert_err(
        store.set_access_key_status("AKIAMISSING000000001", AccessKeyStatus::Inactive),
        not_found,
    );

    store.delete_access_key(&older.access_key_id).unwrap();
    assert_eq!(store.get_access_key(&older.access_key_id).unwrap(), None);
    assert_eq!(
        store.list_user_access_keys(&acct(), "alice").unwrap(),
        vec![newer]
    );
    assert_err(store.delete_access_key(&older.access_key_id), not_found);
    // The root's key is deleted the same way.
    store.delete_access_key(&root.access_key_id).unwrap();
    assert_eq!(store.get_access_key(&root.access_key_id).unwrap(), None);
}

/// IAM's `DeleteConflict`: a user with access keys, inline policies or attached policies stays.
pub fn delete_user_conflicts_while_in_use<S: Store + IdentityStore>(store: &S) {
    let alice = user(&acct(), "alice");
    store.create_user(&alice).unwrap();
    let me = principal(&acct(), PrincipalKind::User, "alice");

    let key = access_key("AKIAALICE00000000001", "111111111111", Some("Alice"));
    store.put_access_key(&key).unwrap();
    assert_err(store.delete_user(&acct(), "alice"), conflict);
    // Two of them (IAM allows two keys a user) are the same conflict, not a failure.
    let second = access_key("AKIAALICE00000000002", "111111111111", Some("alice"));
    store.put_access_key(&second).unwrap();
    assert_err(store.delete_user(&acct(), "alice"), conflict);
    store.delete_access_key(&second.access_key_id).unwrap();
    store.delete_access_key(&key.access_key_id).unwrap();

    store
        .put_inline_policy(&me, "inline", &document("s3:*"))
        .unwrap();
    assert_err(store.delete_user(&acct(), "alice"), conflict);
    store
        .put_inline_policy(&me, "another", &document("s3:*"))
        .unwrap();
    assert_err(store.delete_user(&acct(), "alice"), conflict);
    store.delete_inline_policy(&me, "another").unwrap();
    store.delete_inline_policy(&me, "inline").unwrap();

    let policy = managed_policy(&acct(), "ReadSecrets");
    store.create_managed_policy(&policy).unwrap();
    store.attach_policy(&me, &policy.arn).unwrap();
    assert_err(store.delete_user(&acct(), "alice"), conflict);
    assert_eq!(store.get_user(&acct(), "alice").unwrap(), Some(alice));
    store.detach_policy(&me, &policy.arn).unwrap();

    store.delete_user(&acct(), "ALICE").unwrap();
    assert_eq!(store.get_user(&acct(), "alice").unwrap(), None);
    assert_eq!(store.list_users(&acct()).unwrap(), vec![]);
    assert_err(store.delete_user(&acct(), "alice"), not_found);

    // The name is free again, for a new user.
    let mut again = user(&acct(), "alice");
    again.user_id = "AIDANEWALICE".to_owned();
    store.create_user(&again).unwrap();
    assert_eq!(
        store.list_inline_policies(&me).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        store.list_attached_policies(&me).unwrap(),
        Vec::<String>::new()
    );
}

// ---- sessions ----

/// A session's key and record are stored together, read back, purged once expired, and go
/// with their key when it is deleted.
pub fn sessions_round_trip_purge_and_cascade<S: Store + IdentityStore>(store: &S) {
    let deployer = role(&acct(), "deployer");
    store.create_role(&deployer).unwrap();
    let early = Timestamp(T0.0 + 1_000);
    let late = Timestamp(T0.0 + 2_000);

    let key_a = session_key("ASIAA000000000000001", &deployer, "a");
    let mut session_a = session(&deployer, "a", early);
    session_a.session_policy = Some(document("secretsmanager:GetSecretValue"));
    let key_b = session_key("ASIAB000000000000001", &deployer, "b");
    let session_b = session(&deployer, "b", late);
    let key_c = session_key("ASIAC000000000000001", &deployer, "c");
    let session_c = session(&deployer, "c", late);
    store.put_session_key(&key_a, &session_a).unwrap();
    store.put_session_key(&key_b, &session_b).unwrap();
    store.put_session_key(&key_c, &session_c).unwrap();

    assert_eq!(
        store.get_access_key(&key_a.access_key_id).unwrap(),
        Some(key_a.clone())
    );
    assert_eq!(
        store.get_session(&key_a.access_key_id).unwrap(),
        Some(session_a.clone())
    );
    assert_eq!(
        store.get_session(&key_b.access_key_id).unwrap(),
        Some(session_b.clone())
    );
    assert_eq!(store.get_session("ASIAMISSING000000001").unwrap(), None);

    // A long-term key has no session; a taken key id refuses the whole insert.
    let long_term = access_key("AKIAROOT000000000001", "111111111111", None);
    store.put_access_key(&long_term).unwrap();
    assert_eq!(store.get_session(&long_term.access_key_id).unwrap(), None);
    let mut clash = session_key(&long_term.access_key_id, &deployer, "clash");
    clash.sealed_secret = b"other".to_vec();
    assert_err(
        store.put_session_key(&clash, &session(&deployer, "clash", late)),
        conflict,
    );
    assert_eq!(store.get_session(&long_term.access_key_id).unwrap(), None);
    assert_eq!(
        store.get_access_key(&long_term.access_key_id).unwrap(),
        Some(long_term.clone())
    );
    let again = store.put_session_key(&key_a, &session(&deployer, "again", late));
    assert_err(again, conflict);
    assert_eq!(
        store.get_session(&key_a.access_key_id).unwrap(),
        Some(session_a)
    );

    // Nothing has expired before `early`; at `early` (inclusive) only `a` has.
    assert_eq!(
        store
            .purge_expired_sessions(Timestamp(early.0 - 1))
            .unwrap(),
        0
    );
    assert_eq!(store.purge_expired_sessions(early).unwrap(), 1);
    assert_eq!(store.get_access_key(&key_a.access_key_id).unwrap(), None);
    assert_eq!(store.get_session(&key_a.access_key_id).unwrap(), None);
    assert_eq!(
        store.get_session(&key_b.access_key_id).unwrap(),
        Some(session_b)
    );

    // Deleting a session's key takes the session with it.
    store.delete_access_key(&key_b.access_key_id).unwrap();
    assert_eq!(store.get_access_key(&key_b.access_key_id).unwrap(), None);
    assert_eq!(store.get_session(&key_b.access_key_id).unwrap(), None);

    assert_eq!(
        store.purge_expired_sessions(Timestamp(late.0 + 1)).unwrap(),
        1
    );
    assert_eq!(store.get_access_key(&key_c.access_key_id).unwrap(), None);
    assert_eq!(store.get_session(&key_c.access_key_id).unwrap(), None);
    // Long-term keys never expire this way.
    assert_eq!(
        store.purge_expired_sessions(Timestamp(i64::MAX)).unwrap(),
        0
    );
    assert_eq!(
        store.get_access_key(&long_term.access_key_id).unwrap(),
        Some(long_term)
    );
}

/// A session key is not one of a user's access keys, even if it names the user.
pub fn session_keys_are_not_user_keys<S: Store + IdentityStore>(store: &S) {
    store.create_user(&user(&acct(), "alice")).unwrap();
    let deployer = role(&acct(), "deployer");
    store.create_role(&deployer).unwrap();
    let long_term = access_key("AKIAALICE00000000001", "111111111111", Some("alice"));
    store.put_access_key(&long_term).unwrap();
    let mut temporary = session_key("ASIAALICE00000000001", &deployer, "alice");
    temporary.user_name = Some("alice".to_owned());
    store
        .put_session_key(&temporary, &session(&deployer, "alice", T0))
        .unwrap();
    assert_eq!(
        store.list_user_access_keys(&acct(), "alice").unwrap(),
        vec![long_term]
    );
}

// ---- roles ----

/// Roles round-trip, are unique and found case-insensitively, have their trust policy
/// replaced, and are deleted only once they have no policies.
pub fn roles_round_trip<S: Store + IdentityStore>(store: &S) {
    let mut deployer = role(&acct(), "Deployer");
    deployer.description = Some("deploys things".to_owned());
    deployer.path = "/ci/".to_owned();
    deployer.arn = format!("arn:aws:iam::{}:role/ci/Deployer", acct());
    deployer.max_session_duration = 43_200;
    deployer.tags = vec![tag("team", "platform")];
    let auditor = role(&acct(), "auditor");
    let elsewhere = role(&account("222222222222"), "deployer");
    for r in [&auditor, &deployer, &elsewhere] {
        store.create_role(r).unwrap();
    }

    assert_eq!(
        store.get_role(&acct(), "deployer").unwrap(),
        Some(deployer.clone())
    );
    assert_eq!(
        store.get_role(&acct(), "Deployer").unwrap(),
        Some(deployer.clone())
    );
    assert_eq!(store.get_role(&acct(), "missing").unwrap(), None);
    assert_eq!(
        store.list_roles(&acct()).unwrap(),
        vec![deployer.clone(), auditor.clone()]
    );
    assert_eq!(
        store.list_roles(&elsewhere.account).unwrap(),
        vec![elsewhere]
    );

    let mut clash = role(&acct(), "DEPLOYER");
    clash.role_id = "AROAOTHER".to_owned();
    assert_err(store.create_role(&clash), conflict);
    let mut same_id = role(&acct(), "other");
    same_id.role_id = auditor.role_id.clone();
    assert_err(store.create_role(&same_id), conflict);
    assert_eq!(store.list_roles(&acct()).unwrap().len(), 2);

    let trust = trust_policy("arn:aws:iam::111111111111:user/alice");
    store
        .update_role_trust_policy(&acct(), "DEPLOYER", &trust)
        .unwrap();
    let found = store.get_role(&acct(), "deployer").unwrap().unwrap();
    assert_eq!(found.assume_role_policy, trust);
    assert_eq!(
        found,
        crate::RoleRecord {
            assume_role_policy: trust.clone(),
            ..deployer
        }
    );
    assert_err(
        store.update_role_trust_policy(&acct(), "missing", &trust),
        not_found,
    );

    let me = principal(&acct(), PrincipalKind::Role, "deployer");
    store
        .put_inline_policy(&me, "inline", &document("kms:*"))
        .unwrap();
    assert_err(store.delete_role(&acct(), "deployer"), conflict);
    store.delete_inline_policy(&me, "inline").unwrap();
    let policy = managed_policy(&acct(), "Deploy");
    store.create_managed_policy(&policy).unwrap();
    store.attach_policy(&me, &policy.arn).unwrap();
    assert_err(store.delete_role(&acct(), "deployer"), conflict);
    assert!(store.get_role(&acct(), "deployer").unwrap().is_some());
    store.detach_policy(&me, &policy.arn).unwrap();

    store.delete_role(&acct(), "deployer").unwrap();
    assert_eq!(store.get_role(&acct(), "deployer").unwrap(), None);
    assert_eq!(store.list_roles(&acct()).unwrap(), vec![auditor]);
    assert_err(store.delete_role(&acct(), "deployer"), not_found);
}

// ---- inline policies ----

/// Inline policies of users and roles: put creates or replaces, get/list/delete, per principal
/// (a user and a role of the same name do not share policies), principals case-insensitively.
pub fn inline_policies_of_users_and_roles<S: Store + IdentityStore>(store: &S) {
    store.create_user(&user(&acct(), "ops")).unwrap();
    store.create_role(&role(&acct(), "ops")).unwrap();
    let as_user = principal(&acct(), PrincipalKind::User, "ops");
    let as_role = principal(&acct(), PrincipalKind::Role, "ops");

    store
        .put_inline_policy(&as_user, "b-policy", &document("b"))
        .unwrap();
    store
        .put_inline_policy(&as_user, "a-policy", &document("a"))
        .unwrap();
    store
        .put_inline_policy(&as_role, "a-policy", &document("role a"))
        .unwrap();
    // Replace.
    store
        .put_inline_policy(
            &principal(&acct(), PrincipalKind::User, "OPS"),
            "a-policy",
            &document("a2"),
        )
        .unwrap();

    assert_eq!(
        store.get_inline_policy(&as_user, "a-policy").unwrap(),
        Some(document("a2"))
    );
    assert_eq!(
        store.get_inline_policy(&as_role, "a-policy").unwrap(),
        Some(document("role a"))
    );
    assert_eq!(store.get_inline_policy(&as_user, "A-POLICY").unwrap(), None);
    assert_eq!(store.get_inline_policy(&as_role, "b-policy").unwrap(), None);
    assert_eq!(
        store.list_inline_policies(&as_user).unwrap(),
        vec!["a-policy".to_owned(), "b-policy".to_owned()]
    );
    assert_eq!(
        store.list_inline_policies(&as_role).unwrap(),
        vec!["a-policy".to_owned()]
    );

    store.delete_inline_policy(&as_user, "a-policy").unwrap();
    assert_eq!(store.get_inline_policy(&as_user, "a-policy").unwrap(), None);
    assert_eq!(
        store.list_inline_policies(&as_user).unwrap(),
        vec!["b-policy".to_owned()]
    );
    assert_eq!(
        store.get_inline_policy(&as_role, "a-policy").unwrap(),
        Some(document("role a"))
    );
    assert_err(store.delete_inline_policy(&as_user, "a-policy"), not_found);

    // Missing principals (and groups, which are not stored).
    let ghost = principal(&acct(), PrincipalKind::User, "ghost");
    let other_account = principal(&account("222222222222"), PrincipalKind::User, "ops");
    let group = principal(&acct(), PrincipalKind::Group, "ops");
    for missing in [&ghost, &other_account, &group] {
        assert_err(
            store.put_inline_policy(missing, "p", &document("x")),
            not_found,
        );
        assert_err(store.list_inline_policies(missing), not_found);
        assert_eq!(store.get_inline_policy(missing, "b-policy").unwrap(), None);
        assert_err(store.delete_inline_policy(missing, "b-policy"), not_found);
    }
}

// ---- managed policies ----

/// Managed policies round-trip with their versions, are listed per account by name, are unique
/// by name (case-insensitively), ARN and id, and gain, switch and lose versions.
pub fn managed_policies_and_versions<S: Store + IdentityStore>(store: &S) {
    let mut read = managed_policy(&acct(), "ReadSecrets");
    read.path = "/app/".to_owned();
    read.arn = format!("arn:aws:iam::{}:policy/app/ReadSecrets", acct());
    read.description = Some("read the app's secrets".to_owned());
    read.versions
        .push(policy_version("v2", "read:v2", Timestamp(T0.0 + 1)));
    read.default_version_id = "v2".to_owned();
    read.updated = Timestamp(T0.0 + 1);
    let admin = managed_policy(&acct(), "Admin");
    let elsewhere = managed_policy(&account("222222222222"), "ReadSecrets");
    for p in [&read, &admin, &elsewhere] {
        store.create_managed_policy(p).unwrap();
    }

    let found = store.get_managed_policy(&read.arn).unwrap().unwrap();
    assert_eq!(found, read);
    assert_eq!(found.default_document(), Some(document("read:v2").as_str()));
    assert_eq!(
        store
            .get_managed_policy(&policy_arn(&acct(), "missing"))
            .unwrap(),
        None
    );
    assert_eq!(
        store.list_managed_policies(&acct()).unwrap(),
        vec![admin.clone(), read.clone()]
    );
    assert_eq!(
        store.list_managed_policies(&elsewhere.account).unwrap(),
        vec![elsewhere]
    );

    let mut same_name = managed_policy(&acct(), "readsecrets");
    same_name.policy_id = "ANPAOTHER".to_owned();
    assert_err(store.create_managed_policy(&same_name), conflict);
    let mut same_arn = managed_policy(&acct(), "Other");
    same_arn.arn = admin.arn.clone();
    assert_err(store.create_managed_policy(&same_arn), conflict);
    let mut same_id = managed_policy(&acct(), "Other");
    same_id.policy_id = admin.policy_id.clone();
    assert_err(store.create_managed_policy(&same_id), conflict);
    assert_eq!(store.list_managed_policies(&acct()).unwrap().len(), 2);

    // A record whose default is not among its versions is a caller bug.
    let mut broken = managed_policy(&acct(), "Broken");
    broken.default_version_id = "v9".to_owned();
    assert_err(store.create_managed_policy(&broken), |e| {
        matches!(e, StoreError::Backend(_))
    });
    assert_eq!(store.get_managed_policy(&broken.arn).unwrap(), None);

    // Versions: add (not default, then default), switch the default, delete.
    let v3 = policy_version("v3", "read:v3", Timestamp(T0.0 + 3));
    store.add_policy_version(&read.arn, &v3, false).unwrap();
    let found = store.get_managed_policy(&read.arn).unwrap().unwrap();
    assert_eq!(found.default_version_id, "v2");
    assert_eq!(found.updated, Timestamp(T0.0 + 3));
    assert_eq!(found.versions.last(), Some(&v3));
    let v4 = policy_version("v4", "read:v4", Timestamp(T0.0 + 4));
    store.add_policy_version(&read.arn, &v4, true).unwrap();
    let found = store.get_managed_policy(&read.arn).unwrap().unwrap();
    assert_eq!(found.default_version_id, "v4");
    assert_eq!(found.default_document(), Some(document("read:v4").as_str()));
    let ids: Vec<&str> = found
        .versions
        .iter()
        .map(|v| v.version_id.as_str())
        .collect();
    assert_eq!(ids, ["v1", "v2", "v3", "v4"]);
    assert_err(store.add_policy_version(&read.arn, &v3, false), conflict);
    assert_err(
        store.add_policy_version(&policy_arn(&acct(), "missing"), &v3, false),
        not_found,
    );

    store.set_default_policy_version(&read.arn, "v1").unwrap();
    let found = store.get_managed_policy(&read.arn).unwrap().unwrap();
    assert_eq!(
        found.default_document(),
        Some(document("ReadSecrets:v1").as_str())
    );
    assert_err(store.set_default_policy_version(&read.arn, "v9"), not_found);
    assert_err(
        store.set_default_policy_version(&policy_arn(&acct(), "missing"), "v1"),
        not_found,
    );

    assert_err(store.delete_policy_version(&read.arn, "v1"), conflict);
    store.delete_policy_version(&read.arn, "v3").unwrap();
    assert_err(store.delete_policy_version(&read.arn, "v3"), not_found);
    let found = store.get_managed_policy(&read.arn).unwrap().unwrap();
    let ids: Vec<&str> = found
        .versions
        .iter()
        .map(|v| v.version_id.as_str())
        .collect();
    assert_eq!(ids, ["v1", "v2", "v4"]);
    assert_eq!(found.default_version_id, "v1");

    store.delete_managed_policy(&read.arn).unwrap();
    assert_eq!(store.get_managed_policy(&read.arn).unwrap(), None);
    assert_eq!(store.list_managed_policies(&acct()).unwrap(), vec![admin]);
    assert_err(store.delete_managed_policy(&read.arn), not_found);
}

/// Attaching is idempotent and needs both ends; detaching something not attached is
/// `NotFound`; an attached policy cannot be deleted.
pub fn policy_attachments<S: Store + IdentityStore>(store: &S) {
    store.create_user(&user(&acct(), "alice")).unwrap();
    store.create_role(&role(&acct(), "deployer")).unwrap();
    let alice = principal(&acct(), PrincipalKind::User, "alice");
    let deployer = principal(&acct(), PrincipalKind::Role, "deployer");
    let read = managed_policy(&acct(), "ReadSecrets");
    let write = managed_policy(&acct(), "WriteSecrets");
    store.create_managed_policy(&read).unwrap();
    store.create_managed_policy(&write).unwrap();
    assert_eq!(store.managed_policy_attachment_count(&read.arn).unwrap(), 0);

    store.attach_policy(&alice, &write.arn).unwrap();
    store.attach_policy(&alice, &read.arn).unwrap();
    store.attach_policy(&alice, &read.arn).unwrap();
    store
        .attach_policy(&principal(&acct(), PrincipalKind::User, "ALICE"), &read.arn)
        .unwrap();
    store.attach_policy(&deployer, &read.arn).unwrap();
    assert_eq!(
        store.list_attached_policies(&alice).unwrap(),
        vec![read.arn.clone(), write.arn.clone()]
    );
    assert_eq!(
        store.list_attached_policies(&deployer).unwrap(),
        vec![read.arn.clone()]
    );
    assert_eq!(store.managed_policy_attachment_count(&read.arn).unwrap(), 2);
    assert_eq!(
        store.managed_policy_attachment_count(&write.arn).unwrap(),
        1
    );
    assert_err(
        store.managed_policy_attachment_count(&policy_arn(&acct(), "missing")),
        not_found,
    );

    let ghost = principal(&acct(), PrincipalKind::User, "ghost");
    let group = principal(&acct(), PrincipalKind::Group, "admins");
    assert_err(store.attach_policy(&ghost, &read.arn), not_found);
    assert_err(store.attach_policy(&group, &read.arn), not_found);
    assert_err(store.list_attached_policies(&ghost), not_found);
    assert_err(
        store.attach_policy(&alice, &policy_arn(&acct(), "missing")),
        not_found,
    );
    assert_eq!(store.managed_policy_attachment_count(&read.arn).unwrap(), 2);

    assert_err(store.delete_managed_policy(&read.arn), conflict);
    assert!(store.get_managed_policy(&read.arn).unwrap().is_some());

    store.detach_policy(&alice, &read.arn).unwrap();
    assert_err(store.detach_policy(&alice, &read.arn), not_found);
    assert_err(store.detach_policy(&ghost, &read.arn), not_found);
    assert_err(
        store.detach_policy(&alice, &policy_arn(&acct(), "missing")),
        not_found,
    );
    assert_eq!(
        store.list_attached_policies(&alice).unwrap(),
        vec![write.arn.clone()]
    );
    assert_err(store.delete_managed_policy(&read.arn), conflict);
    store.detach_policy(&deployer, &read.arn).unwrap();
    assert_eq!(store.managed_policy_attachment_count(&read.arn).unwrap(), 0);
    store.delete_managed_policy(&read.arn).unwrap();
    assert_eq!(
        store.list_attached_policies(&deployer).unwrap(),
        Vec::<String>::new()
    );
}

/// `principal_policies` gathers the inline documents and the default documents of attached
/// policies, sorted; a missing principal has none.
pub fn principal_policies_gather_inline_and_attached<S: Store + IdentityStore>(store: &S) {
    store.create_user(&user(&acct(), "alice")).unwrap();
    store.create_role(&role(&acct(), "alice")).unwrap();
    let alice = principal(&acct(), PrincipalKind::User, "alice");
    let alice_role = principal(&acct(), PrincipalKind::Role, "alice");
    let mut read = managed_policy(&acct(), "ReadSecrets");
    read.versions.push(policy_version("v2", "read:v2", T0));
    read.default_version_id = "v2".to_owned();
    let admin = managed_policy(&acct(), "Admin");
    store.create_managed_policy(&read).unwrap();
    store.create_managed_policy(&admin).unwrap();

    assert_eq!(
        store.principal_policies(&alice).unwrap(),
        PrincipalPolicies::default()
    );

    store
        .put_inline_policy(&alice, "zeta", &document("zeta"))
        .unwrap();
    store
        .put_inline_policy(&alice, "alpha", &document("alpha"))
        .unwrap();
    store.attach_policy(&alice, &read.arn).unwrap();
    store.attach_policy(&alice, &admin.arn).unwrap();
    store
        .put_inline_policy(&alice_role, "role-only", &document("role"))
        .unwrap();

    let expected = PrincipalPolicies {
        inline: vec![
            ("alpha".to_owned(), document("alpha")),
            ("zeta".to_owned(), document("zeta")),
        ],
        managed: vec![
            (admin.arn.clone(), document("Admin:v1")),
            (read.arn.clone(), document("read:v2")),
        ],
    };
    assert_eq!(store.principal_policies(&alice).unwrap(), expected);
    assert_eq!(
        store
            .principal_policies(&principal(&acct(), PrincipalKind::User, "Alice"))
            .unwrap(),
        expected
    );
    assert_eq!(
        store.principal_policies(&alice_role).unwrap(),
        PrincipalPolicies {
            inline: vec![("role-only".to_owned(), document("role"))],
            managed: vec![],
        }
    );

    // A new default version is what applies from then on.
    store.set_default_policy_version(&read.arn, "v1").unwrap();
    let now = store.principal_policies(&alice).unwrap();
    assert_eq!(
        now.managed,
        vec![
            (admin.arn.clone(), document("Admin:v1")),
            (read.arn.clone(), document("ReadSecrets:v1")),
        ]
    );

    for missing in [
        principal(&acct(), PrincipalKind::User, "ghost"),
        principal(&account("222222222222"), PrincipalKind::User, "alice"),
        principal(&acct(), PrincipalKind::Group, "alice"),
    ] {
        assert_eq!(
            store.principal_policies(&missing).unwrap(),
            PrincipalPolicies::default()
        );
    }
}
