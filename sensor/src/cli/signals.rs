//! Shutdown on SIGINT or SIGTERM, so that programs are detached and queues
//! flushed however the operator (or systemd) stops Vigil.

use tokio::signal::unix::{SignalKind, signal};

/// Completes on the first SIGINT or SIGTERM, returning the signal's name.
pub async fn shutdown_signal() -> &'static str {
    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
