//! A full `ListSecrets` scan as a real client does it: the Rust AWS SDK's paginator, 100
//! secrets a page, timed from the first request to the last page (or to a time limit, past
//! which the scan stops and says how far it got).

use std::time::{Duration, Instant};

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::Region;

use super::steps::RootCreds;

/// How far a scan got.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ListScan {
    pub pages: u64,
    pub secrets: u64,
    pub elapsed_s: f64,
    /// The first page alone.
    pub first_page_s: f64,
    /// Whether the last page was reached (false: the time limit stopped it).
    pub complete: bool,
}

impl ListScan {
    /// The time a whole scan of `total` secrets took, or would take at the rate seen so far.
    pub fn full_scan_s(&self, total: u64) -> f64 {
        if self.complete || self.secrets == 0 {
            self.elapsed_s
        } else {
            self.elapsed_s * total as f64 / self.secrets as f64
        }
    }
}

/// Scan the listing at `endpoint`, stopping after `max_pages` pages or `limit`.
pub fn scan(
    endpoint: &str,
    region: &str,
    creds: &RootCreds,
    max_pages: Option<u64>,
    limit: Duration,
) -> crate::BenchResult<ListScan> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(scan_async(endpoint, region, creds, max_pages, limit))
}

async fn scan_async(
    endpoint: &str,
    region: &str,
    creds: &RootCreds,
    max_pages: Option<u64>,
    limit: Duration,
) -> crate::BenchResult<ListScan> {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.clone(),
            None,
            None,
            "tresor-bench",
        ))
        // A failed page must show, not be retried into a slower figure.
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(600))
                .build(),
        )
        .build();
    let client = aws_sdk_secretsmanager::Client::from_conf(config);
    let mut pages = client
        .list_secrets()
        .max_results(100)
        .into_paginator()
        .send();
    let start = Instant::now();
    let mut scan = ListScan {
        pages: 0,
        secrets: 0,
        elapsed_s: 0.0,
        first_page_s: 0.0,
        complete: false,
    };
    loop {
        let Some(page) = pages.next().await else {
            scan.complete = true;
            break;
        };
        let page = page.map_err(|e| {
            format!(
                "ListSecrets failed after {} pages: {}",
                scan.pages,
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            )
        })?;
        scan.pages += 1;
        scan.secrets += page.secret_list().len() as u64;
        if scan.pages == 1 {
            scan.first_page_s = start.elapsed().as_secs_f64();
        }
        let page_limit = max_pages.is_some_and(|m| scan.pages >= m);
        if page.next_token().is_none() {
            scan.complete = true;
            break;
        }
        if page_limit || start.elapsed() > limit {
            break;
        }
    }
    scan.elapsed_s = start.elapsed().as_secs_f64();
    Ok(scan)
}
