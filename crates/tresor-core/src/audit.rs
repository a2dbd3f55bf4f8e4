//! The audit log: every request leaves one CloudTrail-shaped record, durable before the
//! response leaves (fail-closed).
//!
//! Requests that change nothing hand their event to [`AuditLog::record`] and wait. One writer
//! thread takes all waiting events at once (group commit), links them into the hash chain
//! (`tresor-audit`) after the head it reads inside the store transaction, appends them in that
//! one transaction (one fsync), and wakes every waiter with the result. Requests that change
//! state append their record with [`record_in_transaction`] inside the transaction that makes
//! the change, so a change is never committed without its record. The writer thread also signs
//! a checkpoint of the chain head at least every minute and at shutdown.
//!
//! A batch that cannot be written (a full disk) fails its requests with a server error; the
//! writer keeps their records, rewritten as those failures, and appends them once it can write
//! again ([`late`]).
//!
//! The writer also keeps the trail's lookup indexes up to date ([`AuditStore::index_audit`]):
//! after every [`INDEX_EVERY`] records appended (its own and those appended in transactions),
//! when it has been idle for a moment, and at shutdown. A store that keeps them as derived data
//! writes them then, in one batch, instead of in every group commit that answers wait for.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tresor_audit::{AuditEvent, ChainHead};
use tresor_crypto::Ed25519SigningKey;
use tresor_store::{AuditRow, AuditStore, CheckpointRow, Store, StoreError};
use tresor_types::{AccountId, SecretBytes, Timestamp};

use crate::metrics::AuditMetrics;
use crate::{CoreError, StoreBackend};

mod late;
mod lost;

/// Most records one transaction takes.
const MAX_BATCH: usize = 512;
/// How often the chain head is signed while records arrive, unless the core is started with
/// another interval.
pub(crate) const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);
/// Records appended between two indexing batches: bounds the trail's unindexed tail, which
/// every lookup reads without an index.
const INDEX_EVERY: usize = 256;
/// Most records one indexing batch takes (a tail left by a crash is indexed in such steps).
const INDEX_BATCH: usize = 4096;
/// How long the writer waits, idle, before it indexes records appended since its last batch.
const INDEX_WHEN_IDLE: Duration = Duration::from_secs(1);
/// How often the writer, idle, tries again to append the records of failed requests.
const LATE_RETRY: Duration = Duration::from_secs(1);

enum Job {
    Append {
        row: Box<PendingRow>,
        done: oneshot::Sender<Result<(), String>>,
    },
    /// A secret version was read on a day not yet recorded as its `LastAccessedDate`.
    Touch(Touch),
    /// A gateway call whose key holds nothing used this much (see [`AuditLog::add_usage`]).
    Usage(tresor_store::UsageDelta),
    /// Records appended in transactions reached [`INDEX_EVERY`].
    Index,
    /// Records were appended in transactions since the writer last indexed: it may be asleep
    /// until its next checkpoint, and must wake to index them once idle.
    Wake,
    Shutdown,
}

/// A `LastAccessedDate` to record. It rides in the next group commit instead of costing a
/// write transaction (and an fsync) of its own: the read that caused it queues it before its
/// own audit record, so it is durable before that read is answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Touch {
    pub arn: String,
    pub version_id: String,
    pub day: Timestamp,
}

/// An event serialized and indexed, waiting for its place in the chain.
struct PendingRow {
    event_json: String,
    event: AuditEvent,
}

