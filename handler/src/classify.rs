//! What a record means: its kind, who did it, whether it succeeded, whether MFA was used (and which kind), and
//! whether the scope alerts on it.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;

use crate::input::EventInfo;
use crate::org_tamper::tamper_of;
use crate::record::Record;
use crate::settings::Settings;
use crate::tamper::Tamper;
use crate::testevent;
use crate::vocab::Scope;

const SIGNIN_SOURCE: &str = "signin.amazonaws.com";

/// The kinds of record login-alert tells apart (the `kind` of `preview --output json`). A public contract:
/// kinds are only ever added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    ConsoleLoginSuccess,
    ConsoleLoginFailure,
    SwitchRole,
    RootActivity,
    OtherSignin,
    /// A change that would blind login-alert (its trail, the trail's log group, its own resources).
    Tamper,
    /// The synthetic record `login-alert test` sends through the pipeline.
    Test,
    Ignore,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::ConsoleLoginSuccess,
        Kind::ConsoleLoginFailure,
        Kind::SwitchRole,
        Kind::RootActivity,
        Kind::OtherSignin,
        Kind::Tamper,
        Kind::Test,
        Kind::Ignore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ConsoleLoginSuccess => "console-login-success",
            Kind::ConsoleLoginFailure => "console-login-failure",
            Kind::SwitchRole => "switch-role",
            Kind::RootActivity => "root-activity",
            Kind::OtherSignin => "other-signin",
            Kind::Tamper => "tamper",
            Kind::Test => "test",
            Kind::Ignore => "ignore",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A finer reading of a root-activity record (the `subkind` of `preview --output json`; tamper records carry
/// their target there instead). Only ever added to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subkind {
    /// `sts:AssumeRoot`: a management-account principal opens a root session in a member account.
    AssumeRoot,
    /// An action of a root session opened with `sts:AssumeRoot` (no root password involved).
    RootSession,
    PasswordRecoveryRequested,
    PasswordRecoveryCompleted,
    EmailChange,
    PasswordChange,
    MfaAdded,
    MfaRemoved,
    AccessKeyCreated,
}

impl Subkind {
    pub fn as_str(self) -> &'static str {
        match self {
            Subkind::AssumeRoot => "assume-root",
            Subkind::RootSession => "root-session",
            Subkind::PasswordRecoveryRequested => "password-recovery-requested",
            Subkind::PasswordRecoveryCompleted => "password-recovery-completed",
            Subkind::EmailChange => "email-change",
            Subkind::PasswordChange => "password-change",
            Subkind::MfaAdded => "mfa-added",
            Subkind::MfaRemoved => "mfa-removed",
            Subkind::AccessKeyCreated => "access-key-created",
        }
    }

    /// Changes to the root user's own credentials, each with a title of its own.
    pub fn is_security_change(self) -> bool {
        !matches!(self, Subkind::AssumeRoot | Subkind::RootSession)
    }
}

/// How loudly a message speaks: root activity and tampering first, then failures and skipped MFA, then the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// The kind of second factor a record names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaType<'a> {
    /// A FIDO security key or a passkey (`u2f` in the device ARN, `U2F MFA`).
    SecurityKey,
    /// A TOTP authenticator app (a virtual MFA device, `…:mfa/NAME`).
    AuthenticatorApp,
    /// A hardware TOTP token (named by its serial number).
    HardwareToken,
    /// What the record says, when it is none of the above.
    Other(Cow<'a, str>),
}

impl MfaType<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            MfaType::SecurityKey => "security-key",
            MfaType::AuthenticatorApp => "authenticator-app",
            MfaType::HardwareToken => "hardware-token",
            MfaType::Other(other) => other,
        }
    }
}

/// What an `sts:AssumeRoot` call asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRootCall<'a> {
    /// The member account (or its root principal ARN).
    pub target: Option<Cow<'a, str>>,
    /// The task policy that scopes the session.
    pub task_policy: Option<Cow<'a, str>>,
    /// The session's access key: the member account's records of the session carry it.
    pub session_key: Option<Cow<'a, str>>,
}

/// Who opened a root session with `sts:AssumeRoot`, when the call is known (same batch, or the state table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RootSession {
    pub caller: String,
    pub caller_account: Option<String>,
    pub task_policy: Option<String>,
}

