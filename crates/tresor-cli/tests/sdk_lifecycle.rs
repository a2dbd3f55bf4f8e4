//! The secret lifecycle through the Rust AWS SDK against the real binary: create, read by name /
//! ARN / partial ARN, new versions and staging labels, describe, list, delete / restore, and the
//! typed errors SDK users branch on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_secretsmanager::error::ProvideErrorMetadata as _;
use aws_sdk_secretsmanager::operation::batch_get_secret_value::BatchGetSecretValueOutput;
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretError;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueError;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use aws_sdk_secretsmanager::Client;
use common::{unique, ServerOptions};

const NOT_FOUND: &str = "Secrets Manager can't find the specified secret.";
const MARKED_FOR_DELETION: &str =
    "You can't perform this operation on the secret because it was marked for deletion.";

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

/// The staging labels of every version the secret lists (deprecated ones included).
async fn stages_by_version(client: &Client, id: &str) -> HashMap<String, Vec<String>> {
    let out = client
        .describe_secret()
        .secret_id(id)
        .send()
        .await
        .expect("describe");
    let mut map: HashMap<String, Vec<String>> =
        out.version_ids_to_stages().cloned().unwrap_or_default();
    for v in map.values_mut() {
        v.sort();
    }
    map
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_string_secret_and_read_by_name_full_arn_and_partial_arn() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let name = unique("app/openai");

    let created = client
        .create_secret()
        .name(&name)
        .description("OpenAI key for the app")
        .secret_string("sk-live-abcdef")
        .tags(tag("team", "ml"))
        .tags(tag("env", "prod"))
        .send()
        .await
        .expect("create");
    let arn = created.arn().expect("arn").to_owned();
    assert_eq!(created.name(), Some(name.as_str()));
    let version = created.version_id().expect("version id").to_owned();

    // arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>
    let prefix = format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-");
    assert!(arn.starts_with(&prefix), "unexpected ARN {arn}");
    let suffix = &arn[prefix.len()..];
    assert_eq!(suffix.len(), 6, "ARN suffix of {arn}");
    assert!(suffix.chars().all(|c| c.is_ascii_alphanumeric()), "{arn}");
    let partial_arn = &arn[..arn.len() - 7];

    for id in [name.as_str(), arn.as_str(), partial_arn] {
        let got = client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get by {id}: {e:?}"));
        assert_eq!(got.secret_string(), Some("sk-live-abcdef"), "by {id}");
        assert!(got.secret_binary().is_none());
        assert_eq!(got.arn(), Some(arn.as_str()), "by {id}");
        assert_eq!(got.name(), Some(name.as_str()), "by {id}");
        assert_eq!(got.version_id(), Some(version.as_str()), "by {id}");
        assert_eq!(got.version_stages(), ["AWSCURRENT".to_owned()], "by {id}");
        let created_at = got.created_date().expect("created date").secs();
        assert!(
            (created_at - now_secs()).abs() < 120,
            "created {created_at}"
        );
    }

    // A partial ARN with a wrong suffix is not the same secret.
    let wrong = format!("{prefix}zzzzzz");
    let err = client
        .get_secret_value()
        .secret_id(&wrong)
        .send()
        .await
        .expect_err("wrong suffix must not resolve");
    let err = err.into_service_error();
    assert!(
        matches!(err, GetSecretValueError::ResourceNotFoundException(_)),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_secret_round_trips_as_bytes() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let name = unique("bin");
    let bytes: Vec<u8> = (0u8..=255).rev().chain([0, 0, 0xff, 0xfe]).collect();
    client
        .create_secret()
        .name(&name)
        .secret_binary(Blob::new(bytes.clone()))
        .send()
        .await
        .expect("create binary");
    let got = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("get");
    assert_eq!(got.secret_binary().map(|b| b.as_ref()), Some(&bytes[..]));
    assert_eq!(got.secret_string(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_secret_value_moves_current_and_previous() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let name = unique("rotating");
    let v1 = client
        .create_secret()
        .name(&name)
        .secret_string("one")
        .send()
        .await
        .expect("create")
        .version_id()
        .expect("v1")
        .to_owned();
    let put = client
        .put_secret_value()
        .secret_id(&name)
        .secret_string("two")
        .send()
        .await
        .expect("put two");
    let v2 = put.version_id().expect("v2").to_owned();
    assert_ne!(v1, v2);
    assert_eq!(put.version_stages(), ["AWSCURRENT".to_owned()]);

    let current = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("get current");
    assert_eq!(current.secret_string(), Some("two"));
    assert_eq!(current.version_id(), Some(v2.as_str()));

    let previous = client
        .get_secret_value()
        .secret_id(&name)
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .expect("get previous");
    assert_eq!(previous.secret_string(), Some("one"));
    assert_eq!(previous.version_id(), Some(v1.as_str()));
    assert_eq!(previous.version_stages(), ["AWSPREVIOUS".to_owned()]);

    let by_id = client
        .get_secret_value()
        .secret_id(&name)
        .version_id(&v1)
        .send()
        .await
        .expect("get by version id");
    assert_eq!(by_id.secret_string(), Some("one"));

    // A caller-chosen ClientRequestToken becomes the version id; repeating it with the same
    // value is idempotent, with another value it is an error.
    let token = uuid::Uuid::new_v4().to_string();
    let v3 = client
        .put_secret_value()
        .secret_id(&name)
        .secret_string("three")
        .client_request_token(&token)
        .send()
        .await
        .expect("put three");
    assert_eq!(v3.version_id(), Some(token.as_str()));
    client
        .put_secret_value()
        .secret_id(&name)
        .secret_string("three")
        .client_request_token(&token)
        .send()
        .await
        .expect("idempotent repeat");
    let err = client
        .put_secret_value()
        .secret_id(&name)
        .secret_string("three, changed")
        .client_request_token(&token)
        .send()
        .await
        .expect_err("same token, other value")
        .into_service_error();
    assert!(
        matches!(err, PutSecretValueError::ResourceExistsException(_)),
        "{err:?}"
    );

    let stages = stages_by_version(&client, &name).await;
    assert_eq!(stages.get(&token), Some(&vec!["AWSCURRENT".to_owned()]));
    assert_eq!(stages.get(&v2), Some(&vec!["AWSPREVIOUS".to_owned()]));
    // v1 lost its last label: deprecated, hidden unless asked for.
    assert!(stages.get(&v1).is_none_or(|s| s.is_empty()), "{stages:?}");
    let listed = client
        .list_secret_version_ids()
        .secret_id(&name)
        .send()
        .await
        .expect("list versions");
    let ids: Vec<&str> = listed
        .versions()
        .iter()
        .filter_map(|v| v.version_id())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(!ids.contains(&v1.as_str()));
    let all = client
        .list_secret_version_ids()
        .secret_id(&name)
        .include_deprecated(true)
        .send()
        .await
        .expect("list versions incl. deprecated");
    assert_eq!(all.versions().len(), 3);
    assert!(all
        .versions()
        .iter()
        .any(|v| v.version_id() == Some(v1.as_str()) && v.version_stages().is_empty()));
}

/// AWS keeps at most 100 versions but never removes one younger than 24 hours: 131 writes in
/// a row keep all 131, and the SDK's paginator walks them, deprecated ones included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_puts_keep_every_version_and_the_paginator_walks_them() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let name = unique("many");
    let created = client
        .create_secret()
        .name(&name)
        .secret_string("v0")
        .send()
        .await
        .expect("create");
    let mut ids = vec![created.version_id().expect("version").to_owned()];
    for i in 1..131 {
        let put = client
            .put_secret_value()
            .secret_id(&name)
            .secret_string(format!("v{i}"))
            .send()
            .await
            .expect("put");
        ids.push(put.version_id().expect("version").to_owned());
    }
    let pages = client
        .list_secret_version_ids()
        .secret_id(&name)
        .include_deprecated(true)
        .into_paginator()
        .page_size(50)
        .send()
        .try_collect()
        .await
        .expect("pages");
    let sizes: Vec<usize> = pages.iter().map(|p| p.versions().len()).collect();
    assert_eq!(sizes, [50, 50, 31]);
    let listed: Vec<_> = pages.iter().flat_map(|p| p.versions()).collect();
    let mut listed_ids: Vec<String> = listed
        .iter()
        .map(|v| v.version_id().expect("id").to_owned())
        .collect();
    listed_ids.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed_ids, expected);
    let created_dates: Vec<_> = listed
        .iter()
        .map(|v| v.created_date().expect("date"))
        .collect();
    assert!(
        created_dates.windows(2).all(|w| w[0] >= w[1]),
        "newest first"
    );

    // Without MaxResults a page holds AWS's 100 at most.
    let first = client
        .list_secret_version_ids()
        .secret_id(&name)
        .include_deprecated(true)
        .send()
        .await
        .expect("first page");
    assert_eq!(first.versions().len(), 100);
    assert!(first.next_token().is_some());
    // The oldest value is still there.
    let oldest = client
        .get_secret_value()
        .secret_id(&name)
        .version_id(&ids[0])
        .send()
        .await
        .expect("oldest");
    assert_eq!(oldest.secret_string(), Some("v0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_secret_reports_metadata() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let name = unique("described");
    let created = client
        .create_secret()
        .name(&name)
        .description("the description")
        .secret_string("value")
        .tags(tag("team", "ml"))
        .tags(tag("cost-center", "42"))
        .send()
        .await
        .expect("create");
    let d = client
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .expect("describe");
    assert_eq!(d.arn(), created.arn());
    assert_eq!(d.name(), Some(name.as_str()));
    assert_eq!(d.description(), Some("the description"));
    let mut tags: Vec<(String, String)> = d
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            ("cost-center".to_owned(), "42".to_owned()),
            ("team".to_owned(), "ml".to_owned())
        ]
    );
    let created_at = d.created_date().expect("created").secs();
    assert!((created_at - now_secs()).abs() < 120);
    assert!(d.last_changed_date().is_some());
    assert!(d.deleted_date().is_none());
    assert!(d.last_accessed_date().is_none(), "never read yet");
    assert_ne!(d.rotation_enabled(), Some(true));
    let stages = d.version_ids_to_stages().expect("versions");
    assert_eq!(stages.len(), 1);

    // Reading sets LastAccessedDate, at day resolution (midnight UTC of today).
    client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("get");
    let d = client
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .expect("describe after read");
    let accessed = d.last_accessed_date().expect("last accessed").secs();
    assert_eq!(accessed % 86_400, 0, "day resolution: {accessed}");
    let today = now_secs() / 86_400 * 86_400;
    // (yesterday's midnight too, should the test straddle midnight UTC)
    assert!(
        accessed == today || accessed == today - 86_400,
        "{accessed} vs {today}"
    );
    assert_eq!(
        stages.get(created.version_id().expect("version")),
        Some(&vec!["AWSCURRENT".to_owned()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_secrets_finds_created_secrets() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let prefix = unique("listed");
    for i in 0..3 {
        client
            .create_secret()
            .name(format!("{prefix}/s{i}"))
            .description(format!("number {i}"))
            .secret_string(format!("value {i}"))
            .send()
            .await
            .expect("create");
    }
    client
        .create_secret()
        .name(unique("other"))
        .secret_string("x")
        .send()
        .await
        .expect("create other");

    let all = client.list_secrets().send().await.expect("list all");
    assert_eq!(all.secret_list().len(), 4);
    assert!(all.next_token().is_none());

    // Pages of two, following NextToken.
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let page = client
            .list_secrets()
            .max_results(2)
            .set_next_token(token.take())
            .send()
            .await
            .expect("list page");
        assert!(page.secret_list().len() <= 2);
        paged.extend(
            page.secret_list()
                .iter()
                .filter_map(|e| e.name())
                .map(str::to_owned),
        );
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert!(token.is_none(), "pagination does not end");
    paged.sort();
    let mut expected: Vec<String> = all
        .secret_list()
        .iter()
        .filter_map(|e| e.name())
        .map(str::to_owned)
        .collect();
    expected.sort();
    assert_eq!(paged, expected);

    let filtered = client
        .list_secrets()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values(&prefix)
                .build(),
        )
        .send()
        .await
        .expect("list filtered");
    let mut found: Vec<(String, String)> = filtered
        .secret_list()
        .iter()
        .map(|e| {
            (
                e.name().unwrap_or_default().to_owned(),
                e.description().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        (0..3)
            .map(|i| (format!("{prefix}/s{i}"), format!("number {i}")))
            .collect::<Vec<_>>()
    );
    for e in filtered.secret_list() {
        assert!(e.arn().is_some_and(|a| a.contains(&prefix)));
        let versions = e.secret_versions_to_stages().expect("versions");
        assert_eq!(versions.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_secret_version_stage_moves_labels() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let name = unique("staged");
    let v1 = client
        .create_secret()
        .name(&name)
        .secret_string("one")
        .send()
        .await
        .expect("create")
        .version_id()
        .expect("v1")
        .to_owned();
    let v2 = client
        .put_secret_value()
        .secret_id(&name)
        .secret_string("two")
        .send()
        .await
        .expect("put")
        .version_id()
        .expect("v2")
        .to_owned();

    // Moving AWSCURRENT without naming where it comes from is refused.
    let err = client
        .update_secret_version_stage()
        .secret_id(&name)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&v1)
        .send()
        .await
        .expect_err("must name RemoveFromVersionId");
    assert_eq!(err.code(), Some("InvalidParameterException"), "{err:?}");

    // Roll back: AWSCURRENT to v1; AWSPREVIOUS follows to the version it left.
    client
        .update_secret_version_stage()
        .secret_id(&name)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&v1)
        .remove_from_version_id(&v2)
        .send()
        .await
        .expect("move AWSCURRENT");
    let got = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("get");
    assert_eq!(got.secret_string(), Some("one"));
    let stages = stages_by_version(&client, &name).await;
    assert_eq!(stages.get(&v1), Some(&vec!["AWSCURRENT".to_owned()]));
    assert_eq!(stages.get(&v2), Some(&vec!["AWSPREVIOUS".to_owned()]));

    // A custom label: add, read through it, then remove.
    client
        .update_secret_version_stage()
        .secret_id(&name)
        .version_stage("CANARY")
        .move_to_version_id(&v2)
        .send()
        .await
        .expect("add CANARY");
    let canary = client
        .get_secret_value()
        .secret_id(&name)
        .version_stage("CANARY")
        .send()
        .await
        .expect("get CANARY");
    assert_eq!(canary.secret_string(), Some("two"));
    client
        .update_secret_version_stage()
        .secret_id(&name)
        .version_stage("CANARY")
        .remove_from_version_id(&v2)
        .send()
        .await
        .expect("remove CANARY");
    let err = client
        .get_secret_value()
        .secret_id(&name)
        .version_stage("CANARY")
        .send()
        .await
        .expect_err("CANARY is gone");
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        err.message(),
        Some("Secrets Manager can't find the specified secret value for staging label: CANARY")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_with_recovery_window_then_restore() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let name = unique("doomed");
    client
        .create_secret()
        .name(&name)
        .secret_string("keep me")
        .send()
        .await
        .expect("create");
    let err = client
        .delete_secret()
        .secret_id(&name)
        .recovery_window_in_days(6)
        .send()
        .await
        .expect_err("window below 7 days");
    assert_eq!(err.code(), Some("InvalidParameterException"), "{err:?}");
    let deleted = client
        .delete_secret()
        .secret_id(&name)
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.name(), Some(name.as_str()));
    let when = deleted.deletion_date().expect("deletion date").secs();
    let expected = now_secs() + 7 * 86_400;
    assert!(
        (when - expected).abs() < 300,
        "deletion date {when}, expected about {expected}"
    );

    let err = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect_err("deleted secret is not readable");
    assert_eq!(err.code(), Some("InvalidRequestException"));
    assert_eq!(err.message(), Some(MARKED_FOR_DELETION));
    assert!(
        matches!(
            err.into_service_error(),
            GetSecretValueError::InvalidRequestException(_)
        ),
        "typed variant"
    );

    // Still described (with its deletion date), hidden from ListSecrets by default.
    let d = client
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .expect("describe deleted");
    assert!(d.deleted_date().is_some());
    let listed = client.list_secrets().send().await.expect("list");
    assert!(listed.secret_list().is_empty(), "{listed:?}");
    let listed = client
        .list_secrets()
        .include_planned_deletion(true)
        .send()
        .await
        .expect("list incl. planned deletion");
    assert_eq!(listed.secret_list().len(), 1);

    // The name stays taken.
    let err = client
        .create_secret()
        .name(&name)
        .secret_string("again")
        .send()
        .await
        .expect_err("name scheduled for deletion");
    assert_eq!(err.code(), Some("InvalidRequestException"));

    let restored = client
        .restore_secret()
        .secret_id(&name)
        .send()
        .await
        .expect("restore");
    assert_eq!(restored.name(), Some(name.as_str()));
    let got = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("get after restore");
    assert_eq!(got.secret_string(), Some("keep me"));
    let d = client
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .expect("describe restored");
    assert!(d.deleted_date().is_none());

    // Without a window, the default is 30 days.
    let deleted = client
        .delete_secret()
        .secret_id(&name)
        .send()
        .await
        .expect("delete with the default window");
    let when = deleted.deletion_date().expect("deletion date").secs();
    let expected = now_secs() + 30 * 86_400;
    assert!(
        (when - expected).abs() < 300,
        "deletion date {when}, expected about {expected}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_created_without_a_value_has_no_version_until_put() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let name = unique("empty");
    let created = client
        .create_secret()
        .name(&name)
        .description("value to come")
        .send()
        .await
        .expect("create without value");
    assert!(created.version_id().is_none(), "{created:?}");
    let err = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect_err("no value yet");
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        err.message(),
        Some("Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
    );
    let d = client
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .expect("describe");
    assert!(
        d.version_ids_to_stages().is_none_or(|m| m.is_empty()),
        "{d:?}"
    );

    let put = client
        .put_secret_value()
        .secret_id(&name)
        .secret_string("first value")
        .send()
        .await
        .expect("put");
    assert_eq!(put.version_stages(), ["AWSCURRENT".to_owned()]);
    let got = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("get");
    assert_eq!(got.secret_string(), Some("first value"));
    assert_eq!(got.version_id(), put.version_id());
    let stages = stages_by_version(&client, &name).await;
    assert_eq!(
        stages.len(),
        1,
        "no AWSPREVIOUS without a previous value: {stages:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_delete_removes_the_secret_at_once() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let name = unique("gone");
    client
        .create_secret()
        .name(&name)
        .secret_string("bye")
        .send()
        .await
        .expect("create");

    // The two deletion modes exclude each other.
    let err = client
        .delete_secret()
        .secret_id(&name)
        .recovery_window_in_days(7)
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect_err("both modes");
    assert_eq!(err.code(), Some("InvalidParameterException"));

    client
        .delete_secret()
        .secret_id(&name)
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("force delete");
    let err = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect_err("gone");
    assert_eq!(err.message(), Some(NOT_FOUND));
    assert!(
        matches!(
            err.into_service_error(),
            GetSecretValueError::ResourceNotFoundException(_)
        ),
        "typed variant"
    );
    let err = client
        .restore_secret()
        .secret_id(&name)
        .send()
        .await
        .expect_err("nothing to restore");
    assert_eq!(err.code(), Some("ResourceNotFoundException"));

    // The name is free again, for a new secret with a new ARN.
    client
        .create_secret()
        .name(&name)
        .secret_string("hello again")
        .send()
        .await
        .expect("recreate");
    let got = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("get recreated");
    assert_eq!(got.secret_string(), Some("hello again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_errors_match_aws() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let name = unique("dup");
    client
        .create_secret()
        .name(&name)
        .secret_string("first")
        .send()
        .await
        .expect("create");

    let err = client
        .create_secret()
        .name(&name)
        .secret_string("second")
        .send()
        .await
        .expect_err("duplicate name")
        .into_service_error();
    assert_eq!(
        err.message(),
        Some(format!("The operation failed because the secret {name} already exists.").as_str())
    );
    assert!(
        matches!(err, CreateSecretError::ResourceExistsException(_)),
        "{err:?}"
    );
    // The failed create changed nothing.
    let got = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("get");
    assert_eq!(got.secret_string(), Some("first"));

    let missing = unique("missing");
    let err = client
        .get_secret_value()
        .secret_id(&missing)
        .send()
        .await
        .expect_err("missing")
        .into_service_error();
    assert_eq!(err.meta().code(), Some("ResourceNotFoundException"));
    assert_eq!(err.message(), Some(NOT_FOUND));
    assert!(matches!(
        err,
        GetSecretValueError::ResourceNotFoundException(_)
    ));
    let err = client
        .describe_secret()
        .secret_id(&missing)
        .send()
        .await
        .expect_err("missing")
        .into_service_error();
    assert_eq!(err.message(), Some(NOT_FOUND));
    assert!(matches!(
        err,
        DescribeSecretError::ResourceNotFoundException(_)
    ));
    let err = client
        .put_secret_value()
        .secret_id(&missing)
        .secret_string("x")
        .send()
        .await
        .expect_err("missing")
        .into_service_error();
    assert!(
        matches!(err, PutSecretValueError::ResourceNotFoundException(_)),
        "{err:?}"
    );

    // SecretString and SecretBinary together.
    let both = unique("both");
    let err = client
        .create_secret()
        .name(&both)
        .secret_string("s")
        .secret_binary(Blob::new(b"b".to_vec()))
        .send()
        .await
        .expect_err("both kinds of value")
        .into_service_error();
    assert!(
        matches!(err, CreateSecretError::InvalidParameterException(_)),
        "{err:?}"
    );
    let err = client
        .describe_secret()
        .secret_id(&both)
        .send()
        .await
        .expect_err("nothing was created");
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    let err = client
        .put_secret_value()
        .secret_id(&name)
        .secret_string("s")
        .secret_binary(Blob::new(b"b".to_vec()))
        .send()
        .await
        .expect_err("both kinds of value")
        .into_service_error();
    assert!(
        matches!(err, PutSecretValueError::InvalidParameterException(_)),
        "{err:?}"
    );
    assert_eq!(stages_by_version(&client, &name).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_random_password_honours_its_options() {
    let server = ServerOptions::dev().start();
    let client = server.client();

    let default = client
        .get_random_password()
        .send()
        .await
        .expect("default password");
    let pw = default.random_password().expect("password");
    assert_eq!(pw.chars().count(), 32, "default length");
    assert!(pw.chars().any(|c| c.is_ascii_uppercase()), "{pw}");
    assert!(pw.chars().any(|c| c.is_ascii_lowercase()), "{pw}");
    assert!(pw.chars().any(|c| c.is_ascii_digit()), "{pw}");
    assert!(pw.chars().any(|c| c.is_ascii_punctuation()), "{pw}");

    let alnum = client
        .get_random_password()
        .password_length(64)
        .exclude_punctuation(true)
        .exclude_characters("aeiouAEIOU01")
        .send()
        .await
        .expect("constrained password");
    let pw = alnum.random_password().expect("password");
    assert_eq!(pw.len(), 64);
    assert!(pw.chars().all(|c| c.is_ascii_alphanumeric()), "{pw}");
    assert!(!pw.chars().any(|c| "aeiouAEIOU01".contains(c)), "{pw}");

    let again = client
        .get_random_password()
        .password_length(64)
        .exclude_punctuation(true)
        .send()
        .await
        .expect("another");
    assert_ne!(again.random_password(), alnum.random_password());

    let err = client
        .get_random_password()
        .password_length(5000)
        .send()
        .await
        .expect_err("too long");
    assert!(
        matches!(
            err.code(),
            Some("InvalidParameterException" | "ValidationException")
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_get_secret_value_lists_missing_ids_in_errors() {
    let server = ServerOptions::dev().start();
    let client = server.client();
    let a = unique("batch-a");
    let b = unique("batch-b");
    for (n, v) in [(&a, "value a"), (&b, "value b")] {
        client
            .create_secret()
            .name(n)
            .secret_string(v)
            .send()
            .await
            .expect("create");
    }
    let missing = unique("batch-missing");
    let out: BatchGetSecretValueOutput = client
        .batch_get_secret_value()
        .secret_id_list(&a)
        .secret_id_list(&missing)
        .secret_id_list(&b)
        .send()
        .await
        .expect("batch get");
    let mut values: Vec<(String, String)> = out
        .secret_values()
        .iter()
        .map(|s| {
            (
                s.name().unwrap_or_default().to_owned(),
                s.secret_string().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    values.sort();
    let mut expected = vec![
        (a.clone(), "value a".to_owned()),
        (b.clone(), "value b".to_owned()),
    ];
    expected.sort();
    assert_eq!(values, expected);
    assert_eq!(out.errors().len(), 1, "{:?}", out.errors());
    let e = &out.errors()[0];
    assert_eq!(e.secret_id(), Some(missing.as_str()));
    assert_eq!(e.error_code(), Some("ResourceNotFoundException"));
}
