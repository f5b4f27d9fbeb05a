//! The words of a message in the reader's language: headlines, titles, results, MFA and the notes a record calls
//! for. Facts and layout are elsewhere; this is what the reader is told happened.

use std::borrow::Cow;

use super::clean::one_line;
use crate::classify::{Finding, Kind, MfaType, Subkind};
use crate::group::{Class, Head};
use crate::tamper::Target;
use crate::text::{Phrase, phrase};
use crate::vocab::Language;

/// A fixed phrase in `language`.
pub fn word(language: Language, p: Phrase) -> &'static str {
    phrase(language, p)
}

/// Succeeded, failed, or that the record does not say.
pub fn result_word(language: Language, success: Option<bool>) -> &'static str {
    match success {
        Some(true) => word(language, Phrase::Succeeded),
        Some(false) => word(language, Phrase::Failed),
        None => word(language, Phrase::ResultNotRecorded),
    }
}

/// Who acted, as the classifier named them.
pub fn identity<'s>(finding: &'s Finding, language: Language) -> &'s str {
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
        (Language::En, Target::StackSet) => "login-alert's StackSet",
        (Language::En, Target::StackInstances) => "the stack instances of login-alert's StackSet",
        (Language::En, Target::EventBus) => "login-alert's central event bus",
        (Language::En, Target::CentralRule) => "the central event bus's rule",
        (Language::En, Target::ForwardingRule) => "login-alert's forwarding rule",
        (Language::En, Target::MemberRole) => "login-alert's forwarding role",
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
        (Language::Ja, Target::StackSet) => "login-alert の StackSet",
        (Language::Ja, Target::StackInstances) => "login-alert の StackSet のスタックインスタンス",
        (Language::Ja, Target::EventBus) => "login-alert の中央イベントバス",
        (Language::Ja, Target::CentralRule) => "中央イベントバスのルール",
        (Language::Ja, Target::ForwardingRule) => "login-alert の転送ルール",
        (Language::Ja, Target::MemberRole) => "login-alert の転送ロール",
    }
}

/// For a change to organization coverage, where it happened (` in account sandbox (222222222222)`): a member
/// account's forwarding rule or role is one of hundreds, and the account is what the reader acts on.
pub fn tamper_place(finding: &Finding, language: Language, account: &str) -> Option<String> {
    let tamper = finding.tamper.as_ref()?;
    if !tamper.target.is_organization() {
        return None;
    }
    Some(match language {
        Language::En => format!(" in account {account}"),
        Language::Ja => format!("（アカウント: {account}）"),
    })
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

/// What the record says of MFA, with the warning a sign-in without it calls for.
pub fn mfa_text(finding: &Finding, language: Language) -> &'static str {
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

/// The kind of MFA device used, in words.
pub fn mfa_type_text<'f>(mfa_type: &'f MfaType, language: Language) -> Cow<'f, str> {
    match mfa_type {
        MfaType::SecurityKey => Cow::Borrowed(word(language, Phrase::SecurityKey)),
        MfaType::AuthenticatorApp => Cow::Borrowed(word(language, Phrase::AuthenticatorApp)),
        MfaType::HardwareToken => Cow::Borrowed(word(language, Phrase::HardwareToken)),
        MfaType::Other(other) => one_line(other),
    }
}

/// The notes a record calls for, chosen once and worded in the reader's language by [`worded`].
pub fn notes(finding: &Finding) -> Vec<Phrase> {
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

/// The chosen notes in `language`.
pub fn worded(notes: &[Phrase], language: Language) -> Vec<&'static str> {
    notes.iter().map(|p| word(language, *p)).collect()
}

/// Chat messages keep their warning in the attachment title and leave out the general root reminder.
pub fn chat_worthy(notes: &[Phrase]) -> Vec<Phrase> {
    notes
        .iter()
        .copied()
        .filter(|p| !matches!(p, Phrase::NoMfaWarning | Phrase::RootNote))
        .collect()
}

/// A digest's title: what kind of group continued, and who.
pub fn class_title(class: Option<Class>, head: &Head, language: Language) -> String {
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
        (Language::En, Some(Class::Spray)) => format!(
            "Password spraying from {} continued",
            head.source_ip.as_deref().unwrap_or("an unknown address")
        ),
        (Language::En, None) => format!("More activity: {who}"),
        (Language::Ja, Some(Class::Root)) if head.root_session.is_some() => {
            "管理アカウントから開かれたルートセッションの操作（続き）".to_owned()
        }
        (Language::Ja, Some(Class::Root)) => "AWSルートユーザーアクティビティ（続き）".to_owned(),
        (Language::Ja, Some(Class::Failure)) => format!("サインイン失敗（続き）: {who}"),
        (Language::Ja, Some(Class::SigninStep)) => format!("サインイン手順（続き）: {who}"),
        (Language::Ja, Some(Class::Tamper)) => format!("通知経路への変更（続き）: {who}"),
        (Language::Ja, Some(Class::Spray)) => format!(
            "パスワードスプレーの疑い（続き）: {}",
            head.source_ip.as_deref().unwrap_or("不明なアドレス")
        ),
        (Language::Ja, None) => format!("アクティビティ（続き）: {who}"),
    }
}
