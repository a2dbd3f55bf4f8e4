//! From JSON text to a validated [`Policy`].
//!
//! Each element is checked where it is read, and every error names its location
//! (`Statement[1].Principal.AWS[0]`). Statements are numbered from 0 even when the document
//! holds a single statement object rather than an array.

use std::collections::HashSet;

use crate::condition::{BaseOperator, ConditionOperator};
use crate::error::PolicyError;
use crate::json::Json;
use crate::model::{
    ActionSpec, ConditionClause, Effect, Policy, PolicyKind, PolicyVersion, PrincipalMap,
    PrincipalSpec, Principals, ResourceSpec, Statement,
};
use crate::syntax;

/// Parses and validates a policy document of the given kind.
///
/// The caller enforces size limits before calling. Errors carry a message that names the
/// offending element and is safe to return to the client.
pub fn parse(document: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let root: Json = serde_json::from_str(document)
        .map_err(|e| PolicyError::new(format!("invalid JSON: {e}")))?;
    let Json::Object(entries) = root else {
        return Err(PolicyError::new(format!(
            "policy document must be a JSON object, not {}",
            root.type_name()
        )));
    };

    let mut version = None;
    let mut id = None;
    let mut statement = None;
    for (key, value) in entries {
        match key.as_str() {
            "Version" => {
                let name = string(value, "Version")?;
                version = Some(PolicyVersion::from_name(&name).ok_or_else(|| {
                    PolicyError::at(
                        "Version",
                        format!(
                            "unsupported version '{name}' (expected \"2012-10-17\" or \"2008-10-17\")"
                        ),
                    )
                })?);
            }
            "Id" => id = Some(string(value, "Id")?),
            "Statement" => statement = Some(value),
            _ => return Err(PolicyError::new(format!("unknown top-level key '{key}'"))),
        }
    }

    let items = match statement {
        None => return Err(PolicyError::new("missing Statement")),
        Some(object @ Json::Object(_)) => vec![object],
        Some(Json::Array(items)) if items.is_empty() => {
            return Err(PolicyError::at("Statement", "must not be empty"))
        }
        Some(Json::Array(items)) => items,
        Some(other) => {
            return Err(PolicyError::at(
                "Statement",
                format!(
                    "must be an object or an array of objects, not {}",
                    other.type_name()
                ),
            ))
        }
    };

    let mut statements = Vec::with_capacity(items.len());
    let mut sids = HashSet::new();
    for (index, item) in items.into_iter().enumerate() {
        let location = format!("Statement[{index}]");
        let statement = parse_statement(item, kind, &location)?;
        if let Some(sid) = statement.sid.as_deref().filter(|s| !s.is_empty()) {
            if !sids.insert(sid.to_owned()) {
                return Err(PolicyError::at(
                    &format!("{location}.Sid"),
                    format!("duplicate Sid '{sid}'; statement ids must be unique"),
                ));
            }
        }
        statements.push(statement);
    }

    Ok(Policy {
        version,
        id,
        statements,
    })
}

/// The raw elements of one statement, each at most once (the JSON reader rejects duplicates).
#[derive(Default)]
struct RawStatement {
    sid: Option<Json>,
    effect: Option<Json>,
    principal: Option<Json>,
    not_principal: Option<Json>,
    action: Option<Json>,
    not_action: Option<Json>,
    resource: Option<Json>,
    not_resource: Option<Json>,
    condition: Option<Json>,
}

fn parse_statement(item: Json, kind: PolicyKind, loc: &str) -> Result<Statement, PolicyError> {
    let Json::Object(entries) = item else {
        return Err(PolicyError::at(
            loc,
            format!("statement must be an object, not {}", item.type_name()),
        ));
    };
    let mut raw = RawStatement::default();
    for (key, value) in entries {
        let slot = match key.as_str() {
            "Sid" => &mut raw.sid,
            "Effect" => &mut raw.effect,
            "Principal" => &mut raw.principal,
            "NotPrincipal" => &mut raw.not_principal,
            "Action" => &mut raw.action,
            "NotAction" => &mut raw.not_action,
            "Resource" => &mut raw.resource,
            "NotResource" => &mut raw.not_resource,
            "Condition" => &mut raw.condition,
            _ => return Err(PolicyError::at(loc, format!("unknown key '{key}'"))),
        };
        *slot = Some(value);
    }

    let sid = raw
        .sid
        .map(|v| parse_sid(v, kind, &format!("{loc}.Sid")))
        .transpose()?;
    let effect = parse_effect(raw.effect, loc)?;
    let principal = parse_principal_element(raw.principal, raw.not_principal, kind, effect, loc)?;
    let action = match (raw.action, raw.not_action) {
        (Some(_), Some(_)) => {
            return Err(PolicyError::at(
                loc,
                "Action and NotAction cannot both be present",
            ))
        }
        (Some(v), None) => ActionSpec::Action(actions(v, &format!("{loc}.Action"))?),
        (None, Some(v)) => ActionSpec::NotAction(actions(v, &format!("{loc}.NotAction"))?),
        (None, None) => return Err(PolicyError::at(loc, "missing Action or NotAction")),
    };
    let resource = match (raw.resource, raw.not_resource) {
        (Some(_), Some(_)) => {
            return Err(PolicyError::at(
                loc,
                "Resource and NotResource cannot both be present",
            ))
        }
        (Some(v), None) => Some(ResourceSpec::Resource(resources(
            v,
            &format!("{loc}.Resource"),
        )?)),
        (None, Some(v)) => Some(ResourceSpec::NotResource(resources(
            v,
            &format!("{loc}.NotResource"),
        )?)),
        (None, None) if kind == PolicyKind::Trust => None,
        (None, None) => return Err(PolicyError::at(loc, "missing Resource or NotResource")),
    };
    let condition = raw
        .condition
        .map(|v| parse_condition(v, &format!("{loc}.Condition")))
        .transpose()?
        .unwrap_or_default();

    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        condition,
    })
}

