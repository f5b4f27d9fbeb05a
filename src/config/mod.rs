//! The desired settings (`login-alert.toml`): what they are and their defaults, loaded, saved and
//! validated before any AWS call. Each field's rule lives in `validate`, the file's handling in `file`.

mod file;
mod validate;

pub use file::{back_up, backup_path};
use file::{parse_error, read_bounded, write_private};
pub use validate::*;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use login_alert_handler::settings::{DEFAULT_BASELINE_DAYS, DEFAULT_GROUP_WINDOW_MINUTES};
use login_alert_handler::{AlertOn, Language, Scope};
use serde::{Deserialize, Serialize};

pub mod coverage;
pub use coverage::Coverage;
pub mod route;
pub use route::RouteConfig;

pub const DEFAULT_PREFIX: &str = "login-alert";
pub const DEFAULT_RETENTION_DAYS: i32 = 90;
/// The values CloudWatch Logs accepts for `retentionInDays`.
pub const RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
/// A config is a few hundred bytes (a few thousand emails fit in 100 KiB); the bound keeps
/// `--config /dev/zero`, or a wrong file, from filling memory.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the pipeline lives: the adopted trail's home region, or where a new trail is created.
    pub region: String,
    #[serde(default = "default_prefix")]
    pub name_prefix: String,
    /// Shown in alerts; `None` = the account ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default)]
    pub scope: Scope,
    /// The language of message bodies (email subjects stay English: SNS requires ASCII).
    #[serde(default, skip_serializing_if = "is_default_language")]
    pub language: Language,
    /// Minutes a group of records that alerted stays quiet; its later records are summarised once.
    #[serde(default = "default_window")]
    pub group_window_minutes: u32,
    /// Which sign-ins send a message: `all`, or `unusual` (a usual sign-in is recorded, not sent).
    #[serde(default, skip_serializing_if = "is_default_alert_on")]
    pub alert_on: AlertOn,
    /// Days a network, browser or region stays in an identity's baseline after it was last seen.
    #[serde(
        default = "default_baseline_days",
        skip_serializing_if = "is_default_baseline_days"
    )]
    pub baseline_days: u32,
    #[serde(default = "default_retention")]
    pub log_retention_days: i32,
    /// How events reach the function; a config without it keeps meaning CloudWatch Logs.
    #[serde(default, skip_serializing_if = "Route::is_default")]
    pub mode: Route,
    /// The CIS monitoring controls Security Hub checks (CloudWatch.1-14): metric filters on the
    /// trail's log group and alarms notifying the topic. CloudWatch Logs modes only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cis: bool,
    /// Which accounts alerts come from: this one, or every account of its organization.
    #[serde(default, skip_serializing_if = "Coverage::is_default")]
    pub coverage: Coverage,
    /// With `coverage = "organization"`: the organizational units (or the root) whose accounts
    /// are covered; empty means the organization's root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organization_units: Vec<String>,
    pub trail: TrailConfig,
    #[serde(default)]
    pub notify: NotifyConfig,
    /// Names of other accounts (12-digit ID -> name), for events an organization trail brings in.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub account_names: BTreeMap<String, String>,
    /// `[[route]]`: accounts (or units) whose alerts go to destinations of their own; `[notify]` takes the rest.
    #[serde(default, rename = "route", skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
}

/// How the trail's events reach the function (`mode` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// CloudWatch Logs, then a subscription filter: minutes, durable; every event is also kept in a log group.
    #[default]
    CloudwatchLogs,
    /// EventBridge rules in every enabled region: seconds, no log ingestion cost, best effort.
    Eventbridge,
    /// Both: EventBridge for speed, CloudWatch Logs as the durable backstop; the function alerts each
    /// event once (by its `eventID`, in the state table), whichever way reaches it first.
    Both,
}

impl Route {
    pub const ALL: [Route; 3] = [Route::CloudwatchLogs, Route::Eventbridge, Route::Both];