/// A classified record: the record itself plus what login-alert concluded about it.
#[derive(Debug, Clone)]
pub struct Finding<'a> {
    pub record: Record<'a>,
    pub kind: Kind,
    pub subkind: Option<Subkind>,
    pub identity: Option<Cow<'a, str>>,
    pub success: Option<bool>,
    pub mfa: Option<bool>,
    pub mfa_type: Option<MfaType<'a>>,
    pub alert: bool,
    /// When the record happened; falls back to the CloudWatch Logs timestamp when `eventTime` is unreadable.
    pub time: Option<DateTime<Utc>>,
    /// Where it happened: the record's `awsRegion`, else the EventBridge envelope's region.
    pub region: Option<Cow<'a, str>>,
    /// The account it happened in: `recipientAccountId`, the identity's account, else the envelope's.
    pub account_id: Option<Cow<'a, str>>,
    pub tamper: Option<Tamper<'a>>,
    pub assume_root: Option<AssumeRootCall<'a>>,
    /// Set when the record is an action of a root session whose `AssumeRoot` call is known.
    pub root_session: Option<RootSession>,
    /// How a `test` record was sent (`PutLogEvents …`, `PutEvents …`).
    pub sent_via: Option<Cow<'a, str>>,
    /// For a console sign-in: what its identity's baseline found (see `usual.rs`).
    pub novelty: Option<Box<crate::verdict::Verdict>>,
}

impl<'a> Finding<'a> {
    /// Classifies one record; `fallback_time_ms` is the log event's timestamp when there is one.
    pub fn new(record: Record<'a>, settings: &Settings, fallback_time_ms: Option<i64>) -> Self {
        Self::with_envelope(record, settings, fallback_time_ms, None)
    }

