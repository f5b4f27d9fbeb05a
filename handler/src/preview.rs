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

/// What one chunk of records rendered to, before it is written in input order.
#[derive(Default)]
struct Chunk {
    text: String,
    /// Items rendered (JSON objects, emails): separators go between items, also across chunks.
    items: usize,
    records: usize,
    alerts: usize,
    problems: Vec<String>,
}

fn render(chunk: &mut Chunk, item: input::Item<'_>, settings: &Settings, format: PreviewFormat) {
    chunk.records += 1;
    let record = match item.record {
        Ok(record) => record,
        Err(err) => {
            chunk
                .problems
                .push(format!("{}: skipped: {err}", item.position));
            return;
        }
    };
    let finding = Finding::new(record, settings.scope, item.timestamp_ms);
    chunk.alerts += usize::from(finding.alert);
    let out = &mut chunk.text;
    match format {
        PreviewFormat::Json => {
            if chunk.items > 0 {
                out.push(',');
            }
            out.push_str("\n  ");
            if let Ok(json) = serde_json::to_string(&format::classification(&finding)) {
                out.push_str(&json);
            }
        }
        PreviewFormat::Text => format::text_line(&finding, settings, out),
        PreviewFormat::Slack if finding.alert => {
            format::write_slack(&finding, settings, out);
            out.push('\n');
        }
        PreviewFormat::Email if finding.alert => {
            if chunk.items > 0 {
                out.push_str(EMAIL_SEPARATOR);
            }
            let email = format::email(&finding, settings);
            let _ = write!(out, "Subject: {}\n\n{}", email.subject, email.body);
        }
        PreviewFormat::Slack | PreviewFormat::Email => return,
    }
    chunk.items += 1;
}

const EMAIL_SEPARATOR: &str =
    "------------------------------------------------------------------------\n";

/// Renders `input` as [`preview`] does, streaming the output to `out` (the CLI passes stdout). A large
/// CloudWatch Logs batch is decoded and rendered on several threads; the output is the same, in input order.
pub fn preview_to<W: Write>(
    input: &[u8],
    settings: &Settings,
    format: PreviewFormat,
    out: &mut W,
) -> Result<PreviewSummary, PreviewError> {
    let mut write_error: Option<std::io::Error> = None;
    let mut write = |bytes: &[u8], write_error: &mut Option<std::io::Error>| {
        if write_error.is_none()
            && let Err(err) = out.write_all(bytes)
        {
            *write_error = Some(err);
        }
    };
    let mut total = Chunk::default();
    if format == PreviewFormat::Json {
        write(b"[", &mut write_error);
    }
    let shape = input::map_records(
        input,
        |chunk: &mut Chunk, item| render(chunk, item, settings, format),
        |chunk: Chunk| {
            if total.items > 0 && chunk.items > 0 {
                match format {
                    PreviewFormat::Json => write(b",", &mut write_error),
                    PreviewFormat::Email => write(EMAIL_SEPARATOR.as_bytes(), &mut write_error),
                    PreviewFormat::Text | PreviewFormat::Slack => {}
                }
            }
            write(chunk.text.as_bytes(), &mut write_error);
            total.items += chunk.items;
            total.records += chunk.records;
            total.alerts += chunk.alerts;
            total.problems.extend(chunk.problems);
        },
    )?;
    let Chunk {
        items,
        records,
        alerts,
        problems,
        ..
    } = total;
    match format {
        PreviewFormat::Json => write(if items == 0 { b"]\n" } else { b"\n]\n" }, &mut write_error),
        PreviewFormat::Text => {
            let summary = format!(
                "{records} record(s) in this {}: {alerts} alert(s) with scope `{}`, {} unreadable.\n",
                shape.describe(),
                settings.scope,
                problems.len()
            );
            write(summary.as_bytes(), &mut write_error);
        }
        PreviewFormat::Slack | PreviewFormat::Email => {}
    }
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
