//! What a message says, in the reader's language, before it is shaped for a channel: the ASCII subject, the
//! title, notes, facts and link of one record, of a group (its first record plus a summary of the rest) or of a
//! digest (a group's later records, summarised once).

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Offset, Timelike, Utc};
use chrono_tz::OffsetName;

use crate::classify::{Finding, Kind, MfaType, Severity, Subkind};
use crate::group::{Class, Head, Summary};
use crate::settings::Settings;
use crate::tamper::Target;
use crate::text::{Label, Phrase, footer, phrase};
use crate::vocab::Language;

/// SNS refuses subjects of 100 characters or more.
const SUBJECT_MAX: usize = 99;
/// Longest value shown for one fact: a 256 KB user agent must not push a message past SNS's 256 KB limit.
const VALUE_MAX_CHARS: usize = 1024;
/// Event names listed in a summary; the rest are counted.
const SUMMARY_NAMES: usize = 10;

/// One fact of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact<'a> {
    pub label: Label,
    pub value: Cow<'a, str>,
}

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

fn word(language: Language, p: Phrase) -> &'static str {
    phrase(language, p)
}

fn result_word(language: Language, success: Option<bool>) -> &'static str {
    match success {
        Some(true) => word(language, Phrase::Succeeded),
        Some(false) => word(language, Phrase::Failed),
        None => word(language, Phrase::ResultNotRecorded),
    }
}

/// Characters that reorder the text around them (bidi embeddings, overrides, isolates and marks): a user name
/// with U+202E reads backwards from there on, so a reader would see something the record does not say.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters no reader should get from a record: C0 and C1 controls (escape sequences, bells, line breaks that
/// forge a second line), Unicode's line and paragraph separators, and bidi controls.
fn is_hostile(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_bidi_control(c)
}

/// What a hostile character becomes: a space for controls and line breaks (words stay apart, as the text output
/// and the subject show them), U+FFFD for bidi controls (visible: the reader sees something was there).
fn replacement(c: char) -> char {
    if is_bidi_control(c) { '\u{FFFD}' } else { ' ' }
}

/// Attacker-controlled strings (user agent, user name) must not add lines, control or bidi characters to a
/// message, nor make it too long to send. Every string of a [`Message`] passes here (see [`Message::cleaned`]).
pub fn one_line(value: &str) -> Cow<'_, str> {
    let too_long = value.len() > VALUE_MAX_CHARS && value.chars().nth(VALUE_MAX_CHARS).is_some();
    if !too_long && !value.chars().any(is_hostile) {
        return Cow::Borrowed(value);
    }
    let mut clean: String = value
        .chars()
        .take(VALUE_MAX_CHARS)
        .map(|c| if is_hostile(c) { replacement(c) } else { c })
        .collect();
    if too_long {
        clean.push_str("... (truncated)");
    }
    Cow::Owned(clean)
}

