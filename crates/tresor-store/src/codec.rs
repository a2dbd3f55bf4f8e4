//! How list-valued columns are stored, the same on every backend: tags as a JSON array in the
//! AWS shape (`[{"Key":…,"Value":…}]`) and staging labels as a JSON array of strings. Errors
//! name the column, never its content.

use crate::{ListCursor, ListOrder, Result, SecretSort, StoreError, Tag};

/// A tag as kept in `tags_json`: the AWS shape, so the column reads naturally.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredTag {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Value")]
    value: String,
}

pub(crate) fn tags_to_json(tags: &[Tag]) -> Result<String> {
    let stored: Vec<StoredTag> = tags
        .iter()
        .map(|t| StoredTag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect();
    serde_json::to_string(&stored)
        .map_err(|_| StoreError::Backend("cannot encode a list of tags".to_owned()))
}

pub(crate) fn tags_from_json(json: &str) -> Result<Vec<Tag>> {
    let stored: Vec<StoredTag> = serde_json::from_str(json)
        .map_err(|_| StoreError::Backend("a stored list of tags is malformed".to_owned()))?;
    Ok(stored
        .into_iter()
        .map(|t| Tag {
            key: t.key,
            value: t.value,
        })
        .collect())
}

pub(crate) fn stages_to_json(stages: &[String]) -> Result<String> {
    serde_json::to_string(stages).map_err(|_| {
        StoreError::Backend("cannot encode the staging labels of a version".to_owned())
    })
}

pub(crate) fn stages_from_json(json: &str) -> Result<Vec<String>> {
    serde_json::from_str(json).map_err(|_| {
        StoreError::Backend("the stored staging labels of a version are malformed".to_owned())
    })
}

/// How a listing in `order` sorts, the same on every backend: the sort expression (never-read
/// secrets sort as -1, which every backend indexes), the direction, and the comparison that
/// continues after a cursor.
pub(crate) fn list_order_sql(order: ListOrder) -> (&'static str, &'static str, &'static str) {
    let column = match order.by {
        SecretSort::Name => "name",
        SecretSort::Created => "created",
        SecretSort::LastChanged => "last_changed",
        SecretSort::LastAccessed => "COALESCE(last_accessed, -1)",
    };
    if order.descending {
        (column, "DESC", "<")
    } else {
        (column, "ASC", ">")
    }
}

/// Refuse a cursor of another order's kind (it would compare a name with a date).
pub(crate) fn check_cursor(order: ListOrder, after: Option<&ListCursor>) -> Result<()> {
    match after {
        Some(cursor) if !order.fits(cursor) => Err(StoreError::Backend(
            "list_secrets: the cursor does not fit the order".to_owned(),
        )),
        _ => Ok(()),
    }
}

// ---- columns that hold domain values ----

pub(crate) fn millis(t: tresor_types::Timestamp) -> i64 {
    t.0
}

pub(crate) fn parse_account(s: &str) -> Result<tresor_types::AccountId> {
    tresor_types::AccountId::parse(s)
        .map_err(|_| StoreError::Backend("a stored account id is malformed".to_owned()))
}

pub(crate) fn parse_region(s: &str) -> Result<tresor_types::Region> {
    tresor_types::Region::parse(s)
        .map_err(|_| StoreError::Backend("a stored region is malformed".to_owned()))
}

pub(crate) fn parse_scope(account: &str, region: &str) -> Result<crate::Scope> {
    Ok(crate::Scope {
        account: parse_account(account)?,
        region: parse_region(region)?,
    })
}
