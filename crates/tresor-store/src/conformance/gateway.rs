//! The AI gateway's configuration: routes, gateway keys and price overrides.

use tresor_types::{AccountId, Timestamp};

use crate::{
    GatewayKeyRecord, GatewayStore, Missing, PriceRecord, PrincipalBudgetRecord, PrincipalKind,
    RouteRecord, StoreError,
};

use super::fixtures::T0;

pub(super) fn account(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

pub(super) fn route(account_id: &str, name: &str) -> RouteRecord {
    RouteRecord {
        account: account(account_id),
        region: "us-east-1".to_owned(),
        name: name.to_owned(),
        arn: format!("arn:aws:gateway:us-east-1:{account_id}:route/{name}"),
        provider: "openai".to_owned(),
        secret_id: format!("ai/{name}/prod"),
        base_url: "https://api.openai.com/v1".to_owned(),
        allow_http: false,
        ca_pem: None,
        description: None,
        created: T0,
        updated: T0,
    }
}

/// An active key of user `alice` in account 111111111111, with every limit off.
pub(super) fn gateway_key(key_id: &str) -> GatewayKeyRecord {
    GatewayKeyRecord {
        key_id: key_id.to_owned(),
        account: account("111111111111"),
        region: "us-east-1".to_owned(),
        mac: format!("mac of {key_id}").into_bytes(),
        principal_kind: PrincipalKind::User,
        principal_name: "alice".to_owned(),
        routes: vec!["*".to_owned()],
        models: Vec::new(),
        budget_micro_usd: None,
        budget_period: "month".to_owned(),
        rpm: None,
        tpm: None,
        expires: None,
        status: "Active".to_owned(),
        description: None,
        created: T0,
    }
}

fn price(account_id: &str, model: &str, input: i64, output: i64) -> PriceRecord {
    PriceRecord {
        account: account(account_id),
        model: model.to_owned(),
        input_micro_per_mtok: input,
        output_micro_per_mtok: output,
        cached_input_micro_per_mtok: None,
        updated: T0,
    }
}

/// A refusal of bad input: a `Backend` error whose message names the field.
pub(super) fn assert_invalid<T: std::fmt::Debug>(r: crate::Result<T>, field: &str) {
    match r {
        Err(StoreError::Backend(message)) => assert!(
            message.contains(field),
            "the error does not name {field}: {message}"
        ),
        other => panic!("expected a refusal naming {field}, got {other:?}"),
    }
}

// ---- routes ----

/// Routes: create, read, list by name per account, replace, delete; a taken name is
/// `Conflict`, a missing one `NotFound(GatewayRoute)`.
pub fn gateway_routes_round_trip_and_conflict<S: GatewayStore>(store: &S) {
    let home = account("111111111111");
    let mut openai = route("111111111111", "openai");
    openai.ca_pem = Some("-----BEGIN CERTIFICATE-----".to_owned());
    let mut anthropic = route("111111111111", "anthropic");
    anthropic.provider = "anthropic".to_owned();
    anthropic.base_url = "https://api.anthropic.com".to_owned();
    anthropic.description = Some("Claude".to_owned());
    let elsewhere = route("222222222222", "openai");
    for r in [&openai, &anthropic, &elsewhere] {
        store.create_route(r).unwrap();
    }

    assert_eq!(
        store.get_route(&home, "openai").unwrap(),
        Some(openai.clone())
    );
    assert_eq!(store.get_route(&home, "missing").unwrap(), None);
    assert_eq!(
        store.list_routes(&home).unwrap(),
        vec![anthropic.clone(), openai.clone()],
        "by name, this account's only"
    );
    assert_eq!(
        store.list_routes(&account("222222222222")).unwrap(),
        vec![elsewhere.clone()]
    );

    let mut taken = route("111111111111", "openai");
    taken.arn.push_str("-other");
    let r = store.create_route(&taken);
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");

    // Replace: every field but the name and the creation time.
    let mut replaced = openai.clone();
    replaced.secret_id = "ai/openai/staging".to_owned();
    replaced.base_url = "http://127.0.0.1:8000/v1".to_owned();
    replaced.allow_http = true;
    replaced.ca_pem = None;
    replaced.description = Some("local vLLM".to_owned());
    replaced.updated = Timestamp(T0.0 + 5_000);
    store.update_route(&replaced).unwrap();
    assert_eq!(store.get_route(&home, "openai").unwrap(), Some(replaced));

    let r = store.update_route(&route("111111111111", "missing"));
    assert!(
        matches!(&r, Err(StoreError::NotFound(Missing::GatewayRoute(name))) if name == "missing"),
        "{r:?}"
    );

    store.delete_route(&home, "openai").unwrap();
    assert_eq!(store.get_route(&home, "openai").unwrap(), None);
    assert_eq!(store.list_routes(&home).unwrap(), vec![anthropic]);
    let r = store.delete_route(&home, "openai");
    assert!(
        matches!(&r, Err(StoreError::NotFound(Missing::GatewayRoute(name))) if name == "openai"),
        "{r:?}"
    );
    // The other account's route of that name is untouched.
    assert_eq!(
        store.get_route(&account("222222222222"), "openai").unwrap(),
        Some(elsewhere)
    );
}

/// A route without a name or with an unknown provider is refused, naming the field.
pub fn gateway_routes_refuse_bad_input<S: GatewayStore>(store: &S) {
    let mut nameless = route("111111111111", "");
    assert_invalid(store.create_route(&nameless), "name");
    nameless.name = "ok".to_owned();
    nameless.provider = "mistral".to_owned();
    assert_invalid(store.create_route(&nameless), "provider");
    store.create_route(&route("111111111111", "ok")).unwrap();
    assert_invalid(store.update_route(&nameless), "provider");
    assert_eq!(
        store
            .get_route(&account("111111111111"), "ok")
            .unwrap()
            .unwrap()
            .provider,
        "openai"
    );
}

// ---- keys ----

/// Keys: create, by id, by MAC, listed per account or per principal (names compared as IAM
/// does, without case), replaced; a taken id or MAC is `Conflict`.
pub fn gateway_keys_round_trip_and_lookups<S: GatewayStore>(store: &S) {
    let home = account("111111111111");
    let mut a = gateway_key("gk-a");
    a.models = vec!["gpt-4o-mini".to_owned(), "gpt-4.1*".to_owned()];
    a.routes = vec!["openai".to_owned(), "anthropic".to_owned()];
    a.budget_micro_usd = Some(50_000_000);
    a.rpm = Some(600);
    a.tpm = Some(200_000);
    a.expires = Some(Timestamp(T0.0 + 90 * 86_400_000));
    a.description = Some("chat service".to_owned());
    let mut b = gateway_key("gk-b");
    b.principal_name = "Alice".to_owned();
    let mut role = gateway_key("gk-c");
    role.principal_kind = PrincipalKind::Role;
    role.principal_name = "alice".to_owned();
    let mut other = gateway_key("gk-d");
    other.account = account("222222222222");
    for k in [&role, &a, &other, &b] {
        store.create_gateway_key(k).unwrap();
    }

    assert_eq!(store.get_gateway_key("gk-a").unwrap(), Some(a.clone()));
    assert_eq!(store.get_gateway_key("gk-missing").unwrap(), None);
    assert_eq!(
        store.find_gateway_key_by_mac(&b.mac).unwrap(),
        Some(b.clone())
    );
    assert_eq!(store.find_gateway_key_by_mac(b"no such mac").unwrap(), None);

    let ids = |keys: Vec<GatewayKeyRecord>| keys.into_iter().map(|k| k.key_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_gateway_keys(&home, None).unwrap()),
        ["gk-a", "gk-b", "gk-c"]
    );
    assert_eq!(
        ids(store
            .list_gateway_keys(&home, Some((PrincipalKind::User, "ALICE")))
            .unwrap()),
        ["gk-a", "gk-b"],
        "a user's keys, whatever the case of the name"
    );
    assert_eq!(
        ids(store
            .list_gateway_keys(&home, Some((PrincipalKind::Role, "alice")))
            .unwrap()),
        ["gk-c"]
    );
    assert!(store
        .list_gateway_keys(&home, Some((PrincipalKind::User, "bob")))
        .unwrap()
        .is_empty());

    let mut same_id = gateway_key("gk-a");
    same_id.mac = b"a fresh mac".to_vec();
    let r = store.create_gateway_key(&same_id);
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    let mut same_mac = gateway_key("gk-e");
    same_mac.mac.clone_from(&a.mac);
    let r = store.create_gateway_key(&same_mac);
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    assert_eq!(store.get_gateway_key("gk-e").unwrap(), None);

    // Replace the mutable fields; the identity fields stay as created.
    let mut changed = a.clone();
    changed.routes = vec!["*".to_owned()];
    changed.models = Vec::new();
    changed.budget_micro_usd = None;
    changed.budget_period = "total".to_owned();
    changed.rpm = None;
    changed.tpm = Some(1);
    changed.expires = None;
    changed.status = "Inactive".to_owned();
    changed.description = None;
    let mut attempt = changed.clone();
    attempt.mac = b"another mac".to_vec();
    attempt.principal_name = "mallory".to_owned();
    attempt.created = Timestamp(0);
    store.update_gateway_key(&attempt).unwrap();
    assert_eq!(store.get_gateway_key("gk-a").unwrap(), Some(changed));
    assert_eq!(
        store
            .find_gateway_key_by_mac(&a.mac)
            .unwrap()
            .unwrap()
            .key_id,
        "gk-a"
    );

    let r = store.update_gateway_key(&gateway_key("gk-missing"));
    assert!(
        matches!(&r, Err(StoreError::NotFound(Missing::GatewayKey(id))) if id == "gk-missing"),
        "{r:?}"
    );
    let r = store.delete_gateway_key("gk-missing");
    assert!(
        matches!(&r, Err(StoreError::NotFound(Missing::GatewayKey(id))) if id == "gk-missing"),
        "{r:?}"
    );
    store.delete_gateway_key("gk-b").unwrap();
    assert_eq!(store.get_gateway_key("gk-b").unwrap(), None);
    assert_eq!(store.find_gateway_key_by_mac(&b.mac).unwrap(), None);
}

