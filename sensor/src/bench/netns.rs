//! Threads inside a network namespace. Namespaces are per thread: the thread
//! that joins one takes only itself there, and the rest of the process stays
//! where it is.

use std::{fs::File, io, os::fd::AsRawFd as _, thread};

/// Moves the calling thread into network namespace `netns` (a name under
/// `/run/netns`, as `ip netns` creates them).
pub fn join(netns: &str) -> io::Result<()> {
    let ns = File::open(format!("/run/netns/{netns}"))?;
    // SAFETY: setns on this thread only, with a valid namespace descriptor.
    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Runs `f` on a new thread inside `netns`.
pub fn spawn<T, F>(netns: &str, f: F) -> thread::JoinHandle<io::Result<T>>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    let netns = netns.to_string();
    thread::spawn(move || {
        join(&netns)?;
        f()
    })
}
