//! CloudTrail-format export of the chain, with signed digest files, and its verification with
//! the public key alone.
//!
//! # Layout
//!
//! ```text
//! OUT/AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/
//!     <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<firstSeq, 20 digits>.json
//! OUT/AWSLogs/<account>/CloudTrail-Digest/<region>/<YYYY>/<MM>/<DD>/
//!     <account>_CloudTrail-Digest_<region>_<YYYYMMDDTHHmmZ>_<firstSeq, 20 digits>.json
//!     <account>_CloudTrail-Digest_<region>_<YYYYMMDDTHHmmZ>_<firstSeq, 20 digits>.json.sig
//! ```
//!
//! **Log files.** A log file holds a contiguous run of the chain (at most
//! [`ExportOptions::max_records_per_file`] records) whose events share `recipientAccountId`,
//! `awsRegion` and UTC day; the next record that differs starts a new file, so each file's path
//! is truthful. The time in the name is the newest event's minute (CloudTrail uses the delivery
//! time); the suffix is the first record's seq, which makes names unique and deterministic.
//! An account that is not 12 digits or a region that is not `[a-z0-9-]{1,32}` (e.g. a failed
//! authentication's) is written as `unknown`, so no event can steer a path.
//!
//! Content: `{"Records":[R1,R2,…]}` with no whitespace, where each `Ri` is the record's stored
//! `event_json` with one member appended before its closing brace:
//! `"tresorChain":{"seq":…,"prevHash":"<hex>","hash":"<hex>","mac":"<hex>"}`. So each record is
//! a CloudTrail event (readers ignore the extra member), and the verifier recovers the exact
//! hashed bytes: it reads each record's raw text, parses `tresorChain`, checks the text ends with
//! `,"tresorChain":<that member re-serialized>}` and replaces that suffix with `}`. Any
//! reformatting of a record therefore fails verification, as it should for evidence.
//!
//! **Digest files.** One per log file, in CloudTrail's digest shape: `awsAccountId`,
//! `digestStartTime`/`digestEndTime` (oldest/newest event), `digestS3Object` (its own relative
//! path), `digestPublicKeyFingerprint`, `digestSignatureAlgorithm` `"Ed25519"`,
//! `newestEventTime`, `oldestEventTime`, `previousDigestS3Object`, `previousDigestHashValue`
//! (SHA-256 hex of the previous digest file), `previousDigestHashAlgorithm`,
//! `previousDigestSignature` (`null` in the very first digest), `logFiles` [{`s3Object`,
//! `hashValue` (SHA-256 hex of the log file), `hashAlgorithm`, `oldestEventTime`,
//! `newestEventTime`}], plus `tresor`: {`formatVersion`, `firstSeq`, `lastSeq`, `firstPrevHash`,
//! `lastHash`, `runLastSeq` (the last seq of the export run that wrote it), `checkpoints` (the
//! store's signed checkpoints within `firstSeq..=lastSeq`)}.
//!
//! The signature sits beside it in `<digest>.sig` (hex), as CloudTrail keeps it in object
//! metadata. It is Ed25519 over [`digest_signature_message`]:
//! `"tresor-audit-digest/v1\n" + digestS3Object + "\n" + hex(SHA-256(digest file)) + "\n" +
//! (previousDigestSignature or "null")`; so each digest is bound to its path, its bytes and the
//! previous digest.
//!
//! Running [`export`] again into the same directory continues it: records already covered by
//! the last digest are checked (the store must still have that hash at that seq) and skipped,
//! and the new digests chain to the last one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use tresor_crypto::{sha256, verify_ed25519, Ed25519SigningKey};
use tresor_types::{SecretBytes, Timestamp};

use crate::chain::AuditRecord;
use crate::checkpoint::{Checkpoint, PublicKey};
use crate::event::iso8601_seconds;
use crate::verify::{ChainVerifier, TamperKind, VerifyError, VerifyReport};

/// Domain separation prefix of [`digest_signature_message`].
pub const DIGEST_DOMAIN: &[u8] = b"tresor-audit-digest/v1";
const FORMAT_VERSION: u32 = 1;
const CHAIN_MEMBER: &str = "tresorChain";
const LOGS_ROOT: &str = "AWSLogs";

/// Export settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// Records per log file (at least 1). Default 1000.
    pub max_records_per_file: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            max_records_per_file: 1000,
        }
    }
}

