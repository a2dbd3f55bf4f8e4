//! Registering rotators: `CreateRotator`, `GetRotator`, `ListRotators`, `DeleteRotator`,
//! `GetRotatorLogs`.
//!
//! Registering one needs `rotation:CreateRotator` on its ARN and `iam:PassRole` on its role
//! (the rotator will act with that role's credentials, as a Lambda function acts with its
//! execution role); a built-in rotator that reads a provider admin key also needs
//! `secretsmanager:GetSecretValue` on that key's secret, so nobody can point a rotator at a
//! key they could not read themselves. A webhook's URL is HTTPS, or plain HTTP to a loopback
//! address; its signing key is generated here, shown once, and stored sealed.

use serde::{Deserialize, Serialize};
use tresor_store::{RotationStore, RotatorRecord, Scope, StoreError};
use tresor_types::{AccountId, Region, SecretBytes};

use super::dto::*;
use super::{rotator_arn, Operation};
use crate::authz::Resource;
use crate::iam::format::parse_iam_arn;
use crate::validate::Validated;
use crate::{Core, CoreError, RequestContext};

/// How long a step may take unless the rotator says.
pub const DEFAULT_STEP_TIMEOUT_SECONDS: i64 = 300;
/// How long a replaced provider key keeps working unless the rotator says: one day.
pub const DEFAULT_GRACE_PERIOD_SECONDS: i64 = 86_400;

/// A rotator's settings as its record keeps them (`config_json`). No secret in it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct RotatorConfig {
    pub role_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub pass_credentials: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_secret_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    pub grace_period_seconds: i64,
    pub step_timeout_seconds: i64,
}

impl RotatorConfig {
    pub fn of(record: &RotatorRecord) -> Result<Self, CoreError> {
        serde_json::from_str(&record.config_json)
            .map_err(|_| CoreError::Internal(format!("rotator {} is unreadable", record.arn)))
    }

    pub fn is_builtin(kind: &str) -> bool {
        matches!(kind, "openai" | "openrouter" | "manual")
    }
}

/// A registered rotator with what it needs to run.
pub struct ResolvedRotator {
    pub record: RotatorRecord,
    pub config: RotatorConfig,
    /// A webhook's signing key.
    pub signing_secret: Option<SecretBytes>,
}

impl std::fmt::Debug for ResolvedRotator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedRotator")
            .field("record", &self.record)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The refusal of a command rotator on a server started with `--disable-command-rotators`.
pub fn commands_disabled() -> CoreError {
    CoreError::InvalidRequest(
        "Command rotators are disabled on this server (--disable-command-rotators); use a webhook or built-in rotator."
            .to_owned(),
    )
}

pub(crate) fn rotator_not_found(name: &str) -> CoreError {
    CoreError::ResourceNotFound(format!("Function not found: {name}"))
}

/// The (scope, name) a rotator name or `arn:aws:lambda:<region>:<account>:function:<name>`
/// designates, read in the caller's scope.
pub(crate) fn rotator_address(scope: Option<&Scope>, name_or_arn: &str) -> Option<(Scope, String)> {
    match name_or_arn.strip_prefix("arn:aws:lambda:") {
        None => scope.map(|s| (s.clone(), name_or_arn.to_owned())),
        Some(rest) => {
            let mut parts = rest.splitn(4, ':');
            let region = Region::parse(parts.next()?).ok()?;
            let account = AccountId::parse(parts.next()?).ok()?;
            if parts.next()? != "function" {
                return None;
            }
            // A qualifier (`:$LATEST`, an alias) names the same function.
            let name = parts.next()?.split(':').next()?.to_owned();
            (!name.is_empty()).then_some((Scope { account, region }, name))
        }
    }
}

