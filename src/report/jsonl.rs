//! The JSON-lines run log, written through a tracing-subscriber `fmt` layer of its own (not the
//! global subscriber). Each line is one serialised `RunEvent` — the event is one typed serde
//! value, never scattered tracing fields — written with a single `write` and no buffering, so
//! every line parses on its own even if the process is killed. The first line is `run-started`
//! (header with `format_version`), the last `run-finished` (summary).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

use crate::runner::event::{ReportError, Reporter, RunEvent};
use crate::runner::sensitive::redact;

/// Version of the run-log format (in the header line).
pub const FORMAT_VERSION: u32 = 1;

/// Appends events to a `.jsonl` file.
pub struct JsonlReporter {
    dispatch: tracing::Dispatch,
    failure: Arc<Mutex<Option<io::Error>>>,
    path: PathBuf,
}

impl JsonlReporter {
    /// Creates `path` (which must not exist).
    pub fn create(path: &Path) -> io::Result<JsonlReporter> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        let failure = Arc::new(Mutex::new(None));
        let writer = LogFile {
            file: Arc::new(Mutex::new(file)),
            failure: failure.clone(),
        };
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(writer)
            .event_format(EventLine);
        let subscriber = tracing_subscriber::registry().with(layer);
        Ok(JsonlReporter {
            dispatch: tracing::Dispatch::new(subscriber),
            failure,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Reporter for JsonlReporter {
    fn report(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        let line = serde_json::to_string(event).map_err(|e| ReportError {
            reporter: "run log",
            source: io::Error::other(e),
        })?;
        let line = redact(&line);
        tracing::dispatcher::with_default(&self.dispatch, || {
            tracing::info!(target: "democtl::run", event = %line);
        });
        match self.failure.lock().ok().and_then(|mut f| f.take()) {
            Some(source) => Err(ReportError {
                reporter: "run log",
                source,
            }),
            None => Ok(()),
        }
    }
}

/// Formats an event as its `event` field verbatim: the already-serialised `RunEvent`.
struct EventLine;

struct EventField(Option<String>);

impl Visit for EventField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "event" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "event" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl<S, N> FormatEvent<S, N> for EventLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mut field = EventField(None);
        event.record(&mut field);
        match field.0 {
            Some(json) => writeln!(writer, "{json}"),
            None => Ok(()),
        }
    }
}

/// The log file as a `MakeWriter`; remembers the first write error for the reporter.
#[derive(Clone)]
struct LogFile {
    file: Arc<Mutex<File>>,
    failure: Arc<Mutex<Option<io::Error>>>,
}

struct LogWrite(LogFile);

impl Write for LogWrite {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = match self.0.file.lock() {
            Ok(mut file) => file.write_all(buf).map(|()| buf.len()),
            Err(_) => Err(io::Error::other("run log lock poisoned")),
        };
        if let Err(e) = &result
            && let Ok(mut failure) = self.0.failure.lock()
        {
            failure.get_or_insert_with(|| io::Error::new(e.kind(), e.to_string()));
        }
        result
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = LogWrite;

    fn make_writer(&'a self) -> LogWrite {
        LogWrite(self.clone())
    }
}

/// `20261125T193855Z-deploy-stage1.jsonl`: sortable, one per run.
pub fn file_name(at: jiff::Timestamp, command: &str, stage: Option<&str>) -> String {
    let stamp = at.strftime("%Y%m%dT%H%M%SZ");
    match stage {
        Some(stage) => format!("{stamp}-{command}-{stage}.jsonl"),
        None => format!("{stamp}-{command}.jsonl"),
    }
}
