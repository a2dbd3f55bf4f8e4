//! Concurrent writers and readers of one secret.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::Store;

use super::fixtures::*;

const WRITERS: usize = 16;
const UPDATES_PER_WRITER: usize = 20;

/// Concurrent read-modify-writes of one secret serialize: 16 threads each add 20 versions,
/// moving `AWSCURRENT` to the new one (and `AWSPREVIOUS` to the one it left) every time. No
/// update is lost, and every reader, at any moment, sees exactly one `AWSCURRENT`.
pub fn concurrent_updates_serialize<S: Store>(store: &S) {
    let secret = create_with_version(store, &home(), "contended");
    let arn = secret.arn.as_str();
    let writers_done = AtomicBool::new(false);

    std::thread::scope(|s| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut reads = 0usize;
                    let mut last_len = 0;
                    while !writers_done.load(Ordering::Acquire) || reads == 0 {
                        let record = find(store, arn);
                        let current = record
                            .versions
                            .iter()
                            .filter(|v| v.stages.iter().any(|l| l == "AWSCURRENT"))
                            .count();
                        assert_eq!(current, 1, "a reader saw {current} AWSCURRENT versions");
                        assert!(
                            record.versions.len() >= last_len,
                            "a reader saw versions vanish"
                        );
                        last_len = record.versions.len();
                        let listed = store.list_secrets(&home(), None, 10).unwrap();
                        assert_eq!(listed.len(), 1);
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();

        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                s.spawn(move || {
                    for i in 0..UPDATES_PER_WRITER {
                        // The id is fixed outside the closure: a backend may run it again.
                        let id = format!("w{w:02}-{i:02}");
                        update(store, arn, |txn| {
                            for v in &mut txn.record.versions {
                                v.stages.retain(|l| l != "AWSPREVIOUS");
                                if let Some(at) = v.stages.iter().position(|l| l == "AWSCURRENT") {
                                    v.stages[at] = "AWSPREVIOUS".to_owned();
                                }
                            }
                            txn.add_version(version(&id, &["AWSCURRENT"]), envelope(&id));
                        });
                    }
                })
            })
            .collect();
        // Stop the readers even if a writer failed, so that the failure is reported.
        let results: Vec<_> = writers.into_iter().map(|writer| writer.join()).collect();
        writers_done.store(true, Ordering::Release);
        for result in results {
            result.unwrap();
        }
        for reader in readers {
            assert!(reader.join().unwrap() > 0);
        }
    });

    let record = find(store, arn);
    assert_eq!(record.versions.len(), 1 + WRITERS * UPDATES_PER_WRITER);
    let ids: HashSet<&str> = version_ids(&record).into_iter().collect();
    assert_eq!(ids.len(), record.versions.len(), "duplicate version ids");
    let with = |label: &str| {
        record
            .versions
            .iter()
            .filter(|v| v.stages.iter().any(|l| l == label))
            .count()
    };
    assert_eq!(with("AWSCURRENT"), 1);
    assert_eq!(with("AWSPREVIOUS"), 1);
    // The last version added carries AWSCURRENT, the one before it AWSPREVIOUS.
    let n = record.versions.len();
    assert_eq!(record.versions[n - 1].stages, ["AWSCURRENT"]);
    assert_eq!(record.versions[n - 2].stages, ["AWSPREVIOUS"]);
    // Each writer's versions appear in the order it added them.
    for w in 0..WRITERS {
        let prefix = format!("w{w:02}-");
        let mine: Vec<&str> = version_ids(&record)
            .into_iter()
            .filter(|id| id.starts_with(&prefix))
            .collect();
        let expected: Vec<String> = (0..UPDATES_PER_WRITER)
            .map(|i| format!("{prefix}{i:02}"))
            .collect();
        assert_eq!(mine, expected);
    }
    let last = &record.versions[n - 1].version_id;
    assert_eq!(
        store.read_envelope(arn, last).unwrap(),
        Some(envelope(last))
    );
}
