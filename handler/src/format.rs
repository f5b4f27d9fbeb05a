//! How a finding is said: email subject and body, Slack payload, the JSON classification and the one-line text summary.

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::{Datelike, Offset, Timelike};
use chrono_tz::OffsetName;
use serde::Serialize;

use crate::classify::{Finding, Kind, Severity};
use crate::settings::Settings;

/// SNS refuses subjects of 100 characters or more.
const SUBJECT_MAX: usize = 99;

/// An email as published to SNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub body: String,
}

fn result_word(success: Option<bool>) -> &'static str {
    match success {
        Some(true) => "succeeded",
        Some(false) => "FAILED",
        None => "(result not recorded)",
    }
}

fn account_label<'s>(finding: &'s Finding, settings: &'s Settings) -> &'s str {
    settings
        .account_name
        .as_deref()
        .or_else(|| finding.record.account_id())
        .unwrap_or("unknown account")
}

fn identity<'s>(finding: &'s Finding) -> &'s str {
    finding.identity.as_deref().unwrap_or("unknown identity")
}

fn switch_target(finding: &Finding) -> Option<String> {
    let to = finding.record.additional_event_data.get("SwitchTo")?;
    // `arn:aws:iam::123456789012:role/Admin` reads better as `Admin@123456789012`.
    let account = to.split(':').nth(4).filter(|a| !a.is_empty());
    match (to.rsplit_once('/'), account) {
        (Some((_, role)), Some(account)) => Some(format!("{role}@{account}")),
        _ => Some(to.to_owned()),
    }
}

/// What happened, in a few words, without the account tag.
pub fn headline(finding: &Finding) -> String {
    let result = result_word(finding.success);
    let no_mfa = if finding.mfa_skipped() {
        " without MFA"
    } else {
        ""
    };
    let event = finding.record.event_name.get().unwrap_or("unnamed event");
    let who = identity(finding);
    match finding.kind {
        Kind::ConsoleLoginSuccess | Kind::ConsoleLoginFailure if finding.is_root() => {
            format!("Root console sign-in {result}{no_mfa}")
        }
        Kind::ConsoleLoginSuccess | Kind::ConsoleLoginFailure => {
            format!("Console sign-in {result}{no_mfa}: {who}")
        }
        Kind::SwitchRole => match switch_target(finding) {
            Some(to) => format!("Switch role {result}: {who} -> {to}"),
            None => format!("Switch role {result}: {who}"),
        },
        Kind::RootActivity => match finding.success {
            Some(false) => format!("Root user activity: {event} (FAILED){no_mfa}"),
            _ => format!("Root user activity: {event}{no_mfa}"),
        },
        Kind::OtherSignin => format!("Sign-in step {event} {result}: {who}"),
        Kind::Ignore => format!("{event} by {who} (no alert)"),
    }
}

/// The SNS subject: ASCII, one line, under 100 characters.
pub fn subject(finding: &Finding, settings: &Settings) -> String {
    let raw = format!(
        "[{}] {}",
        account_label(finding, settings),
        headline(finding)
    );
    let mut clean = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_graphic() || c == ' ' {
            c
        } else if c.is_whitespace() || c.is_control() {
            ' '
        } else {
            '?'
        };
        if !(c == ' ' && clean.ends_with(' ')) {
            clean.push(c);
        }
    }
    let clean = clean.trim().to_owned();
    if clean.len() <= SUBJECT_MAX {
        clean
    } else {
        let mut cut = clean[..SUBJECT_MAX - 3].trim_end().to_owned();
        cut.push_str("...");
        cut
    }
}

/// Longest value shown for one fact: a 256 KB user agent must not push a message past SNS's 256 KB limit.
const VALUE_MAX_CHARS: usize = 1024;

/// Attacker-controlled strings (user agent, user name) must not add lines or control characters to a message,
/// nor make it too long to send.
fn one_line(value: &str) -> Cow<'_, str> {
    let too_long = value.len() > VALUE_MAX_CHARS && value.chars().nth(VALUE_MAX_CHARS).is_some();
    if !too_long && !value.chars().any(char::is_control) {
        return Cow::Borrowed(value);
    }
    let mut clean: String = value
        .chars()
        .take(VALUE_MAX_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if too_long {
        clean.push_str("... (truncated)");
    }
    Cow::Owned(clean)
}

