//! `tresor rotator …`: one rotator call per command. `create` is the one command that prints
//! a webhook's signing secret, once.

use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::args::{RotatorCommand, RotatorCreateArgs, RotatorLogsArgs, RotatorType};
use super::shapes::{CreatedRotator, LogEntry, Rotator};
use super::{render, RotationCli};
use crate::admin_api::answer::member;
use crate::client::CallError;

impl RotationCli {
    pub(super) async fn rotator(&self, command: RotatorCommand) -> Result<(), CallError> {
        match command {
            RotatorCommand::Create(a) => {
                // `run` has refused an unknown kind as a usage error before connecting.
                let kind = a.kind().map_err(CallError::Config)?;
                let answer = self
                    .api
                    .call("CreateRotator", create_request(&a, kind))
                    .await?;
                self.print_created(answer)
            }
            RotatorCommand::Get(a) => {
                let mut answer = self
                    .api
                    .call("GetRotator", json!({ "Name": a.name }))
                    .await?;
                let rotator: Rotator = member(&mut answer, "Rotator")?;
                self.api.print(&rotator, || render::rotator(&rotator))
            }
            RotatorCommand::List { .. } => {
                let mut answer = self.api.call("ListRotators", json!({})).await?;
                let rotators: Vec<Rotator> = member(&mut answer, "Rotators")?;
                self.api.print(&rotators, || render::rotators(&rotators))
            }
            RotatorCommand::Delete(a) => {
                self.api
                    .call("DeleteRotator", json!({ "Name": a.name }))
                    .await?;
                self.api
                    .print(&json!({ "name": a.name, "deleted": true }), || {
                        format!("Deleted rotator {}.\n", a.name)
                    })
            }
            RotatorCommand::Logs(a) => {
                let mut answer = self.api.call("GetRotatorLogs", logs_request(&a)).await?;
                let logs: Vec<LogEntry> = member(&mut answer, "Logs")?;
                self.api.print(&logs, || render::logs(&logs))
            }
        }
    }

    fn print_created(&self, mut answer: Value) -> Result<(), CallError> {
        // Why zeroized: whoever holds the signing secret can forge rotation events; once
        // printed, nothing in this process needs it.
        let secret: Option<Zeroizing<String>> =
            member::<Option<String>>(&mut answer, "SigningSecret")?.map(Zeroizing::new);
        let rotator: Rotator = member(&mut answer, "Rotator")?;
        let created = CreatedRotator {
            rotator: &rotator,
            signing_secret: secret.as_deref().map(String::as_str),
        };
        self.api.print(&created, || {
            render::created(&rotator, secret.as_deref().map(String::as_str))
        })
    }
}

/// `CreateRotator`'s body: the options given, the type told or implied.
fn create_request(a: &RotatorCreateArgs, kind: RotatorType) -> Value {
    json!({
        "Name": a.name,
        "Type": kind.wire(),
        "RoleArn": a.role_arn,
        "Description": a.description,
        "Command": a.command,
        "WorkingDirectory": a.working_directory,
        "Url": a.url,
        // Only sent when asked: the server's default is not to pass them.
        "PassCredentials": a.pass_credentials.then_some(true),
        "AdminSecretId": a.admin_secret_id,
        "ProjectId": a.project_id,
        "Provider": a.provider.map(|p| p.wire()),
        "BaseUrl": a.base_url,
        "GracePeriodSeconds": a.grace_period_seconds,
        "StepTimeoutSeconds": a.step_timeout_seconds,
    })
}

fn logs_request(a: &RotatorLogsArgs) -> Value {
    json!({
        "Name": a.name,
        "SecretId": a.secret_id,
        "MaxResults": a.max_results,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::admin_api::Format;
    use tresor_core::rotation as dto;

    /// The bodies are read by the server's own request DTOs: a misspelled member would be
    /// dropped there without an error, so every option is checked to arrive.
    #[test]
    fn the_server_reads_every_option_of_create_and_logs() {
        let args = RotatorCreateArgs {
            name: "r".into(),
            role_arn: "arn:aws:iam::000000000000:role/rotator".into(),
            command: Some("python3 rotate.py".into()),
            working_directory: Some("/srv".into()),
            url: Some("https://h/".into()),
            pass_credentials: true,
            kind: None,
            admin_secret_id: Some("admin".into()),
            project_id: Some("proj_1".into()),
            provider: Some(super::super::args::ManualProvider::Anthropic),
            base_url: Some("http://127.0.0.1:9/v1".into()),
            grace_period_seconds: Some(60),
            step_timeout_seconds: Some(30),
            description: Some("d".into()),
            format: Format { output: None },
        };
        let body = create_request(&args, RotatorType::Manual);
        let read: dto::CreateRotatorRequest = serde_json::from_value(body).unwrap();
        assert_eq!(read.name.as_deref(), Some("r"));
        assert_eq!(read.kind.as_deref(), Some("manual"));
        assert_eq!(read.role_arn.as_deref(), Some(args.role_arn.as_str()));
        assert_eq!(read.description.as_deref(), Some("d"));
        assert_eq!(read.command.as_deref(), Some("python3 rotate.py"));
        assert_eq!(read.working_directory.as_deref(), Some("/srv"));
        assert_eq!(read.url.as_deref(), Some("https://h/"));
        assert_eq!(read.pass_credentials, Some(true));
        assert_eq!(read.admin_secret_id.as_deref(), Some("admin"));
        assert_eq!(read.project_id.as_deref(), Some("proj_1"));
        assert_eq!(read.provider.as_deref(), Some("anthropic"));
        assert_eq!(read.base_url.as_deref(), Some("http://127.0.0.1:9/v1"));
        assert_eq!(read.grace_period_seconds, Some(60));
        assert_eq!(read.step_timeout_seconds, Some(30));

        let logs = RotatorLogsArgs {
            name: "r".into(),
            secret_id: Some("db".into()),
            max_results: Some(7),
            format: Format { output: None },
        };
        let read: dto::GetRotatorLogsRequest = serde_json::from_value(logs_request(&logs)).unwrap();
        assert_eq!(read.name.as_deref(), Some("r"));
        assert_eq!(read.secret_id.as_deref(), Some("db"));
        assert_eq!(read.max_results, Some(7));
    }
}
