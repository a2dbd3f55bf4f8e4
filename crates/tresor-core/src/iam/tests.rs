//! The IAM operations end to end through [`super::dispatch`] (JSON in and out, as the server
//! calls them) on a real SQLite store.

use serde_json::{json, Value};
use tresor_store::{AccessKeyStatus, SqliteStore, Store};
use tresor_types::{AccountId, Region, Timestamp};

use super::{dispatch, Operation as Op};
use crate::{bootstrap, Core, CoreError, Principal, PrincipalKind, RequestContext, StoreBackend};

pub(crate) struct World {
    pub core: Core,
    pub account: AccountId,
    _dir: tempfile::TempDir,
}

pub(crate) const ACCOUNT: &str = "111122223333";

pub(crate) fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreBackend::Sqlite(SqliteStore::open(&dir.path().join("t.db")).unwrap());
    let account = AccountId::parse(ACCOUNT).unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    World {
        core: Core::new(store, keyring).unwrap(),
        account,
        _dir: dir,
    }
}

pub(crate) fn ctx(principal: Principal) -> RequestContext {
    RequestContext {
        principal,
        region: Region::parse("us-east-1").unwrap(),
        request_id: "test".into(),
        source_ip: Some("10.1.2.3".into()),
        user_agent: None,
        secure_transport: true,
        now: Timestamp::now(),
    }
}

impl World {
    pub fn root(&self) -> RequestContext {
        ctx(Principal {
            account: self.account.clone(),
            arn: format!("arn:aws:iam::{}:root", self.account),
            kind: PrincipalKind::Root,
            access_key_id: "AKIAROOT".into(),
            tags: vec![],
        })
    }

    pub fn iam(&self, op: Op, params: Value) -> Result<Value, CoreError> {
        dispatch(&self.core, &self.root(), op, params)
    }

    pub fn ok(&self, op: Op, params: Value) -> Value {
        self.iam(op, params)
            .unwrap_or_else(|e| panic!("{op:?}: {} {}", e.aws_code(), e.message()))
    }

    /// The context of an existing user calling.
    pub fn as_user(&self, name: &str) -> RequestContext {
        let user = self.ok(Op::GetUser, json!({"UserName": name}));
        ctx(Principal {
            account: self.account.clone(),
            arn: user["User"]["Arn"].as_str().unwrap().to_owned(),
            kind: PrincipalKind::User {
                name: name.to_owned(),
                id: user["User"]["UserId"].as_str().unwrap().to_owned(),
            },
            access_key_id: "AKIAUSER".into(),
            tags: vec![],
        })
    }
}

/// (code, message) of a failed call.
pub(crate) fn err(r: Result<Value, CoreError>) -> (&'static str, String) {
    match r {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => (e.aws_code(), e.message()),
    }
}

pub(crate) const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