    pub fn as_str(self) -> &'static str {
        match self {
            Route::CloudwatchLogs => "cloudwatch-logs",
            Route::Eventbridge => "eventbridge",
            Route::Both => "both",
        }
    }

    fn is_default(&self) -> bool {
        *self == Route::default()
    }

    /// Whether the trail delivers to CloudWatch Logs and a subscription filter invokes the function.
    pub fn uses_logs(self) -> bool {
        self != Route::Eventbridge
    }

    /// Whether EventBridge rules invoke the function.
    pub fn uses_eventbridge(self) -> bool {
        self != Route::CloudwatchLogs
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailConfig {
    /// The existing trail to adopt (name or ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Create a trail of our own instead.
    #[serde(default)]
    pub create: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(default)]
    pub emails: Vec<String>,
    /// A secret: kept in this file (written 0600) and in SSM as a SecureString, never printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_webhook_url: Option<String>,
    /// A Microsoft Teams Workflows webhook URL: a secret, kept like the Slack one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams_webhook_url: Option<String>,
    /// A webhook that receives each alert as JSON: a secret, kept like the Slack one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
}

impl NotifyConfig {
    /// The webhook secrets the config holds, by field name (`notify.slack_webhook_url`, …).
    pub fn secrets(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("notify.slack_webhook_url", &self.slack_webhook_url),
            ("notify.teams_webhook_url", &self.teams_webhook_url),
            ("notify.webhook_url", &self.webhook_url),
        ]
        .into_iter()
        .filter_map(|(field, value)| Some((field, value.as_deref()?)))
    }
}

fn default_prefix() -> String {
    DEFAULT_PREFIX.into()
}
fn default_timezone() -> String {
    "UTC".into()
}
fn default_retention() -> i32 {
    DEFAULT_RETENTION_DAYS
}
fn default_window() -> u32 {
    DEFAULT_GROUP_WINDOW_MINUTES
}
fn default_baseline_days() -> u32 {
    DEFAULT_BASELINE_DAYS
}
fn is_default_baseline_days(days: &u32) -> bool {
    *days == DEFAULT_BASELINE_DAYS
}
fn is_default_alert_on(alert_on: &AlertOn) -> bool {
    *alert_on == AlertOn::default()
}
fn is_default_language(language: &Language) -> bool {
    *language == Language::default()
}

/// One thing wrong with the configuration: which field, what is wrong, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.problem, self.fix)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no config file at {path}: run `login-alert init` to write one, or pass --config PATH")]
    Missing { path: PathBuf },
    // `cause`, not `source`: the message already says it, a "caused by" line would repeat it.
    #[error("cannot read {path}: {cause} (check --config and the file's permissions)")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "{path} is larger than {} KiB, far more than a login-alert config holds: check that --config names the config file",
        MAX_CONFIG_BYTES / 1024
    )]
    TooLarge { path: PathBuf },
    #[error(
        "{path} is not a text file (it is not UTF-8): check that --config names the config file"
    )]
    NotText { path: PathBuf },
    #[error("{path}{}: {message}", line.map(|n| format!(" line {n}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("cannot write {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot write {path}: it is not a regular file; pass --config with the path of a file")]
    NotAFile { path: PathBuf },
    #[error("{}", invalid_message(.0))]
    Invalid(Vec<Problem>),
}

fn invalid_message(problems: &[Problem]) -> String {
    let mut out = String::from("the configuration is invalid:");
    for p in problems {
        out.push_str(&format!("\n  - {p}"));
    }
    out
}

