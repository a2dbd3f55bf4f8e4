//! Gateway keys: `CreateKey`, `UpdateKey`, `GetKey`, `ListKeys`, `DeleteKey`, `GetKeyUsage`.
//!
//! A key is a random 256-bit token (`tgk_` + 43 base64url characters) shown once, in the
//! `CreateKey` answer. The store keeps only its MAC under a key derived from the root key, so
//! a copy of the database holds no usable key. Each key belongs to an IAM user or role: its
//! calls are authorized by that identity's policies. Creating a key for an identity hands
//! that identity's gateway permissions to whoever holds the key, so it needs
//! `gateway:CreateKey` on the identity's ARN, as `iam:CreateAccessKey` needs it on the user.

use base64::Engine;
use serde::Serialize;
use tresor_store::{GatewayKeyRecord, GatewayStore, IdentityStore, PrincipalKind, StoreError};
use tresor_types::{AccountId, Timestamp};
use zeroize::Zeroizing;

use super::dto::*;
use super::Operation;
use crate::authz::Resource;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

/// The prefix every gateway key token starts with.
pub const TOKEN_PREFIX: &str = "tgk_";
const TOKEN_BYTES: usize = 32;

/// A gateway key token, in the one answer that carries it. Serialized as the token (that is
/// its purpose); `Debug` never shows it; zeroized on drop.
pub struct KeyToken(Zeroizing<String>);

impl Serialize for KeyToken {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl std::fmt::Debug for KeyToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyToken([REDACTED])")
    }
}

fn new_token() -> Result<KeyToken, CoreError> {
    let raw = Zeroizing::new(tresor_crypto::random_bytes(TOKEN_BYTES)?);
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.as_slice());
    Ok(KeyToken(Zeroizing::new(format!("{TOKEN_PREFIX}{encoded}"))))
}

fn new_key_id() -> Result<String, CoreError> {
    let raw = tresor_crypto::random_bytes(10)?;
    Ok(format!("gk-{}", hex::encode(raw)))
}

pub(crate) fn key_not_found(key_id: &str) -> CoreError {
    CoreError::ResourceNotFound(format!("Gateway key {key_id} does not exist."))
}

/// A key's ARN (the resource of the key management actions).
pub(crate) fn key_arn(region: &str, account: &AccountId, key_id: &str) -> String {
    format!("arn:aws:gateway:{region}:{account}:key/{key_id}")
}

/// The ARN of the identity a key belongs to.
pub(crate) fn principal_arn(account: &AccountId, kind: PrincipalKind, name: &str) -> String {
    match kind {
        PrincipalKind::Role => format!("arn:aws:iam::{account}:role/{name}"),
        _ => format!("arn:aws:iam::{account}:user/{name}"),
    }
}

/// A user or role as the API shows the owner of a key or a budget.
pub(crate) fn key_principal(account: &AccountId, kind: PrincipalKind, name: &str) -> KeyPrincipal {
    KeyPrincipal {
        kind: match kind {
            PrincipalKind::Role => "Role",
            _ => "User",
        }
        .to_owned(),
        name: name.to_owned(),
        arn: principal_arn(account, kind, name),
    }
}

pub(crate) fn shown(k: &GatewayKeyRecord) -> GatewayKey {
    GatewayKey {
        key_id: k.key_id.clone(),
        principal: key_principal(&k.account, k.principal_kind, &k.principal_name),
        routes: k.routes.clone(),
        models: k.models.clone(),
        budget_usd: k.budget_micro_usd.map(usd),
        budget_period: k.budget_period.clone(),
        rpm: k.rpm,
        tpm: k.tpm,
        expires_date: k.expires,
        status: k.status.clone(),
        description: k.description.clone(),
        created_date: k.created,
    }
}

/// Where the period of `period` that contains `now` starts (UTC; weeks start on Monday;
/// `total` is one period from the epoch), and where the next one starts (`None` for `total`).
pub fn period_bounds(period: &str, now: Timestamp) -> (Timestamp, Option<Timestamp>) {
    const DAY: i64 = 86_400_000;
    let ms = now.millis();
    let day = ms.div_euclid(DAY) * DAY;
    match period {
        "day" => (
            Timestamp::from_millis(day),
            Some(Timestamp::from_millis(day + DAY)),
        ),
        "week" => {
            // 1970-01-01 was a Thursday: day n is a Monday when (n + 3) % 7 == 0.
            let days = day / DAY;
            let monday = (days - (days + 3).rem_euclid(7)) * DAY;
            (
                Timestamp::from_millis(monday),
                Some(Timestamp::from_millis(monday + 7 * DAY)),
            )
        }
        "month" => {
            let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let start = t
                .date()
                .replace_day(1)
                .unwrap_or(t.date())
                .midnight()
                .assume_utc();
            let (y, m) = match t.month() {
                time::Month::December => (t.year() + 1, time::Month::January),
                m => (t.year(), m.next()),
            };
            let next = time::Date::from_calendar_date(y, m, 1)
                .map(|d| d.midnight().assume_utc())
                .unwrap_or(start);
            (
                Timestamp::from_millis(start.unix_timestamp() * 1000),
                Some(Timestamp::from_millis(next.unix_timestamp() * 1000)),
            )
        }
        _ => (Timestamp::from_millis(0), None),
    }
}