/// A key of a group, with an unknown status or budget period, or a negative limit, is refused
/// naming the field; the MAC never shows in a key's `Debug`.
pub fn gateway_keys_refuse_bad_input<S: GatewayStore>(store: &S) {
    let mut group = gateway_key("gk-g");
    group.principal_kind = PrincipalKind::Group;
    assert_invalid(store.create_gateway_key(&group), "user or a role");
    let mut period = gateway_key("gk-p");
    period.budget_period = "year".to_owned();
    assert_invalid(store.create_gateway_key(&period), "budget period");
    let mut status = gateway_key("gk-s");
    status.status = "active".to_owned();
    assert_invalid(store.create_gateway_key(&status), "status");
    let mut budget = gateway_key("gk-n");
    budget.budget_micro_usd = Some(-1);
    assert_invalid(store.create_gateway_key(&budget), "budget");
    let mut rpm = gateway_key("gk-r");
    rpm.rpm = Some(-5);
    assert_invalid(store.create_gateway_key(&rpm), "requests per minute");
    let mut no_mac = gateway_key("gk-m");
    no_mac.mac = Vec::new();
    assert_invalid(store.create_gateway_key(&no_mac), "MAC");
    let home = account("111111111111");
    assert!(store.list_gateway_keys(&home, None).unwrap().is_empty());

    let good = gateway_key("gk-ok");
    store.create_gateway_key(&good).unwrap();
    let mut bad_update = good.clone();
    bad_update.tpm = Some(-1);
    assert_invalid(store.update_gateway_key(&bad_update), "tokens per minute");
    assert_eq!(store.get_gateway_key("gk-ok").unwrap(), Some(good.clone()));

    let shown = format!("{good:?}");
    assert!(!shown.contains("mac of"), "the MAC is in Debug: {shown}");
}