fn parse_sid(value: Json, kind: PolicyKind, loc: &str) -> Result<String, PolicyError> {
    let sid = string(value, loc)?;
    // IAM restricts Sids in identity policies; resource policies of other services accept any
    // string (S3 and Secrets Manager documents commonly use spaces).
    if kind == PolicyKind::Identity && !syntax::is_identity_sid(&sid) {
        return Err(PolicyError::at(
            loc,
            format!("invalid Sid '{sid}'; only ASCII letters and digits are allowed"),
        ));
    }
    Ok(sid)
}

fn parse_effect(value: Option<Json>, loc: &str) -> Result<Effect, PolicyError> {
    let Some(value) = value else {
        return Err(PolicyError::at(loc, "missing Effect"));
    };
    let loc = format!("{loc}.Effect");
    match string(value, &loc)?.as_str() {
        "Allow" => Ok(Effect::Allow),
        "Deny" => Ok(Effect::Deny),
        other => Err(PolicyError::at(
            &loc,
            format!("must be \"Allow\" or \"Deny\", not '{other}'"),
        )),
    }
}

fn parse_principal_element(
    principal: Option<Json>,
    not_principal: Option<Json>,
    kind: PolicyKind,
    effect: Effect,
    loc: &str,
) -> Result<Option<PrincipalSpec>, PolicyError> {
    if kind == PolicyKind::Identity {
        if principal.is_some() || not_principal.is_some() {
            // The message IAM returns for this mistake, so users can search for it.
            return Err(PolicyError::at(
                loc,
                "Policy document should not specify a principal.",
            ));
        }
        return Ok(None);
    }
    match (principal, not_principal) {
        (Some(_), Some(_)) => Err(PolicyError::at(
            loc,
            "Principal and NotPrincipal cannot both be present",
        )),
        (Some(v), None) => Ok(Some(PrincipalSpec::Principal(principals(
            v,
            &format!("{loc}.Principal"),
        )?))),
        (None, Some(v)) => {
            // AWS documents NotPrincipal as unsupported in trust policies and with Allow: an
            // Allow for "everyone except X" is almost always a mistake that opens the resource
            // to the world.
            if kind == PolicyKind::Trust {
                return Err(PolicyError::at(
                    loc,
                    "NotPrincipal is not allowed in a trust policy",
                ));
            }
            if effect == Effect::Allow {
                return Err(PolicyError::at(
                    loc,
                    "NotPrincipal is only supported with \"Effect\": \"Deny\"",
                ));
            }
            Ok(Some(PrincipalSpec::NotPrincipal(principals(
                v,
                &format!("{loc}.NotPrincipal"),
            )?)))
        }
        (None, None) => Err(PolicyError::at(loc, "missing Principal or NotPrincipal")),
    }
}

fn principals(value: Json, loc: &str) -> Result<Principals, PolicyError> {
    let entries = match value {
        Json::String(s) if s == "*" => return Ok(Principals::Any),
        Json::String(s) => {
            return Err(PolicyError::at(
                loc,
                format!(
                    "invalid principal '{s}'; use \"*\" or an object such as {{\"AWS\": \"{s}\"}}"
                ),
            ))
        }
        Json::Object(entries) => entries,
        other => {
            return Err(PolicyError::at(
                loc,
                format!("must be \"*\" or an object, not {}", other.type_name()),
            ))
        }
    };
    if entries.is_empty() {
        return Err(PolicyError::at(loc, "must name at least one principal"));
    }
    let mut map = PrincipalMap::default();
    for (key, value) in entries {
        let (slot, valid, what): (&mut Vec<String>, fn(&str) -> bool, &str) = match key.as_str()
        {
            "AWS" => (&mut map.aws, syntax::is_aws_principal, "AWS principal"),
            "Service" => (
                &mut map.service,
                syntax::is_service_principal,
                "service principal",
            ),
            "Federated" => (
                &mut map.federated,
                syntax::is_federated_principal,
                "federated principal",
            ),
            "CanonicalUser" => (
                &mut map.canonical_user,
                syntax::is_canonical_user,
                "canonical user id",
            ),
            _ => {
                return Err(PolicyError::at(
                    loc,
                    format!(
                        "unknown principal type '{key}' (expected AWS, Service, Federated or CanonicalUser)"
                    ),
                ))
            }
        };
        *slot = string_list(value, &format!("{loc}.{key}"), valid, what)?;
    }
    Ok(Principals::Map(map))
}

