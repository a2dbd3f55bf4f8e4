//! Every operation Tresor serves, taken from the lists in the code (`Operation::ALL` of Secrets
//! Manager, IAM and STS, and CloudTrail's), called against the real binary by the real Rust AWS
//! SDKs (or, where the pinned SDKs have no such operation, a request signed by the independent
//! `aws-sigv4` crate):
//!
//! - a caller without the permission is refused as AWS refuses (`AccessDeniedException` from
//!   the JSON services, `AccessDenied` from IAM and STS), and the state read back before and
//!   after the refusal is the same;
//! - a caller whose only policy allows exactly that action on that resource gets AWS's answer,
//!   written down in [`case`] (success, or the not-available refusal of rotation and
//!   replication, `InvalidRequestException`, which every one of those operations declares in
//!   the botocore model);
//! - every one of those calls leaves exactly one audit record, found by its request id, with
//!   the operation's name, source, read-only flag and error code as AWS writes them, and the
//!   caller's identity.
//!
//! [`case`] is an exhaustive `match` over the operations: a new operation does not compile until
//! it has its case here. One server serves the whole file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use aws_sdk_iam::types::Tag as IamTag;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::RequestId;
use aws_sdk_secretsmanager::types::{ReplicaRegionType, Tag};
use common::signed::{self, form, Params, CLOUDTRAIL, IAM, SECRETS_MANAGER, STS};
use common::{iam_client, sdk_client, unique, Creds, ServerOptions};
use serde_json::{json, Value};
use tresor_core::{iam, secretsmanager as sm, sts};

/// An operation of one of the services Tresor speaks.
#[derive(Debug, Clone, Copy)]
enum Op {
    SecretsManager(sm::Operation),
    Iam(iam::Operation),
    Sts(sts::Operation),
    CloudTrail(tresor_core::cloudtrail::Operation),
}

fn every_operation() -> Vec<Op> {
    let mut ops: Vec<Op> = sm::Operation::ALL.map(Op::SecretsManager).to_vec();
    ops.extend(iam::Operation::ALL.map(Op::Iam));
    ops.extend(sts::Operation::ALL.map(Op::Sts));
    ops.extend(tresor_core::cloudtrail::Operation::ALL.map(Op::CloudTrail));
    ops
}

/// What one call came back with.
#[derive(Debug)]
struct Outcome {
    request_id: String,
    /// The AWS error code; `None` for success.
    error: Option<String>,
}

fn outcome<T: RequestId, E: ProvideErrorMetadata + Debug>(r: Result<T, SdkError<E>>) -> Outcome {
    match r {
        Ok(out) => Outcome {
            request_id: out.request_id().expect("request id").to_owned(),
            error: None,
        },
        Err(SdkError::ServiceError(e)) => Outcome {
            request_id: e
                .raw()
                .headers()
                .get("x-amzn-requestid")
                .expect("request id of an error")
                .to_owned(),
            error: Some(e.err().code().expect("error code").to_owned()),
        },
        Err(e) => panic!("no answer from the service: {e:?}"),
    }
}

/// A caller: its SDK clients and its key, for the requests signed by hand.
struct Caller {
    sm: aws_sdk_secretsmanager::Client,
    iam: aws_sdk_iam::Client,
    creds: Creds,
    addr: SocketAddr,
    arn: String,
    user_name: Option<String>,
}

impl Caller {
    fn new(url: &str, addr: SocketAddr, creds: Creds, arn: String, user: Option<&str>) -> Self {
        Self {
            sm: sdk_client(url, &creds),
            iam: iam_client(url, &creds),
            creds,
            addr,
            arn,
            user_name: user.map(str::to_owned),
        }
    }

    fn raw(
        &self,
        service: (&str, signed::Protocol),
        operation: &str,
        p: &Params,
    ) -> signed::Answer {
        signed::call(self.addr, &self.creds, service, operation, p)
    }
}

type Call = Box<dyn Fn(&Caller) -> Pin<Box<dyn Future<Output = Outcome>>>>;

/// A call through the Secrets Manager SDK.
fn sm_call<F, Fut, T, E>(f: F) -> Call
where
    F: Fn(aws_sdk_secretsmanager::Client) -> Fut + 'static,
    Fut: Future<Output = Result<T, SdkError<E>>> + 'static,
    T: RequestId,
    E: ProvideErrorMetadata + Debug,
{
    Box::new(move |c| {
        let fut = f(c.sm.clone());
        Box::pin(async move { outcome(fut.await) })
    })
}

/// A call through the IAM SDK.
fn iam_call<F, Fut, T, E>(f: F) -> Call
where
    F: Fn(aws_sdk_iam::Client) -> Fut + 'static,
    Fut: Future<Output = Result<T, SdkError<E>>> + 'static,
    T: RequestId,
    E: ProvideErrorMetadata + Debug,
{
    Box::new(move |c| {
        let fut = f(c.iam.clone());
        Box::pin(async move { outcome(fut.await) })
    })
}

