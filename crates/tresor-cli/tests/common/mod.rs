//! Test harness: runs the real `tresor` binary (as Garage's tests spawn `CARGO_BIN_EXE_garage`)
//! and talks to it with the real AWS SDK.
//!
//! A [`Server`] owns the child process, a temporary directory holding its data directory
//! (`<tmp>/data`, unless the test gives its own) and its captured stderr (`<tmp>/stderr.log`,
//! kept outside the data directory so leak checks can scan both separately). The server is
//! killed when the handle drops; [`Server::stop`] ends it with SIGTERM instead.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::Region;

/// The binary under test.
pub const TRESOR: &str = env!("CARGO_BIN_EXE_tresor");

pub mod faults;
pub mod gateway;
pub mod pg;
pub mod pg_server;
pub mod signed;

/// How long a server may take to print its listening line (Argon2 in a debug build is ~1 s).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Root credentials of an account.
#[derive(Debug, Clone)]
pub struct Creds {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Creds {
    /// Fresh random credentials for a dev server.
    pub fn random() -> Self {
        Self {
            access_key_id: format!(
                "AKIATEST{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            )
            .to_uppercase(),
            secret_access_key: format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ),
        }
    }
}

/// A `tresor` command with a clean environment: no inherited `TRESOR_*` or `AWS_*` variables,
/// stdin closed (so nothing can prompt), logging at `info` unless the test says otherwise.
pub fn tresor_command() -> Command {
    let mut cmd = Command::new(TRESOR);
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("TRESOR_") || k.starts_with("AWS_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("TRESOR_LOG", "info").stdin(Stdio::null());
    cmd
}

/// `tresor init <where> --output json` with `passphrase` (`where` is `--data-dir DIR` or
/// `--storage URL`): the root credentials it prints.
pub fn init(place: &[&str], passphrase: &str) -> Creds {
    let mut cmd = tresor_command();
    cmd.arg("init")
        .args(place)
        .args(["--output", "json"])
        .env("TRESOR_PASSPHRASE", passphrase);
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "tresor init {place:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("init json");
    Creds {
        access_key_id: json["access_key_id"].as_str().expect("key id").to_owned(),
        secret_access_key: json["secret_access_key"]
            .as_str()
            .expect("secret")
            .to_owned(),
    }
}

/// Runs a command that is expected to finish (such as `init`), failing the test if it does not
/// finish within `timeout`.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn tresor");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let status = wait_with_timeout(&mut child, timeout).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("tresor did not finish within {timeout:?}");
    });
    Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait().expect("try_wait") {
            Some(status) => return Some(status),
            None if Instant::now() >= deadline => return None,
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Why a server did not come up.
#[derive(Debug)]
pub struct StartFailure {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// `--dev`, with these root credentials.
    pub dev: Option<Creds>,
    /// `--data-dir`; a fresh `<tmp>/data` when `None`.
    pub data_dir: Option<PathBuf>,
    /// `--storage postgres://…` instead of `--data-dir` when set.
    pub storage: Option<String>,
    pub listen: String,
    /// Extra arguments after the ones above.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl ServerOptions {
    /// A dev server on a loopback port chosen by the system, with random root credentials.
    pub fn dev() -> Self {
        Self {
            dev: Some(Creds::random()),
            data_dir: None,
            storage: None,
            listen: "127.0.0.1:0".to_owned(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// A production server on an existing store, unsealed with `TRESOR_PASSPHRASE`.
    pub fn production(data_dir: &Path, passphrase: &str) -> Self {
        Self {
            dev: None,
            data_dir: Some(data_dir.to_path_buf()),
            storage: None,
            listen: "127.0.0.1:0".to_owned(),
            args: Vec::new(),
            env: vec![("TRESOR_PASSPHRASE".to_owned(), passphrase.to_owned())],
        }
    }

    /// A production server on an initialized PostgreSQL store (`--storage URL`), unsealed
    /// with `TRESOR_PASSPHRASE`.
    pub fn postgres(url: &str, passphrase: &str) -> Self {
        Self {
            dev: None,
            data_dir: None,
            storage: Some(url.to_owned()),
            listen: "127.0.0.1:0".to_owned(),
            args: Vec::new(),
            env: vec![("TRESOR_PASSPHRASE".to_owned(), passphrase.to_owned())],
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_path_buf());
        self
    }

    pub fn listen(mut self, addr: &str) -> Self {
        self.listen = addr.to_owned();
        self
    }

    /// Starts the server, panicking with its stderr if it does not come up.
    pub fn start(self) -> Server {
        match self.try_start() {
            Ok(s) => s,
            Err(f) => panic!(
                "tresor server did not start ({}):\nstdout:\n{}\nstderr:\n{}",
                f.status, f.stdout, f.stderr
            ),
        }
    }

    /// Starts the server; `Err` if the process exits before announcing its address.
    pub fn try_start(self) -> Result<Server, StartFailure> {
        let tmp = tempfile::Builder::new()
            .prefix("tresor-test-")
            .tempdir()
            .expect("tempdir");
        let data_dir = self
            .data_dir
            .clone()
            .unwrap_or_else(|| tmp.path().join("data"));
        let stderr_path = tmp.path().join("stderr.log");
        let stderr_file = std::fs::File::create(&stderr_path).expect("stderr file");

        let mut cmd = tresor_command();
        cmd.arg("server");
        if let Some(c) = &self.dev {
            cmd.arg("--dev")
                .arg("--root-access-key-id")
                .arg(&c.access_key_id)
                .arg("--root-secret-access-key")
                .arg(&c.secret_access_key);
        }
        cmd.arg("--listen").arg(&self.listen);
        match &self.storage {
            Some(url) => cmd.arg("--storage").arg(url),
            None => cmd.arg("--data-dir").arg(&data_dir),
        };
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr_file));
        let mut child = cmd.spawn().expect("spawn tresor server");

        // Read stdout on a thread (it keeps draining after start-up, so the server never blocks
        // on a full pipe) and hand the lines over until the server is ready.
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Nobody listens any more: keep draining.
                    continue;
                }
            }
        });

        let dev = self.dev.is_some();
        let deadline = Instant::now() + START_TIMEOUT;
        let mut seen = Vec::new();
        let mut url: Option<String> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    seen.push(line.clone());
                    if let Some(u) = line.strip_prefix("Tresor listening on ") {
                        url = Some(u.trim().to_owned());
                        if !dev {
                            break;
                        }
                    }
                    if dev && line.starts_with("export AWS_ENDPOINT_URL=") {
                        assert!(url.is_some(), "export line before the listening line");
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // stdout closed: the process is exiting.
                    let status = wait_with_timeout(&mut child, Duration::from_secs(30))
                        .expect("server closed stdout but did not exit");
                    return Err(StartFailure {
                        status,
                        stdout: seen.join("\n"),
                        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
                    });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "tresor server printed no listening line within {START_TIMEOUT:?}; stdout: {seen:?}; stderr: {}",
                        std::fs::read_to_string(&stderr_path).unwrap_or_default()
                    );
                }
            }
        }
        let url = url.expect("listening url");
        let addr: SocketAddr = url
            .split_once("://")
            .map(|(_, a)| a)
            .expect("scheme in url")
            .parse()
            .expect("socket address in url");
        Ok(Server {
            child: Some(child),
            url,
            addr,
            dev_creds: self.dev,
            stdout_lines: seen,
            data_dir,
            stderr_path,
            tmp,
        })
    }
}

