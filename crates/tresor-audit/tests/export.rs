//! Export layout, verification with the public key alone, and every tampering kind on the
//! exported files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{event_json, forge, record_object, rehash_from, Fixture, ACCOUNT};
use serde_json::value::RawValue;
use serde_json::Value;
use tresor_audit::{
    digest_signature_message, export, verify_export, verify_export_with, AuditRecord, ExportError,
    ExportOptions, ExportSummary, TamperKind, VerifyError, VerifyReport, HIDDEN,
};

/// 55 records, checkpoints at 10..=50, exported 10 records per file: files 1-10, …, 51-55.
fn exported() -> (Fixture, tempfile::TempDir, ExportSummary) {
    let f = Fixture::new(55, 10);
    let dir = tempfile::tempdir().unwrap();
    let summary = run_export(&f, dir.path(), f.records.clone()).unwrap();
    (f, dir, summary)
}

fn run_export(
    f: &Fixture,
    out: &Path,
    records: Vec<AuditRecord>,
) -> Result<ExportSummary, ExportError> {
    let cps: Vec<_> = f
        .checkpoints
        .iter()
        .filter(|cp| records.last().is_some_and(|r| cp.seq <= r.seq))
        .cloned()
        .collect();
    export(
        out,
        records,
        &cps,
        &f.signing_key,
        Some(&f.mac_key),
        &ExportOptions {
            max_records_per_file: 10,
        },
    )
}

fn verify(f: &Fixture, dir: &Path) -> Result<VerifyReport, VerifyError> {
    verify_export(dir, &f.public_key)
}

#[track_caller]
fn assert_err(result: Result<VerifyReport, VerifyError>, seq: u64, kind: TamperKind) {
    match result {
        Ok(report) => panic!("tampering went undetected: {report:?}"),
        Err(e) => assert_eq!((e.first_bad_seq, e.kind), (seq, kind), "{e}"),
    }
}

/// The log file (absolute path) whose first record is `first_seq`.
fn log_file(dir: &Path, first_seq: u64) -> PathBuf {
    find(dir, "_CloudTrail_us-east-1_", first_seq)
}

fn digest_file(dir: &Path, first_seq: u64) -> PathBuf {
    find(dir, "_CloudTrail-Digest_us-east-1_", first_seq)
}

fn find(dir: &Path, kind: &str, first_seq: u64) -> PathBuf {
    let suffix = format!("_{first_seq:020}.json");
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in fs::read_dir(&p).unwrap() {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if path.is_dir() {
                stack.push(path);
            } else if name.contains(kind) && name.ends_with(&suffix) {
                return path;
            }
        }
    }
    panic!("no {kind} file for seq {first_seq}");
}

/// The raw record texts of a log file.
fn records_of(path: &Path) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct LogFile<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<&'a RawValue>,
    }
    let text = fs::read_to_string(path).unwrap();
    let file: LogFile<'_> = serde_json::from_str(&text).unwrap();
    file.records.iter().map(|r| r.get().to_owned()).collect()
}

fn write_records(path: &Path, records: &[String]) {
    fs::write(path, format!("{{\"Records\":[{}]}}", records.join(","))).unwrap();
}

fn edit_records(dir: &Path, first_seq: u64, edit: impl FnOnce(&mut Vec<String>)) {
    let path = log_file(dir, first_seq);
    let mut records = records_of(&path);
    edit(&mut records);
    write_records(&path, &records);
}

