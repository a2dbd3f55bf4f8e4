//! Gateway keys as the core checks them on every call ([`Core::gateway_identify`]): a key is
//! refused the same way (401) when it is unknown, malformed, disabled, expired or its identity
//! is gone; a valid key's call to an unknown route is refused as such, and kept for its record;
//! the store holds only the token's MAC. Driven through the core with a real SQLite store, so
//! that expiry can be checked at any instant without waiting for it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support code

use std::time::Instant;

use serde_json::json;
use tresor_core::gateway::{CallMeta, CreateKeyRequest, Refusal, UpdateKeyRequest};
use tresor_core::secretsmanager::dto::CreateSecretRequest;
use tresor_core::validate::Validated;
use tresor_core::{bootstrap, Core, Principal, PrincipalKind, RequestContext, StoreBackend};
use tresor_store::{GatewayStore, IdentityStore, SqliteStore, UserRecord};
use tresor_types::{AccountId, Region, Timestamp};

struct World {
    core: Core,
    account: AccountId,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreBackend::Sqlite(SqliteStore::open(&dir.path().join("t.db")).unwrap());
    let account = AccountId::parse("111122223333").unwrap();
    let (keyring, _creds) = bootstrap::dev(&store, &account, None).unwrap();
    let w = World {
        core: Core::new(store, keyring).unwrap(),
        account,
        _dir: dir,
    };
    w.core
        .store()
        .create_user(&UserRecord {
            account: w.account.clone(),
            user_name: "app".into(),
            user_id: "AIDAAPP".into(),
            arn: format!("arn:aws:iam::{}:user/app", w.account),
            path: "/".into(),
            tags: vec![],
            created: Timestamp::now(),
        })
        .unwrap();
    let secret: CreateSecretRequest = serde_json::from_value(json!({
        "Name": "ai/openai", "SecretString": "sk-upstream-test",
        "ClientRequestToken": uuid::Uuid::new_v4().to_string()
    }))
    .unwrap();
    w.core
        .create_secret(&w.root(), Validated::new(secret).unwrap())
        .unwrap();
    let route = serde_json::from_value(json!({
        "Name": "openai", "Provider": "openai", "SecretId": "ai/openai",
        "BaseUrl": "http://127.0.0.1:9/v1"
    }))
    .unwrap();
    w.core
        .gateway_create_route(&w.root(), Validated::new(route).unwrap())
        .unwrap();
    w
}

impl World {
    fn root(&self) -> RequestContext {
        RequestContext {
            principal: Principal {
                account: self.account.clone(),
                arn: format!("arn:aws:iam::{}:root", self.account),
                kind: PrincipalKind::Root,
                access_key_id: "AKIAROOT".into(),
                tags: vec![],
            },
            region: Region::parse("us-east-1").unwrap(),
            request_id: "test".into(),
            source_ip: Some("10.1.2.3".into()),
            user_agent: None,
            secure_transport: true,
            now: Timestamp::now(),
        }
    }

    /// A key for `app` on the route `openai`: (token, key id).
    fn key(&self, expires_in_seconds: Option<i64>) -> (String, String) {
        let req: CreateKeyRequest = serde_json::from_value(json!({
            "UserName": "app", "Routes": ["openai"], "ExpiresInSeconds": expires_in_seconds
        }))
        .unwrap();
        let created = self
            .core
            .gateway_create_key(&self.root(), Validated::new(req).unwrap())
            .unwrap();
        let shown = serde_json::to_value(&created).unwrap();
        (
            shown["Key"].as_str().unwrap().to_owned(),
            shown["KeyId"].as_str().unwrap().to_owned(),
        )
    }