#[test]
fn user_lifecycle() {
    let w = world();
    let created = w.ok(
        Op::CreateUser,
        json!({"UserName": "alice", "Path": "/eng/", "Tags": [{"Key": "team", "Value": "ml"}]}),
    );
    let user = &created["User"];
    assert_eq!(user["UserName"], "alice");
    assert_eq!(user["Path"], "/eng/");
    assert_eq!(
        user["Arn"],
        format!("arn:aws:iam::{ACCOUNT}:user/eng/alice")
    );
    assert!(user["UserId"].as_str().unwrap().starts_with("AIDA"));
    assert!(user["CreateDate"].as_str().unwrap().ends_with('Z'));
    assert_eq!(user["Tags"], json!([{"Key": "team", "Value": "ml"}]));

    let (code, msg) = err(w.iam(Op::CreateUser, json!({"UserName": "ALICE"})));
    assert_eq!(
        (code, msg.as_str()),
        (
            "EntityAlreadyExists",
            "User with name ALICE already exists."
        )
    );
    let (code, msg) = err(w.iam(Op::CreateUser, json!({"UserName": "bad name"})));
    assert_eq!(code, "ValidationException");
    assert!(msg.contains("at 'userName'"), "{msg}");
    let (code, _) = err(w.iam(Op::CreateUser, json!({"UserName": "b", "Path": "eng"})));
    assert_eq!(code, "ValidationException");

    assert_eq!(
        w.ok(Op::GetUser, json!({"UserName": "Alice"}))["User"]["UserName"],
        "alice"
    );
    let (code, msg) = err(w.iam(Op::GetUser, json!({"UserName": "nobody"})));
    assert_eq!(
        (code, msg.as_str()),
        ("NoSuchEntity", "The user with name nobody cannot be found.")
    );

    // The root without a name is the root "user".
    let me = w.ok(Op::GetUser, json!({}));
    assert_eq!(me["User"]["Arn"], format!("arn:aws:iam::{ACCOUNT}:root"));
    assert_eq!(me["User"]["UserId"], ACCOUNT);
    assert!(me["User"].get("UserName").is_none());
    // A user without a name is itself, but still needs permission for it.
    let alice = w.as_user("alice");
    let (code, _) = err(dispatch(&w.core, &alice, Op::GetUser, json!({})));
    assert_eq!(code, "AccessDeniedException");
    w.ok(
        Op::PutUserPolicy,
        json!({"UserName": "alice", "PolicyName": "self", "PolicyDocument": ALLOW_ALL}),
    );
    let me = dispatch(&w.core, &alice, Op::GetUser, json!({})).unwrap();
    assert_eq!(me["User"]["UserName"], "alice");

    // Tags.
    w.ok(Op::TagUser, json!({"UserName": "alice", "Tags": [{"Key": "Team", "Value": "infra"}, {"Key": "env", "Value": "prod"}]}));
    let tags = w.ok(Op::ListUserTags, json!({"UserName": "alice"}));
    assert_eq!(
        tags["Tags"],
        json!([{"Key": "Team", "Value": "infra"}, {"Key": "env", "Value": "prod"}])
    );
    assert_eq!(tags["IsTruncated"], false);
    w.ok(
        Op::UntagUser,
        json!({"UserName": "alice", "TagKeys": ["team"]}),
    );
    let tags = w.ok(
        Op::ListUserTags,
        json!({"UserName": "alice", "MaxItems": "1"}),
    );
    assert_eq!(tags["Tags"], json!([{"Key": "env", "Value": "prod"}]));
    let (code, _) = err(w.iam(
        Op::TagUser,
        json!({"UserName": "alice", "Tags": [{"Key": "aws:x", "Value": "1"}]}),
    ));
    assert_eq!(code, "InvalidInput");
    let many: Vec<Value> = (0..50)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    let (code, _) = err(w.iam(Op::TagUser, json!({"UserName": "alice", "Tags": many})));
    assert_eq!(code, "LimitExceededException");

    // Listing with paging and a path prefix.
    for name in ["bob", "carol", "dave"] {
        w.ok(Op::CreateUser, json!({"UserName": name}));
    }
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut params = json!({"MaxItems": "3"});
        if let Some(m) = &marker {
            params["Marker"] = json!(m);
        }
        let page = w.ok(Op::ListUsers, params);
        for u in page["Users"].as_array().unwrap() {
            assert!(u.get("Tags").is_none());
            seen.push(u["UserName"].as_str().unwrap().to_owned());
        }
        match page.get("Marker").and_then(Value::as_str) {
            Some(m) => {
                assert_eq!(page["IsTruncated"], true);
                marker = Some(m.to_owned());
            }
            None => break,
        }
    }
    assert_eq!(seen, ["alice", "bob", "carol", "dave"]);
    let eng = w.ok(Op::ListUsers, json!({"PathPrefix": "/eng"}));
    assert_eq!(eng["Users"].as_array().unwrap().len(), 1);

    w.ok(Op::DeleteUser, json!({"UserName": "bob"}));
    let (code, _) = err(w.iam(Op::DeleteUser, json!({"UserName": "bob"})));
    assert_eq!(code, "NoSuchEntity");
}