#[test]
fn layout_and_content() {
    let (f, dir, summary) = exported();
    assert_eq!(summary.records_written, 55);
    assert_eq!(summary.last_seq, 55);
    assert_eq!(summary.log_files.len(), 6);
    assert_eq!(summary.digest_files.len(), 6);
    assert_eq!(
        summary.log_files[0],
        "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/28/\
         111122223333_CloudTrail_us-east-1_20261128T1501Z_00000000000000000001.json"
    );
    assert_eq!(
        summary.digest_files[5],
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/28/\
         111122223333_CloudTrail-Digest_us-east-1_20261128T1506Z_00000000000000000051.json"
    );

    // Log files: {"Records": [...]} of CloudTrail events plus the chain member.
    let text = fs::read_to_string(dir.path().join(&summary.log_files[2])).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let records = v["Records"].as_array().unwrap();
    assert_eq!(records.len(), 10);
    let r = &records[0];
    assert_eq!(r["eventVersion"], "1.08");
    assert_eq!(r["eventSource"], "secretsmanager.amazonaws.com");
    assert_eq!(r["eventTime"], "2026-11-28T15:02:27Z");
    assert_eq!(r["recipientAccountId"], ACCOUNT);
    assert_eq!(r["requestParameters"]["SecretId"], "app/key-0021");
    assert_eq!(r["requestParameters"]["SecretString"], HIDDEN);
    assert_eq!(r["tresorChain"]["seq"], 21);
    assert_eq!(r["tresorChain"]["prevHash"], hex::encode(f.record(20).hash));
    assert_eq!(r["tresorChain"]["hash"], hex::encode(f.record(21).hash));
    assert!(!text.contains("sk-live"));

    // Digests: CloudTrail's shape plus Tresor's fields, chained, with a signature beside them.
    let d0: Value =
        serde_json::from_slice(&fs::read(dir.path().join(&summary.digest_files[0])).unwrap())
            .unwrap();
    let d1: Value =
        serde_json::from_slice(&fs::read(dir.path().join(&summary.digest_files[1])).unwrap())
            .unwrap();
    assert_eq!(d0["awsAccountId"], ACCOUNT);
    assert_eq!(d0["digestSignatureAlgorithm"], "Ed25519");
    assert_eq!(d0["digestS3Object"], summary.digest_files[0].as_str());
    assert_eq!(d0["previousDigestSignature"], Value::Null);
    assert_eq!(d0["previousDigestHashValue"], Value::Null);
    assert_eq!(d0["logFiles"][0]["s3Object"], summary.log_files[0].as_str());
    assert_eq!(d0["logFiles"][0]["hashAlgorithm"], "SHA-256");
    assert_eq!(d0["oldestEventTime"], "2026-11-28T15:00:07Z");
    assert_eq!(d0["newestEventTime"], "2026-11-28T15:01:10Z");
    assert_eq!(d0["digestPublicKeyFingerprint"], f.public_key.fingerprint());
    assert_eq!(d0["tresor"]["firstSeq"], 1);
    assert_eq!(d0["tresor"]["lastSeq"], 10);
    assert_eq!(d0["tresor"]["runLastSeq"], 55);
    assert_eq!(d0["tresor"]["checkpoints"][0]["seq"], 10);
    assert_eq!(
        d1["previousDigestS3Object"],
        summary.digest_files[0].as_str()
    );
    let sig0 =
        fs::read_to_string(dir.path().join(format!("{}.sig", summary.digest_files[0]))).unwrap();
    assert_eq!(d1["previousDigestSignature"], sig0.trim());
    assert!(fs::read_dir(
        dir.path()
            .join("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/28")
    )
    .unwrap()
    .all(|e| !e.unwrap().file_name().to_str().unwrap().ends_with(".tmp")));
}

#[test]
fn intact_export_verifies_with_the_public_key_only() {
    let (f, dir, _) = exported();
    let report = verify(&f, dir.path()).unwrap();
    assert_eq!(report.records, 55);
    assert_eq!(report.last_seq, 55);
    assert_eq!(report.last_hash, f.record(55).hash);
    assert_eq!(report.checkpoints, 5);
    assert_eq!(report.last_checkpoint_seq, Some(50));
    assert_eq!(report.signed_through, 55);
    assert_eq!((report.log_files, report.digests), (6, 6));
    assert!(!report.mac_checked);
    let report = verify_export_with(dir.path(), &f.public_key, Some(&f.mac_key)).unwrap();
    assert!(report.mac_checked);
    // Another public key verifies nothing.
    let other = Fixture::new(1, 1);
    let mut other_key = other.public_key;
    if other_key == f.public_key {
        other_key = tresor_audit::PublicKey::from_bytes([7u8; 32]);
    }
    assert_err(
        verify_export(dir.path(), &other_key),
        1,
        TamperKind::BadDigestSignature,
    );
}

#[test]
fn edited_log_file_is_detected() {
    let (f, dir, _) = exported();
    edit_records(dir.path(), 21, |r| {
        r[2] = r[2].replace("app/key-0023", "app/key-0099");
    });
    assert_err(verify(&f, dir.path()), 23, TamperKind::Edited);
}

#[test]
fn edited_chain_member_is_detected() {
    let (f, dir, _) = exported();
    edit_records(dir.path(), 21, |r| {
        let hash = hex::encode(f.record(23).hash);
        let mut bad = f.record(23).hash;
        bad[0] ^= 1;
        r[2] = r[2].replace(&hash, &hex::encode(bad));
    });
    assert_err(verify(&f, dir.path()), 23, TamperKind::Edited);

    // Reformatting a record is an edit of the evidence too.
    let (f, dir, _) = exported();
    edit_records(dir.path(), 21, |r| r[2] = r[2].replacen(':', ": ", 1));
    assert_err(verify(&f, dir.path()), 23, TamperKind::Edited);
}

