//! Budgets of users and roles: `PutBudget`, `GetBudget`, `ListBudgets`, `DeleteBudget`.
//!
//! A key's budget caps that key; a principal's budget caps every gateway call of the user or
//! role, whichever of its keys makes it (a team's monthly spend over the keys of all its
//! services). A call is charged to both, and admitted only if both can hold its estimate, in
//! the same store transaction ([`super::invoke`]). Setting one needs `gateway:PutBudget` on the
//! user's or role's ARN.

use tresor_store::{GatewayStore, IdentityStore, PrincipalBudgetRecord, PrincipalKind};

use super::dto::*;
use super::invoke::principal_scope;
use super::keys::{key_principal, period_bounds, principal_arn};
use super::Operation;
use crate::authz::Resource;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

fn owner_of(user: Option<String>, role: Option<String>) -> (PrincipalKind, String) {
    match (user, role) {
        (Some(user), _) => (PrincipalKind::User, user),
        (None, role) => (PrincipalKind::Role, role.unwrap_or_default()),
    }
}

fn budget_not_found(kind: PrincipalKind, name: &str) -> CoreError {
    CoreError::ResourceNotFound(format!(
        "The {} {name} has no gateway budget.",
        kind.as_str()
    ))
}

impl Core {
    fn authorize_budget(
        &self,
        ctx: &RequestContext,
        op: Operation,
        owner: Option<(PrincipalKind, &str)>,
    ) -> Result<(), CoreError> {
        let action = format!("gateway:{}", op.name());
        let Some((kind, name)) = owner else {
            return self.authorize(ctx, &action, Resource::any());
        };
        let arn = principal_arn(&ctx.principal.account, kind, name);
        let resource = Resource {
            arn: &arn,
            account: Some(&ctx.principal.account),
            policy: None,
            keys: Vec::new(),
            shown_as: None,
        };
        self.authorize(ctx, &action, resource)
    }

    /// A budget as the API shows it, with its use in the current period.
    fn shown_budget(
        &self,
        ctx: &RequestContext,
        b: &PrincipalBudgetRecord,
    ) -> Result<Budget, CoreError> {
        let (start, _) = period_bounds(&b.budget_period, ctx.now);
        let scope = principal_scope(&b.account, b.principal_kind, &b.principal_name);
        let usage = self.store.usage(&scope, start.millis(), ctx.now)?;
        Ok(Budget {
            principal: key_principal(&b.account, b.principal_kind, &b.principal_name),
            budget_usd: usd(b.budget_micro_usd),
            budget_period: b.budget_period.clone(),
            period_start: start,
            requests: usage.requests,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            spent_usd: usd(usage.spent_micro_usd),
            held_usd: usd(usage.held_micro_usd),
            last_changed_date: b.updated,
        })
    }

    pub fn gateway_put_budget(
        &self,
        ctx: &RequestContext,
        req: Validated<PutBudgetRequest>,
    ) -> Result<BudgetResponse, CoreError> {
        let req = req.into_inner();
        let (kind, name) = owner_of(req.user_name, req.role_name);
        self.authorize_budget(ctx, Operation::PutBudget, Some((kind, &name)))?;
        let account = &ctx.principal.account;
        // The name as IAM keeps it, so that the budget reads as the identity is named.
        let canonical = match kind {
            PrincipalKind::Role => self.store.get_role(account, &name)?.map(|r| r.role_name),
            _ => self.store.get_user(account, &name)?.map(|u| u.user_name),
        };
        let Some(principal_name) = canonical else {
            return Err(CoreError::NoSuchEntity(format!(
                "The {} with name {name} cannot be found.",
                kind.as_str()
            )));
        };
        let record = PrincipalBudgetRecord {
            account: account.clone(),
            principal_kind: kind,
            principal_name,
            budget_micro_usd: micro(req.budget_usd.unwrap_or_default()),
            budget_period: req.budget_period.unwrap_or_else(|| "month".to_owned()),
            updated: ctx.now,
        };
        self.store.put_principal_budget(&record)?;
        Ok(BudgetResponse {
            budget: self.shown_budget(ctx, &record)?,
        })
    }

    pub fn gateway_get_budget(
        &self,
        ctx: &RequestContext,
        req: Validated<BudgetOwnerRequest>,
    ) -> Result<BudgetResponse, CoreError> {
        let req = req.into_inner();
        let (kind, name) = owner_of(req.user_name, req.role_name);
        self.authorize_budget(ctx, Operation::GetBudget, Some((kind, &name)))?;
        let record = self
            .store
            .get_principal_budget(&ctx.principal.account, kind, &name)?
            .ok_or_else(|| budget_not_found(kind, &name))?;
        Ok(BudgetResponse {
            budget: self.shown_budget(ctx, &record)?,
        })
    }

    pub fn gateway_list_budgets(
        &self,
        ctx: &RequestContext,
        _req: Validated<EmptyRequest>,
    ) -> Result<ListBudgetsResponse, CoreError> {
        self.authorize_budget(ctx, Operation::ListBudgets, None)?;
        let records = self.store.list_principal_budgets(&ctx.principal.account)?;
        let budgets = records
            .iter()
            .map(|b| self.shown_budget(ctx, b))
            .collect::<Result<_, _>>()?;
        Ok(ListBudgetsResponse { budgets })
    }

    pub fn gateway_delete_budget(
        &self,
        ctx: &RequestContext,
        req: Validated<BudgetOwnerRequest>,
    ) -> Result<EmptyResponse, CoreError> {
        let req = req.into_inner();
        let (kind, name) = owner_of(req.user_name, req.role_name);
        self.authorize_budget(ctx, Operation::DeleteBudget, Some((kind, &name)))?;
        match self
            .store
            .delete_principal_budget(&ctx.principal.account, kind, &name)
        {
            Err(tresor_store::StoreError::NotFound(_)) => Err(budget_not_found(kind, &name)),
            other => other.map_err(CoreError::from),
        }?;
        Ok(EmptyResponse {})
    }
}
