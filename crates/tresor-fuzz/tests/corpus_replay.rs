//! Replays every saved fuzz input (`fuzz/corpus/<target>/*`) through its harness, so an input
//! that once broke a property keeps being checked by `cargo test` without a fuzzer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use tresor_fuzz::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted, or none if it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(corpus: &Path, name: &str, harness: fn(&[u8])) -> usize {
    let inputs = files(&corpus.join(name));
    for input in &inputs {
        let data = fs::read(input).unwrap();
        // Name the input before the harness can panic, so a failure says which one.
        eprintln!("{name}: {}", input.display());
        harness(&data);
    }
    inputs.len()
}

fn replay_corpus(name: &str) {
    let harness = TARGETS
        .iter()
        .find(|(target, _)| *target == name)
        .map(|(_, harness)| *harness)
        .unwrap();
    let replayed = replay(&fuzz_dir().join("corpus"), name, harness);
    assert!(replayed > 0, "fuzz/corpus/{name} holds no seed");
}

#[test]
fn sigv4_corpus() {
    replay_corpus("sigv4");
}

#[test]
fn json_decode_corpus() {
    replay_corpus("json_decode");
}

#[test]
fn query_decode_corpus() {
    replay_corpus("query_decode");
}

#[test]
fn policy_corpus() {
    replay_corpus("policy");
}

#[test]
fn identifiers_corpus() {
    replay_corpus("identifiers");
}

#[test]
fn audit_export_corpus() {
    replay_corpus("audit_export");
}

#[test]
fn gateway_wire_corpus() {
    replay_corpus("gateway_wire");
}

#[test]
fn kms_ciphertext_blob_corpus() {
    replay_corpus("kms_ciphertext_blob");
}

/// Every target has a fuzz target file, a corpus and a replay test above, and nothing else
/// does: a target added to one place and not the others would go unreplayed.
#[test]
fn targets_corpora_and_fuzz_targets_agree() {
    let names = |dir: &Path, strip: &str| -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|n| n.strip_suffix(strip).map(str::to_owned))
            .collect();
        names.sort();
        names
    };
    let mut targets: Vec<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    targets.sort();
    assert_eq!(names(&fuzz_dir().join("fuzz_targets"), ".rs"), targets);
    assert_eq!(names(&fuzz_dir().join("corpus"), ""), targets);
    let this_file = include_str!("corpus_replay.rs");
    for target in &targets {
        assert!(
            this_file.contains(&format!("fn {target}_corpus()")),
            "no replay test for {target}"
        );
    }
}