/// A request signed by hand.
fn raw_call(service: (&'static str, signed::Protocol), operation: &'static str, p: Params) -> Call {
    Box::new(move |c| {
        let a = c.raw(service, operation, &p);
        assert!(!a.request_id.is_empty(), "{operation}: no request id");
        let error = a.error_code();
        Box::pin(async move {
            Outcome {
                request_id: a.request_id,
                error,
            }
        })
    })
}

/// What authorizes an operation in AWS.
enum Permission {
    /// This action on this resource: without it the call is refused.
    Needed { action: String, resource: String },
    /// Nothing: AWS answers even a caller whose policy denies the action explicitly
    /// (`sts:GetCallerIdentity`).
    NotNeeded { action: String },
}

/// One operation's test, with AWS's answers written down.
struct Case {
    permission: Permission,
    call: Call,
    /// AWS's answer to a caller with exactly the permission: `None` is success.
    expected: Option<&'static str>,
    /// CloudTrail's `eventSource` and `readOnly` for this operation.
    source: &'static str,
    read_only: bool,
    /// Reads (as root) of the state the operation would change.
    watch: Vec<Read>,
}

/// A read of state, by root, as a raw answer.
struct Read {
    service: (&'static str, signed::Protocol),
    operation: &'static str,
    params: Params,
}

fn sm_read(operation: &'static str, params: Value) -> Read {
    Read {
        service: SECRETS_MANAGER,
        operation,
        params: Params::Json(params),
    }
}

fn iam_read(operation: &'static str, pairs: &[(&str, &str)]) -> Read {
    Read {
        service: IAM,
        operation,
        params: form(pairs),
    }
}

/// Everything a case may change that a read can show: every secret (with its tags, labels,
/// dates, deletion), user, role and customer managed policy, and in detail the resources the
/// case names.
fn state(root: &Caller, watch: &[Read]) -> Vec<String> {
    let global = [
        sm_read(
            "ListSecrets",
            json!({"IncludePlannedDeletion": true, "MaxResults": 100}),
        ),
        iam_read("ListUsers", &[("MaxItems", "1000")]),
        iam_read("ListRoles", &[("MaxItems", "1000")]),
        iam_read("ListPolicies", &[("Scope", "Local"), ("MaxItems", "1000")]),
    ];
    global
        .iter()
        .chain(watch)
        .map(|r| {
            let a = root.raw(r.service, r.operation, &r.params);
            assert_eq!(a.status, 200, "{}: {}", r.operation, a.body);
            assert!(
                !a.body.contains("NextToken") && !a.body.contains("<IsTruncated>true"),
                "{}: the world outgrew one page",
                r.operation
            );
            a.state()
        })
        .collect()
}

/// What the cases share: the account, and the root to set things up.
struct World {
    account: String,
    root: Caller,
}

impl World {
    fn secret_resource(&self, name: &str) -> String {
        format!(
            "arn:aws:secretsmanager:us-east-1:{}:secret:{name}-??????",
            self.account
        )
    }

    fn iam_arn(&self, kind: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:{kind}/{name}", self.account)
    }

    /// A secret with one version; its ARN and that version's id.
    async fn secret(&self) -> (String, String) {
        let out = self
            .root
            .sm
            .create_secret()
            .name(unique("every"))
            .secret_string("v0")
            .send()
            .await
            .expect("create secret");
        (
            out.arn().unwrap().to_owned(),
            out.version_id().unwrap().to_owned(),
        )
    }

    async fn user(&self) -> String {
        let name = unique("target");
        self.root
            .iam
            .create_user()
            .user_name(&name)
            .send()
            .await
            .expect("create user");
        name
    }

    async fn role(&self) -> String {
        let name = unique("role");
        self.root
            .iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(self.trust())
            .send()
            .await
            .expect("create role");
        name
    }

    /// A customer managed policy; its ARN.
    async fn policy(&self) -> String {
        let out = self
            .root
            .iam
            .create_policy()
            .policy_name(unique("managed"))
            .policy_document(allow("secretsmanager:ListSecrets", "*"))
            .send()
            .await
            .expect("create policy");
        out.policy().unwrap().arn().unwrap().to_owned()
    }

    /// A trust policy letting the account's identities (with `sts:AssumeRole`) assume a role.
    fn trust(&self) -> String {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", self.account)},
            "Action": "sts:AssumeRole"}]})
        .to_string()
    }

    /// A resource policy for a secret that names the account.
    fn resource_policy(&self) -> String {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", self.account)},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
        .to_string()
    }
}

fn allow(action: &str, resource: &str) -> String {
    policy("Allow", action, resource)
}

fn policy(effect: &str, action: &str, resource: &str) -> String {
    json!({"Version": "2012-10-17",
        "Statement": [{"Effect": effect, "Action": action, "Resource": resource}]})
    .to_string()
}

const SM: &str = "secretsmanager.amazonaws.com";
const IAM_SOURCE: &str = "iam.amazonaws.com";
const STS_SOURCE: &str = "sts.amazonaws.com";
const CLOUDTRAIL_SOURCE: &str = "cloudtrail.amazonaws.com";
/// Cross-account replication is not served: the refusal its operations declare in the model,
/// after authorization. RotateSecret on a secret without a rotator, and StopReplicationToReplica
/// on a secret that is not a replica, answer the same code.
const NOT_AVAILABLE: Option<&str> = Some("InvalidRequestException");

