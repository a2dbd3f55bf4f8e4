//! PostgreSQL for the end-to-end tests: the store's test harness
//! (`tresor_store::testkit::postgres`, shared with its conformance suite), and what the
//! tests do with the `tresor` binary on such a database.
//!
//! The server is `TRESOR_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! used only as a maintenance connection: every test gets a fresh database
//! `<prefix>_<pid>_<n>_<nanos>` that is dropped afterwards (with any connection still open to
//! it). When no server answers, the tests print one SKIPPED line and pass, unless `CI=true` or
//! `TRESOR_REQUIRE_POSTGRES=1`, in which case they fail.

use std::time::Duration;

pub use tresor_store::testkit::postgres::*;

/// `tresor init --storage <url>` with `passphrase`: the root credentials it prints.
pub fn init_store(url: &str, passphrase: &str) -> super::Creds {
    super::init(&["--storage", url], passphrase)
}

/// `tresor audit verify --storage <url>` must pass with every record covered by a signature;
/// returns how many records the chain holds.
pub fn verify_trail(url: &str, passphrase: &str) -> u64 {
    let mut cmd = super::tresor_command();
    cmd.args(["audit", "verify", "--storage", url])
        .env("TRESOR_PASSPHRASE", passphrase);
    let out = super::run_with_timeout(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tresor audit verify --storage failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("audit verify: {}", stdout.trim());
    assert!(
        !stdout.contains("not yet covered by a signature"),
        "the final checkpoints do not cover the chain: {stdout}"
    );
    stdout
        .split_once("audit chain OK: ")
        .and_then(|(_, rest)| rest.split_once(" records"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no record count in {stdout:?}"))
}