pub struct AuditLog {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    metrics: Arc<AuditMetrics>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Records appended since the writer last indexed, shared with it.
    unindexed: Arc<AtomicUsize>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

fn head_of(store: &StoreBackend) -> Result<Option<ChainHead>, StoreError> {
    Ok(store.audit_head()?.and_then(|(seq, hash)| {
        let hash: [u8; 32] = hash.try_into().ok()?;
        Some(ChainHead { seq, hash })
    }))
}

fn row_of(record: tresor_audit::AuditRecord, event: &AuditEvent) -> AuditRow {
    let identity = &event.user_identity;
    let username = identity
        .user_name
        .clone()
        .or_else(|| match identity.identity_type {
            tresor_audit::IdentityType::Root => Some("root".to_owned()),
            _ => None,
        });
    AuditRow {
        seq: record.seq,
        prev_hash: record.prev_hash.to_vec(),
        hash: record.hash.to_vec(),
        mac: record.mac.to_vec(),
        event_json: record.event_json,
        event_time: event.event_time,
        event_id: event.event_id.to_string(),
        event_name: event.event_name.clone(),
        event_source: event.event_source.clone(),
        account: AccountId::parse(&event.recipient_account_id).ok(),
        read_only: event.read_only,
        username,
        access_key_id: identity.access_key_id.clone(),
        resources: event
            .resources
            .iter()
            .map(|r| (r.resource_type.clone(), r.arn.clone()))
            .collect(),
    }
}

struct Writer {
    store: Arc<StoreBackend>,
    mac_key: SecretBytes,
    signing_key: Ed25519SigningKey,
    checkpointed: Option<u64>,
    last_checkpoint: Instant,
    checkpoint_every: Duration,
    unindexed: Arc<AtomicUsize>,
    /// Records of requests whose batch failed, to append once the store takes writes again.
    late: late::Late,
    metrics: Arc<AuditMetrics>,
}

/// Link `batch` after `head` (as the store reports it inside its write transaction).
fn link_rows(
    head: Option<(u64, Vec<u8>)>,
    batch: &[PendingRow],
    mac_key: &SecretBytes,
) -> Vec<AuditRow> {
    let mut head = head.and_then(|(seq, hash)| {
        Some(ChainHead {
            seq,
            hash: hash.try_into().ok()?,
        })
    });
    batch
        .iter()
        .map(|p| {
            let record = tresor_audit::link(head.as_ref(), p.event_json.clone(), mac_key);
            head = Some(record.head());
            row_of(record, &p.event)
        })
        .collect()
}

/// Append `batch` to the chain now, on the calling thread. Inside `Store::atomically` this
/// commits (or rolls back) with the caller's other writes.
fn append_now(
    store: &StoreBackend,
    batch: &[PendingRow],
    mac_key: &SecretBytes,
) -> Result<(), StoreError> {
    store.append_audit_with(&mut |head| link_rows(head, batch, mac_key))
}

impl Writer {
    fn append(&self, batch: &[PendingRow]) -> Result<(), String> {
        append_now(&self.store, batch, &self.mac_key).map_err(|e| e.to_string())
    }

    /// Answer records of changes that never committed (see [`lost`]). A failure is retried at
    /// the next checkpoint: until then the store keeps reporting them.
    fn reconcile(&self) -> usize {
        match lost::reconcile(&self.store, &self.mac_key) {
            Ok(groups) => groups,
            Err(e) => {
                tracing::error!(error = %e, "answering records of uncommitted changes failed");
                0
            }
        }
    }

