//! Condition clauses: one operator, one key, one or more values.
//!
//! A clause holds when the request's value for the key matches any of the clause's values
//! (values are OR'ed); for the negated operators (`StringNotEquals`, `NotIpAddress`, …) when it
//! matches none of them. The statement's clauses are AND'ed by the caller.
//!
//! When the key is absent from the request:
//!
//! | operator | result |
//! |---|---|
//! | `Null` | `"true"` holds, `"false"` does not |
//! | `…IfExists` | holds |
//! | `ForAllValues:…` | holds (every one of no values matches) |
//! | `ForAnyValue:…` | does not hold |
//! | negated operator | holds (the absent value equals none of the values) |
//! | any other | does not hold |
//!
//! When the key has several values (`aws:TagKeys`): `ForAnyValue:` holds when some value
//! passes the operator, `ForAllValues:` when every value does. Without a qualifier, AWS leaves
//! the result undefined; here a positive operator holds when some value matches and a negated
//! one when no value matches (so `StringNotEquals` on a multivalued key means "none of them").
//!
//! A clause value that the operator cannot use (a date that does not parse, bad base64, an
//! unresolvable policy variable) is an error, which the decision treats as "cannot grant".
//! A *request* value the operator cannot use (a `SourceIp` that is not an address) simply does
//! not match: the operator compares values of its type only.

use std::cmp::Ordering;
use std::net::IpAddr;

use crate::condition::{BaseOperator, SetQualifier};
use crate::eval::context::ConditionContext;
use crate::eval::dates::{self, Instant};
use crate::eval::matching::{arn_matches, glob, Token};
use crate::eval::outcome::{all, any, Outcome};
use crate::eval::values::{decode_base64, parse_bool, Cidr, Number};
use crate::eval::variables::Variables;
use crate::model::ConditionClause;

/// Whether `clause` holds for the request described by `context`.
pub(crate) fn clause_holds(
    clause: &ConditionClause,
    context: &ConditionContext,
    variables: &Variables<'_>,
) -> Outcome {
    evaluate(clause, context, variables)
        .map_err(|e| format!("Condition {} {}: {e}", clause.operator, clause.key))
}

fn evaluate(
    clause: &ConditionClause,
    context: &ConditionContext,
    variables: &Variables<'_>,
) -> Outcome {
    let operator = clause
        .parsed_operator()
        .ok_or_else(|| "unknown condition operator".to_owned())?;
    let request = context.get(&clause.key);
    let Some((comparison, negated)) = comparison(operator.base) else {
        return null_holds(clause, request.is_none(), variables);
    };
    let Some(request) = request else {
        return Ok(operator.if_exists
            || match operator.set {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => false,
                None => negated,
            });
    };

    let operands: Vec<Result<Operand, String>> = clause
        .values
        .iter()
        .map(|value| Operand::parse(comparison, value, variables))
        .collect();
    // One request value against the clause: matches any operand (positive operators) or none
    // (negated ones).
    let passes = |value: &String| -> Outcome {
        let matched = any(operands.iter().map(|operand| match operand {
            Ok(operand) => Ok(operand.matches(value)),
            Err(e) => Err(e.clone()),
        }));
        matched.map(|m| m != negated)
    };
    let per_value = request.iter().map(passes);
    match operator.set {
        Some(SetQualifier::ForAnyValue) => any(per_value),
        Some(SetQualifier::ForAllValues) => all(per_value),
        None if negated => all(per_value),
        None => any(per_value),
    }
}

/// `Null`: `"true"` holds when the key is absent, `"false"` when it is present.
fn null_holds(clause: &ConditionClause, absent: bool, variables: &Variables<'_>) -> Outcome {
    any(clause.values.iter().map(|value| {
        let text = variables.text(value)?;
        let wanted =
            parse_bool(&text).ok_or_else(|| format!("'{text}' is not \"true\" or \"false\""))?;
        Ok(wanted == absent)
    }))
}

/// How a comparison orders or equates two values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Order {
    fn accepts(self, ordering: Ordering) -> bool {
        match self {
            Order::Equal => ordering == Ordering::Equal,
            Order::Less => ordering == Ordering::Less,
            Order::LessOrEqual => ordering != Ordering::Greater,
            Order::Greater => ordering == Ordering::Greater,
            Order::GreaterOrEqual => ordering != Ordering::Less,
        }
    }
}

/// The positive comparison an operator performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Order),
    Date(Order),
    Bool,
    Binary,
    IpAddress,
    Arn,
}

