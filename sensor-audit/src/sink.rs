//! The audit store as one of the fan-out's sinks.

use sensor_output::{HealthChange, Record, Sink, SinkError, SinkErrorKind};

use crate::event::SensorEvent;
use crate::store::AuditHandle;

/// Feeds alerts from the fan-out into the audit store.
///
/// Its queue in the fan-out is independent of every other sink's, so alerts
/// keep reaching the store while, say, syslog is down.
pub struct AuditSink {
    name: String,
    handle: AuditHandle,
}

impl AuditSink {
    /// A sink writing through `handle`.
    pub fn new(handle: AuditHandle) -> AuditSink {
        AuditSink {
            name: "audit".to_string(),
            handle,
        }
    }
}

impl Sink for AuditSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn accepts(&self, record: &Record) -> bool {
        matches!(record, Record::Alert(_))
    }

    fn send(&mut self, record: &Record) -> Result<(), SinkError> {
        let Record::Alert(alert) = record else {
            return Ok(());
        };
        self.handle
            .insert_alert(alert)
            .map_err(|e| SinkError::new(SinkErrorKind::Closed, e.to_string()))
    }
}

impl AuditHandle {
    /// Records a sink going down or coming back as a sensor event; pass it to
    /// [`sensor_output::FanOutBuilder::on_health_change`]:
    ///
    /// ```no_run
    /// # let store = sensor_audit::AuditStore::open("/tmp/a.db").unwrap();
    /// let h = store.handle();
    /// let fanout = sensor_output::FanOut::builder()
    ///     .sink(sensor_audit::AuditSink::new(store.handle()))
    ///     .on_health_change(move |c| h.record_health_change(c))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn record_health_change(&self, change: &HealthChange) {
        let event = if change.healthy {
            SensorEvent::SinkRecovered {
                sink: change.sink.clone(),
            }
        } else {
            SensorEvent::SinkFailure {
                sink: change.sink.clone(),
                error: change.error.clone().unwrap_or_default(),
            }
        };
        // A closed store cannot record its own closing; nothing else to do.
        let _ = self.record_event(event);
    }
}
