//! The handler's configuration: names, time zone, scope, language, grouping window and what the pipeline is
//! made of, from the Lambda environment or the CLI.

use std::collections::BTreeMap;

use chrono_tz::Tz;

use crate::error::SettingsError;
use crate::vocab::{
    AlertOn, ENV_ACCOUNT_NAME, ENV_ALERT_ON, ENV_BASELINE_DAYS, ENV_GROUP_WINDOW_MINUTES,
    ENV_LANGUAGE, ENV_NAME_PREFIX, ENV_SCOPE, ENV_TIMEZONE, ENV_TRAIL_LOG_GROUP, ENV_TRAIL_NAME,
    Language, Scope,
};

/// The grouping window when none is configured.
pub const DEFAULT_GROUP_WINDOW_MINUTES: u32 = 15;
/// A window longer than a day would hide a new storm for too long; the CLI validates the same bound.
pub const MAX_GROUP_WINDOW_MINUTES: u32 = 24 * 60;
/// How long a network, browser or region stays known after it was last seen, when none is configured.
pub const DEFAULT_BASELINE_DAYS: u32 = 90;
/// The longest baseline the CLI and the function accept: a year and a month.
pub const MAX_BASELINE_DAYS: u32 = 400;

/// How messages are worded and which records send one.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The name of the home account (`[prod] …`), used when `account_names` does not name the account.
    pub account_name: Option<String>,
    /// The home account's ID, when known (the Lambda learns it from its own ARN): `account_name` names only it.
    pub home_account: Option<String>,
    /// Account ID -> name, for organization trails (read from the state table, or the config in `preview`).
    pub account_names: BTreeMap<String, String>,
    /// Times are shown in this zone and in UTC.
    pub timezone: Tz,
    pub scope: Scope,
    pub language: Language,
    /// A group that alerted stays quiet this long; its later records are summarised in a digest.
    pub group_window_minutes: u32,
    /// Which sign-ins send a message: all, or only the unusual ones (see `baseline`).
    pub alert_on: AlertOn,
    /// Days a network, browser or region stays in an identity's baseline after it was last seen.
    pub baseline_days: u32,
    pub pipeline: Pipeline,
    /// The records come from CloudTrail's event history, not the live path (`history.rs`): each message says it
    /// is delivered late.
    pub delivered_late: bool,
}

/// What login-alert's own pipeline is made of, so that changes to it are recognised as tampering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pipeline {
    /// Every resource login-alert creates is named from this prefix.
    pub name_prefix: Option<String>,
    /// The trail the pipeline reads.
    pub trail_name: Option<String>,
    /// The trail's CloudWatch Logs group (CloudWatch Logs mode).
    pub trail_log_group: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            account_name: None,
            home_account: None,
            account_names: BTreeMap::new(),
            timezone: Tz::UTC,
            scope: Scope::All,
            language: Language::En,
            group_window_minutes: DEFAULT_GROUP_WINDOW_MINUTES,
            alert_on: AlertOn::All,
            baseline_days: DEFAULT_BASELINE_DAYS,
            pipeline: Pipeline::default(),
            delivered_late: false,
        }
    }
}

impl Settings {
    /// Reads the `LOGIN_ALERT_*` settings from the environment; unset or empty means the default.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let timezone = match get(ENV_TIMEZONE) {
            Some(value) => parse_timezone(&value).ok_or(SettingsError::TimeZone {
                var: ENV_TIMEZONE,
                value,
            })?,
            None => Tz::UTC,
        };
        let scope = match get(ENV_SCOPE) {
            Some(value) => value.parse().map_err(|message| SettingsError::Invalid {
                var: ENV_SCOPE,
                message,
            })?,
            None => Scope::All,
        };
        let language = match get(ENV_LANGUAGE) {
            Some(value) => value.parse().map_err(|message| SettingsError::Invalid {
                var: ENV_LANGUAGE,
                message,
            })?,
            None => Language::En,
        };
        let group_window_minutes = match get(ENV_GROUP_WINDOW_MINUTES) {
            Some(value) => parse_window(&value).map_err(|message| SettingsError::Invalid {
                var: ENV_GROUP_WINDOW_MINUTES,
                message,
            })?,
            None => DEFAULT_GROUP_WINDOW_MINUTES,
        };
        let alert_on = match get(ENV_ALERT_ON) {
            Some(value) => value.parse().map_err(|message| SettingsError::Invalid {
                var: ENV_ALERT_ON,
                message,
            })?,
            None => AlertOn::All,
        };
        let baseline_days = match get(ENV_BASELINE_DAYS) {
            Some(value) => parse_days(&value).map_err(|message| SettingsError::Invalid {
                var: ENV_BASELINE_DAYS,
                message,
            })?,
            None => DEFAULT_BASELINE_DAYS,
        };
        Ok(Settings {
            account_name: get(ENV_ACCOUNT_NAME),
            home_account: None,
            account_names: BTreeMap::new(),
            timezone,
            scope,
            language,
            group_window_minutes,
            alert_on,
            baseline_days,
            pipeline: Pipeline {
                name_prefix: get(ENV_NAME_PREFIX),
                trail_name: get(ENV_TRAIL_NAME),
                trail_log_group: get(ENV_TRAIL_LOG_GROUP),
            },
            delivered_late: false,
        })
    }

    /// The name to show for `account_id`: the configured name of that account, else the home account's name
    /// (for the home account, or for every account when the home account is not known).
    pub fn account_name_of(&self, account_id: Option<&str>) -> Option<&str> {
        if let Some(name) = account_id.and_then(|id| self.account_names.get(id)) {
            return Some(name);
        }
        match (&self.home_account, account_id) {
            (Some(home), Some(id)) if home != id => None,
            _ => self.account_name.as_deref(),
        }
    }

    pub fn group_window(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::minutes(i64::from(self.group_window_minutes))
    }
}