    fn checkpoint(&mut self) {
        self.reconcile();
        // Only the store knows the head: requests that change state append their own records,
        // and an append that returned `Ok` inside `atomically` is undone if the commit fails
        // (a full disk), so a head kept here could name records that were never written, and
        // a checkpoint signed over it would break the trail's verification.
        let head = match head_of(&self.store) {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "reading the audit chain head for a checkpoint failed");
                return;
            }
        };
        if self.checkpointed == Some(head.seq) {
            return;
        }
        let cp = tresor_audit::sign_checkpoint(&head, Timestamp::now(), &self.signing_key);
        let row = CheckpointRow {
            seq: cp.seq,
            hash: cp.hash.to_vec(),
            time: cp.time,
            signature: cp.signature.to_vec(),
        };
        match self.store.put_checkpoint(&row) {
            Ok(()) | Err(StoreError::Conflict) => {
                self.checkpointed = Some(head.seq);
                self.last_checkpoint = Instant::now();
            }
            Err(e) => tracing::error!(error = %e, "writing an audit checkpoint failed"),
        }
    }

    /// Index one batch of the trail's tail. A failure costs lookups speed, never records: the
    /// tail stays readable and the next batch tries again.
    fn index(&mut self) {
        self.unindexed.store(0, Ordering::Relaxed);
        match self.store.index_audit(INDEX_BATCH) {
            // More may be left (a tail from before a restart): the next commit goes on.
            Ok(INDEX_BATCH) => {
                self.unindexed.fetch_add(INDEX_EVERY, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "indexing the audit trail failed"),
        }
    }

    /// Index the whole tail (at shutdown): batches until one leaves nothing counted, which a
    /// short batch or a failure does.
    fn index_all(&mut self) {
        self.index();
        while self.unindexed.load(Ordering::Relaxed) > 0 {
            self.index();
        }
    }

    fn run(mut self, jobs: Receiver<Job>) {
        let mut shutdown = false;
        while !shutdown {
            let to_checkpoint = self
                .checkpoint_every
                .saturating_sub(self.last_checkpoint.elapsed());
            let mut wait = if self.unindexed.load(Ordering::Relaxed) > 0 {
                to_checkpoint.min(INDEX_WHEN_IDLE)
            } else {
                to_checkpoint
            };
            if !self.late.is_empty() {
                wait = wait.min(LATE_RETRY);
            }
            let first = match jobs.recv_timeout(wait) {
                Ok(job) => job,
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let appended = self.append_late();
                    self.unindexed.fetch_add(appended, Ordering::Relaxed);
                    if self.unindexed.load(Ordering::Relaxed) > 0 {
                        self.index();
                    }
                    if self.last_checkpoint.elapsed() >= self.checkpoint_every {
                        self.checkpoint();
                        self.last_checkpoint = Instant::now();
                    }
                    continue;
                }
            };
            let mut batch = Batch::default();
            shutdown = batch.take(first);
            while !shutdown && batch.rows.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => shutdown = batch.take(job),
                    Err(_) => break,
                }
            }
            let index = batch.index;
            let appended = self.commit(batch);
            let unindexed = self.unindexed.fetch_add(appended, Ordering::Relaxed) + appended;
            if index || unindexed >= INDEX_EVERY {
                self.index();
            }
            if self.last_checkpoint.elapsed() >= self.checkpoint_every {
                self.checkpoint();
            }
        }
        let appended = self.append_late();
        self.unindexed.fetch_add(appended, Ordering::Relaxed);
        if !self.late.is_empty() {
            tracing::error!(
                records = self.late.len(),
                "stopping with records of failed requests that could not be written"
            );
        }
        self.index_all();
        self.checkpoint();
    }

    /// Append the records of failed requests, oldest first, while appends succeed; how many
    /// were appended.
    fn append_late(&mut self) -> usize {
        let mut appended = 0;
        while let Some(rows) = self.late.oldest(MAX_BATCH) {
            let n = rows.len();
            if let Err(e) = append_now(&self.store, rows, &self.mac_key) {
                tracing::warn!(
                    error = %e,
                    waiting = self.late.len(),
                    "records of failed requests still cannot be written"
                );
                break;
            }
            self.late.appended(n);
            self.metrics.appended(n);
            appended += n;
        }
        appended
    }

    /// Write one batch in one transaction and tell every waiter how it went, then any records
    /// of failed requests; how many records were appended.
    fn commit(&mut self, batch: Batch) -> usize {
        let Batch {
            rows,
            waiters,
            touches,
            usage,
            index: _,
        } = batch;
        self.metrics.taken(rows.len());
        let started = Instant::now();
        if !touches.is_empty() || !usage.is_empty() {
            let store = self.store.clone();
            let touched = store.atomically(|| {
                let result = if rows.is_empty() {
                    Ok(())
                } else {
                    self.append(&rows)
                };
                for t in &touches {
                    // A secret deleted since it was read has nothing to touch; a failed touch
                    // costs a date, never the records.
                    if let Err(e) = store.touch_secret(&t.arn, &t.version_id, t.day) {
                        tracing::warn!(error = %e, "recording LastAccessedDate failed");
                    }
                }
                if !usage.is_empty() {
                    // Like a touch, a failed ledger update costs a counter, never the records
                    // (which carry each call's figures).
                    let deltas: Vec<_> = usage.into_values().collect();
                    if let Err(e) = tresor_store::GatewayStore::add_usage(&*store, &deltas) {
                        tracing::warn!(error = %e, "recording gateway usage failed");
                    }
                }
                result.map_err(StoreError::Backend)
            });
            let result = touched.map_err(|e| e.to_string());
            self.metrics
                .committed(rows.len(), started.elapsed(), result.is_ok());
            return self.settle(result, rows, waiters);
        }
        if rows.is_empty() {
            return 0;
        }
        let result = self.append(&rows);
        self.metrics
            .committed(rows.len(), started.elapsed(), result.is_ok());
        self.settle(result, rows, waiters)
    }

    /// Answer a batch's waiters; keep its records for later if it failed, else append those
    /// kept from before. How many records were appended.
    fn settle(
        &mut self,
        result: Result<(), String>,
        rows: Vec<PendingRow>,
        waiters: Vec<oneshot::Sender<Result<(), String>>>,
    ) -> usize {
        let failed = result.is_err();
        let appended = self.answer(result, rows.len(), waiters);
        if failed {
            self.late.defer(rows);
            return appended;
        }
        appended + self.append_late()
    }

    /// Tell the waiters; how many records were appended (0 when the append failed).
    fn answer(
        &self,
        result: Result<(), String>,
        records: usize,
        waiters: Vec<oneshot::Sender<Result<(), String>>>,
    ) -> usize {
        let appended = match &result {
            Ok(()) => records,
            Err(e) => {
                tracing::error!(error = %e, records, "audit append failed; failing the requests");
                0
            }
        };
        for w in waiters {
            let _ = w.send(result.clone());
        }
        appended
    }
}

