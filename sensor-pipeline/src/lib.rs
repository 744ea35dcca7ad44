//! Vigil's user-space pipeline, the same for live capture and replay:
//! packets → flows and parsers (`sensor-proto`) → detection (`sensor-engine`)
//! → records for the outputs (`sensor-output`).
//!
//! A [`Pipeline`] is fed decoded packets; where they come from (a capture
//! file, the kernel's ring buffer) and where its records go (an
//! [`Outputs`] implementation) are the only differences between modes.

mod detect;
mod engine_input;
mod records;
pub mod regression;
mod replay;
mod ruleset;

pub use detect::{Detector, Mode};
pub use engine_input::EventInput;
pub use replay::{ReplayOptions, ReplaySummary, replay_files};
pub use ruleset::{LoadedRules, Ruleset, SharedRuleset, compile_rules, load_rules, parse_var};

use std::{collections::HashMap, sync::Arc};

use sensor_output::{Alert, FanOut, HttpLog, Record, Sink};
use sensor_packet::Packet;
use sensor_proto::http::HttpRequest;
use sensor_proto::{Driver, DriverConfig, Event, EventSink};

/// Where the pipeline's records go.
pub trait Outputs {
    /// An alert.
    fn alert(&mut self, alert: Alert);
    /// A completed HTTP transaction, for the header log.
    fn http(&mut self, log: HttpLog);
    /// A flow ended (closed and timed out, idle, evicted, reused, or the
    /// pipeline finished): live capture forgets the kernel state it kept
    /// for it.
    fn flow_end(&mut self, _flow: &sensor_proto::Flow) {}
}

impl Outputs for FanOut {
    fn alert(&mut self, alert: Alert) {
        self.send(Record::Alert(alert));
    }
    fn http(&mut self, log: HttpLog) {
        self.send(Record::Http(log));
    }
}

/// Writes every record to its sinks synchronously, on the caller's thread.
///
/// For offline replay, where losing a record to a full queue would make
/// results depend on timing: here the pipeline waits for the outputs instead.
#[derive(Default)]
pub struct Synchronous {
    sinks: Vec<Box<dyn Sink>>,
    /// Records a sink failed to write, per sink name.
    pub failures: Vec<(String, String)>,
}

impl Synchronous {
    /// Adds a sink.
    pub fn sink(mut self, sink: impl Sink + 'static) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    fn send(&mut self, record: Record) {
        for sink in &mut self.sinks {
            if sink.accepts(&record)
                && let Err(e) = sink.send(&record)
            {
                self.failures.push((sink.name().to_string(), e.to_string()));
            }
        }
    }

    /// Flushes every sink.
    pub fn flush(&mut self) {
        for sink in &mut self.sinks {
            if let Err(e) = sink.flush() {
                self.failures.push((sink.name().to_string(), e.to_string()));
            }
        }
    }
}

impl Outputs for Synchronous {
    fn alert(&mut self, alert: Alert) {
        self.send(Record::Alert(alert));
    }
    fn http(&mut self, log: HttpLog) {
        self.send(Record::Http(log));
    }
}

/// Collects records in memory (tests, `vigil replay` without outputs).
#[derive(Debug, Default)]
pub struct Collected {
    pub alerts: Vec<Alert>,
    pub http: Vec<HttpLog>,
}

impl Outputs for Collected {
    fn alert(&mut self, alert: Alert) {
        self.alerts.push(alert);
    }
    fn http(&mut self, log: HttpLog) {
        self.http.push(log);
    }
}

/// Counts of what went through the pipeline beyond the driver's own.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct StageCounters {
    pub alerts: u64,
    pub blocked: u64,
    pub http_logs: u64,
}

