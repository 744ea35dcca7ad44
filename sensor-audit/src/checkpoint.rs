//! WAL checkpoints on their own thread, so the writer thread spends its time
//! inserting rather than copying WAL frames into the database file.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::Result;
use crate::store::open_connection;

/// A thread running `PRAGMA wal_checkpoint(PASSIVE)` every interval (never
/// blocking the writer), and a final `TRUNCATE` checkpoint when stopped.
pub(crate) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn start(path: &Path, interval: Duration) -> Result<Checkpointer> {
        let conn = open_connection(path, false)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("audit-checkpoint".into())
            .spawn(move || {
                let (lock, cvar) = &*signal;
                let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                while !*stopped {
                    stopped = cvar
                        .wait_timeout(stopped, interval)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                    // Failures (e.g. SQLITE_BUSY) only delay the checkpoint: the
                    // next round retries, and the writer's own autocheckpoint
                    // is the backstop.
                    let mode = if *stopped { "TRUNCATE" } else { "PASSIVE" };
                    let _ =
                        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()));
                }
            })?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }

    /// Runs a last checkpoint and joins the thread.
    pub(crate) fn stop(&mut self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}
