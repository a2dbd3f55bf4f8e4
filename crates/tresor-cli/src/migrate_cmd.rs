//! `tresor migrate-storage --from DIR --to postgres://…`: move a whole SQLite store into an
//! empty PostgreSQL database.
//!
//! Nothing is decrypted (no passphrase is asked): every record is copied as it is stored —
//! the sealed root key, access keys, KMS keys, secrets with all their versions, identities and
//! policies, the AI gateway's routes, keys, price overrides and budget ledgers (not its
//! in-flight holds and rate windows), and the audit trail row for row with its checkpoints —
//! and every AAD is bound to an ARN or id the copy keeps, so the same passphrase unseals the
//! new store, its audit trail still verifies and every gateway token still works. The copy is one transaction of the target: it lands whole or not at
//! all. A target that holds anything is refused and left unchanged. Stop every server using
//! the source first; the source is only read (its write lock is held while it is read, so the
//! copy is one consistent state).

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use tresor_store::{TransferError, TransferProgress};

use crate::location::{Location, StoreArgs};

#[derive(Debug, clap::Args)]
pub struct MigrateStorageArgs {
    /// Data directory of the SQLite store to move (it is only read).
    #[arg(long)]
    pub from: PathBuf,
    /// The PostgreSQL database to move it to (postgres://USER@HOST[:PORT]/DATABASE); it must
    /// hold no Tresor data.
    #[arg(long)]
    pub to: String,
}

pub fn run(args: MigrateStorageArgs) -> Result<(), String> {
    let source = Location::Dir(args.from.clone());
    let target = StoreArgs {
        data_dir: None,
        storage: Some(args.to.clone()),
    }
    .location()
    .map_err(|_| "--to takes a PostgreSQL URL: postgres://USER@HOST[:PORT]/DATABASE".to_owned())?;
    let from = source.open_existing()?;
    let to = target.open()?;

    let mut line = ProgressLine::new();
    let outcome = tresor_store::transfer(&from, &to, &mut |p| line.update(p));
    line.finish();
    let counts = match outcome {
        Ok(counts) => counts,
        Err(TransferError::TargetNotEmpty) => {
            return Err(format!(
                "{} is not empty (it already holds Tresor data); migrate-storage refuses and \
                 changed nothing there",
                target.describe()
            ))
        }
        Err(TransferError::Store(e)) => {
            return Err(format!(
                "moving the store failed, nothing was written to {}: {e}",
                target.describe()
            ))
        }
    };
    println!(
        "Moved the store from {} to {}:",
        source.describe(),
        target.describe()
    );
    for (kind, count) in counts.by_kind() {
        println!("  {kind}: {count}");
    }
    println!(
        "Start the servers with --storage {} and the same passphrase or key file.",
        target.describe()
    );
    Ok(())
}

/// One progress line on stderr: rewritten in place on a terminal, one line per finished kind
/// otherwise (logs stay readable).
struct ProgressLine {
    tty: bool,
    open: bool,
}

impl ProgressLine {
    fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            open: false,
        }
    }

    fn update(&mut self, p: TransferProgress) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[K{} {}/{}", p.kind, p.done, p.total);
            self.open = true;
        } else if p.done == p.total {
            let _ = writeln!(err, "{} {}/{}", p.kind, p.done, p.total);
        }
        let _ = err.flush();
    }

    fn finish(&mut self) {
        if self.open {
            let _ = writeln!(std::io::stderr());
            self.open = false;
        }
    }
}