/// Everything after the flow table: detection and records.
struct Stage<O> {
    detector: Option<Detector>,
    outputs: O,
    http_log: bool,
    /// Requests awaiting their response, per flow id, for the header log:
    /// a request whose response never comes is logged when its flow ends.
    /// Bounded by the parser's own limit of pending requests per flow.
    unanswered: HashMap<u64, Vec<Arc<HttpRequest>>>,
    iface: Option<String>,
    counters: StageCounters,
}

impl<O: Outputs> Stage<O> {
    fn log_http(&mut self, event: &Event<'_>) {
        match *event {
            Event::HttpRequest { flow, request } => {
                self.unanswered
                    .entry(flow.id)
                    .or_default()
                    .push(request.clone());
            }
            Event::HttpResponse {
                flow,
                request: Some(request),
                response,
            } => {
                if let Some(pending) = self.unanswered.get_mut(&flow.id) {
                    pending.retain(|r| r.tx_id != request.tx_id);
                }
                self.counters.http_logs += 1;
                self.outputs.http(records::http_log(
                    flow,
                    request,
                    Some(response),
                    self.iface.as_deref(),
                ));
            }
            Event::FlowEnd { flow, .. } => {
                for request in self.unanswered.remove(&flow.id).unwrap_or_default() {
                    self.counters.http_logs += 1;
                    self.outputs.http(records::http_log(
                        flow,
                        &request,
                        None,
                        self.iface.as_deref(),
                    ));
                }
            }
            _ => {}
        }
    }
}

impl<O: Outputs> EventSink for Stage<O> {
    fn on_event(&mut self, event: &Event<'_>) {
        if let Some(detector) = &mut self.detector {
            let (outputs, counters) = (&mut self.outputs, &mut self.counters);
            detector.inspect(event, &mut |alert| {
                counters.alerts += 1;
                if alert.action == sensor_output::Action::Blocked {
                    counters.blocked += 1;
                }
                outputs.alert(alert);
            });
        }
        if self.http_log {
            self.log_http(event);
        }
        if let Event::FlowEnd { flow, .. } = event {
            self.outputs.flow_end(flow);
        }
    }
}

/// The pipeline from decoded packets to records.
pub struct Pipeline<O> {
    driver: Driver,
    stage: Stage<O>,
}

impl<O: Outputs> Pipeline<O> {
    /// A pipeline with the driver's `config`, an optional detector (no rules:
    /// parse and log only), and `outputs`.
    pub fn new(config: DriverConfig, detector: Option<Detector>, outputs: O) -> Self {
        Pipeline {
            driver: Driver::new(config),
            stage: Stage {
                detector,
                outputs,
                http_log: false,
                unanswered: HashMap::new(),
                iface: None,
                counters: StageCounters::default(),
            },
        }
    }

    /// Emits an EVE `http` record per transaction (the header log).
    pub fn with_http_log(mut self, on: bool) -> Self {
        self.stage.http_log = on;
        self
    }

    /// Names the capture interface in records.
    pub fn with_iface(mut self, iface: impl Into<String>) -> Self {
        self.stage.iface = Some(iface.into());
        self
    }

    /// Feeds one packet.
    pub fn process(&mut self, packet: &Packet<'_>) {
        self.driver.process(packet, &mut self.stage);
    }

    /// Ends every flow (end of input), emitting what they still hold.
    pub fn finish(&mut self) {
        self.driver.finish(&mut self.stage);
    }

    /// The driver (flows, parsers and their counters).
    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    /// Detection counters.
    pub fn counters(&self) -> StageCounters {
        self.stage.counters
    }

    /// The detector, e.g. to swap its engine on reload.
    pub fn detector_mut(&mut self) -> Option<&mut Detector> {
        self.stage.detector.as_mut()
    }

    /// The outputs.
    pub fn outputs(&self) -> &O {
        &self.stage.outputs
    }

    /// The outputs, mutably.
    pub fn outputs_mut(&mut self) -> &mut O {
        &mut self.stage.outputs
    }

    /// Takes the outputs back.
    pub fn into_outputs(self) -> O {
        self.stage.outputs
    }
}
