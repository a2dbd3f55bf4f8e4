//! An in-memory [`SecretsApi`]: secrets with versions, staging labels and values, behaving as
//! Secrets Manager does for the four operations a built-in rotator uses.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::Mutex;
use tresor_types::SecretBytes;

use crate::builtin::{ApiError, BoxFuture, SecretsApi};

#[derive(Default, Clone)]
struct Version {
    stages: Vec<String>,
    value: Option<Vec<u8>>,
}

#[derive(Default)]
pub struct FakeSecrets {
    secrets: Mutex<BTreeMap<String, BTreeMap<String, Version>>>,
    /// PutSecretValue answers an error while set.
    pub fail_put: AtomicBool,
    /// PutSecretValue stores the value, then answers an error (its answer was lost).
    pub lose_put_answer: AtomicBool,
    /// After a failed PutSecretValue, GetSecretValue answers an error too.
    pub unreadable_after_failed_put: AtomicBool,
    unreadable: AtomicBool,
    pub puts: AtomicUsize,
    pub promotes: AtomicUsize,
}

fn not_found() -> ApiError {
    ApiError {
        code: "ResourceNotFoundException".into(),
        message: "Secrets Manager can't find the specified secret.".into(),
    }
}

impl FakeSecrets {
    pub fn new() -> Self {
        Self::default()
    }

    /// A version with `stages` and `value`.
    pub fn version(&self, secret: &str, version: &str, stages: &[&str], value: Option<&str>) {
        let mut secrets = self.secrets.lock();
        let versions = secrets.entry(secret.to_owned()).or_default();
        for stage in stages {
            for v in versions.values_mut() {
                v.stages.retain(|s| s != stage);
            }
        }
        versions.insert(
            version.to_owned(),
            Version {
                stages: stages.iter().map(|s| (*s).to_owned()).collect(),
                value: value.map(|v| v.as_bytes().to_vec()),
            },
        );
    }

    /// What the server does before calling a rotator: the token's version, `AWSPENDING`, no value.
    pub fn begin_rotation(&self, secret: &str, token: &str) {
        self.version(secret, token, &["AWSPENDING"], None);
    }

    /// The version holding `stage`.
    pub fn version_with(&self, secret: &str, stage: &str) -> Option<String> {
        let secrets = self.secrets.lock();
        secrets
            .get(secret)?
            .iter()
            .find(|(_, v)| v.stages.iter().any(|s| s == stage))
            .map(|(id, _)| id.clone())
    }

    /// A version's value, as text.
    pub fn text(&self, secret: &str, version: &str) -> Option<String> {
        let secrets = self.secrets.lock();
        let value = secrets.get(secret)?.get(version)?.value.clone()?;
        String::from_utf8(value).ok()
    }

    fn find(&self, secret: &str, version: Option<&str>, stage: Option<&str>) -> Option<Version> {
        let secrets = self.secrets.lock();
        let versions = secrets.get(secret)?;
        let found = match (version, stage) {
            (Some(id), _) => versions.get(id)?.clone(),
            (None, Some(stage)) => versions
                .values()
                .find(|v| v.stages.iter().any(|s| s == stage))?
                .clone(),
            (None, None) => versions
                .values()
                .find(|v| v.stages.iter().any(|s| s == "AWSCURRENT"))?
                .clone(),
        };
        match stage {
            Some(stage) if !found.stages.iter().any(|s| s == stage) => None,
            _ => Some(found),
        }
    }
}

impl SecretsApi for FakeSecrets {
    fn stages<'a>(
        &'a self,
        secret_id: &'a str,
    ) -> BoxFuture<'a, Result<BTreeMap<String, Vec<String>>, ApiError>> {
        Box::pin(async move {
            let secrets = self.secrets.lock();
            let versions = secrets.get(secret_id).ok_or_else(not_found)?;
            Ok(versions
                .iter()
                .filter(|(_, v)| !v.stages.is_empty())
                .map(|(id, v)| (id.clone(), v.stages.clone()))
                .collect())
        })
    }

    fn value<'a>(
        &'a self,
        secret_id: &'a str,
        version_id: Option<&'a str>,
        stage: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<SecretBytes>, ApiError>> {
        Box::pin(async move {
            if self.unreadable.load(Ordering::SeqCst) {
                return Err(ApiError {
                    code: "InternalServiceError".into(),
                    message: "the store is unavailable".into(),
                });
            }
            if !self.secrets.lock().contains_key(secret_id) {
                return Err(not_found());
            }
            Ok(self
                .find(secret_id, version_id, stage)
                .and_then(|v| v.value)
                .map(SecretBytes::new))
        })
    }

    fn put_pending<'a>(
        &'a self,
        secret_id: &'a str,
        token: &'a str,
        value: SecretBytes,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let unavailable = ApiError {
                code: "InternalServiceError".into(),
                message: "the store is unavailable".into(),
            };
            if self.fail_put.load(Ordering::SeqCst) {
                if self.unreadable_after_failed_put.load(Ordering::SeqCst) {
                    self.unreadable.store(true, Ordering::SeqCst);
                }
                return Err(ApiError {
                    code: "InternalServiceError".into(),
                    message: "the store is unavailable".into(),
                });
            }
            let mut secrets = self.secrets.lock();
            let versions = secrets.get_mut(secret_id).ok_or_else(not_found)?;
            if let Some(Version {
                value: Some(old), ..
            }) = versions.get(token)
            {
                if old.as_slice() == value.expose() {
                    return Ok(());
                }
                return Err(ApiError {
                    code: "ResourceExistsException".into(),
                    message: "A resource with the ID you requested already exists.".into(),
                });
            }
            for v in versions.values_mut() {
                v.stages.retain(|s| s != "AWSPENDING");
            }
            let version = versions.entry(token.to_owned()).or_default();
            version.stages.push("AWSPENDING".into());
            version.value = Some(value.expose().to_vec());
            self.puts.fetch_add(1, Ordering::SeqCst);
            if self.lose_put_answer.load(Ordering::SeqCst) {
                return Err(unavailable);
            }
            Ok(())
        })
    }

    fn promote<'a>(
        &'a self,
        secret_id: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let mut secrets = self.secrets.lock();
            let versions = secrets.get_mut(secret_id).ok_or_else(not_found)?;
            if !versions.contains_key(token) {
                return Err(ApiError {
                    code: "InvalidParameterException".into(),
                    message: "The version to move the label to doesn't exist.".into(),
                });
            }
            for (id, v) in versions.iter_mut() {
                v.stages.retain(|s| s != "AWSPREVIOUS");
                if id != token && v.stages.iter().any(|s| s == "AWSCURRENT") {
                    v.stages.retain(|s| s != "AWSCURRENT");
                    v.stages.push("AWSPREVIOUS".into());
                }
            }
            if let Some(v) = versions.get_mut(token) {
                if !v.stages.iter().any(|s| s == "AWSCURRENT") {
                    v.stages.push("AWSCURRENT".into());
                }
            }
            self.promotes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}
