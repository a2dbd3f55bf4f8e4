//! Key rotation: automatic (every `RotationPeriodInDays`, 90–2560, 365 by default) and on
//! demand. A rotation adds a key version through the keyring (new material wrapped by the root
//! key); old versions stay, so every ciphertext made under them still decrypts.
//!
//! Automatic rotation is applied lazily: whenever a key is loaded ([`Core::kms_load_key`]), a
//! key whose next rotation date has passed gets the versions it is owed, dated when they were
//! due. AWS managed keys rotate every year from their creation, as AWS's do.

use tresor_store::{KeyVersionOrigin, KmsKeyState, KmsKeyVersionInfo, KmsStore, Store, StoreError};
use tresor_types::Timestamp;

use super::dto::{
    Empty, EnableKeyRotationRequest, GetKeyRotationStatusResponse, KeyIdRequest, KeyIdResponse,
    ListKeyRotationsResponse, ListRequest, RotationsListEntry,
};
use super::keys::{invalid_state, LoadedKey, Naming};
use super::paging::{invalid_marker, page_limit};
use crate::validate::Validated;
use crate::{Core, CoreError, KmsError, RequestContext};

pub const DEFAULT_PERIOD_DAYS: u32 = 365;
/// How many on-demand rotations AWS allows a key.
pub const ON_DEMAND_LIMIT: usize = 10;
/// At most this many versions are added at once for a key that was not used for a long time.
const MAX_CATCH_UP: usize = 16;

/// The dates at which automatic rotations were due up to `now`, and the next date after them.
pub fn due_rotations(
    next: Timestamp,
    period_days: u32,
    now: Timestamp,
) -> (Vec<Timestamp>, Timestamp) {
    let mut due = Vec::new();
    let mut at = next;
    while at <= now && due.len() < MAX_CATCH_UP {
        due.push(at);
        at = at.plus_days(i64::from(period_days.max(1)));
    }
    (due, at)
}

/// Add the versions a due rotation owes `key` (and start a managed key's yearly rotation).
pub(crate) fn rotate_if_due(
    core: &Core,
    ctx: &RequestContext,
    mut key: LoadedKey,
) -> Result<LoadedKey, CoreError> {
    if key.is_aws_managed() && !key.meta.rotation_enabled {
        key.meta.rotation_enabled = true;
        key.meta.rotation_period_days = DEFAULT_PERIOD_DAYS;
        key.meta.next_rotation = Some(key.record.created.plus_days(i64::from(DEFAULT_PERIOD_DAYS)));
        core.store
            .put_kms_key_meta(&key.record.scope, &key.record.key_id, &key.meta)?;
    }
    let Some(next) = key.meta.next_rotation.filter(|_| key.meta.rotation_enabled) else {
        return Ok(key);
    };
    if key.meta.state != KmsKeyState::Enabled || next > ctx.now {
        return Ok(key);
    }
    let (due, after) = due_rotations(next, key.meta.rotation_period_days, ctx.now);
    let outcome = core.store.atomically(|| -> Result<LoadedKey, CoreError> {
        let mut key = key.clone();
        for at in &due {
            add_version(core, &mut key, *at, KeyVersionOrigin::Automatic)?;
        }
        key.meta.next_rotation = Some(after);
        core.store
            .put_kms_key_meta(&key.record.scope, &key.record.key_id, &key.meta)?;
        Ok(key)
    });
    match outcome {
        Ok(key) => Ok(key),
        // Another request rotated it first: read what it wrote.
        Err(CoreError::Kms(KmsError::InvalidState, _)) => {
            core.kms_load_key(ctx, &key.record.key_id, Naming::KeyOnly)
        }
        Err(e) => Err(e),
    }
}

