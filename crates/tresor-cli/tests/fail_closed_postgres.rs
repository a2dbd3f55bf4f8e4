//! Fail-closed audit on PostgreSQL, as `tests/compat/test_audit_fail_closed.py` shows it on
//! SQLite: while the audit trail cannot be written (a trigger of the test's own database
//! refuses every insert into `audit_records`), every call that serves a value or changes state
//! is refused with `InternalServiceError` (500), no value is served, and not one row of the
//! store changes; once the trigger is gone, service resumes, the refused calls are recorded as
//! the failures their callers saw, and the chain verifies.
//!
//! PostgreSQL policy as in `tresor-store`'s conformance suite: without a reachable server the
//! test prints a SKIPPED line and passes, unless `CI=true` or `TRESOR_REQUIRE_POSTGRES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::types::Tag;
use common::pg::TestDb;
use common::{iam_client, sdk_client, unique, ServerOptions};

const PASSPHRASE: &str = "fail closed passphrase";

/// The operations refused while the trail is blocked (their audit event names).
const VALUE_SERVING: [&str; 4] = [
    "GetSecretValue",
    "BatchGetSecretValue",
    "DescribeSecret",
    "ListSecrets",
];
const STATE_CHANGING: [&str; 7] = [
    "CreateSecret",
    "PutSecretValue",
    "UpdateSecret",
    "UpdateSecretVersionStage",
    "TagResource",
    "DeleteSecret",
    "CreateUser",
];

fn block_audit(db: &TestDb) {
    db.connect()
        .batch_execute(
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'audit storage unavailable (test)'; END $$; \
             CREATE TRIGGER block_audit BEFORE INSERT ON audit_records \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit();",
        )
        .expect("block the audit trail");
}

fn unblock_audit(db: &TestDb) {
    db.connect()
        .batch_execute("DROP TRIGGER block_audit ON audit_records; DROP FUNCTION refuse_audit();")
        .expect("unblock the audit trail");
}

/// Every row of every table but the audit trail's, as text, by table: what "nothing changed"
/// is checked against.
fn store_rows(db: &TestDb) -> BTreeMap<String, Vec<String>> {
    let mut client = db.connect();
    let tables: Vec<String> = db
        .tables()
        .into_iter()
        .filter(|t| !t.starts_with("audit"))
        .collect();
    assert!(tables.iter().any(|t| t == "secret_versions"), "{tables:?}");
    tables
        .into_iter()
        .map(|t| {
            let rows = client
                .query(&format!("SELECT t::text FROM \"{t}\" t ORDER BY 1"), &[])
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect();
            (t, rows)
        })
        .collect()
}

/// The audit events recorded with `eventName` in `names`, as JSON.
fn recorded(db: &TestDb, names: &[&str]) -> Vec<serde_json::Value> {
    db.connect()
        .query(
            "SELECT event_json FROM audit_records WHERE event_name = ANY($1) ORDER BY seq",
            &[&names],
        )
        .unwrap()
        .iter()
        .map(|row| serde_json::from_str(row.get::<_, &str>(0)).unwrap())
        .collect()
}

fn audit_count(db: &TestDb) -> i64 {
    db.connect()
        .query_one("SELECT count(*) FROM audit_records", &[])
        .unwrap()
        .get(0)
}

/// Asserts a refused call failed as a server error and did not carry `value`.
fn assert_refused<E: ProvideErrorMetadata + std::fmt::Debug>(
    op: &str,
    result: Result<impl std::fmt::Debug, SdkError<E, HttpResponse>>,
    value: &str,
) {
    let e = match result {
        Ok(out) => panic!("{op} succeeded while the audit trail was blocked: {out:?}"),
        Err(e) => e,
    };
    let status = e.raw_response().map(|r| r.status().as_u16());
    assert_eq!(status, Some(500), "{op}: {e:?}");
    assert!(
        matches!(e.code(), Some("InternalServiceError" | "InternalFailure")),
        "{op}: {e:?}"
    );
    assert!(!format!("{e:?}").contains(value), "{op} carried the value");
}

