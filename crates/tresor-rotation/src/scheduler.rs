//! The scheduler inside the server: every tick (or as soon as the core says a rotation became
//! due now) it asks the core what is due, claims each (so of several nodes on one database
//! exactly one runs a given rotation) and runs it with the [`Engine`]. Time comes from a
//! [`Clock`], so tests move it instead of waiting hours.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tresor_types::Timestamp;

use crate::engine::Engine;

/// Where the scheduler reads the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock tests set by hand.
#[derive(Default)]
pub struct ManualClock(Mutex<i64>);

impl ManualClock {
    pub fn at(t: Timestamp) -> Self {
        Self(Mutex::new(t.millis()))
    }
    pub fn set(&self, t: Timestamp) {
        *self.0.lock() = t.millis();
    }
    pub fn advance(&self, by: Duration) {
        *self.0.lock() += by.as_millis() as i64;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(*self.0.lock())
    }
}

/// How often the scheduler looks for due rotations when nothing wakes it.
pub const DEFAULT_TICK: Duration = Duration::from_secs(5);

/// The secrets this node is working on, so a tick does not claim one twice.
#[derive(Default)]
struct InFlight(Mutex<HashSet<String>>);

impl InFlight {
    fn begin(&self, arn: &str) -> bool {
        self.0.lock().insert(arn.to_owned())
    }
    fn end(&self, arn: &str) {
        self.0.lock().remove(arn);
    }
}

/// Start the scheduler on the current runtime; it runs until the runtime stops.
pub fn start(engine: Arc<Engine>, tick: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let in_flight = Arc::new(InFlight::default());
        loop {
            run_due(&engine, &in_flight).await;
            let core = engine.core.clone();
            tokio::select! {
                _ = core.rotation_wakeup().notified() => {}
                _ = tokio::time::sleep(tick) => {}
            }
        }
    })
}

/// One pass: claim and start everything due now. Returns the tasks started.
async fn run_due(engine: &Arc<Engine>, in_flight: &Arc<InFlight>) -> usize {
    let now = engine.clock.now();
    let core = engine.core.clone();
    let due = match tokio::task::spawn_blocking(move || core.rotations_due(now)).await {
        Ok(Ok(due)) => due,
        Ok(Err(e)) => {
            tracing::warn!(error = %e.aws_code(), "could not list due rotations");
            return 0;
        }
        Err(_) => return 0,
    };
    let mut started = 0;
    for arn in due {
        if !in_flight.begin(&arn) {
            continue;
        }
        started += 1;
        let engine = engine.clone();
        let in_flight = in_flight.clone();
        tokio::spawn(async move {
            let core = engine.core.clone();
            let (node, a) = (engine.node.clone(), arn.clone());
            let claimed =
                tokio::task::spawn_blocking(move || core.claim_rotation(&a, &node, now)).await;
            match claimed {
                Ok(Ok(Some(claimed))) => engine.run(claimed).await,
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(secret = %arn, error = %e.aws_code(), "could not claim a rotation")
                }
                Err(_) => {}
            }
            in_flight.end(&arn);
        });
    }
    started
}
