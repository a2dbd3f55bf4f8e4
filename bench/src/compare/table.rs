//! The comparison's result: one row per (workload, connections) with each target's report and
//! Tresor's throughput ratios, printed as one table whose last line states the GetSecretValue
//! figures.

use std::collections::BTreeMap;

use crate::load::Report;

/// The targets in column order.
pub const TARGETS: [&str; 3] = ["tresor", "moto", "ceiling"];

/// One workload at one connection count, measured on every target.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub workload: String,
    pub connections: usize,
    /// Reports by target name.
    pub results: BTreeMap<String, Report>,
    /// Tresor's requests/s divided by moto's.
    pub tresor_over_moto: Option<f64>,
    /// Tresor's requests/s divided by the ceiling's.
    pub tresor_over_ceiling: Option<f64>,
}

impl Row {
    pub fn new(workload: &str, connections: usize, results: BTreeMap<String, Report>) -> Self {
        let rps = |name: &str| results.get(name).map(|r| r.rps);
        let ratio = |other: &str| match (rps("tresor"), rps(other)) {
            (Some(t), Some(o)) if o > 0.0 => Some(t / o),
            _ => None,
        };
        Self {
            workload: workload.to_owned(),
            connections,
            tresor_over_moto: ratio("moto"),
            tresor_over_ceiling: ratio("ceiling"),
            results,
        }
    }
}

fn or_dash(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".to_owned(), f)
}

/// The table (header lines and one line per row).
pub fn render(rows: &[Row]) -> String {
    let mut out = format!("{:<9} {:>5}", "", "");
    for t in TARGETS {
        out.push_str(&format!(" | {t:<26}"));
    }
    out.push_str(&format!(" | {:>8} {:>8}\n", "tresor/", "tresor/"));
    out.push_str(&format!("{:<9} {:>5}", "workload", "conns"));
    for _ in TARGETS {
        out.push_str(&format!(
            " | {:>10} {:>7} {:>7}",
            "req/s", "p50 ms", "p99 ms"
        ));
    }
    out.push_str(&format!(" | {:>8} {:>8}\n", "moto", "ceiling"));
    for row in rows {
        out.push_str(&format!("{:<9} {:>5}", row.workload, row.connections));
        for t in TARGETS {
            match row.results.get(t) {
                Some(r) => out.push_str(&format!(
                    " | {:>10.1} {:>7.2} {:>7.2}",
                    r.rps, r.p50_ms, r.p99_ms
                )),
                None => out.push_str(&format!(" | {:>10} {:>7} {:>7}", "-", "-", "-")),
            }
        }
        out.push_str(&format!(
            " | {:>8} {:>8}\n",
            or_dash(row.tresor_over_moto, |x| format!("{x:.1}x")),
            or_dash(row.tresor_over_ceiling, |x| format!("{:.1}%", x * 100.0)),
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

/// The closing line: GetSecretValue throughput at `connections` against moto and the ceiling,
/// and Tresor's p99 at `latency_connections`.
pub fn summary(rows: &[Row], connections: usize, latency_connections: usize) -> String {
    let find = |c: usize| {
        rows.iter()
            .find(|r| r.workload == "get" && r.connections == c)
    };
    let Some(row) = find(connections) else {
        return "GetSecretValue: not measured (add get to --workloads)".to_owned();
    };
    let rps = |t: &str| row.results.get(t).map_or(0.0, |r| r.rps);
    let p99 = find(latency_connections)
        .and_then(|r| r.results.get("tresor"))
        .map_or_else(|| "-".to_owned(), |r| format!("{:.1}", r.p99_ms));
    format!(
        "GetSecretValue @{connections} connections: Tresor {:.0} req/s = {} moto ({:.0} req/s), {} of ceiling ({:.0} req/s); p99 @{latency_connections} connections {p99} ms",
        rps("tresor"),
        or_dash(row.tresor_over_moto, |x| format!("{x:.1}x")),
        rps("moto"),
        or_dash(row.tresor_over_ceiling, |x| format!("{:.1}%", x * 100.0)),
        rps("ceiling"),
    )
}