/// `2024-06-03 15:23:22`; written by hand because a strftime pattern is re-parsed on every call, and a
/// 20,000-record batch formats 35,000 times.
fn write_clock<T: Datelike + Timelike>(out: &mut String, t: &T) {
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

fn local_time(finding: &Finding, settings: &Settings) -> Option<String> {
    let local = finding.time?.with_timezone(&settings.timezone);
    let mut out = String::with_capacity(48);
    write_clock(&mut out, &local);
    out.push(' ');
    match local.offset().abbreviation() {
        Some(abbreviation) => out.push_str(abbreviation),
        None => {
            let _ = write!(out, "{}", local.offset().fix());
        }
    }
    let _ = write!(out, " ({})", settings.timezone.name());
    Some(out)
}

fn utc_time(finding: &Finding) -> Option<String> {
    let time = finding.time?;
    let mut out = String::with_capacity(24);
    write_clock(&mut out, &time);
    out.push_str(" UTC");
    Some(out)
}

fn mfa_text(finding: &Finding) -> &'static str {
    match finding.mfa {
        Some(true) => "used",
        Some(false) if finding.mfa_skipped() => "NOT used",
        Some(false) if finding.mfa_capable() => "not used",
        Some(false) => "checked by the identity provider, not visible to AWS",
        None => "not recorded",
    }
}

/// A link to the event in the CloudTrail console's event history of the region that recorded it.
pub fn console_link(finding: &Finding) -> Option<String> {
    let region = finding.record.aws_region.get()?;
    let id = finding.record.event_id.get()?;
    let safe = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !safe(region) || !safe(id) {
        return None;
    }
    Some(format!(
        "https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{id}"
    ))
}

/// The facts of a message, in the order people read them; shared by email and Slack.
fn facts<'s>(finding: &'s Finding, settings: &'s Settings) -> Vec<(&'static str, Cow<'s, str>)> {
    let record = &finding.record;
    let mut facts: Vec<(&'static str, Cow<'s, str>)> = Vec::with_capacity(14);
    facts.push(("Result", Cow::Borrowed(result_word(finding.success))));
    facts.push(("Identity", one_line(identity(finding))));
    facts.push(("User type", finding.user_type_label()));
    let account = match (&settings.account_name, record.account_id()) {
        (Some(name), Some(id)) => Cow::Owned(format!("{name} ({id})")),
        (Some(name), None) => Cow::Borrowed(name.as_str()),
        (None, Some(id)) => Cow::Borrowed(id),
        (None, None) => Cow::Borrowed("not recorded"),
    };
    facts.push(("Account", one_line_owned(account)));
    facts.push((
        "Region",
        one_line(record.aws_region.get().unwrap_or("not recorded")),
    ));
    facts.push((
        "Source IP",
        one_line(record.source_ip.get().unwrap_or("not recorded")),
    ));
    facts.push(("MFA", Cow::Borrowed(mfa_text(finding))));
    match (local_time(finding, settings), utc_time(finding)) {
        (Some(local), Some(utc)) if settings.timezone != chrono_tz::Tz::UTC => {
            facts.push(("Time", Cow::Owned(local)));
            facts.push(("Time (UTC)", Cow::Owned(utc)));
        }
        (_, Some(utc)) => facts.push(("Time (UTC)", Cow::Owned(utc))),
        _ => facts.push((
            "Time",
            one_line(record.event_time.get().unwrap_or("not recorded")),
        )),
    }
    if let Some(agent) = record.user_agent.get() {
        facts.push(("User agent", one_line(agent)));
    }
    if finding.success == Some(false) {
        let reason = record
            .error_message
            .get()
            .or(record.error_code.get())
            .unwrap_or("not recorded");
        facts.push(("Failure reason", one_line(reason)));
    }
    if finding.kind == Kind::SwitchRole {
        let data = &record.additional_event_data;
        facts.push((
            "Switched from",
            one_line(data.get("SwitchFrom").unwrap_or("not recorded")),
        ));
        facts.push((
            "Switched to",
            one_line(data.get("SwitchTo").unwrap_or("not recorded")),
        ));
    }
    let event = match (record.event_name.get(), record.event_source.get()) {
        (Some(name), Some(source)) => Cow::Owned(format!("{name} ({source})")),
        (Some(name), None) => Cow::Borrowed(name),
        _ => Cow::Borrowed("not recorded"),
    };
    facts.push(("Event", one_line_owned(event)));
    facts.push((
        "Event ID",
        one_line(record.event_id.get().unwrap_or("not recorded")),
    ));
    facts
}

