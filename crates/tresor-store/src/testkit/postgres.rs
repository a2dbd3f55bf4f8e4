//! PostgreSQL for tests: one harness for the store's conformance suite and the end-to-end
//! tests of the crates above it.
//!
//! The server is `TRESOR_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! used only as a maintenance connection: every test gets a fresh database
//! `<prefix>_<pid>_<n>_<nanos>` that is dropped afterwards (with any connection still open to
//! it). When no server answers, the tests print one SKIPPED line and pass, unless `CI=true` or
//! `TRESOR_REQUIRE_POSTGRES=1`, in which case they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crate::PostgresStore;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The maintenance URL.
pub fn admin_url() -> String {
    std::env::var("TRESOR_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Whether a missing PostgreSQL fails the run instead of skipping.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("TRESOR_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// A connection to the maintenance database.
pub fn admin() -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = admin_url().parse()?;
    config.connect_timeout(Duration::from_secs(5));
    config.connect(postgres::NoTls)
}

/// Whether the server answers (checked once per test binary). Panics when it does not and
/// PostgreSQL is required; otherwise says so loudly, once, on the real stderr (not the
/// captured one).
pub fn available() -> bool {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    let outcome = AVAILABLE.get_or_init(|| admin().map(drop).map_err(|e| e.to_string()));
    match outcome {
        Ok(()) => true,
        Err(e) if required() => panic!(
            "PostgreSQL is required (CI=true or TRESOR_REQUIRE_POSTGRES=1) but not reachable \
             at {} (set TRESOR_TEST_POSTGRES): {e}",
            admin_url()
        ),
        Err(e) => {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\nSKIPPED: PostgreSQL not reachable at {} ({e}); the PostgreSQL tests of \
                     this binary did not run (set TRESOR_TEST_POSTGRES; CI=true makes this a \
                     failure)",
                    admin_url()
                );
            });
            false
        }
    }
}

/// `url` with its database name replaced by `db`.
pub fn with_dbname(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A fresh database, dropped (with any connection still open to it) when this goes.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// `None` when PostgreSQL is not reachable and not required.
    pub fn create(prefix: &str) -> Option<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        if !available() {
            return None;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .subsec_nanos();
        let name = format!(
            "{prefix}_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin()
            .expect("maintenance connection")
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create test database");
        let url = with_dbname(&admin_url(), &name);
        Some(Self { name, url })
    }

    /// A store over this database.
    pub fn open(&self) -> PostgresStore {
        PostgresStore::open(&self.url).expect("open the store")
    }

    /// A direct connection to the test database.
    pub fn connect(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("connect to test database")
    }

    /// The store's tables, by name.
    pub fn tables(&self) -> Vec<String> {
        self.connect()
            .query(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
                &[],
            )
            .expect("list tables")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    /// Ends every backend connected to this database (what a PostgreSQL restart or a dropped
    /// network does to a node's connections), without touching the shared server or any other
    /// database. Returns how many were terminated.
    pub fn terminate_backends(&self) -> usize {
        let mut admin = admin().expect("maintenance connection");
        let rows = admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&self.name],
            )
            .expect("terminate backends");
        rows.iter().filter(|r| r.get::<_, bool>(0)).count()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let dropped = admin().and_then(|mut client| {
            client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
        });
        if let Err(e) = dropped {
            let _ = writeln!(
                std::io::stderr(),
                "could not drop test database {}: {e}",
                self.name
            );
        }
    }
}
