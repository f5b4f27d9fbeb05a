//! A minimal `tracing` subscriber for the Lambda: one plain line per event on stdout, which CloudWatch Logs keeps.
//!
//! `lambda_runtime`'s own subscriber brings `tracing-subscriber` with its regex-based env filter, about a megabyte
//! of the bundled binary; the handler logs a few fixed lines and needs none of it.

use std::fmt::{self, Write as _};
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

/// Prints events at `INFO` and above (`DEBUG` too when `LOGIN_ALERT_DEBUG` is set).
pub struct LineSubscriber {
    max: Level,
}

impl Subscriber for LineSubscriber {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= &self.max
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = Line(format!("{:<5}", event.metadata().level()));
        event.record(&mut line);
        line.0.push('\n');
        let _ = std::io::stdout().lock().write_all(line.0.as_bytes());
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Installs the subscriber for the whole process; a second call is a no-op.
pub fn init() {
    let max = if std::env::var_os("LOGIN_ALERT_DEBUG").is_some() {
        Level::DEBUG
    } else {
        Level::INFO
    };
    let _ = tracing::subscriber::set_global_default(LineSubscriber { max });
}
