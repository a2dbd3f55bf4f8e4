//! What an anonymous client can do to a running server, and what it can't: crash it with a
//! crafted body, grow its audit trail without bound, or hold its connections. Each test
//! drives the real binary over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{http_get, parse_http_response, unique, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One raw HTTP/1.1 POST / over a fresh connection: `(status, body)`.
fn raw_post(addr: SocketAddr, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (and close) before the whole body is sent.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_http_response(&raw)
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

#[test]
fn an_unsigned_deeply_nested_query_name_is_refused_and_the_server_lives() {
    let server = ServerOptions::dev().start();
    // The review's crash: 10 KB of dotted name, nested 5000 deep, before authentication.
    let deep = format!("Action=GetUser&Version=2010-05-08&{}a=1", "a.".repeat(5000));
    let (status, body) = raw_post(server.addr, &[FORM], deep.as_bytes());
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("<Code>ValidationError</Code>"), "{body}");
    // Short but too deep, and too many parameters: refused the same way.
    let nine = format!("Action=GetUser&{}a=1", "a.".repeat(8));
    let (status, body) = raw_post(server.addr, &[FORM], nine.as_bytes());
    assert_eq!(status, 400, "{body}");
    let many: Vec<String> = (0..1001).map(|i| format!("P{i}=1")).collect();
    let (status, body) = raw_post(server.addr, &[FORM], many.join("&").as_bytes());
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("more than 1000 parameters"), "{body}");

    let (status, _) = http_get(server.addr, "/health");
    assert_eq!(status, 200, "the server survived");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        server.client().list_secrets().send().await.unwrap();
    });
}

fn audit_bytes(data: &std::path::Path) -> u64 {
    ["tresor.audit.db", "tresor.audit.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(data.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// The stored events that name `key` as the access key id they claimed.
fn events_claiming(data: &std::path::Path, key: &str) -> Vec<serde_json::Value> {
    let conn = rusqlite::Connection::open(data.join("tresor.audit.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT event_json FROM audit_records WHERE event_json LIKE ?1 ORDER BY seq")
        .unwrap();
    let rows = stmt
        .query_map([format!("%{key}%")], |r| r.get::<_, String>(0))
        .unwrap();
    rows.map(|r| serde_json::from_str(&r.unwrap()).unwrap())
        .collect()
}

#[test]
fn failed_authentications_are_recorded_by_metadata_within_a_budget() {
    let server = ServerOptions::dev().start();
    let data = server.data_dir.clone();
    let key = "AKIAFLOODTEST0000001";
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={key}/20261207/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
        "0".repeat(64)
    );
    let big = format!(
        r#"{{"Name":"x","Description":"{}"}}"#,
        "flood-canary-".repeat(1024 * 1024 / 13 - 4)
    );
    assert!(big.len() < 1024 * 1024);
    let before = audit_bytes(&data);
    for _ in 0..20 {
        let (status, body) = raw_post(
            server.addr,
            &[
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", "secretsmanager.CreateSecret"),
                ("X-Amz-Date", "20261207T000000Z"),
                ("Authorization", &auth),
                ("User-Agent", &"ua-".repeat(5000)),
            ],
            big.as_bytes(),
        );
        assert!((400..500).contains(&status), "{status} {body}");
    }
    let grown = audit_bytes(&data).saturating_sub(before);
    // 20 MiB of bodies; the trail grows by its records' metadata only.
    assert!(grown < 1024 * 1024, "the audit trail grew by {grown} bytes");
    let events = events_claiming(&data, key);
    assert_eq!(events.len(), 20);
    for e in &events {
        let text = e.to_string();
        assert!(!text.contains("flood-canary"), "a payload was recorded");
        assert!(text.len() < 4096, "a record of {} bytes", text.len());
        assert!(e["requestParameters"].is_null(), "{text}");
        assert_eq!(e["eventName"], "CreateSecret");
        assert_eq!(e["userIdentity"]["accessKeyId"], key);
        assert!(e["errorCode"].is_string());
    }

    // An operation name the caller made up is recorded as UnknownOperation, not verbatim.
    let (status, _) = raw_post(
        server.addr,
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            (
                "X-Amz-Target",
                &format!("secretsmanager.{}", "Made-Up/".repeat(40)),
            ),
            ("X-Amz-Date", "20261207T000000Z"),
            ("Authorization", &auth),
        ],
        b"{}",
    );
    assert!((400..500).contains(&status));
    let events = events_claiming(&data, key);
    assert_eq!(events.len(), 21);
    assert_eq!(events[20]["eventName"], "UnknownOperation");
    assert_eq!(events[0]["readOnly"], false, "CreateSecret changes state");

    // A refused request that names an operation is recorded as that operation of its service:
    // AssumeRole is STS's, and a read to CloudTrail although it starts a session.
    let sts_auth = auth.replace("/secretsmanager/", "/sts/");
    let (status, body) = raw_post(
        server.addr,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Amz-Date", "20261207T000000Z"),
            ("Authorization", &sts_auth),
        ],
        b"Action=AssumeRole&Version=2011-06-15&RoleSessionName=s\
          &RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fr",
    );
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body.contains("sts.amazonaws.com/doc/2011-06-15"), "{body}");
    let events = events_claiming(&data, key);
    assert_eq!(events.len(), 22);
    assert_eq!(events[21]["eventName"], "AssumeRole");
    assert_eq!(events[21]["eventSource"], "sts.amazonaws.com");
    assert_eq!(events[21]["readOnly"], true);

    // Past the source's budget, failures are answered the same way but not recorded.
    for _ in 0..100 {
        let (status, _) = raw_post(
            server.addr,
            &[
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", "secretsmanager.GetSecretValue"),
                ("X-Amz-Date", "20261207T000000Z"),
                ("Authorization", &auth),
            ],
            br#"{"SecretId":"x"}"#,
        );
        assert!((400..500).contains(&status));
    }
    assert_eq!(events_claiming(&data, key).len(), 60);
    // Authenticated calls from the same source are not limited.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let name = unique("after-flood");
        server
            .client()
            .create_secret()
            .name(&name)
            .secret_string("v")
            .send()
            .await
            .unwrap();
    });
}

