//! Opening the store and writing to it: one dedicated thread batches rows
//! into transactions, committed at least every flush interval.

use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::bounded;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use sensor_output::{Alert, EveFormatter};
use time::OffsetDateTime;

use crate::alert_row::alert_row;
use crate::chain::{self, PendingRow};
use crate::checkpoint::Checkpointer;
use crate::error::{Error, ErrorKind, Result};
use crate::event::{RulesetLoad, SensorEvent};
use crate::queue::{Closed, Queue};
use crate::schema;

/// How the store writes.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    /// Longest time a row waits before it is committed (default 500 ms): at
    /// most this much is lost if the process is killed.
    pub flush_interval: Duration,
    /// Commit without waiting for the interval once this many rows wait
    /// (default 50,000).
    pub batch_max: usize,
    /// Rows that may wait for the writer thread before writers block
    /// (default 200,000); also the largest transaction.
    pub queue_capacity: usize,
    /// `synchronous=FULL` (survives power loss) instead of `NORMAL`
    /// (survives a process crash). Default `false`.
    pub synchronous_full: bool,
    /// SQLite page cache of the writer, in MiB (default 256).
    pub cache_mib: u32,
    /// Formats the EVE column.
    pub eve: EveFormatter,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            flush_interval: Duration::from_millis(500),
            batch_max: 50_000,
            queue_capacity: 200_000,
            synchronous_full: false,
            cache_mib: 256,
            eve: EveFormatter::default(),
        }
    }
}

/// Counters of the writer thread.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Rows committed.
    pub rows: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Rows lost to failed transactions.
    pub failed_rows: u64,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// CPU time the writer thread has used (hashing, SQLite, I/O calls).
    pub busy: Duration,
}