/// What one group commit writes.
#[derive(Default)]
struct Batch {
    rows: Vec<PendingRow>,
    waiters: Vec<oneshot::Sender<Result<(), String>>>,
    touches: std::collections::HashSet<Touch>,
    /// Gateway use to add to the ledgers, summed by (scope, period).
    usage: std::collections::HashMap<(String, i64), tresor_store::UsageDelta>,
    /// Asked to index after this batch.
    index: bool,
}

impl Batch {
    /// Add a job; `true` when it asks the writer to stop after this batch.
    fn take(&mut self, job: Job) -> bool {
        match job {
            Job::Append { row, done } => {
                self.rows.push(*row);
                self.waiters.push(done);
                false
            }
            Job::Touch(t) => {
                self.touches.insert(t);
                false
            }
            Job::Usage(d) => {
                match self.usage.entry((d.scope.clone(), d.period_start)) {
                    std::collections::hash_map::Entry::Occupied(mut e) => {
                        let sum = e.get_mut();
                        sum.cost_micro_usd += d.cost_micro_usd;
                        sum.input_tokens += d.input_tokens;
                        sum.output_tokens += d.output_tokens;
                        sum.requests += d.requests;
                    }
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(d);
                    }
                }
                false
            }
            Job::Index => {
                self.index = true;
                false
            }
            Job::Wake => false,
            Job::Shutdown => true,
        }
    }
}

impl AuditLog {
    /// Start the writer thread, signing the chain head every `checkpoint_every` while records
    /// arrive.
    pub fn start(
        store: Arc<StoreBackend>,
        mac_key: SecretBytes,
        signing_key: Ed25519SigningKey,
        checkpoint_every: Duration,
        metrics: Arc<AuditMetrics>,
    ) -> Result<Self, CoreError> {
        let checkpointed = store.list_checkpoints()?.last().map(|c| c.seq);
        let writer = Writer {
            store,
            mac_key,
            signing_key,
            checkpointed,
            last_checkpoint: Instant::now(),
            checkpoint_every,
            // A tail left by a stop before its last batch is indexed after the first commit.
            unindexed: Arc::new(AtomicUsize::new(INDEX_EVERY)),
            late: late::Late::default(),
            metrics: metrics.clone(),
        };
        // Before any request: records left by a crash between a group's two commits.
        writer.reconcile();
        let unindexed = writer.unindexed.clone();
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("tresor-audit".to_owned())
            .spawn(move || writer.run(rx))
            .map_err(|e| CoreError::Internal(format!("cannot start the audit writer: {e}")))?;
        Ok(Self {
            sender: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            metrics,
            unindexed,
        })
    }