    /// What `gateway_identify` says of `token` calling `route` at `now`.
    fn identify(&self, token: &str, route: &str, now: Timestamp) -> Result<String, Refusal> {
        let meta = CallMeta {
            request_id: uuid::Uuid::new_v4().to_string(),
            source_ip: "10.1.2.3".parse().unwrap(),
            user_agent: None,
            secure: false,
            started: Instant::now(),
            path: "/v1/chat/completions".into(),
        };
        match self
            .core
            .gateway_identify(Some(token.as_bytes()), route, meta, now)
        {
            Ok(inv) => Ok(inv.ctx.principal.arn.clone()),
            Err(refused) => Err(refused.refusal.clone()),
        }
    }
}

#[test]
fn a_key_names_its_identity_until_it_expires() {
    let w = world();
    let (token, _) = w.key(Some(60));
    let now = Timestamp::now();
    assert_eq!(
        w.identify(&token, "openai", now),
        Ok(format!("arn:aws:iam::{}:user/app", w.account))
    );
    assert_eq!(
        w.identify(&token, "openai", now.plus_seconds(61)),
        Err(Refusal::Unauthenticated),
        "an expired key is refused like an unknown one"
    );
}

#[test]
fn unknown_malformed_disabled_and_orphaned_keys_are_refused_alike() {
    let w = world();
    let (token, key_id) = w.key(None);
    let now = Timestamp::now();
    assert!(w.identify(&token, "openai", now).is_ok());
    // One character changed: another token, whose MAC names no key.
    let mut other = token.clone().into_bytes();
    let last = other.len() - 1;
    other[last] = if other[last] == b'A' { b'B' } else { b'A' };
    let other = String::from_utf8(other).unwrap();
    for bad in [other.as_str(), "tgk_short", "sk-not-a-gateway-key", ""] {
        assert_eq!(
            w.identify(bad, "openai", now),
            Err(Refusal::Unauthenticated),
            "{bad}"
        );
    }
    // Disabled: refused on the next call; enabled again: admitted.
    let status = |s: &str| -> Validated<UpdateKeyRequest> {
        Validated::new(serde_json::from_value(json!({"KeyId": key_id, "Status": s})).unwrap())
            .unwrap()
    };
    w.core
        .gateway_update_key(&w.root(), status("Inactive"))
        .unwrap();
    assert_eq!(
        w.identify(&token, "openai", now),
        Err(Refusal::Unauthenticated)
    );
    w.core
        .gateway_update_key(&w.root(), status("Active"))
        .unwrap();
    assert!(w.identify(&token, "openai", now).is_ok());
    // Its identity deleted: the key names no one, and is refused.
    w.core.store().delete_user(&w.account, "app").unwrap();
    assert_eq!(
        w.identify(&token, "openai", now),
        Err(Refusal::Unauthenticated)
    );
}

#[test]
fn a_valid_keys_call_to_an_unknown_route_is_kept_for_its_record() {
    let w = world();
    let (token, key_id) = w.key(None);
    let meta = CallMeta {
        request_id: "r-unrouted".into(),
        source_ip: "10.1.2.3".parse().unwrap(),
        user_agent: None,
        secure: false,
        started: Instant::now(),
        path: "/v1/chat/completions".into(),
    };
    let refused = w
        .core
        .gateway_identify(Some(token.as_bytes()), "nosuch", meta, Timestamp::now())
        .unwrap_err();
    assert_eq!(refused.refusal, Refusal::NoRoute("nosuch".into()));
    let inv = refused
        .inv
        .as_ref()
        .expect("the key's call, for its record");
    assert_eq!(inv.key.key_id, key_id);
}

#[test]
fn the_store_keeps_the_tokens_mac_never_the_token() {
    let w = world();
    let (token, key_id) = w.key(None);
    let stored = w.core.store().get_gateway_key(&key_id).unwrap().unwrap();
    assert_eq!(stored.mac.len(), 32);
    assert!(!stored
        .mac
        .windows(16)
        .any(|win| token.as_bytes().windows(16).any(|t| t == win)));
    assert_eq!(
        stored.mac,
        w.core.keyring().gateway_key_mac(token.as_bytes())
    );
    assert!(!format!("{stored:?}").contains(&token[4..]));
}
