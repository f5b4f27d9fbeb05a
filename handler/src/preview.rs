//! `login-alert preview`: exactly what the handler would send for an input given an empty state, without sending.
//!
//! A CloudWatch Logs event is one invocation, as Lambda would get it. A CloudTrail log file, a JSON array or a
//! single record is replayed as EventBridge would deliver it: each record arriving at its `eventTime`, so groups
//! open windows, later records wait in them, and digests go out when the windows close.

use std::collections::HashMap;
use std::fmt;
use std::fmt::Write as _;
use std::io::Write;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::classify::{Finding, Kind};
use crate::collect::{self, Alert, Collected, KeepRaw};
use crate::deliver::Channel;
use crate::engine::{self, Outgoing};
use crate::error::InputError;
use crate::group;
use crate::input::{self, Shape};
use crate::message;
use crate::render;
use crate::settings::Settings;
use crate::store::{MemoryStore, Store};
use crate::verdict::Verdict;

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
    /// Each Microsoft Teams (Workflows webhook) payload, one JSON document per line.
    Teams,
    /// Each generic JSON webhook body, one JSON document per line.
    Webhook,
    /// The classification of every record, as a JSON array.
    Json,
}

impl PreviewFormat {
    pub const ALL: [PreviewFormat; 6] = [
        PreviewFormat::Text,
        PreviewFormat::Email,
        PreviewFormat::Slack,
        PreviewFormat::Teams,
        PreviewFormat::Webhook,
        PreviewFormat::Json,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PreviewFormat::Text => "text",
            PreviewFormat::Email => "email",
            PreviewFormat::Slack => "slack",
            PreviewFormat::Teams => "teams",
            PreviewFormat::Webhook => "webhook",
            PreviewFormat::Json => "json",
        }
    }

    /// The destination whose messages this format shows.
    pub fn channel(self) -> Option<Channel> {
        match self {
            PreviewFormat::Email => Some(Channel::Email),
            PreviewFormat::Slack => Some(Channel::Slack),
            PreviewFormat::Teams => Some(Channel::Teams),
            PreviewFormat::Webhook => Some(Channel::Webhook),
            PreviewFormat::Text | PreviewFormat::Json => None,
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
            .ok_or_else(|| {
                format!("unknown output `{s}`: use one of text, email, slack, teams, webhook, json")
            })
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
    /// Messages that would be sent (groups and digests count once).
    pub messages: usize,
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
        messages: summary.messages,
    })
}

/// What `preview_to` wrote, apart from the output itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewSummary {
    pub problems: Vec<String>,
    pub shape: Shape,
    pub records: usize,
    pub alerts: usize,
    pub messages: usize,
}

/// `preview_to` failed: the input is unreadable, or the output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("writing the preview failed: {0}")]
    Write(#[source] std::io::Error),
}

const EMAIL_SEPARATOR: &str =
    "------------------------------------------------------------------------\n";

/// One record's line (text) or object (JSON), rendered on a worker thread.
#[derive(Default)]
struct Chunk {
    text: String,
    items: usize,
    records: usize,
    alerts: usize,
    problems: Vec<String>,
}

fn render_record(
    chunk: &mut Chunk,
    item: input::Item<'_>,
    settings: &Settings,
    json: bool,
    verdicts: &HashMap<usize, Verdict>,
) {
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
    let mut finding =
        Finding::with_envelope(record, settings, item.timestamp_ms, item.envelope.as_ref());
    chunk.alerts += usize::from(finding.alert);
    if json {
        finding.novelty = verdicts
            .get(&item.position.index)
            .map(|v| Box::new(v.clone()));
        // A failure of a password spray was reported in the spray's group, not its identity's.
        let spray = finding.novelty.as_ref().and_then(|v| v.spray.as_ref());
        let group = match spray {
            Some(spray) => Some(group::digest(&crate::baseline::spray_group_key(
                finding.account_id().unwrap_or(""),
                &spray.source,
            ))),
            None => finding
                .alert
                .then(|| group::class_of(&finding))
                .flatten()
                .map(|class| group::digest(&group::key_of(&finding, class))),
        };
        if chunk.items > 0 {
            chunk.text.push(',');
        }
        chunk.text.push_str("\n  ");
        if let Ok(json) = serde_json::to_string(&render::classification(
            &finding,
            settings,
            group.as_deref(),
        )) {
            chunk.text.push_str(&render::inert_json(json));
        }
    } else {
        let headline = message::headline(&finding, crate::vocab::Language::En);
        let subject = message::subject_line(
            message::account_label(finding.account_id(), settings),
            &headline,
        );
        render::text_line(&finding, settings, &subject, &mut chunk.text);
    }
    chunk.items += 1;
}

