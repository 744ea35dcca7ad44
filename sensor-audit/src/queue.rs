//! The hand-off between writers and the audit writer thread: a bounded
//! buffer that the writer thread empties a whole batch at a time.
//!
//! A channel would cost the writer one receive (and, when the queue is full,
//! one wake-up of a blocked sender) per row; here the writer takes every
//! waiting row under one lock, and blocked senders are woken once per batch.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::chain::PendingRow;

#[derive(Default)]
struct State {
    rows: Vec<PendingRow>,
    /// An emptied batch's buffer, handed back by the writer: the next batch
    /// fills it without growing a fresh vector from zero.
    spare: Vec<PendingRow>,
    acks: Vec<Sender<()>>,
    closed: bool,
}

/// What the writer takes in one go.
#[derive(Default)]
pub(crate) struct Batch {
    pub rows: Vec<PendingRow>,
    pub acks: Vec<Sender<()>>,
    /// No more batches will follow.
    pub last: bool,
}

pub(crate) struct Queue {
    state: Mutex<State>,
    /// Signalled when the writer should look: first row, full batch, flush
    /// request, close.
    wake_writer: Condvar,
    /// Signalled when the writer has emptied the buffer.
    drained: Condvar,
    capacity: usize,
    batch_max: usize,
}

/// The queue was closed.
pub(crate) struct Closed;

impl Queue {
    pub(crate) fn new(capacity: usize, batch_max: usize) -> Queue {
        Queue {
            state: Mutex::default(),
            wake_writer: Condvar::new(),
            drained: Condvar::new(),
            capacity: capacity.max(1),
            batch_max: batch_max.clamp(1, capacity.max(1)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a row, waiting while the buffer is full.
    pub(crate) fn push(&self, row: PendingRow) -> Result<(), Closed> {
        let mut state = self.lock();
        while state.rows.len() >= self.capacity && !state.closed {
            state = self.drained.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if state.closed {
            return Err(Closed);
        }
        state.rows.push(row);
        let n = state.rows.len();
        drop(state);
        if n == 1 || n == self.batch_max {
            self.wake_writer.notify_one();
        }
        Ok(())
    }

    /// Asks for everything queued so far to be committed; `ack` gets a
    /// message once it is.
    pub(crate) fn flush(&self, ack: Sender<()>) -> Result<(), Closed> {
        let mut state = self.lock();
        if state.closed {
            return Err(Closed);
        }
        state.acks.push(ack);
        drop(state);
        self.wake_writer.notify_one();
        Ok(())
    }

    /// Refuses new rows; the writer takes what is left, then stops.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.wake_writer.notify_one();
        self.drained.notify_all();
    }

    /// Takes back a committed batch's buffer for reuse.
    pub(crate) fn recycle(&self, mut rows: Vec<PendingRow>) {
        rows.clear();
        let mut state = self.lock();
        if state.spare.capacity() < rows.capacity() {
            state.spare = rows;
        }
    }

    /// Rows waiting.
    pub(crate) fn len(&self) -> usize {
        self.lock().rows.len()
    }

    /// Waits for the first row, then up to `interval` more for a full batch,
    /// a flush request or the close, and takes everything waiting.
    pub(crate) fn take(&self, interval: Duration) -> Batch {
        let mut state = self.lock();
        while state.rows.is_empty() && state.acks.is_empty() && !state.closed {
            state = self
                .wake_writer
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
        let deadline = Instant::now() + interval;
        while state.rows.len() < self.batch_max && state.acks.is_empty() && !state.closed {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self
                .wake_writer
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let spare = std::mem::take(&mut state.spare);
        let batch = Batch {
            rows: std::mem::replace(&mut state.rows, spare),
            acks: std::mem::take(&mut state.acks),
            last: state.closed,
        };
        drop(state);
        self.drained.notify_all();
        batch
    }
}
