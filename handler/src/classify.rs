//! What a record means: its kind, who did it, whether it succeeded, whether MFA was used, and whether the scope alerts on it.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;

use crate::Scope;
use crate::record::Record;

const SIGNIN_SOURCE: &str = "signin.amazonaws.com";

/// The kinds of record login-alert tells apart (the `kind` of `preview --output json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    ConsoleLoginSuccess,
    ConsoleLoginFailure,
    SwitchRole,
    RootActivity,
    OtherSignin,
    Ignore,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ConsoleLoginSuccess => "console-login-success",
            Kind::ConsoleLoginFailure => "console-login-failure",
            Kind::SwitchRole => "switch-role",
            Kind::RootActivity => "root-activity",
            Kind::OtherSignin => "other-signin",
            Kind::Ignore => "ignore",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How loudly a message speaks: root activity first, then failures and skipped MFA, then routine sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// A classified record: the record itself plus what login-alert concluded about it.
#[derive(Debug, Clone)]
pub struct Finding<'a> {
    pub record: Record<'a>,
    pub kind: Kind,
    pub identity: Option<Cow<'a, str>>,
    pub success: Option<bool>,
    pub mfa: Option<bool>,
    pub alert: bool,
    /// When the record happened; falls back to the CloudWatch Logs timestamp when `eventTime` is unreadable.
    pub time: Option<DateTime<Utc>>,
}

impl<'a> Finding<'a> {
    /// Classifies one record; `fallback_time_ms` is the log event's timestamp when there is one.
    pub fn new(record: Record<'a>, scope: Scope, fallback_time_ms: Option<i64>) -> Self {
        let kind = kind_of(&record);
        let success = success_of(&record);
        let mfa = mfa_of(&record);
        let identity = identity_of(&record);
        let time = record
            .event_time
            .get()
            .and_then(parse_time)
            .or_else(|| fallback_time_ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single()));
        let alert = alerts(scope, kind, record.is_root(), success);
        Finding {
            record,
            kind,
            identity,
            success,
            mfa,
            alert,
            time,
        }
    }

    pub fn is_root(&self) -> bool {
        self.record.is_root()
    }

    /// MFA is set up per IAM user and for root; SSO, SAML and federated sessions do their MFA at the identity
    /// provider, so CloudTrail's "No" means nothing there.
    pub fn mfa_capable(&self) -> bool {
        let user_type = self.record.user_type();
        (user_type.eq_ignore_ascii_case("IAMUser") || user_type.eq_ignore_ascii_case("Root"))
            && self
                .record
                .additional_event_data
                .get("SamlProviderArn")
                .is_none()
    }

    /// MFA was possible and the record says it was not used, on an attempt that got past the password.
    pub fn mfa_skipped(&self) -> bool {
        self.mfa_capable() && self.mfa == Some(false) && self.success != Some(false)
    }

    pub fn severity(&self) -> Severity {
        if self.is_root() {
            Severity::Critical
        } else if self.success == Some(false) || self.mfa_skipped() {
            Severity::Warning
        } else {
            Severity::Info
        }
    }

    /// A readable user type: `SSO session` and `SAML session` instead of a bare `AssumedRole`.
    pub fn user_type_label(&self) -> Cow<'_, str> {
        let user_type = self.record.user_type();
        if user_type.eq_ignore_ascii_case("AssumedRole") {
            if is_sso_role(&self.record) {
                return Cow::Borrowed("AssumedRole (IAM Identity Center)");
            }
            if self
                .record
                .additional_event_data
                .get("SamlProviderArn")
                .is_some()
            {
                return Cow::Borrowed("AssumedRole (SAML)");
            }
        }
        if user_type.is_empty() {
            Cow::Borrowed("unknown")
        } else {
            Cow::Borrowed(user_type)
        }
    }
}

fn is_signin(record: &Record) -> bool {
    record.event_source.is(SIGNIN_SOURCE)
}

fn is_sso_role(record: &Record) -> bool {
    record
        .session_issuer("userName")
        .is_some_and(|n| n.starts_with("AWSReservedSSO_"))
        || record
            .session_issuer("arn")
            .is_some_and(|a| a.contains("/aws-reserved/sso.amazonaws.com/"))
        || record
            .identity()
            .and_then(|u| u.arn.get())
            .is_some_and(|a| a.contains(":assumed-role/AWSReservedSSO_"))
}