impl Config {
    /// Reads and validates the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let config = Config::read(path)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads the file without validating its values (`init` offers them as defaults, and the answers fix them).
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let text = read_bounded(path)?;
        toml::from_str(&text).map_err(|err| parse_error(path, &text, &err))
    }

    /// Parses config text without validating it (tests build configs from TOML this way).
    #[cfg(test)]
    pub fn read_str(text: &str) -> Config {
        toml::from_str(text).expect("a test config parses")
    }

    /// Loads the file if it exists (for `preview` to take its settings).
    pub fn load_if_exists(path: &Path) -> Result<Option<Config>, ConfigError> {
        match Config::load(path) {
            Ok(config) => Ok(Some(config)),
            Err(ConfigError::Missing { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).expect("the config always serializes");
        format!(
            "# login-alert configuration: `login-alert plan` shows what it means for the account, `login-alert apply` makes it so.\n{body}"
        )
    }

    /// Writes the file, readable by its owner only from its first byte (it may hold the Slack webhook secret).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        write_private(path, &mut self.to_toml().as_bytes())
    }

    /// A warning when the file holds a secret (a webhook URL) and other users may read it.
    pub fn exposure(&self, path: &Path) -> Option<String> {
        let (field, _) = self
            .notify
            .secrets()
            .chain(self.routes.iter().flat_map(RouteConfig::secrets))
            .next()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
            if mode & 0o044 != 0 {
                let what = match field {
                    "notify.slack_webhook_url" => "the Slack webhook URL".to_owned(),
                    other => format!("a webhook URL ({other})"),
                };
                return Some(format!(
                    "{path} holds {what}, a secret, but its mode {mode:04o} lets other users read it: run `chmod 600 {path}`",
                    path = path.display()
                ));
            }
        }
        None
    }

    /// Every problem at once, so one edit fixes them all.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if let Err(p) = validate_region(&self.region) {
            problems.push(p);
        }
        if let Err(p) = validate_prefix(&self.name_prefix) {
            problems.push(p);
        }
        if let Err(p) = validate_mode(&self.region, self.mode) {
            problems.push(p);
        }
        if let Some(name) = &self.account_name
            && let Err(p) = validate_account_name(name)
        {
            problems.push(p);
        }
        if let Err(p) = validate_timezone(&self.timezone) {
            problems.push(p);
        }
        if let Err(p) = validate_retention(self.log_retention_days) {
            problems.push(p);
        }
        if let Err(p) = validate_window(self.group_window_minutes) {
            problems.push(p);
        }
        if let Err(p) = validate_baseline_days(self.baseline_days) {
            problems.push(p);
        }
        for (id, name) in &self.account_names {
            if let Err(p) = validate_named_account(id, name) {
                problems.push(p);
            }
        }
        // The names go into one DynamoDB item (with this account's name, under its 12-digit ID).
        let home = self
            .account_name
            .as_ref()
            .map(|name| ("123456789012", name.as_str()));
        let bytes = names_item_bytes(
            self.account_names
                .iter()
                .map(|(id, name)| (id.as_str(), name.as_str()))
                .chain(home),
        );
        if bytes > MAX_NAMES_ITEM_BYTES {
            problems.push(Problem {
                field: "account_names",
                problem: format!(
                    "{} names take {} KB in the account-names item, more than the {} KB DynamoDB stores in one item",
                    self.account_names.len(),
                    bytes.div_ceil(1024),
                    MAX_NAMES_ITEM_BYTES / 1024
                ),
                fix: "keep the names of the accounts people sign in to, or shorten them; an alert shows an account \
                      without a name by its ID"
                    .into(),
            });
        }
        match (&self.trail.name, self.trail.create) {
            (Some(_), true) => problems.push(Problem {
                field: "trail",
                problem: "both `name` and `create = true` are set".into(),
                fix: "keep `name` to adopt that trail, or `create = true` to make a new one, not both".into(),
            }),
            (None, false) => problems.push(Problem {
                field: "trail",
                problem: "no trail chosen".into(),
                fix: "set trail.name to the trail to adopt (see `aws cloudtrail describe-trails`), or trail.create = true"
                    .into(),
            }),
            (Some(name), false) => {
                if let Err(p) = validate_trail_name(name) {
                    problems.push(p);
                }
            }
            (None, true) => {}
        }
        for email in &self.notify.emails {
            if let Err(p) = validate_email(email) {
                problems.push(p);
            }
        }
        if let Some(url) = &self.notify.slack_webhook_url
            && let Err(p) = validate_slack_webhook(url)
        {
            problems.push(p);
        }
        if let Some(url) = &self.notify.teams_webhook_url
            && let Err(p) = validate_teams_webhook(url)
        {
            problems.push(p);
        }
        if let Some(url) = &self.notify.webhook_url
            && let Err(p) = validate_webhook(url)
        {
            problems.push(p);
        }
        if self.cis && !self.mode.uses_logs() {
            problems.push(Problem {
                field: "cis",
                problem: "cis = true needs the trail's events in a CloudWatch Logs log group (the controls are metric filters \
                          on it), but mode = \"eventbridge\" sends them to EventBridge only"
                    .into(),
                fix: "set mode = \"both\" (EventBridge for speed, CloudWatch Logs for the controls) or mode = \"cloudwatch-logs\", \
                      or remove cis = true"
                    .into(),
            });
        }
        problems.extend(coverage::validate(self.coverage, &self.organization_units));
        problems.extend(route::validate(&self.routes, self.coverage));
        if self.notify.emails.is_empty() && self.notify.secrets().next().is_none() {
            problems.push(Problem {
                field: "notify",
                problem: "nobody would be told: no email and no webhook".into(),
                fix: "add notify.emails = [\"you@example.com\"], or notify.slack_webhook_url, notify.teams_webhook_url or notify.webhook_url".into(),
            });
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

fn is_false(b: &bool) -> bool {
    !b
}

/// The config tests start from: adopt trail `audit` in `region`, the default prefix, nobody notified yet; a
/// test states only the fields it is about (`Config { scope, ..sample(region) }`). The integration tests
/// reach it through the `test-support` feature.
#[cfg(any(test, feature = "test-support"))]
pub fn sample(region: &str) -> Config {
    Config {
        region: region.into(),
        name_prefix: DEFAULT_PREFIX.into(),
        account_name: None,
        timezone: "UTC".into(),
        scope: Scope::default(),
        log_retention_days: 90,
        language: Default::default(),
        group_window_minutes: DEFAULT_GROUP_WINDOW_MINUTES,
        alert_on: AlertOn::default(),
        baseline_days: DEFAULT_BASELINE_DAYS,
        account_names: Default::default(),
        mode: Route::default(),
        trail: TrailConfig {
            name: Some("audit".into()),
            create: false,
        },
        cis: false,
        coverage: Coverage::default(),
        organization_units: Vec::new(),
        notify: NotifyConfig::default(),
        routes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Config {
        Config {
            region: "us-east-1".into(),
            name_prefix: DEFAULT_PREFIX.into(),
            account_name: Some("prod".into()),
            timezone: "Asia/Tokyo".into(),
            scope: Scope::All,
            log_retention_days: 90,
            language: Default::default(),
            group_window_minutes: 15,
            alert_on: AlertOn::All,
            baseline_days: 90,
            account_names: Default::default(),
            mode: Default::default(),
            trail: TrailConfig {
                name: Some("audit-trail".into()),
                create: false,
            },
            cis: false,
            coverage: Coverage::default(),
            organization_units: Vec::new(),
            notify: NotifyConfig {
                emails: vec!["secops@example.com".into()],
                slack_webhook_url: None,
                teams_webhook_url: None,
                webhook_url: None,
            },
            routes: Vec::new(),
        }
    }

    fn problems(config: &Config) -> Vec<Problem> {
        match config.validate() {
            Ok(()) => vec![],
            Err(ConfigError::Invalid(p)) => p,
            Err(other) => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn a_complete_config_is_valid_and_round_trips_through_toml() {
        let config = valid();
        assert!(problems(&config).is_empty());
        let back: Config = toml::from_str(&config.to_toml()).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn eventbridge_modes_are_refused_where_events_cannot_cross_regions() {
        for region in [
            "cn-north-1",
            "cn-northwest-1",
            "us-gov-west-1",
            "us-gov-east-1",
        ] {
            for mode in [Route::Eventbridge, Route::Both] {
                let config = Config {
                    region: region.into(),
                    mode,
                    ..valid()
                };
                let found = problems(&config);
                assert_eq!(found.len(), 1, "{region} {}: {found:?}", mode.as_str());
                let text = found[0].to_string();
                assert!(
                    text.starts_with("mode: ")
                        && text.contains("cross-Region event routing is not supported")
                        && text.contains("mode = \"cloudwatch-logs\""),
                    "{text}"
                );
            }
            let logs = Config {
                region: region.into(),
                ..valid()
            };
            assert!(problems(&logs).is_empty(), "{region}");
        }
        for mode in Route::ALL {
            let config = Config {
                region: "ap-southeast-7".into(),
                mode,
                ..valid()
            };
            assert!(problems(&config).is_empty(), "{}", mode.as_str());
        }
    }

    #[test]
    fn cis_is_refused_in_eventbridge_mode_only_and_round_trips() {
        for (mode, refused) in [
            (Route::CloudwatchLogs, false),
            (Route::Both, false),
            (Route::Eventbridge, true),
        ] {
            let config = Config {
                cis: true,
                mode,
                ..valid()
            };
            let found = problems(&config);
            assert_eq!(found.iter().any(|p| p.field == "cis"), refused, "{mode:?}");
            if refused {
                assert!(found[0].problem.contains("mode = \"eventbridge\""));
                assert!(found[0].fix.contains("mode = \"both\""));
            }
        }
        let config = Config {
            cis: true,
            ..valid()
        };
        let text = config.to_toml();
        assert!(text.contains("cis = true"), "{text}");
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), config);
        // A config without the key keeps meaning no controls (and says nothing of them).
        assert!(!valid().to_toml().contains("cis"));
    }

    #[test]
    fn bad_values_name_their_field() {
        type Breakage = Box<dyn Fn(&mut Config)>;
        let cases: Vec<(&str, Breakage)> = vec![
            ("region", Box::new(|c| c.region = "us-east".into())),
            ("region", Box::new(|c| c.region = "US-EAST-1".into())),
            (
                "name_prefix",
                Box::new(|c| c.name_prefix = "Login_Alert".into()),
            ),
            (
                "name_prefix",
                Box::new(|c| c.name_prefix = "a-very-long-prefix-that-is-too-long".into()),
            ),
            (
                "name_prefix",
                Box::new(|c| c.name_prefix = "aws-alerts".into()),
            ),
            ("name_prefix", Box::new(|c| c.name_prefix = "-x".into())),
            (
                "account_name",
                Box::new(|c| c.account_name = Some("本番".into())),
            ),
            ("timezone", Box::new(|c| c.timezone = "Tokyo".into())),
            (
                "log_retention_days",
                Box::new(|c| c.log_retention_days = 10),
            ),
            ("trail", Box::new(|c| c.trail.create = true)),
            ("trail", Box::new(|c| c.trail.name = None)),
            (
                "trail.name",
                Box::new(|c| c.trail.name = Some("a b".into())),
            ),
            (
                "trail.name",
                Box::new(|c| c.trail.name = Some("arn:aws:s3:::bucket".into())),
            ),
            (
                "notify.emails",
                Box::new(|c| c.notify.emails = vec!["secops@".into()]),
            ),
            (
                "notify.slack_webhook_url",
                Box::new(|c| {
                    c.notify.slack_webhook_url = Some("http://hooks.slack.com/services/x".into())
                }),
            ),
            (
                "notify.slack_webhook_url",
                Box::new(|c| c.notify.slack_webhook_url = Some("https://example.com/hook".into())),
            ),
            ("notify", Box::new(|c| c.notify.emails.clear())),
            (
                "group_window_minutes",
                Box::new(|c| c.group_window_minutes = 0),
            ),
            (
                "group_window_minutes",
                Box::new(|c| c.group_window_minutes = 1441),
            ),
            ("baseline_days", Box::new(|c| c.baseline_days = 0)),
            ("baseline_days", Box::new(|c| c.baseline_days = 401)),
            (
                "account_names",
                Box::new(|c| {
                    c.account_names
                        .insert("12345678901".into(), "short-id".into());
                }),
            ),
            (
                "account_names",
                Box::new(|c| {
                    c.account_names
                        .insert("123456789012".into(), "サンドボックス".into());
                }),
            ),
            (
                "notify.teams_webhook_url",
                Box::new(|c| {
                    c.notify.teams_webhook_url =
                        Some("http://prod.westus.logic.azure.com/workflows/x".into())
                }),
            ),
            (
                "notify.webhook_url",
                Box::new(|c| c.notify.webhook_url = Some("not a url".into())),
            ),
        ];
        for (field, break_it) in cases {
            let mut config = valid();
            break_it(&mut config);
            let found = problems(&config);
            assert!(
                found.iter().any(|p| p.field == field),
                "expected a problem with {field}, got {found:?}"
            );
        }
    }

    #[test]
    fn the_alert_settings_default_round_trip_and_name_their_fix() {
        let config: Config = toml::from_str(
            "region = \"us-east-1\"\n[trail]\ncreate = true\n[notify]\nemails = [\"a@example.com\"]\n",
        )
        .unwrap();
        assert_eq!(config.language, Language::En);
        assert_eq!(config.group_window_minutes, 15);
        assert!(config.account_names.is_empty());
        // Defaults are not written out, so an old config stays as it was.
        assert!(!config.to_toml().contains("language"));

        let mut config = valid();
        config.language = Language::Ja;
        config.group_window_minutes = 60;
        config
            .account_names
            .insert("210987654321".into(), "sandbox".into());
        config.notify.emails.clear();
        config.notify.teams_webhook_url =
            Some("https://prod-00.westus.logic.azure.com/workflows/abc/triggers/manual".into());
        config.notify.webhook_url = Some("https://alerts.example.com/hook".into());
        assert!(
            problems(&config).is_empty(),
            "a Teams webhook alone notifies"
        );
        let text = config.to_toml();
        assert!(text.contains("language = \"ja\""), "{text}");
        assert!(
            text.contains("[account_names]\n210987654321 = \"sandbox\""),
            "{text}"
        );
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, config);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        for (text, expected) in [
            ("language = \"fr\"", "`fr` is not an allowed value"),
            (
                "group_window_minutes = -5",
                "expected a whole number (minutes such as 15, or days such as 90)",
            ),
            (
                "account_names = 1",
                "expected the table [account_names] of \"123456789012\" = \"name\" entries",
            ),
            (
                "[notify]\nteams_webhok_url = \"x\"",
                "the nearest known field is `teams_webhook_url`",
            ),
        ] {
            std::fs::write(
                &path,
                format!("region = \"us-east-1\"\n{text}\n[trail]\ncreate = true\n"),
            )
            .unwrap();
            let err = Config::read(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn the_other_webhook_secrets_are_never_echoed_and_make_the_file_private() {
        let secret = "http://prod.logic.azure.com/workflows/SECRET";
        for problem in [
            validate_teams_webhook(secret).unwrap_err(),
            validate_webhook(secret).unwrap_err(),
        ] {
            assert!(!problem.to_string().contains("SECRET"), "{problem}");
            assert!(problem.problem.contains("must use https"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("login-alert.toml");
            let mut config = valid();
            config.notify.webhook_url = Some("https://alerts.example.com/hook".into());
            config.save(&path).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let warning = config.exposure(&path).unwrap();
            assert!(
                warning.contains("a webhook URL (notify.webhook_url)"),
                "{warning}"
            );
            assert!(!warning.contains("alerts.example.com"));
        }
    }

    #[test]
    fn routes_round_trip_with_their_secrets_and_keep_the_file_private() {
        let text = "region = \"us-east-1\"\ncoverage = \"organization\"\n[trail]\nname = \"org-trail\"\n\
                    [notify]\nemails = [\"secops@example.com\"]\n\
                    [[route]]\nname = \"payments\"\naccounts = [\"111111111111\"]\nunits = [\"ou-ab12-34cd56ef\"]\n\
                    [route.notify]\nemails = [\"pay@example.com\"]\nslack_webhook_url = \"https://hooks.slack.com/services/T0/B0/SECRET\"\n\
                    [[route]]\nname = \"data\"\naccounts = [\"222222222222\"]\n\
                    [route.notify]\nwebhook_url = \"https://alerts.example.com/data-hook\"\n";
        let config: Config = toml::from_str(text).unwrap();
        assert!(problems(&config).is_empty(), "{:?}", problems(&config));
        assert_eq!(config.routes.len(), 2);
        assert_eq!(config.routes[0].units, ["ou-ab12-34cd56ef"]);
        let back: Config = toml::from_str(&config.to_toml()).unwrap();
        assert_eq!(back, config, "{}", config.to_toml());
        // A route's secret alone makes a readable file worth a warning, named by its field, never shown.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("login-alert.toml");
            let mut routed = config.clone();
            routed.routes.remove(0);
            routed.save(&path).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let warning = routed.exposure(&path).unwrap();
            assert!(warning.contains("route.notify.webhook_url"), "{warning}");
            assert!(!warning.contains("data-hook"), "{warning}");
        }
    }

    #[test]
    fn a_route_problem_is_reported_with_the_others() {
        let mut config = valid();
        config.routes.push(RouteConfig {
            name: "team".into(),
            accounts: vec!["12".into()],
            ..RouteConfig::default()
        });
        let text: Vec<String> = problems(&config).iter().map(ToString::to_string).collect();
        let text = text.join("\n");
        assert!(
            text.contains("route: route `team`: `12` is not an AWS account ID"),
            "{text}"
        );
        assert!(text.contains("route `team` has no destination"), "{text}");
    }

    #[test]
    fn a_trail_arn_is_accepted() {
        assert!(
            validate_trail_name("arn:aws:cloudtrail:eu-west-1:123456789012:trail/audit").is_ok()
        );
    }

    #[test]
    fn the_webhook_secret_is_never_echoed_in_problems() {
        let secret = "https://example.com/services/T000/B000/SECRET";
        let problem = validate_slack_webhook(secret).unwrap_err();
        assert!(!problem.to_string().contains("SECRET"));
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "region = \"us-east-1\"\nregoin = 1\n[trail]\ncreate = true\n",
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("regoin"), "{err}");
    }

    #[test]
    fn a_parse_error_never_quotes_a_line_that_may_hold_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let head = "region = \"us-east-1\"\n[trail]\ncreate = true\n[notify]\n";
        for (shape, body, line) in [
            ("quotes forgotten", "webhook_url = https://a.io/SECRET\n", 5),
            (
                "quotes forgotten, Slack",
                "slack_webhook_url = https://hooks.slack.com/services/T0/B0/SECRET\n",
                5,
            ),
            (
                "quotes forgotten, Teams",
                "teams_webhook_url = https://x.webhook.office.com/SECRET\n",
                5,
            ),
            ("a list", "webhook_url = [\"https://a.io/SECRET\"]\n", 5),
            (
                "a list over lines",
                "webhook_url = [\n  https://a.io/SECRET,\n]\n",
                6,
            ),
            (
                "a table",
                "[notify.webhook_url]\nurl = \"https://a.io/SECRET\"\n",
                5,
            ),
            (
                "an inline table",
                "webhook_url = { url = \"https://a.io/SECRET\" }\n",
                5,
            ),
            (
                "a misspelt key",
                "slack_webhok_url = \"https://a.io/SECRET\"\n",
                5,
            ),
            ("a quoted URL as key", "\"https://a.io/SECRET\" = 1\n", 5),
            ("a line without a key", "https://a.io/SECRET\n", 5),
            ("a token", "api_token = SECRETSECRET\n", 5),
        ] {
            std::fs::write(&path, format!("{head}{body}")).unwrap();
            let err = Config::read(&path).unwrap_err().to_string();
            assert!(!err.contains("SECRET"), "{shape}: {err}");
            assert!(
                err.contains(&format!("line {line}")) || err.contains("line 4"),
                "{shape}: {err}"
            );
            assert!(err.contains("correct"), "{shape}: {err}");
        }
        // A line without a secret is still quoted where toml does not name what it found.
        std::fs::write(&path, "region = \"us-east-1\"\nregion = \"us-east-2\"\n").unwrap();
        let err = Config::read(&path).unwrap_err().to_string();
        assert!(err.contains("(at `region`)"), "{err}");
    }

    #[test]
    fn an_unknown_field_is_named_with_its_line_and_the_nearest_known_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "region = \"us-east-1\"\n[trail]\ncreate = true\n[notify]\nemial = [\"a@example.com\"]\n",
        )
        .unwrap();
        let err = Config::read(&path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{} line 5: unknown field `emial` (the nearest known field is `emails`): correct or remove it; the fields here are emails, slack_webhook_url, teams_webhook_url, webhook_url",
                path.display()
            )
        );
    }

    #[test]
    fn the_file_is_read_only_up_to_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.toml");
        std::fs::write(&path, vec![b'#'; MAX_CONFIG_BYTES as usize + 1]).unwrap();
        assert!(matches!(
            Config::read(&path),
            Err(ConfigError::TooLarge { .. })
        ));
        // Exactly at the bound is still read (and is a comment, so `region` is missing).
        std::fs::write(&path, vec![b'#'; MAX_CONFIG_BYTES as usize]).unwrap();
        assert!(matches!(
            Config::read(&path),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn saving_writes_owner_only_through_a_temporary_file_and_leaves_nothing_else() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("login-alert.toml");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let backup = back_up(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), "old");
        assert_eq!(mode(&backup), 0o600);

        let mut config = valid();
        config.notify.slack_webhook_url =
            Some("https://hooks.slack.com/services/T/B/SECRET".into());
        config.save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(Config::load(&path).unwrap(), config);
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["login-alert.toml", "login-alert.toml.bak"]);
        assert_eq!(config.exposure(&path), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o604)).unwrap();
        assert!(
            config
                .exposure(&path)
                .unwrap()
                .contains("its mode 0604 lets other users read it: run `chmod 600")
        );
        config.notify.slack_webhook_url = None;
        assert_eq!(
            config.exposure(&path),
            None,
            "no secret, nothing to warn about"
        );

        // A symlink is written through; a device is never replaced.
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        config.save(&link).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(matches!(
            config.save(Path::new("/dev/null")),
            Err(ConfigError::NotAFile { .. })
        ));
    }

    #[test]
    fn a_missing_file_says_to_run_init() {
        let err = Config::load(Path::new("/nonexistent/login-alert.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("login-alert init"), "{err}");
    }
}