#[derive(Default)]
struct Shared {
    rows: AtomicU64,
    batches: AtomicU64,
    failed_rows: AtomicU64,
    busy_nanos: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// Opens (creating with mode 0600) the SQLite file at `path` with WAL and
/// the schema, without starting a writer: for queries, verification and
/// pruning.
pub fn open_connection(path: &Path, create: bool) -> Result<Connection> {
    if create {
        // Create the file ourselves so that it never exists with a wider
        // mode; SQLite gives its -wal and -shm files the same mode.
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    } else if !path.exists() {
        return Err(Error::new(
            ErrorKind::Io,
            format!("{}: no such audit store", path.display()),
        ));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    if create {
        schema::set_page_size(&conn)?;
    }
    schema::configure(&conn, false)?;
    if create {
        schema::create(&conn)?;
    } else {
        schema::check_version(&conn)?;
    }
    Ok(conn)
}

/// The audit store, open for writing.
///
/// Rows go through a bounded queue to a dedicated thread that commits them
/// in batches: a row waits at most [`AuditOptions::flush_interval`], less
/// when [`AuditOptions::batch_max`] rows are waiting. Cloneable
/// [`AuditHandle`]s let other threads (the fan-out's audit sink, the daemon)
/// write.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let store = sensor_audit::AuditStore::open(dir.path().join("audit.db")).unwrap();
/// store.handle().record_event(sensor_audit::SensorEvent::Stop { reason: "test".into() }).unwrap();
/// store.close().unwrap();
/// ```
pub struct AuditStore {
    path: PathBuf,
    handle: AuditHandle,
    thread: Option<JoinHandle<()>>,
    checkpointer: Checkpointer,
}

/// Writes to an [`AuditStore`] from any thread.
#[derive(Clone)]
pub struct AuditHandle {
    queue: Arc<Queue>,
    eve: Arc<EveFormatter>,
    shared: Arc<Shared>,
}

impl AuditStore {
    /// Opens or creates the store at `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<AuditStore> {
        AuditStore::open_with(path, AuditOptions::default())
    }

    /// Opens or creates the store at `path`.
    pub fn open_with(path: impl AsRef<Path>, options: AuditOptions) -> Result<AuditStore> {
        let path = path.as_ref().to_path_buf();
        let conn = open_connection(&path, true)?;
        if options.synchronous_full {
            schema::configure(&conn, true)?;
        }
        // The writer inserts at random positions (addresses, sids) within
        // the current hour's part of each index: keep those pages in memory
        // rather than re-reading them from the OS for every row.
        conn.pragma_update(None, "cache_size", -(options.cache_mib as i64) * 1024)?;
        // Checkpoints run on their own thread; the writer checkpoints itself
        // only if the WAL grows past ~1 GiB (the checkpointer fell behind).
        conn.pragma_update(None, "wal_autocheckpoint", (1 << 30) / schema::PAGE_SIZE)?;
        let checkpointer = Checkpointer::start(&path, Duration::from_secs(1))?;
        let queue = Arc::new(Queue::new(options.queue_capacity, options.batch_max));
        let shared = Arc::new(Shared::default());
        let writer = Writer {
            conn,
            queue: queue.clone(),
            flush_interval: options.flush_interval,
            shared: shared.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer.run())?;
        Ok(AuditStore {
            path,
            handle: AuditHandle {
                queue,
                eve: Arc::new(options.eve),
                shared,
            },
            thread: Some(thread),
            checkpointer,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A handle for writing from other threads.
    pub fn handle(&self) -> AuditHandle {
        self.handle.clone()
    }

    /// Commits everything queued, then stops the writer thread.
    pub fn close(mut self) -> Result<()> {
        self.stop();
        match self.handle.stats().last_error {
            Some(e) => Err(Error::new(ErrorKind::Sqlite, e)),
            None => Ok(()),
        }
    }

    fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.handle.queue.close();
            let _ = thread.join();
        }
        self.checkpointer.stop();
    }
}

impl Drop for AuditStore {
    fn drop(&mut self) {
        self.stop();
    }
}

impl AuditHandle {
    /// Queues an alert (its EVE record is built on the calling thread).
    /// Blocks only while the writer's queue is full.
    pub fn insert_alert(&self, alert: &Alert) -> Result<()> {
        self.send(alert_row(alert, &self.eve))
    }

    /// Queues a sensor event, time-stamped now.
    pub fn record_event(&self, event: SensorEvent) -> Result<()> {
        self.record_event_at(event, OffsetDateTime::now_utc())
    }

    /// Queues a sensor event that happened at `at` (e.g. a capture loss
    /// reported with the packet clock).
    pub fn record_event_at(&self, event: SensorEvent, at: OffsetDateTime) -> Result<()> {
        self.send(event.row(at))
    }

    /// Queues a ruleset load, time-stamped now.
    pub fn record_ruleset(&self, load: &RulesetLoad) -> Result<()> {
        self.send(load.row(OffsetDateTime::now_utc()))
    }

    fn send(&self, row: PendingRow) -> Result<()> {
        self.queue.push(row).map_err(closed)
    }

    /// Waits until every row queued before this call is committed.
    pub fn flush(&self) -> Result<()> {
        let (ack, done) = bounded(1);
        self.queue.flush(ack).map_err(closed)?;
        done.recv().map_err(|_| closed(Closed))
    }

    /// The writer's counters.
    pub fn stats(&self) -> WriterStats {
        WriterStats {
            rows: self.shared.rows.load(Ordering::Relaxed),
            batches: self.shared.batches.load(Ordering::Relaxed),
            failed_rows: self.shared.failed_rows.load(Ordering::Relaxed),
            last_error: self
                .shared
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            busy: Duration::from_nanos(self.shared.busy_nanos.load(Ordering::Relaxed)),
        }
    }

    /// Rows waiting for the writer thread.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

fn closed(_: Closed) -> Error {
    Error::new(ErrorKind::Closed, "audit store closed")
}

struct Writer {
    conn: Connection,
    queue: Arc<Queue>,
    flush_interval: Duration,
    shared: Arc<Shared>,
}

impl Writer {
    fn run(mut self) {
        // However the loop ends, writers must not wait on a dead thread.
        struct CloseOnExit(Arc<Queue>);
        impl Drop for CloseOnExit {
            fn drop(&mut self) {
                self.0.close();
            }
        }
        let _close = CloseOnExit(self.queue.clone());
        loop {
            let mut batch = self.queue.take(self.flush_interval);
            self.commit(&mut batch.rows);
            for ack in batch.acks {
                let _ = ack.send(());
            }
            self.queue.recycle(batch.rows);
            if batch.last {
                break;
            }
        }
    }

    fn commit(&mut self, batch: &mut Vec<PendingRow>) {
        if batch.is_empty() {
            return;
        }
        let result = (|| -> Result<()> {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            chain::append(&tx, batch)?;
            tx.commit()?;
            Ok(())
        })();
        match result {
            Ok(()) => {
                self.shared
                    .rows
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                self.shared.batches.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.shared
                    .failed_rows
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                *self
                    .shared
                    .last_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
            }
        }
        batch.clear();
        self.shared
            .busy_nanos
            .store(thread_cpu_nanos(), Ordering::Relaxed);
    }
}

/// CPU time used by the calling thread.
fn thread_cpu_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