/// An IANA zone name (`Asia/Tokyo`, `UTC`).
pub fn parse_timezone(name: &str) -> Option<Tz> {
    name.trim().parse::<Tz>().ok()
}

/// A whole number of minutes between 1 and a day.
pub fn parse_window(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(minutes) if (1..=MAX_GROUP_WINDOW_MINUTES).contains(&minutes) => Ok(minutes),
        _ => Err(format!(
            "`{value}` is not a grouping window: use a whole number of minutes from 1 to {MAX_GROUP_WINDOW_MINUTES} (default {DEFAULT_GROUP_WINDOW_MINUTES})"
        )),
    }
}

/// A whole number of days between 1 and `MAX_BASELINE_DAYS`.
pub fn parse_days(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(days) if (1..=MAX_BASELINE_DAYS).contains(&days) => Ok(days),
        _ => Err(format!(
            "`{value}` is not a baseline length: use a whole number of days from 1 to {MAX_BASELINE_DAYS} (default {DEFAULT_BASELINE_DAYS})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_defaults_and_errors() {
        let settings = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(settings, Settings::default());
        let settings = Settings::from_lookup(|name| match name {
            ENV_TIMEZONE => Some("Asia/Tokyo".into()),
            ENV_SCOPE => Some("root-only".into()),
            ENV_ACCOUNT_NAME => Some(" prod ".into()),
            ENV_LANGUAGE => Some("ja".into()),
            ENV_GROUP_WINDOW_MINUTES => Some("30".into()),
            ENV_NAME_PREFIX => Some("la".into()),
            ENV_ALERT_ON => Some("unusual".into()),
            ENV_BASELINE_DAYS => Some("30".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(settings.timezone, Tz::Asia__Tokyo);
        assert_eq!(settings.scope, Scope::RootOnly);
        assert_eq!(settings.account_name.as_deref(), Some("prod"));
        assert_eq!(settings.language, Language::Ja);
        assert_eq!(settings.group_window_minutes, 30);
        assert_eq!(settings.pipeline.name_prefix.as_deref(), Some("la"));
        assert_eq!(settings.alert_on, AlertOn::Unusual);
        assert_eq!(settings.baseline_days, 30);
        for (var, value, hint) in [
            (ENV_TIMEZONE, "Mars/Olympus", "Asia/Tokyo"),
            (ENV_SCOPE, "some", "failures-and-root"),
            (ENV_LANGUAGE, "fr", "en or ja"),
            (ENV_GROUP_WINDOW_MINUTES, "0", "1 to 1440"),
            (ENV_GROUP_WINDOW_MINUTES, "soon", "1 to 1440"),
            (ENV_ALERT_ON, "some", "all or unusual"),
            (ENV_BASELINE_DAYS, "0", "1 to 400"),
        ] {
            let err = Settings::from_lookup(|name| (name == var).then(|| value.to_owned()))
                .expect_err(value);
            let text = err.to_string();
            assert!(text.contains(hint) && text.contains(var), "{text}");
        }
    }

    #[test]
    fn the_home_name_never_labels_another_account_once_the_home_account_is_known() {
        let mut settings = Settings {
            account_name: Some("prod".into()),
            ..Settings::default()
        };
        settings
            .account_names
            .insert("222222222222".into(), "sandbox".into());
        assert_eq!(
            settings.account_name_of(Some("222222222222")),
            Some("sandbox")
        );
        assert_eq!(settings.account_name_of(Some("333333333333")), Some("prod"));
        settings.home_account = Some("111111111111".into());
        assert_eq!(settings.account_name_of(Some("111111111111")), Some("prod"));
        assert_eq!(settings.account_name_of(Some("333333333333")), None);
        assert_eq!(
            settings.account_name_of(Some("222222222222")),
            Some("sandbox")
        );
    }
}
