//! The kernel capture run in-process, attached inside a lab namespace, for
//! tests that drive the enforcement maps directly.
//!
//! Network namespaces are per thread: a dedicated thread joins the lab's
//! namespace, attaches there and runs the ring reader, while the test thread
//! keeps the root namespace and drives traffic and the [`Enforcer`] (whose
//! map descriptors work from any thread).

use std::{
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use vigil::{
    capture::{CaptureConfig, CaptureSummary, KernelCapture, PacketEvent},
    enforce::Enforcer,
    lab::join_netns,
};

/// A capture attached in a lab namespace, reading records on its own thread.
pub struct InNetnsCapture {
    pub enforcer: Enforcer,
    events: mpsc::Receiver<PacketEvent>,
    received: Vec<PacketEvent>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<CaptureSummary>>,
}

impl InNetnsCapture {
    /// Attaches with `config` to `config.iface` inside namespace `netns`.
    pub fn start(netns: &str, config: CaptureConfig) -> InNetnsCapture {
        Self::start_with(netns, config)
    }

    fn start_with(netns: &str, config: CaptureConfig) -> InNetnsCapture {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<Enforcer, String>>();
        let (event_tx, events) = mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let netns = netns.to_string();
        let thread = thread::spawn(move || {
            join_netns(&netns).expect("join the lab namespace");
            let mut capture = match KernelCapture::attach(&config) {
                Ok(c) => c,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("attach: {e}")));
                    panic!("attach failed: {e}");
                }
            };
            match capture.enforcer() {
                Ok(enforcer) => ready_tx.send(Ok(enforcer)).unwrap(),
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("enforcer: {e}")));
                    panic!("enforcer: {e}");
                }
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let stop = async move {
                let _ = stop_rx.await;
            };
            rt.block_on(capture.run(
                move |event: PacketEvent| {
                    let _ = event_tx.send(event);
                },
                stop,
            ))
            .expect("capture run")
        });
        let enforcer = ready_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("capture thread never reported")
            .unwrap_or_else(|e| panic!("{e}"));
        InNetnsCapture {
            enforcer,
            events,
            received: Vec::new(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Every record received so far.
    pub fn events(&mut self) -> &[PacketEvent] {
        while let Ok(e) = self.events.try_recv() {
            self.received.push(e);
        }
        &self.received
    }

    /// Waits up to `timeout` for a record satisfying `pred`.
    pub fn wait_for(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&PacketEvent) -> bool,
    ) -> Option<PacketEvent> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.events().iter().find(|e| pred(e)) {
                return Some(e.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Detaches, drains the ring and returns the final accounting.
    pub fn stop(mut self) -> (Vec<PacketEvent>, CaptureSummary) {
        let _ = self.stop.take().unwrap().send(());
        let summary = self.thread.take().unwrap().join().expect("capture thread");
        self.events();
        (std::mem::take(&mut self.received), summary)
    }
}

impl Drop for InNetnsCapture {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
