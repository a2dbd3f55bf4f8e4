//! What a load run measured: per-connection [`Recorder`]s (an HDR histogram in microseconds
//! and error counts, no sharing while the run lasts), merged into one [`Report`] that prints
//! as a table and serializes as the JSON other tools read. Streamed workloads also keep a
//! histogram of the time to first byte.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::http::Response;

/// Latencies above this (in µs) are clamped; a minute is far beyond any sane answer.
const HIGHEST_MICROS: u64 = 60_000_000;
/// How many error examples (the first of each kind) a report keeps.
const SAMPLES: usize = 5;
/// How much of an error body an example keeps.
const SAMPLE_BODY: usize = 200;

/// The measurements of one connection task.
pub struct Recorder {
    histogram: Histogram<u64>,
    /// Time to first byte of successful streamed answers (empty for other workloads).
    first_byte: Histogram<u64>,
    requests: u64,
    errors: u64,
    error_kinds: BTreeMap<String, u64>,
    samples: Vec<String>,
}

impl Recorder {
    pub fn new() -> crate::BenchResult<Self> {
        let new = || {
            Histogram::new_with_bounds(1, HIGHEST_MICROS, 3).map_err(|e| format!("histogram: {e}"))
        };
        Ok(Self {
            histogram: new()?,
            first_byte: new()?,
            requests: 0,
            errors: 0,
            error_kinds: BTreeMap::new(),
            samples: Vec::new(),
        })
    }

    /// Records one measured request: its latency and, if it failed, why.
    pub fn record(&mut self, latency: Duration, outcome: &Result<Response, String>) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.histogram
            .saturating_record(micros.clamp(1, HIGHEST_MICROS));
        self.requests += 1;
        match outcome {
            Ok(r) if (200..300).contains(&r.status) => {}
            Ok(r) => {
                let kind = format!("{} {}", r.status, error_type(&r.body));
                // One line: HTML error pages (moto's 500s) would break the table.
                let body = String::from_utf8_lossy(&r.body);
                let body: String = body
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .take(SAMPLE_BODY)
                    .collect();
                self.error(kind, || format!("HTTP {}: {body}", r.status));
            }
            Err(e) => self.error("transport".to_owned(), || format!("transport: {e}")),
        }
    }

    /// Records the time to first byte of one measured, successful streamed answer.
    pub fn record_first_byte(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.first_byte
            .saturating_record(micros.clamp(1, HIGHEST_MICROS));
    }

    /// Counts an error; the first of each kind is kept as an example.
    fn error(&mut self, kind: String, sample: impl FnOnce() -> String) {
        self.errors += 1;
        let count = self.error_kinds.entry(kind).or_insert(0);
        *count += 1;
        if *count == 1 && self.samples.len() < SAMPLES {
            self.samples.push(sample());
        }
    }

    /// Adds another connection's measurements to this one.
    pub fn merge(&mut self, other: Recorder) -> crate::BenchResult {
        self.histogram
            .add(&other.histogram)
            .map_err(|e| format!("merging histograms: {e}"))?;
        self.first_byte
            .add(&other.first_byte)
            .map_err(|e| format!("merging histograms: {e}"))?;
        self.requests += other.requests;
        self.errors += other.errors;
        for (kind, n) in other.error_kinds {
            *self.error_kinds.entry(kind).or_insert(0) += n;
        }
        for s in other.samples {
            if self.samples.len() < SAMPLES && !self.samples.contains(&s) {
                self.samples.push(s);
            }
        }
        Ok(())
    }

    /// The report of the merged run.
    pub fn report(
        &self,
        workload: &str,
        endpoint: &str,
        connections: usize,
        elapsed: Duration,
    ) -> Report {
        let secs = elapsed.as_secs_f64();
        let ms = |q: f64| {
            if self.requests == 0 {
                0.0
            } else {
                self.histogram.value_at_quantile(q) as f64 / 1000.0
            }
        };
        Report {
            workload: workload.to_owned(),
            endpoint: endpoint.to_owned(),
            connections,
            duration_s: secs,
            requests: self.requests,
            errors: self.errors,
            rps: if secs > 0.0 {
                self.requests as f64 / secs
            } else {
                0.0
            },
            p50_ms: ms(0.5),
            p90_ms: ms(0.9),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: if self.requests == 0 {
                0.0
            } else {
                self.histogram.max() as f64 / 1000.0
            },
            error_kinds: self.error_kinds.clone(),
            error_samples: self.samples.clone(),
            server_cpu_us: None,
            ttfb_p50_ms: self.first_byte_ms(0.5),
            ttfb_p99_ms: self.first_byte_ms(0.99),
        }
    }

    /// A quantile of the time to first byte in ms; None when nothing streamed was recorded.
    fn first_byte_ms(&self, q: f64) -> Option<f64> {
        (!self.first_byte.is_empty()).then(|| self.first_byte.value_at_quantile(q) as f64 / 1000.0)
    }
}

