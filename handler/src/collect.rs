//! The first pass of an invocation: read every record of the input, classify it and render its message
//! (on worker threads), keeping what planning needs of each alerting record.

use foldhash::{HashSet, HashSetExt};

use chrono::{DateTime, Utc};
use tracing::warn;

use crate::baseline::SignIn;
use crate::classify::{Finding, Kind, RootSession};
use crate::deliver::{Channel, Payload};
use crate::error::InputError;
use crate::group::{self, Class, Summary};
use crate::input::{self, EventInfo, Shape};
use crate::lenient::Text;
use crate::message::{self, Message};
use crate::record::Record;
use crate::render::{self, Email};
use crate::settings::Settings;
use crate::verdict::Verdict;

/// A message shaped for each channel it goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub email: Option<Email>,
    pub slack: Option<String>,
    pub teams: Option<String>,
    pub webhook: Option<String>,
}

impl Rendered {
    /// Shapes `message` for `channels`; `webhook` builds the generic webhook's body only when it is wanted.
    pub fn new(message: &Message, channels: &[Channel], webhook: impl FnOnce() -> String) -> Self {
        let wants = |c| channels.contains(&c);
        Rendered {
            email: wants(Channel::Email).then(|| render::email(message)),
            slack: wants(Channel::Slack).then(|| render::slack(message)),
            teams: wants(Channel::Teams).then(|| render::teams(message)),
            webhook: wants(Channel::Webhook).then(webhook),
        }
    }

    pub fn payload(&self, channel: Channel) -> Option<Payload<'_>> {
        match channel {
            Channel::Email => self.email.as_ref().map(|e| Payload::Email {
                subject: &e.subject,
                body: &e.body,
            }),
            Channel::Slack => self.slack.as_deref().map(Payload::Json),
            Channel::Teams => self.teams.as_deref().map(Payload::Json),
            Channel::Webhook => self.webhook.as_deref().map(Payload::Json),
        }
    }
}

/// One alerting record, detached from the input so it can outlive the pass that read it.
#[derive(Debug, Clone)]
pub struct Alert {
    /// Position in the input.
    pub index: usize,
    pub event_id: String,
    pub kind: Kind,
    /// `None`: a message of its own.
    pub class: Option<Class>,
    pub group_key: Option<String>,
    pub event_name: String,
    pub time: Option<DateTime<Utc>>,
    pub region: Option<String>,
    pub failed: bool,
    /// The message of a single record, or of a group's first record alone, shaped for the wanted channels.
    pub rendered: Option<Rendered>,
    /// A sign-in whose message (as `rendered` would hold it) is rendered once its verdict is known.
    pub awaits_verdict: bool,
    /// The subject line of that message, for logs.
    pub subject: String,
    /// The record's JSON, kept for grouped records that may head their group's message.
    pub raw: Option<String>,
    pub timestamp_ms: Option<i64>,
    pub envelope_region: Option<String>,
    pub envelope_account: Option<String>,
    /// For `AssumeRoot`: the session's access key and who opened it.
    /// Boxed, as `signin`: few alerts have one, and a large batch holds thousands of alerts.
    pub session_opened: Option<Box<(String, RootSession)>>,
    /// For a root record: the access key of its session.
    pub access_key: Option<String>,
    /// The test record's event ID (its delivery is logged).
    pub test_event: Option<String>,
    /// A console sign-in as its identity's baseline sees it.
    pub signin: Option<Box<SignIn>>,
    /// What the baseline found (set by `usual::annotate`, once).
    pub verdict: Option<Box<Verdict>>,
    /// The account whose route the alert takes (see [`crate::route`]); `None`, the default route: tamper alerts
    /// and the test record concern login-alert itself, so they go where its operators are told.
    pub route_account: Option<String>,
}