fn actions(value: Json, loc: &str) -> Result<Vec<String>, PolicyError> {
    string_list(value, loc, syntax::is_action, "action")
}

fn resources(value: Json, loc: &str) -> Result<Vec<String>, PolicyError> {
    string_list(value, loc, syntax::is_resource, "resource")
}

/// A string or a non-empty array of strings, each accepted by `valid`.
fn string_list(
    value: Json,
    loc: &str,
    valid: impl Fn(&str) -> bool,
    what: &str,
) -> Result<Vec<String>, PolicyError> {
    let check = |s: String, at: &str| {
        if valid(&s) {
            Ok(s)
        } else {
            Err(PolicyError::at(at, format!("invalid {what} '{s}'")))
        }
    };
    match value {
        Json::String(s) => Ok(vec![check(s, loc)?]),
        Json::Array(items) if items.is_empty() => Err(PolicyError::at(loc, "must not be empty")),
        Json::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("{loc}[{i}]");
                check(string(item, &at)?, &at)
            })
            .collect(),
        other => Err(PolicyError::at(
            loc,
            format!(
                "must be a string or an array of strings, not {}",
                other.type_name()
            ),
        )),
    }
}

fn parse_condition(value: Json, loc: &str) -> Result<Vec<ConditionClause>, PolicyError> {
    let Json::Object(operators) = value else {
        return Err(PolicyError::at(
            loc,
            format!(
                "must be an object of condition operators, not {}",
                value.type_name()
            ),
        ));
    };
    let mut clauses = Vec::new();
    for (operator, keys) in operators {
        let Some(parsed) = ConditionOperator::parse(&operator) else {
            return Err(PolicyError::at(
                loc,
                format!("unknown operator '{operator}'"),
            ));
        };
        let op_loc = format!("{loc}.{operator}");
        let Json::Object(keys) = keys else {
            return Err(PolicyError::at(
                &op_loc,
                format!(
                    "must be an object of condition keys, not {}",
                    keys.type_name()
                ),
            ));
        };
        for (key, values) in keys {
            let key_loc = format!("{op_loc}.{key}");
            if key.is_empty() || key.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(PolicyError::at(
                    &op_loc,
                    format!("invalid condition key '{key}'"),
                ));
            }
            let values = condition_values(values, &key_loc)?;
            check_operands(parsed.base, &values, &key_loc)?;
            clauses.push(ConditionClause {
                operator: operator.clone(),
                key,
                values,
            });
        }
    }
    Ok(clauses)
}

/// A scalar or a non-empty array of scalars, rendered as strings.
fn condition_values(value: Json, loc: &str) -> Result<Vec<String>, PolicyError> {
    let scalar = |v: Json, at: &str| match v {
        Json::String(s) => Ok(s),
        Json::Bool(b) => Ok(b.to_string()),
        Json::Number(n) => Ok(n.to_string()),
        other => Err(PolicyError::at(
            at,
            format!(
                "condition values must be strings, booleans or numbers, not {}",
                other.type_name()
            ),
        )),
    };
    match value {
        Json::Array(items) if items.is_empty() => Err(PolicyError::at(loc, "must not be empty")),
        Json::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| scalar(item, &format!("{loc}[{i}]")))
            .collect(),
        other => Ok(vec![scalar(other, loc)?]),
    }
}

/// Rejects operands the operator can never compare. Date and binary operands, and anything
/// holding a policy variable, are left to the evaluator, which treats an unusable operand as a
/// statement that cannot grant.
fn check_operands(base: BaseOperator, values: &[String], loc: &str) -> Result<(), PolicyError> {
    let (valid, what): (fn(&str) -> bool, &str) = match base {
        BaseOperator::Bool | BaseOperator::Null => (syntax::is_bool_value, "\"true\" or \"false\""),
        BaseOperator::NumericEquals
        | BaseOperator::NumericNotEquals
        | BaseOperator::NumericLessThan
        | BaseOperator::NumericLessThanEquals
        | BaseOperator::NumericGreaterThan
        | BaseOperator::NumericGreaterThanEquals => (syntax::is_numeric_value, "a number"),
        BaseOperator::IpAddress | BaseOperator::NotIpAddress => (
            |s| syntax::cidr_prefix_len(s).is_some(),
            "an IP address or CIDR block",
        ),
        _ => return Ok(()),
    };
    for value in values {
        if !value.contains("${") && !valid(value) {
            return Err(PolicyError::at(
                loc,
                format!(
                    "invalid value '{value}' for {}; expected {what}",
                    base.name()
                ),
            ));
        }
    }
    Ok(())
}

/// A JSON string, or an error naming `loc`.
fn string(value: Json, loc: &str) -> Result<String, PolicyError> {
    match value {
        Json::String(s) => Ok(s),
        other => Err(PolicyError::at(
            loc,
            format!("must be a string, not {}", other.type_name()),
        )),
    }
}
