//! Price overrides: `PutPrice`, `ListPrices`, `DeletePrice`. The shipped price table lives
//! with the gateway (`tresor_gateway::prices`); an override of the account replaces its
//! entry for that model (or pattern ending in `*`). `ListPrices` answers both, each with its
//! source.

use tresor_store::{GatewayStore, PriceRecord, StoreError};

use super::dto::*;
use super::Operation;
use crate::authz::Resource;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

fn shown(p: &PriceRecord) -> Price {
    Price {
        model: p.model.clone(),
        input_per_million_usd: usd(p.input_micro_per_mtok),
        output_per_million_usd: usd(p.output_micro_per_mtok),
        cached_input_per_million_usd: p.cached_input_micro_per_mtok.map(usd),
        source: Some("override".to_owned()),
    }
}

impl Core {
    fn authorize_prices(&self, ctx: &RequestContext, op: Operation) -> Result<(), CoreError> {
        self.authorize(ctx, &format!("gateway:{}", op.name()), Resource::any())
    }

    pub fn gateway_put_price(
        &self,
        ctx: &RequestContext,
        req: Validated<PutPriceRequest>,
    ) -> Result<PriceResponse, CoreError> {
        self.authorize_prices(ctx, Operation::PutPrice)?;
        let req = req.into_inner();
        let record = PriceRecord {
            account: ctx.principal.account.clone(),
            model: req.model.unwrap_or_default(),
            input_micro_per_mtok: micro(req.input_per_million_usd.unwrap_or_default()),
            output_micro_per_mtok: micro(req.output_per_million_usd.unwrap_or_default()),
            cached_input_micro_per_mtok: req.cached_input_per_million_usd.map(micro),
            updated: ctx.now,
        };
        self.store.put_price(&record)?;
        Ok(PriceResponse {
            price: shown(&record),
        })
    }

    /// The prices in effect: the account's overrides, and the shipped `defaults` (the
    /// gateway's table, which the caller passes in) for every model without one; by model.
    pub fn gateway_list_prices(
        &self,
        ctx: &RequestContext,
        _req: Validated<EmptyRequest>,
        defaults: Vec<Price>,
    ) -> Result<ListPricesResponse, CoreError> {
        self.authorize_prices(ctx, Operation::ListPrices)?;
        let overrides = self.store.list_prices(&ctx.principal.account)?;
        let mut prices: Vec<Price> = overrides.iter().map(shown).collect();
        for d in defaults {
            if !overrides.iter().any(|o| o.model == d.model) {
                prices.push(Price {
                    source: Some("default".to_owned()),
                    ..d
                });
            }
        }
        prices.sort_by(|a, b| a.model.cmp(&b.model));
        Ok(ListPricesResponse { prices })
    }

    pub fn gateway_delete_price(
        &self,
        ctx: &RequestContext,
        req: Validated<DeletePriceRequest>,
    ) -> Result<EmptyResponse, CoreError> {
        self.authorize_prices(ctx, Operation::DeletePrice)?;
        let model = req.model.as_deref().unwrap_or_default();
        match self.store.delete_price(&ctx.principal.account, model) {
            Err(StoreError::NotFound(_)) => Err(CoreError::ResourceNotFound(format!(
                "No price override for model {model}."
            ))),
            other => other.map_err(CoreError::from),
        }?;
        Ok(EmptyResponse {})
    }

    /// The account's price overrides, for the gateway's price table.
    pub fn gateway_price_overrides(
        &self,
        account: &tresor_types::AccountId,
    ) -> Result<Vec<PriceRecord>, CoreError> {
        Ok(self.store.list_prices(account)?)
    }
}