    /// Like [`Finding::new`], for a record that came in an EventBridge envelope.
    pub fn with_envelope(
        record: Record<'a>,
        settings: &Settings,
        fallback_time_ms: Option<i64>,
        envelope: Option<&EventInfo<'a>>,
    ) -> Self {
        let test = testevent::is_test(&record);
        let tamper = if test {
            None
        } else {
            tamper_of(&record, &settings.pipeline)
        };
        let assume_root = assume_root_of(&record);
        let subkind = subkind_of(&record, assume_root.is_some());
        let kind = if test {
            Kind::Test
        } else if tamper.is_some() {
            Kind::Tamper
        } else if assume_root.is_some() {
            Kind::RootActivity
        } else {
            kind_of(&record, subkind)
        };
        let success = success_of(&record);
        let mfa = mfa_of(&record);
        let mfa_type = mfa_type_of(&record);
        // The caller of `AssumeRoot` is named by role and session (`Admin/alice`), not the session alone.
        let identity = match &assume_root {
            Some(_) => record
                .identity()
                .and_then(|u| u.arn.0.clone())
                .and_then(|arn| match arn {
                    Cow::Borrowed(a) => a
                        .split_once(":assumed-role/")
                        .map(|(_, r)| Cow::Borrowed(r)),
                    Cow::Owned(a) => a
                        .split_once(":assumed-role/")
                        .map(|(_, r)| Cow::Owned(r.to_owned())),
                })
                .or_else(|| identity_of(&record)),
            None => identity_of(&record),
        };
        let time = record
            .event_time
            .get()
            .and_then(parse_time)
            .or_else(|| fallback_time_ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single()));
        let region =
            cow_of(&record.aws_region).or_else(|| envelope.and_then(|e| cow_of(&e.region)));
        let account_id = cow_of(&record.recipient_account_id)
            .or_else(|| record.identity().and_then(|u| cow_of(&u.account_id)))
            .or_else(|| envelope.and_then(|e| cow_of(&e.account)));
        let root = record.is_root() || assume_root.is_some();
        let alert = alerts(settings.scope, kind, root, success);
        let sent_via = test.then(|| testevent::sent_via(&record)).flatten();
        Finding {
            record,
            kind,
            subkind: if kind == Kind::RootActivity {
                subkind
            } else {
                None
            },
            identity,
            success,
            mfa,
            mfa_type,
            alert,
            time,
            region,
            account_id,
            tamper,
            assume_root,
            root_session: None,
            sent_via,
            novelty: None,
        }
    }

    /// The root user acted, or a principal opened a root session: both are root activity to the reader.
    pub fn is_root(&self) -> bool {
        self.record.is_root() || self.assume_root.is_some()
    }

    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref()
    }

    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Ties this root record to a known `AssumeRoot` call: it is then a root session, not a root sign-in.
    pub fn attach_root_session(&mut self, session: RootSession) {
        if self.kind == Kind::RootActivity && self.record.is_root() {
            if self.subkind.is_none() {
                self.subkind = Some(Subkind::RootSession);
            }
            self.root_session = Some(session);
        }
    }

    /// A root record from a session `AssumeRoot` opened, by correlation or by the record's own marker.
    pub fn in_root_session(&self) -> bool {
        self.root_session.is_some() || self.subkind == Some(Subkind::RootSession)
    }

    /// MFA is set up per IAM user and for root; SSO, SAML and federated sessions do their MFA at the identity
    /// provider, so CloudTrail's "No" means nothing there. A root session opened with `AssumeRoot` has none.
    pub fn mfa_capable(&self) -> bool {
        let user_type = self.record.user_type();
        (user_type.eq_ignore_ascii_case("IAMUser") || user_type.eq_ignore_ascii_case("Root"))
            && self
                .record
                .additional_event_data
                .get("SamlProviderArn")
                .is_none()
            && !self.in_root_session()
    }

    /// MFA was possible and the record says it was not used, on a sign-in that got past the password or in a
    /// session the record shows was opened by a console sign-in. Root API activity without such evidence may be a
    /// root session opened with `AssumeRoot`, which has no MFA of its own, so it is not called "without MFA".
    pub fn mfa_skipped(&self) -> bool {
        if !(self.mfa_capable() && self.mfa == Some(false) && self.success != Some(false)) {
            return false;
        }
        match self.kind {
            Kind::ConsoleLoginSuccess | Kind::ConsoleLoginFailure | Kind::OtherSignin => true,
            _ => self.console_session(),
        }
    }

    /// The record shows a person in a browser: the console invoked the call, or a browser sent it.
    fn console_session(&self) -> bool {
        self.record.session_credential_from_console.is("true")
            || self
                .record
                .identity()
                .and_then(|u| u.invoked_by.get())
                .is_some_and(|by| by.trim().eq_ignore_ascii_case(SIGNIN_SOURCE))
            || self
                .record
                .user_agent
                .get()
                .is_some_and(|agent| agent.starts_with("Mozilla"))
    }

    pub fn severity(&self) -> Severity {
        if self.kind == Kind::Ignore {
            Severity::Info
        } else if self.kind == Kind::Tamper {
            if self.tamper.as_ref().is_some_and(|t| t.by_login_alert) {
                Severity::Info
            } else {
                Severity::Critical
            }
        } else if self.kind == Kind::Test {
            Severity::Info
        } else if self.is_root() {
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

fn cow_of<'a>(text: &crate::lenient::Text<'a>) -> Option<Cow<'a, str>> {
    text.0.clone().filter(|s| !s.trim().is_empty())
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

fn kind_of(record: &Record, subkind: Option<Subkind>) -> Kind {
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
    // Password recovery exists only for the root user; its records need not say `Root`.
    if matches!(
        subkind,
        Some(Subkind::PasswordRecoveryRequested | Subkind::PasswordRecoveryCompleted)
    ) {
        return Kind::RootActivity;
    }
    if record.is_root() && root_is_human(record) {
        return Kind::RootActivity;
    }
    if is_signin(record) {
        return Kind::OtherSignin;
    }
    Kind::Ignore
}

/// `sts:AssumeRoot`, with what it asked for.
fn assume_root_of<'a>(record: &Record<'a>) -> Option<AssumeRootCall<'a>> {
    if !record.event_name.is("AssumeRoot") || !record.event_source.is("sts.amazonaws.com") {
        return None;
    }
    let pair = |pairs: &crate::lenient::Pairs<'a>, key: &str| -> Option<Cow<'a, str>> {
        pairs
            .0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
            .filter(|v| !v.trim().is_empty())
    };
    Some(AssumeRootCall {
        target: pair(&record.request_parameters, "targetPrincipal"),
        task_policy: pair(&record.request_parameters, "taskPolicyArn.arn")
            .or_else(|| pair(&record.request_parameters, "taskPolicyArn")),
        session_key: pair(&record.response_elements, "credentials.accessKeyId"),
    })
}