#[test]
fn deleted_record_inside_a_file_is_detected() {
    let (f, dir, _) = exported();
    edit_records(dir.path(), 21, |r| {
        r.remove(2);
    });
    assert_err(verify(&f, dir.path()), 23, TamperKind::Deleted);
    // The last record of a middle file.
    let (f, dir, _) = exported();
    edit_records(dir.path(), 21, |r| {
        r.pop();
    });
    assert_err(verify(&f, dir.path()), 30, TamperKind::Deleted);
}

#[test]
fn reordered_records_inside_a_file_are_detected() {
    let (f, dir, _) = exported();
    edit_records(dir.path(), 21, |r| r.swap(2, 3));
    assert_err(verify(&f, dir.path()), 23, TamperKind::Reordered);
    let (f, dir, _) = exported();
    edit_records(dir.path(), 21, |r| r.swap(2, 7));
    assert_err(verify(&f, dir.path()), 23, TamperKind::Reordered);
}

#[test]
fn deleted_log_file_is_detected() {
    let (f, dir, _) = exported();
    fs::remove_file(log_file(dir.path(), 21)).unwrap();
    assert_err(verify(&f, dir.path()), 21, TamperKind::Deleted);
}

#[test]
fn deleted_digest_is_detected() {
    let (f, dir, _) = exported();
    let digest = digest_file(dir.path(), 21);
    fs::remove_file(&digest).unwrap();
    assert_err(verify(&f, dir.path()), 21, TamperKind::Deleted);
    // The digest and its signature, and its log file: the same gap.
    let mut sig = digest.clone().into_os_string();
    sig.push(".sig");
    fs::remove_file(sig).unwrap();
    fs::remove_file(log_file(dir.path(), 21)).unwrap();
    assert_err(verify(&f, dir.path()), 21, TamperKind::Deleted);
}

#[test]
fn inserted_record_is_detected() {
    let (f, dir, _) = exported();
    let forged = forge(&f.record(22).head(), event_json(1000, ACCOUNT));
    edit_records(dir.path(), 21, |r| r.insert(2, record_object(&forged)));
    assert_err(verify(&f, dir.path()), 23, TamperKind::Inserted);
    // With the MAC key, the forged record itself.
    assert_err(
        verify_export_with(dir.path(), &f.public_key, Some(&f.mac_key)),
        23,
        TamperKind::BadMac,
    );

    // Appended at the end of a file, correctly chained.
    let (f, dir, _) = exported();
    let forged = forge(&f.record(30).head(), event_json(1000, ACCOUNT));
    edit_records(dir.path(), 21, |r| r.push(record_object(&forged)));
    assert_err(verify(&f, dir.path()), 31, TamperKind::Inserted);
}

#[test]
fn rebuilt_records_are_caught_by_checkpoints_and_digests() {
    // Inserted and re-hashed up to a checkpoint.
    let (f, dir, _) = exported();
    let mut chain: Vec<AuditRecord> = f.records[..30].to_vec();
    chain.insert(22, forge(&f.record(22).head(), event_json(1000, ACCOUNT)));
    chain.pop();
    rehash_from(&mut chain, 23);
    edit_records(dir.path(), 21, |r| {
        *r = chain[20..30].iter().map(record_object).collect();
    });
    assert_err(verify(&f, dir.path()), 30, TamperKind::CheckpointMismatch);
    assert_err(
        verify_export_with(dir.path(), &f.public_key, Some(&f.mac_key)),
        23,
        TamperKind::BadMac,
    );

    // Re-hashed after the last checkpoint: the live chain could not tell without the MAC key,
    // but the export's digest signs its last record.
    let (f, dir, _) = exported();
    let mut chain = f.records.clone();
    chain[52].event_json = event_json(53, "999999999999");
    rehash_from(&mut chain, 52);
    edit_records(dir.path(), 51, |r| {
        *r = chain[50..].iter().map(record_object).collect();
    });
    assert_err(verify(&f, dir.path()), 51, TamperKind::LogFileModified);
    assert_err(
        verify_export_with(dir.path(), &f.public_key, Some(&f.mac_key)),
        53,
        TamperKind::BadMac,
    );
}

