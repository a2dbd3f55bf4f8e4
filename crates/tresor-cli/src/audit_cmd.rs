//! `tresor audit …`: the verification key, offline verification of the live chain or of an
//! export, and CloudTrail-format export.
//!
//! These commands open the SQLite store directly (reading beside a running server is fine: the
//! store is in WAL mode) and read the chain in pages of [`PAGE`] records, streaming them
//! through `tresor-audit`'s verifier, so memory stays constant however long the trail is.
//! The keys come from the unsealed root key (`tresor_core::Keyring`); verifying an export, or
//! the live chain with `--public-key`, needs no passphrase.
//!
//! Exit status: 0 when the chain verifies; 1 with the first broken record on stderr otherwise
//! (and 1 for operational errors such as a wrong passphrase, with their own message).

use std::path::{Path, PathBuf};

use tresor_audit::{AuditRecord, Checkpoint, PublicKey, TamperKind, VerifyError, VerifyReport};
use tresor_core::bootstrap;
use tresor_core::{Keyring, StoreBackend};
use tresor_store::{AuditRow, AuditStore, CheckpointRow};
use tresor_types::SecretBytes;

use crate::cli::{AuditCommand, AuditExportArgs, AuditPublicKeyArgs, AuditVerifyArgs};
use crate::location::{Location, StoreArgs};
use crate::unseal;

/// The store's file inside the data directory (as `commands` names it).
/// Records read from the store per query.
const PAGE: usize = 10_000;

pub fn run(command: AuditCommand) -> Result<(), String> {
    match command {
        AuditCommand::PublicKey(args) => public_key(args),
        AuditCommand::Verify(args) => verify(args),
        AuditCommand::Export(args) => export(args),
    }
}

fn unseal_store(store: &StoreBackend, key_file: Option<&Path>) -> Result<Keyring, String> {
    let unsealer = unseal::current_material(store, key_file)?;
    bootstrap::unseal(store, &unsealer).map_err(|e| e.to_string())
}

fn read_public_key(path: &Path) -> Result<PublicKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read public key file {}: {e}", path.display()))?;
    PublicKey::parse(&text).map_err(|e| {
        format!(
            "public key file {}: {e} (expected `ed25519:<base64>`, as `tresor audit public-key` prints)",
            path.display()
        )
    })
}

fn public_key(args: AuditPublicKeyArgs) -> Result<(), String> {
    let store = args.store.location()?.open_existing()?;
    let keyring = unseal_store(&store, args.unseal_key_file.as_deref())?;
    let key = keyring.audit_public_key().map_err(|e| e.to_string())?;
    let text = key.to_text();
    if let Some(out) = &args.out {
        std::fs::write(out, format!("{text}\n"))
            .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    }
    println!("{text}");
    Ok(())
}

// ---- Reading the chain -----------------------------------------------------------------------

/// A stored record as the verifier sees it. A chain field of the wrong length is damage at that
/// record, not an I/O problem.
fn record_of(row: AuditRow) -> Result<AuditRecord, VerifyError> {
    let seq = row.seq;
    let field = |name: &str, v: Vec<u8>| -> Result<[u8; 32], VerifyError> {
        v.try_into().map_err(|v: Vec<u8>| {
            VerifyError::new(
                seq,
                TamperKind::Malformed,
                format!(
                    "record {seq}'s {name} is {} bytes long instead of 32",
                    v.len()
                ),
            )
        })
    };
    Ok(AuditRecord {
        seq,
        prev_hash: field("prev_hash", row.prev_hash)?,
        hash: field("hash", row.hash)?,
        mac: field("mac", row.mac)?,
        event_json: row.event_json,
    })
}

fn checkpoint_of(row: CheckpointRow) -> Result<Checkpoint, VerifyError> {
    let seq = row.seq;
    let malformed = |what: &str| {
        VerifyError::new(
            seq,
            TamperKind::Malformed,
            format!("the checkpoint for seq {seq} has a malformed {what}"),
        )
    };
    Ok(Checkpoint {
        seq,
        hash: row.hash.try_into().map_err(|_| malformed("hash"))?,
        time: row.time,
        signature: row
            .signature
            .try_into()
            .map_err(|_| malformed("signature"))?,
    })
}

