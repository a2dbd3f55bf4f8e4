//! `tresor gateway budget …`: budgets of users and roles, over all their keys.

use serde_json::{json, Value};

use super::args::{BudgetCommand, BudgetOwnerArgs};
use super::shapes::Budget;
use super::{render, Gateway};
use crate::admin_api::answer::member;
use crate::client::CallError;

/// `{"UserName": …}` or `{"RoleName": …}`.
fn owner(a: &BudgetOwnerArgs) -> Value {
    match (&a.user, &a.role) {
        (Some(user), _) => json!({ "UserName": user }),
        (None, role) => json!({ "RoleName": role }),
    }
}

impl Gateway {
    pub(super) async fn budget(&self, command: BudgetCommand) -> Result<(), CallError> {
        match command {
            BudgetCommand::Set(a) => {
                let request = json!({
                    "UserName": a.user,
                    "RoleName": a.role,
                    "BudgetUsd": a.budget_usd,
                    "BudgetPeriod": a.budget_period.map(|p| p.wire()),
                });
                let mut answer = self.call("PutBudget", request).await?;
                let budget: Budget = member(&mut answer, "Budget")?;
                self.print(&budget, || render::principal_budget(&budget))
            }
            BudgetCommand::Get(a) => {
                let mut answer = self.call("GetBudget", owner(&a)).await?;
                let budget: Budget = member(&mut answer, "Budget")?;
                self.print(&budget, || render::principal_budget(&budget))
            }
            BudgetCommand::List { .. } => {
                let mut answer = self.call("ListBudgets", json!({})).await?;
                let budgets: Vec<Budget> = member(&mut answer, "Budgets")?;
                self.print(&budgets, || render::principal_budgets(&budgets))
            }
            BudgetCommand::Delete(a) => {
                let request = owner(&a);
                self.call("DeleteBudget", request.clone()).await?;
                let principal = a.user.as_ref().or(a.role.as_ref()).cloned();
                self.print(&json!({ "principal": principal, "deleted": true }), || {
                    format!(
                        "Deleted the gateway budget of {}.\n",
                        principal.as_deref().unwrap_or_default()
                    )
                })
            }
        }
    }
}
