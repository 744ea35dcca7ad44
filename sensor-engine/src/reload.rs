//! Hot reload: the running engine behind an atomically swappable pointer.

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::engine::{Engine, EngineBuilder};
use crate::error::BuildError;

/// The engine workers use, replaceable while they run.
///
/// Workers call [`SharedEngine::load`] per packet (or per batch): a few
/// atomic operations, no lock. A reload builds the new engine off the
/// packet path and swaps it in; packets in flight finish on the old one,
/// which is freed when its last user lets go. A build that fails leaves
/// the running engine in place.
///
/// ```
/// use sensor_engine::{EngineBuilder, SharedEngine};
/// let shared = SharedEngine::new(EngineBuilder::new().build().unwrap());
/// assert!(shared.load().is_empty());
/// let outcome = shared.reload(|rates| Ok(EngineBuilder::new().rates(rates)));
/// assert!(outcome.is_ok());
/// ```
#[derive(Debug)]
pub struct SharedEngine {
    current: ArcSwap<Engine>,
}

impl SharedEngine {
    /// Starts with `engine`.
    pub fn new(engine: Engine) -> Self {
        SharedEngine {
            current: ArcSwap::from_pointee(engine),
        }
    }

    /// The current engine, for one inspection or a batch.
    pub fn load(&self) -> Guard<Arc<Engine>> {
        self.current.load()
    }

    /// The current engine as an owned `Arc`.
    pub fn load_full(&self) -> Arc<Engine> {
        self.current.load_full()
    }

    /// Replaces the engine.
    pub fn store(&self, engine: Engine) {
        self.current.store(Arc::new(engine));
    }

    /// Builds a new engine with `prepare` (given the running engine's rate
    /// table, to carry counters over) and swaps it in. On error, the
    /// running engine stays and the error is returned.
    pub fn reload(
        &self,
        prepare: impl FnOnce(Arc<crate::Rates>) -> Result<EngineBuilder, BuildError>,
    ) -> Result<Arc<Engine>, BuildError> {
        let rates = self.current.load().rates().clone();
        let engine = Arc::new(prepare(rates)?.build()?);
        self.current.store(engine.clone());
        Ok(engine)
    }
}