#[test]
fn with_the_trail_blocked_on_postgres_nothing_is_served_and_nothing_changes() {
    let Some(db) = TestDb::create("tresor_failclosed") else {
        return;
    };
    let creds = common::pg::init_store(&db.url, PASSPHRASE);
    let mut server = ServerOptions::postgres(&db.url, PASSPHRASE).start();
    let sm = sdk_client(&server.url, &creds);
    let iam = iam_client(&server.url, &creds);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let value = unique("sk-failclosed");
    let name = unique("fc");
    let new_name = unique("fc-new");
    let user = unique("fc-user");
    let (arn, first) = rt.block_on(async {
        let out = sm
            .create_secret()
            .name(&name)
            .secret_string(&value)
            .send()
            .await
            .expect("create");
        // Read once, so the day of access is recorded before the snapshot.
        let got = sm
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .expect("get");
        assert_eq!(got.secret_string(), Some(value.as_str()));
        (
            out.arn().unwrap().to_owned(),
            out.version_id().unwrap().to_owned(),
        )
    });
    let before = store_rows(&db);
    let records_before = audit_count(&db);

    block_audit(&db);
    rt.block_on(async {
        assert_refused(
            "GetSecretValue",
            sm.get_secret_value().secret_id(&arn).send().await,
            &value,
        );
        assert_refused(
            "BatchGetSecretValue",
            sm.batch_get_secret_value()
                .secret_id_list(&arn)
                .send()
                .await,
            &value,
        );
        assert_refused(
            "DescribeSecret",
            sm.describe_secret().secret_id(&arn).send().await,
            &value,
        );
        assert_refused("ListSecrets", sm.list_secrets().send().await, &value);
        assert_refused(
            "CreateSecret",
            sm.create_secret()
                .name(&new_name)
                .secret_string("never")
                .send()
                .await,
            &value,
        );
        assert_refused(
            "PutSecretValue",
            sm.put_secret_value()
                .secret_id(&arn)
                .secret_string("never")
                .send()
                .await,
            &value,
        );
        assert_refused(
            "UpdateSecret",
            sm.update_secret()
                .secret_id(&arn)
                .description("never")
                .send()
                .await,
            &value,
        );
        assert_refused(
            "UpdateSecretVersionStage",
            sm.update_secret_version_stage()
                .secret_id(&arn)
                .version_stage("NEVER")
                .move_to_version_id(&first)
                .send()
                .await,
            &value,
        );
        assert_refused(
            "TagResource",
            sm.tag_resource()
                .secret_id(&arn)
                .tags(Tag::builder().key("k").value("v").build())
                .send()
                .await,
            &value,
        );
        assert_refused(
            "DeleteSecret",
            sm.delete_secret()
                .secret_id(&arn)
                .force_delete_without_recovery(true)
                .send()
                .await,
            &value,
        );
        assert_refused(
            "CreateUser",
            iam.create_user().user_name(&user).send().await,
            &value,
        );
    });
    let after = store_rows(&db);
    let changed: Vec<&String> = after
        .iter()
        .filter(|(table, rows)| before.get(*table) != Some(rows))
        .map(|(table, _)| table)
        .collect();
    assert!(
        changed.is_empty() && after.len() == before.len(),
        "the store changed while the trail was blocked: {changed:?}"
    );
    assert_eq!(
        audit_count(&db),
        records_before,
        "records were appended while the trail was blocked"
    );
    assert!(!String::from_utf8_lossy(&server.stderr()).contains(&value));

    unblock_audit(&db);
    rt.block_on(async {
        let got = sm
            .get_secret_value()
            .secret_id(&arn)
            .send()
            .await
            .expect("served again once the trail takes writes");
        assert_eq!(got.secret_string(), Some(value.as_str()));
        let err = sm
            .describe_secret()
            .secret_id(&new_name)
            .send()
            .await
            .expect_err("never created");
        assert_eq!(err.code(), Some("ResourceNotFoundException"));
        let err = iam
            .get_user()
            .user_name(&user)
            .send()
            .await
            .expect_err("never created");
        assert_eq!(err.code(), Some("NoSuchEntity"));
    });

    // The refused calls are recorded once the trail takes writes again, as the failures their
    // callers saw, without a response and without the value.
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let refused: Vec<_> = recorded(&db, &[&VALUE_SERVING[..], &STATE_CHANGING[..]].concat())
            .into_iter()
            .filter(|e| e["errorCode"] == "InternalServiceError")
            .collect();
        if refused.len() >= VALUE_SERVING.len() + STATE_CHANGING.len() || Instant::now() > deadline
        {
            break refused;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    for name in VALUE_SERVING.iter().chain(&STATE_CHANGING) {
        let of: Vec<_> = refused.iter().filter(|e| e["eventName"] == *name).collect();
        assert_eq!(of.len(), 1, "records of the refused {name}: {refused:?}");
        assert!(
            of[0].get("responseElements").is_none_or(|r| r.is_null()),
            "{}",
            of[0]
        );
        assert!(!of[0].to_string().contains(&value));
    }
    let served: Vec<_> = recorded(&db, &["GetSecretValue"])
        .into_iter()
        .filter(|e| e.get("errorCode").is_none())
        .collect();
    assert_eq!(
        served.len(),
        2,
        "only the reads before and after the block served"
    );

    assert!(server.stop().success());
    common::pg::verify_trail(&db.url, PASSPHRASE);
}