/// Connect from `source` (any 127.0.0.0/8 address reaches the loopback listener).
async fn connect_from(source: &str, to: SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// `n` connections from `source`, each having sent `partial` (a request head never finished).
async fn unfinished(
    source: &str,
    to: SocketAddr,
    n: usize,
    partial: &[u8],
) -> Vec<tokio::net::TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        let mut s = connect_from(source, to).await;
        // A connection the server already closed (past the source's cap) may refuse bytes.
        let _ = s.write_all(partial).await;
        held.push(s);
    }
    held
}

/// How long until the server closes `stream` (EOF or reset), up to `limit`.
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + limit),
            stream.read(&mut buf),
        )
        .await
        {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_unfinished_connections_does_not_starve_a_client_and_is_closed() {
    let server = ServerOptions::dev()
        .arg("--max-connections-per-ip")
        .arg("50")
        .arg("--header-read-timeout")
        .arg("2s")
        .arg("--idle-timeout")
        .arg("3s")
        .start();
    let addr = server.addr;
    // 300 connections from one source, each with half a request head, never finished.
    let flood = unfinished(
        "127.0.0.2",
        addr,
        300,
        b"POST / HTTP/1.1\r\nHost: tresor\r\n",
    )
    .await;
    let flooded = Instant::now();

    // A real client still gets its answers, at once.
    let client = server.client();
    let name = unique("during-flood");
    let started = Instant::now();
    client
        .create_secret()
        .name(&name)
        .secret_string("v")
        .send()
        .await
        .unwrap();
    let got = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_string(), Some("v"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // The server closes every flood connection: those past the source's cap at once, the
    // others when their head has not arrived within the header-read timeout.
    let watchers: Vec<_> = flood
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let left = Duration::from_secs(8).saturating_sub(flooded.elapsed());
                closed_within(&mut s, left).await.map(|_| flooded.elapsed())
            })
        })
        .collect();
    let mut closed = Vec::new();
    for w in watchers {
        closed.push(w.await.unwrap());
    }
    assert!(
        closed.iter().all(Option::is_some),
        "a flood connection is still open"
    );
    let held = closed
        .iter()
        .flatten()
        .filter(|t| **t >= Duration::from_millis(1500))
        .count();
    assert!(held <= 50, "{held} connections were held past 1.5 s");

    // An idle connection (no bytes at all), and one kept alive after a request, are closed
    // after the idle timeout.
    let mut idle = connect_from("127.0.0.3", addr).await;
    let t = closed_within(&mut idle, Duration::from_secs(10))
        .await
        .expect("idle connection closed");
    assert!(
        t >= Duration::from_millis(2500) && t < Duration::from_secs(6),
        "{t:?}"
    );
    let mut kept = connect_from("127.0.0.3", addr).await;
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: tresor\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let t = closed_within(&mut kept, Duration::from_secs(10))
        .await
        .expect("kept-alive connection closed");
    assert!(
        t >= Duration::from_millis(2500) && t < Duration::from_secs(6),
        "{t:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_the_connection_cap_new_clients_wait_instead_of_failing() {
    let server = ServerOptions::dev()
        .arg("--max-connections")
        .arg("10")
        .arg("--header-read-timeout")
        .arg("1s")
        .start();
    let addr = server.addr;
    let held = unfinished("127.0.0.2", addr, 10, b"POST / HTTP/1.1\r\n").await;
    // Every slot is taken; the next client is accepted when the first slot frees.
    let started = Instant::now();
    let (status, _) = tokio::task::spawn_blocking(move || http_get(addr, "/health"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let waited = started.elapsed();
    // It waited for a slot (the held heads time out after 1 s): the cap applied, and did not
    // refuse the client.
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
    drop(held);
}

#[test]
fn a_body_that_does_not_arrive_in_time_is_answered_408() {
    let server = ServerOptions::dev()
        .arg("--body-read-timeout")
        .arg("1s")
        .start();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: tresor\r\nContent-Length: 100\r\n\r\n0123456789")
        .unwrap();
    let started = Instant::now();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let (status, body) = parse_http_response(&raw);
    assert_eq!(status, 408, "{body}");
    assert!(body.contains("RequestTimeoutException"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn request_heads_are_bounded_in_count_and_size() {
    let server = ServerOptions::dev().start();
    let send = |head: String| {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = stream.write_all(head.as_bytes());
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        parse_http_response(&raw).0
    };
    let with_headers = |n: usize, value_len: usize| {
        let mut head = "GET /health HTTP/1.1\r\nHost: tresor\r\nConnection: close\r\n".to_owned();
        for i in 0..n {
            head.push_str(&format!("X-Filler-{i}: {}\r\n", "v".repeat(value_len)));
        }
        head + "\r\n"
    };
    assert_eq!(send(with_headers(40, 10)), 200);
    assert_eq!(send(with_headers(100, 10)), 431, "too many headers");
    assert_eq!(send(with_headers(1, 20 * 1024)), 431, "a head over 16 KiB");
    assert_eq!(http_get(server.addr, "/health").0, 200);
}
