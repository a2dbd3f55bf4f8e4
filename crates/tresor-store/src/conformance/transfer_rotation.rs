//! Whole-store copies and rotation: rotators (sealed secrets as stored) and their logs move, in
//! order, a deleted rotator's late entries too; the secrets' rotation moves with the secrets;
//! a target holding a rotator or a log entry is not empty.

use super::fixtures::*;
use super::rotation::{log_entry, rotator};
use super::transfer::fill_for_transfer;
use crate::{Transfer, TransferError};

/// Rotators in two scopes (a command, a webhook with a sealed secret, an OpenAI one), logs of
/// several secrets, and the late entry of a deleted rotator. The deleted secret "gone" of
/// [`fill_for_transfer`] gets a rotation (which `rotating_secrets` must not list).
pub fn fill_rotation_for_transfer<S: Transfer>(store: &S) {
    let backup = rotator(&home(), "backup");
    let mut hook = rotator(&home(), "hook");
    hook.kind = "webhook".to_owned();
    hook.config_json = r#"{"url":"https://hooks.example/rotate"}"#.to_owned();
    hook.sealed_secret = Some((0..=255u8).collect());
    hook.created = T0.plus_seconds(30);
    let mut theirs = rotator(&other_account(), "openai-keys");
    theirs.kind = "openai".to_owned();
    for r in [&backup, &hook, &theirs] {
        store.create_rotator(r).unwrap();
    }
    for n in 0..7 {
        let secret = if n % 2 == 0 { "app" } else { "empty" };
        store
            .append_rotator_log(&log_entry(&backup, secret, n))
            .unwrap();
    }
    for n in 0..2 {
        store
            .append_rotator_log(&log_entry(&hook, "app", 20 + n))
            .unwrap();
    }
    store
        .append_rotator_log(&log_entry(&theirs, "theirs", 30))
        .unwrap();

    let old = rotator(&home(), "old");
    store.create_rotator(&old).unwrap();
    store
        .append_rotator_log(&log_entry(&old, "app", 40))
        .unwrap();
    assert!(store.delete_rotator(&home(), "old").unwrap());
    store
        .append_rotator_log(&log_entry(&old, "app", 41))
        .unwrap();

    let gone = arn_for(&home(), "gone");
    update(store, &gone, |txn| {
        txn.record.rotation = Some(r#"{"days":1}"#.to_owned());
    });
}

/// What the copy of [`fill_rotation_for_transfer`]'s store counts: rotators, log entries.
pub const ROTATION_COUNTS: (u64, u64) = (3, 11);

/// The rotators and logs of `a` read back the same from `b`, through the listings and the
/// rotation lookups; so do the secrets with a rotation.
pub fn assert_same_rotation_contents<A: Transfer, B: Transfer>(a: &A, b: &B) {
    assert_eq!(a.rotator_scopes().unwrap(), b.rotator_scopes().unwrap());
    let rotators = a.all_rotators().unwrap();
    assert_eq!(rotators, b.all_rotators().unwrap());
    for r in &rotators {
        assert_eq!(b.get_rotator(&r.scope, &r.name).unwrap().as_ref(), Some(r));
        assert_eq!(
            a.list_rotators(&r.scope).unwrap(),
            b.list_rotators(&r.scope).unwrap()
        );
    }
    let arns = a.rotator_log_arns().unwrap();
    assert_eq!(arns, b.rotator_log_arns().unwrap());
    for arn in &arns {
        let entries = a.rotator_logs(arn, None, usize::MAX).unwrap();
        assert_eq!(entries, b.rotator_logs(arn, None, usize::MAX).unwrap());
        for entry in &entries {
            let secret = Some(entry.secret_arn.as_str());
            assert_eq!(
                a.rotator_logs(arn, secret, usize::MAX).unwrap(),
                b.rotator_logs(arn, secret, usize::MAX).unwrap()
            );
        }
    }
    assert_eq!(a.rotating_secrets().unwrap(), b.rotating_secrets().unwrap());
}

/// After copying [`fill_rotation_for_transfer`]'s store from `from` to `to`: each log lists
/// newest first as appended, the deleted rotator's late entry moved, only the live rotating
/// secret is listed, and an entry appended to the copy is its newest. Writes to `to`.
pub fn assert_rotation_moved<F: Transfer, T: Transfer>(from: &F, to: &T) {
    let backup = rotator(&home(), "backup");
    let expected: Vec<_> = (0..7)
        .rev()
        .map(|n| log_entry(&backup, if n % 2 == 0 { "app" } else { "empty" }, n))
        .collect();
    assert_eq!(to.rotator_logs(&backup.arn, None, 100).unwrap(), expected);
    let old = rotator(&home(), "old");
    assert_eq!(
        to.rotator_logs(&old.arn, None, 100).unwrap(),
        vec![log_entry(&old, "app", 41)]
    );
    assert_eq!(to.get_rotator(&home(), "old").unwrap(), None);
    assert_eq!(
        to.rotating_secrets().unwrap(),
        vec![(arn_for(&home(), "app"), r#"{"days":30}"#.to_owned())]
    );
    assert_eq!(
        from.rotating_secrets().unwrap(),
        to.rotating_secrets().unwrap()
    );

    let next = log_entry(&backup, "app", 7);
    to.append_rotator_log(&next).unwrap();
    assert_eq!(to.rotator_logs(&backup.arn, None, 1).unwrap(), vec![next]);
}

/// A target holding only a rotator, or only a rotator log entry, is refused and keeps it;
/// removing the rotator (which removes its log) empties it again.
pub fn transfer_refuses_a_target_with_rotation_state<F: Transfer, T: Transfer>(from: &F, to: &T) {
    fill_for_transfer(from);
    let refused = |what: &str| {
        assert!(!to.is_empty().unwrap(), "{what} counts");
        let r = crate::transfer(from, to, &mut |_| {});
        assert!(
            matches!(r, Err(TransferError::TargetNotEmpty)),
            "{what}: {r:?}"
        );
        assert!(to.all_meta().unwrap().is_empty(), "{what}");
    };
    let only = rotator(&home(), "only");
    to.create_rotator(&only).unwrap();
    refused("a rotator");
    assert_eq!(to.all_rotators().unwrap(), vec![only.clone()]);
    to.append_rotator_log(&log_entry(&only, "app", 0)).unwrap();
    assert!(to.delete_rotator(&home(), "only").unwrap());
    assert!(to.is_empty().unwrap());

    // An entry without a rotator (a step that ended after its rotator was deleted).
    to.append_rotator_log(&log_entry(&only, "app", 1)).unwrap();
    refused("a rotator log entry");
    assert_eq!(to.rotator_log_arns().unwrap(), vec![only.arn]);
}
