//! A built-in rotator's Secrets Manager calls, made as its role: each call goes through the
//! core's pipeline ([`Core::perform`]: authorization by the role's policies, the audit
//! record) with the operation dispatch the server uses, without a signed HTTP request.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};
use tresor_core::secretsmanager::Operation;
use tresor_core::{Core, CoreError, Principal, RequestContext, RequestMeta};
use tresor_types::{Region, SecretBytes, Timestamp};

use crate::builtin::{ApiError, BoxFuture, SecretsApi};

/// How the server runs one Secrets Manager operation on a JSON body (its dispatch).
pub type Dispatch = fn(&Core, &RequestContext, Operation, &[u8]) -> Result<Vec<u8>, CoreError>;

/// Secrets Manager as a rotator's role sees it.
pub struct CoreApi {
    pub core: Arc<Core>,
    pub dispatch: Dispatch,
    pub principal: Principal,
    pub region: Region,
    /// `tresor-rotation/<rotator kind>`, the records' user agent.
    pub user_agent: String,
}

fn api_error(e: &CoreError) -> ApiError {
    ApiError {
        code: e.aws_code().to_owned(),
        message: e.message(),
    }
}

impl CoreApi {
    async fn call(&self, op: Operation, request: Value) -> Result<Value, ApiError> {
        let core = self.core.clone();
        let dispatch = self.dispatch;
        let ctx = RequestContext {
            principal: self.principal.clone(),
            region: self.region.clone(),
            request_id: uuid_like(),
            source_ip: None,
            user_agent: Some(self.user_agent.clone()),
            secure_transport: true,
            now: Timestamp::now(),
        };
        let user_agent = self.user_agent.clone();
        let performed = tokio::task::spawn_blocking(move || {
            let body = serde_json::to_vec(&request).unwrap_or_default();
            let meta = RequestMeta {
                request_id: &ctx.request_id,
                source_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                user_agent: Some(&user_agent),
                claimed_access_key_id: Some(ctx.principal.access_key_id.clone()),
                claimed_region: Some(ctx.region.as_str().to_owned()),
                body_len: body.len(),
                time: ctx.now,
                started: std::time::Instant::now(),
            };
            core.perform(
                &meta,
                &ctx,
                tresor_core::Operation::SecretsManager(op),
                request,
                || dispatch(&core, &ctx, op, &body),
                |out: &Vec<u8>| {
                    // A write's record keeps its response elements (redacted), as the
                    // server's do.
                    serde_json::from_slice(out).ok()
                },
            )
        })
        .await
        .map_err(|_| ApiError {
            code: "InternalServiceError".to_owned(),
            message: "the call did not finish".to_owned(),
        })?;
        let bytes = performed.answer().await.map_err(|e| api_error(&e))?;
        serde_json::from_slice(&bytes).map_err(|_| ApiError {
            code: "InternalServiceError".to_owned(),
            message: "unreadable answer".to_owned(),
        })
    }
}

fn uuid_like() -> String {
    let bytes = tresor_crypto::random_bytes(16).unwrap_or_else(|_| vec![0; 16]);
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl SecretsApi for CoreApi {
    fn stages<'a>(
        &'a self,
        secret_id: &'a str,
    ) -> BoxFuture<'a, Result<BTreeMap<String, Vec<String>>, ApiError>> {
        Box::pin(async move {
            let out = self
                .call(Operation::DescribeSecret, json!({ "SecretId": secret_id }))
                .await?;
            Ok(out
                .get("VersionIdsToStages")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default())
        })
    }

    fn value<'a>(
        &'a self,
        secret_id: &'a str,
        version_id: Option<&'a str>,
        stage: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<SecretBytes>, ApiError>> {
        Box::pin(async move {
            let mut request = json!({ "SecretId": secret_id });
            if let Some(v) = version_id {
                request["VersionId"] = json!(v);
            }
            if let Some(s) = stage {
                request["VersionStage"] = json!(s);
            }
            match self.call(Operation::GetSecretValue, request).await {
                Ok(out) => {
                    let text = zeroize::Zeroizing::new(
                        out.get("SecretString")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    );
                    Ok(Some(SecretBytes::from_slice(text.as_bytes())))
                }
                Err(e) if e.code == "ResourceNotFoundException" => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn put_pending<'a>(
        &'a self,
        secret_id: &'a str,
        token: &'a str,
        value: SecretBytes,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let text =
                zeroize::Zeroizing::new(String::from_utf8_lossy(value.expose()).into_owned());
            let request = json!({
                "SecretId": secret_id,
                "ClientRequestToken": token,
                "SecretString": text.as_str(),
                "VersionStages": ["AWSPENDING"],
            });
            self.call(Operation::PutSecretValue, request)
                .await
                .map(|_| ())
        })
    }

    fn promote<'a>(
        &'a self,
        secret_id: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let stages = self.stages(secret_id).await?;
            let current = stages
                .iter()
                .find(|(_, labels)| labels.iter().any(|l| l == "AWSCURRENT"))
                .map(|(id, _)| id.clone());
            let mut request = json!({
                "SecretId": secret_id,
                "VersionStage": "AWSCURRENT",
                "MoveToVersionId": token,
            });
            if let Some(current) = current {
                if current == token {
                    return Ok(());
                }
                request["RemoveFromVersionId"] = json!(current);
            }
            self.call(Operation::UpdateSecretVersionStage, request)
                .await
                .map(|_| ())
        })
    }
}
