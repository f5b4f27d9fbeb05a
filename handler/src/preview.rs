//! `login-alert preview`: exactly what the handler would send for an input, without sending it.

use std::fmt;
use std::fmt::Write as _;
use std::io::Write;
use std::str::FromStr;

use crate::classify::{Finding, Kind};
use crate::error::InputError;
use crate::format;
use crate::input::{self, Shape};
use crate::settings::Settings;

/// The `--output` of `preview`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PreviewFormat {
    /// One line per record: alert or not, kind, subject, time, source IP.
    #[default]
    Text,
    /// Each email as SNS would publish it (subject and body).
    Email,
    /// Each Slack webhook payload, one JSON document per line.
    Slack,
    /// The classification of every record, as a JSON array.
    Json,
}

impl PreviewFormat {
    pub const ALL: [PreviewFormat; 4] = [
        PreviewFormat::Text,
        PreviewFormat::Email,
        PreviewFormat::Slack,
        PreviewFormat::Json,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PreviewFormat::Text => "text",
            PreviewFormat::Email => "email",
            PreviewFormat::Slack => "slack",
            PreviewFormat::Json => "json",
        }
    }
}

impl fmt::Display for PreviewFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PreviewFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PreviewFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown output `{s}`: use one of text, email, slack, json"))
    }
}

/// The rendered preview plus what the CLI should tell the user on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// For stdout: exactly what would be sent (or the classification).
    pub output: String,
    /// One line per record that could not be read (`logEvents[3]: not a CloudTrail record: …`).
    pub problems: Vec<String>,
    pub shape: Shape,
    pub records: usize,
    pub alerts: usize,
}

/// Renders `input` (any shape the handler accepts) as the handler would, in `format`, into a string.
pub fn preview(
    input: &[u8],
    settings: &Settings,
    format: PreviewFormat,
) -> Result<Preview, InputError> {
    let mut bytes = Vec::new();
    let summary = preview_to(input, settings, format, &mut bytes).map_err(|err| match err {
        PreviewError::Input(err) => err,
        // Writing to a Vec cannot fail.
        PreviewError::Write(_) => InputError::Empty,
    })?;
    let output = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok(Preview {
        output,
        problems: summary.problems,
        shape: summary.shape,
        records: summary.records,
        alerts: summary.alerts,
    })
}

/// What `preview_to` wrote, apart from the output itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewSummary {
    pub problems: Vec<String>,
    pub shape: Shape,
    pub records: usize,
    pub alerts: usize,
}

/// `preview_to` failed: the input is unreadable, or the output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("writing the preview failed: {0}")]
    Write(#[source] std::io::Error),
}

/// Output is handed to the writer in blocks of about this size, so a 20,000-record batch never sits in memory whole.
const FLUSH_AT: usize = 256 * 1024;

/// Renders `input` as [`preview`] does, streaming the output to `out` (the CLI passes stdout).
pub fn preview_to<W: Write>(
    input: &[u8],
    settings: &Settings,
    format: PreviewFormat,
    out: &mut W,
) -> Result<PreviewSummary, PreviewError> {
    let mut output = String::with_capacity(FLUSH_AT + 64 * 1024);
    let mut write_error: Option<std::io::Error> = None;
    let mut flush = |output: &mut String, write_error: &mut Option<std::io::Error>| {
        if write_error.is_none()
            && let Err(err) = out.write_all(output.as_bytes())
        {
            *write_error = Some(err);
        }
        output.clear();
    };
    let mut problems = Vec::new();
    let (mut records, mut alerts, mut first) = (0usize, 0usize, true);
    if format == PreviewFormat::Json {
        output.push('[');
    }
    let shape = input::for_each_record(input, |item| {
        records += 1;
        let record = match item.record {
            Ok(record) => record,
            Err(err) => {
                problems.push(format!("{}: skipped: {err}", item.position));
                return;
            }
        };
        let finding = Finding::new(record, settings.scope, item.timestamp_ms);
        alerts += usize::from(finding.alert);
        match format {
            PreviewFormat::Json => {
                output.push_str(if first { "\n  " } else { ",\n  " });
                if let Ok(json) = serde_json::to_string(&format::classification(&finding)) {
                    output.push_str(&json);
                }
            }
            PreviewFormat::Text => format::text_line(&finding, settings, &mut output),
            PreviewFormat::Slack if finding.alert => {
                format::write_slack(&finding, settings, &mut output);
                output.push('\n');
            }
            PreviewFormat::Email if finding.alert => {
                if !first {
                    output.push_str(&"-".repeat(72));
                    output.push('\n');
                }
                let email = format::email(&finding, settings);
                let _ = write!(output, "Subject: {}\n\n{}", email.subject, email.body);
            }
            PreviewFormat::Slack | PreviewFormat::Email => return,
        }
        first = false;
        if output.len() >= FLUSH_AT {
            flush(&mut output, &mut write_error);
        }
    })?;
    match format {
        PreviewFormat::Json => output.push_str(if first { "]\n" } else { "\n]\n" }),
        PreviewFormat::Text => {
            let _ = writeln!(
                output,
                "{records} record(s) in this {}: {alerts} alert(s) with scope `{}`, {} unreadable.",
                shape.describe(),
                settings.scope,
                problems.len()
            );
        }
        PreviewFormat::Slack | PreviewFormat::Email => {}
    }
    flush(&mut output, &mut write_error);
    if let Some(err) = write_error {
        return Err(PreviewError::Write(err));
    }
    Ok(PreviewSummary {
        problems,
        shape,
        records,
        alerts,
    })
}

/// Every kind, for documentation and tests.
pub const KINDS: [Kind; 6] = [
    Kind::ConsoleLoginSuccess,
    Kind::ConsoleLoginFailure,
    Kind::SwitchRole,
    Kind::RootActivity,
    Kind::OtherSignin,
    Kind::Ignore,
];
