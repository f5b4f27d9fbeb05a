//! A message shaped for each channel: the SNS email, the Slack payload, the Teams Adaptive Card, the generic
//! webhook's JSON (the classification record), and the one-line text and JSON of `preview`.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use crate::classify::{Finding, Kind, Severity};
use crate::group::{Head, Summary};
use crate::message::{Message, is_bidi_control, local_time, one_line};
use crate::settings::Settings;
use crate::text::{Label, Phrase, phrase};

/// An email as published to SNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub body: String,
}

/// The plain-text email: title, notes, aligned facts, the CloudTrail link and the footer.
pub fn email(message: &Message) -> Email {
    let language = message.language;
    let mut body = String::with_capacity(1024);
    body.push_str(&one_line(&message.title));
    body.push_str("\n\n");
    for note in &message.notes {
        body.push_str(note);
        body.push_str("\n\n");
    }
    let labels: Vec<&str> = message
        .facts
        .iter()
        .map(|f| f.label.text(language))
        .collect();
    let width = labels.iter().map(|l| l.width()).max().unwrap_or(0) + 1;
    for (label, fact) in labels.iter().zip(&message.facts) {
        let pad = width.saturating_sub(label.width() + 1);
        let _ = writeln!(body, "{label}:{:pad$} {}", "", fact.value);
    }
    if let Some(link) = &message.link {
        let label = Label::CloudTrail.text(language);
        let pad = width.saturating_sub(label.width() + 1);
        let _ = writeln!(body, "{label}:{:pad$} {link}", "");
    }
    let _ = write!(body, "\n{}\n", message.footer);
    Email {
        subject: message.subject.clone(),
        body,
    }
}

pub fn severity_colour(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#D0021B",
        Severity::Warning => "#F5A623",
        Severity::Info => "#2EB67D",
    }
}

/// Slack treats `<`, `>` and `&` as markup (`<!channel>` pings everyone): escape them in anything from the record.
fn slack_escape(value: &str) -> Cow<'_, str> {
    if value.bytes().any(|b| matches!(b, b'<' | b'>' | b'&')) {
        Cow::Owned(
            value
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;"),
        )
    } else {
        Cow::Borrowed(value)
    }
}

#[derive(Serialize)]
struct SlackPayload<'s> {
    text: &'s str,
    attachments: [SlackAttachment<'s>; 1],
}

#[derive(Serialize)]
struct SlackAttachment<'s> {
    color: &'static str,
    fallback: &'s str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title_link: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    fields: Vec<SlackField<'s>>,
    footer: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ts: Option<i64>,
}

#[derive(Serialize)]
struct SlackField<'s> {
    title: &'static str,
    value: Cow<'s, str>,
    short: bool,
}

/// The Slack incoming-webhook payload (JSON).
pub fn slack(message: &Message) -> String {
    let language = message.language;
    // The notification text: the subject in English, the title in other languages (Slack takes UTF-8).
    let headline = match language {
        crate::vocab::Language::En => Cow::Borrowed(message.subject.as_str()),
        _ => Cow::Owned(format!("[{}] {}", message.account_tag, message.title)),
    };
    let text = slack_escape(&headline);
    let chat_notes = &message.chat_notes;
    let fields = message
        .facts
        .iter()
        .map(|f| SlackField {
            title: f.label.text(language),
            short: !f.label.is_wide(),
            value: slack_escape(&f.value),
        })
        .collect();
    let open = phrase(language, Phrase::OpenInCloudTrail);
    let payload = SlackPayload {
        text: &text,
        attachments: [SlackAttachment {
            color: severity_colour(message.severity),
            fallback: &text,
            title: message.chat_warning.or(message.link.as_ref().map(|_| open)),
            title_link: message.link.as_deref(),
            text: (!chat_notes.is_empty()).then(|| chat_notes.join("\n")),
            fields,
            footer: "login-alert",
            ts: message.time.map(|t| t.timestamp()),
        }],
    };
    to_json_exact(&payload)
}

/// `value` as JSON in a string of its own size. Serialised into a buffer each thread keeps (serde_json would grow a
/// new one from 128 bytes for every payload), then copied once: a large batch keeps thousands of payloads, and
/// room left over in each would be that much more memory touched. Serialising plain structs of strings cannot
/// fail; an empty payload would be refused by the chat service, never sent wrong.
fn to_json_exact(value: &impl Serialize) -> String {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        match serde_json::to_writer(&mut *scratch, value) {
            Ok(()) => std::str::from_utf8(scratch)
                .map(str::to_owned)
                .unwrap_or_default(),
            Err(_) => String::new(),
        }
    })
}

