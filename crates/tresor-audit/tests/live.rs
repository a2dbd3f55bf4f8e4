//! Tampering with a live chain (records as the store returns them, in seq order) is detected
//! with the right kind at the right record.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{event_json, forge, rehash_from, Fixture, ACCOUNT};
use tresor_audit::{
    sign_checkpoint, verify_live, AuditRecord, ChainHead, ChainVerifier, TamperKind, VerifyError,
    VerifyReport,
};
use tresor_types::Timestamp;

/// 55 records, checkpoints at 10, 20, 30, 40, 50: records 51..=55 are after the last one.
fn fixture() -> Fixture {
    Fixture::new(55, 10)
}

fn with_key(f: &Fixture, records: Vec<AuditRecord>) -> Result<VerifyReport, VerifyError> {
    verify_live(records, &f.checkpoints, Some(&f.mac_key), &f.public_key)
}

fn without_key(f: &Fixture, records: Vec<AuditRecord>) -> Result<VerifyReport, VerifyError> {
    verify_live(records, &f.checkpoints, None, &f.public_key)
}

#[track_caller]
fn assert_err(result: Result<VerifyReport, VerifyError>, seq: u64, kind: TamperKind) {
    match result {
        Ok(report) => panic!("tampering went undetected: {report:?}"),
        Err(e) => {
            assert_eq!((e.first_bad_seq, e.kind), (seq, kind), "{e}");
            assert!(
                e.to_string().contains(&format!("audit record {seq}")),
                "{e}"
            );
        }
    }
}

#[track_caller]
fn assert_both(f: &Fixture, records: Vec<AuditRecord>, seq: u64, kind: TamperKind) {
    assert_err(with_key(f, records.clone()), seq, kind);
    assert_err(without_key(f, records), seq, kind);
}

#[test]
fn intact_chain_verifies_with_and_without_the_mac_key() {
    let f = fixture();
    let report = with_key(&f, f.records.clone()).unwrap();
    assert_eq!(report.records, 55);
    assert_eq!(report.checkpoints, 5);
    assert_eq!(report.last_seq, 55);
    assert_eq!(report.last_hash, f.record(55).hash);
    assert_eq!(report.last_checkpoint_seq, Some(50));
    assert_eq!(report.signed_through, 50);
    assert!(report.mac_checked);
    let report = without_key(&f, f.records.clone()).unwrap();
    assert!(!report.mac_checked);
    assert_eq!(report.last_seq, 55);
}

#[test]
fn empty_chain_and_genesis_checkpoint() {
    let f = fixture();
    let genesis = sign_checkpoint(
        &ChainHead::GENESIS,
        Timestamp::from_millis(1),
        &f.signing_key,
    );
    let report = verify_live(vec![], std::slice::from_ref(&genesis), None, &f.public_key).unwrap();
    assert_eq!(
        (report.records, report.last_seq, report.checkpoints),
        (0, 0, 1)
    );
    // A genesis checkpoint is also fine in front of a full chain.
    let mut cps = f.checkpoints.clone();
    cps.insert(0, genesis);
    let report = verify_live(f.records.clone(), &cps, Some(&f.mac_key), &f.public_key).unwrap();
    assert_eq!(report.checkpoints, 6);
}

#[test]
fn edited_byte_is_detected() {
    let f = fixture();
    let mut records = f.records.clone();
    records[22].event_json = records[22]
        .event_json
        .replace("app/key-0023", "app/key-0099");
    assert_both(&f, records, 23, TamperKind::Edited);

    // Header edits too.
    let mut records = f.records.clone();
    records[22].prev_hash[0] ^= 1;
    assert_both(&f, records, 23, TamperKind::Edited);
    let mut records = f.records.clone();
    records[22].hash[5] ^= 1;
    assert_both(&f, records, 23, TamperKind::Edited);
    let mut records = f.records.clone();
    records[22].seq = 99;
    assert_both(&f, records, 23, TamperKind::Edited);
}

#[test]
fn edited_and_rehashed_record_is_a_bad_mac_with_the_key() {
    let f = fixture();
    let mut records = f.records.clone();
    let head = records[21].head();
    records[22] = forge(&head, event_json(23, "999999999999"));
    assert_err(with_key(&f, records.clone()), 23, TamperKind::BadMac);
    // Without the key, record 24's link shows record 23 was rewritten.
    assert_err(without_key(&f, records), 23, TamperKind::Edited);
}

