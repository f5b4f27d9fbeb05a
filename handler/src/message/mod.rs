//! What a message says, in the reader's language, before it is shaped for a channel: the ASCII subject, the
//! title, notes, facts and link of one record, of a group (its first record plus a summary of the rest) or of a
//! digest (a group's later records, summarised once).
//!
//! The words are in `wording`, the facts in `facts`, times in `time`; `clean` makes record text safe to show. This
//! file puts them together into a [`Message`].

mod clean;
mod facts;
mod time;
mod wording;

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use self::clean::{one_line_owned, one_line_string};
use self::facts::{account_fact, fact, summary_facts};
use self::wording::{chat_worthy, class_title, notes, tamper_place, word, worded};
use crate::classify::{Finding, Severity};
use crate::group::{Class, Head, Summary};
use crate::novelty;
use crate::settings::Settings;
use crate::text::{Label, Phrase, footer};
use crate::vocab::Language;

pub use self::clean::{is_bidi_control, one_line};
pub use self::facts::{Fact, console_link, facts};
pub use self::time::{local_time, utc_time};
pub use self::wording::headline;

/// SNS refuses subjects of 100 characters or more.
const SUBJECT_MAX: usize = 99;

/// A message in the reader's language, ready to be shaped for email, Slack or Teams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    pub language: Language,
    pub severity: Severity,
    /// ASCII, one line, under 100 characters: SNS's rules for a subject.
    pub subject: String,
    pub title: String,
    /// The account as the subject names it (`prod`, or the account ID).
    pub account_tag: Cow<'a, str>,
    /// Shown above the facts (warnings, what to do).
    pub notes: Vec<&'static str>,
    /// The notes chat messages carry too: the ones that change what the reader should do.
    pub chat_notes: Vec<&'static str>,
    /// A short warning for chat messages (Slack's attachment title).
    pub chat_warning: Option<&'static str>,
    pub facts: Vec<Fact<'a>>,
    pub link: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub footer: &'static str,
}

impl Message<'_> {
    /// The one place a message's text is made safe to show: every string a record can reach (the title, the
    /// account tag, each fact, the link) through [`one_line`]. Email, Slack and Teams render only cleaned messages;
    /// the subject is ASCII already ([`subject_line`]).
    pub fn cleaned(mut self) -> Self {
        one_line_string(&mut self.title);
        self.account_tag = one_line_owned(std::mem::take(&mut self.account_tag));
        for fact in &mut self.facts {
            fact.value = one_line_owned(std::mem::take(&mut fact.value));
        }
        if let Some(link) = &mut self.link {
            one_line_string(link);
        }
        self
    }
}

/// The ASCII subject: `[account] headline`, cleaned and cut to SNS's limit.
pub fn subject_line(account: &str, headline: &str) -> String {
    let raw = format!("[{account}] {headline}");
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

/// The account as the subject shows it: its name, else its ID.
pub fn account_label<'s>(account_id: Option<&'s str>, settings: &'s Settings) -> &'s str {
    settings
        .account_name_of(account_id)
        .or(account_id)
        .unwrap_or("unknown account")
}

/// The subject's headline: a record found late in the event history says so first.
fn subject_headline<'a>(english: &'a str, settings: &Settings) -> Cow<'a, str> {
    if settings.delivered_late {
        Cow::Owned(format!("Late: {english}"))
    } else {
        Cow::Borrowed(english)
    }
}

/// The message for one record.
pub fn single<'s>(finding: &'s Finding, settings: &'s Settings) -> Message<'s> {
    let language = settings.language;
    let spray = finding.novelty.as_ref().and_then(|v| v.spray.as_ref());
    let english = match spray {
        Some(spray) => novelty::spray_title(spray, Language::En),
        None => headline(finding, Language::En),
    };
    let tag = account_label(finding.account_id(), settings);
    let subject = subject_line(tag, &subject_headline(&english, settings));
    let title = match (language, spray) {
        (Language::En, _) => english,
        (_, Some(spray)) => novelty::spray_title(spray, language),
        (_, None) => headline(finding, language),
    };
    // The subject already starts with the account; the title names it for organization tamper.
    let title = match tamper_place(
        finding,
        language,
        &account_fact(finding.account_id(), settings),
    ) {
        Some(place) => format!("{title}{place}"),
        None => title,
    };
    let mut chosen = notes(finding);
    if settings.delivered_late {
        chosen.insert(0, Phrase::LateNote);
    }
    Message {
        language,
        severity: finding.severity(),
        subject,
        account_tag: Cow::Borrowed(tag),
        title,
        notes: worded(&chosen, language),
        chat_notes: worded(&chat_worthy(&chosen), language),
        chat_warning: finding
            .mfa_skipped()
            .then(|| word(language, Phrase::SlackNoMfa)),
        facts: facts(finding, settings),
        link: console_link(finding),
        time: finding.time,
        footer: footer(language, settings.scope),
    }
    .cleaned()
}

