//! Every word a message says, in each language: labels, result words, notes and the scope line.

use crate::vocab::{Language, Scope};

/// The label of each fact a message can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Result,
    Identity,
    UserType,
    Account,
    Region,
    SourceIp,
    Mfa,
    MfaType,
    Time,
    TimeUtc,
    UserAgent,
    FailureReason,
    SwitchedFrom,
    SwitchedTo,
    Event,
    EventId,
    CloudTrail,
    Caller,
    TargetAccount,
    TaskPolicy,
    Session,
    Resource,
    SentVia,
    Records,
    Events,
    FirstSeen,
    LastSeen,
    Regions,
    /// What a sign-in's baseline found (new network, browser; or how familiar it is).
    Baseline,
    /// The identities a password spray tried.
    Identities,
}

impl Label {
    /// Labels whose values are long: shown full width in Slack and Teams.
    pub fn is_wide(self) -> bool {
        matches!(
            self,
            Label::UserAgent
                | Label::FailureReason
                | Label::SwitchedFrom
                | Label::SwitchedTo
                | Label::Identity
                | Label::Events
                | Label::Caller
                | Label::TaskPolicy
                | Label::Resource
                | Label::SentVia
                | Label::Baseline
                | Label::Identities
        )
    }

    pub fn text(self, language: Language) -> &'static str {
        match language {
            Language::En => match self {
                Label::Result => "Result",
                Label::Identity => "Identity",
                Label::UserType => "User type",
                Label::Account => "Account",
                Label::Region => "Region",
                Label::SourceIp => "Source IP",
                Label::Mfa => "MFA",
                Label::MfaType => "MFA type",
                Label::Time => "Time",
                Label::TimeUtc => "Time (UTC)",
                Label::UserAgent => "User agent",
                Label::FailureReason => "Failure reason",
                Label::SwitchedFrom => "Switched from",
                Label::SwitchedTo => "Switched to",
                Label::Event => "Event",
                Label::EventId => "Event ID",
                Label::CloudTrail => "CloudTrail",
                Label::Caller => "Caller",
                Label::TargetAccount => "Target account",
                Label::TaskPolicy => "Task policy",
                Label::Session => "Session",
                Label::Resource => "Resource",
                Label::SentVia => "Sent via",
                Label::Records => "Records",
                Label::Events => "Events",
                Label::FirstSeen => "First",
                Label::LastSeen => "Last",
                Label::Regions => "Regions",
                Label::Baseline => "Baseline",
                Label::Identities => "Identities",
            },
            Language::Ja => match self {
                Label::Result => "結果",
                Label::Identity => "ユーザー",
                Label::UserType => "ユーザー種別",
                Label::Account => "AWSアカウント",
                Label::Region => "リージョン",
                Label::SourceIp => "ソースIP",
                Label::Mfa => "MFA",
                Label::MfaType => "MFAの種類",
                Label::Time => "発生時刻",
                Label::TimeUtc => "発生時刻 (UTC)",
                Label::UserAgent => "ユーザーエージェント",
                Label::FailureReason => "失敗理由",
                Label::SwitchedFrom => "切り替え元",
                Label::SwitchedTo => "切り替え先",
                Label::Event => "イベント名",
                Label::EventId => "イベントID",
                Label::CloudTrail => "CloudTrail",
                Label::Caller => "実行者",
                Label::TargetAccount => "対象アカウント",
                Label::TaskPolicy => "タスクポリシー",
                Label::Session => "セッション",
                Label::Resource => "リソース",
                Label::SentVia => "送信方法",
                Label::Records => "件数",
                Label::Events => "イベント",
                Label::FirstSeen => "最初",
                Label::LastSeen => "最後",
                Label::Regions => "リージョン一覧",
                Label::Baseline => "普段との比較",
                Label::Identities => "対象ユーザー",
            },
        }
    }
}

/// Short phrases and sentences, keyed by what they say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phrase {
    Succeeded,
    Failed,
    ResultNotRecorded,
    NotRecorded,
    UnknownIdentity,
    MfaUsed,
    MfaNotUsedWarning,
    MfaNotUsed,
    MfaAtIdentityProvider,
    MfaNotRecorded,
    MfaNoneInRootSession,
    MfaCallerSessionWithout,
    SecurityKey,
    AuthenticatorApp,
    HardwareToken,
    NoMfaWarning,
    RootNote,
    RootSessionNote,
    MaybeRootSessionNote,
    AssumeRootNote,
    TamperNote,
    TamperByLoginAlertNote,
    TestNote,
    DigestNote,
    LateNote,
    OpenInCloudTrail,
    SlackNoMfa,
}

