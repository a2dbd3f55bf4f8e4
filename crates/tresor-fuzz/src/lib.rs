//! The fuzz harnesses of Tresor: one function per target of the cargo-fuzz workspace in
//! `fuzz/`, each feeding arbitrary bytes to the parsers an attacker reaches and checking what
//! must hold of their answers.
//!
//! Data path: `fuzz/fuzz_targets/<target>.rs` is one line that hands libFuzzer's input to the
//! function named in [`TARGETS`]; `fuzz/run` runs each target for a bounded time and merges what
//! it finds into `fuzz/corpus/<target>/`; `tests/corpus_replay.rs` runs every saved input
//! through the same function under `cargo test`, so an input that once failed stays fixed.
//!
//! A harness fails by panicking (that is how libFuzzer learns of a finding): an `assert!` names
//! the property that broke. Every harness calls the production entry point — the server's
//! decoders through `tresor_server::fuzzing`, the rest through the crates' public API — never a
//! copy of it.

// Why `panic!` is allowed: a harness reports a broken property by panicking, and libFuzzer
// records the input that did it.
#![allow(clippy::panic)]

pub mod audit_export;
pub mod gateway_wire;
pub mod identifiers;
pub mod json_decode;
pub mod kms_ciphertext_blob;
pub mod policy;
pub mod query_decode;
pub mod sigv4;

/// A harness: takes libFuzzer's input, panics when a property breaks.
pub type Harness = fn(&[u8]);

/// Every target: its name (the file `fuzz/fuzz_targets/<name>.rs` and the corpus directory
/// `fuzz/corpus/<name>/`) and its harness.
pub const TARGETS: &[(&str, Harness)] = &[
    ("sigv4", sigv4::run),
    ("json_decode", json_decode::run),
    ("query_decode", query_decode::run),
    ("policy", policy::run),
    ("identifiers", identifiers::run),
    ("audit_export", audit_export::run),
    ("gateway_wire", gateway_wire::run),
    ("kms_ciphertext_blob", kms_ciphertext_blob::run),
];
