//! `UpdateSecretVersionStage`: move or remove one staging label.

use super::dto::*;
use super::resolve::ensure_not_deleted;
use super::resolve::Access;
use super::write::move_stages;
use super::Operation;
use super::AWSCURRENT;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

const MAX_LABELS_PER_VERSION: usize = 20;

impl Core {
    pub fn update_secret_version_stage(
        &self,
        ctx: &RequestContext,
        req: Validated<UpdateSecretVersionStageRequest>,
    ) -> Result<ArnName, CoreError> {
        let req = req.into_inner();
        let label = req.version_stage.map(String::from).unwrap_or_default();
        let (remove_from, move_to) = (
            req.remove_from_version_id.map(String::from),
            req.move_to_version_id.map(String::from),
        );
        let access = Access {
            version_stage: Some(&label),
            ..Access::to(Operation::UpdateSecretVersionStage)
        };
        let record =
            self.resolve_secret(ctx, req.secret_id.as_deref().unwrap_or_default(), access)?;
        ensure_not_deleted(&record)?;
        self.write_secret(&record.arn, |txn| {
            ensure_not_deleted(&txn.record)?;
            let holder = txn.record.version_with_stage(&label).map(|v| v.version_id.clone());
            if let Some(from) = &remove_from {
                if holder.as_deref() != Some(from.as_str()) {
                    return Err(CoreError::InvalidParameter(format!(
                        "The staging label {label} isn't attached to the version specified by RemoveFromVersionId ({from})."
                    )));
                }
            }
            match &move_to {
                Some(to) => {
                    let target = txn.record.version(to).ok_or_else(|| {
                        CoreError::ResourceNotFound(format!(
                            "Secrets Manager can't find the specified secret value for VersionId: {to}"
                        ))
                    })?;
                    if let Some(h) = &holder {
                        if h != to && remove_from.is_none() {
                            return Err(CoreError::InvalidParameter(format!(
                                "The parameter RemoveFromVersionId can't be empty. Staging label {label} is currently attached to version {h}, so you must explicitly reference that version in RemoveFromVersionId."
                            )));
                        }
                    }
                    if !target.stages.contains(&label) && target.stages.len() >= MAX_LABELS_PER_VERSION {
                        return Err(CoreError::LimitExceeded(format!(
                            "A version can have at most {MAX_LABELS_PER_VERSION} staging labels."
                        )));
                    }
                    move_stages(&mut txn.record, to, std::slice::from_ref(&label));
                }
                None => {
                    let Some(from) = &remove_from else {
                        return Err(CoreError::InvalidParameter(
                            "You must specify MoveToVersionId, RemoveFromVersionId, or both.".to_owned(),
                        ));
                    };
                    if label == AWSCURRENT {
                        return Err(CoreError::InvalidParameter(
                            "You can't remove the AWSCURRENT staging label; move it to another version instead."
                                .to_owned(),
                        ));
                    }
                    for ver in txn.record.versions.iter_mut().filter(|v| &v.version_id == from) {
                        ver.stages.retain(|s| s != &label);
                    }
                }
            }
            txn.record.last_changed = ctx.now;
            Ok(())
        })?;
        Ok(ArnName {
            arn: record.arn,
            name: record.name,
        })
    }
}
