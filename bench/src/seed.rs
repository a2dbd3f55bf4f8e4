//! `tresor-bench seed`: fill an initialized, stopped SQLite store with N secrets, fast.
//!
//! Data path: open the store file directly, unseal it with the key file
//! (`tresor_core::bootstrap::unseal`), take the scope's default secrets key (created on first
//! use, as `CreateSecret` does), then run two threads: one seals values (the same envelope,
//! AAD, value digest, ARN form and record fields as `CreateSecret`, see [`prepare`]), the other
//! writes them with `Store::create_secret`, one batch per `Store::atomically` transaction, so
//! the per-write fsync is paid once per batch instead of once per secret. No audit record is
//! written: the secrets appear as if restored from a backup, not created by a caller.

mod prepare;
mod progress;
mod touch;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tresor_core::StoreBackend;
use tresor_store::{Scope, SqliteStore, Store, StoreError};
use tresor_types::Region;

use prepare::{Batch, Sealer};
use progress::Progress;
pub use touch::touch_all;

/// The file `tresor` keeps its SQLite store in, inside the data directory.
const STORE_FILE: &str = "tresor.db";

/// Options of `tresor-bench seed`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Data directory of an initialized SQLite store (`tresor init`); no server may be using it.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The key file the store was initialized with (`tresor init --unseal-key-file`).
    #[arg(long)]
    pub unseal_key_file: PathBuf,
    /// How many secrets to create: `<prefix>0` .. `<prefix>{count-1}`.
    #[arg(long)]
    pub count: u64,
    /// Name prefix of the seeded secrets.
    #[arg(long, default_value = "bench/pool-")]
    pub prefix: String,
    /// Length of each random `SecretString`, in characters.
    #[arg(long, default_value_t = 64)]
    pub value_size: usize,
    /// Secrets per store transaction.
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
    /// Region the secrets live in (the region clients sign for).
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Then record today as every secret's last access, as a first read would: the store in
    /// the steady state, where a read is only a read.
    #[arg(long)]
    pub touched: bool,
}

/// What a seeding run did.
#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    pub count: u64,
    pub elapsed: Duration,
}

impl Seeded {
    pub fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub fn run(args: Args) -> crate::BenchResult {
    let seeded = fill(&args)?;
    println!(
        "seeded {} secrets into {} in {:.1} s ({:.0} secrets/s)",
        seeded.count,
        args.data_dir.display(),
        seeded.elapsed.as_secs_f64(),
        seeded.rate()
    );
    if args.touched {
        let touched = touch_all(&args.data_dir, &args.region, args.batch, args.count)?;
        println!(
            "recorded today's access of {} secrets in {:.1} s",
            touched.count,
            touched.elapsed.as_secs_f64()
        );
    }
    Ok(())
}

/// Open the SQLite store of `data_dir`, which must already exist and be initialized (a typo
/// must not create an empty store).
pub fn open_store(data_dir: &Path) -> crate::BenchResult<StoreBackend> {
    let file = data_dir.join(STORE_FILE);
    if !file.is_file() {
        return Err(format!(
            "{} holds no Tresor store; run `tresor init --data-dir {}` first",
            data_dir.display(),
            data_dir.display()
        ));
    }
    SqliteStore::open(&file)
        .map(StoreBackend::Sqlite)
        .map_err(|e| format!("cannot open the store in {}: {e}", data_dir.display()))
}

/// The (account, region) the store's account owns in `region`.
pub fn scope_of(store: &StoreBackend, region: &str) -> crate::BenchResult<Scope> {
    let account = tresor_core::bootstrap::account_of(store)
        .map_err(|e| e.to_string())?
        .ok_or("the store is not initialized; run `tresor init` first")?;
    let region = Region::parse(region).map_err(|_| format!("invalid region {region:?}"))?;
    Ok(Scope { account, region })
}

/// Create `args.count` secrets; see the module comment.
pub fn fill(args: &Args) -> crate::BenchResult<Seeded> {
    if args.batch == 0 || args.value_size == 0 {
        return Err("--batch and --value-size must be at least 1".to_owned());
    }
    if args.value_size > 65_536 {
        return Err("--value-size is at most 65536 (Secrets Manager's limit)".to_owned());
    }
    let last = format!("{}{}", args.prefix, args.count.saturating_sub(1));
    tresor_core::secretsmanager::validate::secret_name(&last)
        .map_err(|_| format!("{last:?} is not a valid secret name; change --prefix"))?;

    let store = open_store(&args.data_dir)?;
    let scope = scope_of(&store, &args.region)?;
    let unsealer = prepare::unsealer_from_key_file(&args.unseal_key_file)?;
    let keyring = tresor_core::bootstrap::unseal(&store, &unsealer).map_err(|e| e.to_string())?;
    let key = keyring
        .default_key(&store, &scope)
        .map_err(|e| format!("cannot get the default secrets key: {e}"))?;
    let sealer = Sealer {
        keyring: &keyring,
        key: &key,
        scope: &scope,
        prefix: &args.prefix,
        value_size: args.value_size,
    };

    let start = Instant::now();
    let mut progress = Progress::new("seed", args.count);
    // Two batches in flight: sealing the next overlaps with writing the current one.
    let (tx, rx) = mpsc::sync_channel::<crate::BenchResult<Batch>>(2);
    let sealer = &sealer;
    std::thread::scope(|s| {
        // The sealer owns `tx`: when it stops, the writer's `rx.iter()` ends.
        s.spawn(move || {
            let mut next = 0u64;
            while next < args.count {
                let n = (args.count - next).min(args.batch as u64);
                let batch = sealer.batch(next, n);
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    return;
                }
                next += n;
            }
        });
        let written = write_all(&store, &rx, &mut progress);
        // Unblocks the sealer if the writer stopped early.
        drop(rx);
        written
    })?;
    progress.finish();
    Ok(Seeded {
        count: args.count,
        elapsed: start.elapsed(),
    })
}

/// Write every batch the sealer sends, each in one transaction.
fn write_all(
    store: &StoreBackend,
    rx: &mpsc::Receiver<crate::BenchResult<Batch>>,
    progress: &mut Progress,
) -> crate::BenchResult {
    for batch in rx.iter() {
        let batch = batch?;
        store
            .atomically(|| {
                batch
                    .iter()
                    .try_for_each(|(record, sealed)| store.create_secret(record, Some(sealed)))
            })
            .map_err(|e| match e {
                StoreError::SecretExists { .. } => format!(
                    "a secret of this batch ({}…) already exists; seed needs names that are \
                     free (use another --prefix or a fresh store)",
                    batch.first().map(|(r, _)| r.name.as_str()).unwrap_or("?")
                ),
                other => format!("writing a batch failed, that batch was rolled back: {other}"),
            })?;
        progress.advance(batch.len() as u64);
    }
    Ok(())
}
