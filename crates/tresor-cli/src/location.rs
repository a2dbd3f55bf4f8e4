//! Where the store lives: a data directory (embedded SQLite) or a PostgreSQL URL. Every command
//! that opens a store takes `--data-dir DIR` (`TRESOR_DATA_DIR`) or `--storage postgres://…`
//! (`TRESOR_STORAGE`).

use std::path::PathBuf;

use tresor_core::{bootstrap, StoreBackend};
use tresor_store::{PostgresStore, SqliteStore};

const STORE_FILE: &str = "tresor.db";

#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Data directory of the embedded SQLite store.
    #[arg(long, env = "TRESOR_DATA_DIR", conflicts_with = "storage")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL store, as a URL: postgres://USER@HOST[:PORT]/DATABASE.
    #[arg(long, env = "TRESOR_STORAGE")]
    pub storage: Option<String>,
}

/// A store location, validated.
#[derive(Debug, Clone)]
pub enum Location {
    Dir(PathBuf),
    Postgres(String),
}

impl StoreArgs {
    pub fn location(&self) -> Result<Location, String> {
        match (&self.data_dir, &self.storage) {
            (Some(dir), None) => Ok(Location::Dir(dir.clone())),
            (None, Some(url)) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Location::Postgres(url.clone()))
            }
            (None, Some(_)) => Err("--storage takes a PostgreSQL URL: postgres://USER@HOST[:PORT]/DATABASE".to_owned()),
            _ => Err("give the store: --data-dir DIR (embedded SQLite) or --storage postgres://… (PostgreSQL)".to_owned()),
        }
    }
}

impl Location {
    /// How to name it in messages (a URL's password, if any, is left out).
    pub fn describe(&self) -> String {
        match self {
            Self::Dir(dir) => dir.display().to_string(),
            Self::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                match rest.split_once('@') {
                    Some((userinfo, host)) => {
                        let user = userinfo.split(':').next().unwrap_or_default();
                        format!("{scheme}://{user}@{host}")
                    }
                    None => url.clone(),
                }
            }
        }
    }

    /// Whether a store already exists there (a SQLite file, or an initialized database).
    pub fn holds_store(&self) -> Result<bool, String> {
        match self {
            Self::Dir(dir) => Ok(dir.join(STORE_FILE).is_file()),
            Self::Postgres(_) => {
                let store = self.open()?;
                Ok(bootstrap::account_of(&store)
                    .map_err(|e| e.to_string())?
                    .is_some())
            }
        }
    }

    /// Open, creating a new SQLite file or applying PostgreSQL migrations as needed.
    pub fn open(&self) -> Result<StoreBackend, String> {
        match self {
            Self::Dir(dir) => {
                use std::os::unix::fs::DirBuilderExt as _;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
                SqliteStore::open(&dir.join(STORE_FILE))
                    .map(StoreBackend::Sqlite)
                    .map_err(|e| format!("cannot open the store in {}: {e}", dir.display()))
            }
            Self::Postgres(url) => PostgresStore::open(url)
                .map(StoreBackend::Postgres)
                .map_err(|e| {
                    format!(
                        "cannot open the PostgreSQL store at {}: {e}",
                        self.describe()
                    )
                }),
        }
    }

    /// Open a store that must already exist; never creates one (a typo must not make an empty
    /// store that then "verifies" or serves).
    pub fn open_existing(&self) -> Result<StoreBackend, String> {
        if let Self::Dir(dir) = self {
            if !dir.join(STORE_FILE).is_file() {
                return Err(format!(
                    "{} holds no Tresor store; run `tresor init --data-dir {}` first",
                    dir.display(),
                    dir.display()
                ));
            }
        }
        let store = self.open()?;
        if bootstrap::account_of(&store)
            .map_err(|e| e.to_string())?
            .is_none()
        {
            return Err(format!(
                "{} holds no initialized Tresor store; run `tresor init` first",
                self.describe()
            ));
        }
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_password_is_never_shown() {
        let l = Location::Postgres("postgres://tresor:hunter2@db.internal:5432/tresor".into());
        assert_eq!(l.describe(), "postgres://tresor@db.internal:5432/tresor");
        let l = Location::Postgres("postgres://tresor@db/tresor".into());
        assert_eq!(l.describe(), "postgres://tresor@db/tresor");
    }

    #[test]
    fn exactly_one_location() {
        let both = StoreArgs {
            data_dir: Some("/x".into()),
            storage: Some("postgres://a@b/c".into()),
        };
        assert!(both.location().is_err());
        let none = StoreArgs {
            data_dir: None,
            storage: None,
        };
        assert!(none.location().is_err());
        let bad = StoreArgs {
            data_dir: None,
            storage: Some("mysql://x".into()),
        };
        assert!(bad.location().is_err());
    }
}