fn needed(action: &str, resource: &str) -> Permission {
    Permission::Needed {
        action: action.to_owned(),
        resource: resource.to_owned(),
    }
}

/// The case of each operation. No wildcard arm: a new operation needs a case to compile.
async fn case(op: Op, w: &World) -> Case {
    match op {
        Op::SecretsManager(o) => secrets_manager_case(o, w).await,
        Op::Iam(o) => iam_case(o, w).await,
        Op::Sts(o) => sts_case(o, w).await,
        Op::CloudTrail(o) => match o {
            tresor_core::cloudtrail::Operation::LookupEvents => Case {
                permission: needed("cloudtrail:LookupEvents", "*"),
                call: raw_call(
                    CLOUDTRAIL,
                    "LookupEvents",
                    Params::Json(json!({"MaxResults": 1})),
                ),
                expected: None,
                source: CLOUDTRAIL_SOURCE,
                read_only: true,
                watch: Vec::new(),
            },
        },
    }
}

async fn secrets_manager_case(o: sm::Operation, w: &World) -> Case {
    use sm::Operation as O;
    let (arn, version) = w.secret().await;
    let a = arn.clone();
    let action = format!("secretsmanager:{}", o.name());
    let on_secret = needed(&action, &arn);
    let describe = || sm_read("DescribeSecret", json!({"SecretId": arn}));
    let versions = || {
        sm_read(
            "ListSecretVersionIds",
            json!({"SecretId": arn, "IncludeDeprecated": true}),
        )
    };
    let resource_policy = || sm_read("GetResourcePolicy", json!({"SecretId": arn}));
    let replica = "arn:aws:secretsmanager:us-east-1:111122223333:secret:replica-AbCdEf";
    let (permission, call, expected, read_only, watch) = match o {
        O::BatchGetSecretValue => (
            needed(&action, "*"),
            // AWS also asks for GetSecretValue on each secret: without it the batch succeeds
            // and names the secret among its errors.
            sm_call(move |sm| {
                let f = sm.batch_get_secret_value().secret_id_list(a.clone()).send();
                async move {
                    let r = f.await;
                    if let Ok(out) = &r {
                        assert!(out.secret_values().is_empty(), "{out:?}");
                        let codes: Vec<_> = out.errors().iter().map(|e| e.error_code()).collect();
                        assert_eq!(codes, [Some("AccessDeniedException")]);
                    }
                    r
                }
            }),
            None,
            true,
            vec![describe()],
        ),
        O::CancelRotateSecret => (
            on_secret,
            // Never configured for rotation: nothing to cancel, and nothing changes.
            sm_call(move |sm| sm.cancel_rotate_secret().secret_id(a.clone()).send()),
            None,
            false,
            vec![describe()],
        ),
        O::CreateSecret => {
            let name = unique("created");
            (
                needed(&action, &w.secret_resource(&name)),
                sm_call(move |sm| {
                    sm.create_secret()
                        .name(name.clone())
                        .secret_string("new")
                        .send()
                }),
                None,
                false,
                Vec::new(),
            )
        }
        O::DeleteResourcePolicy => {
            w.root
                .sm
                .put_resource_policy()
                .secret_id(&arn)
                .resource_policy(w.resource_policy())
                .send()
                .await
                .expect("put resource policy");
            (
                on_secret,
                sm_call(move |sm| sm.delete_resource_policy().secret_id(a.clone()).send()),
                None,
                false,
                vec![resource_policy()],
            )
        }
        O::DeleteSecret => (
            on_secret,
            sm_call(move |sm| {
                sm.delete_secret()
                    .secret_id(a.clone())
                    .recovery_window_in_days(7)
                    .send()
            }),
            None,
            false,
            vec![describe()],
        ),
        O::DescribeSecret => (
            on_secret,
            sm_call(move |sm| sm.describe_secret().secret_id(a.clone()).send()),
            None,
            true,
            Vec::new(),
        ),
        O::GetRandomPassword => (
            needed(&action, "*"),
            sm_call(|sm| sm.get_random_password().send()),
            None,
            true,
            Vec::new(),
        ),
        O::GetResourcePolicy => (
            on_secret,
            sm_call(move |sm| sm.get_resource_policy().secret_id(a.clone()).send()),
            None,
            true,
            Vec::new(),
        ),
        O::GetSecretValue => (
            on_secret,
            sm_call(move |sm| sm.get_secret_value().secret_id(a.clone()).send()),
            None,
            true,
            // Its last-accessed date.
            vec![describe()],
        ),
        O::ListResourcePolicies => (
            on_secret,
            raw_call(
                SECRETS_MANAGER,
                "ListResourcePolicies",
                Params::Json(json!({"SecretId": a})),
            ),
            None,
            true,
            Vec::new(),
        ),
        O::ListSecretVersionIds => (
            on_secret,
            sm_call(move |sm| sm.list_secret_version_ids().secret_id(a.clone()).send()),
            None,
            true,
            Vec::new(),
        ),
        O::ListSecrets => (
            needed(&action, "*"),
            sm_call(|sm| sm.list_secrets().max_results(1).send()),
            None,
            true,
            Vec::new(),
        ),
        O::PutResourcePolicy => {
            let p = w.resource_policy();
            (
                on_secret,
                sm_call(move |sm| {
                    sm.put_resource_policy()
                        .secret_id(a.clone())
                        .resource_policy(p.clone())
                        .send()
                }),
                None,
                false,
                vec![resource_policy()],
            )
        }
        O::PutSecretValue => (
            on_secret,
            sm_call(move |sm| {
                sm.put_secret_value()
                    .secret_id(a.clone())
                    .secret_string("v1")
                    .send()
            }),
            None,
            false,
            vec![versions()],
        ),
        O::RemoveRegionsFromReplication => (
            on_secret,
            sm_call(move |sm| {
                sm.remove_regions_from_replication()
                    .secret_id(a.clone())
                    .remove_replica_regions("eu-west-1")
                    .send()
            }),
            None,
            false,
            vec![describe()],
        ),
        O::ReplicateSecretToRegions => (
            on_secret,
            sm_call(move |sm| {
                sm.replicate_secret_to_regions()
                    .secret_id(a.clone())
                    .add_replica_regions(ReplicaRegionType::builder().region("eu-west-1").build())
                    .send()
            }),
            None,
            false,
            vec![describe()],
        ),
        O::RestoreSecret => {
            w.root
                .sm
                .delete_secret()
                .secret_id(&arn)
                .recovery_window_in_days(7)
                .send()
                .await
                .expect("delete secret");
            (
                on_secret,
                sm_call(move |sm| sm.restore_secret().secret_id(a.clone()).send()),
                None,
                false,
                vec![describe()],
            )
        }
        O::RotateSecret => (
            on_secret,
            sm_call(move |sm| sm.rotate_secret().secret_id(a.clone()).send()),
            NOT_AVAILABLE,
            false,
            vec![describe(), versions()],
        ),
        O::StopReplicationToReplica => (
            on_secret,
            // The secret is no replica: nothing to promote.
            sm_call(move |sm| sm.stop_replication_to_replica().secret_id(a.clone()).send()),
            NOT_AVAILABLE,
            false,
            vec![describe()],
        ),
        O::TagResource => (
            on_secret,
            sm_call(move |sm| {
                sm.tag_resource()
                    .secret_id(a.clone())
                    .tags(Tag::builder().key("team").value("blue").build())
                    .send()
            }),
            None,
            false,
            vec![describe()],
        ),
        O::UntagResource => {
            w.root
                .sm
                .tag_resource()
                .secret_id(&arn)
                .tags(Tag::builder().key("team").value("blue").build())
                .send()
                .await
                .expect("tag");
            (
                on_secret,
                sm_call(move |sm| {
                    sm.untag_resource()
                        .secret_id(a.clone())
                        .tag_keys("team")
                        .send()
                }),
                None,
                false,
                vec![describe()],
            )
        }
        O::UpdateSecret => (
            on_secret,
            sm_call(move |sm| {
                sm.update_secret()
                    .secret_id(a.clone())
                    .description("changed")
                    .send()
            }),
            None,
            false,
            vec![describe()],
        ),
        O::UpdateSecretVersionStage => (
            on_secret,
            sm_call(move |sm| {
                sm.update_secret_version_stage()
                    .secret_id(a.clone())
                    .version_stage("blue")
                    .move_to_version_id(version.clone())
                    .send()
            }),
            None,
            false,
            vec![versions()],
        ),
        O::ValidateResourcePolicy => {
            let p = w.resource_policy();
            (
                needed(&action, "*"),
                sm_call(move |sm| {
                    sm.validate_resource_policy()
                        .resource_policy(p.clone())
                        .send()
                }),
                None,
                true,
                Vec::new(),
            )
        }
        O::AssociateCrossAccountReplica => (
            on_secret,
            raw_call(
                SECRETS_MANAGER,
                "AssociateCrossAccountReplica",
                Params::Json(json!({"SecretId": a, "CrossAccountReplicaARN": replica})),
            ),
            NOT_AVAILABLE,
            false,
            vec![describe()],
        ),
        O::DisassociateCrossAccountReplica => (
            on_secret,
            raw_call(
                SECRETS_MANAGER,
                "DisassociateCrossAccountReplica",
                Params::Json(json!({"SecretId": a, "CrossAccountReplicaARN": replica})),
            ),
            NOT_AVAILABLE,
            false,
            vec![describe()],
        ),
    };
    Case {
        permission,
        call,
        expected,
        source: SM,
        read_only,
        watch,
    }
}