/// The messages an input makes, in the order they would go out (see the module comment).
fn messages_of(
    mut collected: Collected,
    settings: &Settings,
    channels: &[Channel],
) -> Vec<Outgoing> {
    futures::executor::block_on(async {
        // One invocation on an empty state needs no state at all: every group opens a window, and when every
        // record is alone the first pass already rendered every message.
        if collected.shape == Some(Shape::CloudWatchLogs) {
            crate::usual::annotate(
                &mut collected.alerts,
                settings,
                channels,
                None::<&MemoryStore>,
            )
            .await;
            if let Some(messages) = engine::each_alone(&mut collected, settings, channels) {
                let count = collected.alerts.len();
                free_elsewhere(collected, count);
                return messages;
            }
            let now = engine::latest_time(&collected.alerts);
            return engine::invoke(
                collected,
                settings,
                channels,
                None::<&MemoryStore>,
                now,
                engine::DEFAULT_LEASE_SECS,
            )
            .await
            .messages;
        }
        let store = MemoryStore::new();
        let mut out = Vec::new();
        let mut alerts: Vec<Alert> = collected.alerts;
        alerts.sort_by_key(|a| (a.time, a.index));
        let mut now: DateTime<Utc> = alerts
            .iter()
            .find_map(|a| a.time)
            .unwrap_or_else(|| engine::latest_time(&[]));
        for alert in alerts {
            now = now.max(alert.time.unwrap_or(now));
            out.extend(due_digests(settings, channels, &store, now).await);
            let one = Collected {
                alerts: vec![alert],
                ..Collected::default()
            };
            out.extend(
                engine::invoke(
                    one,
                    settings,
                    channels,
                    Some(&store),
                    now,
                    engine::DEFAULT_LEASE_SECS,
                )
                .await
                .messages,
            );
        }
        let after = now + settings.group_window() + chrono::TimeDelta::seconds(1);
        out.extend(due_digests(settings, channels, &store, after).await);
        out
    })
}

/// Frees a batch's records or messages on a thread of its own when there are `count` of them, many, so the
/// preview's output does not wait for tens of thousands of frees (milliseconds on the benchmark's batch).
fn free_elsewhere<T: Send + 'static>(items: T, count: usize) {
    const MANY: usize = 1000;
    if count >= MANY {
        // Without a thread to be had, the closure, and the items with it, are dropped right here.
        let _ = std::thread::Builder::new()
            .name("preview-free".into())
            .spawn(move || drop(items));
    }
}

/// A CloudWatch Logs event is one invocation: the first record of each group in a chunk is enough. Anything else
/// is replayed one record at a time, and each record may then head a message.
fn keep_raw(input: &[u8]) -> KeepRaw {
    let cloudwatch = std::str::from_utf8(input)
        .map(|text| text.trim_start().starts_with("{\"awslogs\""))
        .unwrap_or(false);
    if cloudwatch {
        KeepRaw::None
    } else {
        KeepRaw::All
    }
}

/// Collects `input`; a CloudWatch Logs event is read once more, keeping the records' JSON, when a group's
/// message needs it (see [`Collected::needs_raw`]).
fn collect(
    input: &[u8],
    settings: &Settings,
    channels: &[Channel],
) -> Result<Collected, InputError> {
    let keep = keep_raw(input);
    let collected = collect::collect(input, settings, channels, keep)?;
    if keep == KeepRaw::None && collected.needs_raw() {
        return collect::collect(input, settings, channels, KeepRaw::All);
    }
    Ok(collected)
}

