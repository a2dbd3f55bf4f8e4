//! `ListSecrets` and `BatchGetSecretValue`: paging through the store in the order asked, with
//! filters (see [`super::filters`]) applied on the way, and opaque keyset pagination tokens.

use base64::Engine as _;
use tresor_store::{ListCursor, ListOrder, SecretRecord, SecretSort, SortValue, Store};

use super::dto::*;
use super::filters::{filter_specs, matches, validate_filters};
use super::read::{describe, stages_map, VersionSelector};
use super::resolve::Access;
use super::validate::Validator;
use super::Operation;
use crate::authz::Resource;
use crate::{Core, CoreError, RequestContext};

/// Most secrets one `ListSecrets` or `BatchGetSecretValue` call reads from the store. A call
/// whose filters match few secrets answers with what it found so far and a `NextToken` (AWS
/// documents that a page may hold fewer results than asked, even none), so a call costs the
/// same however large the scope and however selective the filters.
const SCAN_BUDGET: usize = 1000;
/// Secrets read from the store at a time while filtering.
const SCAN_CHUNK: usize = 100;

fn invalid_token() -> CoreError {
    CoreError::InvalidNextToken("The NextToken value is invalid.".to_owned())
}

fn bind(fingerprint: &str) -> String {
    hex::encode(&tresor_crypto::sha256(fingerprint.as_bytes())[..8])
}

