//! `tresor gateway key …`. `create` is the one command that prints a gateway key, once.

use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::args::{KeyCommand, KeyIdArgs};
use super::shapes::{CreatedKey, GatewayKey, KeyUsage};
use super::{render, Gateway};
use crate::admin_api::answer::{member, whole};
use crate::client::CallError;

impl Gateway {
    pub(super) async fn key(&self, command: KeyCommand) -> Result<(), CallError> {
        match command {
            KeyCommand::Create(a) => {
                let request = json!({
                    "UserName": a.user,
                    "RoleName": a.role,
                    "Routes": a.routes,
                    "Models": a.models,
                    "BudgetUsd": a.budget_usd,
                    "BudgetPeriod": a.budget_period.map(|p| p.wire()),
                    "Rpm": a.rpm,
                    "Tpm": a.tpm,
                    "ExpiresInSeconds": a.expires_in,
                    "Description": a.description,
                });
                let answer = self.call("CreateKey", request).await?;
                self.print_created(answer)
            }
            KeyCommand::Get(KeyIdArgs { key_id, .. }) => {
                self.print_key(self.call("GetKey", json!({ "KeyId": key_id })).await?)
            }
            KeyCommand::List(a) => {
                let request = json!({ "UserName": a.user, "RoleName": a.role });
                let mut answer = self.call("ListKeys", request).await?;
                let keys: Vec<GatewayKey> = member(&mut answer, "GatewayKeys")?;
                self.print(&keys, || render::keys(&keys))
            }
            KeyCommand::Update(a) => {
                let request = json!({
                    "KeyId": a.key_id,
                    "Routes": a.routes,
                    "Models": a.models,
                    "BudgetUsd": a.budget_usd,
                    "BudgetPeriod": a.budget_period.map(|p| p.wire()),
                    "Rpm": a.rpm,
                    "Tpm": a.tpm,
                    "Description": a.description,
                });
                self.print_key(self.call("UpdateKey", request).await?)
            }
            KeyCommand::Disable(a) => self.set_status(a.key_id, "Inactive").await,
            KeyCommand::Enable(a) => self.set_status(a.key_id, "Active").await,
            KeyCommand::Delete(KeyIdArgs { key_id, .. }) => {
                self.call("DeleteKey", json!({ "KeyId": key_id })).await?;
                self.print(&json!({ "key_id": key_id, "deleted": true }), || {
                    format!("Deleted gateway key {key_id}.\n")
                })
            }
            KeyCommand::Usage(KeyIdArgs { key_id, .. }) => {
                let answer = self.call("GetKeyUsage", json!({ "KeyId": key_id })).await?;
                let usage: KeyUsage = whole(answer)?;
                self.print(&usage, || render::usage(&usage))
            }
        }
    }

    async fn set_status(&self, key_id: String, status: &str) -> Result<(), CallError> {
        let request = json!({ "KeyId": key_id, "Status": status });
        self.print_key(self.call("UpdateKey", request).await?)
    }

    fn print_key(&self, mut answer: Value) -> Result<(), CallError> {
        let key: GatewayKey = member(&mut answer, "GatewayKey")?;
        self.print(&key, || render::key(&key))
    }

    fn print_created(&self, mut answer: Value) -> Result<(), CallError> {
        // Why zeroized: the key is a bearer credential; once printed, nothing in this process
        // needs it.
        let secret: Zeroizing<String> = Zeroizing::new(member(&mut answer, "Key")?);
        let key: GatewayKey = member(&mut answer, "GatewayKey")?;
        let created = CreatedKey {
            key: &secret,
            gateway_key: &key,
        };
        self.print(&created, || render::created_key(&secret, &key))
    }
}