/// Add the next version of `key`'s material, dated `at`.
fn add_version(
    core: &Core,
    key: &mut LoadedKey,
    at: Timestamp,
    origin: KeyVersionOrigin,
) -> Result<(), CoreError> {
    let version = key.record.versions.last().map_or(1, |(v, _)| v + 1);
    let wrapped = core.keyring.wrap_new_material(&key.record, version)?;
    let info = KmsKeyVersionInfo {
        version,
        created: at,
        origin,
    };
    match core
        .store
        .add_kms_key_version(&key.record.scope, &key.record.key_id, &info, &wrapped)
    {
        Ok(()) => {}
        // Two rotations at once: the other one added this version.
        Err(StoreError::Conflict) => {
            return Err(CoreError::Kms(
                KmsError::InvalidState,
                format!("{} is being rotated; try again.", key.arn()),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    key.record.versions.push((version, wrapped));
    Ok(())
}

/// Rotation settings change only on an enabled customer key.
fn check_rotatable(key: &LoadedKey) -> Result<(), CoreError> {
    if key.meta.state != KmsKeyState::Enabled {
        return Err(invalid_state(key));
    }
    if key.is_aws_managed() {
        return Err(CoreError::Kms(
            KmsError::UnsupportedOperation,
            format!(
                "{} is an AWS managed key: AWS rotates it every year.",
                key.arn()
            ),
        ));
    }
    Ok(())
}

impl Core {
    pub fn enable_key_rotation(
        &self,
        ctx: &RequestContext,
        req: Validated<EnableKeyRotationRequest>,
    ) -> Result<Empty, CoreError> {
        let req = req.into_inner();
        let mut key =
            self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:EnableKeyRotation")?;
        check_rotatable(&key)?;
        let period = match req.rotation_period_in_days {
            Some(days) => u32::try_from(days).unwrap_or(DEFAULT_PERIOD_DAYS),
            None => DEFAULT_PERIOD_DAYS,
        };
        key.meta.rotation_enabled = true;
        key.meta.rotation_period_days = period;
        key.meta.next_rotation = Some(ctx.now.plus_days(i64::from(period)));
        self.store
            .put_kms_key_meta(&key.record.scope, &key.record.key_id, &key.meta)?;
        Ok(Empty {})
    }

    pub fn disable_key_rotation(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyIdRequest>,
    ) -> Result<Empty, CoreError> {
        let req = req.into_inner();
        let mut key =
            self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:DisableKeyRotation")?;
        check_rotatable(&key)?;
        key.meta.rotation_enabled = false;
        key.meta.next_rotation = None;
        self.store
            .put_kms_key_meta(&key.record.scope, &key.record.key_id, &key.meta)?;
        Ok(Empty {})
    }

    pub fn get_key_rotation_status(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyIdRequest>,
    ) -> Result<GetKeyRotationStatusResponse, CoreError> {
        let req = req.into_inner();
        let key = self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:GetKeyRotationStatus")?;
        let enabled = key.meta.rotation_enabled;
        Ok(GetKeyRotationStatusResponse {
            key_rotation_enabled: enabled,
            key_id: key.record.arn.clone(),
            rotation_period_in_days: enabled.then_some(key.meta.rotation_period_days),
            next_rotation_date: key.meta.next_rotation.filter(|_| enabled),
        })
    }

    pub fn rotate_key_on_demand(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyIdRequest>,
    ) -> Result<KeyIdResponse, CoreError> {
        let req = req.into_inner();
        let mut key =
            self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:RotateKeyOnDemand")?;
        check_rotatable(&key)?;
        let versions = self
            .store
            .kms_key_versions(&key.record.scope, &key.record.key_id)?;
        let on_demand = versions
            .iter()
            .filter(|v| v.origin == KeyVersionOrigin::OnDemand)
            .count();
        if on_demand >= ON_DEMAND_LIMIT {
            return Err(CoreError::Kms(
                KmsError::LimitExceeded,
                format!(
                    "{} has reached the maximum of {ON_DEMAND_LIMIT} on-demand rotations.",
                    key.arn()
                ),
            ));
        }
        add_version(self, &mut key, ctx.now, KeyVersionOrigin::OnDemand)?;
        Ok(KeyIdResponse {
            key_id: key.record.key_id,
        })
    }

    pub fn list_key_rotations(
        &self,
        ctx: &RequestContext,
        req: Validated<ListRequest>,
    ) -> Result<ListKeyRotationsResponse, CoreError> {
        let req = req.into_inner();
        let key = self.kms_key_to_manage(ctx, req.key_id.as_deref(), "kms:ListKeyRotations")?;
        let after = match req.marker.as_deref() {
            None => 0,
            Some(m) => m.parse::<u32>().map_err(|_| invalid_marker())?,
        };
        let limit = page_limit(req.limit);
        let mut rotations: Vec<(u32, RotationsListEntry)> = self
            .store
            .kms_key_versions(&key.record.scope, &key.record.key_id)?
            .into_iter()
            .filter(|v| v.version > after)
            .filter_map(|v| {
                let rotation_type = match v.origin {
                    KeyVersionOrigin::Created => return None,
                    KeyVersionOrigin::Automatic => "AUTOMATIC",
                    KeyVersionOrigin::OnDemand => "ON_DEMAND",
                };
                let entry = RotationsListEntry {
                    key_id: key.record.key_id.clone(),
                    rotation_date: v.created,
                    rotation_type,
                };
                Some((v.version, entry))
            })
            .collect();
        let truncated = rotations.len() > limit;
        rotations.truncate(limit);
        let next_marker = truncated
            .then(|| rotations.last().map(|(v, _)| v.to_string()))
            .flatten();
        Ok(ListKeyRotationsResponse {
            rotations: rotations.into_iter().map(|(_, e)| e).collect(),
            next_marker,
            truncated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_rotations_catch_up_and_schedule_the_next() {
        let day = 86_400_000;
        let next = Timestamp(1_000 * day);
        assert_eq!(
            due_rotations(next, 90, Timestamp(999 * day)),
            (vec![], next)
        );
        assert_eq!(
            due_rotations(next, 90, Timestamp(1_000 * day)),
            (vec![next], Timestamp(1_090 * day))
        );
        assert_eq!(
            due_rotations(next, 90, Timestamp(1_200 * day)),
            (
                vec![next, Timestamp(1_090 * day), Timestamp(1_180 * day)],
                Timestamp(1_270 * day)
            )
        );
        let (due, _) = due_rotations(Timestamp(0), 90, Timestamp(100_000 * day));
        assert_eq!(due.len(), MAX_CATCH_UP);
    }
}
