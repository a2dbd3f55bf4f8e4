//! Paging of KMS listings: `Limit` (1–1000, 100 by default) and an opaque `Marker` that a
//! previous page returned as `NextMarker`.

use crate::{CoreError, KmsError};

pub const DEFAULT_LIMIT: usize = 100;

/// The page size a request asks for.
pub fn page_limit(limit: Option<i64>) -> usize {
    limit
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(DEFAULT_LIMIT)
}

/// AWS's answer to a marker it did not hand out.
pub fn invalid_marker() -> CoreError {
    CoreError::Kms(
        KmsError::InvalidMarker,
        "The request was rejected because the marker that specifies where pagination should next begin is not valid.".to_owned(),
    )
}

/// The marker of a listing ordered by a name: the last name of the page, which a marker must
/// look like (the caller's own names: nothing is revealed by echoing them).
pub fn check_name_marker(marker: Option<&str>, prefix: &str) -> Result<(), CoreError> {
    match marker {
        Some(m) if !m.starts_with(prefix) => Err(invalid_marker()),
        _ => Ok(()),
    }
}
