//! `ListSecrets` and `BatchGetSecretValue`: paging through the store in the order asked, with
//! filters (see [`super::filters`]) applied on the way, and opaque keyset pagination tokens
//! ([`crate::paging`]).

use tresor_store::{ListCursor, ListOrder, SecretRecord, SecretSort, Store};

use super::dto::*;
use super::filters::{filter_specs, matches};
use super::keys::Reader;
use super::read::{describe, stages_map, VersionSelector};
use super::resolve::Access;
use super::Operation;
use crate::authz::Resource;
use crate::paging::{cursor_token, parse_cursor_token};
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

/// Most secrets one `ListSecrets` or `BatchGetSecretValue` call reads from the store. A call
/// whose filters match few secrets answers with what it found so far and a `NextToken` (AWS
/// documents that a page may hold fewer results than asked, even none), so a call costs the
/// same however large the scope and however selective the filters.
const SCAN_BUDGET: usize = 1000;
/// Secrets read from the store at a time while filtering.
const SCAN_CHUNK: usize = 100;

/// One page of a listing: the secrets to answer with, and where the next page starts.
struct Page {
    records: Vec<SecretRecord>,
    next: Option<ListCursor>,
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
        req: Validated<ListSecretsRequest>,
    ) -> Result<ListSecretsResponse, CoreError> {
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
        req: Validated<BatchGetSecretValueRequest>,
    ) -> Result<BatchGetSecretValueResponse, CoreError> {
        let req = req.into_inner();
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
            match record.and_then(|r| self.reveal(ctx, &r, &current, None, Reader::Caller)) {
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
