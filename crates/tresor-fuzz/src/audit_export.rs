//! The audit export reader: `tresor audit verify --export-dir` ([`verify_export_with`]) on
//! CloudTrail log files `{"Records":[…]}` and their signed digests.
//!
//! Input, one of two forms:
//! - **reader**: a digest file, a line `====`, a log file. Both are written where the digest
//!   says (`digestS3Object`, the first `logFiles[].s3Object`, when those are paths Tresor could
//!   have written), and the digest is signed here with the harness key, so the reader gets past
//!   the signature to the digest's fields, its checkpoints and the log file's records. Property:
//!   no panic; an error names a record from 1.
//! - **export**: a line `export <records per file> [<byte to flip>]`, then one CloudTrail event
//!   per line. The events that parse are linked into a chain (with a signed checkpoint at its
//!   head) and exported. Properties: the export verifies, with and without the MAC key, and
//!   counts every record, log file and digest; after one byte of one written file is flipped,
//!   it no longer verifies.
//!
//! Files go to a directory of their own per thread under the system temporary directory
//! (`fuzz/run` points `TMPDIR` at a memory file system), emptied before and after each input.

use std::cell::RefCell;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::Value;
use tresor_audit::{
    digest_signature_message, export, link_batch, sign_checkpoint, verify_export_with, AuditEvent,
    ExportError, ExportOptions, PublicKey,
};
use tresor_crypto::{sha256, Ed25519SigningKey};
use tresor_types::{SecretBytes, Timestamp};

const SEPARATOR: &[u8] = b"\n====\n";
const DEFAULT_DIGEST: &str = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/28/111122223333_CloudTrail-Digest_us-east-1_20261128T1500Z_00000000000000000001.json";
const DEFAULT_LOG: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/28/111122223333_CloudTrail_us-east-1_20261128T1500Z_00000000000000000001.json";
/// Events exported per input, at most.
const MAX_EVENTS: usize = 16;
/// 2026-11-28T15:00:00Z.
const NOW_MILLIS: i64 = 1_795_878_000_000;

/// The harness of the `audit_export` target.
pub fn run(data: &[u8]) {
    static KEYS: OnceLock<Option<Keys>> = OnceLock::new();
    let Some(keys) = KEYS.get_or_init(Keys::new) else {
        panic!("the harness keys cannot be made");
    };
    with_scratch_dir(|dir| match data.strip_prefix(b"export ") {
        Some(rest) => exported(dir, rest, keys),
        None => reader(dir, data, keys),
    });
}

struct Keys {
    signing: Ed25519SigningKey,
    public: PublicKey,
    mac: SecretBytes,
}

impl Keys {
    fn new() -> Option<Self> {
        let signing = Ed25519SigningKey::from_seed(&SecretBytes::from_slice(&[7; 32])).ok()?;
        Some(Self {
            public: PublicKey::from_signing_key(&signing),
            signing,
            mac: SecretBytes::from_slice(&[9; 32]),
        })
    }
}

/// Reader form: a signed digest of the fuzzer's making and the log file it names.
fn reader(dir: &Path, data: &[u8], keys: &Keys) {
    let (digest, log) = match data.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        Some(at) => (&data[..at], &data[at + SEPARATOR.len()..]),
        None => (data, &[][..]),
    };
    let parsed: Value = serde_json::from_slice(digest).unwrap_or(Value::Null);
    let digest_rel = parsed
        .get("digestS3Object")
        .and_then(Value::as_str)
        .filter(|rel| is_writable(rel) && rel.ends_with(".json"))
        .unwrap_or(DEFAULT_DIGEST);
    let log_rel = parsed
        .get("logFiles")
        .and_then(|files| files.get(0))
        .and_then(|file| file.get("s3Object"))
        .and_then(Value::as_str)
        .filter(|rel| is_writable(rel) && *rel != digest_rel)
        .unwrap_or(DEFAULT_LOG);
    let previous = parsed
        .get("previousDigestSignature")
        .and_then(Value::as_str);
    let message = digest_signature_message(digest_rel, &sha256(digest), previous);
    let signature = hex::encode(keys.signing.sign(&message));
    let written = write(dir, log_rel, log)
        .and_then(|()| write(dir, digest_rel, digest))
        .and_then(|()| write(dir, &format!("{digest_rel}.sig"), signature.as_bytes()));
    if written.is_err() {
        // A name the file system refuses (too long, say) is no input for the reader.
        return;
    }
    for mac in [Some(&keys.mac), None] {
        if let Err(e) = verify_export_with(dir, &keys.public, mac) {
            assert!(e.first_bad_seq >= 1, "{e}");
        }
    }
}