/// What one [`export`] run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Records written by this run (records already exported are skipped).
    pub records_written: u64,
    /// Relative paths (`AWSLogs/…`) of the log files and digest files written.
    pub log_files: Vec<String>,
    pub digest_files: Vec<String>,
    /// The chain's last seq, now the export's end.
    pub last_seq: u64,
}

/// Why an export did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The records handed in do not verify; no digest was written by this run (log files
    /// written before the damage was reached may remain and are rewritten identically later).
    #[error("the audit chain does not verify, so it was not exported: {0}")]
    Chain(#[from] VerifyError),
    #[error("audit record {seq} cannot be exported: {reason}")]
    BadEvent { seq: u64, reason: String },
    /// The output directory holds an export this chain does not continue.
    #[error("the existing export does not continue this chain: {0}")]
    Diverged(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The bytes a digest's signature covers (see the module docs).
pub fn digest_signature_message(
    digest_s3_object: &str,
    digest_sha256: &[u8; 32],
    previous_signature: Option<&str>,
) -> Vec<u8> {
    let mut m = DIGEST_DOMAIN.to_vec();
    m.push(b'\n');
    m.extend_from_slice(digest_s3_object.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(hex::encode(digest_sha256).as_bytes());
    m.push(b'\n');
    m.extend_from_slice(previous_signature.unwrap_or("null").as_bytes());
    m
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportChain {
    seq: u64,
    #[serde(with = "crate::hex32")]
    prev_hash: [u8; 32],
    #[serde(with = "crate::hex32")]
    hash: [u8; 32],
    #[serde(with = "crate::hex32")]
    mac: [u8; 32],
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Digest {
    aws_account_id: String,
    digest_start_time: String,
    digest_end_time: String,
    digest_s3_object: String,
    digest_public_key_fingerprint: String,
    digest_signature_algorithm: String,
    newest_event_time: String,
    oldest_event_time: String,
    previous_digest_s3_object: Option<String>,
    previous_digest_hash_value: Option<String>,
    previous_digest_hash_algorithm: Option<String>,
    previous_digest_signature: Option<String>,
    log_files: Vec<DigestLogFile>,
    tresor: TresorDigest,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DigestLogFile {
    s3_object: String,
    hash_value: String,
    hash_algorithm: String,
    oldest_event_time: String,
    newest_event_time: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TresorDigest {
    format_version: u32,
    first_seq: u64,
    last_seq: u64,
    #[serde(with = "crate::hex32")]
    first_prev_hash: [u8; 32],
    #[serde(with = "crate::hex32")]
    last_hash: [u8; 32],
    run_last_seq: u64,
    checkpoints: Vec<Checkpoint>,
}

/// Where a new digest chains to.
struct DigestLink {
    rel: String,
    sha256_hex: String,
    signature_hex: String,
}

/// The last digest of an existing export.
struct PreviousExport {
    link: DigestLink,
    last_seq: u64,
    last_hash: [u8; 32],
}

/// The part of an event that places it in the layout.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventPlace {
    event_time: String,
    #[serde(default)]
    recipient_account_id: Option<String>,
    #[serde(default)]
    aws_region: Option<String>,
}

struct Place {
    account: String,
    region: String,
    time: Timestamp,
    day: (i32, u8, u8),
}

fn place_of(record: &AuditRecord) -> Result<Place, ExportError> {
    let bad = |reason: &str| ExportError::BadEvent {
        seq: record.seq,
        reason: reason.to_owned(),
    };
    if !record.event_json.starts_with('{') || !record.event_json.ends_with('}') {
        return Err(bad("its event is not a JSON object"));
    }
    let ev: EventPlace = serde_json::from_str(&record.event_json)
        .map_err(|_| bad("its event has no valid eventTime"))?;
    let time = iso8601_seconds::parse(&ev.event_time).ok_or_else(|| bad("bad eventTime"))?;
    let dt = iso8601_seconds::datetime(time).ok_or_else(|| bad("eventTime out of range"))?;
    let account = ev
        .recipient_account_id
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| "unknown".to_owned());
    let region = ev
        .aws_region
        .filter(|r| {
            (1..=32).contains(&r.len())
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        .unwrap_or_else(|| "unknown".to_owned());
    Ok(Place {
        account,
        region,
        time,
        day: (dt.year(), u8::from(dt.month()), dt.day()),
    })
}

/// The record as it appears in a log file: its event JSON with `"tresorChain"` appended.
fn record_object(record: &AuditRecord) -> Result<String, ExportError> {
    let body = record
        .event_json
        .strip_suffix('}')
        .ok_or_else(|| ExportError::BadEvent {
            seq: record.seq,
            reason: "its event is not a JSON object".to_owned(),
        })?;
    let chain = chain_member(record);
    Ok(format!("{body},\"{CHAIN_MEMBER}\":{chain}}}"))
}

fn chain_member(record: &AuditRecord) -> String {
    // Only integers and hex strings: serialization cannot fail.
    serde_json::to_string(&ExportChain {
        seq: record.seq,
        prev_hash: record.prev_hash,
        hash: record.hash,
        mac: record.mac,
    })
    .unwrap_or_default()
}

/// Recovers the stored record from a log file entry's raw text.
fn parse_record(raw: &str) -> Result<AuditRecord, String> {
    #[derive(Deserialize)]
    struct Carrier {
        #[serde(rename = "tresorChain")]
        chain: ExportChain,
    }
    let carrier: Carrier = serde_json::from_str(raw)
        .map_err(|e| format!("a record has no valid \"{CHAIN_MEMBER}\" member ({e})"))?;
    let c = carrier.chain;
    let record = AuditRecord {
        seq: c.seq,
        prev_hash: c.prev_hash,
        hash: c.hash,
        mac: c.mac,
        event_json: String::new(),
    };
    let suffix = format!(",\"{CHAIN_MEMBER}\":{}}}", chain_member(&record));
    let body = raw.strip_suffix(suffix.as_str()).ok_or_else(|| {
        format!(
            "record {}'s \"{CHAIN_MEMBER}\" member is not the last member in canonical form",
            c.seq
        )
    })?;
    Ok(AuditRecord {
        event_json: format!("{body}}}"),
        ..record
    })
}

fn parse_log_file(bytes: &[u8]) -> Result<Vec<&RawValue>, String> {
    #[derive(Deserialize)]
    struct LogFile<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<&'a RawValue>,
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
    serde_json::from_str::<LogFile<'_>>(text)
        .map(|f| f.records)
        .map_err(|e| format!("not a CloudTrail log file ({e})"))
}

fn minute_stamp(t: Timestamp) -> String {
    iso8601_seconds::datetime(t)
        .map(|dt: OffsetDateTime| {
            format!(
                "{:04}{:02}{:02}T{:02}{:02}Z",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute()
            )
        })
        .unwrap_or_default()
}

fn iso(t: Timestamp) -> String {
    iso8601_seconds::format(t).unwrap_or_default()
}

/// A log file being filled.
struct Segment {
    account: String,
    region: String,
    day: (i32, u8, u8),
    objects: Vec<String>,
    first_seq: u64,
    first_prev_hash: [u8; 32],
    last_seq: u64,
    last_hash: [u8; 32],
    oldest: Timestamp,
    newest: Timestamp,
}

impl Segment {
    fn new(record: &AuditRecord, place: &Place) -> Self {
        Self {
            account: place.account.clone(),
            region: place.region.clone(),
            day: place.day,
            objects: Vec::new(),
            first_seq: record.seq,
            first_prev_hash: record.prev_hash,
            last_seq: record.seq,
            last_hash: record.hash,
            oldest: place.time,
            newest: place.time,
        }
    }

    fn accepts(&self, place: &Place, max: usize) -> bool {
        self.objects.len() < max
            && self.account == place.account
            && self.region == place.region
            && self.day == place.day
    }

    fn add(&mut self, record: &AuditRecord, place: &Place) -> Result<(), ExportError> {
        self.objects.push(record_object(record)?);
        self.last_seq = record.seq;
        self.last_hash = record.hash;
        self.oldest = self.oldest.min(place.time);
        self.newest = self.newest.max(place.time);
        Ok(())
    }

    fn rel_path(&self, kind: &str) -> String {
        let (y, m, d) = self.day;
        format!(
            "{LOGS_ROOT}/{acct}/{kind}/{region}/{y:04}/{m:02}/{d:02}/{acct}_{kind}_{region}_{stamp}_{seq:020}.json",
            acct = self.account,
            region = self.region,
            stamp = minute_stamp(self.newest),
            seq = self.first_seq,
        )
    }
}

/// A log file written by this run, waiting for its digest.
struct WrittenLog {
    rel: String,
    sha256_hex: String,
    digest_rel: String,
    account: String,
    oldest: Timestamp,
    newest: Timestamp,
    first_seq: u64,
    first_prev_hash: [u8; 32],
    last_seq: u64,
    last_hash: [u8; 32],
}

fn write_segment(out: &Path, seg: Segment) -> Result<WrittenLog, ExportError> {
    let rel = seg.rel_path("CloudTrail");
    let mut body =
        String::with_capacity(seg.objects.iter().map(|o| o.len() + 1).sum::<usize>() + 16);
    body.push_str("{\"Records\":[");
    body.push_str(&seg.objects.join(","));
    body.push_str("]}");
    write_file(out, &rel, body.as_bytes())?;
    Ok(WrittenLog {
        sha256_hex: hex::encode(sha256(body.as_bytes())),
        digest_rel: seg.rel_path("CloudTrail-Digest"),
        rel,
        account: seg.account,
        oldest: seg.oldest,
        newest: seg.newest,
        first_seq: seg.first_seq,
        first_prev_hash: seg.first_prev_hash,
        last_seq: seg.last_seq,
        last_hash: seg.last_hash,
    })
}

/// Writes `bytes` to `out/rel` through a temporary file, fsynced and renamed into place.
fn write_file(out: &Path, rel: &str, bytes: &[u8]) -> Result<(), ExportError> {
    let path = out.join(rel);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Io { path, source }
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = fs::File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(io(&path))
}

/// Relative paths (`AWSLogs/<account>/CloudTrail-Digest/…/*.json`) of every digest under `dir`,
/// sorted. Symbolic links are not followed.
fn digest_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut found = Vec::new();
    let root = dir.join(LOGS_ROOT);
    if !root.is_dir() {
        return Ok(found);
    }
    let mut stack = vec![(root, LOGS_ROOT.to_owned())];
    while let Some((path, rel)) = stack.pop() {
        for entry in fs::read_dir(&path)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let child_rel = format!("{rel}/{name}");
            let ft = entry.file_type()?;
            if ft.is_dir() {
                stack.push((entry.path(), child_rel));
            } else if ft.is_file()
                && name.ends_with(".json")
                && child_rel.split('/').nth(2) == Some("CloudTrail-Digest")
            {
                found.push(child_rel);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// A relative path Tresor could have written: under `AWSLogs/`, no `.`/`..`/empty components.
fn is_safe_rel(rel: &str) -> bool {
    rel.starts_with("AWSLogs/")
        && !rel.contains('\\')
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn read_signature(dir: &Path, rel: &str) -> Option<[u8; 64]> {
    let text = fs::read_to_string(dir.join(format!("{rel}.sig"))).ok()?;
    let mut sig = [0u8; 64];
    hex::decode_to_slice(text.trim(), &mut sig).ok()?;
    Some(sig)
}

struct LoadedDigest {
    rel: String,
    sha256: [u8; 32],
    digest: Digest,
    signature: Option<[u8; 64]>,
}

impl LoadedDigest {
    fn signature_ok(&self, public_key: &PublicKey) -> bool {
        self.signature.is_some_and(|sig| {
            let msg = digest_signature_message(
                &self.rel,
                &self.sha256,
                self.digest.previous_digest_signature.as_deref(),
            );
            verify_ed25519(public_key.as_bytes(), &msg, &sig)
        })
    }

    fn link(&self) -> DigestLink {
        DigestLink {
            rel: self.rel.clone(),
            sha256_hex: hex::encode(self.sha256),
            signature_hex: self.signature.map(hex::encode).unwrap_or_default(),
        }
    }
}

/// Loads every digest under `dir`: the parsed ones, and the paths of those that do not parse.
fn load_digests(dir: &Path) -> std::io::Result<(Vec<LoadedDigest>, Vec<String>)> {
    let mut loaded = Vec::new();
    let mut unreadable = Vec::new();
    for rel in digest_files(dir)? {
        let bytes = fs::read(dir.join(&rel))?;
        match serde_json::from_slice::<Digest>(&bytes) {
            Ok(digest) => loaded.push(LoadedDigest {
                signature: read_signature(dir, &rel),
                sha256: sha256(&bytes),
                rel,
                digest,
            }),
            Err(_) => unreadable.push(rel),
        }
    }
    loaded.sort_by_key(|d| (d.digest.tresor.first_seq, d.digest.tresor.last_seq));
    Ok((loaded, unreadable))
}

fn previous_export(
    out: &Path,
    public_key: &PublicKey,
) -> Result<Option<PreviousExport>, ExportError> {
    let (loaded, unreadable) = load_digests(out).map_err(|source| ExportError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    if let Some(rel) = unreadable.first() {
        return Err(ExportError::Diverged(format!(
            "digest {rel} cannot be parsed"
        )));
    }
    let Some(last) = loaded.last() else {
        return Ok(None);
    };
    if !last.signature_ok(public_key) {
        return Err(ExportError::Diverged(format!(
            "the last digest {} is not signed by this store's audit key",
            last.rel
        )));
    }
    Ok(Some(PreviousExport {
        link: last.link(),
        last_seq: last.digest.tresor.last_seq,
        last_hash: last.digest.tresor.last_hash,
    }))
}

/// Exports the chain to `out` as CloudTrail log files with signed digests (layout in the
/// module docs), or continues an earlier export there.
///
/// `records` is the whole chain in seq order (records already exported are verified and
/// skipped); `checkpoints` the stored checkpoints. The records are verified while writing
/// (with the MAC key if given) and a chain that does not verify is not exported. `signing_key`
/// signs the digests ([`crate::signing_key`]); its public half verifies the export.
pub fn export(
    out: &Path,
    records: impl IntoIterator<Item = AuditRecord>,
    checkpoints: &[Checkpoint],
    signing_key: &Ed25519SigningKey,
    mac_key: Option<&SecretBytes>,
    options: &ExportOptions,
) -> Result<ExportSummary, ExportError> {
    let public_key = PublicKey::from_signing_key(signing_key);
    let previous = previous_export(out, &public_key)?;
    let skip_through = previous.as_ref().map_or(0, |p| p.last_seq);
    let max = options.max_records_per_file.max(1);
    let mut verifier = ChainVerifier::new(checkpoints, mac_key, &public_key);
    let mut segment: Option<Segment> = None;
    let mut written = Vec::new();
    let mut records_written = 0u64;
    for record in records {
        verifier.push(&record)?;
        if verifier.is_failing() {
            continue;
        }
        if record.seq <= skip_through {
            if let Some(p) = previous.as_ref().filter(|p| p.last_seq == record.seq) {
                if p.last_hash != record.hash {
                    return Err(ExportError::Diverged(format!(
                        "record {} has another hash than the exported one",
                        record.seq
                    )));
                }
            }
            continue;
        }
        let place = place_of(&record)?;
        match segment.as_mut() {
            Some(seg) if seg.accepts(&place, max) => seg.add(&record, &place)?,
            _ => {
                if let Some(full) = segment.take() {
                    written.push(write_segment(out, full)?);
                }
                let mut seg = Segment::new(&record, &place);
                seg.add(&record, &place)?;
                segment = Some(seg);
            }
        }
        records_written += 1;
    }
    let report = verifier.finish()?;
    if report.last_seq < skip_through {
        return Err(ExportError::Diverged(format!(
            "the chain ends at seq {} but the export already holds records up to seq {skip_through}",
            report.last_seq
        )));
    }
    if let Some(seg) = segment.take() {
        written.push(write_segment(out, seg)?);
    }

    let fingerprint = public_key.fingerprint();
    let mut previous_link = previous.map(|p| p.link);
    let mut digest_files = Vec::with_capacity(written.len());
    for log in &written {
        let mut cps: Vec<Checkpoint> = checkpoints
            .iter()
            .filter(|cp| (log.first_seq..=log.last_seq).contains(&cp.seq))
            .cloned()
            .collect();
        cps.sort_by_key(|cp| (cp.seq, cp.time));
        cps.dedup();
        let digest = Digest {
            aws_account_id: log.account.clone(),
            digest_start_time: iso(log.oldest),
            digest_end_time: iso(log.newest),
            digest_s3_object: log.digest_rel.clone(),
            digest_public_key_fingerprint: fingerprint.clone(),
            digest_signature_algorithm: "Ed25519".to_owned(),
            newest_event_time: iso(log.newest),
            oldest_event_time: iso(log.oldest),
            previous_digest_s3_object: previous_link.as_ref().map(|l| l.rel.clone()),
            previous_digest_hash_value: previous_link.as_ref().map(|l| l.sha256_hex.clone()),
            previous_digest_hash_algorithm: previous_link.as_ref().map(|_| "SHA-256".to_owned()),
            previous_digest_signature: previous_link.as_ref().map(|l| l.signature_hex.clone()),
            log_files: vec![DigestLogFile {
                s3_object: log.rel.clone(),
                hash_value: log.sha256_hex.clone(),
                hash_algorithm: "SHA-256".to_owned(),
                oldest_event_time: iso(log.oldest),
                newest_event_time: iso(log.newest),
            }],
            tresor: TresorDigest {
                format_version: FORMAT_VERSION,
                first_seq: log.first_seq,
                last_seq: log.last_seq,
                first_prev_hash: log.first_prev_hash,
                last_hash: log.last_hash,
                run_last_seq: report.last_seq,
                checkpoints: cps,
            },
        };
        let bytes = serde_json::to_vec_pretty(&digest).map_err(|e| ExportError::BadEvent {
            seq: log.first_seq,
            reason: format!("its digest cannot be serialized ({e})"),
        })?;
        let digest_sha = sha256(&bytes);
        let signature = signing_key.sign(&digest_signature_message(
            &log.digest_rel,
            &digest_sha,
            digest.previous_digest_signature.as_deref(),
        ));
        let signature_hex = hex::encode(signature);
        write_file(
            out,
            &format!("{}.sig", log.digest_rel),
            format!("{signature_hex}\n").as_bytes(),
        )?;
        write_file(out, &log.digest_rel, &bytes)?;
        digest_files.push(log.digest_rel.clone());
        previous_link = Some(DigestLink {
            rel: log.digest_rel.clone(),
            sha256_hex: hex::encode(digest_sha),
            signature_hex,
        });
    }
    Ok(ExportSummary {
        records_written,
        log_files: written.into_iter().map(|l| l.rel).collect(),
        digest_files,
        last_seq: report.last_seq,
    })
}

/// Verifies an export with the public key only (`tresor audit verify --export-dir OUT
/// --public-key FILE`). See [`verify_export_with`].
pub fn verify_export(dir: &Path, public_key: &PublicKey) -> Result<VerifyReport, VerifyError> {
    verify_export_with(dir, public_key, None)
}

/// Verifies an export; with `mac_key`, record MACs are checked too.
///
/// 1. Digests, in `firstSeq` order: each signature (bound to the digest's path, bytes and the
///    previous signature); contiguous seq ranges from 1 (a gap is a deleted digest and log
///    file); `previousDigest*` and `firstPrevHash` chaining to the previous digest.
/// 2. Records, streamed file by file through the chain checks of [`crate::verify_live`]
///    (including the store checkpoints carried in the digests); after each digest's files, the
///    chain's head must be the digest's `lastSeq`/`lastHash` and each file's SHA-256 its
///    `hashValue`.
/// 3. The chain must reach the `runLastSeq` every digest states (truncation).
pub fn verify_export_with(
    dir: &Path,
    public_key: &PublicKey,
    mac_key: Option<&SecretBytes>,
) -> Result<VerifyReport, VerifyError> {
    let (digests, unreadable) = load_digests(dir).map_err(|e| {
        VerifyError::new(
            1,
            TamperKind::Malformed,
            format!("cannot read the export's digests: {e}"),
        )
    })?;
    if digests.is_empty() && unreadable.is_empty() {
        return Err(VerifyError::new(
            1,
            TamperKind::Deleted,
            format!(
                "no digest files under {}/AWSLogs/*/CloudTrail-Digest: nothing is vouched for",
                dir.display()
            ),
        ));
    }

    // 1. The digest chain.
    let signature_ok: Vec<bool> = digests.iter().map(|d| d.signature_ok(public_key)).collect();
    let first_bad_signature = digests
        .iter()
        .zip(&signature_ok)
        .find(|(_, ok)| !**ok)
        .map(|(d, _)| d.rel.clone());
    let mut expected = 1u64;
    let mut prev: Option<&LoadedDigest> = None;
    let mut run_last = 0u64;
    let mut checkpoints = Vec::new();
    for (d, sig_ok) in digests.iter().zip(&signature_ok) {
        let t = &d.digest.tresor;
        if !sig_ok {
            return Err(bad_digest(expected, &d.rel));
        }
        if t.first_seq > expected {
            if let Some(rel) = &first_bad_signature {
                return Err(bad_digest(expected, rel));
            }
            if let Some(rel) = unreadable.first() {
                return Err(unparseable_digest(expected, rel));
            }
            return Err(VerifyError::new(
                expected,
                TamperKind::Deleted,
                format!(
                    "no digest covers records {expected}..={}: a digest and its log file are \
                     missing before {}",
                    t.first_seq - 1,
                    d.rel
                ),
            ));
        }
        // Seqs start at 1: a digest from 0 is malformed, not an overlap with an earlier one
        // (the first digest has none).
        if t.first_seq == 0 {
            return Err(malformed_digest(expected, &d.rel));
        }
        if t.first_seq < expected {
            return Err(VerifyError::new(
                t.first_seq,
                TamperKind::Inserted,
                format!(
                    "digest {} covers records from seq {} that an earlier digest already covers",
                    d.rel, t.first_seq
                ),
            ));
        }
        if t.format_version != FORMAT_VERSION
            || t.last_seq < t.first_seq
            || t.run_last_seq < t.last_seq
            || d.digest.digest_s3_object != d.rel
            || !d.digest.log_files.iter().all(|f| is_safe_rel(&f.s3_object))
        {
            return Err(malformed_digest(expected, &d.rel));
        }
        let chained = match prev {
            None => {
                d.digest.previous_digest_s3_object.is_none()
                    && d.digest.previous_digest_hash_value.is_none()
                    && d.digest.previous_digest_signature.is_none()
                    && t.first_prev_hash == [0u8; 32]
            }
            Some(p) => {
                let link = p.link();
                d.digest.previous_digest_s3_object.as_deref() == Some(link.rel.as_str())
                    && d.digest.previous_digest_hash_value.as_deref()
                        == Some(link.sha256_hex.as_str())
                    && d.digest.previous_digest_signature.as_deref()
                        == Some(link.signature_hex.as_str())
                    && t.first_prev_hash == p.digest.tresor.last_hash
            }
        };
        if !chained {
            return Err(VerifyError::new(
                expected,
                TamperKind::DigestChainBroken,
                format!(
                    "digest {} does not chain to {}",
                    d.rel,
                    prev.map_or("the start of the export", |p| p.rel.as_str())
                ),
            ));
        }
        checkpoints.extend(t.checkpoints.iter().cloned());
        run_last = run_last.max(t.run_last_seq);
        expected = t.last_seq.saturating_add(1);
        prev = Some(d);
    }
    if let Some(rel) = unreadable.first() {
        return Err(unparseable_digest(expected, rel));
    }

    // 2. The records.
    let mut verifier = ChainVerifier::new(&checkpoints, mac_key, public_key);
    let mut log_files = 0u64;
    let last_index = digests.len().saturating_sub(1);
    for (i, d) in digests.iter().enumerate() {
        let t = &d.digest.tresor;
        let mut file_hashes = Vec::new();
        for lf in &d.digest.log_files {
            let file_first = verifier.head().seq.saturating_add(1);
            let bytes = match fs::read(dir.join(&lf.s3_object)) {
                Ok(bytes) => bytes,
                Err(e) => {
                    if let Some(err) = verifier.pending_error() {
                        return Err(err);
                    }
                    return Err(VerifyError::new(
                        file_first,
                        TamperKind::Deleted,
                        format!(
                            "log file {} (records {file_first}..={}) cannot be read: {e}",
                            lf.s3_object, t.last_seq
                        ),
                    ));
                }
            };
            let raws = match parse_log_file(&bytes) {
                Ok(raws) => raws,
                Err(msg) => {
                    if let Some(err) = verifier.pending_error() {
                        return Err(err);
                    }
                    return Err(VerifyError::new(
                        file_first,
                        TamperKind::Malformed,
                        format!("log file {}: {msg}", lf.s3_object),
                    ));
                }
            };
            for raw in raws {
                let record = match parse_record(raw.get()) {
                    Ok(record) => record,
                    Err(msg) => {
                        if let Some(err) = verifier.pending_error() {
                            return Err(err);
                        }
                        return Err(VerifyError::new(
                            verifier.head().seq.saturating_add(1),
                            TamperKind::Malformed,
                            format!("log file {}: {msg}", lf.s3_object),
                        ));
                    }
                };
                verifier.push(&record)?;
            }
            log_files += 1;
            let hash_ok = hex::encode(sha256(&bytes)) == lf.hash_value;
            file_hashes.push((lf.s3_object.as_str(), hash_ok, file_first));
        }
        if verifier.is_failing() {
            continue;
        }
        let head = verifier.head();
        if head.seq < t.last_seq {
            let first = head.seq.saturating_add(1);
            let kind = if i == last_index {
                TamperKind::Truncated
            } else {
                TamperKind::Deleted
            };
            return Err(VerifyError::new(
                first,
                kind,
                format!(
                    "records {first}..={} listed by digest {} are missing from its log file",
                    t.last_seq, d.rel
                ),
            ));
        }
        if head.seq > t.last_seq {
            return Err(VerifyError::new(
                t.last_seq.saturating_add(1),
                TamperKind::Inserted,
                format!(
                    "the log file of digest {} holds records after seq {}, its last",
                    d.rel, t.last_seq
                ),
            ));
        }
        if let Some((rel, _, first)) = file_hashes.iter().find(|(_, ok, _)| !ok) {
            return Err(VerifyError::new(
                *first,
                TamperKind::LogFileModified,
                format!(
                    "log file {rel} differs from the SHA-256 its signed digest lists: records \
                     {first}..={} were rewritten (and re-hashed)",
                    t.last_seq
                ),
            ));
        }
        if head.hash != t.last_hash {
            return Err(VerifyError::new(
                t.last_seq,
                TamperKind::DigestMismatch,
                format!(
                    "record {}'s hash differs from the one digest {} signs",
                    t.last_seq, d.rel
                ),
            ));
        }
    }
    let mut report = verifier.finish()?;

    // 3. Truncation against the signed run end.
    if report.last_seq < run_last {
        let first = report.last_seq.saturating_add(1);
        return Err(VerifyError::new(
            first,
            TamperKind::Truncated,
            format!(
                "the export ends at seq {} but a signed digest states its export run reached \
                 seq {run_last}: records {first}..={run_last} and their files are missing",
                report.last_seq
            ),
        ));
    }
    report.log_files = log_files;
    report.digests = digests.len() as u64;
    report.signed_through = prev.map_or(0, |p| p.digest.tresor.last_seq);
    Ok(report)
}

fn bad_digest(seq: u64, rel: &str) -> VerifyError {
    VerifyError::new(
        seq,
        TamperKind::BadDigestSignature,
        format!("digest {rel} was modified, or its signature is missing or invalid"),
    )
}

fn malformed_digest(seq: u64, rel: &str) -> VerifyError {
    VerifyError::new(
        seq,
        TamperKind::Malformed,
        format!("digest {rel} is not in the format Tresor writes"),
    )
}

fn unparseable_digest(seq: u64, rel: &str) -> VerifyError {
    VerifyError::new(
        seq,
        TamperKind::Malformed,
        format!("digest {rel} cannot be parsed"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::chain::link;

    #[test]
    fn record_object_round_trips_byte_exactly() {
        let key = SecretBytes::from_slice(&[1u8; 32]);
        let json = r#"{"eventVersion":"1.08","eventTime":"2026-11-28T15:00:00Z","x":"a}\"b"}"#;
        let r = link(None, json.to_owned(), &key);
        let obj = record_object(&r).unwrap();
        assert!(obj.starts_with(r#"{"eventVersion":"1.08""#));
        assert!(obj.contains(r#","tresorChain":{"seq":1,"prevHash":"000"#));
        let back = parse_record(&obj).unwrap();
        assert_eq!(back, r);
        // Any other placement or formatting of the member is rejected.
        let moved = obj.replacen("{\"eventVersion", "{ \"eventVersion", 1);
        assert_eq!(
            parse_record(&moved).unwrap().event_json,
            format!("{{ {}", &json[1..])
        );
        assert!(parse_record(&obj.replace("\"tresorChain\":{", "\"tresorChain\": {")).is_err());
        assert!(parse_record(r#"{"a":1}"#).is_err());
    }

    #[test]
    fn places_are_sanitized() {
        let key = SecretBytes::from_slice(&[1u8; 32]);
        let r = link(
            None,
            r#"{"eventTime":"2026-11-28T15:04:05Z","recipientAccountId":"../../etc","awsRegion":"../x"}"#.to_owned(),
            &key,
        );
        let p = place_of(&r).unwrap();
        assert_eq!(
            (p.account.as_str(), p.region.as_str()),
            ("unknown", "unknown")
        );
        assert_eq!(p.day, (2026, 11, 28));
        assert_eq!(minute_stamp(p.time), "20261128T1504Z");
        let none = link(None, r#"{"eventTime":"yesterday"}"#.to_owned(), &key);
        assert!(matches!(
            place_of(&none),
            Err(ExportError::BadEvent { seq: 1, .. })
        ));
        assert!(is_safe_rel("AWSLogs/a/b.json"));
        for bad in [
            "/AWSLogs/a",
            "AWSLogs/../x",
            "AWSLogs//x",
            "x/AWSLogs/a",
            "AWSLogs/a\\b",
        ] {
            assert!(!is_safe_rel(bad), "{bad}");
        }
    }
}
