//! The IAM policy evaluator: may this caller perform this action on this resource?
//!
//! Data path: the core authenticates the caller ([`Caller`]), builds the request's condition
//! keys ([`ConditionContext::for_caller`] plus the resource's tags and the operation's own
//! keys), gathers the caller's identity policies, the resource's policy and any session policy
//! ([`PolicySet`]), and calls [`evaluate`]. Each statement is checked once —
//! action ([`matching`]), principal, resource with policy variables ([`variables`]),
//! conditions ([`conditions`]) — and the applicable ones are collected; [`decide`] then
//! applies AWS's evaluation logic to the collection. The [`Decision`] names the statements
//! that decided it (for the audit record) and renders the `AccessDeniedException` message.
//!
//! Pure: no I/O and no clock. The time of the request arrives as `aws:CurrentTime` and
//! `aws:EpochTime` in the context.

mod conditions;
mod context;
mod dates;
mod decide;
mod decision;
mod matching;
mod outcome;
mod request;
mod statement;
mod values;
mod variables;

pub use context::ConditionContext;
pub use decide::{evaluate, evaluate_key_policy};
pub use decision::{Decision, DecisionKind, PolicySource, StatementError, StatementRef};
pub use request::{AuthzRequest, Caller, NamedPolicy, PolicySet, PrincipalKind};
