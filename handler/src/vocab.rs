//! The handler's shared vocabulary, below every module that uses it: the alert scope, the message language, the
//! `ENV_*` names the Lambda is configured by and the application name its requests carry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The application name the CLI gives its SDK clients: every request it makes carries `app/login-alert` in the
/// user agent that CloudTrail records, so a change login-alert made to its own resources can be told apart.
pub const APP_NAME: &str = "login-alert";

/// Environment variable: the name shown in messages for the home account (e.g. `prod`).
pub const ENV_ACCOUNT_NAME: &str = "LOGIN_ALERT_ACCOUNT_NAME";
/// Environment variable: IANA time zone for message times (e.g. `Asia/Tokyo`).
pub const ENV_TIMEZONE: &str = "LOGIN_ALERT_TIMEZONE";
/// Environment variable: the alert scope (`all`, `failures-and-root`, `root-only`).
pub const ENV_SCOPE: &str = "LOGIN_ALERT_SCOPE";
/// Environment variable: the language of messages (`en`, `ja`; default `en`).
pub const ENV_LANGUAGE: &str = "LOGIN_ALERT_LANGUAGE";
/// Environment variable: the SNS topic ARN to publish to (absent = no email).
pub const ENV_TOPIC_ARN: &str = "LOGIN_ALERT_TOPIC_ARN";
/// Environment variable: the SSM parameter name holding the Slack webhook URL (absent = no Slack).
pub const ENV_SLACK_PARAMETER: &str = "LOGIN_ALERT_SLACK_PARAMETER";
/// Environment variable: the SSM parameter name holding a Microsoft Teams Workflows webhook URL (absent = no Teams).
pub const ENV_TEAMS_PARAMETER: &str = "LOGIN_ALERT_TEAMS_PARAMETER";
/// Environment variable: the SSM parameter name holding a generic JSON webhook URL (absent = none).
pub const ENV_WEBHOOK_PARAMETER: &str = "LOGIN_ALERT_WEBHOOK_PARAMETER";
/// Environment variable: the DynamoDB state table (absent = no state across invocations: records are grouped
/// within one invocation only and nothing is deduplicated).
pub const ENV_STATE_TABLE: &str = "LOGIN_ALERT_STATE_TABLE";
/// Environment variable: minutes a group that alerted stays quiet, its later records summarised (default 15).
pub const ENV_GROUP_WINDOW_MINUTES: &str = "LOGIN_ALERT_GROUP_WINDOW_MINUTES";
/// Environment variable: which sign-ins send a message (`all`, `unusual`; default `all`).
pub const ENV_ALERT_ON: &str = "LOGIN_ALERT_ALERT_ON";
/// Environment variable: days a network, browser or region stays in an identity's baseline (default 90).
pub const ENV_BASELINE_DAYS: &str = "LOGIN_ALERT_BASELINE_DAYS";
/// Environment variable: the configured resource-name prefix; changes to login-alert's own resources are tamper.
pub const ENV_NAME_PREFIX: &str = "LOGIN_ALERT_NAME_PREFIX";
/// Environment variable: the name of the trail the pipeline depends on.
pub const ENV_TRAIL_NAME: &str = "LOGIN_ALERT_TRAIL_NAME";
/// Environment variable: the trail's CloudWatch Logs group (CloudWatch Logs mode only).
pub const ENV_TRAIL_LOG_GROUP: &str = "LOGIN_ALERT_TRAIL_LOG_GROUP";
/// Environment variable: the regions whose CloudTrail event history the digest run reads (comma-separated; the CLI
/// sets it in `eventbridge` mode to the account's enabled regions). Absent or empty: no backfill (`history.rs`).
pub const ENV_HISTORY_REGIONS: &str = "LOGIN_ALERT_HISTORY_REGIONS";

/// Which records send an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Every console sign-in (success or failure), SwitchRole, other sign-in steps and root activity.
    #[default]
    All,
    /// Failed sign-ins and anything done by the root user.
    FailuresAndRoot,
    /// Only what the root user does (its sign-ins included).
    RootOnly,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::All, Scope::FailuresAndRoot, Scope::RootOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::All => "all",
            Scope::FailuresAndRoot => "failures-and-root",
            Scope::RootOnly => "root-only",
        }
    }

    /// One line a person understands, for prompts and help.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::All => "all console sign-ins + root activity",
            Scope::FailuresAndRoot => "failed sign-ins + root activity",
            Scope::RootOnly => "root activity only",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| {
                format!("unknown scope `{s}`: use one of all, failures-and-root, root-only")
            })
    }
}

/// The language of message bodies. Email subjects stay ASCII English whatever the language: SNS requires it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Ja,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::Ja];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ja => "ja",
        }
    }

    /// One line a person understands, for prompts and help.
    pub fn describe(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::Ja => "Japanese (日本語)",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Language {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::ALL
            .into_iter()
            .find(|language| language.as_str() == s.trim())
            .ok_or_else(|| format!("unknown language `{s}`: use en or ja"))
    }
}

/// Which sign-ins send a message (`alert_on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertOn {
    /// Every sign-in the scope covers.
    #[default]
    All,
    /// All but the usual: a successful non-root sign-in with MFA from a known network and browser is recorded,
    /// not sent.
    Unusual,
}

impl AlertOn {
    pub const ALL: [AlertOn; 2] = [AlertOn::All, AlertOn::Unusual];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertOn::All => "all",
            AlertOn::Unusual => "unusual",
        }
    }

    /// One line a person understands, for prompts and help.
    pub fn describe(self) -> &'static str {
        match self {
            AlertOn::All => "every sign-in",
            AlertOn::Unusual => {
                "only unusual sign-ins (new network or browser, no MFA, failures, root)"
            }
        }
    }
}

impl fmt::Display for AlertOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AlertOn::ALL
            .into_iter()
            .find(|a| a.as_str() == s.trim())
            .ok_or_else(|| format!("unknown alert_on `{s}`: use all or unusual"))
    }
}
