//! Requests signed by the independent `aws-sigv4` crate (never by Tresor's own code) and sent
//! over plain TCP: for the calls no Rust SDK in dev-dependencies makes (STS, CloudTrail, and
//! Secrets Manager operations newer than the pinned SDK), and for reading state back as raw
//! answers that can be compared byte for byte.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use super::Creds;

/// A protocol and the headers that choose the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson 1.1 with `X-Amz-Target: <prefix>.<Operation>` (Secrets Manager, CloudTrail).
    Json { target_prefix: &'static str },
    /// awsQuery: a form with `Action` and `Version` (IAM, STS).
    Query { version: &'static str },
}

pub const SECRETS_MANAGER: (&str, Protocol) = (
    "secretsmanager",
    Protocol::Json {
        target_prefix: "secretsmanager",
    },
);
pub const CLOUDTRAIL: (&str, Protocol) = (
    "cloudtrail",
    Protocol::Json {
        target_prefix: "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
    },
);
pub const IAM: (&str, Protocol) = (
    "iam",
    Protocol::Query {
        version: "2010-05-08",
    },
);
pub const STS: (&str, Protocol) = (
    "sts",
    Protocol::Query {
        version: "2011-06-15",
    },
);

/// What came back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// `x-amzn-RequestId`.
    pub request_id: String,
    pub body: String,
}

impl Answer {
    /// The AWS error code: `__type` of a JSON error (without a `namespace#` prefix), `<Code>`
    /// of an XML one; `None` for a 2xx answer.
    pub fn error_code(&self) -> Option<String> {
        if (200..300).contains(&self.status) {
            return None;
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&self.body) {
            let t = v["__type"].as_str().expect("__type in a JSON error");
            return Some(t.rsplit('#').next().unwrap_or(t).to_owned());
        }
        let code = self
            .body
            .split_once("<Code>")
            .and_then(|(_, rest)| rest.split_once("</Code>"))
            .map(|(code, _)| code.to_owned());
        Some(code.unwrap_or_else(|| panic!("no error code in {}", self.body)))
    }

    /// The body without its request id, so two reads of unchanged state compare equal.
    pub fn state(&self) -> String {
        match self.body.split_once("<RequestId>") {
            Some((head, rest)) => {
                let tail = rest.split_once("</RequestId>").map_or("", |(_, t)| t);
                format!("{head}{tail}")
            }
            None => self.body.clone(),
        }
    }
}

/// One call of `operation` with `params` (a JSON object for the JSON protocol; pairs for
/// awsQuery), signed with `creds` for `us-east-1`.
pub fn call(
    server: SocketAddr,
    creds: &Creds,
    (service, protocol): (&str, Protocol),
    operation: &str,
    params: &Params,
) -> Answer {
    let (content_type, target, body) = match (protocol, params) {
        (Protocol::Json { target_prefix }, Params::Json(v)) => (
            "application/x-amz-json-1.1",
            Some(format!("{target_prefix}.{operation}")),
            serde_json::to_vec(v).expect("json body"),
        ),
        (Protocol::Query { version }, Params::Form(pairs)) => {
            let mut form = format!("Action={operation}&Version={version}");
            for (k, v) in pairs {
                form.push('&');
                form.push_str(&percent(k));
                form.push('=');
                form.push_str(&percent(v));
            }
            (
                "application/x-www-form-urlencoded; charset=utf-8",
                None,
                form.into_bytes(),
            )
        }
        _ => panic!("{operation}: parameters do not fit the {service} protocol"),
    };
    let host = server.to_string();
    let mut headers = vec![
        ("host".to_owned(), host.clone()),
        ("content-type".to_owned(), content_type.to_owned()),
    ];
    if let Some(t) = target {
        headers.push(("x-amz-target".to_owned(), t));
    }
    let identity: Identity = Credentials::new(
        &creds.access_key_id,
        &creds.secret_access_key,
        None,
        None,
        "test",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("signing params")
        .into();
    let signable = SignableRequest::new(
        "POST",
        format!("http://{host}/"),
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(&body),
    )
    .expect("signable request");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    for (name, value) in instructions.headers() {
        headers.push((name.to_owned(), value.to_owned()));
    }

    let mut stream = TcpStream::connect(server).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let mut request = String::from("POST / HTTP/1.1\r\n");
    for (name, value) in &headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(request.as_bytes()).expect("write head");
    stream.write_all(&body).expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read answer");
    parse(&raw)
}

/// Request parameters in the shape of their protocol.
#[derive(Debug, Clone)]
pub enum Params {
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
}

/// awsQuery parameters from `(name, value)` pairs.
pub fn form(pairs: &[(&str, &str)]) -> Params {
    Params::Form(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let mut request_id = String::new();
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "x-amzn-requestid" {
            request_id = value.to_owned();
        }
        if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        status,
        request_id,
        body: String::from_utf8(body).expect("utf-8 answer"),
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .expect("chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}
