//! How list-valued columns are stored, the same on every backend: tags as a JSON array in the
//! AWS shape (`[{"Key":…,"Value":…}]`) and staging labels as a JSON array of strings. Errors
//! name the column, never its content.

use crate::{Result, StoreError, Tag};

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
