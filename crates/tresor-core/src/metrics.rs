//! What the server has done, counted for Prometheus: requests by operation and outcome, their
//! latency, the audit writer's queue and group commits, and store failures.
//!
//! The pipeline ([`crate::pipeline`]) counts every request once it is answered, under the
//! [`Operation`] it named (or `unknown` when it named none of its service's), with the AWS error
//! code as its outcome, so every label comes from a fixed set: nothing a caller sends becomes a
//! label. The audit writer counts its queue and its commits. Nothing here holds a value, a name
//! or an identity. Counting is a few relaxed atomic additions; [`Metrics::render`] writes the
//! Prometheus text format (0.0.4) that `GET /metrics` serves.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::{Operation, Service};

/// Upper bounds of the latency buckets, in seconds: from a read served from the page cache to
/// a write waiting on a slow disk.
const BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Store failures seen anywhere in the process (a failed query, a lost connection): counted
/// where a store error becomes a core error, which knows no `Core`.
static STORE_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Count one store failure.
pub(crate) fn store_error() {
    STORE_ERRORS.fetch_add(1, Ordering::Relaxed);
}

/// A latency histogram with fixed buckets.
#[derive(Default)]
pub(crate) struct Histogram {
    /// Observations at or below each bound (not cumulative; summed when rendered).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub(crate) fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The `_bucket`, `_sum` and `_count` lines of `name` with `labels` (`a="b",…` or empty).
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// What the audit writer reports.
#[derive(Default)]
pub(crate) struct AuditMetrics {
    /// Records submitted and not yet taken into a group commit.
    queued: AtomicU64,
    /// Records made durable, in groups or with their change.
    records: AtomicU64,
    /// Group commits, timed from the start of the write to its sync.
    commits: Histogram,
    /// Group commits that failed (their requests failed with them).
    commit_failures: AtomicU64,
}

impl AuditMetrics {
    pub(crate) fn submitted(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` records were taken into a group commit.
    pub(crate) fn taken(&self, n: usize) {
        // Never below zero, even if a count were missed: a gauge that wraps would page someone.
        let _ = self
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
                Some(q.saturating_sub(n as u64))
            });
    }

    pub(crate) fn committed(&self, records: usize, elapsed: Duration, ok: bool) {
        self.commits.observe(elapsed);
        if ok {
            self.records.fetch_add(records as u64, Ordering::Relaxed);
        } else {
            self.commit_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records appended outside a group commit: in a state-changing call's own transaction,
    /// or those of failed requests appended late.
    pub(crate) fn appended(&self, records: usize) {
        self.records.fetch_add(records as u64, Ordering::Relaxed);
    }
}

/// Why the server answered a request before it reached the pipeline (so with no operation and
/// no audit record), or could not answer it from the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The body is larger than any request (413).
    BodyTooLarge,
    /// The body did not arrive in time (408).
    BodyTimeout,
    /// The body could not be read (the connection failed mid-body).
    UnreadableBody,
    /// Not `POST /` nor a `GET` the server serves (404).
    UnknownPath,
    /// The operation panicked; the client got an internal error.
    Panic,
}

impl Refusal {
    const ALL: [Refusal; 5] = [
        Self::BodyTooLarge,
        Self::BodyTimeout,
        Self::UnreadableBody,
        Self::UnknownPath,
        Self::Panic,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::BodyTooLarge => "body_too_large",
            Self::BodyTimeout => "body_timeout",
            Self::UnreadableBody => "unreadable_body",
            Self::UnknownPath => "unknown_path",
            Self::Panic => "panic",
        }
    }
}

/// The counters of one operation (or of the requests of one service that named none).
#[derive(Default)]
struct OperationMetrics {
    ok: AtomicU64,
    latency: Histogram,
}

/// The process's metrics, shared by the pipeline and the audit writer.
pub struct Metrics {
    /// One per [`Operation::all`], then one per service for requests naming no operation.
    operations: Vec<OperationMetrics>,
    /// Failed requests by slot and AWS error code (a fixed set).
    failures: Mutex<BTreeMap<(usize, &'static str), u64>>,
    pub(crate) audit: std::sync::Arc<AuditMetrics>,
    /// By [`Refusal`], in the order of [`Refusal::ALL`].
    refused: [AtomicU64; Refusal::ALL.len()],
}

impl Default for Metrics {
    fn default() -> Self {
        let slots = Operation::COUNT + Service::ALL.len();
        Self {
            operations: (0..slots).map(|_| OperationMetrics::default()).collect(),
            failures: Mutex::default(),
            audit: std::sync::Arc::default(),
            refused: Default::default(),
        }
    }
}

/// Where a request is counted: its operation, or its service's `unknown`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot(usize);

impl Slot {
    pub(crate) fn of(service: Service, operation: Option<Operation>) -> Self {
        match operation {
            Some(op) => Self(op.index()),
            None => Self(Operation::COUNT + service.index()),
        }
    }

    /// The service and operation labels of slot `i`.
    fn labels(i: usize) -> Option<(Service, &'static str)> {
        match Operation::all().nth(i) {
            Some(op) => Some((op.service(), op.name())),
            None => {
                let service = *Service::ALL.get(i - Operation::COUNT)?;
                Some((service, "unknown"))
            }
        }
    }
}

impl Metrics {
    /// Count a request the server answered without the pipeline.
    pub fn refused(&self, why: Refusal) {
        if let Some(i) = Refusal::ALL.iter().position(|&r| r == why) {
            self.refused[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Count one answered request.
    pub(crate) fn answered(&self, slot: Slot, outcome: Option<&'static str>, elapsed: Duration) {
        let Some(op) = self.operations.get(slot.0) else {
            return;
        };
        op.latency.observe(elapsed);
        match outcome {
            None => {
                op.ok.fetch_add(1, Ordering::Relaxed);
            }
            Some(code) => {
                if let Ok(mut failures) = self.failures.lock() {
                    *failures.entry((slot.0, code)).or_default() += 1;
                }
            }
        }
    }

    /// Everything, in the Prometheus text format, as it stands when asked.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        out.push_str(
            "# HELP tresor_requests_total Requests answered, by operation and outcome (ok or the AWS error code).\n\
             # TYPE tresor_requests_total counter\n",
        );
        let failures = self.failures.lock().map(|f| f.clone()).unwrap_or_default();
        for (i, op) in self.operations.iter().enumerate() {
            let Some((service, name)) = Slot::labels(i) else {
                continue;
            };
            let labels = format!("service=\"{}\",operation=\"{name}\"", service.name());
            let ok = op.ok.load(Ordering::Relaxed);
            if ok > 0 {
                let _ = writeln!(out, "tresor_requests_total{{{labels},outcome=\"ok\"}} {ok}");
            }
            for ((_, code), n) in failures.range((i, "")..(i + 1, "")) {
                let _ = writeln!(
                    out,
                    "tresor_requests_total{{{labels},outcome=\"{code}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP tresor_request_duration_seconds Time from a request's arrival to its answer, its audit record durable.\n\
             # TYPE tresor_request_duration_seconds histogram\n",
        );
        for (i, op) in self.operations.iter().enumerate() {
            let Some((service, name)) = Slot::labels(i) else {
                continue;
            };
            if op.latency.count() > 0 {
                let labels = format!("service=\"{}\",operation=\"{name}\"", service.name());
                op.latency
                    .render(&mut out, "tresor_request_duration_seconds", &labels);
            }
        }
        out.push_str(
            "# HELP tresor_requests_refused_total Requests answered before reaching an operation (no audit record), or whose operation panicked, by reason.\n\
             # TYPE tresor_requests_refused_total counter\n",
        );
        for (why, n) in Refusal::ALL.iter().zip(&self.refused) {
            let _ = writeln!(
                out,
                "tresor_requests_refused_total{{reason=\"{}\"}} {}",
                why.label(),
                n.load(Ordering::Relaxed)
            );
        }
        let audit = &self.audit;
        let gauge = |out: &mut String, name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        gauge(
            &mut out,
            "tresor_audit_queue_depth",
            "gauge",
            "Audit records waiting for the writer's next group commit.",
            audit.queued.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "tresor_audit_records_total",
            "counter",
            "Audit records made durable.",
            audit.records.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "tresor_audit_commit_failures_total",
            "counter",
            "Audit group commits that failed (their requests were refused).",
            audit.commit_failures.load(Ordering::Relaxed),
        );
        out.push_str(
            "# HELP tresor_audit_group_commit_seconds Time an audit group commit takes, to its sync.\n\
             # TYPE tresor_audit_group_commit_seconds histogram\n",
        );
        audit
            .commits
            .render(&mut out, "tresor_audit_group_commit_seconds", "");
        gauge(
            &mut out,
            "tresor_store_errors_total",
            "counter",
            "Store operations that failed (a query, a connection), not counting absent records or conflicts.",
            STORE_ERRORS.load(Ordering::Relaxed),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secretsmanager;

    #[test]
    fn counts_render_by_operation_and_outcome() {
        let m = Metrics::default();
        let get = Operation::SecretsManager(secretsmanager::Operation::GetSecretValue);
        let slot = Slot::of(Service::SecretsManager, Some(get));
        m.answered(slot, None, Duration::from_micros(300));
        m.answered(slot, None, Duration::from_millis(20));
        m.answered(
            slot,
            Some("AccessDeniedException"),
            Duration::from_micros(100),
        );
        m.answered(
            Slot::of(Service::Iam, None),
            Some("InvalidAction"),
            Duration::from_secs(20),
        );
        let text = m.render();
        assert!(text.contains(
            "tresor_requests_total{service=\"secretsmanager\",operation=\"GetSecretValue\",outcome=\"ok\"} 2\n"
        ), "{text}");
        assert!(text.contains(
            "tresor_requests_total{service=\"secretsmanager\",operation=\"GetSecretValue\",outcome=\"AccessDeniedException\"} 1\n"
        ));
        assert!(text.contains(
            "tresor_requests_total{service=\"iam\",operation=\"unknown\",outcome=\"InvalidAction\"} 1\n"
        ));
        let bucket = |le: &str| {
            format!("tresor_request_duration_seconds_bucket{{service=\"secretsmanager\",operation=\"GetSecretValue\",le=\"{le}\"}}")
        };
        // Cumulative: 100 µs in the first bucket, 300 µs in the second, 20 ms by 0.025.
        assert!(
            text.contains(&format!("{} 1\n", bucket("0.00025"))),
            "{text}"
        );
        assert!(text.contains(&format!("{} 2\n", bucket("0.0005"))));
        assert!(text.contains(&format!("{} 2\n", bucket("0.01"))));
        assert!(text.contains(&format!("{} 3\n", bucket("0.025"))));
        assert!(text.contains(&format!("{} 3\n", bucket("+Inf"))));
        // 20 s is above the last bound: only in +Inf.
        assert!(text.contains(
            "tresor_request_duration_seconds_bucket{service=\"iam\",operation=\"unknown\",le=\"10\"} 0\n"
        ));
        assert!(text.contains(
            "tresor_request_duration_seconds_count{service=\"iam\",operation=\"unknown\"} 1\n"
        ));
        // Operations never called are not listed.
        assert!(!text.contains("operation=\"PutSecretValue\""));
    }

    #[test]
    fn refusals_are_counted_by_reason() {
        let m = Metrics::default();
        m.refused(Refusal::BodyTooLarge);
        m.refused(Refusal::BodyTooLarge);
        m.refused(Refusal::Panic);
        let text = m.render();
        assert!(text.contains("\ntresor_requests_refused_total{reason=\"body_too_large\"} 2\n"));
        assert!(text.contains("\ntresor_requests_refused_total{reason=\"panic\"} 1\n"));
        assert!(text.contains("\ntresor_requests_refused_total{reason=\"body_timeout\"} 0\n"));
    }

    #[test]
    fn the_audit_queue_never_goes_below_zero() {
        let m = Metrics::default();
        m.audit.submitted();
        m.audit.taken(1);
        m.audit.taken(1);
        assert!(m.render().contains("\ntresor_audit_queue_depth 0\n"));
        m.audit.committed(3, Duration::from_millis(2), true);
        m.audit.committed(2, Duration::from_millis(2), false);
        let text = m.render();
        assert!(text.contains("\ntresor_audit_records_total 3\n"), "{text}");
        assert!(text.contains("\ntresor_audit_commit_failures_total 1\n"));
        assert!(text.contains("\ntresor_audit_group_commit_seconds_count 2\n"));
    }

    #[test]
    fn every_slot_has_labels() {
        let slots = Operation::COUNT + Service::ALL.len();
        for i in 0..slots {
            assert!(Slot::labels(i).is_some(), "{i}");
        }
        for op in Operation::all() {
            assert_eq!(
                Slot::labels(Slot::of(op.service(), Some(op)).0),
                Some((op.service(), op.name()))
            );
        }
    }
}
