//! Building the outputs the configuration asks for: EVE file, syslog
//! targets and the audit store, behind one non-blocking fan-out.

use std::{path::Path, sync::Arc};

use anyhow::Context as _;
use sensor_audit::{AuditHandle, AuditSink};
use sensor_output::{
    EveFileSink, EveFormatter, FanOut, HeaderMask,
    syslog::{Body, SyslogFormat, SyslogSink, Transport},
};

use crate::config::{Config, SyslogBody, SyslogFormat as CfgFormat, SyslogTransport};

fn create_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// The header mask of the configuration (the default list unless replaced).
pub fn header_mask(config: &Config) -> HeaderMask {
    match &config.eve.masked_headers {
        Some(names) => {
            let mut b = HeaderMask::builder();
            for n in sensor_output::DEFAULT_MASKED_HEADERS {
                b = b.unmask(n);
            }
            b.names(names.iter()).build()
        }
        None => HeaderMask::default(),
    }
}

/// Every configured sink behind one fan-out; sink failures and recoveries
/// are recorded in the audit store (PCI DSS 10.7.2).
pub fn build_fanout(config: &Config, audit: Option<&AuditHandle>) -> anyhow::Result<Arc<FanOut>> {
    let formatter = EveFormatter::new(header_mask(config));
    let mut builder = FanOut::builder();
    if let Some(path) = &config.eve.path {
        create_parent(path)?;
        let sink = EveFileSink::open(path, formatter.clone())
            .with_context(|| format!("opening {}", path.display()))?;
        builder = builder.sink(sink);
    }
    for s in &config.syslog {
        let transport = match s.transport {
            SyslogTransport::Udp => Transport::Udp(s.address.parse()?),
            SyslogTransport::Tcp => Transport::Tcp(s.address.parse()?),
            SyslogTransport::Unix => Transport::Unix(s.address.clone().into()),
        };
        let sink = SyslogSink::builder(transport)
            .format(match s.format {
                CfgFormat::Rfc5424 => SyslogFormat::Rfc5424,
                CfgFormat::Rfc3164 => SyslogFormat::Rfc3164,
            })
            .body(match s.body {
                SyslogBody::Eve => Body::Eve,
                SyslogBody::Cef => Body::Cef,
            })
            .eve_formatter(formatter.clone())
            .build();
        builder = builder.sink(sink);
    }
    if let Some(handle) = audit {
        builder = builder.sink(AuditSink::new(handle.clone()));
        let events = handle.clone();
        builder = builder.on_health_change(move |change| events.record_health_change(change));
    }
    Ok(Arc::new(builder.build()?))
}

/// Makes sure the audit store's directory exists.
pub fn prepare_audit_path(path: &Path) -> anyhow::Result<()> {
    create_parent(path)
}
