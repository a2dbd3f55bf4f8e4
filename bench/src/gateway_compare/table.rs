//! The gateway comparison's result: one row per (workload, connections) with each target's
//! report, the latency each gateway adds over the direct call, and Tresor's throughput over
//! LiteLLM's; printed as one table, then a line per issue target saying whether it was met.

use std::collections::BTreeMap;

use crate::load::Report;

/// The targets in print order: the provider called directly, then the two gateways.
pub const TARGETS: [&str; 3] = ["direct", "tresor", "litellm"];

/// Issue 16's targets at the latency connection count.
pub const TARGET_ADDED_P50_MS: f64 = 0.3;
pub const TARGET_ADDED_P99_MS: f64 = 1.0;
pub const TARGET_THROUGHPUT_RATIO: f64 = 10.0;

/// One workload at one connection count, measured on every target.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub workload: String,
    pub connections: usize,
    /// Reports by target name.
    pub results: BTreeMap<String, Report>,
    /// Tresor's requests/s divided by LiteLLM's.
    pub tresor_over_litellm: Option<f64>,
}

/// What a gateway adds over the direct call, in ms (medians and tails of the two
/// distributions: the difference of the percentiles, not a percentile of differences).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Added {
    pub p50: f64,
    pub p99: f64,
}

impl Row {
    pub fn new(workload: &str, connections: usize, results: BTreeMap<String, Report>) -> Self {
        let tresor_over_litellm = match (results.get("tresor"), results.get("litellm")) {
            (Some(t), Some(l)) if l.rps > 0.0 => Some(t.rps / l.rps),
            _ => None,
        };
        Self {
            workload: workload.to_owned(),
            connections,
            results,
            tresor_over_litellm,
        }
    }

    /// The reports of the direct call and of `target`, when both measured something (a run
    /// too short for a slow target's first answer has no percentiles to compare).
    fn pair(&self, target: &str) -> Option<(&Report, &Report)> {
        let direct = self.results.get("direct").filter(|r| r.requests > 0)?;
        let r = self.results.get(target).filter(|r| r.requests > 0)?;
        Some((direct, r))
    }

    /// The latency `target` adds over the direct call (total time).
    pub fn added(&self, target: &str) -> Option<Added> {
        let (direct, r) = self.pair(target)?;
        Some(Added {
            p50: r.p50_ms - direct.p50_ms,
            p99: r.p99_ms - direct.p99_ms,
        })
    }

    /// The time to first byte `target` adds over the direct call (streamed rows).
    pub fn added_first_byte(&self, target: &str) -> Option<Added> {
        let (direct, r) = self.pair(target)?;
        Some(Added {
            p50: r.ttfb_p50_ms? - direct.ttfb_p50_ms?,
            p99: r.ttfb_p99_ms? - direct.ttfb_p99_ms?,
        })
    }
}

fn or_dash(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".to_owned(), f)
}

/// The table: one line per (row, target).
pub fn render(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<15} {:>5} {:<8} {:>9} {:>7} {:>7} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8} {:>7} {:>8}\n",
        "workload",
        "conns",
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "+p50 ms",
        "+p99 ms",
        "TTFB p50",
        "TTFB p99",
        "+TTFB50",
        "+TTFB99",
        "errors",
        "CPU µs"
    );
    for row in rows {
        for t in TARGETS {
            let Some(r) = row.results.get(t) else {
                continue;
            };
            let added = row.added(t).filter(|_| t != "direct");
            let added_fb = row.added_first_byte(t).filter(|_| t != "direct");
            let ms = |v: Option<f64>| or_dash(v, |x| format!("{x:.3}"));
            // No measured request: no latency to show (not zero).
            let measured = |v: f64| ms(Some(v).filter(|_| r.requests > 0));
            let signed = |v: Option<f64>| or_dash(v, |x| format!("{x:+.3}"));
            out.push_str(&format!(
                "{:<15} {:>5} {:<8} {:>9.1} {:>7} {:>7} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8} {:>7} {:>8}\n",
                row.workload,
                row.connections,
                t,
                r.rps,
                measured(r.p50_ms),
                measured(r.p99_ms),
                signed(added.map(|a| a.p50)),
                signed(added.map(|a| a.p99)),
                ms(r.ttfb_p50_ms),
                ms(r.ttfb_p99_ms),
                signed(added_fb.map(|a| a.p50)),
                signed(added_fb.map(|a| a.p99)),
                r.errors,
                or_dash(r.server_cpu_us, |x| format!("{x:.1}")),
            ));
        }
    }
    for row in rows {
        out.push_str(&format!(
            "tresor/litellm throughput, {} @{}: {}\n",
            row.workload,
            row.connections,
            or_dash(row.tresor_over_litellm, |x| format!("{x:.1}x")),
        ));
    }
    out
}