/// The AWS error code of an error body (`{"__type": "...#Code"}` or `{"__type": "Code"}`),
/// or `-` when the body has none.
fn error_type(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("__type")?.as_str().map(str::to_owned))
        .map(|t| t.rsplit('#').next().unwrap_or_default().to_owned())
        .unwrap_or_else(|| "-".to_owned())
}

/// One run's result; the JSON shape `load --json` writes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Report {
    pub workload: String,
    pub endpoint: String,
    pub connections: usize,
    /// Measured time (after warm-up) until the last measured request finished.
    pub duration_s: f64,
    pub requests: u64,
    /// Non-2xx answers and transport errors.
    pub errors: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Errors by `<HTTP status> <__type>` or `transport`.
    pub error_kinds: BTreeMap<String, u64>,
    /// The first error of each kind (up to a few), as received; error bodies carry no secret
    /// values.
    pub error_samples: Vec<String>,
    /// CPU time the server used in the measured phase per measured request, in µs, when its
    /// process was given (`--server-pid`) and could be read.
    #[serde(default)]
    pub server_cpu_us: Option<f64>,
    /// Streamed workloads: the time from sending a request to the first bytes of its answer's
    /// body (the first SSE event), over the successful measured requests, in ms.
    #[serde(default)]
    pub ttfb_p50_ms: Option<f64>,
    #[serde(default)]
    pub ttfb_p99_ms: Option<f64>,
}

impl Report {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<9} {:>5} {:>8} {:>9} {:>7} {:>10} {:>8} {:>8} {:>8} {:>9} {:>8}\n",
            "workload",
            "conns",
            "secs",
            "requests",
            "errors",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms"
        );
        out.push_str(&format!(
            "{:<9} {:>5} {:>8.2} {:>9} {:>7} {:>10.1} {:>8.3} {:>8.3} {:>8.3} {:>9.3} {:>8.3}\n",
            self.workload,
            self.connections,
            self.duration_s,
            self.requests,
            self.errors,
            self.rps,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.p999_ms,
            self.max_ms
        ));
        if let (Some(p50), Some(p99)) = (self.ttfb_p50_ms, self.ttfb_p99_ms) {
            out.push_str(&format!(
                "time to first byte: p50 {p50:.3} ms, p99 {p99:.3} ms\n"
            ));
        }
        if let Some(us) = self.server_cpu_us {
            out.push_str(&format!("server CPU per request: {us:.1} µs\n"));
        }
        if self.errors > 0 {
            out.push_str("errors by kind:\n");
            for (kind, n) in &self.error_kinds {
                out.push_str(&format!("  {n:>9}  {kind}\n"));
            }
            out.push_str("first errors:\n");
            for s in &self.error_samples {
                out.push_str(&format!("  {s}\n"));
            }
        }
        out
    }
}