/// A running `tresor server`.
pub struct Server {
    child: Option<Child>,
    /// As printed: `http://127.0.0.1:PORT` or `https://…`.
    pub url: String,
    pub addr: SocketAddr,
    pub dev_creds: Option<Creds>,
    /// What the server printed on stdout up to being ready.
    pub stdout_lines: Vec<String>,
    pub data_dir: PathBuf,
    pub stderr_path: PathBuf,
    tmp: tempfile::TempDir,
}

impl Server {
    /// An SDK client with the dev root credentials.
    pub fn client(&self) -> aws_sdk_secretsmanager::Client {
        let creds = self.dev_creds.as_ref().expect("dev server");
        sdk_client(&self.url, creds)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit status.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        wait_with_timeout(&mut child, Duration::from_secs(30)).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tresor server did not exit within 30 s of SIGTERM");
        })
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }

    /// The captured stderr so far.
    pub fn stderr(&self) -> Vec<u8> {
        std::fs::read(&self.stderr_path).expect("read stderr log")
    }

    /// The temporary directory this server owns (parent of the default data directory).
    pub fn tmp_dir(&self) -> &Path {
        self.tmp.path()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An SDK client for `endpoint` with the given root credentials. Retries are off so that any
/// server error reaches the test instead of being papered over.
pub fn sdk_client(endpoint: &str, creds: &Creds) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::from_conf(sdk_config(endpoint, creds).build())
}

pub fn sdk_config(endpoint: &str, creds: &Creds) -> aws_sdk_secretsmanager::config::Builder {
    aws_sdk_secretsmanager::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.clone(),
            None,
            None,
            "test",
        ))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .behavior_version(BehaviorVersion::latest())
}

/// An IAM SDK client for `endpoint`, retries off as for [`sdk_client`].
pub fn iam_client(endpoint: &str, creds: &Creds) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .endpoint_url(endpoint)
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                creds.access_key_id.clone(),
                creds.secret_access_key.clone(),
                None,
                None,
                "test",
            ))
            .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled())
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .build(),
    )
}

/// A minimal HTTP/1.1 GET over plain TCP: `(status code, body)`.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    parse_http_response(&raw)
}

/// Splits a raw HTTP/1.1 response into status code and body (no chunked decoding needed for
/// the small answers checked here; a chunked body still contains its JSON text).
pub fn parse_http_response(raw: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(raw);
    let status_line = text.lines().next().expect("status line");
    let code = status_line
        .split_whitespace()
        .nth(1)
        .expect("status code")
        .parse()
        .expect("numeric status");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}

/// Every regular file under `dir`, recursively, with its contents.
pub fn snapshot_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let entry = entry.expect("dir entry");
            let path = entry.path();
            let ft = entry.file_type().expect("file type");
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                let bytes = std::fs::read(&path).expect("read file");
                out.insert(path, bytes);
            }
        }
    }
    out
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A name unique to this test run, so tests sharing a server never collide.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}