#[test]
fn access_keys() {
    let w = world();
    w.ok(Op::CreateUser, json!({"UserName": "alice"}));
    let first = w.ok(Op::CreateAccessKey, json!({"UserName": "alice"}));
    let key = &first["AccessKey"];
    let id = key["AccessKeyId"].as_str().unwrap().to_owned();
    let secret = key["SecretAccessKey"].as_str().unwrap().to_owned();
    assert!(id.starts_with("AKIA") && id.len() == 20);
    assert_eq!(secret.len(), 40);
    assert_eq!(key["Status"], "Active");
    assert_eq!(key["UserName"], "alice");

    // Stored sealed, for the user, and opening to the secret that was answered.
    let stored = w.core.store().get_access_key(&id).unwrap().unwrap();
    assert_eq!(stored.user_name.as_deref(), Some("alice"));
    assert_eq!(
        stored.principal_arn,
        format!("arn:aws:iam::{ACCOUNT}:user/alice")
    );
    assert!(!stored
        .sealed_secret
        .windows(secret.len())
        .any(|w| w == secret.as_bytes()));
    let opened = w.core.keyring().open_access_secret(&stored).unwrap();
    assert_eq!(opened.expose(), secret.as_bytes());

    // A user calling without a name acts on itself (given permission to).
    let alice = w.as_user("alice");
    let (code, _) = err(dispatch(&w.core, &alice, Op::CreateAccessKey, json!({})));
    assert_eq!(code, "AccessDeniedException");
    w.ok(
        Op::PutUserPolicy,
        json!({"UserName": "alice", "PolicyName": "self", "PolicyDocument": ALLOW_ALL}),
    );
    dispatch(&w.core, &alice, Op::CreateAccessKey, json!({})).unwrap();
    let (code, msg) = err(w.iam(Op::CreateAccessKey, json!({"UserName": "alice"})));
    assert_eq!(
        (code, msg.as_str()),
        (
            "LimitExceededException",
            "Cannot exceed quota for AccessKeysPerUser: 2"
        )
    );
    let (code, _) = err(w.iam(Op::CreateAccessKey, json!({})));
    assert_eq!(code, "ValidationException", "the root must name a user");

    let listed = w.ok(Op::ListAccessKeys, json!({"UserName": "alice"}));
    let meta = listed["AccessKeyMetadata"].as_array().unwrap();
    assert_eq!(meta.len(), 2);
    assert!(meta.iter().all(|m| m.get("SecretAccessKey").is_none()));
    assert!(!listed.to_string().contains(&secret));

    w.ok(
        Op::UpdateAccessKey,
        json!({"UserName": "alice", "AccessKeyId": id, "Status": "Inactive"}),
    );
    assert_eq!(
        w.core.store().get_access_key(&id).unwrap().unwrap().status,
        AccessKeyStatus::Inactive
    );
    let (code, _) = err(w.iam(
        Op::UpdateAccessKey,
        json!({"UserName": "alice", "AccessKeyId": id, "Status": "Off"}),
    ));
    assert_eq!(code, "ValidationException");

    // Another user's key is not found through this one.
    w.ok(Op::CreateUser, json!({"UserName": "bob"}));
    let (code, msg) = err(w.iam(
        Op::DeleteAccessKey,
        json!({"UserName": "bob", "AccessKeyId": id}),
    ));
    assert_eq!(
        (code, msg),
        (
            "NoSuchEntity",
            format!("The Access Key with id {id} cannot be found.")
        )
    );
    // Nor is the root's.
    let (code, _) = err(w.iam(
        Op::UpdateAccessKey,
        json!({"UserName": "bob", "AccessKeyId": "AKIAROOTROOTROOT", "Status": "Inactive"}),
    ));
    assert_eq!(code, "NoSuchEntity");

    let (code, msg) = err(w.iam(Op::DeleteUser, json!({"UserName": "alice"})));
    assert_eq!(
        (code, msg.as_str()),
        (
            "DeleteConflict",
            "Cannot delete entity, must delete access keys first."
        )
    );
    for m in meta {
        w.ok(
            Op::DeleteAccessKey,
            json!({"UserName": "alice", "AccessKeyId": m["AccessKeyId"]}),
        );
    }
    assert!(w.core.store().get_access_key(&id).unwrap().is_none());
    w.ok(
        Op::DeleteUserPolicy,
        json!({"UserName": "alice", "PolicyName": "self"}),
    );
    w.ok(Op::DeleteUser, json!({"UserName": "alice"}));
}

