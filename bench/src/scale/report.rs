//! The results of `scale`: one record per count (also written as JSON), the tables, and the
//! line comparing GetSecretValue latency at the largest count to the smallest.

use super::list::ListScan;
use super::server::Memory;
use super::steps::LoadReport;

const MB: f64 = 1024.0 * 1024.0;

/// One GetSecretValue run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadPoint {
    pub connections: u32,
    pub report: LoadReport,
    /// The server's largest `VmRSS` seen and its `VmHWM`, sampled during the run.
    pub memory: Memory,
}

/// Everything measured at one count.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CountResult {
    pub count: u64,
    /// The kept temporary directory (`--keep`).
    pub dir: Option<String>,
    pub seed_s: f64,
    pub seed_rate: f64,
    pub bytes_before_seed: u64,
    pub bytes_after_seed: u64,
    pub startup_ms: f64,
    pub rss_idle: Memory,
    /// On the store as seeded: the first read of a secret each day also writes.
    pub first_read: Vec<LoadPoint>,
    /// After the first-read runs (their audit records included).
    pub bytes_after_first_read: u64,
    pub touch_s: f64,
    pub bytes_after_touch: u64,
    pub restart_ms: f64,
    /// With every secret already read today: reads only.
    pub steady: Vec<LoadPoint>,
    pub list_first_page_s: f64,
    /// The server's memory while it answered the first ListSecrets page.
    pub list_memory: Memory,
    pub list_scan: Option<ListScan>,
    /// The full scan's time, extrapolated if the time limit stopped it.
    pub list_scan_s: Option<f64>,
}

impl CountResult {
    pub fn new(count: u64, dir: Option<String>) -> Self {
        Self {
            count,
            dir,
            ..Self::default()
        }
    }

    pub fn bytes_per_version(&self) -> f64 {
        self.bytes_after_seed as f64 / self.count.max(1) as f64
    }
}

/// The whole run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scale {
    pub connections: Vec<u32>,
    pub cpus: usize,
    pub loadavg_start: String,
    pub loadavg_end: String,
    pub results: Vec<CountResult>,
}

