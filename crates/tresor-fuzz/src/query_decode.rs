//! awsQuery: an IAM or STS form body (`Action=GetUser&UserName=alice`) decoded into the
//! `Action` and the nested parameters, through the server's own decoder.
//!
//! Input: the body.
//!
//! Properties:
//! - every scalar of the decoded parameters is a string (the IAM and STS requests are read
//!   from strings only), and the `Action` and `Version` pairs are taken out;
//! - the decoded parameters written back as a form decode to the same parameters, so the
//!   flattening (`Tags.member.1.Key`) and the list rebuilding lose and invent nothing.

use serde_json::Value;
use tresor_server::fuzzing::decode_query_request;

/// Deeper parameters are only checked for their scalars: comparing two trees is recursive,
/// and the decoder's own depth bound belongs to the decoder.
const ROUND_TRIP_MAX_DEPTH: usize = 64;

/// The harness of the `query_decode` target.
pub fn run(data: &[u8]) {
    let Ok((action, params)) = decode_query_request(data) else {
        return;
    };
    if let Value::Object(root) = &params {
        // `Action.x=…` does make a parameter named Action (an object the typed requests
        // ignore); `Action=…` itself never is one.
        for taken in ["Action", "Version"] {
            assert!(
                !root.get(taken).is_some_and(Value::is_string),
                "{taken} kept"
            );
        }
    }
    let mut form = Vec::new();
    let depth = flatten(&params, &mut form);
    if depth > ROUND_TRIP_MAX_DEPTH {
        return;
    }
    let mut body = String::new();
    if let Some(action) = &action {
        body.push_str("Action=");
        body.push_str(&form_encode(action));
    }
    for (name, value) in &form {
        body.push('&');
        body.push_str(&form_encode(name));
        body.push('=');
        body.push_str(&form_encode(value));
    }
    match decode_query_request(body.as_bytes()) {
        Ok((action_again, params_again)) => {
            assert_eq!(action_again, action, "Action changed in {body:?}");
            assert!(params_again == params, "parameters changed in {body:?}");
        }
        Err(e) => panic!("the written-back form {body:?} does not decode: {e}"),
    }
}

/// The `name=value` pairs a client would send for `params` (lists as `member.N`, from 1), and
/// the depth of `params`. Iterative: the input may nest as deep as its length allows.
fn flatten(params: &Value, out: &mut Vec<(String, String)>) -> usize {
    let mut depth = 0;
    let mut stack: Vec<(String, &Value, usize)> = vec![(String::new(), params, 0)];
    while let Some((prefix, value, level)) = stack.pop() {
        depth = depth.max(level);
        let child = |key: &str| {
            if prefix.is_empty() {
                key.to_owned()
            } else {
                format!("{prefix}.{key}")
            }
        };
        match value {
            Value::String(s) => out.push((prefix, s.clone())),
            Value::Object(map) => {
                for (key, v) in map {
                    stack.push((child(key), v, level + 1));
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    stack.push((child(&format!("member.{}", i + 1)), v, level + 1));
                }
            }
            other => panic!("a decoded parameter is not a string: {other}"),
        }
    }
    depth
}

/// `application/x-www-form-urlencoded`, every byte but letters and digits escaped.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