/// What a rotator is shown as.
pub(crate) fn shown(record: &RotatorRecord, config: &RotatorConfig) -> RotatorDescription {
    let builtin = RotatorConfig::is_builtin(&record.kind);
    RotatorDescription {
        name: record.name.clone(),
        arn: record.arn.clone(),
        kind: record.kind.clone(),
        role_arn: config.role_arn.clone(),
        description: config.description.clone(),
        command: config.command.clone(),
        working_directory: config.working_directory.clone(),
        url: config.url.clone(),
        pass_credentials: (record.kind == "webhook").then_some(config.pass_credentials),
        admin_secret_id: config.admin_secret_id.clone(),
        project_id: config.project_id.clone(),
        provider: config.provider.clone(),
        base_url: config.base_url.clone(),
        grace_period_seconds: builtin.then_some(config.grace_period_seconds),
        step_timeout_seconds: config.step_timeout_seconds,
        created_date: record.created,
    }
}

fn default_base_url(kind: &str, provider: Option<&str>) -> Option<&'static str> {
    match (kind, provider) {
        ("openai", _) | ("manual", Some("openai")) => Some("https://api.openai.com"),
        ("openrouter", _) => Some("https://openrouter.ai"),
        ("manual", _) => Some("https://api.anthropic.com"),
        _ => None,
    }
}

/// A URL Tresor may send a rotation's event (or a provider call) to: HTTPS, or plain HTTP to
/// a loopback address.
fn check_url(url: &str, at: &str) -> Result<(), CoreError> {
    let to_loopback = crate::net::plain_http_host(url).is_some_and(crate::net::is_loopback_host);
    if url.starts_with("https://") || to_loopback {
        Ok(())
    } else {
        Err(CoreError::InvalidParameter(format!(
            "{at} must be an https:// URL (plain http:// only to a loopback address)."
        )))
    }
}

fn missing(member: &str, kind: &str) -> CoreError {
    CoreError::InvalidParameter(format!("A {kind} rotator needs {member}."))
}

fn not_for(member: &str, kind: &str) -> CoreError {
    CoreError::InvalidParameter(format!("{member} does not apply to a {kind} rotator."))
}

/// A webhook signing key: `whsec_` and 32 random bytes in base64url.
fn new_signing_secret() -> Result<SecretBytes, CoreError> {
    use base64::Engine as _;
    let raw = zeroize::Zeroizing::new(tresor_crypto::random_bytes(32)?);
    let text = zeroize::Zeroizing::new(format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.as_slice())
    ));
    Ok(SecretBytes::from_slice(text.as_bytes()))
}

impl Core {
    pub(crate) fn authorize_rotator(
        &self,
        ctx: &RequestContext,
        op: Operation,
        name: Option<&str>,
    ) -> Result<(), CoreError> {
        let action = format!("rotation:{}", op.name());
        match name {
            Some(name) => {
                let arn = rotator_arn(ctx.region.as_str(), ctx.principal.account.as_str(), name);
                let resource = Resource {
                    arn: &arn,
                    account: Some(&ctx.principal.account),
                    policy: None,
                    keys: Vec::new(),
                    shown_as: None,
                };
                self.authorize(ctx, &action, resource)
            }
            None => self.authorize(ctx, &action, Resource::any()),
        }
    }

    /// The rotator a request names, in the caller's scope only.
    fn named_rotator(&self, ctx: &RequestContext, name_or_arn: &str) -> Result<String, CoreError> {
        match rotator_address(Some(&ctx.scope()), name_or_arn) {
            Some((scope, name)) if scope == ctx.scope() => Ok(name),
            _ => Err(rotator_not_found(name_or_arn)),
        }
    }