/// Teams renders a subset of Markdown in card text: escape what could turn a record's value into a link or markup.
fn teams_escape(value: &str) -> Cow<'_, str> {
    const SPECIAL: [char; 7] = ['\\', '*', '_', '[', ']', '`', '~'];
    if !value.contains(SPECIAL) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if SPECIAL.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// The Microsoft Teams payload: a Workflows webhook message carrying one Adaptive Card.
pub fn teams(message: &Message) -> String {
    let language = message.language;
    let colour = match message.severity {
        Severity::Critical => "Attention",
        Severity::Warning => "Warning",
        Severity::Info => "Good",
    };
    let mut body = vec![serde_json::json!({
        "type": "TextBlock",
        "text": teams_escape(&message.title),
        "weight": "Bolder",
        "size": "Medium",
        "color": colour,
        "wrap": true,
    })];
    for note in &message.notes {
        body.push(
            serde_json::json!({"type": "TextBlock", "text": teams_escape(note), "wrap": true}),
        );
    }
    let facts: Vec<serde_json::Value> = message
        .facts
        .iter()
        .map(|f| serde_json::json!({"title": f.label.text(language), "value": teams_escape(&f.value)}))
        .collect();
    body.push(serde_json::json!({"type": "FactSet", "facts": facts}));
    body.push(serde_json::json!({
        "type": "TextBlock", "text": teams_escape(message.footer), "isSubtle": true, "size": "Small", "wrap": true,
    }));
    let mut card = serde_json::json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    });
    if let Some(link) = &message.link {
        card["actions"] = serde_json::json!([{
            "type": "Action.OpenUrl",
            "title": phrase(language, Phrase::OpenInCloudTrail),
            "url": link,
        }]);
    }
    serde_json::json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
    .to_string()
}

/// One element of `preview --output json`, and the body of the generic webhook: the public classification
/// contract. Fields are only ever added; the ones added after the first release are left out when empty.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Classification<'s> {
    pub kind: Kind,
    pub event_name: Option<&'s str>,
    pub event_time: Option<Cow<'s, str>>,
    pub user_type: Option<&'s str>,
    pub identity: Option<&'s str>,
    pub account_id: Option<&'s str>,
    pub region: Option<&'s str>,
    pub source_ip: Option<&'s str>,
    pub success: Option<bool>,
    pub mfa: Option<bool>,
    pub alert: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subkind: Option<&'static str>,
    pub severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_type: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_login_alert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_account: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_policy: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_via: Option<&'s str>,
    /// The group the record was summarised in (a short digest of principal, session and source IP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<&'s str>,
    /// For a console sign-in: what is new for its identity (`identity`, `network`, `browser`, `region`,
    /// `mfa-type`), empty when all is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Vec<&'static str>>,
    /// For a successful sign-in: the failed sign-ins of the same identity from the same address before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_failures: Option<u64>,
    /// For a failed sign-in that is part of a password spray: the address and the identities tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spray: Option<&'s crate::verdict::Spray>,
}