impl Alert {
    /// The record read again from the JSON the first pass kept, classified as it was then.
    pub fn reread(&self, settings: &Settings) -> Option<Finding<'_>> {
        let record = Record::parse(self.raw.as_deref()?).ok()?;
        let envelope = EventInfo {
            region: Text(self.envelope_region.as_deref().map(Into::into)),
            account: Text(self.envelope_account.as_deref().map(Into::into)),
            ..EventInfo::default()
        };
        Some(Finding::with_envelope(
            record,
            settings,
            self.timestamp_ms,
            Some(&envelope),
        ))
    }
}

/// Everything the first pass learned from the input.
#[derive(Debug, Default)]
pub struct Collected {
    pub shape: Option<Shape>,
    pub records: usize,
    pub unreadable: usize,
    pub alerts: Vec<Alert>,
    /// One line per record that could not be read (`logEvents[3]: skipped: …`).
    pub problems: Vec<String>,
}

struct Chunk {
    records: usize,
    unreadable: usize,
    alerts: Vec<Alert>,
    problems: Vec<String>,
    first_of_group: HashSet<String>,
}

impl Default for Chunk {
    /// Room for a whole chunk's alerts at once: an alert is large, and growing the vector copied them all again
    /// at every doubling (in a profile, a tenth of the work of turning records into alerts).
    fn default() -> Self {
        Chunk {
            records: 0,
            unreadable: 0,
            alerts: Vec::with_capacity(input::CHUNK),
            problems: Vec::new(),
            first_of_group: HashSet::new(),
        }
    }
}

/// Which grouped records keep their JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepRaw {
    /// Every grouped record: any of them may head a message (a retry, a replay one record at a time).
    All,
    /// Only root records': every record is rendered as if alone. Enough when no group has two records;
    /// [`Collected::needs_raw`] says when one has, and the caller collects again.
    None,
}

/// A record without an `eventID` is known by a digest of its text, the same on every retry.
fn event_id_of(finding: &Finding, raw: &str) -> String {
    match finding.record.event_id.get() {
        Some(id) => id.trim().to_owned(),
        None => format!("sha-{}", group::digest(raw)),
    }
}

