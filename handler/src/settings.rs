//! The handler's configuration: account name, time zone and scope, from the Lambda environment or the CLI.

use chrono_tz::Tz;

use crate::error::SettingsError;
use crate::{ENV_ACCOUNT_NAME, ENV_SCOPE, ENV_TIMEZONE, Scope};

/// How messages are worded and which records send one.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Shown in subjects (`[prod] …`); the record's account ID when absent.
    pub account_name: Option<String>,
    /// Times are shown in this zone and in UTC.
    pub timezone: Tz,
    pub scope: Scope,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            account_name: None,
            timezone: Tz::UTC,
            scope: Scope::All,
        }
    }
}

impl Settings {
    /// Reads `LOGIN_ALERT_ACCOUNT_NAME`, `LOGIN_ALERT_TIMEZONE` and `LOGIN_ALERT_SCOPE`; unset or empty means the default.
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
            Some(value) => value.parse().map_err(|message| SettingsError::Scope {
                var: ENV_SCOPE,
                message,
            })?,
            None => Scope::All,
        };
        Ok(Settings {
            account_name: get(ENV_ACCOUNT_NAME),
            timezone,
            scope,
        })
    }
}

/// An IANA zone name (`Asia/Tokyo`, `UTC`).
pub fn parse_timezone(name: &str) -> Option<Tz> {
    name.trim().parse::<Tz>().ok()
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
            _ => None,
        })
        .unwrap();
        assert_eq!(settings.timezone, Tz::Asia__Tokyo);
        assert_eq!(settings.scope, Scope::RootOnly);
        assert_eq!(settings.account_name.as_deref(), Some("prod"));
        let err =
            Settings::from_lookup(|name| (name == ENV_TIMEZONE).then(|| "Mars/Olympus".into()))
                .unwrap_err();
        assert!(err.to_string().contains("Asia/Tokyo"), "{err}");
        let err =
            Settings::from_lookup(|name| (name == ENV_SCOPE).then(|| "some".into())).unwrap_err();
        assert!(err.to_string().contains("failures-and-root"), "{err}");
    }
}
