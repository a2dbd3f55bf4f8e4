//! Opaque `NextToken`s of the awsJson listings (Secrets Manager's and any other service that
//! pages by offset or by keyset). A token names where a listing continues and is bound to the
//! request that produced it (a hash of the listing's fingerprint), so it cannot be replayed
//! against another listing; any token that does not parse, or is bound to another listing, is
//! `InvalidNextTokenException`. IAM's `Marker` paging is its own (`iam::paging`).

use base64::Engine as _;
use tresor_store::{ListCursor, ListOrder, SortValue};

use crate::CoreError;

fn invalid_token() -> CoreError {
    CoreError::InvalidNextToken("The NextToken value is invalid.".to_owned())
}

fn bind(fingerprint: &str) -> String {
    hex::encode(&tresor_crypto::sha256(fingerprint.as_bytes())[..8])
}

/// An opaque token naming where a listing in `order` continues (the sort value and ARN of the
/// last secret it passed), bound to the request that produced it like `page_token`.
pub(crate) fn cursor_token(cursor: &ListCursor, fingerprint: &str) -> String {
    let value = match &cursor.value {
        SortValue::Text(t) => serde_json::Value::from(t.as_str()),
        SortValue::Millis(m) => serde_json::Value::from(*m),
    };
    let token = serde_json::json!({ "v": value, "a": cursor.arn, "b": bind(fingerprint) });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

pub(crate) fn parse_cursor_token(
    token: &str,
    order: ListOrder,
    fingerprint: &str,
) -> Result<ListCursor, CoreError> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid_token())?;
    let json: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| invalid_token())?;
    if json.get("b").and_then(|b| b.as_str()) != Some(bind(fingerprint).as_str()) {
        return Err(invalid_token());
    }
    let arn = json
        .get("a")
        .and_then(|a| a.as_str())
        .ok_or_else(invalid_token)?;
    let value = match json.get("v") {
        Some(serde_json::Value::String(t)) => SortValue::Text(t.clone()),
        Some(v) => SortValue::Millis(v.as_i64().ok_or_else(invalid_token)?),
        None => return Err(invalid_token()),
    };
    let cursor = ListCursor {
        value,
        arn: arn.to_owned(),
    };
    if !order.fits(&cursor) {
        return Err(invalid_token());
    }
    Ok(cursor)
}

/// An opaque token naming a position (an offset) in a listing, bound to the request that
/// produced it so a token cannot be replayed against another listing.
pub(crate) fn page_token(offset: usize, fingerprint: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{offset}:{}", bind(fingerprint)))
}

pub(crate) fn parse_page_token(token: &str, fingerprint: &str) -> Result<usize, CoreError> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid_token())?;
    let text = String::from_utf8(raw).map_err(|_| invalid_token())?;
    let (offset, bound) = text.split_once(':').ok_or_else(invalid_token)?;
    if bound != bind(fingerprint) {
        return Err(invalid_token());
    }
    offset.parse().map_err(|_| invalid_token())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tresor_store::SecretSort;

    #[test]
    fn cursor_tokens_round_trip_bound_to_their_listing_and_order() {
        let by_date = ListOrder {
            by: SecretSort::Created,
            descending: true,
        };
        let cursor = ListCursor {
            value: SortValue::Millis(1_700_000_000_123),
            arn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:a-AbCdEf".to_owned(),
        };
        let t = cursor_token(&cursor, "a");
        assert_eq!(parse_cursor_token(&t, by_date, "a").unwrap(), cursor);
        assert!(parse_cursor_token(&t, by_date, "b").is_err());
        assert!(parse_cursor_token(&t, ListOrder::BY_NAME, "a").is_err());
        let named = ListCursor {
            value: SortValue::Text("app/key".to_owned()),
            ..cursor
        };
        let t = cursor_token(&named, "a");
        assert_eq!(
            parse_cursor_token(&t, ListOrder::BY_NAME, "a").unwrap(),
            named
        );
        assert!(parse_cursor_token(&t, by_date, "a").is_err());
        assert!(parse_cursor_token("garbage!", by_date, "a").is_err());
        let no_arn = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"v":1,"b":"{}"}}"#, bind("a")));
        assert!(parse_cursor_token(&no_arn, by_date, "a").is_err());
    }

    #[test]
    fn page_tokens_are_bound_to_their_listing() {
        let t = page_token(40, "a");
        assert_eq!(parse_page_token(&t, "a").unwrap(), 40);
        assert!(parse_page_token(&t, "b").is_err());
        assert!(parse_page_token("garbage!", "a").is_err());
    }
}