#[test]
fn inline_policies() {
    let w = world();
    w.ok(Op::CreateUser, json!({"UserName": "alice"}));
    let (code, msg) = err(w.iam(
        Op::PutUserPolicy,
        json!({"UserName": "alice", "PolicyName": "p", "PolicyDocument": "{nope"}),
    ));
    assert_eq!(code, "MalformedPolicyDocumentException");
    assert!(!msg.is_empty());
    let (code, msg) = err(w.iam(
        Op::PutUserPolicy,
        json!({"UserName": "nobody", "PolicyName": "p", "PolicyDocument": ALLOW_ALL}),
    ));
    assert_eq!(
        (code, msg.as_str()),
        ("NoSuchEntity", "The user with name nobody cannot be found.")
    );

    w.ok(
        Op::PutUserPolicy,
        json!({"UserName": "alice", "PolicyName": "all", "PolicyDocument": ALLOW_ALL}),
    );
    let got = w.ok(
        Op::GetUserPolicy,
        json!({"UserName": "alice", "PolicyName": "all"}),
    );
    assert_eq!(got["UserName"], "alice");
    assert_eq!(got["PolicyName"], "all");
    assert!(got["PolicyDocument"]
        .as_str()
        .unwrap()
        .starts_with("%7B%22Version%22"));
    let (code, msg) = err(w.iam(
        Op::GetUserPolicy,
        json!({"UserName": "alice", "PolicyName": "other"}),
    ));
    assert_eq!(
        (code, msg.as_str()),
        (
            "NoSuchEntity",
            "The user policy with name other cannot be found."
        )
    );

    // The user quota counts all inline policies together; replacing one does not count it twice.
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{}","Effect":"Allow","Action":"*","Resource":"*"}}]}}"#,
        "S".repeat(1_800)
    );
    w.ok(
        Op::PutUserPolicy,
        json!({"UserName": "alice", "PolicyName": "big", "PolicyDocument": big}),
    );
    w.ok(
        Op::PutUserPolicy,
        json!({"UserName": "alice", "PolicyName": "big", "PolicyDocument": big}),
    );
    let (code, msg) = err(w.iam(
        Op::PutUserPolicy,
        json!({"UserName": "alice", "PolicyName": "more", "PolicyDocument": big}),
    ));
    assert_eq!(
        (code, msg.as_str()),
        (
            "LimitExceededException",
            "Maximum policy size of 2048 bytes exceeded for user alice"
        )
    );

    let names = w.ok(Op::ListUserPolicies, json!({"UserName": "alice"}));
    assert_eq!(names["PolicyNames"], json!(["all", "big"]));
    let (code, msg) = err(w.iam(Op::DeleteUser, json!({"UserName": "alice"})));
    assert_eq!(
        (code, msg.as_str()),
        (
            "DeleteConflict",
            "Cannot delete entity, must delete policies first."
        )
    );
    w.ok(
        Op::DeleteUserPolicy,
        json!({"UserName": "alice", "PolicyName": "all"}),
    );
    w.ok(
        Op::DeleteUserPolicy,
        json!({"UserName": "alice", "PolicyName": "big"}),
    );
    let (code, _) = err(w.iam(
        Op::DeleteUserPolicy,
        json!({"UserName": "alice", "PolicyName": "big"}),
    ));
    assert_eq!(code, "NoSuchEntity");
    w.ok(Op::DeleteUser, json!({"UserName": "alice"}));
}