/// The positive comparison behind an operator, and whether the operator negates it; `None`
/// for `Null`, which tests presence rather than comparing values.
fn comparison(base: BaseOperator) -> Option<(Comparison, bool)> {
    use BaseOperator as B;
    use Comparison as C;
    Some(match base {
        B::StringEquals => (C::StringEquals, false),
        B::StringNotEquals => (C::StringEquals, true),
        B::StringEqualsIgnoreCase => (C::StringEqualsIgnoreCase, false),
        B::StringNotEqualsIgnoreCase => (C::StringEqualsIgnoreCase, true),
        B::StringLike => (C::StringLike, false),
        B::StringNotLike => (C::StringLike, true),
        B::NumericEquals => (C::Numeric(Order::Equal), false),
        B::NumericNotEquals => (C::Numeric(Order::Equal), true),
        B::NumericLessThan => (C::Numeric(Order::Less), false),
        B::NumericLessThanEquals => (C::Numeric(Order::LessOrEqual), false),
        B::NumericGreaterThan => (C::Numeric(Order::Greater), false),
        B::NumericGreaterThanEquals => (C::Numeric(Order::GreaterOrEqual), false),
        B::DateEquals => (C::Date(Order::Equal), false),
        B::DateNotEquals => (C::Date(Order::Equal), true),
        B::DateLessThan => (C::Date(Order::Less), false),
        B::DateLessThanEquals => (C::Date(Order::LessOrEqual), false),
        B::DateGreaterThan => (C::Date(Order::Greater), false),
        B::DateGreaterThanEquals => (C::Date(Order::GreaterOrEqual), false),
        B::Bool => (C::Bool, false),
        B::BinaryEquals => (C::Binary, false),
        B::IpAddress => (C::IpAddress, false),
        B::NotIpAddress => (C::IpAddress, true),
        // AWS documents ArnEquals and ArnLike alike: field by field, with wildcards.
        B::ArnEquals | B::ArnLike => (C::Arn, false),
        B::ArnNotEquals | B::ArnNotLike => (C::Arn, true),
        B::Null => return None,
    })
}

/// A clause value, parsed for its comparison, with the request value's side of the test.
#[derive(Debug)]
enum Operand {
    Text(String),
    Folded(String),
    Pattern(Vec<Token>),
    Number(Order, Number),
    Date(Order, Instant),
    Bool(bool),
    Bytes(Vec<u8>),
    Cidr(Cidr),
    Arn(Vec<Token>),
}

impl Operand {
    fn parse(
        comparison: Comparison,
        value: &str,
        variables: &Variables<'_>,
    ) -> Result<Self, String> {
        let text = || variables.text(value);
        Ok(match comparison {
            Comparison::StringEquals => Operand::Text(text()?),
            Comparison::StringEqualsIgnoreCase => Operand::Folded(text()?.to_lowercase()),
            Comparison::StringLike => Operand::Pattern(variables.pattern(value)?),
            Comparison::Numeric(order) => {
                let text = text()?;
                let number =
                    Number::parse(&text).ok_or_else(|| format!("'{text}' is not a number"))?;
                Operand::Number(order, number)
            }
            Comparison::Date(order) => {
                let text = text()?;
                let date = dates::parse(&text)
                    .ok_or_else(|| format!("'{text}' is not an ISO 8601 date or epoch seconds"))?;
                Operand::Date(order, date)
            }
            Comparison::Bool => {
                let text = text()?;
                Operand::Bool(
                    parse_bool(&text)
                        .ok_or_else(|| format!("'{text}' is not \"true\" or \"false\""))?,
                )
            }
            Comparison::Binary => {
                let text = text()?;
                Operand::Bytes(
                    decode_base64(&text).ok_or_else(|| format!("'{text}' is not base64"))?,
                )
            }
            Comparison::IpAddress => {
                let text = text()?;
                Operand::Cidr(
                    Cidr::parse(&text)
                        .ok_or_else(|| format!("'{text}' is not an IP address or CIDR block"))?,
                )
            }
            Comparison::Arn => Operand::Arn(variables.pattern(value)?),
        })
    }

    /// Whether one request value matches this operand.
    fn matches(&self, value: &str) -> bool {
        match self {
            Operand::Text(expected) => value == expected,
            Operand::Folded(expected) => value.to_lowercase() == *expected,
            Operand::Pattern(pattern) => glob(pattern, &value.chars().collect::<Vec<_>>()),
            Operand::Number(order, expected) => Number::parse(value)
                .and_then(|actual| actual.compare(*expected))
                .is_some_and(|ordering| order.accepts(ordering)),
            Operand::Date(order, expected) => {
                dates::parse(value).is_some_and(|actual| order.accepts(actual.cmp(expected)))
            }
            Operand::Bool(expected) => parse_bool(value) == Some(*expected),
            Operand::Bytes(expected) => decode_base64(value).as_ref() == Some(expected),
            Operand::Cidr(block) => value
                .parse::<IpAddr>()
                .is_ok_and(|address| block.contains(address)),
            Operand::Arn(pattern) => arn_matches(pattern, value),
        }
    }
}