impl Core {
    fn authorize_key(
        &self,
        ctx: &RequestContext,
        op: Operation,
        arn: Option<&str>,
    ) -> Result<(), CoreError> {
        let action = format!("gateway:{}", op.name());
        let resource = match arn {
            Some(arn) => Resource {
                arn,
                account: Some(&ctx.principal.account),
                policy: None,
                keys: Vec::new(),
                shown_as: None,
            },
            None => Resource::any(),
        };
        self.authorize(ctx, &action, resource)
    }

    /// The key `key_id` of the caller's account, after authorizing `op` on it. A key of
    /// another account is reported missing, as a key that does not exist.
    fn key_for(
        &self,
        ctx: &RequestContext,
        op: Operation,
        key_id: &str,
    ) -> Result<GatewayKeyRecord, CoreError> {
        let arn = key_arn(ctx.region.as_str(), &ctx.principal.account, key_id);
        self.authorize_key(ctx, op, Some(&arn))?;
        self.store
            .get_gateway_key(key_id)?
            .filter(|k| k.account == ctx.principal.account)
            .ok_or_else(|| key_not_found(key_id))
    }

    pub fn gateway_create_key(
        &self,
        ctx: &RequestContext,
        req: Validated<CreateKeyRequest>,
    ) -> Result<CreateKeyResponse, CoreError> {
        let req = req.into_inner();
        let account = &ctx.principal.account;
        let (kind, name) = match (req.user_name, req.role_name) {
            (Some(user), _) => (PrincipalKind::User, user),
            (None, Some(role)) => (PrincipalKind::Role, role),
            (None, None) => {
                return Err(CoreError::InvalidParameter(
                    "Specify exactly one of UserName and RoleName.".to_owned(),
                ))
            }
        };
        let owner = principal_arn(account, kind, &name);
        self.authorize_key(ctx, Operation::CreateKey, Some(&owner))?;
        let exists = match kind {
            PrincipalKind::Role => self.store.get_role(account, &name)?.is_some(),
            _ => self.store.get_user(account, &name)?.is_some(),
        };
        if !exists {
            return Err(CoreError::NoSuchEntity(format!(
                "The {} with name {name} cannot be found.",
                if kind == PrincipalKind::Role {
                    "role"
                } else {
                    "user"
                }
            )));
        }
        let token = new_token()?;
        let record = GatewayKeyRecord {
            key_id: new_key_id()?,
            account: account.clone(),
            region: ctx.region.as_str().to_owned(),
            mac: self.keyring.gateway_key_mac(token.0.as_bytes()),
            principal_kind: kind,
            principal_name: name,
            routes: req.routes.unwrap_or_default(),
            models: req.models.unwrap_or_default(),
            budget_micro_usd: req.budget_usd.map(micro),
            budget_period: req.budget_period.unwrap_or_else(|| "month".to_owned()),
            rpm: req.rpm,
            tpm: req.tpm,
            expires: req.expires_in_seconds.map(|s| ctx.now.plus_seconds(s)),
            status: "Active".to_owned(),
            description: req.description,
            created: ctx.now,
        };
        self.store.create_gateway_key(&record)?;
        Ok(CreateKeyResponse {
            key: token,
            key_id: record.key_id.clone(),
            gateway_key: shown(&record),
        })
    }