#[test]
fn managed_policies_versions_and_attachments() {
    let w = world();
    let created = w.ok(Op::CreatePolicy, json!({"PolicyName": "read", "Path": "/app/", "PolicyDocument": ALLOW_ALL, "Description": "d"}));
    let policy = &created["Policy"];
    let arn = policy["Arn"].as_str().unwrap().to_owned();
    assert_eq!(arn, format!("arn:aws:iam::{ACCOUNT}:policy/app/read"));
    assert!(policy["PolicyId"].as_str().unwrap().starts_with("ANPA"));
    assert_eq!(policy["DefaultVersionId"], "v1");
    assert_eq!(policy["AttachmentCount"], 0);
    assert_eq!(policy["IsAttachable"], true);
    let (code, _) = err(w.iam(
        Op::CreatePolicy,
        json!({"PolicyName": "READ", "PolicyDocument": ALLOW_ALL}),
    ));
    assert_eq!(code, "EntityAlreadyExists");
    let (code, _) = err(w.iam(
        Op::CreatePolicy,
        json!({"PolicyName": "x", "PolicyDocument": "[]"}),
    ));
    assert_eq!(code, "MalformedPolicyDocumentException");
    let (code, _) = err(w.iam(
        Op::GetPolicy,
        json!({"PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ));
    assert_eq!(code, "NoSuchEntity");
    let (code, _) = err(w.iam(
        Op::GetPolicy,
        json!({"PolicyArn": "not-an-arn-but-long-enough"}),
    ));
    assert_eq!(code, "InvalidInput");

    let v1 = w.ok(
        Op::GetPolicyVersion,
        json!({"PolicyArn": arn, "VersionId": "v1"}),
    );
    assert_eq!(v1["PolicyVersion"]["IsDefaultVersion"], true);
    assert!(v1["PolicyVersion"]["Document"]
        .as_str()
        .unwrap()
        .starts_with("%7B"));

    for n in 2..=5 {
        let v = w.ok(Op::CreatePolicyVersion, json!({"PolicyArn": arn, "PolicyDocument": ALLOW_ALL, "SetAsDefault": if n == 3 { "true" } else { "false" }}));
        assert_eq!(v["PolicyVersion"]["VersionId"], format!("v{n}"));
        assert!(v["PolicyVersion"].get("Document").is_none());
    }
    let (code, _) = err(w.iam(
        Op::CreatePolicyVersion,
        json!({"PolicyArn": arn, "PolicyDocument": ALLOW_ALL}),
    ));
    assert_eq!(code, "LimitExceededException");
    assert_eq!(
        w.ok(Op::GetPolicy, json!({"PolicyArn": arn}))["Policy"]["DefaultVersionId"],
        "v3"
    );
    let versions = w.ok(Op::ListPolicyVersions, json!({"PolicyArn": arn}));
    assert_eq!(versions["Versions"].as_array().unwrap().len(), 5);
    let (code, _) = err(w.iam(
        Op::DeletePolicyVersion,
        json!({"PolicyArn": arn, "VersionId": "v3"}),
    ));
    assert_eq!(code, "DeleteConflict");
    w.ok(
        Op::SetDefaultPolicyVersion,
        json!({"PolicyArn": arn, "VersionId": "v5"}),
    );
    let (code, _) = err(w.iam(
        Op::SetDefaultPolicyVersion,
        json!({"PolicyArn": arn, "VersionId": "v9"}),
    ));
    assert_eq!(code, "NoSuchEntity");

    // Attach to a user and a role.
    w.ok(Op::CreateUser, json!({"UserName": "alice"}));
    w.ok(
        Op::AttachUserPolicy,
        json!({"UserName": "alice", "PolicyArn": arn}),
    );
    w.ok(
        Op::AttachUserPolicy,
        json!({"UserName": "alice", "PolicyArn": arn}),
    );
    let attached = w.ok(Op::ListAttachedUserPolicies, json!({"UserName": "alice"}));
    assert_eq!(
        attached["AttachedPolicies"],
        json!([{"PolicyName": "read", "PolicyArn": arn}])
    );
    assert_eq!(
        w.ok(
            Op::ListAttachedUserPolicies,
            json!({"UserName": "alice", "PathPrefix": "/other/"})
        )["AttachedPolicies"],
        json!([])
    );
    assert_eq!(
        w.ok(Op::GetPolicy, json!({"PolicyArn": arn}))["Policy"]["AttachmentCount"],
        1
    );
    let only = w.ok(Op::ListPolicies, json!({"OnlyAttached": "true"}));
    assert_eq!(only["Policies"].as_array().unwrap().len(), 1);
    assert_eq!(
        w.ok(Op::ListPolicies, json!({"Scope": "AWS"}))["Policies"],
        json!([])
    );
    let (code, msg) = err(w.iam(Op::DeletePolicy, json!({"PolicyArn": arn})));
    assert_eq!(
        (code, msg.as_str()),
        (
            "DeleteConflict",
            "Cannot delete a policy attached to entities."
        )
    );
    let (code, msg) = err(w.iam(Op::DeleteUser, json!({"UserName": "alice"})));
    assert_eq!(
        (code, msg.as_str()),
        (
            "DeleteConflict",
            "Cannot delete entity, must detach all policies first."
        )
    );
    w.ok(
        Op::DetachUserPolicy,
        json!({"UserName": "alice", "PolicyArn": arn}),
    );
    let (code, msg) = err(w.iam(
        Op::DetachUserPolicy,
        json!({"UserName": "alice", "PolicyArn": arn}),
    ));
    assert_eq!(
        (code, msg),
        ("NoSuchEntity", format!("Policy {arn} was not found."))
    );

    // Versions must go before the policy does.
    let (code, _) = err(w.iam(Op::DeletePolicy, json!({"PolicyArn": arn})));
    assert_eq!(code, "DeleteConflict");
    for v in ["v1", "v2", "v3", "v4"] {
        w.ok(
            Op::DeletePolicyVersion,
            json!({"PolicyArn": arn, "VersionId": v}),
        );
    }
    w.ok(Op::DeletePolicy, json!({"PolicyArn": arn}));
    let (code, _) = err(w.iam(Op::GetPolicy, json!({"PolicyArn": arn})));
    assert_eq!(code, "NoSuchEntity");
}

#[test]
fn attachment_quota() {
    let w = world();
    w.ok(Op::CreateUser, json!({"UserName": "alice"}));
    for i in 0..11 {
        let p = w.ok(
            Op::CreatePolicy,
            json!({"PolicyName": format!("p{i}"), "PolicyDocument": ALLOW_ALL}),
        );
        let r = w.iam(
            Op::AttachUserPolicy,
            json!({"UserName": "alice", "PolicyArn": p["Policy"]["Arn"]}),
        );
        if i < 10 {
            r.unwrap();
        } else {
            assert_eq!(
                err(r),
                (
                    "LimitExceededException",
                    "Cannot exceed quota for PoliciesPerUser: 10".to_owned()
                )
            );
        }
    }
}

pub(crate) fn trust(principal: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

#[test]
fn roles() {
    let w = world();
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    let created = w.ok(Op::CreateRole, json!({"RoleName": "app", "Path": "/svc/", "AssumeRolePolicyDocument": trust(&root), "Description": "the app", "MaxSessionDuration": "7200", "Tags": [{"Key": "k", "Value": "v"}]}));
    let role = &created["Role"];
    assert_eq!(role["Arn"], format!("arn:aws:iam::{ACCOUNT}:role/svc/app"));
    assert!(role["RoleId"].as_str().unwrap().starts_with("AROA"));
    assert_eq!(role["MaxSessionDuration"], 7200);
    assert!(role["AssumeRolePolicyDocument"]
        .as_str()
        .unwrap()
        .contains("sts%3AAssumeRole"));
    let (code, msg) = err(w.iam(
        Op::CreateRole,
        json!({"RoleName": "APP", "AssumeRolePolicyDocument": trust(&root)}),
    ));
    assert_eq!(
        (code, msg.as_str()),
        ("EntityAlreadyExists", "Role with name APP already exists.")
    );
    let (code, _) = err(w.iam(
        Op::CreateRole,
        json!({"RoleName": "x", "AssumeRolePolicyDocument": ALLOW_ALL}),
    ));
    assert_eq!(code, "MalformedPolicyDocumentException");
    let (code, _) = err(w.iam(Op::CreateRole, json!({"RoleName": "x", "AssumeRolePolicyDocument": trust(&root), "MaxSessionDuration": "60"})));
    assert_eq!(code, "ValidationException");
    let ghost = format!("arn:aws:iam::{ACCOUNT}:user/ghost");
    let (code, msg) = err(w.iam(
        Op::CreateRole,
        json!({"RoleName": "x", "AssumeRolePolicyDocument": trust(&ghost)}),
    ));
    assert_eq!(code, "MalformedPolicyDocumentException");
    assert_eq!(
        msg,
        format!("Invalid principal in policy: \"AWS\":\"{ghost}\"")
    );

    let got = w.ok(Op::GetRole, json!({"RoleName": "app"}));
    assert_eq!(got["Role"]["Description"], "the app");
    assert_eq!(got["Role"]["RoleLastUsed"], json!({}));
    assert_eq!(got["Role"]["Tags"], json!([{"Key": "k", "Value": "v"}]));
    let listed = w.ok(Op::ListRoles, json!({}));
    assert_eq!(listed["Roles"].as_array().unwrap().len(), 1);

    w.ok(Op::CreateUser, json!({"UserName": "alice"}));
    let alice = format!("arn:aws:iam::{ACCOUNT}:user/alice");
    w.ok(
        Op::UpdateAssumeRolePolicy,
        json!({"RoleName": "app", "PolicyDocument": trust(&alice)}),
    );
    let (code, _) = err(w.iam(
        Op::UpdateAssumeRolePolicy,
        json!({"RoleName": "nope", "PolicyDocument": trust(&alice)}),
    ));
    assert_eq!(code, "NoSuchEntity");

    w.ok(
        Op::PutRolePolicy,
        json!({"RoleName": "app", "PolicyName": "p", "PolicyDocument": ALLOW_ALL}),
    );
    assert_eq!(
        w.ok(
            Op::GetRolePolicy,
            json!({"RoleName": "app", "PolicyName": "p"})
        )["RoleName"],
        "app"
    );
    assert_eq!(
        w.ok(Op::ListRolePolicies, json!({"RoleName": "app"}))["PolicyNames"],
        json!(["p"])
    );
    let (code, msg) = err(w.iam(Op::DeleteRole, json!({"RoleName": "app"})));
    assert_eq!(
        (code, msg.as_str()),
        (
            "DeleteConflict",
            "Cannot delete entity, must delete policies first."
        )
    );
    w.ok(
        Op::DeleteRolePolicy,
        json!({"RoleName": "app", "PolicyName": "p"}),
    );
    let p = w.ok(
        Op::CreatePolicy,
        json!({"PolicyName": "m", "PolicyDocument": ALLOW_ALL}),
    );
    w.ok(
        Op::AttachRolePolicy,
        json!({"RoleName": "app", "PolicyArn": p["Policy"]["Arn"]}),
    );
    assert_eq!(
        w.ok(Op::ListAttachedRolePolicies, json!({"RoleName": "app"}))["AttachedPolicies"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (code, _) = err(w.iam(Op::DeleteRole, json!({"RoleName": "app"})));
    assert_eq!(code, "DeleteConflict");
    w.ok(
        Op::DetachRolePolicy,
        json!({"RoleName": "app", "PolicyArn": p["Policy"]["Arn"]}),
    );
    w.ok(Op::DeleteRole, json!({"RoleName": "app"}));
    let (code, msg) = err(w.iam(Op::GetRole, json!({"RoleName": "app"})));
    assert_eq!(
        (code, msg.as_str()),
        ("NoSuchEntity", "The role with name app cannot be found.")
    );
}

#[test]
fn malformed_parameters_are_refused_without_effect() {
    let w = world();
    let (code, _) = err(w.iam(Op::ListUsers, json!({"MaxItems": "many"})));
    assert_eq!(code, "ValidationException");
    let (code, _) = err(w.iam(Op::ListUsers, json!({"MaxItems": "0"})));
    assert_eq!(code, "ValidationException");
    let (code, _) = err(w.iam(Op::ListUsers, json!({"Marker": "%%%"})));
    assert_eq!(code, "InvalidInput");
    let (code, _) = err(w.iam(
        Op::CreateUser,
        json!({"UserName": "a", "PermissionsBoundary": format!("arn:aws:iam::{ACCOUNT}:policy/b")}),
    ));
    assert_eq!(code, "InvalidInput");
    assert_eq!(w.ok(Op::ListUsers, json!({}))["Users"], json!([]));
}