// ---- budgets of users and roles ----

/// A user's or role's budget: put inserts or replaces (the name matched case-insensitively,
/// as IAM names are), listed by kind and name per account, delete; a missing one is
/// `NotFound(PrincipalBudget)`; a negative budget, an unknown period, a group or an empty name
/// is refused.
pub fn gateway_principal_budgets_put_replace_list_delete<S: GatewayStore>(store: &S) {
    let home = account("111111111111");
    let budget = |kind, name: &str, micro: i64| PrincipalBudgetRecord {
        account: home.clone(),
        principal_kind: kind,
        principal_name: name.to_owned(),
        budget_micro_usd: micro,
        budget_period: "month".to_owned(),
        updated: T0,
    };
    let alice = budget(PrincipalKind::User, "Alice", 50_000_000);
    let ci = budget(PrincipalKind::Role, "ci", 5_000_000);
    store.put_principal_budget(&alice).unwrap();
    store.put_principal_budget(&ci).unwrap();
    assert_eq!(
        store
            .get_principal_budget(&home, PrincipalKind::User, "alice")
            .unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store
            .get_principal_budget(&home, PrincipalKind::Role, "Alice")
            .unwrap(),
        None,
        "a role is not the user of the same name"
    );
    let raised = PrincipalBudgetRecord {
        budget_micro_usd: 80_000_000,
        budget_period: "week".to_owned(),
        ..budget(PrincipalKind::User, "ALICE", 0)
    };
    store.put_principal_budget(&raised).unwrap();
    assert_eq!(
        store.list_principal_budgets(&home).unwrap(),
        vec![ci.clone(), raised.clone()]
    );
    assert!(store
        .list_principal_budgets(&account("222222222222"))
        .unwrap()
        .is_empty());
    store
        .delete_principal_budget(&home, PrincipalKind::Role, "CI")
        .unwrap();
    assert!(matches!(
        store.delete_principal_budget(&home, PrincipalKind::Role, "ci"),
        Err(StoreError::NotFound(Missing::PrincipalBudget { .. }))
    ));
    for (bad, field) in [
        (budget(PrincipalKind::User, "bob", -1), "budget"),
        (budget(PrincipalKind::Group, "bob", 1), "user or a role"),
        (budget(PrincipalKind::User, "", 1), "name"),
        (
            PrincipalBudgetRecord {
                budget_period: "year".to_owned(),
                ..budget(PrincipalKind::User, "bob", 1)
            },
            "period",
        ),
    ] {
        assert_invalid(store.put_principal_budget(&bad), field);
    }
    assert_eq!(store.list_principal_budgets(&home).unwrap(), vec![raised]);
}

