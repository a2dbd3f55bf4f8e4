//! Record today's read of every secret's `AWSCURRENT` version (`Store::touch_secret`, what
//! `GetSecretValue` does on the first read of a day), in batches of one transaction each.
//!
//! `scale` uses it to measure GetSecretValue in the steady state: after it, a read is only a
//! read, whereas the first read of a secret each day also writes (and fsyncs) its
//! `LastAccessedDate`.

use std::path::Path;
use std::time::{Duration, Instant};

use tresor_core::secretsmanager::AWSCURRENT;
use tresor_store::Store;
use tresor_types::Timestamp;

use super::progress::Progress;
use super::{open_store, scope_of};

/// What a touch run did.
#[derive(Debug, Clone, Copy)]
pub struct Touched {
    pub count: u64,
    pub elapsed: Duration,
}

/// Touch every secret of `region` in the stopped store at `data_dir`; `total` only sizes the
/// progress line.
pub fn touch_all(
    data_dir: &Path,
    region: &str,
    batch: usize,
    total: u64,
) -> crate::BenchResult<Touched> {
    let store = open_store(data_dir)?;
    let scope = scope_of(&store, region)?;
    let today = Timestamp::now().day_floor();
    let start = Instant::now();
    let mut progress = Progress::new("touch", total);
    let mut cursor: Option<(String, String)> = None;
    let mut count = 0u64;
    loop {
        let page = store
            .list_secrets(
                &scope,
                cursor.as_ref().map(|(n, a)| (n.as_str(), a.as_str())),
                batch.max(1),
            )
            .map_err(|e| format!("listing the store failed: {e}"))?;
        let Some(last) = page.last() else {
            break;
        };
        cursor = Some((last.name.clone(), last.arn.clone()));
        store
            .atomically(|| {
                page.iter()
                    .try_for_each(|record| match record.version_with_stage(AWSCURRENT) {
                        Some(v) => store.touch_secret(&record.arn, &v.version_id, today),
                        None => Ok(()),
                    })
            })
            .map_err(|e| format!("touching a batch failed: {e}"))?;
        count += page.len() as u64;
        progress.advance(page.len() as u64);
    }
    progress.finish();
    Ok(Touched {
        count,
        elapsed: start.elapsed(),
    })
}
