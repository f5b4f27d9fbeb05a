//! The facts of a message: one labelled value per line, in the order people read them, for one record or for a
//! summary of many; and the link to the event in the CloudTrail console.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::clean::{one_line, one_line_owned};
use super::time::{local_time, short_time, utc_time};
use super::wording::{identity, mfa_text, mfa_type_text, result_word, word};
use crate::classify::{Finding, Kind};
use crate::group::Summary;
use crate::settings::Settings;
use crate::text::{Label, Phrase};
use crate::vocab::Language;

/// Event names listed in a summary; the rest are counted.
const SUMMARY_NAMES: usize = 10;

/// One fact of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact<'a> {
    pub label: Label,
    pub value: Cow<'a, str>,
}

/// The account as the facts show it: `name (ID)`.
pub fn account_fact<'s>(account_id: Option<&'s str>, settings: &'s Settings) -> Cow<'s, str> {
    match (settings.account_name_of(account_id), account_id) {
        (Some(name), Some(id)) => Cow::Owned(format!("{name} ({id})")),
        (Some(name), None) => Cow::Borrowed(name),
        (None, Some(id)) => Cow::Borrowed(id),
        (None, None) => Cow::Borrowed(word(settings.language, Phrase::NotRecorded)),
    }
}

/// A link to the event in the CloudTrail console's event history of the region that recorded it.
pub fn console_link(finding: &Finding) -> Option<String> {
    // The test record never reaches CloudTrail's event history.
    if finding.kind == Kind::Test {
        return None;
    }
    let region = finding.region()?;
    let id = finding.record.event_id.get()?;
    let safe = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !safe(region) || !safe(id) {
        return None;
    }
    Some(format!(
        "https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{id}"
    ))
}

/// One fact.
pub fn fact<'a>(label: Label, value: Cow<'a, str>) -> Fact<'a> {
    Fact { label, value }
}