async fn iam_case(o: iam::Operation, w: &World) -> Case {
    use iam::Operation as O;
    let action = format!("iam:{}", o.name());
    // The resource each operation acts on, made by root, and the reads that show its state.
    let user = || async { w.user().await };
    let user_watch = |u: &str| {
        vec![
            iam_read("ListAccessKeys", &[("UserName", u)]),
            iam_read("ListUserPolicies", &[("UserName", u)]),
            iam_read("ListAttachedUserPolicies", &[("UserName", u)]),
            iam_read("ListUserTags", &[("UserName", u)]),
        ]
    };
    let policy_watch = |p: &str| vec![iam_read("ListPolicyVersions", &[("PolicyArn", p)])];
    let inline = allow("secretsmanager:GetSecretValue", "*");
    let root = &w.root.iam;

    let (resource, call, watch): (String, Call, Vec<Read>) = match o {
        O::CreateUser => {
            let n = unique("new-user");
            (
                w.iam_arn("user", &n),
                iam_call(move |c| c.create_user().user_name(n.clone()).send()),
                Vec::new(),
            )
        }
        O::GetUser => {
            let u = user().await;
            (
                w.iam_arn("user", &u),
                iam_call(move |c| c.get_user().user_name(u.clone()).send()),
                Vec::new(),
            )
        }
        O::ListUsers => (
            "*".to_owned(),
            iam_call(|c| c.list_users().send()),
            Vec::new(),
        ),
        O::DeleteUser => {
            let u = user().await;
            (
                w.iam_arn("user", &u),
                iam_call(move |c| c.delete_user().user_name(u.clone()).send()),
                Vec::new(),
            )
        }
        O::TagUser => {
            let u = user().await;
            let watch = user_watch(&u);
            (
                w.iam_arn("user", &u),
                iam_call(move |c| {
                    c.tag_user()
                        .user_name(u.clone())
                        .tags(IamTag::builder().key("team").value("blue").build().unwrap())
                        .send()
                }),
                watch,
            )
        }
        O::UntagUser => {
            let u = user().await;
            root.tag_user()
                .user_name(&u)
                .tags(IamTag::builder().key("team").value("blue").build().unwrap())
                .send()
                .await
                .expect("tag user");
            let watch = user_watch(&u);
            (
                w.iam_arn("user", &u),
                iam_call(move |c| c.untag_user().user_name(u.clone()).tag_keys("team").send()),
                watch,
            )
        }
        O::ListUserTags => {
            let u = user().await;
            (
                w.iam_arn("user", &u),
                iam_call(move |c| c.list_user_tags().user_name(u.clone()).send()),
                Vec::new(),
            )
        }
        O::CreateAccessKey => {
            let u = user().await;
            let watch = user_watch(&u);
            (
                w.iam_arn("user", &u),
                iam_call(move |c| c.create_access_key().user_name(u.clone()).send()),
                watch,
            )
        }
        O::ListAccessKeys => {
            let u = user().await;
            (
                w.iam_arn("user", &u),
                iam_call(move |c| c.list_access_keys().user_name(u.clone()).send()),
                Vec::new(),
            )
        }
        O::UpdateAccessKey | O::DeleteAccessKey => {
            let u = user().await;
            let key = root
                .create_access_key()
                .user_name(&u)
                .send()
                .await
                .expect("create access key");
            let id = key.access_key().unwrap().access_key_id().to_owned();
            let watch = user_watch(&u);
            let arn = w.iam_arn("user", &u);
            let call = if o == O::UpdateAccessKey {
                iam_call(move |c| {
                    c.update_access_key()
                        .user_name(u.clone())
                        .access_key_id(id.clone())
                        .status(aws_sdk_iam::types::StatusType::Inactive)
                        .send()
                })
            } else {
                iam_call(move |c| {
                    c.delete_access_key()
                        .user_name(u.clone())
                        .access_key_id(id.clone())
                        .send()
                })
            };
            (arn, call, watch)
        }
        O::PutUserPolicy => {
            let u = user().await;
            let watch = user_watch(&u);
            (
                w.iam_arn("user", &u),
                iam_call(move |c| {
                    c.put_user_policy()
                        .user_name(u.clone())
                        .policy_name("inline")
                        .policy_document(inline.clone())
                        .send()
                }),
                watch,
            )
        }
        O::GetUserPolicy | O::ListUserPolicies | O::DeleteUserPolicy => {
            let u = user().await;
            root.put_user_policy()
                .user_name(&u)
                .policy_name("inline")
                .policy_document(&inline)
                .send()
                .await
                .expect("put user policy");
            let watch = user_watch(&u);
            let arn = w.iam_arn("user", &u);
            let call = match o {
                O::GetUserPolicy => iam_call(move |c| {
                    c.get_user_policy()
                        .user_name(u.clone())
                        .policy_name("inline")
                        .send()
                }),
                O::ListUserPolicies => {
                    iam_call(move |c| c.list_user_policies().user_name(u.clone()).send())
                }
                _ => iam_call(move |c| {
                    c.delete_user_policy()
                        .user_name(u.clone())
                        .policy_name("inline")
                        .send()
                }),
            };
            (arn, call, watch)
        }
        O::CreatePolicy => {
            let n = unique("new-policy");
            (
                w.iam_arn("policy", &n),
                iam_call(move |c| {
                    c.create_policy()
                        .policy_name(n.clone())
                        .policy_document(inline.clone())
                        .send()
                }),
                Vec::new(),
            )
        }
        O::GetPolicy | O::ListPolicyVersions | O::DeletePolicy | O::CreatePolicyVersion => {
            let p = w.policy().await;
            let watch = policy_watch(&p);
            let call = match o {
                O::GetPolicy => iam_call({
                    let p = p.clone();
                    move |c| c.get_policy().policy_arn(p.clone()).send()
                }),
                O::ListPolicyVersions => iam_call({
                    let p = p.clone();
                    move |c| c.list_policy_versions().policy_arn(p.clone()).send()
                }),
                O::DeletePolicy => iam_call({
                    let p = p.clone();
                    move |c| c.delete_policy().policy_arn(p.clone()).send()
                }),
                _ => iam_call({
                    let p = p.clone();
                    move |c| {
                        c.create_policy_version()
                            .policy_arn(p.clone())
                            .policy_document(inline.clone())
                            .send()
                    }
                }),
            };
            (p, call, watch)
        }
        O::GetPolicyVersion => {
            let p = w.policy().await;
            (
                p.clone(),
                iam_call(move |c| {
                    c.get_policy_version()
                        .policy_arn(p.clone())
                        .version_id("v1")
                        .send()
                }),
                Vec::new(),
            )
        }
        O::ListPolicies => (
            "*".to_owned(),
            iam_call(|c| {
                c.list_policies()
                    .scope(aws_sdk_iam::types::PolicyScopeType::Local)
                    .send()
            }),
            Vec::new(),
        ),
        O::SetDefaultPolicyVersion | O::DeletePolicyVersion => {
            let p = w.policy().await;
            root.create_policy_version()
                .policy_arn(&p)
                .policy_document(&inline)
                .send()
                .await
                .expect("policy version v2");
            let watch = policy_watch(&p);
            let q = p.clone();
            let call = if o == O::SetDefaultPolicyVersion {
                iam_call(move |c| {
                    c.set_default_policy_version()
                        .policy_arn(q.clone())
                        .version_id("v2")
                        .send()
                })
            } else {
                iam_call(move |c| {
                    c.delete_policy_version()
                        .policy_arn(q.clone())
                        .version_id("v2")
                        .send()
                })
            };
            (p, call, watch)
        }
        O::AttachUserPolicy | O::DetachUserPolicy | O::ListAttachedUserPolicies => {
            let u = user().await;
            let p = w.policy().await;
            if o != O::AttachUserPolicy {
                root.attach_user_policy()
                    .user_name(&u)
                    .policy_arn(&p)
                    .send()
                    .await
                    .expect("attach user policy");
            }
            let mut watch = user_watch(&u);
            watch.extend(policy_watch(&p));
            let arn = w.iam_arn("user", &u);
            let call = match o {
                O::AttachUserPolicy => iam_call(move |c| {
                    c.attach_user_policy()
                        .user_name(u.clone())
                        .policy_arn(p.clone())
                        .send()
                }),
                O::DetachUserPolicy => iam_call(move |c| {
                    c.detach_user_policy()
                        .user_name(u.clone())
                        .policy_arn(p.clone())
                        .send()
                }),
                _ => iam_call(move |c| c.list_attached_user_policies().user_name(u.clone()).send()),
            };
            (arn, call, watch)
        }
        O::CreateRole => {
            let n = unique("new-role");
            let trust = w.trust();
            (
                w.iam_arn("role", &n),
                iam_call(move |c| {
                    c.create_role()
                        .role_name(n.clone())
                        .assume_role_policy_document(trust.clone())
                        .send()
                }),
                Vec::new(),
            )
        }
        O::GetRole
        | O::DeleteRole
        | O::UpdateAssumeRolePolicy
        | O::PutRolePolicy
        | O::GetRolePolicy
        | O::ListRolePolicies
        | O::DeleteRolePolicy
        | O::AttachRolePolicy
        | O::DetachRolePolicy
        | O::ListAttachedRolePolicies => role_case(o, w, &inline).await,
        O::ListRoles => (
            "*".to_owned(),
            iam_call(|c| c.list_roles().send()),
            Vec::new(),
        ),
    };
    Case {
        permission: needed(&action, &resource),
        call,
        expected: None,
        source: IAM_SOURCE,
        // Hand-written, not derived from the name: AWS's readOnly for each IAM operation.
        read_only: iam_read_only(o),
        watch,
    }
}

