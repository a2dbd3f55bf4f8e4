//! Shared checks of the PostgreSQL fault tests: a load of reads and writes on one secret while
//! the test injects a fault (connections cut, the server stopped and started), then the
//! properties the fault must not break: every failed call is a clean `InternalServiceError`
//! (500), the node serves again by itself, every acknowledged write is there with its value,
//! nothing is half-written (a failed write is absent or whole), every read returned a value
//! that was written, and the secret still has one `AWSCURRENT` and one `AWSPREVIOUS`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

use super::{http_get, unique};

/// The AWS error code and HTTP status of a failed call.
pub fn failure<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> (String, Option<u16>) {
    (
        e.code().unwrap_or("<no code>").to_owned(),
        e.raw_response().map(|r| r.status().as_u16()),
    )
}

/// Counts the requests sent (retries are off: one request per call).
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Every version of a secret, deprecated ones included, following NextToken: id → stages.
pub async fn all_versions(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    sent: &Counter,
) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    let mut token: Option<String> = None;
    for _ in 0..50 {
        sent.add(1);
        let page = client
            .list_secret_version_ids()
            .secret_id(name)
            .include_deprecated(true)
            .max_results(10)
            .set_next_token(token.take())
            .send()
            .await
            .expect("list versions");
        for v in page.versions() {
            let id = v.version_id().expect("id").to_owned();
            let prior = out.insert(id.clone(), v.version_stages().to_vec());
            assert!(prior.is_none(), "version {id} listed twice");
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => return out,
        }
    }
    panic!("ListSecretVersionIds pagination does not end");
}

/// The versions holding `stage`.
pub fn holding<'a>(versions: &'a HashMap<String, Vec<String>>, stage: &str) -> Vec<&'a str> {
    versions
        .iter()
        .filter(|(_, stages)| stages.iter().any(|s| s == stage))
        .map(|(id, _)| id.as_str())
        .collect()
}

/// What one call during the fault window did.
#[derive(Debug)]
enum Outcome {
    /// An acknowledged `PutSecretValue`: (version id, value).
    Put(String, String),
    /// A `PutSecretValue` that failed: (version id it would have had, value).
    PutFailed(String, String),
    /// A read: (version id, value).
    Got(String, String),
    Failed(String, Option<u16>),
}

/// What a fault run saw.
#[derive(Debug)]
pub struct FaultReport {
    pub acked: usize,
    pub failed_puts: usize,
    pub reads: usize,
    /// Failed calls (every one an `InternalServiceError`).
    pub failures: usize,
    /// The first call of the load that succeeded after the fault ended, if the load saw one.
    pub first_success_after: Option<Duration>,
    /// When the poll after the load first succeeded, counted from the end of the fault.
    pub recovered_after: Duration,
    /// Requests sent after the load (the checks), for the audit record count.
    pub check_requests: u64,
}

