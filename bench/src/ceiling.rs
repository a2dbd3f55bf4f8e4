//! `tresor-bench ceiling`: the machine's ceiling for this protocol. A bare hyper HTTP/1.1
//! keep-alive server that reads each request body whole and answers a fixed
//! GetSecretValue-shaped JSON body, doing no other work: no signature check, no store, no
//! crypto, no audit. What `load` measures against it is the cost of HTTP, the loopback network
//! and the load generator itself; no server speaking this API can go faster on this machine.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

/// Options of `tresor-bench ceiling`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0: any free port; the address is printed when ready).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
}

/// What every request gets: the shape and size of a real GetSecretValue answer.
const ANSWER: &str = concat!(
    r#"{"ARN":"arn:aws:secretsmanager:us-east-1:000000000000:secret:bench/pool-0-AbCdEf","#,
    r#""Name":"bench/pool-0","VersionId":"9f1c2a36-5d4e-4b7a-8c3f-2e6d1a0b9c84","#,
    r#""SecretString":"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01","#,
    r#""VersionStages":["AWSCURRENT"],"CreatedDate":1.7e9}"#
);

pub fn run(args: Args) -> crate::BenchResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(serve(args.listen))
}

async fn serve(listen: SocketAddr) -> crate::BenchResult {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // The line `compare` and the smoke test wait for (same shape as Tresor's).
    println!("Ceiling listening on http://{addr}");
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: keep serving the open connections.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(answer);
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    // Read the body as a real server must; a broken body still gets the fixed answer.
    let _ = request.into_body().collect().await;
    let mut response = http::Response::new(Full::new(Bytes::from_static(ANSWER.as_bytes())));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    Ok(response)
}