/// The largest `VmRSS` and `RssAnon` seen over some runs, in MB.
fn peak_mb(points: &[LoadPoint]) -> (f64, f64) {
    let rss = points.iter().map(|p| p.memory.rss).max().unwrap_or(0);
    let anon = points.iter().map(|p| p.memory.anon).max().unwrap_or(0);
    (rss as f64 / MB, anon as f64 / MB)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

impl Scale {
    pub fn new(connections: &[u32]) -> Self {
        Self {
            connections: connections.to_vec(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            loadavg_start: loadavg(),
            loadavg_end: String::new(),
            results: Vec::new(),
        }
    }

    pub fn finish(&mut self) {
        self.loadavg_end = loadavg();
    }

    pub fn print(&self) {
        let gets = |points: &[LoadPoint]| -> String {
            self.connections
                .iter()
                .map(|c| match points.iter().find(|p| p.connections == *c) {
                    Some(p) => format!(
                        " {:>8.0} {:>7.2} {:>7.2} |",
                        p.report.rps, p.report.p50_ms, p.report.p99_ms
                    ),
                    None => format!(" {:>8} {:>7} {:>7} |", "-", "-", "-"),
                })
                .collect()
        };
        let head: String = self
            .connections
            .iter()
            .map(|c| {
                format!(
                    " {:>8} {:>7} {:>7} |",
                    format!("rps@{c}"),
                    "p50 ms",
                    "p99 ms"
                )
            })
            .collect();
        println!();
        println!("GetSecretValue in the steady state (every secret already read today):");
        println!(
            "{:>9} | {:>7} | {:>8} |{head} {:>6} {:>7} | {:>7} | {:>8}",
            "secrets", "seed s", "start ms", "RSS MB", "heap MB", "B/vers.", "list s"
        );
        for r in &self.results {
            let (rss, heap) = peak_mb(&r.steady);
            let list = match (&r.list_scan, r.list_scan_s) {
                (Some(scan), Some(s)) if !scan.complete => format!("~{s:.0}"),
                (_, Some(s)) => format!("{s:.1}"),
                _ => "-".to_owned(),
            };
            println!(
                "{:>9} | {:>7.1} | {:>8.0} |{} {:>6.0} {:>7.0} | {:>7.0} | {:>8}",
                r.count,
                r.seed_s,
                r.startup_ms,
                gets(&r.steady),
                rss,
                heap,
                r.bytes_per_version(),
                list
            );
        }
        println!();
        println!(
            "GetSecretValue on the store as seeded (a secret's first read of the day writes):"
        );
        println!(
            "{:>9} |{head} {:>6} {:>7} | {:>7} | {:>11}",
            "secrets", "RSS MB", "heap MB", "touch s", "1st list s"
        );
        for r in &self.results {
            let (rss, heap) = peak_mb(&r.first_read);
            println!(
                "{:>9} |{} {:>6.0} {:>7.0} | {:>7.1} | {:>11.2}",
                r.count,
                gets(&r.first_read),
                rss,
                heap,
                r.touch_s,
                r.list_first_page_s
            );
        }
        println!();
        for r in &self.results {
            println!(
                "{} secrets: {} bytes before seeding, {} after ({:.0} B/version, {:.0} B/version \
                 added), {} after the first-read runs; seeded at {:.0}/s; start-up {:.0} ms, \
                 restart {:.0} ms; VmHWM {:.0} MB after the reads, {:.0} MB (heap {:.0} MB) \
                 after one ListSecrets page{}",
                r.count,
                r.bytes_before_seed,
                r.bytes_after_seed,
                r.bytes_per_version(),
                r.bytes_after_seed.saturating_sub(r.bytes_before_seed) as f64
                    / r.count.max(1) as f64,
                r.bytes_after_first_read,
                r.seed_rate,
                r.startup_ms,
                r.restart_ms,
                r.steady.iter().map(|p| p.memory.hwm).max().unwrap_or(0) as f64 / MB,
                r.list_memory.hwm as f64 / MB,
                r.list_memory.anon as f64 / MB,
                r.dir
                    .as_ref()
                    .map(|d| format!("; kept in {d}"))
                    .unwrap_or_default()
            );
        }
        println!(
            "Machine: {} CPUs, load average {} at the start, {} at the end (other work may \
             have run beside the benchmark). RSS includes the resident pages of files the \
             server maps (the store file, if it is memory-mapped); heap is RssAnon.",
            self.cpus, self.loadavg_start, self.loadavg_end
        );
        self.print_comparison("as seeded", |r| &r.first_read);
        self.print_comparison("steady state", |r| &r.steady);
    }

    /// Latency at the largest count against the smallest (target: within 20 %).
    fn print_comparison(&self, phase: &str, points: impl Fn(&CountResult) -> &[LoadPoint]) {
        let (Some(small), Some(large)) = (
            self.results.iter().min_by_key(|r| r.count),
            self.results.iter().max_by_key(|r| r.count),
        ) else {
            return;
        };
        let pct = |a: f64, b: f64| (b / a.max(1e-9) - 1.0) * 100.0;
        let parts: Vec<String> = self
            .connections
            .iter()
            .filter_map(|c| {
                let s = points(small).iter().find(|p| p.connections == *c)?;
                let l = points(large).iter().find(|p| p.connections == *c)?;
                let cpu = match (s.report.server_cpu_us, l.report.server_cpu_us) {
                    (Some(a), Some(b)) => {
                        format!(
                            ", server CPU {a:.1}→{b:.1} µs per request ({:+.0} %)",
                            pct(a, b)
                        )
                    }
                    _ => String::new(),
                };
                Some(format!(
                    "@{c}: p50 {:.2}→{:.2} ms ({:+.0} %), p99 {:.2}→{:.2} ms ({:+.0} %){cpu}",
                    s.report.p50_ms,
                    l.report.p50_ms,
                    pct(s.report.p50_ms, l.report.p50_ms),
                    s.report.p99_ms,
                    l.report.p99_ms,
                    pct(s.report.p99_ms, l.report.p99_ms)
                ))
            })
            .collect();
        println!(
            "GetSecretValue ({phase}) at {} vs {} secrets: {} (target: within +20 %)",
            large.count,
            small.count,
            parts.join("; ")
        );
    }
}