/// CloudTrail's `readOnly` for the IAM operations, as AWS writes it.
fn iam_read_only(o: iam::Operation) -> bool {
    use iam::Operation as O;
    match o {
        O::GetUser
        | O::ListUsers
        | O::ListUserTags
        | O::ListAccessKeys
        | O::GetUserPolicy
        | O::ListUserPolicies
        | O::GetPolicy
        | O::GetPolicyVersion
        | O::ListPolicies
        | O::ListPolicyVersions
        | O::ListAttachedUserPolicies
        | O::GetRole
        | O::ListRoles
        | O::GetRolePolicy
        | O::ListRolePolicies
        | O::ListAttachedRolePolicies => true,
        O::CreateUser
        | O::DeleteUser
        | O::TagUser
        | O::UntagUser
        | O::CreateAccessKey
        | O::UpdateAccessKey
        | O::DeleteAccessKey
        | O::PutUserPolicy
        | O::DeleteUserPolicy
        | O::CreatePolicy
        | O::DeletePolicy
        | O::CreatePolicyVersion
        | O::SetDefaultPolicyVersion
        | O::DeletePolicyVersion
        | O::AttachUserPolicy
        | O::DetachUserPolicy
        | O::CreateRole
        | O::DeleteRole
        | O::UpdateAssumeRolePolicy
        | O::PutRolePolicy
        | O::DeleteRolePolicy
        | O::AttachRolePolicy
        | O::DetachRolePolicy => false,
    }
}

