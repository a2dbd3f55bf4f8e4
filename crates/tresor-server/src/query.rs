//! The awsQuery protocol (IAM, STS): form-encoded requests in, XML out.
//!
//! Requests are flattened (`Tags.member.1.Key=team`); [`decode_form`] rebuilds the nested
//! shape as JSON (`{"Tags":[{"Key":"team"}]}`) so typed requests deserialize with serde like the
//! JSON services. Responses are serialized to JSON first and [`to_xml`] writes them the way
//! awsQuery does: objects become elements, lists become `<member>` elements.

use serde_json::{Map, Value};

/// Parse `application/x-www-form-urlencoded` into (Action, nested parameters).
pub fn decode_form(body: &[u8]) -> Result<(Option<String>, Value), String> {
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

fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the request body is not UTF-8".to_owned())?;
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((form_decode(k)?, form_decode(v)?))
        })
        .collect()
}

fn form_decode(s: &str) -> Result<String, String> {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| "a form parameter is not valid UTF-8".to_owned())
}

/// Insert `a.b.c = v` into nested maps. Numeric path parts become map keys for now and are
/// turned into arrays by [`lists_to_arrays`].
fn insert_path(root: &mut Map<String, Value>, path: &str, value: String) -> Result<(), String> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut node = root;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            return Err(format!("malformed parameter name {path:?}"));
        }
        if i == parts.len() - 1 {
            node.insert((*part).to_owned(), Value::String(value));
            return Ok(());
        }
        let entry = node
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        node = match entry {
            Value::Object(m) => m,
            _ => {
                return Err(format!(
                    "parameter {path:?} conflicts with another parameter"
                ))
            }
        };
    }
    Ok(())
}

/// `{"member": {"1": a, "2": b}}` → `[a, b]` (ordered by index).
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