    pub fn rotation_create_rotator(
        &self,
        ctx: &RequestContext,
        req: Validated<CreateRotatorRequest>,
    ) -> Result<CreateRotatorResponse, CoreError> {
        let req = req.into_inner();
        let name = req.name.unwrap_or_default();
        let kind = req.kind.unwrap_or_default();
        self.authorize_rotator(ctx, Operation::CreateRotator, Some(&name))?;
        let role_arn = req.role_arn.unwrap_or_default();
        match parse_iam_arn(&role_arn) {
            Some((account, "role", _, _)) if account == ctx.principal.account.as_str() => {}
            _ => {
                return Err(CoreError::InvalidParameter(format!(
                    "RoleArn {role_arn} is not a role of this account."
                )))
            }
        }
        let role_resource = Resource {
            arn: &role_arn,
            account: Some(&ctx.principal.account),
            policy: None,
            keys: Vec::new(),
            shown_as: None,
        };
        self.authorize(ctx, "iam:PassRole", role_resource)?;

        if kind == "command" && !self.command_rotators_allowed() {
            return Err(commands_disabled());
        }
        let builtin = RotatorConfig::is_builtin(&kind);
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        match kind.as_str() {
            "command" => {
                if !given(&req.command) {
                    return Err(missing("Command", &kind));
                }
                if given(&req.url) {
                    return Err(not_for("Url", &kind));
                }
            }
            "webhook" => {
                let url = req.url.as_deref().unwrap_or_default();
                if url.is_empty() {
                    return Err(missing("Url", &kind));
                }
                check_url(url, "Url")?;
                if given(&req.command) {
                    return Err(not_for("Command", &kind));
                }
            }
            _ => {
                if given(&req.command) {
                    return Err(not_for("Command", &kind));
                }
                if given(&req.url) {
                    return Err(not_for("Url", &kind));
                }
            }
        }
        if !builtin {
            for (member, value) in [
                ("AdminSecretId", &req.admin_secret_id),
                ("ProjectId", &req.project_id),
                ("Provider", &req.provider),
                ("BaseUrl", &req.base_url),
            ] {
                if given(value) {
                    return Err(not_for(member, &kind));
                }
            }
        }
        if kind == "command" && req.pass_credentials.is_some() {
            return Err(not_for("PassCredentials", &kind));
        }
        if (kind == "openai" || kind == "openrouter") && !given(&req.admin_secret_id) {
            return Err(missing("AdminSecretId", &kind));
        }
        if kind == "openai" && !given(&req.project_id) {
            return Err(missing("ProjectId", &kind));
        }
        if kind != "openai" && given(&req.project_id) {
            return Err(not_for("ProjectId", &kind));
        }
        if kind != "manual" && given(&req.provider) {
            return Err(not_for("Provider", &kind));
        }
        if let Some(admin) = req.admin_secret_id.as_deref().filter(|s| !s.is_empty()) {
            // The rotator will read this key: only someone who may read it can say so.
            self.authorize_secret_read(ctx, admin)?;
        }
        let provider = (kind == "manual").then(|| {
            req.provider
                .clone()
                .unwrap_or_else(|| "anthropic".to_owned())
        });
        let base_url = match req.base_url.as_deref().filter(|s| !s.is_empty()) {
            Some(url) => {
                check_url(url, "BaseUrl")?;
                Some(url.trim_end_matches('/').to_owned())
            }
            None => default_base_url(&kind, provider.as_deref()).map(str::to_owned),
        };
        let config = RotatorConfig {
            role_arn,
            description: req.description.filter(|d| !d.is_empty()),
            command: req.command,
            working_directory: req.working_directory,
            url: req.url,
            pass_credentials: req.pass_credentials.unwrap_or(false),
            admin_secret_id: req.admin_secret_id.filter(|s| !s.is_empty()),
            project_id: req.project_id,
            provider,
            base_url,
            grace_period_seconds: req
                .grace_period_seconds
                .unwrap_or(DEFAULT_GRACE_PERIOD_SECONDS),
            step_timeout_seconds: req
                .step_timeout_seconds
                .unwrap_or(DEFAULT_STEP_TIMEOUT_SECONDS),
        };
        let arn = rotator_arn(ctx.region.as_str(), ctx.principal.account.as_str(), &name);
        let signing_secret = match kind.as_str() {
            "webhook" => Some(new_signing_secret()?),
            _ => None,
        };
        let sealed_secret = match &signing_secret {
            Some(s) => Some(self.keyring.seal_rotator_secret(&arn, s)?),
            None => None,
        };
        let record = RotatorRecord {
            scope: ctx.scope(),
            name: name.clone(),
            arn,
            kind,
            config_json: serde_json::to_string(&config)
                .map_err(|e| CoreError::Internal(e.to_string()))?,
            sealed_secret,
            created: ctx.now,
        };
        match self.store.create_rotator(&record) {
            Err(StoreError::Conflict) => Err(CoreError::ResourceExists(format!(
                "Function already exist: {name}"
            ))),
            other => other.map_err(CoreError::from),
        }?;
        Ok(CreateRotatorResponse {
            rotator: shown(&record, &config),
            signing_secret: signing_secret
                .map(|s| String::from_utf8_lossy(s.expose()).into_owned()),
        })
    }

