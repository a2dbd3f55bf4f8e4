//! Running what the core claimed: a rotation's steps, one after the other, each reported back
//! (the rotator's log, the renewed lease) before the next; or the revocation of provider keys
//! whose grace period ended.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tresor_core::rotation::rotators::ResolvedRotator;
use tresor_core::rotation::run::{Claim, Claimed, Finish, RotatorCredentials, StepLog};
use tresor_core::Core;
use tresor_types::{Region, Timestamp};

use crate::acting::{CoreApi, Dispatch};
use crate::builtin::{Builtin, ManualConfig, OpenAiConfig, OpenRouterConfig};
use crate::command::CommandSpec;
use crate::http::{Client, Clients};
use crate::rotator::{Credentials, Environment, Outcome, Step, StepEvent, StepReport};
use crate::scheduler::Clock;
use crate::webhook::WebhookSpec;

/// What every rotation of this server shares.
pub struct Engine {
    pub core: Arc<Core>,
    /// This node's name in leases.
    pub node: String,
    /// Where rotators reach this server (`AWS_ENDPOINT_URL`); the region is each secret's.
    pub endpoint_url: String,
    pub ca_bundle: Option<std::path::PathBuf>,
    pub dispatch: Dispatch,
    pub clients: Clients,
    pub clock: Arc<dyn Clock>,
}

/// How a rotator runs, built from its registration.
enum Runner {
    Command(CommandSpec),
    Webhook(WebhookSpec),
    Builtin(Builtin),
}

fn runner(rotator: &ResolvedRotator) -> Result<Runner, String> {
    let c = &rotator.config;
    let grace = Duration::from_secs(c.grace_period_seconds.max(0) as u64);
    let base = c.base_url.clone().unwrap_or_default();
    let admin = c.admin_secret_id.clone();
    Ok(match rotator.record.kind.as_str() {
        "command" => Runner::Command(CommandSpec {
            command: c.command.clone().unwrap_or_default(),
            working_dir: c.working_directory.clone().map(Into::into),
        }),
        "webhook" => Runner::Webhook(WebhookSpec {
            url: c.url.clone().unwrap_or_default(),
            signing_secret: rotator
                .signing_secret
                .clone()
                .ok_or("the webhook has no signing key")?,
            pass_credentials: c.pass_credentials,
        }),
        "openai" => Runner::Builtin(Builtin::OpenAi(OpenAiConfig {
            base_url: base,
            admin_secret_id: admin.unwrap_or_default(),
            project_id: c.project_id.clone().unwrap_or_default(),
            grace_period: grace,
        })),
        "openrouter" => Runner::Builtin(Builtin::OpenRouter(OpenRouterConfig {
            base_url: base,
            admin_secret_id: admin.unwrap_or_default(),
            grace_period: grace,
        })),
        "manual" => Runner::Builtin(Builtin::Manual(ManualConfig {
            provider: c.provider.clone().unwrap_or_else(|| "anthropic".to_owned()),
            base_url: base,
            admin_secret_id: admin,
            grace_period: grace,
        })),
        other => return Err(format!("unknown rotator type {other}")),
    })
}

fn credentials(c: &RotatorCredentials) -> Credentials {
    Credentials {
        access_key_id: c.access_key_id.clone(),
        secret_access_key: c.secret_access_key.clone(),
        session_token: c.session_token.clone(),
        expiration: c.expiration,
    }
}

fn failed(summary: String) -> StepReport {
    StepReport {
        outcome: Outcome::Failed,
        summary,
        stdout: Vec::new(),
        stderr: Vec::new(),
        duration: Duration::ZERO,
        revoke_later: None,
    }
}