#[test]
fn modified_digest_is_detected() {
    let (f, dir, _) = exported();
    let path = digest_file(dir.path(), 21);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        text.replacen("2026-11-28T15:02:27Z", "2026-11-28T15:02:28Z", 1),
    )
    .unwrap();
    assert_err(verify(&f, dir.path()), 21, TamperKind::BadDigestSignature);

    // Pointing the digest at a rewritten log file does not help: its signature breaks.
    let (f, dir, _) = exported();
    edit_records(dir.path(), 21, |r| {
        r[0] = r[0].replace("req-0021", "req-9999")
    });
    let path = digest_file(dir.path(), 21);
    let mut d: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    d["logFiles"][0]["hashValue"] = Value::String("00".repeat(32));
    fs::write(&path, serde_json::to_vec_pretty(&d).unwrap()).unwrap();
    assert_err(verify(&f, dir.path()), 21, TamperKind::BadDigestSignature);

    // A bad signature file.
    let (f, dir, _) = exported();
    let mut sig = digest_file(dir.path(), 41).into_os_string();
    sig.push(".sig");
    fs::write(&sig, "00".repeat(64)).unwrap();
    assert_err(verify(&f, dir.path()), 41, TamperKind::BadDigestSignature);

    // A digest moved to another path.
    let (f, dir, _) = exported();
    let from = digest_file(dir.path(), 41);
    let to = from.with_file_name("111122223333_CloudTrail-Digest_us-east-1_20261128T1505Z_99.json");
    fs::rename(&from, &to).unwrap();
    let mut from_sig = from.into_os_string();
    from_sig.push(".sig");
    let mut to_sig = to.into_os_string();
    to_sig.push(".sig");
    fs::rename(from_sig, to_sig).unwrap();
    assert_err(verify(&f, dir.path()), 41, TamperKind::BadDigestSignature);
}

/// A digest signed with the audit key that claims records from seq 0 (seqs start at 1) is
/// malformed at seq 1, not "record 0 inserted, already covered by an earlier digest" when there
/// is no earlier digest. Found by the `audit_export` fuzz target.
#[test]
fn signed_digest_from_seq_zero_is_malformed() {
    let (f, dir, _) = exported();
    let path = digest_file(dir.path(), 1);
    let mut d: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    d["tresor"]["firstSeq"] = Value::from(0);
    let bytes = serde_json::to_vec_pretty(&d).unwrap();
    fs::write(&path, &bytes).unwrap();
    let rel = path.strip_prefix(dir.path()).unwrap().to_str().unwrap();
    let message = digest_signature_message(rel, &tresor_crypto::sha256(&bytes), None);
    let mut sig = path.clone().into_os_string();
    sig.push(".sig");
    fs::write(&sig, hex::encode(f.signing_key.sign(&message))).unwrap();
    assert_err(verify(&f, dir.path()), 1, TamperKind::Malformed);
}

#[test]
fn edited_log_file_bytes_outside_records_are_detected() {
    let (f, dir, _) = exported();
    let path = log_file(dir.path(), 31);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replacen("{\"Records\":[", "{\"Records\": [", 1)).unwrap();
    assert_err(verify(&f, dir.path()), 31, TamperKind::LogFileModified);
}

#[test]
fn truncated_export_is_detected() {
    // The last log file and its digest removed: the remaining digests state the run's end.
    let (f, dir, _) = exported();
    let digest = digest_file(dir.path(), 51);
    fs::remove_file(log_file(dir.path(), 51)).unwrap();
    fs::remove_file(&digest).unwrap();
    let mut sig = digest.into_os_string();
    sig.push(".sig");
    fs::remove_file(sig).unwrap();
    assert_err(verify(&f, dir.path()), 51, TamperKind::Truncated);

    // Everything from record 41 (before the last checkpoint).
    let (f, dir, _) = exported();
    for first in [41, 51] {
        let digest = digest_file(dir.path(), first);
        fs::remove_file(log_file(dir.path(), first)).unwrap();
        fs::remove_file(&digest).unwrap();
        let mut sig = digest.into_os_string();
        sig.push(".sig");
        fs::remove_file(sig).unwrap();
    }
    assert_err(verify(&f, dir.path()), 41, TamperKind::Truncated);

    // Records cut from the end of the last file.
    let (f, dir, _) = exported();
    edit_records(dir.path(), 51, |r| r.truncate(3));
    assert_err(verify(&f, dir.path()), 54, TamperKind::Truncated);

    // Nothing left at all.
    let (f, dir, _) = exported();
    fs::remove_dir_all(dir.path().join("AWSLogs")).unwrap();
    assert_err(verify(&f, dir.path()), 1, TamperKind::Deleted);
}