/// The root user's changes to its own credentials, and root sessions the record itself marks.
fn subkind_of(record: &Record, assume_root: bool) -> Option<Subkind> {
    if assume_root {
        return Some(Subkind::AssumeRoot);
    }
    let name = record.event_name.get().unwrap_or("").trim();
    let source = record.event_source.get().unwrap_or("").trim();
    let signin = source.eq_ignore_ascii_case(SIGNIN_SOURCE);
    match name {
        "PasswordRecoveryRequested" if signin => return Some(Subkind::PasswordRecoveryRequested),
        "PasswordRecoveryCompleted" if signin => return Some(Subkind::PasswordRecoveryCompleted),
        _ => {}
    }
    if !record.is_root() {
        return None;
    }
    let iam = source.eq_ignore_ascii_case("iam.amazonaws.com");
    // An IAM call by root about another user (`userName` of an IAM user) is not a change to root's credentials.
    let about_root = record
        .request_parameters
        .get("userName")
        .is_none_or(|user| user.eq_ignore_ascii_case("AWS ROOT USER"));
    let change = match name {
        "EmailUpdated" if signin => Some(Subkind::EmailChange),
        "UpdateAccountEmailAddress" if iam => Some(Subkind::EmailChange),
        "PasswordUpdated" if signin => Some(Subkind::PasswordChange),
        "ChangePassword" if iam => Some(Subkind::PasswordChange),
        "EnableMFADevice" | "CreateVirtualMFADevice" if iam && about_root => {
            Some(Subkind::MfaAdded)
        }
        "DeactivateMFADevice" | "DeleteVirtualMFADevice" if iam && about_root => {
            Some(Subkind::MfaRemoved)
        }
        "CreateAccessKey" if iam && about_root => Some(Subkind::AccessKeyCreated),
        _ => None,
    };
    change.or_else(|| {
        record
            .identity()
            .and_then(|u| u.session_context.get())
            .is_some_and(|s| s.assumed_root.is("true"))
            .then_some(Subkind::RootSession)
    })
}

/// The MFA device kind a sign-in names: `MFAIdentifier` (a device ARN or a token serial) or `MfaType`.
fn mfa_type_of<'a>(record: &Record<'a>) -> Option<MfaType<'a>> {
    let data = &record.additional_event_data;
    if let Some(id) = data.get("MFAIdentifier") {
        let id = id.trim();
        return Some(if id.contains(":u2f/") {
            MfaType::SecurityKey
        } else if id.contains(":mfa/") {
            MfaType::AuthenticatorApp
        } else if !id.starts_with("arn:") {
            MfaType::HardwareToken
        } else {
            MfaType::Other(Cow::Owned(id.to_owned()))
        });
    }
    let value = data.get("MfaType")?.trim();
    let lower = value.to_ascii_lowercase();
    Some(
        if lower.contains("u2f") || lower.contains("fido") || lower.contains("passkey") {
            MfaType::SecurityKey
        } else if lower.contains("virtual") || lower.contains("totp") || lower.contains("app") {
            MfaType::AuthenticatorApp
        } else if lower.contains("hardware") {
            MfaType::HardwareToken
        } else {
            MfaType::Other(Cow::Owned(value.to_owned()))
        },
    )
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
    match kind {
        Kind::Ignore => false,
        // Tampering and the pipeline's own test always speak, whatever the scope.
        Kind::Tamper | Kind::Test => true,
        _ => match scope {
            Scope::All => true,
            Scope::FailuresAndRoot => root || kind == Kind::RootActivity || success == Some(false),
            Scope::RootOnly => root || kind == Kind::RootActivity,
        },
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
        let settings = Settings {
            scope,
            ..Settings::default()
        };
        let finding = Finding::new(Record::parse(json).unwrap(), &settings, None);
        (finding.kind, finding.alert)
    }

    #[test]
    fn root_invoked_by_a_service_is_not_root_activity_but_console_root_is() {
        let service = r#"{"eventName":"AssumeRole","eventSource":"sts.amazonaws.com","eventType":"AwsApiCall",
            "userIdentity":{"type":"Root","invokedBy":"config.amazonaws.com"}}"#;
        assert_eq!(classify(service, Scope::All), (Kind::Ignore, false));
        let console = r#"{"eventName":"DeleteBucket","eventSource":"s3.amazonaws.com","eventType":"AwsApiCall",
            "userIdentity":{"type":"Root","invokedBy":"signin.amazonaws.com"}}"#;
        assert_eq!(
            classify(console, Scope::RootOnly),
            (Kind::RootActivity, true)
        );
        // Deleting a trail blinds login-alert: tamper, whoever does it, in every scope.
        let trail = console
            .replace("DeleteBucket", "DeleteTrail")
            .replace("s3.amazonaws.com", "cloudtrail.amazonaws.com");
        assert_eq!(classify(&trail, Scope::RootOnly), (Kind::Tamper, true));
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