/// Export form: a chain of real events, exported, verified, then damaged.
fn exported(dir: &Path, data: &[u8], keys: &Keys) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines();
    let mut numbers = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(|n| n.parse::<usize>().ok());
    let per_file = numbers.next().flatten().unwrap_or(1000).clamp(1, 8);
    let flip = numbers.next().flatten();
    let events: Vec<String> = lines
        .filter_map(|line| AuditEvent::from_json(line).ok())
        .filter_map(|event| event.canonical_json().ok())
        .take(MAX_EVENTS)
        .collect();
    let records = link_batch(None, events, &keys.mac);
    let count = records.len() as u64;
    let checkpoints: Vec<_> = records
        .last()
        .map(|last| sign_checkpoint(&last.head(), Timestamp(NOW_MILLIS), &keys.signing))
        .into_iter()
        .collect();
    let options = ExportOptions {
        max_records_per_file: per_file,
    };
    let summary = match export(
        dir,
        records,
        &checkpoints,
        &keys.signing,
        Some(&keys.mac),
        &options,
    ) {
        Ok(summary) => summary,
        // An event whose time has no place in the layout is refused, as it should be.
        Err(ExportError::BadEvent { .. }) => return,
        Err(e) => panic!("a freshly linked chain does not export: {e}"),
    };
    for mac in [Some(&keys.mac), None] {
        match verify_export_with(dir, &keys.public, mac) {
            Ok(report) => {
                assert_eq!(report.records, count);
                assert_eq!(report.last_seq, count);
                assert_eq!(report.log_files, summary.log_files.len() as u64);
                assert_eq!(report.digests, summary.digest_files.len() as u64);
            }
            // An empty chain exports nothing, and nothing is vouched for.
            Err(_) if count == 0 => {}
            Err(e) => panic!("a fresh export does not verify: {e}"),
        }
    }
    if let Some(at) = flip {
        let files: Vec<&String> = summary
            .log_files
            .iter()
            .chain(&summary.digest_files)
            .collect();
        if flip_byte(dir, &files, at) {
            assert!(
                verify_export_with(dir, &keys.public, None).is_err(),
                "a flipped byte went unnoticed"
            );
        }
    }
}

/// Flips the lowest bit of byte `at` (modulo their total length) of `files` taken end to end.
fn flip_byte(dir: &Path, files: &[&String], at: usize) -> bool {
    let mut contents = Vec::new();
    for rel in files {
        match fs::read(dir.join(rel)) {
            Ok(bytes) => contents.push(bytes),
            Err(e) => panic!("{rel} was written but cannot be read: {e}"),
        }
    }
    let total: usize = contents.iter().map(Vec::len).sum();
    if total == 0 {
        return false;
    }
    let mut at = at % total;
    for (rel, mut bytes) in files.iter().zip(contents) {
        if at < bytes.len() {
            bytes[at] ^= 1;
            return write(dir, rel, &bytes).is_ok();
        }
        at -= bytes.len();
    }
    false
}

/// A relative path under `AWSLogs/` with no empty, `.` or `..` component: what an export may
/// hold, and nothing that could leave the scratch directory.
fn is_writable(rel: &str) -> bool {
    rel.starts_with("AWSLogs/")
        && !rel.contains(['\\', '\0'])
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, bytes)
}

/// Runs `f` in an empty directory owned by this thread, emptied again afterwards.
fn with_scratch_dir(f: impl FnOnce(&Path)) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static DIR: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
    }
    let dir = DIR.with(|dir| {
        dir.borrow_mut()
            .get_or_insert_with(|| {
                std::env::temp_dir().join(format!(
                    "tresor-fuzz-audit-{}-{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                ))
            })
            .clone()
    });
    let _ = fs::remove_dir_all(&dir);
    if let Err(e) = fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    f(&dir);
    let _ = fs::remove_dir_all(&dir);
}
