//! awsJson: the body of a Secrets Manager, KMS cryptographic (`Encrypt`, `Decrypt`, …) or
//! CloudTrail `LookupEvents` request decoded into its typed request, through the server's own
//! decoder.
//!
//! Input: the operation name on the first line, the body after it
//! (`GetSecretValue\n{"SecretId":"prod/db"}`).
//!
//! Properties:
//! - an empty or all-white-space body is the empty request;
//! - a body that does not decode is a `SerializationException` whose message is one of the
//!   decoder's fixed sentences (with a line and a column, or the nesting limit), so it can never
//!   quote the body (which may hold a secret value).

use tresor_core::secretsmanager::Operation;
use tresor_server::fuzzing::{decode_json_request, kms_cryptographic};

/// The sentences the decoder may answer with, before ` (line N, column M).`.
const MESSAGES: [&str; 3] = [
    "Unable to parse the request: a member has the wrong type or value",
    "Unable to parse the request: the body is not valid JSON",
    "Unable to parse the request: the body could not be read",
];

/// The harness of the `json_decode` target.
pub fn run(data: &[u8]) {
    let (operation, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(operation) = std::str::from_utf8(operation) else {
        return;
    };
    let known = operation == "LookupEvents"
        || Operation::from_name(operation).is_some()
        || kms_cryptographic(operation).is_some();
    let decoded = decode_json_request(operation, body);
    if !known {
        assert_eq!(
            decoded.map_err(|e| e.aws_code()),
            Err("UnknownOperationException")
        );
        return;
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        assert!(decoded.is_ok(), "an empty body is not the empty request");
    }
    if let Err(e) = decoded {
        assert_eq!(e.aws_code(), "SerializationException");
        let message = e.message();
        assert!(
            is_decoder_message(&message),
            "the decode error is not one of the fixed sentences: {message:?}"
        );
    }
}

/// `<one of MESSAGES> (line <digits>, column <digits>).`, or the nesting limit's sentence.
fn is_decoder_message(message: &str) -> bool {
    if let Some(limit) = message
        .strip_prefix("Unable to parse the request: it nests more than ")
        .and_then(|m| m.strip_suffix(" levels deep."))
    {
        return !limit.is_empty() && limit.bytes().all(|b| b.is_ascii_digit());
    }
    let Some(position) = MESSAGES
        .iter()
        .find_map(|sentence| message.strip_prefix(sentence))
    else {
        return false;
    };
    let Some(position) = position
        .strip_prefix(" (line ")
        .and_then(|p| p.strip_suffix(")."))
    else {
        return false;
    };
    let Some((line, column)) = position.split_once(", column ") else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(line) && digits(column)
}
