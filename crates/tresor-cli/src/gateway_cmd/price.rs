//! `tresor gateway price …`: the price table overrides.

use serde_json::json;

use super::args::PriceCommand;
use super::shapes::Price;
use super::{render, Gateway};
use crate::admin_api::answer::member;
use crate::client::CallError;

impl Gateway {
    pub(super) async fn price(&self, command: PriceCommand) -> Result<(), CallError> {
        match command {
            PriceCommand::Set(a) => {
                let request = json!({
                    "Model": a.model,
                    "InputPerMillionUsd": a.input_usd,
                    "OutputPerMillionUsd": a.output_usd,
                    "CachedInputPerMillionUsd": a.cached_input_usd,
                });
                let mut answer = self.call("PutPrice", request).await?;
                let price: Price = member(&mut answer, "Price")?;
                self.print(&price, || render::price(&price))
            }
            PriceCommand::List { .. } => {
                let mut answer = self.call("ListPrices", json!({})).await?;
                let prices: Vec<Price> = member(&mut answer, "Prices")?;
                self.print(&prices, || render::prices(&prices))
            }
            PriceCommand::Delete { model, .. } => {
                self.call("DeletePrice", json!({ "Model": model })).await?;
                self.print(&json!({ "model": model, "deleted": true }), || {
                    format!("Deleted the price override of {model}.\n")
                })
            }
        }
    }
}
