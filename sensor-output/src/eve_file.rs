//! EVE JSON lines to a file (reopenable for log rotation) or to stdout.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::eve::EveFormatter;
use crate::sink::{Record, Sink, SinkError};

/// Appends one EVE JSON object per line to a file.
///
/// [`Sink::reopen`] closes and reopens the path, so that after `logrotate`
/// renames the file the sink writes to a fresh one (the daemon calls it on
/// SIGHUP through [`crate::FanOut::reopen`]). New files are created mode 0640.
pub struct EveFileSink {
    name: String,
    path: PathBuf,
    formatter: EveFormatter,
    out: BufWriter<File>,
}

impl EveFileSink {
    /// Opens (creating or appending to) `path`.
    pub fn open(path: impl AsRef<Path>, formatter: EveFormatter) -> io::Result<EveFileSink> {
        let path = path.as_ref().to_path_buf();
        let out = BufWriter::with_capacity(64 * 1024, open_append(&path)?);
        Ok(EveFileSink {
            name: format!("eve:{}", path.display()),
            path,
            formatter,
            out,
        })
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

/// Writes one record as a JSON line into `out`.
fn write_record(out: &mut impl Write, formatter: &EveFormatter, record: &Record) -> io::Result<()> {
    let line = match record {
        Record::Alert(a) => formatter.alert(a),
        Record::Http(h) => formatter.http(h),
    };
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")
}

impl Sink for EveFileSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&mut self, record: &Record) -> Result<(), SinkError> {
        write_record(&mut self.out, &self.formatter, record)
            .map_err(|e| SinkError::io(format!("writing {}", self.path.display()), e))
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.out
            .flush()
            .map_err(|e| SinkError::io(format!("flushing {}", self.path.display()), e))
    }

    fn reopen(&mut self) -> Result<(), SinkError> {
        self.flush()?;
        let file = open_append(&self.path)
            .map_err(|e| SinkError::io(format!("reopening {}", self.path.display()), e))?;
        self.out = BufWriter::with_capacity(64 * 1024, file);
        Ok(())
    }
}

/// Writes one EVE JSON object per line to standard output.
pub struct EveStdoutSink {
    formatter: EveFormatter,
    out: BufWriter<io::Stdout>,
}

impl EveStdoutSink {
    /// A sink writing to this process's stdout.
    pub fn new(formatter: EveFormatter) -> EveStdoutSink {
        EveStdoutSink {
            formatter,
            out: BufWriter::new(io::stdout()),
        }
    }
}

impl Sink for EveStdoutSink {
    fn name(&self) -> &str {
        "eve:stdout"
    }

    fn send(&mut self, record: &Record) -> Result<(), SinkError> {
        write_record(&mut self.out, &self.formatter, record)
            .map_err(|e| SinkError::io("writing stdout", e))
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.out
            .flush()
            .map_err(|e| SinkError::io("flushing stdout", e))
    }
}