fn kind_of(record: &Record) -> Kind {
    let name = record.event_name.get().unwrap_or("");
    if name.eq_ignore_ascii_case("ConsoleLogin") {
        return if success_of(record) == Some(false) {
            Kind::ConsoleLoginFailure
        } else {
            Kind::ConsoleLoginSuccess
        };
    }
    if name.eq_ignore_ascii_case("SwitchRole") && is_signin(record) {
        return Kind::SwitchRole;
    }
    if record.is_root() && root_is_human(record) {
        return Kind::RootActivity;
    }
    if is_signin(record) {
        return Kind::OtherSignin;
    }
    Kind::Ignore
}

/// CIS root-usage logic: not invoked by an AWS service and not a service event. The console itself
/// (`invokedBy = signin.amazonaws.com`) is a person at a browser, so it counts.
fn root_is_human(record: &Record) -> bool {
    let invoked_by_service = record
        .identity()
        .and_then(|u| u.invoked_by.get())
        .is_some_and(|by| !by.trim().eq_ignore_ascii_case(SIGNIN_SOURCE));
    !invoked_by_service && !record.event_type.is("AwsServiceEvent")
}

fn verdict(value: &str) -> Option<bool> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("Success") {
        Some(true)
    } else if value.eq_ignore_ascii_case("Failure") || value.eq_ignore_ascii_case("Failed") {
        Some(false)
    } else {
        None
    }
}

fn success_of(record: &Record) -> Option<bool> {
    let name = record.event_name.get().unwrap_or("");
    let explicit = record
        .response_elements
        .get(name)
        .and_then(verdict)
        // Identity Center steps report in serviceEventDetails under their own name; older ones under another key.
        .or_else(|| record.service_event_details.get(name).and_then(verdict))
        .or_else(|| {
            record
                .service_event_details
                .0
                .iter()
                .find_map(|(_, v)| verdict(v))
        });
    if explicit.is_some() {
        return explicit;
    }
    if record.error_code.get().is_some() || record.error_message.get().is_some() {
        return Some(false);
    }
    // An API call without an error code succeeded; other record types must say so explicitly.
    if record.event_type.is("AwsApiCall") {
        Some(true)
    } else {
        None
    }
}

fn yes_no(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

fn mfa_of(record: &Record) -> Option<bool> {
    record
        .additional_event_data
        .get("MFAUsed")
        .and_then(yes_no)
        .or_else(|| {
            record
                .session_attribute("mfaAuthenticated")
                .and_then(yes_no)
        })
}

fn after_last(value: &str, separator: char) -> &str {
    value.rsplit(separator).next().unwrap_or(value)
}

/// The name a person recognises for whoever acted.
fn identity_of<'a>(record: &Record<'a>) -> Option<Cow<'a, str>> {
    let user = record.identity()?;
    let user_type = user.kind.get().unwrap_or("");
    let user_name = user.user_name.0.as_ref().filter(|s| !s.trim().is_empty());
    let arn = user.arn.0.as_ref().filter(|s| !s.trim().is_empty());
    let principal = user
        .principal_id
        .0
        .as_ref()
        .filter(|s| !s.trim().is_empty());
    let borrowed_tail = |cow: &Cow<'a, str>, sep: char| -> Cow<'a, str> {
        match cow {
            Cow::Borrowed(s) => Cow::Borrowed(after_last(s, sep)),
            Cow::Owned(s) => Cow::Owned(after_last(s, sep).to_owned()),
        }
    };
    if user_type.eq_ignore_ascii_case("Root") {
        return arn.cloned().or_else(|| {
            record
                .account_id()
                .map(|id| Cow::Owned(format!("arn:aws:iam::{id}:root")))
        });
    }
    if user_type.eq_ignore_ascii_case("AssumedRole")
        || user_type.eq_ignore_ascii_case("FederatedUser")
    {
        // The session name: the email for SSO and SAML sessions.
        return arn
            .filter(|a| a.contains('/'))
            .map(|a| borrowed_tail(a, '/'))
            .or_else(|| {
                principal
                    .filter(|p| p.contains(':'))
                    .map(|p| borrowed_tail(p, ':'))
            })
            .or_else(|| user_name.cloned());
    }
    if user_type.eq_ignore_ascii_case("IdentityCenterUser") {
        let name = record
            .additional_event_data
            .0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("UserName"));
        return name
            .map(|(_, v)| v.clone())
            .or_else(|| user_name.cloned())
            .or_else(|| {
                user.on_behalf_of
                    .0
                    .iter()
                    .find(|(k, _)| k == "userId")
                    .map(|(_, v)| v.clone())
            });
    }
    user_name
        .cloned()
        .or_else(|| {
            arn.filter(|a| a.contains('/'))
                .map(|a| borrowed_tail(a, '/'))
        })
        .or_else(|| principal.cloned())
        .or_else(|| user.invoked_by.0.clone())
}