fn checkpoints(store: &StoreBackend) -> Result<Vec<Checkpoint>, Failure> {
    store
        .list_checkpoints()
        .map_err(|e| Failure::Other(format!("cannot read the audit checkpoints: {e}")))?
        .into_iter()
        .map(|row| checkpoint_of(row).map_err(Failure::Chain))
        .collect()
}

/// Why a command over the chain failed: damage (exit 1 with the first broken record) or
/// something else (the store could not be read, a file could not be written).
enum Failure {
    Chain(VerifyError),
    Other(String),
}

impl Failure {
    fn into_message(self) -> String {
        match self {
            Failure::Chain(e) => broken(&e),
            Failure::Other(m) => m,
        }
    }
}

/// The error text for a broken chain: the first record that can no longer be vouched for.
fn broken(e: &VerifyError) -> String {
    format!(
        "audit trail verification FAILED: first bad record: seq {} ({}): {}",
        e.first_bad_seq, e.kind, e.message
    )
}

/// Streams the whole chain from the store in pages. The first read or decoding error stops the
/// stream and is kept in `error`, so a consumer never mistakes a failed read for the chain's
/// end.
struct Pages<'s> {
    store: &'s StoreBackend,
    page_size: usize,
    next_seq: u64,
    page: std::vec::IntoIter<AuditRow>,
    /// The page in `page` was short: the chain ends with it. (Stopping there rather than asking
    /// again keeps a run finite beside a server that keeps appending.)
    last_page: bool,
    done: bool,
    error: Option<Failure>,
}

impl<'s> Pages<'s> {
    fn new(store: &'s StoreBackend, page_size: usize) -> Self {
        Self {
            store,
            page_size: page_size.max(1),
            next_seq: 1,
            page: Vec::new().into_iter(),
            last_page: false,
            done: false,
            error: None,
        }
    }

    fn next_row(&mut self) -> Result<Option<AuditRow>, Failure> {
        if let Some(row) = self.page.next() {
            return Ok(Some(row));
        }
        if self.last_page {
            return Ok(None);
        }
        let rows = self
            .store
            .read_audit(self.next_seq, self.page_size)
            .map_err(|e| {
                Failure::Other(format!(
                    "cannot read the audit records from seq {}: {e}",
                    self.next_seq
                ))
            })?;
        self.last_page = rows.len() < self.page_size;
        if let Some(last) = rows.last() {
            self.next_seq = last.seq.saturating_add(1);
        }
        self.page = rows.into_iter();
        Ok(self.page.next())
    }
}

impl Iterator for Pages<'_> {
    type Item = AuditRecord;

    fn next(&mut self) -> Option<AuditRecord> {
        if self.done {
            return None;
        }
        let result = self
            .next_row()
            .and_then(|row| row.map(record_of).transpose().map_err(Failure::Chain));
        match result {
            Ok(Some(record)) => Some(record),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(f) => {
                self.error = Some(f);
                self.done = true;
                None
            }
        }
    }
}

// ---- verify ------------------------------------------------------------------------------------

fn verify(args: AuditVerifyArgs) -> Result<(), String> {
    match (&args.data_dir, &args.storage, &args.export_dir) {
        (Some(_), None, None) | (None, Some(_), None) => {
            let location = StoreArgs {
                data_dir: args.data_dir.clone(),
                storage: args.storage.clone(),
            }
            .location()?;
            verify_live(&location, &args)
        }
        (None, None, Some(dir)) => {
            let key_file = args
                .public_key
                .as_deref()
                .ok_or("--export-dir needs --public-key")?;
            verify_export(dir, key_file)
        }
        _ => Err("give exactly one of --data-dir, --storage and --export-dir".to_owned()),
    }
}

fn verify_live(location: &Location, args: &AuditVerifyArgs) -> Result<(), String> {
    let store = location.open_existing()?;
    let (public_key, mac_key): (PublicKey, Option<SecretBytes>) = match &args.public_key {
        Some(file) => (read_public_key(file)?, None),
        None => {
            let keyring = unseal_store(&store, args.unseal_key_file.as_deref())?;
            (
                keyring.audit_public_key().map_err(|e| e.to_string())?,
                Some(keyring.audit_mac_key()),
            )
        }
    };
    let report =
        check_live(&store, &public_key, mac_key.as_ref(), PAGE).map_err(Failure::into_message)?;
    println!("{}", summary("audit chain OK", &report));
    Ok(())
}