impl Engine {
    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Run a blocking core call off the async workers.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Core) -> T + Send + 'static,
    ) -> Option<T> {
        let core = self.core.clone();
        tokio::task::spawn_blocking(move || f(&core)).await.ok()
    }

    fn client(&self) -> Result<Client, String> {
        self.clients.for_route(None).map_err(|e| e.to_string())
    }

    /// Run what was claimed to its end.
    pub async fn run(&self, claimed: Claimed) {
        match claimed {
            Claimed::Rotation(claim) => self.rotate(Arc::from(claim)).await,
            Claimed::Revocations {
                secret_arn,
                account,
                revocations,
            } => {
                for (revocation, rotator) in revocations {
                    self.revoke(&secret_arn, &account, revocation, rotator)
                        .await;
                }
            }
        }
    }

    async fn rotate(&self, claim: Arc<Claim>) {
        let runner = match runner(&claim.rotator) {
            Ok(Runner::Command(_)) if !self.core.command_rotators_allowed() => {
                let summary = "command rotators are disabled on this server".to_owned();
                return self.finish(&claim, Finish::Failed { summary }).await;
            }
            Ok(r) => r,
            Err(summary) => return self.finish(&claim, Finish::Failed { summary }).await,
        };
        let now = self.now();
        let issued = {
            let claim = claim.clone();
            self.blocking(move |core| core.rotator_credentials(&claim.rotator, &claim.token, now))
                .await
        };
        let issued = match issued {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                let summary = format!("no credentials for the rotator's role: {}", e.message());
                return self.finish(&claim, Finish::Failed { summary }).await;
            }
            None => return,
        };
        let creds = credentials(&issued);
        let region = claim.region.clone();
        let api = match &runner {
            Runner::Builtin(_) => {
                let principal = {
                    let issued = RotatorCredentials {
                        access_key_id: issued.access_key_id.clone(),
                        secret_access_key: issued.secret_access_key.clone(),
                        session_token: issued.session_token.clone(),
                        expiration: issued.expiration,
                    };
                    self.blocking(move |core| core.rotator_principal(&issued))
                        .await
                };
                match (principal, Region::parse(&region)) {
                    (Some(Ok(principal)), Ok(region)) => Some(CoreApi {
                        core: self.core.clone(),
                        dispatch: self.dispatch,
                        principal,
                        region,
                        user_agent: format!("tresor-rotation/{}", claim.rotator.record.kind),
                    }),
                    _ => {
                        let summary = "the rotator's session could not be used".to_owned();
                        return self.finish(&claim, Finish::Failed { summary }).await;
                    }
                }
            }
            _ => None,
        };
        let env = Environment {
            endpoint_url: self.endpoint_url.clone(),
            region: region.clone(),
            ca_bundle: self.ca_bundle.clone(),
        };
        let steps: &[Step] = if claim.test_only {
            &[Step::TestSecret]
        } else {
            &Step::ALL
        };
        let mut revoke_later = None;
        for &step in steps {
            let event = StepEvent {
                step,
                secret_id: claim.secret_arn.clone(),
                client_request_token: claim.token.clone(),
                rotation_token: claim.rotation_token.clone(),
            };
            let started = Instant::now();
            let mut report = match &runner {
                Runner::Command(spec) => {
                    crate::command::run(spec, &event, &creds, &env, claim.step_timeout).await
                }
                Runner::Webhook(spec) => match self.client() {
                    Ok(client) => {
                        let pass = spec.pass_credentials.then_some(&creds);
                        crate::webhook::call(
                            &client,
                            spec,
                            &event,
                            pass,
                            &region,
                            claim.step_timeout,
                        )
                        .await
                    }
                    Err(e) => failed(format!("no HTTPS client: {e}")),
                },
                Runner::Builtin(builtin) => match (self.client(), &api) {
                    (Ok(client), Some(api)) => {
                        match tokio::time::timeout(
                            claim.step_timeout,
                            builtin.step(api, &client, &event),
                        )
                        .await
                        {
                            Ok(report) => report,
                            Err(_) => StepReport {
                                outcome: Outcome::Timeout,
                                summary: format!(
                                    "timed out after {} s",
                                    claim.step_timeout.as_secs()
                                ),
                                ..failed(String::new())
                            },
                        }
                    }
                    (Err(e), _) => failed(format!("no HTTPS client: {e}")),
                    (_, None) => failed("no session for the rotator".to_owned()),
                },
            };
            if report.duration.is_zero() {
                report.duration = started.elapsed();
            }
            if report.revoke_later.is_some() {
                revoke_later = report.revoke_later.take();
            }
            let log = StepLog {
                step: step.as_str().to_owned(),
                outcome: report.outcome.as_str().to_owned(),
                summary: report.summary.clone(),
                stdout: report.stdout,
                stderr: report.stderr,
                duration: report.duration,
            };
            let now = self.now();
            let held = {
                let claim = claim.clone();
                self.blocking(move |core| core.rotation_step(&claim, log, now))
                    .await
            };
            match held {
                Some(Ok(true)) => {}
                Some(Ok(false)) => {
                    tracing::info!(secret = %claim.secret_arn, "rotation stopped: cancelled, abandoned or taken over");
                    return;
                }
                Some(Err(e)) => {
                    tracing::warn!(secret = %claim.secret_arn, error = %e.aws_code(), "rotation step not recorded");
                    return;
                }
                None => return,
            }
            match report.outcome {
                Outcome::Ok => {}
                Outcome::Waiting => return self.finish(&claim, Finish::Waiting).await,
                Outcome::Failed | Outcome::Timeout => {
                    let summary = format!("{}: {}", step.as_str(), report.summary);
                    return self.finish(&claim, Finish::Failed { summary }).await;
                }
            }
        }
        self.finish(&claim, Finish::Succeeded { revoke_later })
            .await;
    }

    async fn finish(&self, claim: &Arc<Claim>, finish: Finish) {
        let now = self.now();
        let claim = claim.clone();
        let arn = claim.secret_arn.clone();
        match self
            .blocking(move |core| core.finish_rotation(&claim, finish, now))
            .await
        {
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tracing::warn!(secret = %arn, error = %e.aws_code(), "rotation outcome not recorded")
            }
            None => {}
        }
    }

    async fn revoke(
        &self,
        secret_arn: &str,
        account: &str,
        revocation: tresor_core::rotation::state::Revocation,
        rotator: ResolvedRotator,
    ) {
        let now = self.now();
        let outcome: Result<StepReport, String> = async {
            let Runner::Builtin(builtin) = runner(&rotator)? else {
                return Err("only built-in rotators revoke keys".to_owned());
            };
            let rotator = Arc::new(rotator);
            let issued = {
                let rotator = rotator.clone();
                self.blocking(move |core| core.rotator_credentials(&rotator, "revoke", now))
                    .await
                    .ok_or("cancelled")?
                    .map_err(|e| e.message())?
            };
            let principal = self
                .blocking(move |core| core.rotator_principal(&issued))
                .await
                .ok_or("cancelled")?
                .map_err(|e| e.message())?;
            let region = Region::parse(rotator.record.scope.region.as_str())
                .map_err(|_| "bad region".to_owned())?;
            let api = CoreApi {
                core: self.core.clone(),
                dispatch: self.dispatch,
                principal,
                region,
                user_agent: format!("tresor-rotation/{}", rotator.record.kind),
            };
            let client = self.client()?;
            Ok(builtin.revoke(&api, &client, &revocation.key_id).await)
        }
        .await;
        let report = outcome.unwrap_or_else(failed);
        let ok = report.outcome == Outcome::Ok;
        let summary = report.summary.clone();
        let log = StepLog {
            step: "revoke".to_owned(),
            outcome: report.outcome.as_str().to_owned(),
            summary: report.summary,
            stdout: report.stdout,
            stderr: report.stderr,
            duration: report.duration,
        };
        let (arn, acct, rotator_arn) = (
            secret_arn.to_owned(),
            account.to_owned(),
            revocation.rotator_arn.clone(),
        );
        let _ = self
            .blocking(move |core| core.log_revocation(&arn, &acct, &rotator_arn, log, now))
            .await;
        if !ok {
            let arn = secret_arn.to_owned();
            let _ = self
                .blocking(move |core| core.revocation_failed(&arn, revocation, summary, now))
                .await;
        }
    }
}