/// The operations on an existing role.
async fn role_case(o: iam::Operation, w: &World, inline: &str) -> (String, Call, Vec<Read>) {
    use iam::Operation as O;
    let root = &w.root.iam;
    let r = w.role().await;
    let p = w.policy().await;
    if matches!(o, O::GetRolePolicy | O::DeleteRolePolicy) {
        root.put_role_policy()
            .role_name(&r)
            .policy_name("inline")
            .policy_document(inline)
            .send()
            .await
            .expect("put role policy");
    }
    if o == O::DetachRolePolicy {
        root.attach_role_policy()
            .role_name(&r)
            .policy_arn(&p)
            .send()
            .await
            .expect("attach role policy");
    }
    let watch = vec![
        iam_read("GetRole", &[("RoleName", &r)]),
        iam_read("ListRolePolicies", &[("RoleName", &r)]),
        iam_read("ListAttachedRolePolicies", &[("RoleName", &r)]),
        iam_read("ListPolicyVersions", &[("PolicyArn", &p)]),
    ];
    let arn = w.iam_arn("role", &r);
    let inline = inline.to_owned();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
        "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    .to_string();
    let call = match o {
        O::GetRole => iam_call(move |c| c.get_role().role_name(r.clone()).send()),
        O::DeleteRole => iam_call(move |c| c.delete_role().role_name(r.clone()).send()),
        O::UpdateAssumeRolePolicy => iam_call(move |c| {
            c.update_assume_role_policy()
                .role_name(r.clone())
                .policy_document(trust.clone())
                .send()
        }),
        O::PutRolePolicy => iam_call(move |c| {
            c.put_role_policy()
                .role_name(r.clone())
                .policy_name("inline")
                .policy_document(inline.clone())
                .send()
        }),
        O::GetRolePolicy => iam_call(move |c| {
            c.get_role_policy()
                .role_name(r.clone())
                .policy_name("inline")
                .send()
        }),
        O::ListRolePolicies => {
            iam_call(move |c| c.list_role_policies().role_name(r.clone()).send())
        }
        O::DeleteRolePolicy => iam_call(move |c| {
            c.delete_role_policy()
                .role_name(r.clone())
                .policy_name("inline")
                .send()
        }),
        O::AttachRolePolicy => iam_call(move |c| {
            c.attach_role_policy()
                .role_name(r.clone())
                .policy_arn(p.clone())
                .send()
        }),
        O::DetachRolePolicy => iam_call(move |c| {
            c.detach_role_policy()
                .role_name(r.clone())
                .policy_arn(p.clone())
                .send()
        }),
        O::ListAttachedRolePolicies => {
            iam_call(move |c| c.list_attached_role_policies().role_name(r.clone()).send())
        }
        other => panic!("{other:?} is not an operation on a role"),
    };
    (arn, call, watch)
}