fn check_live(
    store: &StoreBackend,
    public_key: &PublicKey,
    mac_key: Option<&SecretBytes>,
    page_size: usize,
) -> Result<VerifyReport, Failure> {
    let checkpoints = checkpoints(store)?;
    let mut verifier = tresor_audit::ChainVerifier::new(&checkpoints, mac_key, public_key);
    let mut pages = Pages::new(store, page_size);
    for record in pages.by_ref() {
        verifier.push(&record).map_err(Failure::Chain)?;
    }
    if let Some(error) = pages.error.take() {
        // Damage already seen takes precedence: it is the first broken record.
        if let Some(e) = verifier.pending_error() {
            return Err(Failure::Chain(e));
        }
        return Err(error);
    }
    verifier.finish().map_err(Failure::Chain)
}

fn verify_export(dir: &Path, key_file: &Path) -> Result<(), String> {
    let public_key = read_public_key(key_file)?;
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let report = tresor_audit::verify_export(dir, &public_key).map_err(|e| broken(&e))?;
    println!("{}", summary("audit export OK", &report));
    Ok(())
}

fn summary(what: &str, r: &VerifyReport) -> String {
    let files = if r.log_files > 0 || r.digests > 0 {
        format!(", {} log files, {} digests", r.log_files, r.digests)
    } else {
        String::new()
    };
    let macs = if r.mac_checked {
        "record MACs checked"
    } else {
        "record MACs not checked (public key only)"
    };
    let unsigned = r.last_seq.saturating_sub(r.signed_through);
    let tail = if unsigned > 0 {
        format!("; the last {unsigned} record(s) are not yet covered by a signature")
    } else {
        String::new()
    };
    format!(
        "{what}: {} records, {} checkpoints{files}, last seq {}, signed through seq {}; {macs}{tail}",
        r.records, r.checkpoints, r.last_seq, r.signed_through
    )
}

// ---- export ------------------------------------------------------------------------------------

