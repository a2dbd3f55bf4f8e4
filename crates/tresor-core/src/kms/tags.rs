//! Key tags: `TagResource`, `UntagResource`, `ListResourceTags`, and the rules every tag
//! change follows (AWS's `TagException`): no `aws:` prefix, at most 50 tags per key.

use tresor_store::{KmsKeyState, KmsStore, Tag};

use super::dto::{
    Empty, KmsTag, ListRequest, ListResourceTagsResponse, TagResourceRequest, UntagResourceRequest,
};
use super::keys::invalid_state;
use super::paging::{invalid_marker, page_limit};
use crate::validate::Validated;
use crate::{Core, CoreError, KmsError, RequestContext};

/// How many tags a key may have.
pub const MAX_TAGS: usize = 50;

fn tag_error(message: impl Into<String>) -> CoreError {
    CoreError::Kms(KmsError::Tag, message.into())
}

/// The tags a key would have after `adding` is applied to `current`, or AWS's `TagException`.
pub fn check_new_tags(current: &[Tag], adding: &[Tag]) -> Result<Vec<Tag>, CoreError> {
    let mut tags = current.to_vec();
    for tag in adding {
        if tag.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(tag_error("Tags beginning with aws: are reserved"));
        }
        match tags.iter_mut().find(|t| t.key == tag.key) {
            Some(existing) => existing.value = tag.value.clone(),
            None => tags.push(tag.clone()),
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(tag_error(format!(
            "A KMS key can have at most {MAX_TAGS} tags."
        )));
    }
    Ok(tags)
}

impl Core {
    pub fn tag_kms_key(
        &self,
        ctx: &RequestContext,
        req: Validated<TagResourceRequest>,
    ) -> Result<Empty, CoreError> {
        let req = req.into_inner();
        let mut key = self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:TagResource")?;
        if key.meta.state == KmsKeyState::PendingDeletion {
            return Err(invalid_state(&key));
        }
        let adding: Vec<Tag> = req
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| Tag {
                key: t.tag_key.unwrap_or_default(),
                value: t.tag_value.unwrap_or_default(),
            })
            .collect();
        key.meta.tags = check_new_tags(&key.meta.tags, &adding)?;
        self.store
            .put_kms_key_meta(&key.record.scope, &key.record.key_id, &key.meta)?;
        Ok(Empty {})
    }

    pub fn untag_kms_key(
        &self,
        ctx: &RequestContext,
        req: Validated<UntagResourceRequest>,
    ) -> Result<Empty, CoreError> {
        let req = req.into_inner();
        let mut key = self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:UntagResource")?;
        if key.meta.state == KmsKeyState::PendingDeletion {
            return Err(invalid_state(&key));
        }
        let removing = req.tag_keys.unwrap_or_default();
        if removing
            .iter()
            .any(|k| k.to_ascii_lowercase().starts_with("aws:"))
        {
            return Err(tag_error("Tags beginning with aws: are reserved"));
        }
        key.meta.tags.retain(|t| !removing.contains(&t.key));
        self.store
            .put_kms_key_meta(&key.record.scope, &key.record.key_id, &key.meta)?;
        Ok(Empty {})
    }

    pub fn list_kms_key_tags(
        &self,
        ctx: &RequestContext,
        req: Validated<ListRequest>,
    ) -> Result<ListResourceTagsResponse, CoreError> {
        let req = req.into_inner();
        let key = self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:ListResourceTags")?;
        let start = match req.marker.as_deref() {
            None => 0,
            Some(m) => m.parse::<usize>().map_err(|_| invalid_marker())?,
        };
        let limit = page_limit(req.limit);
        let mut tags: Vec<Tag> = key.meta.tags;
        tags.sort_by(|a, b| a.key.cmp(&b.key));
        let page: Vec<KmsTag> = tags
            .iter()
            .skip(start)
            .take(limit)
            .map(|t| KmsTag {
                tag_key: Some(t.key.clone()),
                tag_value: Some(t.value.clone()),
            })
            .collect();
        let end = start.saturating_add(page.len());
        let truncated = end < tags.len();
        Ok(ListResourceTagsResponse {
            tags: page,
            next_marker: truncated.then(|| end.to_string()),
            truncated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.to_owned(),
            value: v.to_owned(),
        }
    }

    #[test]
    fn tag_rules() {
        let merged = check_new_tags(&[tag("a", "1")], &[tag("a", "2"), tag("b", "3")]);
        assert_eq!(merged.ok(), Some(vec![tag("a", "2"), tag("b", "3")]));
        assert!(matches!(
            check_new_tags(&[], &[tag("aws:x", "1")]),
            Err(CoreError::Kms(KmsError::Tag, _))
        ));
        let many: Vec<Tag> = (0..=MAX_TAGS).map(|i| tag(&i.to_string(), "v")).collect();
        assert!(matches!(
            check_new_tags(&[], &many),
            Err(CoreError::Kms(KmsError::Tag, _))
        ));
    }
}