/// The errors seen, one line per (workload, target, kind); empty if there were none.
pub fn render_errors(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows {
        for t in TARGETS {
            let Some(r) = row.results.get(t) else {
                continue;
            };
            for (kind, n) in &r.error_kinds {
                out.push_str(&format!(
                    "errors: {} @{} on {t}: {n} x {kind} (of {} requests)\n",
                    row.workload, row.connections, r.requests
                ));
            }
            if let Some(first) = r.error_samples.first() {
                out.push_str(&format!("        first: {first}\n"));
            }
        }
    }
    out
}

fn verdict(met: bool, by: String) -> String {
    if met {
        "met".to_owned()
    } else {
        format!("MISSED by {by}")
    }
}

/// One line per issue target: Tresor's added latency on non-streamed calls at
/// `latency_connections`, and its throughput over LiteLLM's at every connection count.
pub fn summary(rows: &[Row], latency_connections: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let at = rows
        .iter()
        .find(|r| r.workload == "gateway" && r.connections == latency_connections);
    match at.and_then(|r| r.added("tresor")) {
        Some(a) => {
            lines.push(format!(
                "added latency @{latency_connections}, p50: {:.3} ms (target ≤ {TARGET_ADDED_P50_MS} ms): {}",
                a.p50,
                verdict(a.p50 <= TARGET_ADDED_P50_MS, format!("{:.3} ms", a.p50 - TARGET_ADDED_P50_MS)),
            ));
            lines.push(format!(
                "added latency @{latency_connections}, p99: {:.3} ms (target ≤ {TARGET_ADDED_P99_MS} ms): {}",
                a.p99,
                verdict(a.p99 <= TARGET_ADDED_P99_MS, format!("{:.3} ms", a.p99 - TARGET_ADDED_P99_MS)),
            ));
        }
        None => lines.push(format!(
            "added latency @{latency_connections}: not measured (no gateway row with direct and tresor)"
        )),
    }
    for row in rows.iter().filter(|r| r.workload == "gateway") {
        lines.push(match row.tresor_over_litellm {
            Some(x) => format!(
                "throughput tresor/litellm @{}: {x:.1}x (target ≥ {TARGET_THROUGHPUT_RATIO}x): {}",
                row.connections,
                verdict(
                    x >= TARGET_THROUGHPUT_RATIO,
                    format!("{:.1}x", TARGET_THROUGHPUT_RATIO - x)
                ),
            ),
            None => format!(
                "throughput tresor/litellm @{}: not measured",
                row.connections
            ),
        });
    }
    for row in rows {
        for (name, r) in &row.results {
            if r.requests == 0 {
                lines.push(format!(
                    "{name} answered no measured request in {} @{}: run longer (--duration)",
                    row.workload, row.connections
                ));
            }
        }
    }
    let errors: u64 = rows
        .iter()
        .flat_map(|r| r.results.values())
        .map(|r| r.errors)
        .sum();
    if errors > 0 {
        lines.push(format!(
            "{errors} requests failed (non-2xx or transport): the figures above include them"
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn report(rps: f64, p50: f64, p99: f64, ttfb: Option<(f64, f64)>) -> Report {
        Report {
            workload: "gateway".to_owned(),
            endpoint: "http://127.0.0.1:1".to_owned(),
            connections: 16,
            duration_s: 10.0,
            requests: (rps * 10.0) as u64,
            errors: 0,
            rps,
            p50_ms: p50,
            p90_ms: p99,
            p99_ms: p99,
            p999_ms: p99,
            max_ms: p99,
            error_kinds: BTreeMap::new(),
            error_samples: Vec::new(),
            server_cpu_us: None,
            ttfb_p50_ms: ttfb.map(|t| t.0),
            ttfb_p99_ms: ttfb.map(|t| t.1),
        }
    }

    fn row(workload: &str, conns: usize, tresor: Report, litellm: Report) -> Row {
        let direct = report(20_000.0, 0.5, 1.5, Some((0.4, 1.2)));
        Row::new(
            workload,
            conns,
            BTreeMap::from([
                ("direct".to_owned(), direct),
                ("tresor".to_owned(), tresor),
                ("litellm".to_owned(), litellm),
            ]),
        )
    }

    #[test]
    fn added_latency_and_ratios_are_taken_against_the_direct_call() {
        let r = row(
            "gateway-stream",
            16,
            report(8_000.0, 0.75, 2.0, Some((0.6, 1.7))),
            report(400.0, 20.0, 60.0, Some((18.0, 50.0))),
        );
        let a = r.added("tresor").unwrap();
        assert!(
            (a.p50 - 0.25).abs() < 1e-9 && (a.p99 - 0.5).abs() < 1e-9,
            "{a:?}"
        );
        let fb = r.added_first_byte("tresor").unwrap();
        assert!(
            (fb.p50 - 0.2).abs() < 1e-9 && (fb.p99 - 0.5).abs() < 1e-9,
            "{fb:?}"
        );
        assert_eq!(r.tresor_over_litellm, Some(20.0));
        let table = render(&[r]);
        let tresor_line = table.lines().find(|l| l.contains(" tresor ")).unwrap();
        let cells: Vec<&str> = tresor_line.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "gateway-stream",
                "16",
                "tresor",
                "8000.0",
                "0.750",
                "2.000",
                "+0.250",
                "+0.500",
                "0.600",
                "1.700",
                "+0.200",
                "+0.500",
                "0",
                "-"
            ],
            "{table}"
        );
        assert!(
            table.contains("tresor/litellm throughput, gateway-stream @16: 20.0x"),
            "{table}"
        );
    }

    #[test]
    fn the_summary_says_which_targets_were_missed_and_by_how_much() {
        let rows = vec![
            row(
                "gateway",
                16,
                report(8_000.0, 0.9, 3.0, None),
                report(400.0, 20.0, 60.0, None),
            ),
            row(
                "gateway",
                64,
                report(9_000.0, 3.0, 9.0, None),
                report(1_000.0, 60.0, 200.0, None),
            ),
        ];
        let lines = summary(&rows, 16);
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(lines[0].ends_with("MISSED by 0.100 ms"), "{}", lines[0]);
        assert!(lines[1].ends_with("MISSED by 0.500 ms"), "{}", lines[1]);
        assert!(
            lines[2].contains("20.0x") && lines[2].ends_with(": met"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].contains("9.0x") && lines[3].ends_with("MISSED by 1.0x"),
            "{}",
            lines[3]
        );
        // A target that answered nothing in the measured time has no latency, not zero.
        let mut silent = rows[0].results.clone();
        if let Some(l) = silent.get_mut("litellm") {
            *l = report(0.0, 0.0, 0.0, None);
            l.requests = 0;
        }
        let silent = Row::new("gateway", 16, silent);
        assert_eq!(silent.added("litellm"), None);
        assert_eq!(silent.tresor_over_litellm, None);
        let table = render(std::slice::from_ref(&silent));
        let line = table.lines().find(|l| l.contains(" litellm ")).unwrap();
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&cells[3..8], ["0.0", "-", "-", "-", "-"], "{table}");
        let lines = summary(&[silent], 16);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("litellm answered no measured request")),
            "{lines:#?}"
        );
        // Without LiteLLM the ratio is not invented.
        let mut alone = rows[0].clone();
        alone.results.remove("litellm");
        let alone = Row::new("gateway", 16, alone.results);
        let lines = summary(&[alone], 16);
        assert!(lines[2].ends_with("not measured"), "{lines:#?}");
    }
}