/// Creates a secret, acknowledges a write, then runs two writers and two readers against the
/// node at `addr` while `inject` runs on this thread; `inject` returns when the fault ended.
/// Then asserts everything the module comment lists.
pub fn under_load(
    rt: &tokio::runtime::Runtime,
    client: &aws_sdk_secretsmanager::Client,
    addr: SocketAddr,
    inject: impl FnOnce() -> Instant,
) -> FaultReport {
    let name = unique("faults");
    let acked_token = uuid::Uuid::new_v4().to_string();
    let acked_value = "acknowledged before the fault";
    rt.block_on(async {
        client
            .create_secret()
            .name(&name)
            .secret_string("initial")
            .send()
            .await
            .expect("create");
        client
            .put_secret_value()
            .secret_id(&name)
            .client_request_token(&acked_token)
            .secret_string(acked_value)
            .send()
            .await
            .expect("put before the fault");
    });

    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|w| rt.spawn(load_worker(w, client.clone(), name.clone(), stop.clone())))
        .collect();
    let fault_ended = inject();
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, Ordering::Relaxed);
    let timed: Vec<(Instant, Outcome)> = load
        .into_iter()
        .flat_map(|h| rt.block_on(h).expect("load task"))
        .collect();
    let first_success_after = timed
        .iter()
        .filter(|(at, o)| {
            *at > fault_ended && !matches!(o, Outcome::Failed(..) | Outcome::PutFailed(..))
        })
        .map(|(at, _)| at.duration_since(fault_ended))
        .min();
    let outcomes: Vec<Outcome> = timed.into_iter().map(|(_, o)| o).collect();

    // Every failure is a clean server error; nothing else.
    let mut failures = 0;
    for o in &outcomes {
        if let Outcome::Failed(code, status) = o {
            failures += 1;
            assert_eq!(
                (code.as_str(), *status),
                ("InternalServiceError", Some(500)),
                "a request during the fault failed uncleanly"
            );
        }
    }

    // The node serves again by itself.
    let recovered_after = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match client.get_secret_value().secret_id(&name).send().await {
                Ok(_) => break fault_ended.elapsed(),
                Err(e) => {
                    let (code, status) = failure(&e);
                    assert_eq!((code.as_str(), status), ("InternalServiceError", Some(500)));
                    assert!(Instant::now() < deadline, "the node did not recover");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    let (status, body) = http_get(addr, "/health");
    assert_eq!(status, 200, "{body}");

    // No acknowledged write is lost; nothing half-written remains.
    let sent = Counter::default();
    let mut values: HashMap<String, String> = HashMap::new();
    values.insert(acked_token.clone(), acked_value.to_owned());
    for o in &outcomes {
        if let Outcome::Put(id, v) | Outcome::PutFailed(id, v) = o {
            values.insert(id.clone(), v.clone());
        }
    }
    let (mut acked, mut failed_puts, mut reads) = (0, 0, 0);
    rt.block_on(async {
        let check = |id: String| {
            sent.add(1);
            let client = client.clone();
            let name = name.clone();
            async move {
                client
                    .get_secret_value()
                    .secret_id(&name)
                    .version_id(id)
                    .send()
                    .await
            }
        };
        for o in &outcomes {
            match o {
                Outcome::Put(id, v) => {
                    acked += 1;
                    let got = check(id.clone())
                        .await
                        .unwrap_or_else(|e| panic!("acknowledged version {id} is lost: {e:?}"));
                    assert_eq!(got.secret_string(), Some(v.as_str()));
                }
                Outcome::PutFailed(id, v) => {
                    // Committed or not (the answer may have been lost after the commit), but
                    // never partly: if the version exists it holds its value.
                    failed_puts += 1;
                    match check(id.clone()).await {
                        Ok(got) => assert_eq!(got.secret_string(), Some(v.as_str())),
                        Err(e) => assert_eq!(failure(&e).0, "ResourceNotFoundException"),
                    }
                }
                Outcome::Got(id, v) => {
                    reads += 1;
                    assert_eq!(values.get(id), Some(v), "a read returned a wrong value");
                }
                Outcome::Failed(..) => {}
            }
        }
        let got = check(acked_token.clone())
            .await
            .expect("the write acknowledged before the fault is lost");
        assert_eq!(got.secret_string(), Some(acked_value));
        let versions = all_versions(client, &name, &sent).await;
        assert_eq!(holding(&versions, "AWSCURRENT").len(), 1, "{versions:?}");
        assert_eq!(holding(&versions, "AWSPREVIOUS").len(), 1, "{versions:?}");
    });
    FaultReport {
        acked,
        failed_puts,
        reads,
        failures,
        first_success_after,
        recovered_after,
        check_requests: sent.get(),
    }
}

/// Even workers write (a fresh token and value each time), odd ones read, until `stop`.
async fn load_worker(
    w: usize,
    client: aws_sdk_secretsmanager::Client,
    name: String,
    stop: Arc<AtomicBool>,
) -> Vec<(Instant, Outcome)> {
    let mut outcomes = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let failed = if w % 2 == 0 {
            let token = uuid::Uuid::new_v4().to_string();
            let value = format!("load-{w}-{n}");
            let r = client
                .put_secret_value()
                .secret_id(&name)
                .client_request_token(&token)
                .secret_string(&value)
                .send()
                .await;
            match r {
                Ok(out) => {
                    assert_eq!(out.version_id(), Some(token.as_str()));
                    outcomes.push((Instant::now(), Outcome::Put(token, value)));
                    false
                }
                Err(e) => {
                    let (code, status) = failure(&e);
                    outcomes.push((Instant::now(), Outcome::Failed(code, status)));
                    outcomes.push((Instant::now(), Outcome::PutFailed(token, value)));
                    true
                }
            }
        } else {
            match client.get_secret_value().secret_id(&name).send().await {
                Ok(out) => {
                    let got = Outcome::Got(
                        out.version_id().expect("id").to_owned(),
                        out.secret_string().expect("string").to_owned(),
                    );
                    outcomes.push((Instant::now(), got));
                    false
                }
                Err(e) => {
                    let (code, status) = failure(&e);
                    outcomes.push((Instant::now(), Outcome::Failed(code, status)));
                    true
                }
            }
        };
        if failed {
            // The database is away: do not spin.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    outcomes
}
