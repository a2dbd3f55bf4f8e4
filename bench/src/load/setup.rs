//! Creates the secret pool `<prefix>0 … <prefix>{N-1}` with CreateSecret before a run. A secret
//! that already exists (ResourceExistsException) is fine, so reruns against the same server
//! work.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;

use super::http::{Connection, Endpoint};
use super::sign::Signer;
use super::workload::{pool_name, random_value};

/// Connections used for setup at most.
const SETUP_CONNECTIONS: usize = 8;
/// Attempts per secret when the connection fails (not when the server answers an error).
const ATTEMPTS: usize = 3;

/// Counts of what setup did.
#[derive(Debug, Default, Clone, Copy)]
pub struct PoolSetup {
    pub created: usize,
    pub existed: usize,
}

/// Creates the pool; fails on the first answer other than success or "already exists".
pub async fn create_pool(
    endpoint: &Endpoint,
    signer: &Signer,
    prefix: &str,
    secrets: usize,
    value_size: usize,
    connections: usize,
) -> crate::BenchResult<PoolSetup> {
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..connections.clamp(1, SETUP_CONNECTIONS))
        .map(|_| {
            let (next, signer, prefix) = (next.clone(), signer.clone(), prefix.to_owned());
            let addr = endpoint.addr;
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::new();
                let mut done = PoolSetup::default();
                let mut conn: Option<Connection> = None;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= secrets {
                        return Ok::<_, String>(done);
                    }
                    let name = pool_name(&prefix, i);
                    let body = json!({
                        "Name": name,
                        "SecretString": random_value(&mut rng, value_size),
                        // AWS requires it with a value; the SDKs fill it in the same way.
                        "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
                    });
                    let body = Bytes::from(body.to_string());
                    if create_one(&mut conn, addr, &signer, &name, body).await? {
                        done.created += 1;
                    } else {
                        done.existed += 1;
                    }
                }
            })
        })
        .collect();
    let mut total = PoolSetup::default();
    for worker in workers {
        let done: PoolSetup = worker
            .await
            .map_err(|e| format!("a setup task failed: {e}"))??;
        total.created += done.created;
        total.existed += done.existed;
    }
    Ok(total)
}

/// Creates one secret: Ok(true) if created, Ok(false) if it already existed.
async fn create_one(
    conn: &mut Option<Connection>,
    addr: std::net::SocketAddr,
    signer: &Signer,
    name: &str,
    body: Bytes,
) -> crate::BenchResult<bool> {
    let mut last_error = String::new();
    for _ in 0..ATTEMPTS {
        let request = signer.sign("CreateSecret", body.clone())?;
        let c = match conn.take() {
            Some(c) if !c.is_closed() => c,
            _ => match Connection::open(addr).await {
                Ok(c) => c,
                Err(e) => {
                    last_error = e;
                    continue;
                }
            },
        };
        let c = conn.insert(c);
        match c.send(request.to_http()).await {
            Ok(r) if (200..300).contains(&r.status) => return Ok(true),
            Ok(r) if String::from_utf8_lossy(&r.body).contains("ResourceExistsException") => {
                return Ok(false)
            }
            Ok(r) => {
                return Err(format!(
                    "creating pool secret {name}: HTTP {}: {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                ))
            }
            Err(e) => {
                *conn = None;
                last_error = e;
            }
        }
    }
    Err(format!("creating pool secret {name}: {last_error}"))
}
