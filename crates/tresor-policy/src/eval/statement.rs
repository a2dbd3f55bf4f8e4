//! Does one statement apply to one request?

use crate::eval::conditions::clause_holds;
use crate::eval::decision::PolicySource;
use crate::eval::matching::{action_covered, arn_matches, principal_match, PrincipalMatch};
use crate::eval::outcome::{all, any, Outcome};
use crate::eval::request::AuthzRequest;
use crate::eval::variables::Variables;
use crate::model::{PrincipalSpec, ResourceSpec, Statement};

/// Whether `statement` applies to `req`: `Ok(Some(how the caller is named))` when it does,
/// `Ok(None)` when it does not, `Err` when it cannot be evaluated.
///
/// A statement applies when its action element covers the action, its principal element (in a
/// resource policy) names the caller, its resource element covers the resource, and every
/// condition clause holds. The parts combine with [`all`], so a statement that certainly does
/// not apply (wrong action, one false condition) is not an error even if another part is.
pub(crate) fn applies(
    statement: &Statement,
    req: &AuthzRequest<'_>,
    source: PolicySource,
    variables: &Variables<'_>,
) -> Result<Option<PrincipalMatch>, String> {
    if !action_covered(&statement.action, req.action) {
        return Ok(None);
    }
    let named = match source {
        // Identity and session policies have no principal: they apply to the identity or
        // session they are attached to.
        PolicySource::Identity | PolicySource::Session => PrincipalMatch::Direct,
        PolicySource::Resource => match &statement.principal {
            // `parse` requires one; a hand-built statement without it must not grant everyone.
            None => return Err("resource policy statement has no Principal".to_owned()),
            Some(PrincipalSpec::Principal(principals)) => principal_match(principals, req.caller),
            Some(PrincipalSpec::NotPrincipal(principals)) => {
                match principal_match(principals, req.caller) {
                    PrincipalMatch::None => PrincipalMatch::Direct,
                    _ => PrincipalMatch::None,
                }
            }
        },
    };
    if named == PrincipalMatch::None {
        return Ok(None);
    }
    let resource = || resource_covered(statement.resource.as_ref(), req.resource, variables);
    let conditions = statement
        .condition
        .iter()
        .map(|clause| clause_holds(clause, req.context, variables));
    let applies = all(std::iter::once_with(resource).chain(conditions))?;
    Ok(applies.then_some(named))
}

/// Whether a `Resource`/`NotResource` element covers `resource`. A statement without one (a
/// trust policy) covers the resource it is attached to.
fn resource_covered(
    spec: Option<&ResourceSpec>,
    resource: &str,
    variables: &Variables<'_>,
) -> Outcome {
    let Some(spec) = spec else {
        return Ok(true);
    };
    let listed = any(spec.patterns().iter().map(|pattern| {
        let pattern = variables
            .pattern(pattern)
            .map_err(|e| format!("Resource: {e}"))?;
        Ok(arn_matches(&pattern, resource))
    }));
    listed.map(|listed| listed != spec.is_negated())
}
