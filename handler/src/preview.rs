//! `login-alert preview`: exactly what the handler would send for an input, without sending it.

use std::fmt;
use std::fmt::Write as _;
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

/// Renders `input` (any shape the handler accepts) as the handler would, in `format`.
pub fn preview(
    input: &[u8],
    settings: &Settings,
    format: PreviewFormat,
) -> Result<Preview, InputError> {
    let mut output = String::new();
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
    Ok(Preview {
        output,
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