fn to_alert(
    chunk: &mut Chunk,
    item: input::Item<'_>,
    settings: &Settings,
    channels: &[Channel],
    keep: KeepRaw,
) {
    chunk.records += 1;
    let index = item.position.index;
    let record = match item.record {
        Ok(record) => record,
        Err(err) => {
            chunk.unreadable += 1;
            warn!(position = %item.position, error = %err, "skipped a record that cannot be read");
            chunk
                .problems
                .push(format!("{}: skipped: {err}", item.position));
            return;
        }
    };
    let finding =
        Finding::with_envelope(record, settings, item.timestamp_ms, item.envelope.as_ref());
    if !finding.alert {
        return;
    }
    let class = group::class_of(&finding);
    let group_key = class.map(|c| group::key_of(&finding, c));
    // A group's first record (in this chunk) is rendered as if alone: most groups in a batch are one record.
    let first = match (&group_key, keep) {
        (Some(key), KeepRaw::All) => chunk.first_of_group.insert(key.clone()),
        _ => true,
    };
    let event_id = event_id_of(&finding, item.raw);
    let signin = SignIn::of(&finding, &event_id).map(Box::new);
    // A sign-in's message depends on its baseline verdict, known only once the whole batch is read: it is
    // rendered once, then (`usual::annotate`), not here as well.
    let message = (first && signin.is_none()).then(|| message::single(&finding, settings));
    let rendered = message.as_ref().map(|m| {
        Rendered::new(m, channels, || {
            render::webhook(&finding, settings, None::<(&str, &Summary)>)
        })
    });
    let session_opened = finding.assume_root.as_ref().and_then(|call| {
        let key = call.session_key.as_deref()?;
        Some(Box::new((
            key.to_owned(),
            RootSession {
                caller: finding
                    .record
                    .identity()
                    .and_then(|u| u.arn.get())
                    .or(finding.identity.as_deref())
                    .unwrap_or("unknown caller")
                    .to_owned(),
                caller_account: finding.account_id().map(str::to_owned),
                task_policy: call.task_policy.as_deref().map(str::to_owned),
            },
        )))
    });
    let envelope = item.envelope.as_ref();
    chunk.alerts.push(Alert {
        index,
        event_id,
        kind: finding.kind,
        class,
        event_name: finding
            .record
            .event_name
            .get()
            .unwrap_or("unnamed event")
            .to_owned(),
        time: finding.time,
        region: finding.region().map(str::to_owned),
        failed: finding.success == Some(false),
        subject: message
            .as_ref()
            .map(|m| m.subject.clone())
            .unwrap_or_default(),
        rendered,
        awaits_verdict: first && signin.is_some(),
        // A root record may turn out to be a root session whose `AssumeRoot` call is in the batch: its message is
        // then rendered again, so it keeps its JSON in either mode.
        // A sign-in's message is worded again once its baseline is known, so it keeps its JSON too.
        raw: ((group_key.is_some() && (keep == KeepRaw::All || class == Some(Class::Root)))
            || signin.is_some())
        .then(|| item.raw.to_owned()),
        signin,
        verdict: None,
        group_key,
        timestamp_ms: item.timestamp_ms,
        envelope_region: envelope.and_then(|e| e.region.get()).map(str::to_owned),
        envelope_account: envelope.and_then(|e| e.account.get()).map(str::to_owned),
        session_opened,
        access_key: finding
            .record
            .is_root()
            .then(|| finding.record.access_key().map(str::to_owned))
            .flatten(),
        test_event: (finding.kind == Kind::Test).then(|| event_id_of(&finding, item.raw)),
        route_account: (!matches!(finding.kind, Kind::Tamper | Kind::Test))
            .then(|| finding.account_id().map(str::to_owned))
            .flatten(),
    });
}

/// Reads `input`, classifying each record on worker threads and shaping single messages for `channels` there too.
pub fn collect(
    input: &[u8],
    settings: &Settings,
    channels: &[Channel],
    keep: KeepRaw,
) -> Result<Collected, InputError> {
    let mut collected = Collected::default();
    // The chunks' alerts are moved into one vector once, at its final size: an alert is large, and growing the
    // vector chunk by chunk copied all of them again at every doubling.
    let mut chunks: Vec<Vec<Alert>> = Vec::new();
    let shape = input::map_records(
        input,
        |chunk: &mut Chunk, item| to_alert(chunk, item, settings, channels, keep),
        |chunk: Chunk| {
            collected.records += chunk.records;
            collected.unreadable += chunk.unreadable;
            collected.problems.extend(chunk.problems);
            chunks.push(chunk.alerts);
        },
    )?;
    collected.alerts = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
    for chunk in chunks {
        collected.alerts.extend(chunk);
    }
    collected.shape = Some(shape);
    Ok(collected)
}

impl Collected {
    /// Whether a group's message needs a record's JSON: a group of two or more, or a root session whose
    /// `AssumeRoot` call is in the batch. Then a collection that kept none must be made again keeping it.
    pub fn needs_raw(&self) -> bool {
        let mut seen: HashSet<&str> = HashSet::new();
        let opened = self.sessions_opened();
        self.alerts.iter().any(|a| {
            let repeated = a.group_key.as_deref().is_some_and(|key| !seen.insert(key));
            let in_session = a.access_key.as_deref().is_some_and(|k| opened.contains(k));
            a.raw.is_none() && (repeated || in_session)
        })
    }

    /// The access keys of the root sessions whose `AssumeRoot` call is in the input.
    pub fn sessions_opened(&self) -> HashSet<&str> {
        self.alerts
            .iter()
            .filter_map(|a| a.session_opened.as_deref().map(|(key, _)| key.as_str()))
            .collect()
    }
}