    /// Count `records` appended in a transaction ([`record_in_transaction`]), once it has
    /// committed, towards the next indexing batch, and wake the writer when they complete one.
    /// The count only decides when to index (the store knows what is left).
    pub(crate) fn appended_in_transaction(&self, records: usize) {
        self.metrics.appended(records);
        let before = self.unindexed.fetch_add(records, Ordering::Relaxed);
        let job = if before < INDEX_EVERY && before + records >= INDEX_EVERY {
            Job::Index
        } else if before == 0 {
            // The writer may be asleep until its next checkpoint: it indexes these once idle.
            Job::Wake
        } else {
            return;
        };
        if let Ok(sender) = self.sender.lock() {
            if let Some(sender) = sender.as_ref() {
                let _ = sender.send(job);
            }
        }
    }

    /// Append one event and wait until it is durable (group commit). An error means the
    /// record was not written and the request must fail. Blocks the calling thread: async
    /// callers use [`AuditLog::submit`] and await the ticket instead.
    pub fn record(&self, event: AuditEvent) -> Result<(), CoreError> {
        self.submit(event)?.wait()
    }

    /// Queue one event for the next group commit. The returned ticket says when it is durable;
    /// nothing may be answered before it does.
    pub fn submit(&self, event: AuditEvent) -> Result<AuditTicket, CoreError> {
        let event_json = canonical(&event)?;
        let (done, wait) = oneshot::channel();
        let job = Job::Append {
            row: Box::new(PendingRow { event_json, event }),
            done,
        };
        let sender = self.sender.lock().map_err(|_| audit_down())?;
        sender
            .as_ref()
            .ok_or_else(audit_down)?
            .send(job)
            .map_err(|_| audit_down())?;
        self.metrics.submitted();
        Ok(AuditTicket(wait))
    }

    /// Queue a `LastAccessedDate` for the next group commit, without waiting.
    pub(crate) fn touch(&self, touch: Touch) {
        if let Ok(sender) = self.sender.lock() {
            if let Some(sender) = sender.as_ref() {
                let _ = sender.send(Job::Touch(touch));
            }
        }
    }

    /// Queue a gateway call's use for the next group commit, without waiting. Queue it before
    /// the call's record: it is then durable no later than the record.
    pub(crate) fn add_usage(&self, delta: tresor_store::UsageDelta) {
        if let Ok(sender) = self.sender.lock() {
            if let Some(sender) = sender.as_ref() {
                let _ = sender.send(Job::Usage(delta));
            }
        }
    }

    /// Stop the writer after the records already queued, writing a final checkpoint.
    pub fn shutdown(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            if let Some(tx) = sender.take() {
                let _ = tx.send(Job::Shutdown);
            }
        }
        if let Ok(mut writer) = self.writer.lock() {
            if let Some(handle) = writer.take() {
                let _ = handle.join();
            }
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn canonical(event: &AuditEvent) -> Result<String, CoreError> {
    event
        .canonical_json()
        .map_err(|e| CoreError::Internal(format!("serializing an audit event: {e}")))
}

/// Append one event on the calling thread, inside the caller's `Store::atomically` block, so
/// that the record and the change it describes commit together.
pub(crate) fn record_in_transaction(
    store: &StoreBackend,
    mac_key: &SecretBytes,
    event: AuditEvent,
) -> Result<(), CoreError> {
    let row = PendingRow {
        event_json: canonical(&event)?,
        event,
    };
    append_now(store, std::slice::from_ref(&row), mac_key)
        .map(|_| ())
        .map_err(|e| CoreError::Internal(format!("audit append failed: {e}")))
}

/// A queued audit record: resolves when the record is durable, or with the reason it is not.
#[must_use = "an audit record must be durable before the request is answered"]
pub struct AuditTicket(oneshot::Receiver<Result<(), String>>);

impl AuditTicket {
    /// Block until the record is durable. Not for async contexts (it would stall a worker).
    pub fn wait(self) -> Result<(), CoreError> {
        Self::outcome(self.0.blocking_recv())
    }

    /// Wait, without blocking a thread, until the record is durable.
    pub async fn durable(self) -> Result<(), CoreError> {
        Self::outcome(self.0.await)
    }

    fn outcome(
        received: Result<Result<(), String>, oneshot::error::RecvError>,
    ) -> Result<(), CoreError> {
        match received {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CoreError::Internal(format!("audit append failed: {e}"))),
            Err(_) => Err(audit_down()),
        }
    }
}

impl std::fmt::Debug for AuditTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditTicket")
    }
}

fn audit_down() -> CoreError {
    CoreError::Internal("the audit writer is not running".to_owned())
}