    pub fn gateway_update_key(
        &self,
        ctx: &RequestContext,
        req: Validated<UpdateKeyRequest>,
    ) -> Result<GatewayKeyResponse, CoreError> {
        let req = req.into_inner();
        let key_id = req.key_id.unwrap_or_default();
        let mut record = self.key_for(ctx, Operation::UpdateKey, &key_id)?;
        if let Some(status) = req.status {
            record.status = status;
        }
        if let Some(routes) = req.routes {
            record.routes = routes;
        }
        if let Some(models) = req.models {
            record.models = models;
        }
        if let Some(budget) = req.budget_usd {
            record.budget_micro_usd = Some(micro(budget));
        }
        if let Some(period) = req.budget_period {
            record.budget_period = period;
        }
        if req.rpm.is_some() {
            record.rpm = req.rpm;
        }
        if req.tpm.is_some() {
            record.tpm = req.tpm;
        }
        if let Some(d) = req.description {
            record.description = (!d.is_empty()).then_some(d);
        }
        match self.store.update_gateway_key(&record) {
            Err(StoreError::NotFound(_)) => Err(key_not_found(&key_id)),
            other => other.map_err(CoreError::from),
        }?;
        Ok(GatewayKeyResponse {
            gateway_key: shown(&record),
        })
    }

    pub fn gateway_get_key(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyIdRequest>,
    ) -> Result<GatewayKeyResponse, CoreError> {
        let key_id = req.key_id.as_deref().unwrap_or_default();
        let record = self.key_for(ctx, Operation::GetKey, key_id)?;
        Ok(GatewayKeyResponse {
            gateway_key: shown(&record),
        })
    }

    pub fn gateway_list_keys(
        &self,
        ctx: &RequestContext,
        req: Validated<ListKeysRequest>,
    ) -> Result<ListKeysResponse, CoreError> {
        self.authorize_key(ctx, Operation::ListKeys, None)?;
        let principal = match (&req.user_name, &req.role_name) {
            (Some(u), _) => Some((PrincipalKind::User, u.as_str())),
            (None, Some(r)) => Some((PrincipalKind::Role, r.as_str())),
            (None, None) => None,
        };
        let keys = self
            .store
            .list_gateway_keys(&ctx.principal.account, principal)?;
        Ok(ListKeysResponse {
            gateway_keys: keys.iter().map(shown).collect(),
        })
    }

    pub fn gateway_delete_key(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyIdRequest>,
    ) -> Result<EmptyResponse, CoreError> {
        let key_id = req.key_id.as_deref().unwrap_or_default();
        self.key_for(ctx, Operation::DeleteKey, key_id)?;
        match self.store.delete_gateway_key(key_id) {
            Err(StoreError::NotFound(_)) => Err(key_not_found(key_id)),
            other => other.map_err(CoreError::from),
        }?;
        Ok(EmptyResponse {})
    }

    pub fn gateway_key_usage(
        &self,
        ctx: &RequestContext,
        req: Validated<KeyIdRequest>,
    ) -> Result<KeyUsageResponse, CoreError> {
        let key_id = req.key_id.as_deref().unwrap_or_default();
        let record = self.key_for(ctx, Operation::GetKeyUsage, key_id)?;
        let (start, _) = period_bounds(&record.budget_period, ctx.now);
        let usage = self
            .store
            .usage(&super::invoke::key_scope(key_id), start.millis(), ctx.now)?;
        Ok(KeyUsageResponse {
            key_id: record.key_id,
            budget_period: record.budget_period,
            period_start: start,
            requests: usage.requests,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            spent_usd: usd(usage.spent_micro_usd),
            held_usd: usd(usage.held_micro_usd),
            budget_usd: record.budget_micro_usd.map(usd),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tokens_are_random_256_bit_and_never_debug_printed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert!(a.0.starts_with(TOKEN_PREFIX));
        assert_eq!(a.0.len(), TOKEN_PREFIX.len() + 43);
        assert_ne!(*a.0, *b.0);
        assert!(!format!("{a:?}").contains(&a.0[4..]));
    }

    #[test]
    fn periods_start_where_the_calendar_says() {
        // 2026-12-07T14:25:00Z, a Monday.
        let now = Timestamp::from_millis(1_796_653_500_000);
        let (day, next_day) = period_bounds("day", now);
        assert_eq!(day.millis(), 1_796_601_600_000);
        assert_eq!(next_day.unwrap().millis() - day.millis(), 86_400_000);
        let (week, _) = period_bounds("week", now);
        assert_eq!(
            week.millis(),
            1_796_601_600_000,
            "a Monday starts its own week"
        );
        let (week, _) = period_bounds("week", now.plus_days(6));
        assert_eq!(week.millis(), 1_796_601_600_000);
        let (month, next) = period_bounds("month", now);
        assert_eq!(month.millis(), 1_796_083_200_000); // 2026-12-01
        assert_eq!(next.unwrap().millis(), 1_798_761_600_000); // 2027-01-01
        assert_eq!(
            period_bounds("total", now),
            (Timestamp::from_millis(0), None)
        );
    }
}
