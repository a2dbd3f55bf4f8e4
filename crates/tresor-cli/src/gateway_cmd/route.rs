//! `tresor gateway route …`: one `*Route` call per command.

use std::path::Path;

use serde_json::json;

use super::args::RouteCommand;
use super::shapes::Route;
use super::{render, Gateway};
use crate::admin_api::answer::member;
use crate::client::CallError;

impl Gateway {
    pub(super) async fn route(&self, command: RouteCommand) -> Result<(), CallError> {
        match command {
            RouteCommand::Create(a) => {
                let ca = a.ca_file.as_deref().map(read_ca_file).transpose()?;
                let request = json!({
                    "Name": a.name,
                    "Provider": a.provider.wire(),
                    "SecretId": a.secret_id,
                    "BaseUrl": a.base_url,
                    // Only sent when asked: the server's default is "loopback only".
                    "AllowHttp": a.allow_http.then_some(true),
                    "CaCertificatePem": ca,
                    "Description": a.description,
                });
                self.print_route(self.call("CreateRoute", request).await?)
            }
            RouteCommand::Update(a) => {
                let ca = a.ca_file.as_deref().map(read_ca_file).transpose()?;
                let request = json!({
                    "Name": a.name,
                    "SecretId": a.secret_id,
                    "BaseUrl": a.base_url,
                    "AllowHttp": a.allow_http,
                    "CaCertificatePem": ca,
                    "Description": a.description,
                });
                self.print_route(self.call("UpdateRoute", request).await?)
            }
            RouteCommand::Get { name, .. } => {
                self.print_route(self.call("GetRoute", json!({ "Name": name })).await?)
            }
            RouteCommand::List { .. } => {
                let mut answer = self.call("ListRoutes", json!({})).await?;
                let routes: Vec<Route> = member(&mut answer, "Routes")?;
                self.print(&routes, || render::routes(&routes))
            }
            RouteCommand::Delete { name, .. } => {
                self.call("DeleteRoute", json!({ "Name": name })).await?;
                self.print(&json!({ "name": name, "deleted": true }), || {
                    format!("Deleted route {name}.\n")
                })
            }
        }
    }

    fn print_route(&self, mut answer: serde_json::Value) -> Result<(), CallError> {
        let route: Route = member(&mut answer, "Route")?;
        self.print(&route, || render::route(&route))
    }
}

/// The PEM text of `--ca-file`, checked to hold at least one certificate so a wrong file is
/// caught here rather than at the first upstream call.
fn read_ca_file(path: &Path) -> Result<String, CallError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CallError::Config(format!("cannot read --ca-file {shown}: {e}")))?;
    let certificates = rustls_pemfile::certs(&mut text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| CallError::Config(format!("--ca-file {shown} is not a PEM file")))?;
    if certificates.is_empty() {
        return Err(CallError::Config(format!(
            "--ca-file {shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(text)
}