fn one_line_owned(value: Cow<'_, str>) -> Cow<'_, str> {
    match value {
        Cow::Borrowed(s) => one_line(s),
        Cow::Owned(s) => match one_line(&s) {
            Cow::Borrowed(_) => Cow::Owned(s),
            Cow::Owned(clean) => Cow::Owned(clean),
        },
    }
}

/// Cleans a string the message owns, leaving it untouched (no copy) when there is nothing to clean.
fn one_line_string(value: &mut String) {
    if let Cow::Owned(clean) = one_line(value) {
        *value = clean;
    }
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

/// `2024-06-03 15:23:22`; written by hand because a strftime pattern is re-parsed on every call.
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

/// `2018-08-30 01:24:34 JST (Asia/Tokyo)`.
pub fn local_time(time: DateTime<Utc>, settings: &Settings) -> String {
    let local = time.with_timezone(&settings.timezone);
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
    out
}

pub fn utc_time(time: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(24);
    write_clock(&mut out, &time);
    out.push_str(" UTC");
    out
}

/// The local time alone when the zone is UTC, else the local time.
fn short_time(time: DateTime<Utc>, settings: &Settings) -> String {
    if settings.timezone == chrono_tz::Tz::UTC {
        utc_time(time)
    } else {
        local_time(time, settings)
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

/// The account as the facts show it: `name (ID)`.
fn account_fact<'s>(account_id: Option<&'s str>, settings: &'s Settings) -> Cow<'s, str> {
    match (settings.account_name_of(account_id), account_id) {
        (Some(name), Some(id)) => Cow::Owned(format!("{name} ({id})")),
        (Some(name), None) => Cow::Borrowed(name),
        (None, Some(id)) => Cow::Borrowed(id),
        (None, None) => Cow::Borrowed(word(settings.language, Phrase::NotRecorded)),
    }
}

fn identity<'s>(finding: &'s Finding, language: Language) -> &'s str {
    finding
        .identity
        .as_deref()
        .unwrap_or(word(language, Phrase::UnknownIdentity))
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

fn target_label(target: Target, language: Language) -> &'static str {
    match (language, target) {
        (Language::En, Target::Trail) => "trail",
        (Language::En, Target::TrailLogGroup) => "the trail's log group",
        (Language::En, Target::Function) => "login-alert's function",
        (Language::En, Target::Permission) => "login-alert's function permission",
        (Language::En, Target::Topic) => "login-alert's topic",
        (Language::En, Target::Rule) => "login-alert's rule",
        (Language::En, Target::Role) => "login-alert's role",
        (Language::En, Target::Parameter) => "login-alert's parameter",
        (Language::En, Target::StateTable) => "login-alert's state table",
        (Language::En, Target::LogGroup) => "login-alert's log group",
        (Language::Ja, Target::Trail) => "証跡",
        (Language::Ja, Target::TrailLogGroup) => "証跡のロググループ",
        (Language::Ja, Target::Function) => "login-alert の関数",
        (Language::Ja, Target::Permission) => "login-alert の関数の実行許可",
        (Language::Ja, Target::Topic) => "login-alert のトピック",
        (Language::Ja, Target::Rule) => "login-alert のルール",
        (Language::Ja, Target::Role) => "login-alert のロール",
        (Language::Ja, Target::Parameter) => "login-alert のパラメータ",
        (Language::Ja, Target::StateTable) => "login-alert の状態テーブル",
        (Language::Ja, Target::LogGroup) => "login-alert のロググループ",
    }
}

fn security_change_title(subkind: Subkind, language: Language) -> &'static str {
    match (language, subkind) {
        (Language::En, Subkind::PasswordRecoveryRequested) => "Root password recovery requested",
        (Language::En, Subkind::PasswordRecoveryCompleted) => "Root password reset by recovery",
        (Language::En, Subkind::EmailChange) => "Root email address changed",
        (Language::En, Subkind::PasswordChange) => "Root password changed",
        (Language::En, Subkind::MfaAdded) => "Root MFA device added",
        (Language::En, Subkind::MfaRemoved) => "Root MFA device removed",
        (Language::En, Subkind::AccessKeyCreated) => "Root access key created",
        (Language::Ja, Subkind::PasswordRecoveryRequested) => {
            "ルートユーザーのパスワード復旧がリクエストされました"
        }
        (Language::Ja, Subkind::PasswordRecoveryCompleted) => {
            "ルートユーザーのパスワードが復旧手続きで再設定されました"
        }
        (Language::Ja, Subkind::EmailChange) => "ルートユーザーのメールアドレス変更",
        (Language::Ja, Subkind::PasswordChange) => "ルートユーザーのパスワード変更",
        (Language::Ja, Subkind::MfaAdded) => "ルートユーザーのMFAデバイス追加",
        (Language::Ja, Subkind::MfaRemoved) => "ルートユーザーのMFAデバイス削除",
        (Language::Ja, Subkind::AccessKeyCreated) => "ルートユーザーのアクセスキー作成",
        (_, Subkind::AssumeRoot | Subkind::RootSession) => "",
    }
}

/// What happened, in a few words, in `language`, without the account tag.
pub fn headline(finding: &Finding, language: Language) -> String {
    let en = language == Language::En;
    let result = result_word(language, finding.success);
    let no_mfa = match (finding.mfa_skipped(), en) {
        (false, _) => "",
        (true, true) => " without MFA",
        (true, false) => "（MFAなし）",
    };
    let failed = match (finding.success == Some(false), en) {
        (false, _) => "",
        (true, true) => " (FAILED)",
        (true, false) => "（失敗）",
    };
    let event = finding.record.event_name.get().unwrap_or("unnamed event");
    let who = identity(finding, language);
    match finding.kind {
        Kind::ConsoleLoginSuccess | Kind::ConsoleLoginFailure if finding.is_root() => {
            if en {
                format!("Root console sign-in {result}{no_mfa}")
            } else if finding.success == Some(false) {
                "AWSルートユーザーログイン失敗".to_owned()
            } else {
                format!("AWSルートユーザーログイン検知{no_mfa}")
            }
        }
        Kind::ConsoleLoginSuccess | Kind::ConsoleLoginFailure => {
            if en {
                format!("Console sign-in {result}{no_mfa}: {who}")
            } else {
                format!("コンソールサインイン{result}{no_mfa}: {who}")
            }
        }
        Kind::SwitchRole => match (switch_target(finding), en) {
            (Some(to), true) => format!("Switch role {result}: {who} -> {to}"),
            (None, true) => format!("Switch role {result}: {who}"),
            (Some(to), false) => format!("スイッチロール{result}: {who} -> {to}"),
            (None, false) => format!("スイッチロール{result}: {who}"),
        },
        Kind::RootActivity => root_headline(finding, language, event, who, failed, no_mfa),
        Kind::OtherSignin => {
            if en {
                format!("Sign-in step {event} {result}: {who}")
            } else {
                format!("サインイン手順 {event} {result}: {who}")
            }
        }
        Kind::Tamper => {
            let Some(tamper) = &finding.tamper else {
                return event.to_owned();
            };
            let what = target_label(tamper.target, language);
            // A trail ARN reads better as the trail's name; the Resource fact keeps the whole ARN.
            let resource = tamper
                .resource
                .rsplit_once(":trail/")
                .map_or(tamper.resource.as_ref(), |(_, name)| name);
            match (tamper.by_login_alert, en) {
                (false, true) => format!("TAMPERING: {event}{failed} on {what} {resource}"),
                (true, true) => {
                    format!("login-alert changed its own setup: {event} on {what} {resource}")
                }
                (false, false) => format!("改ざん検知: {what} {resource} に {event}{failed}"),
                (true, false) => {
                    format!("login-alert 自身による変更: {what} {resource} に {event}")
                }
            }
        }
        Kind::Test => {
            if en {
                "Test alert from login-alert".to_owned()
            } else {
                "login-alert のテスト通知".to_owned()
            }
        }
        Kind::Ignore => format!("{event} by {who} (no alert)"),
    }
}

fn root_headline(
    finding: &Finding,
    language: Language,
    event: &str,
    who: &str,
    failed: &str,
    no_mfa: &str,
) -> String {
    let en = language == Language::En;
    match finding.subkind {
        Some(Subkind::AssumeRoot) => {
            let target = finding
                .assume_root
                .as_ref()
                .and_then(|a| a.target.as_deref())
                .unwrap_or("?");
            if en {
                format!("Root session opened in account {target}{failed} by {who}")
            } else {
                format!("ルートセッション開始（AssumeRoot）{failed}: {who} -> アカウント {target}")
            }
        }
        Some(s) if s.is_security_change() => {
            format!("{}{failed}", security_change_title(s, language))
        }
        _ if finding.in_root_session() => {
            if en {
                format!("Root session from the management account: {event}{failed}")
            } else {
                format!("管理アカウントから開かれたルートセッションの操作: {event}{failed}")
            }
        }
        _ => {
            if en {
                format!("Root user activity: {event}{failed}{no_mfa}")
            } else {
                format!("AWSルートユーザーアクティビティ検知: {event}{failed}{no_mfa}")
            }
        }
    }
}

fn mfa_text(finding: &Finding, language: Language) -> &'static str {
    if finding.in_root_session() && finding.mfa != Some(true) {
        return word(language, Phrase::MfaNoneInRootSession);
    }
    // The caller's own session: whether it signed in with MFA is what the record says.
    if finding.assume_root.is_some() {
        return match finding.mfa {
            Some(true) => word(language, Phrase::MfaUsed),
            Some(false) => word(language, Phrase::MfaCallerSessionWithout),
            None => word(language, Phrase::MfaNotRecorded),
        };
    }
    match finding.mfa {
        Some(true) => word(language, Phrase::MfaUsed),
        Some(false) if finding.mfa_skipped() => word(language, Phrase::MfaNotUsedWarning),
        Some(false) if finding.mfa_capable() => word(language, Phrase::MfaNotUsed),
        Some(false) => word(language, Phrase::MfaAtIdentityProvider),
        None => word(language, Phrase::MfaNotRecorded),
    }
}