    pub fn rotation_get_rotator(
        &self,
        ctx: &RequestContext,
        req: Validated<RotatorNameRequest>,
    ) -> Result<GetRotatorResponse, CoreError> {
        let asked = req.into_inner().name.unwrap_or_default();
        let name = self.named_rotator(ctx, &asked)?;
        self.authorize_rotator(ctx, Operation::GetRotator, Some(&name))?;
        let record = self
            .store
            .get_rotator(&ctx.scope(), &name)?
            .ok_or_else(|| rotator_not_found(&asked))?;
        let config = RotatorConfig::of(&record)?;
        Ok(GetRotatorResponse {
            rotator: shown(&record, &config),
        })
    }

    pub fn rotation_list_rotators(
        &self,
        ctx: &RequestContext,
        _req: Validated<ListRotatorsRequest>,
    ) -> Result<ListRotatorsResponse, CoreError> {
        self.authorize_rotator(ctx, Operation::ListRotators, None)?;
        let rotators = self
            .store
            .list_rotators(&ctx.scope())?
            .iter()
            .map(|r| RotatorConfig::of(r).map(|c| shown(r, &c)))
            .collect::<Result<_, _>>()?;
        Ok(ListRotatorsResponse { rotators })
    }

    pub fn rotation_delete_rotator(
        &self,
        ctx: &RequestContext,
        req: Validated<RotatorNameRequest>,
    ) -> Result<Empty, CoreError> {
        let asked = req.into_inner().name.unwrap_or_default();
        let name = self.named_rotator(ctx, &asked)?;
        self.authorize_rotator(ctx, Operation::DeleteRotator, Some(&name))?;
        if !self.store.delete_rotator(&ctx.scope(), &name)? {
            return Err(rotator_not_found(&asked));
        }
        Ok(Empty {})
    }

    pub fn rotation_get_rotator_logs(
        &self,
        ctx: &RequestContext,
        req: Validated<GetRotatorLogsRequest>,
    ) -> Result<GetRotatorLogsResponse, CoreError> {
        let req = req.into_inner();
        let asked = req.name.unwrap_or_default();
        let name = self.named_rotator(ctx, &asked)?;
        self.authorize_rotator(ctx, Operation::GetRotatorLogs, Some(&name))?;
        let record = self
            .store
            .get_rotator(&ctx.scope(), &name)?
            .ok_or_else(|| rotator_not_found(&asked))?;
        let secret_arn = match req.secret_id.as_deref() {
            Some(id) => Some(
                self.resolve_secret_request(
                    ctx,
                    Some(id),
                    crate::secretsmanager::Operation::DescribeSecret,
                )?
                .arn,
            ),
            None => None,
        };
        let limit = req.max_results.unwrap_or(50).clamp(1, 500) as usize;
        let logs = self
            .store
            .rotator_logs(&record.arn, secret_arn.as_deref(), limit)?
            .into_iter()
            .map(|l| RotatorLogEntry {
                time: l.time,
                secret_arn: l.secret_arn,
                version_id: l.version_id,
                step: l.step,
                outcome: l.outcome,
                summary: l.summary,
                stdout: String::from_utf8_lossy(&l.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&l.stderr).into_owned(),
                duration_ms: l.duration_ms,
            })
            .collect();
        Ok(GetRotatorLogsResponse { logs })
    }

    /// The rotator `RotationLambdaARN` names, if registered, with its signing key opened.
    pub(crate) fn resolve_rotator(&self, arn: &str) -> Result<Option<ResolvedRotator>, CoreError> {
        let Some((scope, name)) = rotator_address(None, arn) else {
            return Ok(None);
        };
        let Some(record) = self.store.get_rotator(&scope, &name)? else {
            return Ok(None);
        };
        let config = RotatorConfig::of(&record)?;
        let signing_secret = match &record.sealed_secret {
            Some(sealed) => Some(self.keyring.open_rotator_secret(&record.arn, sealed)?),
            None => None,
        };
        Ok(Some(ResolvedRotator {
            record,
            config,
            signing_secret,
        }))
    }
}