async fn sts_case(o: sts::Operation, w: &World) -> Case {
    match o {
        sts::Operation::GetCallerIdentity => Case {
            permission: Permission::NotNeeded {
                action: "sts:GetCallerIdentity".to_owned(),
            },
            call: raw_call(STS, "GetCallerIdentity", form(&[])),
            expected: None,
            source: STS_SOURCE,
            read_only: true,
            watch: Vec::new(),
        },
        sts::Operation::AssumeRole => {
            let r = w.role().await;
            let arn = w.iam_arn("role", &r);
            Case {
                permission: needed("sts:AssumeRole", &arn),
                call: raw_call(
                    STS,
                    "AssumeRole",
                    form(&[("RoleArn", &arn), ("RoleSessionName", "every-op")]),
                ),
                expected: None,
                source: STS_SOURCE,
                // CloudTrail records AssumeRole as a read: it changes no resource.
                read_only: true,
                watch: Vec::new(),
            }
        }
    }
}

/// What a call's audit record must say.
struct Expectation {
    operation: String,
    source: &'static str,
    read_only: bool,
    error: Option<String>,
    caller_arn: String,
    access_key_id: String,
    user_name: Option<String>,
}

const GRANT: &str = "only-this";

#[tokio::test]
async fn every_operation_refuses_without_its_permission_and_answers_with_it() {
    let server = ServerOptions::dev().start();
    let root_creds = server.dev_creds.clone().unwrap();
    let who = signed::call(
        server.addr,
        &root_creds,
        STS,
        "GetCallerIdentity",
        &form(&[]),
    );
    let account = who
        .body
        .split_once("<Account>")
        .and_then(|(_, r)| r.split_once("</Account>"))
        .map(|(a, _)| a.to_owned())
        .expect("account of the root");
    let root = Caller::new(
        &server.url,
        server.addr,
        root_creds,
        format!("arn:aws:iam::{account}:root"),
        None,
    );
    let w = World { account, root };

    // Two IAM users: one with no policy at all, one whose only policy is replaced per case.
    let mut callers = Vec::new();
    for name in ["nobody", "granted"] {
        w.root
            .iam
            .create_user()
            .user_name(name)
            .send()
            .await
            .unwrap();
        let key = w
            .root
            .iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .unwrap();
        let key = key.access_key().unwrap();
        let creds = Creds {
            access_key_id: key.access_key_id().to_owned(),
            secret_access_key: key.secret_access_key().to_owned(),
        };
        let arn = w.iam_arn("user", name);
        callers.push(Caller::new(
            &server.url,
            server.addr,
            creds,
            arn,
            Some(name),
        ));
    }
    let granted = callers.pop().unwrap();
    let nobody = callers.pop().unwrap();

    let mut expected: BTreeMap<String, Expectation> = BTreeMap::new();
    let mut record = |o: &Outcome, op: &str, case: &Case, who: &Caller| {
        let previous = expected.insert(
            o.request_id.clone(),
            Expectation {
                operation: op.to_owned(),
                source: case.source,
                read_only: case.read_only,
                error: o.error.clone(),
                caller_arn: who.arn.clone(),
                access_key_id: who.creds.access_key_id.clone(),
                user_name: who.user_name.clone(),
            },
        );
        assert!(previous.is_none(), "request id {} used twice", o.request_id);
    };

    let ops = every_operation();
    assert_eq!(ops.len(), 26 + 39 + 2 + 1);
    for op in ops {
        let name = match op {
            Op::SecretsManager(o) => o.name(),
            Op::Iam(o) => o.name(),
            Op::Sts(o) => o.name(),
            Op::CloudTrail(o) => o.name(),
        };
        let case = case(op, &w).await;
        let (grant, refusal) = match &case.permission {
            Permission::Needed { action, resource } => (
                allow(action, resource),
                Some(match op {
                    Op::SecretsManager(_) | Op::CloudTrail(_) => "AccessDeniedException",
                    Op::Iam(_) | Op::Sts(_) => "AccessDenied",
                }),
            ),
            Permission::NotNeeded { action } => (policy("Deny", action, "*"), None),
        };
        w.root
            .iam
            .put_user_policy()
            .user_name("granted")
            .policy_name(GRANT)
            .policy_document(grant)
            .send()
            .await
            .unwrap();

        let before = state(&w.root, &case.watch);
        let denied = (case.call)(&nobody).await;
        assert_eq!(
            denied.error.as_deref(),
            refusal,
            "{name} by a caller without the permission"
        );
        let after = state(&w.root, &case.watch);
        assert_eq!(before, after, "{name}: a refused call changed state");
        record(&denied, name, &case, &nobody);

        let answered = (case.call)(&granted).await;
        assert_eq!(
            answered.error.as_deref(),
            case.expected,
            "{name} by a caller with exactly its permission"
        );
        record(&answered, name, &case, &granted);
    }

    // Every call's one record, read back through LookupEvents by the root.
    let mut records: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut params = json!({"MaxResults": 50});
    loop {
        let page = w
            .root
            .raw(CLOUDTRAIL, "LookupEvents", &Params::Json(params.clone()));
        assert_eq!(page.status, 200, "{}", page.body);
        let page: Value = serde_json::from_str(&page.body).unwrap();
        for e in page["Events"].as_array().unwrap() {
            let event: Value =
                serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
            let id = event["requestID"].as_str().unwrap_or_default().to_owned();
            records.entry(id).or_default().push(event);
        }
        match page.get("NextToken") {
            Some(t) => params["NextToken"] = t.clone(),
            None => break,
        }
    }
    for (request_id, want) in &expected {
        let found = records.get(request_id).map_or(&[][..], Vec::as_slice);
        let what = format!("{} ({request_id})", want.operation);
        assert_eq!(found.len(), 1, "{what}: records {found:?}");
        let r = &found[0];
        assert_eq!(r["eventName"], want.operation.as_str(), "{what}");
        assert_eq!(r["eventSource"], want.source, "{what}");
        assert_eq!(r["readOnly"], want.read_only, "{what}: readOnly");
        assert_eq!(r["errorCode"].as_str(), want.error.as_deref(), "{what}");
        let id = &r["userIdentity"];
        assert_eq!(id["type"], "IAMUser", "{what}");
        assert_eq!(id["arn"], want.caller_arn.as_str(), "{what}");
        assert_eq!(id["accessKeyId"], want.access_key_id.as_str(), "{what}");
        assert_eq!(id["userName"].as_str(), want.user_name.as_deref(), "{what}");
        assert_eq!(r["recipientAccountId"], w.account.as_str(), "{what}");
    }
}