pub fn phrase(language: Language, phrase: Phrase) -> &'static str {
    use Phrase::*;
    match language {
        Language::En => match phrase {
            Succeeded => "succeeded",
            Failed => "FAILED",
            ResultNotRecorded => "(result not recorded)",
            NotRecorded => "not recorded",
            UnknownIdentity => "unknown identity",
            MfaUsed => "used",
            MfaNotUsedWarning => "NOT used",
            MfaNotUsed => "not used",
            MfaAtIdentityProvider => "checked by the identity provider, not visible to AWS",
            MfaNotRecorded => "not recorded",
            MfaNoneInRootSession => {
                "none: a root session opened with sts:AssumeRoot has no MFA of its own"
            }
            MfaCallerSessionWithout => "not used in the caller's session",
            SecurityKey => "security key or passkey (FIDO)",
            AuthenticatorApp => "authenticator app (virtual MFA device)",
            HardwareToken => "hardware TOTP token",
            NoMfaWarning => {
                "WARNING: this sign-in did not use MFA. Enable MFA for this user (IAM > Users > Security credentials)."
            }
            RootNote => {
                "The root user should almost never be used. If this was not you or a colleague, act now."
            }
            RootSessionNote => {
                "This is a root session opened from the management account with sts:AssumeRoot: no root password and no root MFA were used. Check that the task was planned."
            }
            MaybeRootSessionNote => {
                "No MFA is recorded for this session. If the root user of this account has no password (centralized root access), this is a root session opened from the management account with sts:AssumeRoot."
            }
            AssumeRootNote => {
                "A principal of the management account (or the delegated administrator) opened a root session in a member account. The session lasts at most 15 minutes and can do only what its task policy allows."
            }
            TamperNote => {
                "This change can stop login-alert from seeing sign-ins and root activity. If nobody planned it, treat it as an attack: find out who made it and restore the pipeline with `login-alert apply`."
            }
            TamperByLoginAlertNote => {
                "The request came from login-alert itself (`login-alert apply` or `destroy`). If you ran it, nothing needs doing."
            }
            TestNote => {
                "This is a test sent by `login-alert test` through the live pipeline. Nothing happened in the account."
            }
            DigestNote => {
                "These records arrived after the group's last alert, within its quiet window; this digest summarises them once."
            }
            LateNote => {
                "Delivered late: EventBridge did not deliver this event, so login-alert found it in CloudTrail's event history, minutes after it happened."
            }
            OpenInCloudTrail => "Open in CloudTrail",
            SlackNoMfa => "No MFA on this sign-in: enable MFA for this user.",
        },
        Language::Ja => match phrase {
            Succeeded => "成功",
            Failed => "失敗",
            ResultNotRecorded => "（結果の記録なし）",
            NotRecorded => "記録なし",
            UnknownIdentity => "不明なユーザー",
            MfaUsed => "使用",
            MfaNotUsedWarning => "未使用（要注意）",
            MfaNotUsed => "未使用",
            MfaAtIdentityProvider => "IDプロバイダー側で確認（AWSからは見えません）",
            MfaNotRecorded => "記録なし",
            MfaNoneInRootSession => {
                "なし（sts:AssumeRootで開いたルートセッションには独自のMFAがありません）"
            }
            MfaCallerSessionWithout => "実行者のセッションでは未使用",
            SecurityKey => "セキュリティキーまたはパスキー（FIDO）",
            AuthenticatorApp => "認証アプリ（仮想MFAデバイス）",
            HardwareToken => "ハードウェアTOTPトークン",
            NoMfaWarning => {
                "警告: このサインインではMFAが使われていません。このユーザーのMFAを有効にしてください（IAM > ユーザー > セキュリティ認証情報）。"
            }
            RootNote => {
                "ルートユーザーは原則として使用しないものです。ご自身や同僚による操作でなければ、すぐに対応してください。"
            }
            RootSessionNote => {
                "これは管理アカウントから sts:AssumeRoot で開かれたルートセッションです。ルートユーザーのパスワードもMFAも使われていません。予定された作業か確認してください。"
            }
            MaybeRootSessionNote => {
                "このセッションではMFAが記録されていません。このアカウントのルートユーザーにパスワードがない場合（ルートアクセスの一元管理）、これは管理アカウントから sts:AssumeRoot で開かれたルートセッションです。"
            }
            AssumeRootNote => {
                "管理アカウント（または委任管理者）のプリンシパルがメンバーアカウントのルートセッションを開きました。セッションは最長15分で、タスクポリシーが許す操作だけができます。"
            }
            TamperNote => {
                "この変更により、login-alert がサインインやルートユーザーの操作を検知できなくなるおそれがあります。予定にない変更であれば攻撃として扱い、実行者を確認して `login-alert apply` で復旧してください。"
            }
            TamperByLoginAlertNote => {
                "この操作は login-alert 自身（`login-alert apply` または `destroy`）によるものです。ご自身で実行したものであれば対応は不要です。"
            }
            TestNote => {
                "これは `login-alert test` が実際の通知経路に流したテストです。アカウントでは何も起きていません。"
            }
            DigestNote => {
                "以下は、このグループの前回の通知の後、通知を控える時間内に届いた記録のまとめです。"
            }
            LateNote => {
                "遅延通知: EventBridge がこのイベントを配信しなかったため、login-alert が CloudTrail のイベント履歴から数分遅れで見つけました。"
            }
            OpenInCloudTrail => "CloudTrailで開く",
            SlackNoMfa => "このサインインではMFAが使われていません。MFAを有効にしてください。",
        },
    }
}

/// The closing line of every email.
pub fn footer(language: Language, scope: Scope) -> &'static str {
    match (language, scope) {
        (Language::En, Scope::All) => {
            "Sent by login-alert (scope: all console sign-ins + root activity)."
        }
        (Language::En, Scope::FailuresAndRoot) => {
            "Sent by login-alert (scope: failed sign-ins + root activity)."
        }
        (Language::En, Scope::RootOnly) => "Sent by login-alert (scope: root activity only).",
        (Language::Ja, Scope::All) => {
            "login-alert より送信（通知対象: すべてのコンソールサインインとルートユーザーの操作）。"
        }
        (Language::Ja, Scope::FailuresAndRoot) => {
            "login-alert より送信（通知対象: 失敗したサインインとルートユーザーの操作）。"
        }
        (Language::Ja, Scope::RootOnly) => {
            "login-alert より送信（通知対象: ルートユーザーの操作のみ）。"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_english_footer_names_the_scope_as_prompts_do() {
        for scope in Scope::ALL {
            assert_eq!(
                footer(Language::En, scope),
                format!("Sent by login-alert (scope: {}).", scope.describe())
            );
        }
    }
}