#[test]
fn deleted_record_is_detected() {
    let f = fixture();
    let mut records = f.records.clone();
    records.remove(22);
    assert_both(&f, records, 23, TamperKind::Deleted);

    // Several, with the later rows renumbered (seq is the table's key) but not re-hashed.
    let mut records = f.records.clone();
    records.drain(22..25);
    for r in records.iter_mut().skip(22) {
        r.seq -= 3;
    }
    assert_both(&f, records, 23, TamperKind::Deleted);

    // The first record.
    let mut records = f.records.clone();
    records.remove(0);
    assert_both(&f, records, 1, TamperKind::Deleted);
}

#[test]
fn reordered_records_are_detected() {
    let f = fixture();
    // Adjacent swap, each record keeping its seq (storage order changed).
    let mut records = f.records.clone();
    records.swap(22, 23);
    assert_both(&f, records, 23, TamperKind::Reordered);

    // Non-adjacent swap.
    let mut records = f.records.clone();
    records.swap(22, 26);
    assert_both(&f, records, 23, TamperKind::Reordered);

    // Rows keep their seq keys, every other column swapped.
    let mut records = f.records.clone();
    records.swap(22, 23);
    records[22].seq = 23;
    records[23].seq = 24;
    assert_both(&f, records, 23, TamperKind::Reordered);

    // Record 23 moved after 26, rows renumbered.
    let mut records = f.records.clone();
    let moved = records.remove(22);
    records.insert(25, moved);
    for (i, r) in records.iter_mut().enumerate() {
        r.seq = i as u64 + 1;
    }
    assert_both(&f, records, 23, TamperKind::Reordered);
}

#[test]
fn inserted_record_is_detected() {
    let f = fixture();
    let forged = forge(&f.record(22).head(), event_json(1000, ACCOUNT));
    assert_eq!(forged.seq, 23);

    // A second record claiming seq 23.
    let mut records = f.records.clone();
    records.insert(22, forged.clone());
    assert_err(with_key(&f, records.clone()), 23, TamperKind::BadMac);
    assert_err(without_key(&f, records), 23, TamperKind::Inserted);

    // After the genuine 23.
    let mut records = f.records.clone();
    let mut late = forged.clone();
    late.prev_hash = f.record(23).hash;
    records.insert(23, late);
    assert_both(&f, records, 23, TamperKind::Inserted);

    // Inserted with the later rows renumbered but not re-hashed.
    let mut records = f.records.clone();
    records.insert(22, forged.clone());
    for r in records.iter_mut().skip(23) {
        r.seq += 1;
    }
    assert_err(with_key(&f, records.clone()), 23, TamperKind::BadMac);
    assert_err(without_key(&f, records), 23, TamperKind::Inserted);

    // A copy of a genuine earlier record (its MAC is genuine).
    let mut records = f.records.clone();
    records.insert(30, f.record(5).clone());
    assert_both(&f, records, 31, TamperKind::Inserted);
}

#[test]
fn rebuilt_chain_before_a_checkpoint_is_caught_by_the_signature() {
    let f = fixture();
    let mut records = f.records.clone();
    records.insert(22, forge(&f.record(22).head(), event_json(1000, ACCOUNT)));
    rehash_from(&mut records, 23);
    // With the key: the forged record itself.
    assert_err(with_key(&f, records.clone()), 23, TamperKind::BadMac);
    // Without: the first checkpoint after it no longer matches.
    let err = without_key(&f, records).unwrap_err();
    assert_eq!(
        (err.first_bad_seq, err.kind),
        (30, TamperKind::CheckpointMismatch)
    );
    assert!(
        err.message.contains("previous checkpoint (seq 20)"),
        "{err}"
    );

    // An edit re-hashed to the end.
    let mut records = f.records.clone();
    records[34].event_json = event_json(35, "999999999999");
    rehash_from(&mut records, 34);
    assert_err(with_key(&f, records.clone()), 35, TamperKind::BadMac);
    assert_err(without_key(&f, records), 40, TamperKind::CheckpointMismatch);
}

