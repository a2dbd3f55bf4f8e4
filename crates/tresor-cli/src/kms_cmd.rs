//! `tresor kms schedule-key-deletion` and `tresor kms cancel-key-deletion`: KMS's two
//! deletion calls, with what the aws CLI cannot say. Scheduling a deletion first finds the
//! secrets of this account and region whose `KmsKeyId` names the key (by id, ARN, or one of its
//! aliases), then schedules it and warns that once the waiting period ends the key material is
//! destroyed and every secret and ciphertext under the key is unreadable for good.
//!
//! Data path: the usual AWS environment and `--endpoint` ([`crate::admin_api`]); DescribeKey,
//! ListAliases and ScheduleKeyDeletion through `TrentService.*` (SigV4 `kms`), ListSecrets
//! through Secrets Manager's API (SigV4 `secretsmanager`). Errors print
//! `error: <Code>: <Message>` and exit 1.

use serde::Serialize;
use serde_json::{json, Value};

use crate::admin_api::{self, AdminApi, Format, GroupOptions, Service};
use crate::client::{CallError, Client, Connection};

const KMS: Service = Service {
    signing_name: "kms",
    target_prefix: tresor_core::kms::TARGET_PREFIX,
};

#[derive(Debug, clap::Args)]
pub struct KmsArgs {
    #[command(flatten)]
    pub options: GroupOptions,
    #[command(subcommand)]
    pub command: KmsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum KmsCommand {
    /// Schedule a key's deletion (7–30 days, 30 by default), listing the secrets that name it:
    /// when the waiting period ends, everything encrypted under the key is unreadable for good.
    ScheduleKeyDeletion {
        /// Key id, key ARN, alias name or alias ARN.
        #[arg(long)]
        key_id: String,
        /// Days before the key is destroyed (7–30).
        #[arg(long)]
        pending_window_in_days: Option<u32>,
        #[command(flatten)]
        format: Format,
    },
    /// Stop a scheduled deletion; the key comes back disabled (enable it with
    /// `aws kms enable-key`).
    CancelKeyDeletion {
        /// Key id, key ARN, alias name or alias ARN.
        #[arg(long)]
        key_id: String,
        #[command(flatten)]
        format: Format,
    },
}

/// What `schedule-key-deletion --output json` prints.
#[derive(Debug, Serialize)]
struct Scheduled {
    key_id: String,
    key_arn: String,
    key_state: String,
    deletion_date: Option<Value>,
    pending_window_in_days: Option<Value>,
    /// Names of the secrets in this region whose `KmsKeyId` names the key.
    secrets_under_key: Vec<String>,
    warning: String,
}

const WARNING: &str = "When the waiting period ends, the key material is destroyed: every \
secret version and ciphertext encrypted under this key becomes unreadable for good, and \
nothing can bring it back. Move secrets to another key (update-secret --kms-key-id) before \
then, or cancel with `tresor kms cancel-key-deletion`.";

/// Runs one `tresor kms` command. The error is the whole line to print on stderr.
pub fn run(args: KmsArgs) -> Result<(), String> {
    let format = match &args.command {
        KmsCommand::ScheduleKeyDeletion { format, .. }
        | KmsCommand::CancelKeyDeletion { format, .. } => *format,
    };
    let endpoint = args.options.endpoint.clone();
    admin_api::run(&args.options, format, KMS, |api| async move {
        match args.command {
            KmsCommand::ScheduleKeyDeletion {
                key_id,
                pending_window_in_days,
                ..
            } => schedule(&api, endpoint.as_deref(), &key_id, pending_window_in_days).await,
            KmsCommand::CancelKeyDeletion { key_id, .. } => {
                let answer = api
                    .call("CancelKeyDeletion", json!({"KeyId": key_id}))
                    .await?;
                let arn = text(&answer, "KeyId");
                api.print(&json!({"key_id": arn, "key_state": "Disabled"}), || {
                    format!(
                        "Deletion of {arn} cancelled. The key is disabled: enable it with \
                             `aws kms enable-key --key-id {arn}` before using it again.\n"
                    )
                })
            }
        }
    })
}

fn text(v: &Value, member: &str) -> String {
    v.get(member)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

async fn schedule(
    api: &AdminApi,
    endpoint: Option<&str>,
    key_id: &str,
    days: Option<u32>,
) -> Result<(), CallError> {
    let described = api.call("DescribeKey", json!({"KeyId": key_id})).await?;
    let meta = described.get("KeyMetadata").cloned().unwrap_or(Value::Null);
    let (id, arn) = (text(&meta, "KeyId"), text(&meta, "Arn"));
    let names = key_names(api, &id, &arn).await?;
    let secrets = secrets_naming(endpoint, &names).await?;
    let answer = api
        .call(
            "ScheduleKeyDeletion",
            json!({"KeyId": id, "PendingWindowInDays": days}),
        )
        .await?;
    let scheduled = Scheduled {
        key_id: id,
        key_arn: arn.clone(),
        key_state: text(&answer, "KeyState"),
        deletion_date: answer.get("DeletionDate").cloned(),
        pending_window_in_days: answer.get("PendingWindowInDays").cloned(),
        secrets_under_key: secrets,
        warning: WARNING.to_owned(),
    };
    api.print(&scheduled, || render(&scheduled))
}

fn render(s: &Scheduled) -> String {
    let when = match &s.deletion_date {
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs as i64).ok())
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| n.to_string()),
        _ => "the end of its waiting period".to_owned(),
    };
    let mut out = format!(
        "Key {} is pending deletion; it is destroyed on {when}.\n",
        s.key_arn
    );
    out.push_str(&format!("WARNING: {WARNING}\n"));
    if s.secrets_under_key.is_empty() {
        out.push_str("No secret in this region names this key as its KmsKeyId.\n");
    } else {
        out.push_str(&format!(
            "{} secret(s) in this region name this key as their KmsKeyId:\n",
            s.secrets_under_key.len()
        ));
        for name in &s.secrets_under_key {
            out.push_str(&format!("  {name}\n"));
        }
    }
    out
}

