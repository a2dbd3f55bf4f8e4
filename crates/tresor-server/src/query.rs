//! The awsQuery protocol (IAM, STS): form-encoded requests in, XML out.
//!
//! Requests are flattened (`Tags.member.1.Key=team`); [`decode_form`] rebuilds the nested
//! shape as JSON (`{"Tags":[{"Key":"team"}]}`) so typed requests deserialize with serde like the
//! JSON services. Responses are serialized to JSON first and [`to_xml`] writes them the way
//! awsQuery does: objects become elements, lists become `<member>` elements.

use serde_json::{Map, Value};

/// Most parameters one Query request may carry. IAM's and STS's largest requests (a policy
/// document, a role with 50 tags and 10 policy ARNs) use fewer than 150.
pub const MAX_PARAMETERS: usize = 1000;
/// Most dot-separated parts in one parameter name. AWS's deepest names have four
/// (`Tags.member.1.Key`); the limit keeps every walk of the decoded tree shallow.
pub const MAX_NAME_PARTS: usize = 8;
/// Longest parameter name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// Why a form body could not be decoded. The messages never quote the body: it is read before
/// authentication and may hold anything, a policy or a password included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    NotUtf8,
    TooManyParameters,
    NameTooLong,
    NameTooDeep,
    MalformedName,
    ConflictingNames,
}

impl FormError {
    pub fn message(&self) -> String {
        match self {
            Self::NotUtf8 => "The request body is not valid UTF-8 form data.".to_owned(),
            Self::TooManyParameters => {
                format!("The request has more than {MAX_PARAMETERS} parameters.")
            }
            Self::NameTooLong => {
                format!("A parameter name is longer than {MAX_NAME_BYTES} bytes.")
            }
            Self::NameTooDeep => {
                format!("A parameter name has more than {MAX_NAME_PARTS} dot-separated parts.")
            }
            Self::MalformedName => "A parameter name has an empty part.".to_owned(),
            Self::ConflictingNames => "A parameter is given both a value and members.".to_owned(),
        }
    }
}

/// Parse `application/x-www-form-urlencoded` into (Action, nested parameters).
///
/// Runs before authentication, so everything it builds is bounded: at most
/// [`MAX_PARAMETERS`] parameters, names of at most [`MAX_NAME_PARTS`] parts and
/// [`MAX_NAME_BYTES`] bytes; the tree it returns is therefore at most that deep.
pub fn decode_form(body: &[u8]) -> Result<(Option<String>, Value), FormError> {
    let mut root = Map::new();
    let mut action = None;
    for (key, value) in form_pairs(body)? {
        match key.as_str() {
            "Action" => action = Some(value),
            "Version" => {}
            _ => insert_path(&mut root, &key, value)?,
        }
    }
    Ok((action, lists_to_arrays(Value::Object(root))))
}

fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let text = std::str::from_utf8(body).map_err(|_| FormError::NotUtf8)?;
    let mut pairs = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        if pairs.len() == MAX_PARAMETERS {
            return Err(FormError::TooManyParameters);
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let name = form_decode(k)?;
        if name.len() > MAX_NAME_BYTES {
            return Err(FormError::NameTooLong);
        }
        pairs.push((name, form_decode(v)?));
    }
    Ok(pairs)
}

fn form_decode(s: &str) -> Result<String, FormError> {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| FormError::NotUtf8)
}

/// Insert `a.b.c = v` into nested maps. Numeric path parts become map keys for now and are
/// turned into arrays by [`lists_to_arrays`].
fn insert_path(root: &mut Map<String, Value>, path: &str, value: String) -> Result<(), FormError> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.len() > MAX_NAME_PARTS {
        return Err(FormError::NameTooDeep);
    }
    let mut node = root;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            return Err(FormError::MalformedName);
        }
        if i == parts.len() - 1 {
            if node.get(*part).is_some_and(Value::is_object) {
                return Err(FormError::ConflictingNames);
            }
            node.insert((*part).to_owned(), Value::String(value));
            return Ok(());
        }
        let entry = node
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        node = match entry {
            Value::Object(m) => m,
            _ => return Err(FormError::ConflictingNames),
        };
    }
    Ok(())
}

/// `{"member": {"1": a, "2": b}}` → `[a, b]` (ordered by index). Recursive, but only as deep
/// as [`MAX_NAME_PARTS`] allows the tree to be.
fn lists_to_arrays(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            if m.len() == 1 {
                if let Some(Value::Object(items)) = m.get("member") {
                    let mut indexed: Vec<(usize, Value)> = items
                        .iter()
                        .filter_map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, v.clone())))
                        .collect();
                    if indexed.len() == items.len() {
                        indexed.sort_by_key(|(i, _)| *i);
                        return Value::Array(
                            indexed
                                .into_iter()
                                .map(|(_, v)| lists_to_arrays(v))
                                .collect(),
                        );
                    }
                }
            }
            Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k, lists_to_arrays(v)))
                    .collect(),
            )
        }
        other => other,
    }
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