// ---- prices ----

/// Price overrides: put inserts or replaces, listed by model per account, delete; a missing
/// one is `NotFound(Price)`; a negative price or an empty model is refused.
pub fn gateway_prices_put_replace_list_delete<S: GatewayStore>(store: &S) {
    let home = account("111111111111");
    let mini = price("111111111111", "gpt-4o-mini", 150_000, 600_000);
    let mut family = price("111111111111", "gpt-4.1*", 2_000_000, 8_000_000);
    family.cached_input_micro_per_mtok = Some(500_000);
    let elsewhere = price("222222222222", "gpt-4o-mini", 1, 2);
    for p in [&mini, &family, &elsewhere] {
        store.put_price(p).unwrap();
    }
    assert_eq!(
        store.list_prices(&home).unwrap(),
        vec![family.clone(), mini.clone()]
    );

    let mut cheaper = mini.clone();
    cheaper.input_micro_per_mtok = 100_000;
    cheaper.cached_input_micro_per_mtok = Some(50_000);
    cheaper.updated = Timestamp(T0.0 + 1);
    store.put_price(&cheaper).unwrap();
    assert_eq!(
        store.list_prices(&home).unwrap(),
        vec![family.clone(), cheaper]
    );
    assert_eq!(
        store.list_prices(&account("222222222222")).unwrap(),
        vec![elsewhere]
    );

    store.delete_price(&home, "gpt-4o-mini").unwrap();
    assert_eq!(store.list_prices(&home).unwrap(), vec![family]);
    let r = store.delete_price(&home, "gpt-4o-mini");
    assert!(
        matches!(&r, Err(StoreError::NotFound(Missing::Price(model))) if model == "gpt-4o-mini"),
        "{r:?}"
    );

    assert_invalid(
        store.put_price(&price("111111111111", "m", -1, 0)),
        "input price",
    );
    assert_invalid(store.put_price(&price("111111111111", "", 1, 1)), "model");
    assert_eq!(store.list_prices(&home).unwrap().len(), 1);
}