/// The message for a group in one invocation: its first record in full, then what all its records add up to.
/// `carried` holds records of an earlier window that no digest reported yet; they are summarised here too.
pub fn group<'s>(
    first: &'s Finding,
    members: &Summary,
    carried: &Summary,
    settings: &'s Settings,
) -> Message<'s> {
    let mut message = single(first, settings);
    let language = settings.language;
    let more = members.count.saturating_sub(1) + carried.count;
    if more == 0 {
        return message;
    }
    // A spray's title already counts its identities; its records are summarised below.
    if first.novelty.as_ref().is_some_and(|v| v.spray.is_some()) {
        let records = novelty::spray_records(members.count + carried.count, language);
        let mut all = members.clone();
        all.merge(carried);
        message.facts.extend(summary_facts(&all, settings, records));
        return message.cleaned();
    }
    let english_more = format!(" and {more} more");
    message.subject = subject_line(
        account_label(first.account_id(), settings),
        &subject_headline(
            &format!("{}{english_more}", headline(first, Language::En)),
            settings,
        ),
    );
    message.title = match language {
        Language::En => format!("{}{english_more}", message.title),
        Language::Ja => format!("{} ほか{more}件", message.title),
    };
    let mut all = members.clone();
    all.merge(carried);
    let records = match (language, carried.count) {
        (Language::En, 0) => format!("{} in this group (the first is shown above)", members.count),
        (Language::En, c) => format!(
            "{} in this group (the first is shown above), and {c} from before that no digest reported yet",
            members.count
        ),
        (Language::Ja, 0) => format!("このグループで{}件（最初の1件を上に表示）", members.count),
        (Language::Ja, c) => format!(
            "このグループで{}件（最初の1件を上に表示）、ほかに未報告だった以前の{c}件",
            members.count
        ),
    };
    message.facts.extend(summary_facts(&all, settings, records));
    message.cleaned()
}

/// The digest of a group's records that arrived within its quiet window, sent once the window closed.
pub fn digest<'s>(head: &'s Head, summary: &Summary, settings: &'s Settings) -> Message<'s> {
    let language = settings.language;
    let count = summary.count;
    let english = format!(
        "{}: {count} more record(s)",
        class_title(head.class, head, Language::En)
    );
    let title = match language {
        Language::En => english.clone(),
        Language::Ja => format!(
            "{}: さらに{count}件",
            class_title(head.class, head, language)
        ),
    };
    let not_recorded = word(language, Phrase::NotRecorded);
    let mut facts = vec![
        fact(
            Label::Identity,
            one_line(head.identity.as_deref().unwrap_or(not_recorded)),
        ),
        fact(
            Label::UserType,
            one_line(head.user_type.as_deref().unwrap_or(not_recorded)),
        ),
        fact(
            Label::Account,
            one_line_owned(account_fact(head.account_id.as_deref(), settings)),
        ),
        fact(
            Label::SourceIp,
            one_line(head.source_ip.as_deref().unwrap_or(not_recorded)),
        ),
    ];
    if let Some(session) = &head.root_session {
        facts.push(fact(Label::Caller, one_line(&session.caller)));
    }
    if let Some(session) = &head.session {
        facts.push(fact(Label::Session, one_line(session)));
    }
    let records = match language {
        Language::En => format!("{count} since the group's last alert"),
        Language::Ja => format!("前回の通知以降{count}件"),
    };
    if !summary.identities.is_empty() {
        let total = summary.identities.len() as u64 + summary.other_identities;
        let names = summary.identities.keys().map(String::as_str);
        let line = novelty::names_line(names, total, language);
        facts.push(fact(Label::Identities, Cow::Owned(line)));
    }
    facts.extend(summary_facts(summary, settings, records));
    let severity = match head.class {
        Some(Class::Root | Class::Tamper) => Severity::Critical,
        Some(Class::Failure | Class::Spray) => Severity::Warning,
        _ => Severity::Info,
    };
    let tag = account_label(head.account_id.as_deref(), settings);
    Message {
        language,
        severity,
        subject: subject_line(tag, &english),
        account_tag: Cow::Borrowed(tag),
        title,
        notes: vec![word(language, Phrase::DigestNote)],
        chat_notes: vec![word(language, Phrase::DigestNote)],
        chat_warning: None,
        facts,
        link: None,
        time: summary.last,
        footer: footer(language, settings.scope),
    }
    .cleaned()
}