#[test]
fn rebuilt_tail_after_the_last_checkpoint_needs_the_mac_key() {
    // The documented limit: records after the last checkpoint are protected only by the MAC.
    let f = fixture();
    let mut records = f.records.clone();
    records.insert(52, forge(&f.record(52).head(), event_json(1000, ACCOUNT)));
    rehash_from(&mut records, 53);
    assert_err(with_key(&f, records.clone()), 53, TamperKind::BadMac);
    let report = without_key(&f, records).expect("undetectable without the MAC key");
    assert_eq!((report.last_seq, report.signed_through), (56, 50));
}

#[test]
fn truncation_before_the_last_checkpoint_is_detected() {
    let f = fixture();
    let mut records = f.records.clone();
    records.truncate(44);
    assert_both(&f, records, 45, TamperKind::Truncated);
    let mut records = f.records.clone();
    records.truncate(49);
    assert_both(&f, records, 50, TamperKind::Truncated);
    assert_both(&f, vec![], 1, TamperKind::Truncated);
}

#[test]
fn truncation_after_the_last_checkpoint_is_not_detectable() {
    let f = fixture();
    let mut records = f.records.clone();
    records.truncate(51);
    let report = with_key(&f, records).expect("nothing vouches for records 52..=55");
    assert_eq!((report.last_seq, report.signed_through), (51, 50));
    let mut records = f.records.clone();
    records.truncate(50);
    assert_eq!(with_key(&f, records).unwrap().last_seq, 50);
}

#[test]
fn forged_or_mismatched_checkpoints_are_detected() {
    let f = fixture();
    let mut cps = f.checkpoints.clone();
    cps[1].signature[0] ^= 1;
    assert_err(
        verify_live(f.records.clone(), &cps, None, &f.public_key),
        20,
        TamperKind::BadCheckpointSignature,
    );

    // A checkpoint signed by another key.
    let other = tresor_crypto::Ed25519SigningKey::from_seed(
        &tresor_types::SecretBytes::from_slice(&[9u8; 32]),
    )
    .unwrap();
    let mut cps = f.checkpoints.clone();
    cps.push(sign_checkpoint(
        &f.record(33).head(),
        Timestamp::from_millis(5),
        &other,
    ));
    assert_err(
        verify_live(f.records.clone(), &cps, None, &f.public_key),
        33,
        TamperKind::BadCheckpointSignature,
    );

    // A forged checkpoint beyond the end is not evidence of truncation.
    let mut cps = f.checkpoints.clone();
    let mut beyond = sign_checkpoint(&f.record(55).head(), Timestamp::from_millis(5), &other);
    beyond.seq = 80;
    cps.push(beyond);
    assert_err(
        verify_live(f.records.clone(), &cps, None, &f.public_key),
        80,
        TamperKind::BadCheckpointSignature,
    );

    // Validly signed, wrong hash.
    let mut cps = f.checkpoints.clone();
    cps.push(sign_checkpoint(
        &ChainHead {
            seq: 33,
            hash: [1u8; 32],
        },
        Timestamp::from_millis(5),
        &f.signing_key,
    ));
    assert_err(
        verify_live(f.records.clone(), &cps, None, &f.public_key),
        33,
        TamperKind::CheckpointMismatch,
    );
}

#[test]
fn a_chain_under_another_mac_key_fails_the_mac_check() {
    let f = fixture();
    let other = tresor_types::SecretBytes::from_slice(&[1u8; 32]);
    assert_err(
        verify_live(
            f.records.clone(),
            &f.checkpoints,
            Some(&other),
            &f.public_key,
        ),
        1,
        TamperKind::BadMac,
    );
}

#[test]
fn streaming_verifier_reports_the_same_as_verify_live() {
    let f = fixture();
    let mut records = f.records.clone();
    records.swap(40, 41);
    let mut v = ChainVerifier::new(&f.checkpoints, None, &f.public_key);
    let mut failed = None;
    for r in &records {
        if let Err(e) = v.push(r) {
            failed = Some(e);
            break;
        }
        if r.seq == 41 {
            assert_eq!(v.head().seq, 40);
        }
    }
    assert!(failed.is_none());
    assert!(v.is_failing());
    let e = v.pending_error().unwrap();
    assert_eq!((e.first_bad_seq, e.kind), (41, TamperKind::Reordered));
    assert_eq!(v.finish().unwrap_err(), e);
}
