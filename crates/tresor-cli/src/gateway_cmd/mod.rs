//! `tresor gateway …`: manage the AI gateway's routes, keys, prices and budgets through the
//! signed admin API (`TresorGateway.*`, SigV4 signing name `gateway`) of a running server.
//!
//! Data path: clap parses and checks the flags (`args.rs`); `route.rs`, `key.rs`, `price.rs`
//! and `budget.rs` turn a command into one API request and call it through [`crate::client`];
//! the answer is read into its shape (`shapes.rs`) and printed as text (`render.rs`) or as the
//! CLI's snake_case JSON (connecting, calling and printing are [`crate::admin_api`]'s). The
//! gateway key itself leaves the process only in `key create`'s output; errors print
//! `error: <Code>: <Message>` and exit 1.

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

use crate::admin_api::{self, AdminApi, Service};
use crate::client::CallError;
use args::GatewayCommand;

/// The gateway's admin API.
const SERVICE: Service = Service {
    signing_name: "gateway",
    target_prefix: tresor_core::gateway::TARGET_PREFIX,
};

/// Runs one `tresor gateway` command. The error is the whole line to print on stderr.
pub fn run(args: GatewayArgs) -> Result<(), String> {
    admin_api::run(
        &args.options,
        args.command.format(),
        SERVICE,
        |api| async move {
            let gateway = Gateway { api };
            match args.command {
                GatewayCommand::Route(c) => gateway.route(c).await,
                GatewayCommand::Key(c) => gateway.key(c).await,
                GatewayCommand::Price(c) => gateway.price(c).await,
                GatewayCommand::Budget(c) => gateway.budget(c).await,
            }
        },
    )
}

/// A connected client of the gateway's admin API.
struct Gateway {
    api: AdminApi,
}

impl Gateway {
    async fn call(&self, operation: &str, request: Value) -> Result<Value, CallError> {
        self.api.call(operation, request).await
    }

    fn print(&self, json: &impl Serialize, text: impl FnOnce() -> String) -> Result<(), CallError> {
        self.api.print(json, text)
    }
}