/// The facts of one record, in the order people read them.
pub fn facts<'s>(finding: &'s Finding, settings: &'s Settings) -> Vec<Fact<'s>> {
    let language = settings.language;
    let record = &finding.record;
    let not_recorded = word(language, Phrase::NotRecorded);
    let mut facts: Vec<Fact<'s>> = Vec::with_capacity(16);
    if finding.kind == Kind::Test
        && let Some(via) = &finding.sent_via
    {
        facts.push(fact(Label::SentVia, one_line(via)));
    }
    if let Some(tamper) = &finding.tamper {
        facts.push(fact(Label::Resource, one_line(&tamper.resource)));
    }
    facts.push(fact(
        Label::Result,
        Cow::Borrowed(result_word(language, finding.success)),
    ));
    if let Some(verdict) = &finding.novelty {
        let (label, value) = crate::novelty::fact(verdict, language, settings.timezone);
        facts.push(fact(label, Cow::Owned(value)));
    }
    facts.push(fact(Label::Identity, one_line(identity(finding, language))));
    facts.push(fact(Label::UserType, finding.user_type_label()));
    facts.push(fact(
        Label::Account,
        one_line_owned(account_fact(finding.account_id(), settings)),
    ));
    if let Some(call) = &finding.assume_root {
        let target = call.target.as_deref().unwrap_or(not_recorded);
        let named = settings
            .account_name_of(Some(target))
            .filter(|_| finding.account_id() != Some(target));
        let target = match named {
            Some(name) => Cow::Owned(format!("{name} ({target})")),
            None => Cow::Borrowed(target),
        };
        facts.push(fact(Label::TargetAccount, one_line_owned(target)));
        facts.push(fact(
            Label::TaskPolicy,
            one_line(call.task_policy.as_deref().unwrap_or(not_recorded)),
        ));
    }
    if let Some(session) = &finding.root_session {
        let caller = match &session.caller_account {
            Some(account) => Cow::Owned(format!("{} ({account})", session.caller)),
            None => Cow::Borrowed(session.caller.as_str()),
        };
        facts.push(fact(Label::Caller, one_line_owned(caller)));
        if let Some(policy) = &session.task_policy {
            facts.push(fact(Label::TaskPolicy, one_line(policy)));
        }
    }
    facts.push(fact(
        Label::Region,
        one_line(finding.region().unwrap_or(not_recorded)),
    ));
    facts.push(fact(
        Label::SourceIp,
        one_line(record.source_ip.get().unwrap_or(not_recorded)),
    ));
    if finding.kind != Kind::Test {
        facts.push(fact(Label::Mfa, Cow::Borrowed(mfa_text(finding, language))));
        if let Some(mfa_type) = &finding.mfa_type {
            facts.push(fact(Label::MfaType, mfa_type_text(mfa_type, language)));
        }
    }
    match finding.time {
        Some(time) if settings.timezone != chrono_tz::Tz::UTC => {
            facts.push(fact(Label::Time, Cow::Owned(local_time(time, settings))));
            facts.push(fact(Label::TimeUtc, Cow::Owned(utc_time(time))));
        }
        Some(time) => facts.push(fact(Label::TimeUtc, Cow::Owned(utc_time(time)))),
        None => facts.push(fact(
            Label::Time,
            one_line(record.event_time.get().unwrap_or(not_recorded)),
        )),
    }
    if let Some(agent) = record.user_agent.get() {
        facts.push(fact(Label::UserAgent, one_line(agent)));
    }
    if finding.success == Some(false) {
        let reason = record
            .error_message
            .get()
            .or(record.error_code.get())
            .unwrap_or(not_recorded);
        facts.push(fact(Label::FailureReason, one_line(reason)));
    }
    if finding.kind == Kind::SwitchRole {
        let data = &record.additional_event_data;
        facts.push(fact(
            Label::SwitchedFrom,
            one_line(data.get("SwitchFrom").unwrap_or(not_recorded)),
        ));
        facts.push(fact(
            Label::SwitchedTo,
            one_line(data.get("SwitchTo").unwrap_or(not_recorded)),
        ));
    }
    let event = match (record.event_name.get(), record.event_source.get()) {
        (Some(name), Some(source)) => Cow::Owned(format!("{name} ({source})")),
        (Some(name), None) => Cow::Borrowed(name),
        _ => Cow::Borrowed(not_recorded),
    };
    facts.push(fact(Label::Event, one_line_owned(event)));
    facts.push(fact(
        Label::EventId,
        one_line(record.event_id.get().unwrap_or(not_recorded)),
    ));
    facts
}

/// `ListBuckets ×120, DescribeRegions ×80 … and 3 more names`.
fn names_line(summary: &Summary, language: Language) -> String {
    let names = summary.names_by_count();
    let mut out = String::new();
    for (i, (name, n)) in names.iter().take(SUMMARY_NAMES).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{} ×{n}", one_line(name));
    }
    let hidden =
        names.len().saturating_sub(SUMMARY_NAMES) as u64 + u64::from(summary.other_names > 0);
    if hidden > 0 {
        let _ = match language {
            Language::En => write!(out, " and {hidden} more event name(s)"),
            Language::Ja => write!(out, " ほか{hidden}種類"),
        };
    }
    out
}

/// The facts of a summary of many records: how many (`records`, worded by the caller), which events, when, where.
pub fn summary_facts<'s>(
    summary: &Summary,
    settings: &'s Settings,
    records: String,
) -> Vec<Fact<'s>> {
    let language = settings.language;
    let mut facts = vec![
        fact(Label::Records, Cow::Owned(records)),
        fact(Label::Events, Cow::Owned(names_line(summary, language))),
    ];
    if let Some(first) = summary.first {
        facts.push(fact(
            Label::FirstSeen,
            Cow::Owned(short_time(first, settings)),
        ));
    }
    if let Some(last) = summary.last {
        facts.push(fact(
            Label::LastSeen,
            Cow::Owned(short_time(last, settings)),
        ));
    }
    if !summary.regions.is_empty() {
        let regions: Vec<&str> = summary.regions.iter().map(String::as_str).collect();
        facts.push(fact(Label::Regions, Cow::Owned(regions.join(", "))));
    }
    facts
}
