//! Policy variables: `${aws:username}` in `Resource` and condition values.
//!
//! Only policies with `"Version": "2012-10-17"` have variables; in older documents `${…}` is
//! literal text. A variable names any condition key of the request (`${aws:username}`,
//! `${aws:userid}`, `${aws:PrincipalTag/team}`, `${aws:PrincipalAccount}`,
//! `${secretsmanager:Name}`, …), looked up case-insensitively; `${key, 'fallback'}` supplies a
//! value for an absent key. `${*}`, `${?}` and `${$}` stand for the literal characters, so
//! a pattern can match a real `*`.
//!
//! A variable without a value (absent key, no fallback), a multivalued key, or a malformed
//! `${…}` makes the element unevaluable: the statement never grants and the error is recorded.

use crate::eval::context::ConditionContext;
use crate::eval::matching::{literal_tokens, wildcard_tokens, Token};

/// Substitutes policy variables from one request's context.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Variables<'a> {
    context: &'a ConditionContext,
    /// False for policies older than 2012-10-17: `${…}` is then literal text.
    enabled: bool,
}

/// A piece of a template after substitution.
enum Piece<'t> {
    /// Text written in the policy: `*` and `?` are wildcards where the element has them.
    Written(&'t str),
    /// Text that came from a variable or an escape: always literal.
    Substituted(String),
}

impl<'a> Variables<'a> {
    /// Variables resolved from `context`, or none at all when `enabled` is false.
    pub(crate) fn new(context: &'a ConditionContext, enabled: bool) -> Self {
        Self { context, enabled }
    }

    /// `template` as a wildcard pattern; substituted text is literal.
    pub(crate) fn pattern(&self, template: &str) -> Result<Vec<Token>, String> {
        let mut tokens = Vec::with_capacity(template.len());
        for piece in self.pieces(template)? {
            match piece {
                Piece::Written(text) => tokens.extend(wildcard_tokens(text)),
                Piece::Substituted(text) => tokens.extend(literal_tokens(&text)),
            }
        }
        Ok(tokens)
    }

    /// `template` with its variables replaced, for operators without wildcards.
    pub(crate) fn text(&self, template: &str) -> Result<String, String> {
        if !self.enabled || !template.contains("${") {
            return Ok(template.to_owned());
        }
        let mut out = String::with_capacity(template.len());
        for piece in self.pieces(template)? {
            match piece {
                Piece::Written(text) => out.push_str(text),
                Piece::Substituted(text) => out.push_str(&text),
            }
        }
        Ok(out)
    }

    fn pieces<'t>(&self, template: &'t str) -> Result<Vec<Piece<'t>>, String> {
        if !self.enabled {
            return Ok(vec![Piece::Written(template)]);
        }
        let mut pieces = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                pieces.push(Piece::Written(&rest[..start]));
            }
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unterminated policy variable in '{template}'"))?;
            pieces.push(Piece::Substituted(self.resolve(&after[..end])?));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Written(rest));
        }
        Ok(pieces)
    }

    /// The value of the inside of one `${…}`.
    fn resolve(&self, inner: &str) -> Result<String, String> {
        match inner {
            "*" | "?" | "$" => return Ok(inner.to_owned()),
            _ => {}
        }
        let (name, fallback) = match inner.split_once(',') {
            Some((name, fallback)) => (name.trim(), Some(quoted(fallback.trim(), inner)?)),
            None => (inner.trim(), None),
        };
        if name.is_empty() {
            return Err(format!("empty policy variable '${{{inner}}}'"));
        }
        match (self.context.get(name), fallback) {
            (Some([value]), _) => Ok(value.clone()),
            (Some(_), _) => Err(format!(
                "policy variable '${{{name}}}' names a multivalued key"
            )),
            (None, Some(fallback)) => Ok(fallback.to_owned()),
            (None, None) => Err(format!(
                "policy variable '${{{name}}}' has no value in this request"
            )),
        }
    }
}

/// The text of a `'quoted'` fallback value.
fn quoted<'t>(text: &'t str, inner: &str) -> Result<&'t str, String> {
    text.strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .ok_or_else(|| {
            format!("policy variable '${{{inner}}}': the default value must be in single quotes")
        })
}

#[cfg(test)]
mod tests {
    use super::Variables;
    use crate::eval::context::ConditionContext;
    use crate::eval::matching::{glob, Token};

    fn context() -> ConditionContext {
        let mut ctx = ConditionContext::new();
        ctx.insert("aws:username", "alice");
        ctx.insert("aws:PrincipalTag/team", "blue");
        ctx.insert("aws:weird", "a*b");
        ctx.insert_multi("aws:TagKeys", ["a", "b"]);
        ctx
    }

    #[test]
    fn substitutes_from_the_context() {
        let ctx = context();
        let vars = Variables::new(&ctx, true);
        assert_eq!(
            vars.text("home/${aws:username}/x").as_deref(),
            Ok("home/alice/x")
        );
        assert_eq!(vars.text("${AWS:USERNAME}").as_deref(), Ok("alice"));
        assert_eq!(
            vars.text("${aws:principaltag/team}-${aws:username}")
                .as_deref(),
            Ok("blue-alice")
        );
        assert_eq!(vars.text("${aws:missing, 'none'}").as_deref(), Ok("none"));
        assert_eq!(vars.text("${aws:username,'none'}").as_deref(), Ok("alice"));
        assert_eq!(vars.text("a${*}b${?}c${$}").as_deref(), Ok("a*b?c$"));
        assert_eq!(vars.text("cost $5").as_deref(), Ok("cost $5"));
    }

    #[test]
    fn unresolvable_variables_are_errors() {
        let ctx = context();
        let vars = Variables::new(&ctx, true);
        for bad in [
            "${aws:missing}",
            "${aws:TagKeys}",
            "${aws:username",
            "${}",
            "${aws:missing, none}",
        ] {
            assert!(vars.text(bad).is_err(), "{bad}");
            assert!(vars.pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn old_versions_have_no_variables() {
        let ctx = context();
        let vars = Variables::new(&ctx, false);
        assert_eq!(
            vars.text("${aws:username}").as_deref(),
            Ok("${aws:username}")
        );
        assert_eq!(vars.text("${aws:missing").as_deref(), Ok("${aws:missing"));
    }

    #[test]
    fn substituted_text_is_literal_in_patterns() {
        let ctx = context();
        let vars = Variables::new(&ctx, true);
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        let pattern: Vec<Token> = vars.pattern("x/${aws:weird}/*").unwrap_or_default();
        assert!(glob(&pattern, &chars("x/a*b/anything")));
        assert!(!glob(&pattern, &chars("x/aZZb/anything")));
        let escaped = vars.pattern("${*}").unwrap_or_default();
        assert!(glob(&escaped, &chars("*")));
        assert!(!glob(&escaped, &chars("x")));
    }
}