/// An opaque token naming where a listing in `order` continues (the sort value and ARN of the
/// last secret it passed), bound to the request that produced it like `page_token`.
fn cursor_token(cursor: &ListCursor, fingerprint: &str) -> String {
    let value = match &cursor.value {
        SortValue::Text(t) => serde_json::Value::from(t.as_str()),
        SortValue::Millis(m) => serde_json::Value::from(*m),
    };
    let token = serde_json::json!({ "v": value, "a": cursor.arn, "b": bind(fingerprint) });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn parse_cursor_token(
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

/// One page of a listing: the secrets to answer with, and where the next page starts.
struct Page {
    records: Vec<SecretRecord>,
    next: Option<ListCursor>,
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

impl Core {
    /// Up to `size` secrets of the caller's scope that `keep` accepts, in `order` from
    /// `start`, reading at most `SCAN_BUDGET` of them.
    fn page(
        &self,
        ctx: &RequestContext,
        order: ListOrder,
        start: Option<ListCursor>,
        size: usize,
        filtering: bool,
        keep: impl Fn(&SecretRecord) -> bool,
    ) -> Result<Page, CoreError> {
        let scope = ctx.scope();
        let mut records = Vec::new();
        let mut cursor = start;
        let mut scanned = 0;
        loop {
            // One more than the page needs tells whether anything follows it.
            let wanted = (size + 1 - records.len()).max(if filtering { SCAN_CHUNK } else { 1 });
            let chunk = wanted.min(SCAN_BUDGET.saturating_sub(scanned).max(1));
            let rows = self
                .store
                .list_secrets_ordered(&scope, order, cursor.as_ref(), chunk)?;
            let exhausted = rows.len() < chunk;
            scanned += rows.len();
            for r in rows {
                if records.len() == size {
                    // `r` follows the page: it starts the next one.
                    return Ok(Page {
                        records,
                        next: cursor,
                    });
                }
                cursor = Some(order.cursor_after(&r));
                if keep(&r) {
                    records.push(r);
                }
            }
            if exhausted {
                return Ok(Page {
                    records,
                    next: None,
                });
            }
            if scanned >= SCAN_BUDGET {
                return Ok(Page {
                    records,
                    next: cursor,
                });
            }
        }
    }

    pub fn list_secrets(
        &self,
        ctx: &RequestContext,
        req: ListSecretsRequest,
    ) -> Result<ListSecretsResponse, CoreError> {
        let mut v = Validator::new();
        v.range(req.max_results, "maxResults", 1, 100);
        v.length(req.next_token.as_deref(), "nextToken", 1, 4096);
        v.one_of(req.sort_order.as_deref(), "sortOrder", &["asc", "desc"]);
        v.one_of(
            req.sort_by.as_deref(),
            "sortBy",
            &[
                "created-date",
                "last-accessed-date",
                "last-changed-date",
                "name",
            ],
        );
        validate_filters(&mut v, req.filters.as_deref());
        v.finish()?;
        let specs = filter_specs(req.filters.as_deref().unwrap_or_default())?;
        self.authorize(ctx, &Operation::ListSecrets.iam_action(), Resource::any())?;
        let include_deleted = req.include_planned_deletion.unwrap_or(false);
        let sort_by = req.sort_by.as_deref().unwrap_or("created-date");
        let order = ListOrder {
            by: match sort_by {
                "name" => SecretSort::Name,
                "last-accessed-date" => SecretSort::LastAccessed,
                "last-changed-date" => SecretSort::LastChanged,
                _ => SecretSort::Created,
            },
            descending: req.sort_order.as_deref() == Some("desc"),
        };
        let fingerprint = format!(
            "list:{}:{}:{sort_by}:{:?}:{include_deleted}:{:?}",
            ctx.principal.account, ctx.region, req.sort_order, req.filters
        );
        let start = req
            .next_token
            .as_deref()
            .map(|t| parse_cursor_token(t, order, &fingerprint))
            .transpose()?;
        let size = usize::try_from(req.max_results.unwrap_or(100)).unwrap_or(100);
        let page = self.page(ctx, order, start, size, !specs.is_empty(), |r| {
            (include_deleted || r.deletion.is_none()) && specs.iter().all(|s| matches(s, r))
        })?;
        let secret_list = page
            .records
            .iter()
            .map(|r| {
                let mut d = describe(r);
                d.secret_versions_to_stages = stages_map(r);
                d
            })
            .collect();
        let next_token = page.next.map(|c| cursor_token(&c, &fingerprint));
        Ok(ListSecretsResponse {
            secret_list,
            next_token,
        })
    }

    pub fn batch_get_secret_value(
        &self,
        ctx: &RequestContext,
        req: BatchGetSecretValueRequest,
    ) -> Result<BatchGetSecretValueResponse, CoreError> {
        let mut v = Validator::new();
        v.count(req.secret_id_list.as_deref(), "secretIdList", 1, 20);
        for (i, id) in req
            .secret_id_list
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            v.length(Some(id), &format!("secretIdList.{}.member", i + 1), 1, 2048);
        }
        validate_filters(&mut v, req.filters.as_deref());
        v.range(req.max_results, "maxResults", 1, 20);
        v.length(req.next_token.as_deref(), "nextToken", 1, 4096);
        v.finish()?;
        self.authorize(
            ctx,
            &Operation::BatchGetSecretValue.iam_action(),
            Resource::any(),
        )?;

        let current = VersionSelector {
            version_id: None,
            version_stage: None,
        };
        let mut secret_values = Vec::new();
        let mut errors = Vec::new();
        let mut reveal_one = |id: &str, record: Result<SecretRecord, CoreError>| {
            match record.and_then(|r| self.reveal(ctx, &r, &current, None)) {
                Ok(entry) => secret_values.push(entry),
                Err(e) if e.is_server_error() => return Err(e),
                Err(e) => errors.push(ApiErrorType {
                    secret_id: id.to_owned(),
                    error_code: e.aws_code().to_owned(),
                    message: e.message(),
                }),
            }
            Ok(())
        };

        match (req.secret_id_list, req.filters) {
            (Some(ids), None) => {
                if req.max_results.is_some() || req.next_token.is_some() {
                    return Err(CoreError::InvalidParameter(
                        "MaxResults and NextToken can only be used with Filters.".to_owned(),
                    ));
                }
                for id in &ids {
                    reveal_one(
                        id,
                        self.resolve_secret(ctx, id, Access::to(Operation::GetSecretValue)),
                    )?;
                }
                Ok(BatchGetSecretValueResponse {
                    secret_values,
                    next_token: None,
                    errors,
                })
            }
            (None, Some(filters)) => {
                // Filters list secrets, so AWS asks for ListSecrets as well; and a secret the
                // caller may not list (a Deny on it) is never matched, so no filter can probe
                // its name, description or tags.
                self.authorize(ctx, &Operation::ListSecrets.iam_action(), Resource::any())?;
                let specs = filter_specs(&filters)?;
                let fingerprint =
                    format!("batch:{}:{}:{filters:?}", ctx.principal.account, ctx.region);
                let order = ListOrder::BY_NAME;
                let start = req
                    .next_token
                    .as_deref()
                    .map(|t| parse_cursor_token(t, order, &fingerprint))
                    .transpose()?;
                let size = usize::try_from(req.max_results.unwrap_or(20)).unwrap_or(20);
                let listable = Access::to(Operation::ListSecrets);
                let policies = self.caller_policies(ctx)?;
                let page = self.page(ctx, order, start, size, true, |r| {
                    r.deletion.is_none()
                        && specs.iter().all(|s| matches(s, r))
                        && Self::may_on_secret(ctx, &policies, r, &listable)
                })?;
                for r in &page.records {
                    let allowed = self
                        .authorize_secret(ctx, r, &Access::to(Operation::GetSecretValue))
                        .map(|()| r.clone());
                    reveal_one(&r.arn, allowed)?;
                }
                let next_token = page.next.map(|c| cursor_token(&c, &fingerprint));
                Ok(BatchGetSecretValueResponse {
                    secret_values,
                    next_token,
                    errors,
                })
            }
            _ => Err(CoreError::InvalidParameter(
                "Either SecretIdList or Filters must be specified, but not both.".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
