//! What the client commands of the server's signed admin APIs share (`tresor gateway …`,
//! `tresor rotator …`, `tresor rotation …`): connecting with the usual AWS environment,
//! calling `<Prefix>.<Operation>` with the options not given left out, printing the answer as
//! text or as the CLI's snake_case JSON, and reporting errors as `error: <Code>: <Message>`.
//!
//! Data path: [`run`] reads the connection ([`crate::client::Connection::from_env`]), starts a
//! single-threaded runtime and hands an [`AdminApi`] to the command; the command calls
//! [`AdminApi::call`], reads the answer into its shape ([`answer`]) and prints it with
//! [`AdminApi::print`] (tables and `name: value` lines from [`text`]).

pub mod answer;
pub mod text;

use std::fmt::Display;
use std::future::Future;

use serde::Serialize;
use serde_json::Value;

use crate::cli::Output;
use crate::client::{CallError, Client, Connection};

/// One admin API: its SigV4 signing name and its `X-Amz-Target` prefix.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub signing_name: &'static str,
    pub target_prefix: &'static str,
}

/// The options of a command group (`tresor gateway`, `tresor rotator`, …): where to connect,
/// and `--output` given before the command.
#[derive(Debug, clap::Args)]
pub struct GroupOptions {
    /// Output format (default: text); may also follow the command.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output: Option<Output>,
    /// The Tresor endpoint, e.g. http://127.0.0.1:8750 (default: AWS_ENDPOINT_URL).
    #[arg(long, global = true)]
    pub endpoint: Option<String>,
}

/// `--output text|json` after a command (or right after the command group).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Format {
    /// Output format (default: text).
    #[arg(long = "output", value_enum, value_name = "FORMAT")]
    pub output: Option<Output>,
}

/// Runs one command against `service`, printing as `--output` says (`after` the command, or
/// in the group's `options`). The error is the whole line to print on stderr.
pub fn run<E, F, Fut>(
    options: &GroupOptions,
    after: Format,
    service: Service,
    command: F,
) -> Result<(), String>
where
    E: Display + From<CallError>,
    F: FnOnce(AdminApi) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    // After the command wins over before it: the last word typed is what was meant.
    let output = after.output.or(options.output).unwrap_or(Output::Text);
    let report = |e: E| format!("error: {e}");
    let connection =
        Connection::from_env(options.endpoint.as_deref(), |name| std::env::var(name).ok())
            .map_err(|e| report(e.into()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("error: cannot start the async runtime: {e}"))?;
    runtime
        .block_on(async move {
            let client = Client::new(connection, service.signing_name)?;
            command(AdminApi {
                client,
                target_prefix: service.target_prefix,
                output,
            })
            .await
        })
        .map_err(report)
}

/// A connected client of one admin API and how to print what it answers.
pub struct AdminApi {
    client: Client,
    target_prefix: &'static str,
    pub output: Output,
}

impl AdminApi {
    /// Calls `<Prefix>.<operation>`; members whose value is `null` (options not given) are
    /// left out, so the server applies its defaults and updates change only what was asked.
    pub async fn call(&self, operation: &str, request: Value) -> Result<Value, CallError> {
        let request = match request {
            Value::Object(map) => {
                Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
            }
            other => other,
        };
        self.client
            .call(&format!("{}.{operation}", self.target_prefix), &request)
            .await
    }

    /// Prints `json` or `text`, whichever `--output` asked for.
    pub fn print(
        &self,
        json: &impl Serialize,
        text: impl FnOnce() -> String,
    ) -> Result<(), CallError> {
        match self.output {
            Output::Json => {
                // Zeroized: some answers (a created gateway key, a webhook's signing secret)
                // hold a secret shown this once.
                let line = zeroize::Zeroizing::new(
                    serde_json::to_string_pretty(json)
                        .map_err(|e| CallError::Config(format!("cannot print JSON: {e}")))?,
                );
                println!("{}", line.as_str());
            }
            Output::Text => print!("{}", zeroize::Zeroizing::new(text()).as_str()),
        }
        Ok(())
    }
}