fn mfa_type_text<'f>(mfa_type: &'f MfaType, language: Language) -> Cow<'f, str> {
    match mfa_type {
        MfaType::SecurityKey => Cow::Borrowed(word(language, Phrase::SecurityKey)),
        MfaType::AuthenticatorApp => Cow::Borrowed(word(language, Phrase::AuthenticatorApp)),
        MfaType::HardwareToken => Cow::Borrowed(word(language, Phrase::HardwareToken)),
        MfaType::Other(other) => one_line(other),
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

fn fact<'a>(label: Label, value: Cow<'a, str>) -> Fact<'a> {
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

/// The notes a record calls for, chosen once and worded in the reader's language by [`worded`].
fn notes(finding: &Finding) -> Vec<Phrase> {
    let mut notes = Vec::new();
    let mut push = |p: Phrase| notes.push(p);
    match finding.kind {
        Kind::Test => push(Phrase::TestNote),
        Kind::Tamper => {
            if finding.tamper.as_ref().is_some_and(|t| t.by_login_alert) {
                push(Phrase::TamperByLoginAlertNote);
            } else {
                push(Phrase::TamperNote);
            }
        }
        _ => {
            if finding.mfa_skipped() {
                push(Phrase::NoMfaWarning);
            }
            if finding.subkind == Some(Subkind::AssumeRoot) {
                push(Phrase::AssumeRootNote);
            } else if finding.in_root_session() {
                push(Phrase::RootSessionNote);
            } else if finding.is_root() && finding.kind != Kind::Ignore {
                push(Phrase::RootNote);
                let api_call = !matches!(
                    finding.kind,
                    Kind::ConsoleLoginSuccess | Kind::ConsoleLoginFailure
                ) && finding.subkind.is_none();
                if api_call
                    && finding.mfa == Some(false)
                    && !finding.mfa_skipped()
                    && finding.success != Some(false)
                {
                    push(Phrase::MaybeRootSessionNote);
                }
            }
        }
    }
    notes
}

