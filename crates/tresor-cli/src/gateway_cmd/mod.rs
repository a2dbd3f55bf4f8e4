//! `tresor gateway …`: manage the AI gateway's routes, keys, prices and budgets through the
//! signed admin API (`TresorGateway.*`, SigV4 signing name `gateway`) of a running server.
//!
//! Data path: clap parses and checks the flags (`args.rs`); `route.rs`, `key.rs`, `price.rs`
//! and `budget.rs` turn a command into one API request and call it through [`crate::client`];
//! the answer is read into its shape (`shapes.rs`) and printed as text (`render.rs`) or as the
//! CLI's snake_case JSON. The gateway key itself leaves the process only in `key create`'s
//! output; errors print `error: <Code>: <Message>` and exit 1.

mod args;
mod budget;
mod key;
mod price;
mod render;
mod route;
mod shapes;

pub use args::GatewayArgs;

use serde::Serialize;
use serde_json::Value;

use crate::cli::Output;
use crate::client::{CallError, Client, Connection};
use args::GatewayCommand;

/// The SigV4 signing name of the admin API.
const SIGNING_NAME: &str = "gateway";

/// Runs one `tresor gateway` command. The error is the whole line to print on stderr.
pub fn run(args: GatewayArgs) -> Result<(), String> {
    let report = |e: CallError| format!("error: {e}");
    let connection =
        Connection::from_env(args.endpoint.as_deref(), |name| std::env::var(name).ok())
            .map_err(report)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("error: cannot start the async runtime: {e}"))?;
    // After the command wins over before it: the last word typed is what was meant.
    let output = args
        .command
        .format()
        .or(args.output)
        .unwrap_or(Output::Text);
    runtime
        .block_on(async move {
            let client = Client::new(connection, SIGNING_NAME)?;
            let gateway = Gateway { client, output };
            match args.command {
                GatewayCommand::Route(c) => gateway.route(c).await,
                GatewayCommand::Key(c) => gateway.key(c).await,
                GatewayCommand::Price(c) => gateway.price(c).await,
                GatewayCommand::Budget(c) => gateway.budget(c).await,
            }
        })
        .map_err(report)
}

/// A connected client and how to print what it answers.
struct Gateway {
    client: Client,
    output: Output,
}

impl Gateway {
    /// Calls `TresorGateway.<operation>`; members whose value is `null` (options not given)
    /// are left out, so the server applies its defaults and updates change only what was
    /// asked.
    async fn call(&self, operation: &str, request: Value) -> Result<Value, CallError> {
        let request = match request {
            Value::Object(map) => {
                Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
            }
            other => other,
        };
        self.client
            .call(&format!("TresorGateway.{operation}"), &request)
            .await
    }

    /// Prints `json` or `text`, whichever `--output` asked for.
    fn print(&self, json: &impl Serialize, text: impl FnOnce() -> String) -> Result<(), CallError> {
        match self.output {
            Output::Json => {
                // Zeroized: `key create`'s line holds the gateway key.
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