fn export(args: AuditExportArgs) -> Result<(), String> {
    let store = args.store.location()?.open_existing()?;
    let keyring = unseal_store(&store, args.unseal_key_file.as_deref())?;
    let signing_key = keyring.audit_signing_key().map_err(|e| e.to_string())?;
    let mac_key = keyring.audit_mac_key();
    let checkpoints = checkpoints(&store).map_err(Failure::into_message)?;
    let out: PathBuf = args.out.clone();
    std::fs::create_dir_all(&out)
        .map_err(|e| format!("cannot create the export directory {}: {e}", out.display()))?;
    let options = tresor_audit::ExportOptions {
        max_records_per_file: usize::try_from(args.records_per_file).unwrap_or(usize::MAX),
    };
    let mut pages = Pages::new(&store, PAGE);
    let result = tresor_audit::export(
        &out,
        pages.by_ref(),
        &checkpoints,
        &signing_key,
        Some(&mac_key),
        &options,
    );
    if let Some(error) = pages.error.take() {
        // The stream ended early, so `export` saw only part of the chain: report the damage it
        // found before that point, if any, else why the stream ended.
        let earlier = match (&error, &result) {
            (Failure::Chain(m), Err(tresor_audit::ExportError::Chain(e))) => {
                e.first_bad_seq < m.first_bad_seq
            }
            _ => false,
        };
        return Err(match result {
            Err(tresor_audit::ExportError::Chain(e)) if earlier => broken(&e),
            _ => error.into_message(),
        });
    }
    let summary = result.map_err(|e| match e {
        tresor_audit::ExportError::Chain(e) => broken(&e),
        other => format!("audit export failed: {other}"),
    })?;
    if summary.last_seq == 0 {
        println!("The audit trail is empty: nothing to export.");
    } else if summary.records_written == 0 {
        println!(
            "Nothing new to export: {} already holds the audit trail through seq {}.",
            out.display(),
            summary.last_seq
        );
    } else {
        println!(
            "Exported {} audit records (through seq {}) to {}: {} log files, {} digest files.",
            summary.records_written,
            summary.last_seq,
            out.display(),
            summary.log_files.len(),
            summary.digest_files.len()
        );
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use tresor_types::Timestamp;

    /// A store holding a chain of `n` records, with a checkpoint at `checkpoint_at` (none if 0).
    fn chain(n: u64, checkpoint_at: u64) -> (StoreBackend, PublicKey, SecretBytes) {
        let root = tresor_crypto::RootKey::generate().unwrap();
        let mac_key = tresor_audit::mac_key(&root);
        let signing_key = tresor_audit::signing_key(&root).unwrap();
        let store = StoreBackend::Sqlite(tresor_store::SqliteStore::open_in_memory().unwrap());
        let mut head = None;
        for i in 1..=n {
            let record = tresor_audit::link(head.as_ref(), format!("{{\"n\":{i}}}"), &mac_key);
            head = Some(record.head());
            store
                .append_audit(&[AuditRow {
                    seq: record.seq,
                    prev_hash: record.prev_hash.to_vec(),
                    hash: record.hash.to_vec(),
                    mac: record.mac.to_vec(),
                    event_json: record.event_json.clone(),
                    event_time: Timestamp(1_700_000_000_000),
                    event_id: format!("id-{i}"),
                    event_name: "GetSecretValue".to_owned(),
                    event_source: "secretsmanager.amazonaws.com".to_owned(),
                    account: None,
                    read_only: true,
                    username: None,
                    access_key_id: None,
                    resources: Vec::new(),
                }])
                .unwrap();
            if i == checkpoint_at {
                let cp = tresor_audit::sign_checkpoint(
                    &record.head(),
                    Timestamp(1_700_000_000_000),
                    &signing_key,
                );
                store
                    .put_checkpoint(&CheckpointRow {
                        seq: cp.seq,
                        hash: cp.hash.to_vec(),
                        time: cp.time,
                        signature: cp.signature.to_vec(),
                    })
                    .unwrap();
            }
        }
        let public_key = PublicKey::from_signing_key(&signing_key);
        (store, public_key, mac_key)
    }

    #[test]
    fn the_chain_is_read_across_page_boundaries() {
        let (store, pk, mac) = chain(25, 20);
        // Pages that divide the chain evenly, that do not, of one record, and larger than it.
        for page in [1, 5, 7, 24, 25, 26, 10_000] {
            let report = match check_live(&store, &pk, Some(&mac), page) {
                Ok(r) => r,
                Err(f) => panic!("page {page}: {}", f.into_message()),
            };
            assert_eq!(report.records, 25, "page {page}");
            assert_eq!(report.last_seq, 25, "page {page}");
            assert_eq!(report.checkpoints, 1, "page {page}");
            assert_eq!(report.signed_through, 20, "page {page}");
            assert!(report.mac_checked);
        }
    }

    #[test]
    fn an_empty_chain_verifies() {
        let (store, pk, mac) = chain(0, 0);
        let report = check_live(&store, &pk, Some(&mac), 10).ok().unwrap();
        assert_eq!((report.records, report.last_seq), (0, 0));
    }

    #[test]
    fn another_key_fails_at_the_checkpoint() {
        let (store, _, mac) = chain(12, 10);
        let (_, other_pk, _) = chain(0, 0);
        match check_live(&store, &other_pk, Some(&mac), 5) {
            Err(Failure::Chain(e)) => {
                assert_eq!(e.first_bad_seq, 10);
                assert_eq!(e.kind, TamperKind::BadCheckpointSignature);
            }
            Err(Failure::Other(m)) => panic!("{m}"),
            Ok(r) => panic!("verified: {r:?}"),
        }
    }

    #[test]
    fn wrong_length_chain_fields_are_damage_at_that_record() {
        let mut row = AuditRow {
            seq: 4,
            prev_hash: vec![0; 32],
            hash: vec![0; 31],
            mac: vec![0; 32],
            event_json: "{}".to_owned(),
            event_time: Timestamp(0),
            event_id: String::new(),
            event_name: String::new(),
            event_source: String::new(),
            account: None,
            read_only: false,
            username: None,
            access_key_id: None,
            resources: Vec::new(),
        };
        let e = record_of(row.clone()).err().unwrap();
        assert_eq!((e.first_bad_seq, e.kind), (4, TamperKind::Malformed));
        row.hash = vec![0; 32];
        assert!(record_of(row).is_ok());
    }
}