pub fn classification<'s>(
    finding: &'s Finding,
    settings: &'s Settings,
    group: Option<&'s str>,
) -> Classification<'s> {
    let record = &finding.record;
    let subkind = match (&finding.tamper, finding.subkind) {
        (Some(tamper), _) => Some(tamper.target.as_str()),
        (None, Some(s)) => Some(s.as_str()),
        (None, None) => None,
    };
    Classification {
        kind: finding.kind,
        event_name: record.event_name.get(),
        event_time: finding
            .time
            .map(|t| Cow::Owned(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
            .or_else(|| record.event_time.get().map(Cow::Borrowed)),
        user_type: record.identity().and_then(|u| u.kind.get()),
        identity: finding.identity.as_deref(),
        account_id: finding.account_id(),
        region: finding.region(),
        source_ip: record.source_ip.get(),
        success: finding.success,
        mfa: finding.mfa,
        // A usual sign-in under `alert_on = "unusual"` is recorded, not sent.
        alert: finding.alert && finding.novelty.as_ref().is_none_or(|v| v.send),
        subkind,
        severity: finding.severity().as_str(),
        event_id: record.event_id.get(),
        account_name: settings.account_name_of(finding.account_id()),
        mfa_type: finding.mfa_type.as_ref().map(|m| m.as_str()),
        resource: finding.tamper.as_ref().map(|t| t.resource.as_ref()),
        by_login_alert: finding.tamper.as_ref().map(|t| t.by_login_alert),
        target_account: finding
            .assume_root
            .as_ref()
            .and_then(|a| a.target.as_deref()),
        task_policy: finding
            .assume_root
            .as_ref()
            .and_then(|a| a.task_policy.as_deref())
            .or(finding
                .root_session
                .as_ref()
                .and_then(|s| s.task_policy.as_deref())),
        caller: finding.root_session.as_ref().map(|s| s.caller.as_str()),
        sent_via: finding.sent_via.as_deref(),
        group,
        new: finding
            .novelty
            .as_ref()
            .map(|v| v.new.iter().map(|n| n.as_str()).collect()),
        after_failures: finding
            .novelty
            .as_ref()
            .map(|v| v.after_failures)
            .filter(|n| *n > 0),
        spray: finding.novelty.as_ref().and_then(|v| v.spray.as_ref()),
    }
}

#[derive(Serialize)]
struct GroupBody<'s> {
    records: u64,
    events: &'s std::collections::BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_time: Option<String>,
    regions: &'s std::collections::BTreeSet<String>,
}

fn group_body(summary: &Summary) -> GroupBody<'_> {
    let rfc =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    GroupBody {
        records: summary.count,
        events: &summary.names,
        first_time: summary.first.map(rfc),
        last_time: summary.last.map(rfc),
        regions: &summary.regions,
    }
}

/// JSON is data: the generic webhook and `preview --output json` carry the record's strings exactly as CloudTrail
/// recorded them (a program matching them against CloudTrail, or keeping them as evidence, must see what the
/// attacker sent), unlike the messages people read ([`Message::cleaned`]). JSON escapes C0 controls itself; C1
/// and bidi controls are written as `\uXXXX` escapes here, so the document shown raw (a log, a terminal) is inert
/// while every parsed value stays the same.
pub fn inert_json(json: String) -> String {
    let hostile = |c: char| {
        ('\u{80}'..='\u{9F}').contains(&c)
            || is_bidi_control(c)
            || matches!(c, '\u{2028}' | '\u{2029}')
    };
    if !json.contains(hostile) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if hostile(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// The generic webhook's body for one record, or for a group's first record with the rest summarised.
pub fn webhook(finding: &Finding, settings: &Settings, group: Option<(&str, &Summary)>) -> String {
    #[derive(Serialize)]
    struct Body<'s> {
        #[serde(flatten)]
        classification: Classification<'s>,
        #[serde(skip_serializing_if = "Option::is_none")]
        summary: Option<GroupBody<'s>>,
        /// Found in CloudTrail's event history after EventBridge missed it (`history.rs`).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        delivered_late: bool,
    }
    let body = Body {
        delivered_late: settings.delivered_late,
        classification: classification(finding, settings, group.map(|(key, _)| key)),
        summary: group
            .filter(|(_, s)| !s.is_empty())
            .map(|(_, s)| group_body(s)),
    };
    inert_json(serde_json::to_string(&body).unwrap_or_default())
}

/// The generic webhook's body for a digest: who the group is about and what its later records add up to.
pub fn webhook_digest(head: &Head, group: &str, summary: &Summary, settings: &Settings) -> String {
    let json = serde_json::json!({
        "kind": head.kind.as_deref().unwrap_or("root-activity"),
        "digest": true,
        "alert": true,
        "group": group,
        "identity": head.identity,
        "user_type": head.user_type,
        "account_id": head.account_id,
        "account_name": settings.account_name_of(head.account_id.as_deref()),
        "source_ip": head.source_ip,
        "summary": group_body(summary),
    })
    .to_string();
    inert_json(json)
}

/// One line per record for `preview --output text`.
pub fn text_line(finding: &Finding, settings: &Settings, subject: &str, out: &mut String) {
    let mark = if finding.alert { "ALERT" } else { "-    " };
    let when = finding
        .time
        .map(|t| local_time(t, settings))
        .unwrap_or_else(|| "time not recorded".into());
    let _ = writeln!(
        out,
        "{mark} {:<21} {} | {} | {}",
        finding.kind.as_str(),
        subject,
        when,
        one_line(finding.record.source_ip.get().unwrap_or("no source IP")),
    );
}