fn alerts(scope: Scope, kind: Kind, root: bool, success: Option<bool>) -> bool {
    if kind == Kind::Ignore {
        return false;
    }
    match scope {
        Scope::All => true,
        Scope::FailuresAndRoot => root || kind == Kind::RootActivity || success == Some(false),
        Scope::RootOnly => root || kind == Kind::RootActivity,
    }
}

/// Reads the time spellings seen in real records and in exports of them: RFC 3339, a space instead of `T`,
/// fractional seconds up to nanoseconds, with or without a zone, or epoch seconds / milliseconds.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let normalized = text.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&normalized) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = normalized
        .trim_end_matches(['Z', 'z'])
        .trim_end_matches("UTC")
        .trim_end();
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(t.and_utc());
        }
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = text.parse().ok()?;
        // Ten digits are seconds until the year 2286; more are milliseconds.
        return if text.len() <= 10 {
            Utc.timestamp_opt(n, 0).single()
        } else {
            Utc.timestamp_millis_opt(n).single()
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_spelling_seen() {
        let expected = Utc.with_ymd_and_hms(2024, 6, 3, 15, 23, 22).unwrap();
        for text in [
            "2024-06-03T15:23:22Z",
            "2024-06-03T15:23:22.000Z",
            "2024-06-03 15:23:22.000000000",
            "2024-06-03 15:23:22",
            "2024-06-03T15:23:22",
            "2024-06-03T17:23:22+02:00",
            "2024-06-03 15:23:22 UTC",
            "1717428202",
            "1717428202000",
        ] {
            assert_eq!(parse_time(text), Some(expected), "{text}");
        }
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_time("99999999999999999999999"), None);
    }

    fn classify(json: &str, scope: Scope) -> (Kind, bool) {
        let finding = Finding::new(Record::parse(json).unwrap(), scope, None);
        (finding.kind, finding.alert)
    }

    #[test]
    fn root_invoked_by_a_service_is_not_root_activity_but_console_root_is() {
        let service = r#"{"eventName":"AssumeRole","eventSource":"sts.amazonaws.com","eventType":"AwsApiCall",
            "userIdentity":{"type":"Root","invokedBy":"config.amazonaws.com"}}"#;
        assert_eq!(classify(service, Scope::All), (Kind::Ignore, false));
        let console = r#"{"eventName":"DeleteTrail","eventSource":"cloudtrail.amazonaws.com","eventType":"AwsApiCall",
            "userIdentity":{"type":"Root","invokedBy":"signin.amazonaws.com"}}"#;
        assert_eq!(
            classify(console, Scope::RootOnly),
            (Kind::RootActivity, true)
        );
        let service_event =
            r#"{"eventName":"X","eventType":"AWSServiceEvent","userIdentity":{"type":"Root"}}"#;
        assert_eq!(classify(service_event, Scope::All), (Kind::Ignore, false));
    }

    #[test]
    fn scopes_filter_what_alerts() {
        let ok_login = r#"{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com",
            "userIdentity":{"type":"IAMUser","userName":"alice"},"responseElements":{"ConsoleLogin":"Success"}}"#;
        let bad_login = ok_login.replace("\"Success\"", "\"Failure\"");
        assert_eq!(
            classify(ok_login, Scope::All),
            (Kind::ConsoleLoginSuccess, true)
        );
        assert_eq!(
            classify(ok_login, Scope::FailuresAndRoot),
            (Kind::ConsoleLoginSuccess, false)
        );
        assert_eq!(
            classify(&bad_login, Scope::FailuresAndRoot),
            (Kind::ConsoleLoginFailure, true)
        );
        assert_eq!(
            classify(&bad_login, Scope::RootOnly),
            (Kind::ConsoleLoginFailure, false)
        );
    }
}