/// Every way a secret's `KmsKeyId` may name the key: its id, its ARN, its aliases by name and
/// by ARN.
async fn key_names(api: &AdminApi, id: &str, arn: &str) -> Result<Vec<String>, CallError> {
    let mut names = vec![id.to_owned(), arn.to_owned()];
    let prefix = arn.split(":key/").next().unwrap_or_default();
    let mut marker: Option<String> = None;
    loop {
        let page = api
            .call("ListAliases", json!({"KeyId": id, "Marker": marker}))
            .await?;
        for alias in page
            .get("Aliases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = text(alias, "AliasName");
            names.push(format!("{prefix}:{name}"));
            names.push(name);
        }
        marker = page
            .get("NextMarker")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if marker.is_none() {
            return Ok(names);
        }
    }
}

/// Names of the secrets (deleted ones included) whose `KmsKeyId` is one of `names`.
async fn secrets_naming(
    endpoint: Option<&str>,
    names: &[String],
) -> Result<Vec<String>, CallError> {
    let connection = Connection::from_env(endpoint, |name| std::env::var(name).ok())?;
    let sm = Client::new(connection, "secretsmanager")?;
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut request = json!({"MaxResults": 100, "IncludePlannedDeletion": true});
        if let Some(t) = &token {
            request["NextToken"] = json!(t);
        }
        let page = sm.call("secretsmanager.ListSecrets", &request).await?;
        for secret in page
            .get("SecretList")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = text(secret, "KmsKeyId");
            if names.contains(&key) {
                found.push(text(secret, "Name"));
            }
        }
        token = page
            .get("NextToken")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if token.is_none() {
            return Ok(found);
        }
    }
}
