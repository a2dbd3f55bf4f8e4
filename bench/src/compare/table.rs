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
    out.push_str(&render_cpu(rows));
    out
}

/// Each server's CPU time per request (µs), by row: what the work costs the server, which
/// moves less between runs than throughput on a machine shared with the generator.
fn render_cpu(rows: &[Row]) -> String {
    let mut out = format!("server CPU per request, µs {:>5}", "");
    for t in TARGETS {
        out.push_str(&format!(" {t:>10}"));
    }
    out.push('\n');
    for row in rows {
        out.push_str(&format!("{:<26} {:>5}", row.workload, row.connections));
        for t in TARGETS {
            let us = row.results.get(t).and_then(|r| r.server_cpu_us);
            out.push_str(&format!(" {:>10}", or_dash(us, |x| format!("{x:.1}"))));
        }
        out.push('\n');
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
    let cpu = |t: &str| {
        or_dash(row.results.get(t).and_then(|r| r.server_cpu_us), |x| {
            format!("{x:.1}")
        })
    };
    format!(
        "GetSecretValue @{connections} connections: Tresor {:.0} req/s = {} moto ({:.0} req/s), {} of ceiling ({:.0} req/s); p99 @{latency_connections} connections {p99} ms; server CPU per request {} µs (ceiling {} µs)",
        rps("tresor"),
        or_dash(row.tresor_over_moto, |x| format!("{x:.1}x")),
        rps("moto"),
        or_dash(row.tresor_over_ceiling, |x| format!("{:.1}%", x * 100.0)),
        rps("ceiling"),
        cpu("tresor"),
        cpu("ceiling"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rps: f64, server_cpu_us: Option<f64>) -> Report {
        Report {
            workload: "get".to_owned(),
            endpoint: "http://127.0.0.1:1".to_owned(),
            connections: 64,
            duration_s: 10.0,
            requests: (rps * 10.0) as u64,
            errors: 0,
            rps,
            p50_ms: 1.0,
            p90_ms: 2.0,
            p99_ms: 3.0,
            p999_ms: 4.0,
            max_ms: 5.0,
            error_kinds: BTreeMap::new(),
            error_samples: Vec::new(),
            server_cpu_us,
            ttfb_p50_ms: None,
            ttfb_p99_ms: None,
        }
    }

    #[test]
    fn the_table_and_summary_give_each_servers_cpu_per_request() {
        let results = BTreeMap::from([
            ("tresor".to_owned(), report(30_000.0, Some(41.25))),
            ("moto".to_owned(), report(600.0, None)),
            ("ceiling".to_owned(), report(120_000.0, Some(6.3))),
        ]);
        let rows = vec![Row::new("get", 64, results)];
        let table = render(&rows);
        let cpu_line = table
            .lines()
            .skip_while(|l| !l.starts_with("server CPU per request"))
            .nth(1)
            .unwrap_or_default();
        let cells: Vec<&str> = cpu_line.split_whitespace().collect();
        assert_eq!(cells, ["get", "64", "41.2", "-", "6.3"], "{table}");
        let summary = summary(&rows, 64, 16);
        assert!(summary.contains("50.0x moto"), "{summary}");
        assert!(summary.contains("25.0% of ceiling"), "{summary}");
        assert!(
            summary.ends_with("server CPU per request 41.2 µs (ceiling 6.3 µs)"),
            "{summary}"
        );
    }
}
