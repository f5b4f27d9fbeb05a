//! The login-alert Lambda handler as a library: parse, classify, format and deliver sign-in alerts.
//!
//! The CLI shares this crate: `login-alert preview` runs the same code the Lambda runs, and the
//! provisioner uses the `ENV_*` names below to configure the function.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub mod classify;
pub mod deliver;
pub mod error;
pub mod format;
pub mod handler;
pub mod input;
mod lenient;
pub mod limits;
pub mod log;
pub mod preview;
pub mod record;
pub mod settings;

pub use classify::{Finding, Kind, Severity};
pub use deliver::{AwsDelivery, Deliver, SlackWebhook};
pub use error::{DeliveryError, HandlerError, InputError, RecordError, SettingsError};
pub use handler::{Outcome, handle, render_alerts};
pub use input::{Shape, for_each_record};
pub use preview::{Preview, PreviewError, PreviewFormat, PreviewSummary, preview, preview_to};
pub use record::Record;
pub use settings::Settings;

/// Environment variable: the name shown in messages (e.g. `prod`).
pub const ENV_ACCOUNT_NAME: &str = "LOGIN_ALERT_ACCOUNT_NAME";
/// Environment variable: IANA time zone for message times (e.g. `Asia/Tokyo`).
pub const ENV_TIMEZONE: &str = "LOGIN_ALERT_TIMEZONE";
/// Environment variable: the alert scope (`all`, `failures-and-root`, `root-only`).
pub const ENV_SCOPE: &str = "LOGIN_ALERT_SCOPE";
/// Environment variable: the SNS topic ARN to publish to (absent = no email).
pub const ENV_TOPIC_ARN: &str = "LOGIN_ALERT_TOPIC_ARN";
/// Environment variable: the SSM parameter name holding the Slack webhook URL (absent = no Slack).
pub const ENV_SLACK_PARAMETER: &str = "LOGIN_ALERT_SLACK_PARAMETER";

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
