//! `TagResource` and `UntagResource`.

use tresor_store::Tag;

use super::dto::*;
use super::resolve::ensure_not_deleted;
use super::resolve::Access;
use super::validate;
use super::Operation;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

impl Core {
    pub fn tag_resource(
        &self,
        ctx: &RequestContext,
        req: Validated<TagResourceRequest>,
    ) -> Result<Empty, CoreError> {
        let req = req.into_inner();
        let new: Vec<Tag> = req
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| Tag {
                key: t.key.map(String::from).unwrap_or_default(),
                value: t.value.map(String::from).unwrap_or_default(),
            })
            .collect();
        let access = Access {
            request_tags: new
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
            tag_keys: new.iter().map(|t| t.key.clone()).collect(),
            ..Access::to(Operation::TagResource)
        };
        let record =
            self.resolve_secret(ctx, req.secret_id.as_deref().unwrap_or_default(), access)?;
        ensure_not_deleted(&record)?;
        self.write_secret(&record.arn, |txn| {
            ensure_not_deleted(&txn.record)?;
            for tag in &new {
                match txn.record.tags.iter_mut().find(|t| t.key == tag.key) {
                    Some(existing) => existing.value = tag.value.clone(),
                    None => txn.record.tags.push(tag.clone()),
                }
            }
            validate::tag_rules(new.iter().map(|t| t.key.clone()), txn.record.tags.len())?;
            txn.record.last_changed = ctx.now;
            Ok::<_, CoreError>(())
        })?;
        Ok(Empty {})
    }

    pub fn untag_resource(
        &self,
        ctx: &RequestContext,
        req: Validated<UntagResourceRequest>,
    ) -> Result<Empty, CoreError> {
        let req = req.into_inner();
        let keys: Vec<String> = req
            .tag_keys
            .unwrap_or_default()
            .into_iter()
            .map(String::from)
            .collect();
        let access = Access {
            tag_keys: keys.clone(),
            ..Access::to(Operation::UntagResource)
        };
        let record =
            self.resolve_secret(ctx, req.secret_id.as_deref().unwrap_or_default(), access)?;
        ensure_not_deleted(&record)?;
        self.write_secret(&record.arn, |txn| {
            ensure_not_deleted(&txn.record)?;
            txn.record.tags.retain(|t| !keys.contains(&t.key));
            txn.record.last_changed = ctx.now;
            Ok::<_, CoreError>(())
        })?;
        Ok(Empty {})
    }
}