#[test]
fn unparseable_files_are_malformed() {
    let (f, dir, _) = exported();
    let path = log_file(dir.path(), 11);
    fs::write(&path, "{\"Records\":[").unwrap();
    assert_err(verify(&f, dir.path()), 11, TamperKind::Malformed);

    let (f, dir, _) = exported();
    let path = digest_file(dir.path(), 11);
    fs::write(&path, "not json").unwrap();
    assert_err(verify(&f, dir.path()), 11, TamperKind::Malformed);
}

#[test]
fn export_continues_an_earlier_export() {
    let f = Fixture::new(55, 10);
    let dir = tempfile::tempdir().unwrap();
    let first = run_export(&f, dir.path(), f.records[..33].to_vec()).unwrap();
    assert_eq!((first.records_written, first.log_files.len()), (33, 4));
    assert_eq!(verify(&f, dir.path()).unwrap().last_seq, 33);

    let second = run_export(&f, dir.path(), f.records.clone()).unwrap();
    assert_eq!(second.records_written, 22);
    assert_eq!(second.log_files.len(), 3); // 34-43, 44-53, 54-55
    let report = verify(&f, dir.path()).unwrap();
    assert_eq!((report.last_seq, report.digests), (55, 7));

    let third = run_export(&f, dir.path(), f.records.clone()).unwrap();
    assert_eq!((third.records_written, third.log_files.len()), (0, 0));
    assert_eq!(verify(&f, dir.path()).unwrap().last_seq, 55);

    // Removing the whole second run: the first run's digests cannot know about it (the limit
    // of any append-only export without an external anchor).
    for first_seq in [34, 44, 54] {
        let digest = digest_file(dir.path(), first_seq);
        fs::remove_file(log_file(dir.path(), first_seq)).unwrap();
        fs::remove_file(&digest).unwrap();
        let mut sig = digest.into_os_string();
        sig.push(".sig");
        fs::remove_file(sig).unwrap();
    }
    assert_eq!(verify(&f, dir.path()).unwrap().last_seq, 33);
}

#[test]
fn export_refuses_a_broken_or_diverging_chain() {
    let f = Fixture::new(55, 10);
    let dir = tempfile::tempdir().unwrap();
    let mut records = f.records.clone();
    records[22].event_json = records[22].event_json.replace("req-0023", "req-9999");
    match run_export(&f, dir.path(), records) {
        Err(ExportError::Chain(e)) => {
            assert_eq!((e.first_bad_seq, e.kind), (23, TamperKind::Edited))
        }
        other => panic!("{other:?}"),
    }
    // No digest was written, so nothing verifies yet.
    assert_err(verify(&f, dir.path()), 1, TamperKind::Deleted);

    // A store whose chain differs from what was exported.
    let dir = tempfile::tempdir().unwrap();
    run_export(&f, dir.path(), f.records[..20].to_vec()).unwrap();
    let other = Fixture::with_accounts(30, 10, &["444455556666"]);
    let err = export(
        dir.path(),
        other.records.clone(),
        &other.checkpoints,
        &f.signing_key,
        None,
        &ExportOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ExportError::Diverged(_)), "{err}");
    // A shorter chain than the export.
    let err = run_export(&f, dir.path(), f.records[..15].to_vec()).unwrap_err();
    assert!(matches!(err, ExportError::Diverged(_)), "{err}");
}

#[test]
fn files_split_by_account_region_and_day() {
    let f = Fixture::with_accounts(6, 3, &[ACCOUNT, ACCOUNT, "444455556666"]);
    let dir = tempfile::tempdir().unwrap();
    let mut records = f.records.clone();
    // An event with an unusable account/region lands under "unknown".
    let mut bad = serde_json::from_str::<Value>(&event_json(7, "")).unwrap();
    bad["awsRegion"] = Value::String("../../../tmp".into());
    let rec = tresor_audit::link(Some(&records[5].head()), bad.to_string(), &f.mac_key);
    records.push(rec);
    let summary = export(
        dir.path(),
        records,
        &f.checkpoints,
        &f.signing_key,
        Some(&f.mac_key),
        &ExportOptions::default(),
    )
    .unwrap();
    let accounts: Vec<&str> = summary
        .log_files
        .iter()
        .map(|p| p.split('/').nth(1).unwrap())
        .collect();
    assert_eq!(
        accounts,
        [ACCOUNT, "444455556666", ACCOUNT, "444455556666", "unknown"]
    );
    assert!(summary.log_files[4].starts_with("AWSLogs/unknown/CloudTrail/unknown/2026/11/28/"));
    let report = verify(&f, dir.path()).unwrap();
    assert_eq!(
        (report.last_seq, report.log_files, report.checkpoints),
        (7, 5, 2)
    );
}