/// The digests due at `now`, marked as sent (a preview delivers nothing, so it finishes them itself).
async fn due_digests(
    settings: &Settings,
    channels: &[Channel],
    store: &MemoryStore,
    now: DateTime<Utc>,
) -> Vec<Outgoing> {
    let plan = engine::digests(settings, channels, store, now).await;
    for m in &plan.messages {
        if let Some(finish) = &m.finish {
            let _ = store
                .put_group(
                    &finish.item_key,
                    &finish.state,
                    Some(finish.expected_version),
                )
                .await;
        }
    }
    plan.messages
}

/// Renders `input` as [`preview`] does, writing the output to `out` (the CLI passes stdout). Nothing is written
/// when the input cannot be read, so `--output json` prints valid JSON or nothing.
pub fn preview_to<W: Write>(
    input: &[u8],
    settings: &Settings,
    format: PreviewFormat,
    out: &mut W,
) -> Result<PreviewSummary, PreviewError> {
    let write = |out: &mut W, bytes: &[u8]| out.write_all(bytes).map_err(PreviewError::Write);
    if let Some(channel) = format.channel() {
        let collected = collect(input, settings, &[channel])?;
        let shape = collected.shape.unwrap_or(Shape::Record);
        let (records, alerts) = (collected.records, collected.alerts.len());
        let problems = collected.problems.clone();
        let messages = messages_of(collected, settings, &[channel]);
        let mut text = String::with_capacity(messages.len() * 1600);
        for (i, m) in messages.iter().enumerate() {
            match &m.rendered.payload(channel) {
                Some(crate::deliver::Payload::Email { subject, body }) => {
                    if i > 0 {
                        text.push_str(EMAIL_SEPARATOR);
                    }
                    let _ = write!(text, "Subject: {subject}\n\n{body}");
                }
                Some(crate::deliver::Payload::Json(json)) => {
                    text.push_str(json);
                    text.push('\n');
                }
                None => {}
            }
            if text.len() > 1 << 20 {
                write(out, text.as_bytes())?;
                text.clear();
            }
        }
        write(out, text.as_bytes())?;
        let count = messages.len();
        free_elsewhere(messages, count);
        return Ok(PreviewSummary {
            problems,
            shape,
            records,
            alerts,
            messages: count,
        });
    }
    let json = format == PreviewFormat::Json;
    // Each sign-in's verdict needs every earlier one: they are judged in time order before the parallel pass.
    let verdicts = if json {
        crate::usual::verdicts(input, settings)?
    } else {
        HashMap::new()
    };
    let mut total = Chunk::default();
    let mut body = String::new();
    let shape = input::map_records(
        input,
        |chunk: &mut Chunk, item| render_record(chunk, item, settings, json, &verdicts),
        |chunk: Chunk| {
            if json && total.items > 0 && chunk.items > 0 {
                body.push(',');
            }
            body.push_str(&chunk.text);
            total.items += chunk.items;
            total.records += chunk.records;
            total.alerts += chunk.alerts;
            total.problems.extend(chunk.problems);
        },
    )?;
    let messages = if json {
        0
    } else {
        let collected = collect(input, settings, &[])?;
        messages_of(collected, settings, &[]).len()
    };
    if json {
        write(out, b"[")?;
        write(out, body.as_bytes())?;
        write(out, if total.items == 0 { b"]\n" } else { b"\n]\n" })?;
    } else {
        write(out, body.as_bytes())?;
        let summary = format!(
            "{} record(s) in this {}: {} alert(s) with scope `{}`, {} unreadable; they make {} message(s).\n",
            total.records,
            shape.describe(),
            total.alerts,
            settings.scope,
            total.problems.len(),
            messages,
        );
        write(out, summary.as_bytes())?;
    }
    Ok(PreviewSummary {
        problems: total.problems,
        shape,
        records: total.records,
        alerts: total.alerts,
        messages,
    })
}

/// Every kind, for documentation and tests.
pub const KINDS: [Kind; 8] = Kind::ALL;