fn write_value(name: &str, v: &Value, out: &mut String) {
    match v {
        Value::Null => {}
        Value::Array(items) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for item in items {
                write_value("member", item, out);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Object(m) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for (k, v) in m {
                write_value(k, v, out);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::String(s) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            escape(s, out);
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Bool(b) => {
            out.push_str(&format!("<{name}>{b}</{name}>"));
        }
        Value::Number(n) => {
            out.push_str(&format!("<{name}>{n}</{name}>"));
        }
    }
}

/// `<{Action}Response xmlns=…><{Action}Result>…</{Action}Result><ResponseMetadata>…`.
pub fn to_xml(action: &str, xmlns: &str, result: &Value, request_id: &str) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!("<{action}Response xmlns=\"{xmlns}\">"));
    match result {
        Value::Object(m) if !m.is_empty() => {
            write_value(&format!("{action}Result"), result, &mut out)
        }
        _ => {}
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape(request_id, &mut out);
    out.push_str("</RequestId></ResponseMetadata>");
    out.push_str(&format!("</{action}Response>"));
    out
}

/// The awsQuery error document.
pub fn error_xml(xmlns: &str, sender: bool, code: &str, message: &str, request_id: &str) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!("<ErrorResponse xmlns=\"{xmlns}\"><Error><Type>"));
    out.push_str(if sender { "Sender" } else { "Receiver" });
    out.push_str("</Type><Code>");
    escape(code, &mut out);
    out.push_str("</Code><Message>");
    escape(message, &mut out);
    out.push_str("</Message></Error><RequestId>");
    escape(request_id, &mut out);
    out.push_str("</RequestId></ErrorResponse>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_lists_become_arrays() {
        let body = b"Action=CreateUser&Version=2010-05-08&UserName=alice&Tags.member.2.Key=b&Tags.member.1.Key=a&Tags.member.1.Value=x%20y";
        let (action, v) = decode_form(body).unwrap();
        assert_eq!(action.as_deref(), Some("CreateUser"));
        assert_eq!(
            v,
            serde_json::json!({"UserName": "alice", "Tags": [{"Key": "a", "Value": "x y"}, {"Key": "b"}]})
        );
    }

    #[test]
    fn plus_is_a_space_and_bad_names_are_refused() {
        let (_, v) = decode_form(b"Action=X&Path=%2Fa+b%2F").unwrap();
        assert_eq!(v["Path"], "/a b/");
        assert!(decode_form(b"Action=X&A..B=1").is_err());
        assert!(decode_form(b"Action=X&A=1&A.B=2").is_err());
        assert!(decode_form(b"Action=X&A.B=2&A=1").is_err());
    }

    #[test]
    fn parameter_names_and_counts_are_bounded() {
        // The crash the review found: a 10 KB name nested 5000 deep.
        let deep = format!("Action=GetUser&{}a=1", "a.".repeat(5000));
        assert_eq!(
            decode_form(deep.as_bytes()).unwrap_err(),
            FormError::NameTooLong
        );
        let nine = format!("Action=GetUser&{}a=1", "a.".repeat(MAX_NAME_PARTS));
        assert_eq!(
            decode_form(nine.as_bytes()).unwrap_err(),
            FormError::NameTooDeep
        );
        let eight = format!("Action=GetUser&{}a=1", "a.".repeat(MAX_NAME_PARTS - 1));
        assert!(decode_form(eight.as_bytes()).is_ok());

        let many = |n: usize| {
            (0..n)
                .map(|i| format!("P{i}=v"))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert!(decode_form(many(MAX_PARAMETERS).as_bytes()).is_ok());
        assert_eq!(
            decode_form(many(MAX_PARAMETERS + 1).as_bytes()).unwrap_err(),
            FormError::TooManyParameters
        );
        // A value does not count against the name limits.
        let long_value = format!("Action=X&PolicyDocument={}", "x.".repeat(100_000));
        assert!(decode_form(long_value.as_bytes()).is_ok());
    }

    #[test]
    fn errors_never_quote_the_body() {
        let bodies = [
            format!("Action=X&{}=1", "sk-canary.".repeat(40)),
            "Action=X&sk-canary..x=1".to_owned(),
            "Action=X&sk-canary=1&sk-canary.x=2".to_owned(),
            "Action=X&sk-canary.x=2&sk-canary=1".to_owned(),
        ];
        for body in bodies {
            let e = decode_form(body.as_bytes()).unwrap_err();
            assert!(!e.message().contains("canary"), "{}", e.message());
        }
    }

    #[test]
    fn xml_shape_and_escaping() {
        let v = serde_json::json!({"User": {"UserName": "a<b", "Tags": [{"Key": "k"}]}, "IsTruncated": false});
        let xml = to_xml(
            "GetUser",
            "https://iam.amazonaws.com/doc/2010-05-08/",
            &v,
            "rid",
        );
        assert!(xml.contains("<GetUserResult><IsTruncated>false</IsTruncated><User><Tags><member><Key>k</Key></member></Tags><UserName>a&lt;b</UserName></User></GetUserResult>"), "{xml}");
        assert!(xml.contains("<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>"));
        let e = error_xml(
            "ns",
            true,
            "NoSuchEntity",
            "The user with name x cannot be found.",
            "r",
        );
        assert!(e.contains("<Error><Type>Sender</Type><Code>NoSuchEntity</Code>"));
    }
}