fn one_line_owned(value: Cow<'_, str>) -> Cow<'_, str> {
    match value {
        Cow::Borrowed(s) => one_line(s),
        Cow::Owned(s) => Cow::Owned(one_line(&s).into_owned()),
    }
}

/// The email: subject line and plain-text body.
pub fn email(finding: &Finding, settings: &Settings) -> Email {
    let subject = subject(finding, settings);
    let mut body = String::with_capacity(1024);
    body.push_str(&one_line(&headline(finding)));
    body.push_str("\n\n");
    if finding.mfa_skipped() {
        body.push_str("WARNING: this sign-in did not use MFA. Enable MFA for this user (IAM > Users > Security credentials).\n\n");
    }
    if finding.is_root() && finding.kind != Kind::Ignore {
        body.push_str("The root user should almost never be used. If this was not you or a colleague, act now.\n\n");
    }
    let facts = facts(finding, settings);
    let width = facts.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    for (label, value) in &facts {
        let _ = writeln!(
            body,
            "{:<width$} {value}",
            format!("{label}:"),
            width = width
        );
    }
    if let Some(link) = console_link(finding) {
        let _ = writeln!(body, "{:<width$} {link}", "CloudTrail:", width = width);
    }
    let _ = write!(
        body,
        "\nSent by login-alert (scope: {}).\n",
        settings.scope.describe()
    );
    Email { subject, body }
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

/// Slack treats `<`, `>` and `&` as markup (`<!channel>` pings everyone): escape them in anything from the record.
fn slack_escape(value: Cow<'_, str>) -> Cow<'_, str> {
    if value.contains(['<', '>', '&']) {
        Cow::Owned(
            value
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;"),
        )
    } else {
        value
    }
}

pub fn severity_colour(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#D0021B",
        Severity::Warning => "#F5A623",
        Severity::Info => "#2EB67D",
    }
}

/// The Slack incoming-webhook payload (JSON).
pub fn slack(finding: &Finding, settings: &Settings) -> String {
    let mut out = String::with_capacity(1536);
    write_slack(finding, settings, &mut out);
    out
}

/// Appends the Slack payload to `out`, so a preview of many records builds one buffer.
pub fn write_slack(finding: &Finding, settings: &Settings, out: &mut String) {
    let subject = slack_escape(Cow::Owned(subject(finding, settings)));
    let warning = if finding.mfa_skipped() {
        Some("No MFA on this sign-in: enable MFA for this user.")
    } else {
        None
    };
    let fields = facts(finding, settings)
        .into_iter()
        .map(|(title, value)| SlackField {
            title,
            short: !matches!(
                title,
                "User agent" | "Failure reason" | "Switched from" | "Switched to" | "Identity"
            ),
            value: slack_escape(value),
        })
        .collect();
    let link = console_link(finding);
    let payload = SlackPayload {
        text: &subject,
        attachments: [SlackAttachment {
            color: severity_colour(finding.severity()),
            fallback: &subject,
            title: warning.or(link.as_ref().map(|_| "Open in CloudTrail")),
            title_link: link.as_deref(),
            fields,
            footer: "login-alert",
            ts: finding.time.map(|t| t.timestamp()),
        }],
    };
    // Serialising plain structs of strings cannot fail; an empty payload would be refused by Slack, never sent wrong.
    if let Ok(json) = serde_json::to_string(&payload) {
        out.push_str(&json);
    }
}

/// One element of `preview --output json`: the public classification contract.
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
}

pub fn classification<'s>(finding: &'s Finding) -> Classification<'s> {
    let record = &finding.record;
    Classification {
        kind: finding.kind,
        event_name: record.event_name.get(),
        event_time: finding
            .time
            .map(|t| Cow::Owned(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
            .or_else(|| record.event_time.get().map(Cow::Borrowed)),
        user_type: record.identity().and_then(|u| u.kind.get()),
        identity: finding.identity.as_deref(),
        account_id: record.account_id(),
        region: record.aws_region.get(),
        source_ip: record.source_ip.get(),
        success: finding.success,
        mfa: finding.mfa,
        alert: finding.alert,
    }
}

/// One line per record for `preview --output text`.
pub fn text_line(finding: &Finding, settings: &Settings, out: &mut String) {
    let mark = if finding.alert { "ALERT" } else { "-    " };
    let when = local_time(finding, settings).unwrap_or_else(|| "time not recorded".into());
    let _ = writeln!(
        out,
        "{mark} {:<21} {} | {} | {}",
        finding.kind.as_str(),
        subject(finding, settings),
        when,
        one_line(finding.record.source_ip.get().unwrap_or("no source IP")),
    );
}
