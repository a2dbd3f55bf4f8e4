//! `TagResource` and `UntagResource`.

use tresor_store::{Store, Tag};

use super::dto::*;
use super::resolve::ensure_not_deleted;
use super::resolve::Access;
use super::validate::{self, Validator};
use super::Operation;
use crate::{Core, CoreError, RequestContext};

impl Core {
    pub fn tag_resource(
        &self,
        ctx: &RequestContext,
        req: TagResourceRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        v.required(&req.secret_id, "secretId");
        v.length(req.secret_id.as_deref(), "secretId", 1, 2048);
        v.required(&req.tags, "tags");
        validate::tags(&mut v, req.tags.as_deref(), "tags");
        v.finish()?;
        let new: Vec<Tag> = req
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| Tag {
                key: t.key.unwrap_or_default(),
                value: t.value.unwrap_or_default(),
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
        self.store.update_secret(&record.arn, |txn| {
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
        req: UntagResourceRequest,
    ) -> Result<Empty, CoreError> {
        let mut v = Validator::new();
        v.required(&req.secret_id, "secretId");
        v.length(req.secret_id.as_deref(), "secretId", 1, 2048);
        v.required(&req.tag_keys, "tagKeys");
        for (i, k) in req
            .tag_keys
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            v.length(Some(k), &format!("tagKeys.{}.member", i + 1), 1, 128);
        }
        v.finish()?;
        let keys = req.tag_keys.unwrap_or_default();
        let access = Access {
            tag_keys: keys.clone(),
            ..Access::to(Operation::UntagResource)
        };
        let record =
            self.resolve_secret(ctx, req.secret_id.as_deref().unwrap_or_default(), access)?;
        ensure_not_deleted(&record)?;
        self.store.update_secret(&record.arn, |txn| {
            ensure_not_deleted(&txn.record)?;
            txn.record.tags.retain(|t| !keys.contains(&t.key));
            txn.record.last_changed = ctx.now;
            Ok::<_, CoreError>(())
        })?;
        Ok(Empty {})
    }
}
