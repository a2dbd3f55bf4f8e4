//! `Marker`/`MaxItems` paging of IAM list operations.
//!
//! A marker names the first item of the next page by its sort key (opaque to clients:
//! base64url), not by position, so a page boundary stays put when items before it are added
//! or deleted between calls.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::validate::Validator;
use crate::CoreError;

/// IAM's default page size.
pub(crate) const DEFAULT_MAX_ITEMS: usize = 100;

/// One page of a listing.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub is_truncated: bool,
    /// Present exactly when `is_truncated`.
    pub marker: Option<String>,
}

/// The model's constraints on `Marker` and `MaxItems`. (Markers are not held to the model's
/// 320 characters: ours can encode a long policy ARN.)
pub(crate) fn check(v: &mut Validator, marker: Option<&str>, max_items: Option<i64>) {
    v.length(marker, "marker", 1, 4096);
    v.range(max_items, "maxItems", 1, 1000);
}

fn invalid_marker() -> CoreError {
    CoreError::InvalidInput("Invalid Marker.".to_owned())
}

/// Sort `items` by `key` and cut the page that starts at `marker`.
pub(crate) fn page<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> Result<Page<T>, CoreError> {
    items.sort_by_key(|a| key(a));
    let start = match marker {
        None => 0,
        Some(m) => {
            let bytes = URL_SAFE_NO_PAD.decode(m).map_err(|_| invalid_marker())?;
            let from = String::from_utf8(bytes).map_err(|_| invalid_marker())?;
            items.partition_point(|item| key(item) < from)
        }
    };
    let limit = max_items
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_MAX_ITEMS);
    let mut rest = items.split_off(start.min(items.len()));
    let next = (rest.len() > limit).then(|| URL_SAFE_NO_PAD.encode(key(&rest[limit]).as_bytes()));
    rest.truncate(limit);
    Ok(Page {
        items: rest,
        is_truncated: next.is_some(),
        marker: next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("user{i:03}")).collect()
    }

    #[test]
    fn pages_cover_everything_once_in_order() {
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let p = page(names(25), String::clone, marker.as_deref(), Some(10)).unwrap();
            assert!(p.items.len() <= 10);
            seen.extend(p.items);
            assert_eq!(p.is_truncated, p.marker.is_some());
            match p.marker {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        assert_eq!(seen, names(25));
    }

    #[test]
    fn default_page_is_100_and_exact_fit_is_not_truncated() {
        let p = page(names(150), String::clone, None, None).unwrap();
        assert_eq!(p.items.len(), 100);
        assert!(p.is_truncated);
        let p = page(names(10), String::clone, None, Some(10)).unwrap();
        assert_eq!(p.items.len(), 10);
        assert!(!p.is_truncated && p.marker.is_none());
    }

    #[test]
    fn a_marker_survives_deletion_of_earlier_items() {
        let first = page(names(30), String::clone, None, Some(10)).unwrap();
        let marker = first.marker.unwrap();
        let fewer: Vec<String> = names(30).into_iter().skip(5).collect();
        let second = page(fewer, String::clone, Some(&marker), Some(10)).unwrap();
        assert_eq!(second.items.first().map(String::as_str), Some("user010"));
    }

    #[test]
    fn garbage_markers_are_invalid_input() {
        let e = page(names(3), String::clone, Some("!!!"), None).unwrap_err();
        assert_eq!(e.aws_code(), "InvalidInput");
        let mut v = Validator::new();
        check(&mut v, Some(""), Some(1001));
        let msg = v.finish().unwrap_err().message();
        assert!(msg.starts_with("2 validation errors detected"), "{msg}");
    }
}
