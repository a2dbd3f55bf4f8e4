//! The IAM policy language: model, grammar validation and evaluation.
//!
//! Data path: a policy document arrives as a JSON string (`PutResourcePolicy`, `CreateRole`'s
//! trust policy, `PutRolePolicy`, a KMS key policy). The caller checks its size, then calls
//! [`parse`] with the [`PolicyKind`] the document is attached as. `parse` reads the JSON
//! (rejecting duplicate keys), checks the IAM grammar for that kind, and returns a [`Policy`]
//! whose statements are already normalised: single strings became one-element lists, condition
//! values became strings, and every condition operator is known. Anything else is a
//! [`PolicyError`] whose message names the offending element (`Statement[1].Action[0]: …`),
//! which the core turns into `MalformedPolicyDocumentException`.
//!
//! The caller stores the original document text (AWS returns it verbatim), and keeps the parsed
//! [`Policy`] for decisions. [`grants_public_access`] answers Secrets Manager's
//! `BlockPublicPolicy` question. [`evaluate`] decides a request against the caller's identity
//! policies, the resource's policy and a session policy: deny wins, an erroring statement never
//! grants, and the [`Decision`] names the statements that decided it (see the `eval` module).
//!
//! The crate is pure: no I/O, no clock, no global state. Policy variables (`${aws:username}`)
//! are kept verbatim here and substituted by the evaluator.

mod condition;
mod error;
mod eval;
mod json;
mod model;
mod parse;
mod public;
mod syntax;

pub use condition::{BaseOperator, ConditionOperator, SetQualifier};
pub use error::PolicyError;
pub use eval::{
    evaluate, evaluate_key_policy, AuthzRequest, Caller, ConditionContext, Decision, DecisionKind,
    NamedPolicy, PolicySet, PolicySource, PrincipalKind, StatementError, StatementRef,
};
pub use model::{
    ActionSpec, ConditionClause, Effect, Policy, PolicyKind, PolicyVersion, PrincipalMap,
    PrincipalSpec, Principals, ResourceSpec, Statement,
};
pub use parse::parse;
pub use public::grants_public_access;
pub use syntax::is_unique_id;