fn worded(notes: &[Phrase], language: Language) -> Vec<&'static str> {
    notes.iter().map(|p| word(language, *p)).collect()
}

/// Chat messages keep their warning in the attachment title and leave out the general root reminder.
fn chat_worthy(notes: &[Phrase]) -> Vec<Phrase> {
    notes
        .iter()
        .copied()
        .filter(|p| !matches!(p, Phrase::NoMfaWarning | Phrase::RootNote))
        .collect()
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
    let english = headline(finding, Language::En);
    let tag = account_label(finding.account_id(), settings);
    let subject = subject_line(tag, &subject_headline(&english, settings));
    let title = if language == Language::En {
        english
    } else {
        headline(finding, language)
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

fn summary_facts<'s>(summary: &Summary, settings: &'s Settings, records: String) -> Vec<Fact<'s>> {
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

fn class_title(class: Option<Class>, head: &Head, language: Language) -> String {
    let who = head.identity.as_deref().unwrap_or(match language {
        Language::En => "unknown identity",
        Language::Ja => "不明なユーザー",
    });
    match (language, class) {
        (Language::En, Some(Class::Root)) if head.root_session.is_some() => {
            "Root session from the management account continued".to_owned()
        }
        (Language::En, Some(Class::Root)) => "Root user activity continued".to_owned(),
        (Language::En, Some(Class::Failure)) => format!("More failed sign-ins: {who}"),
        (Language::En, Some(Class::SigninStep)) => format!("More sign-in steps: {who}"),
        (Language::En, Some(Class::Tamper)) => format!("More changes to the pipeline by {who}"),
        (Language::En, None) => format!("More activity: {who}"),
        (Language::Ja, Some(Class::Root)) if head.root_session.is_some() => {
            "管理アカウントから開かれたルートセッションの操作（続き）".to_owned()
        }
        (Language::Ja, Some(Class::Root)) => "AWSルートユーザーアクティビティ（続き）".to_owned(),
        (Language::Ja, Some(Class::Failure)) => format!("サインイン失敗（続き）: {who}"),
        (Language::Ja, Some(Class::SigninStep)) => format!("サインイン手順（続き）: {who}"),
        (Language::Ja, Some(Class::Tamper)) => format!("通知経路への変更（続き）: {who}"),
        (Language::Ja, None) => format!("アクティビティ（続き）: {who}"),
    }
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
    facts.extend(summary_facts(summary, settings, records));
    let severity = match head.class {
        Some(Class::Root | Class::Tamper) => Severity::Critical,
        Some(Class::Failure) => Severity::Warning,
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
