//! The one place an `init` setting is resolved: its flag, else the existing config, else what was discovered.

use std::collections::BTreeMap;

use login_alert_handler::{AlertOn, Language, Scope};

use crate::arn::Arn;
use crate::cli::InitArgs;
use crate::config::{
    self, Config, Coverage, DEFAULT_PREFIX, DEFAULT_RETENTION_DAYS, NotifyConfig, Route,
    TrailConfig,
};
use crate::discovery::{Discovery, TrailDetails};
use crate::names::MAX_FILTERS;
use crate::reach::Reach;

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A flag (or its environment variable): the question is not asked.
    Flag,
    /// The existing config file.
    Config,
    /// What the account or this machine told, else login-alert's default.
    Default,
}

/// One setting and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub from: Source,
}

impl<T> Setting<T> {
    /// Whether the installer asks for it (with `value` as the default): every setting no flag gave.
    pub fn asked(&self) -> bool {
        self.from != Source::Flag
    }
}

/// The flags `init` takes its answers from.
#[derive(Debug, Clone, Copy)]
pub struct Flags<'a> {
    pub args: &'a InitArgs,
    /// The global `--region`: where a new trail goes.
    pub region: Option<&'a str>,
}

/// The trail as chosen: the name stored in the config and the region the pipeline goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailPick {
    Adopt { name: String, region: String },
    Create { region: String },
}

/// A trail `--trail` names that this account cannot change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub trail: String,
    /// The management account that owns the organization trail.
    pub owner: String,
}

/// Every setting `init` writes, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `None` when nothing chose a trail: no flag, no config, no trail found that this account can use.
    pub trail: Setting<Option<TrailPick>>,
    /// Set when `--trail` named another account's organization trail (the flag then counts as not given).
    pub refused: Option<Refused>,
    pub emails: Setting<Vec<String>>,
    pub slack_webhook_url: Setting<Option<String>>,
    /// `None`: alerts show the account ID.
    pub account_name: Setting<Option<String>>,
    pub timezone: Setting<String>,
    pub scope: Setting<Scope>,
    pub name_prefix: Setting<String>,
    pub log_retention_days: Setting<i32>,
    pub mode: Setting<Route>,
    /// The CIS monitoring controls (`--cis`; only a flag or the config can say yes without asking).
    pub cis: Setting<bool>,
    /// Which accounts alerts come from (`--coverage`; asked only when the caller can cover its organization).
    pub coverage: Setting<Coverage>,
    pub language: Setting<Language>,
    /// `--alert-on`, else the config's, else `all` (not asked: the flag and the config say it).
    pub alert_on: Setting<AlertOn>,
    /// Settings `init` neither asks nor takes a flag for, kept from the existing config as they are.
    pub kept: Kept,
    /// Where a trail chosen later (in the installer's list) puts the pipeline.
    pub places: Places,
}

/// What the existing config says that `init` keeps unchanged (or the defaults, with no config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub group_window_minutes: u32,
    pub baseline_days: u32,
    pub account_names: BTreeMap<String, String>,
    pub teams_webhook_url: Option<String>,
    pub webhook_url: Option<String>,
    pub organization_units: Vec<String>,
    /// `[[route]]`: `init` has no question for them, so they stay as written.
    pub routes: Vec<crate::config::RouteConfig>,
}

impl Kept {
    fn new(existing: Option<&Config>) -> Self {
        match existing {
            Some(c) => Kept {
                group_window_minutes: c.group_window_minutes,
                baseline_days: c.baseline_days,
                account_names: c.account_names.clone(),
                teams_webhook_url: c.notify.teams_webhook_url.clone(),
                webhook_url: c.notify.webhook_url.clone(),
                organization_units: c.organization_units.clone(),
                routes: c.routes.clone(),
            },
            None => Kept {
                group_window_minutes: login_alert_handler::settings::DEFAULT_GROUP_WINDOW_MINUTES,
                baseline_days: login_alert_handler::settings::DEFAULT_BASELINE_DAYS,
                account_names: BTreeMap::new(),
                teams_webhook_url: None,
                webhook_url: None,
                organization_units: Vec::new(),
                routes: Vec::new(),
            },
        }
    }

    /// Whether a Teams or generic webhook already notifies someone (so neither email nor Slack is required).
    pub fn notifies(&self) -> bool {
        self.teams_webhook_url.is_some() || self.webhook_url.is_some()
    }
}

/// The regions a trail choice leads to, for choices made after resolving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Places {
    /// Where `init` runs: `--region`, else the region the credentials resolved to, else us-east-1.
    pub current: String,
    /// Where a new trail goes: `--region`, else the existing config's region, else `current`.
    pub create: String,
    /// The trail the existing config adopts, and its region there.
    pub config_trail: Option<(String, String)>,
}

impl Places {
    fn new(flags: Flags, existing: Option<&Config>, found: &Discovery) -> Self {
        let current = flags
            .region
            .map(str::to_owned)
            .or_else(|| found.region.clone())
            .unwrap_or_else(|| "us-east-1".into());
        Places {
            create: flags
                .region
                .map(str::to_owned)
                .or_else(|| existing.map(|c| c.region.clone()))
                .unwrap_or_else(|| current.clone()),
            current,
            config_trail: existing.and_then(|c| Some((c.trail.name.clone()?, c.region.clone()))),
        }
    }

    pub fn create(&self) -> TrailPick {
        TrailPick::Create {
            region: self.create.clone(),
        }
    }

    /// A trail adopted by name: its home region from discovery, else its ARN, else the existing
    /// config's region when it names the same trail, else where `init` runs (`plan` checks).
    pub fn adopt(&self, name: &str, found: &Discovery) -> TrailPick {
        let region = found
            .trail(name)
            .map(|t| t.trail.home_region.clone())
            .or_else(|| Arn::parse(name).map(|arn| arn.region.to_owned()))
            .or_else(|| {
                self.config_trail
                    .as_ref()
                    .filter(|(configured, _)| configured == name)
                    .map(|(_, region)| region.clone())
            })
            .unwrap_or_else(|| self.current.clone());
        TrailPick::Adopt {
            name: name.to_owned(),
            region,
        }
    }
}

fn first<T>(flag: Option<T>, config: Option<T>, default: impl FnOnce() -> T) -> Setting<T> {
    match (flag, config) {
        (Some(value), _) => Setting {
            value,
            from: Source::Flag,
        },
        (None, Some(value)) => Setting {
            value,
            from: Source::Config,
        },
        (None, None) => Setting {
            value: default(),
            from: Source::Default,
        },
    }
}

/// Resolves every setting from the flags, the existing config and what discovery found (nothing is asked or read here).
pub fn resolve(flags: Flags, existing: Option<&Config>, found: &Discovery) -> Resolved {
    let args = flags.args;
    let places = Places::new(flags, existing, found);
    let (trail, refused) = resolve_trail(flags.args, existing, found, &places);
    Resolved {
        trail,
        refused,
        places,
        emails: first(
            Some(args.emails.clone()).filter(|e| !e.is_empty()),
            existing.map(|c| c.notify.emails.clone()),
            Vec::new,
        ),
        slack_webhook_url: first(
            args.slack_webhook_url.clone().map(Some),
            existing.map(|c| c.notify.slack_webhook_url.clone()),
            || None,
        ),
        account_name: first(
            args.account_name.clone().map(Some),
            existing.and_then(|c| c.account_name.clone()).map(Some),
            || {
                found
                    .alias
                    .clone()
                    .filter(|a| config::validate_account_name(a).is_ok())
            },
        ),
        timezone: first(
            args.timezone.clone(),
            existing.map(|c| c.timezone.clone()),
            system_timezone,
        ),
        scope: first(
            args.scope.map(Into::into),
            existing.map(|c| c.scope),
            Scope::default,
        ),
        name_prefix: first(
            args.name_prefix.clone(),
            existing.map(|c| c.name_prefix.clone()),
            || DEFAULT_PREFIX.into(),
        ),
        log_retention_days: first(
            args.log_retention_days,
            existing.map(|c| c.log_retention_days),
            || DEFAULT_RETENTION_DAYS,
        ),
        mode: first(
            args.mode.map(Into::into),
            existing.map(|c| c.mode),
            Route::default,
        ),
        cis: first(args.cis.then_some(true), existing.map(|c| c.cis), || false),
        coverage: first(
            args.coverage.map(Into::into),
            existing.map(|c| c.coverage),
            Coverage::default,
        ),
        language: first(
            args.language,
            existing.map(|c| c.language),
            Language::default,
        ),
        alert_on: first(
            args.alert_on,
            existing.map(|c| c.alert_on),
            AlertOn::default,
        ),
        kept: Kept::new(existing),
    }
}

fn resolve_trail(
    args: &InitArgs,
    existing: Option<&Config>,
    found: &Discovery,
    places: &Places,
) -> (Setting<Option<TrailPick>>, Option<Refused>) {
    let account = found.account_id.as_deref();
    // With organization coverage, another account's organization trail may be adopted read only (from
    // a delegated administrator for StackSets): plan reads the organization and refuses any other caller.
    let organization_wide = args
        .coverage
        .map(Coverage::from)
        .or(existing.map(|c| c.coverage))
        == Some(Coverage::Organization);
    let mut refused = None;
    let flag = match (&args.trail, args.create_trail) {
        (Some(name), _) => match found
            .trail(name)
            .map(|t| (t.trail.reach_from(account), t.trail.organization))
        {
            Some((Reach::OtherAccount(_), true)) if organization_wide => {
                Some(places.adopt(name, found))
            }
            Some((Reach::OtherAccount(owner), _)) => {
                refused = Some(Refused {
                    trail: name.clone(),
                    owner,
                });
                None
            }
            _ => Some(places.adopt(name, found)),
        },
        (None, true) => Some(places.create()),
        (None, false) => None,
    };
    let from_config = existing.and_then(|c| match (&c.trail.name, c.trail.create) {
        (Some(name), false) => Some(places.adopt(name, found)),
        (None, true) => Some(places.create()),
        // Both or neither: the config does not say (validation names the problem).
        _ => None,
    });
    let setting = first(flag.map(Some), from_config.map(Some), || {
        best_trail(found).map(|t| TrailPick::Adopt {
            name: t.trail.name.clone(),
            region: t.trail.home_region.clone(),
        })
    });
    (setting, refused)
}

/// The discovered trail that needs the fewest changes, among those this account can change and
/// whose log group has a free subscription-filter slot.
fn best_trail(found: &Discovery) -> Option<&TrailDetails> {
    let account = found.account_id.as_deref();
    found
        .trails
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            t.trail.reach_from(account) == Reach::Here
                && t.subscription_filters.unwrap_or(0) < MAX_FILTERS
        })
        .max_by_key(|(i, t)| {
            (
                t.trail.multi_region,
                t.logging == Some(true),
                t.trail.log_group_arn.is_some(),
                usize::MAX - i,
            )
        })
        .map(|(_, t)| t)
}

/// The system's IANA zone, else UTC.
pub fn system_timezone() -> String {
    iana_time_zone::get_timezone()
        .ok()
        .filter(|zone| config::validate_timezone(zone).is_ok())
        .unwrap_or_else(|| "UTC".into())
}

impl TrailPick {
    /// The config's region and `[trail]` table.
    pub fn into_config(self) -> (String, TrailConfig) {
        match self {
            TrailPick::Adopt { name, region } => (
                region,
                TrailConfig {
                    name: Some(name),
                    create: false,
                },
            ),
            TrailPick::Create { region } => (
                region,
                TrailConfig {
                    name: None,
                    create: true,
                },
            ),
        }
    }
}

impl Resolved {
    /// The flags that must be given when nothing can be asked (no terminal, `--yes`).
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.trail.value.is_none() {
            missing.push("--trail NAME (or --create-trail)");
        }
        if self.emails.value.is_empty()
            && self.slack_webhook_url.value.is_none()
            && !self.kept.notifies()
        {
            missing.push("--email ADDRESS (or --slack-webhook-url URL)");
        }
        missing
    }

    /// The config as resolved, without asking; `None` while no trail is chosen.
    pub fn config(&self) -> Option<Config> {
        let (region, trail) = self.trail.value.clone()?.into_config();
        Some(self.config_with(region, trail, self.emails.value.clone()))
    }

    /// The config with the trail and notification answers given, the rest as resolved.
    pub fn config_with(&self, region: String, trail: TrailConfig, emails: Vec<String>) -> Config {
        Config {
            region,
            name_prefix: self.name_prefix.value.clone(),
            account_name: self.account_name.value.clone(),
            timezone: self.timezone.value.clone(),
            scope: self.scope.value,
            log_retention_days: self.log_retention_days.value,
            language: self.language.value,
            group_window_minutes: self.kept.group_window_minutes,
            alert_on: self.alert_on.value,
            baseline_days: self.kept.baseline_days,
            account_names: self.kept.account_names.clone(),
            mode: self.mode.value,
            // Kept as asked even in eventbridge mode: validation then says why it cannot be.
            cis: self.cis.value,
            coverage: self.coverage.value,
            organization_units: self.kept.organization_units.clone(),
            trail,
            notify: NotifyConfig {
                emails,
                slack_webhook_url: self.slack_webhook_url.value.clone(),
                teams_webhook_url: self.kept.teams_webhook_url.clone(),
                webhook_url: self.kept.webhook_url.clone(),
            },
            routes: self.kept.routes.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ScopeArg;
    use crate::discovery::TrailInfo;

    const ACCOUNT: &str = "123456789012";

    fn details(name: &str, region: &str, multi_region: bool, owner: &str) -> TrailDetails {
        TrailDetails {
            trail: TrailInfo {
                name: name.into(),
                arn: format!("arn:aws:cloudtrail:{region}:{owner}:trail/{name}"),
                home_region: region.into(),
                multi_region,
                organization: owner != ACCOUNT,
                log_group_arn: None,
            },
            logging: Some(true),
            subscription_filters: None,
        }
    }

    fn found() -> Discovery {
        Discovery {
            account_id: Some(ACCOUNT.into()),
            alias: Some("acme-prod".into()),
            region: Some("us-east-1".into()),
            trails: vec![
                details("audit-trail", "eu-west-1", false, ACCOUNT),
                details("main", "us-east-1", true, ACCOUNT),
                details("org-trail", "us-east-1", true, "999999999999"),
            ],
            problems: vec![],
            organization: None,
        }
    }

    fn existing() -> Config {
        Config {
            name_prefix: "alerts".into(),
            account_name: Some("prod".into()),
            timezone: "Asia/Tokyo".into(),
            scope: Scope::RootOnly,
            log_retention_days: 365,
            trail: TrailConfig {
                name: Some("audit-trail".into()),
                create: false,
            },
            notify: NotifyConfig {
                emails: vec!["a@example.com".into()],
                slack_webhook_url: None,
                teams_webhook_url: None,
                webhook_url: None,
            },
            ..crate::config::sample("eu-west-1")
        }
    }

    fn flags(args: &InitArgs) -> Flags<'_> {
        Flags { args, region: None }
    }

    #[test]
    fn a_flag_beats_the_config_which_beats_what_was_discovered() {
        let args = InitArgs {
            timezone: Some("Europe/Paris".into()),
            scope: Some(ScopeArg::All),
            ..Default::default()
        };
        let existing = existing();
        let r = resolve(flags(&args), Some(&existing), &found());
        assert_eq!(
            r.timezone,
            Setting {
                value: "Europe/Paris".into(),
                from: Source::Flag
            }
        );
        assert_eq!(r.scope.value, Scope::All);
        assert_eq!(
            r.name_prefix,
            Setting {
                value: "alerts".into(),
                from: Source::Config
            }
        );
        assert_eq!(r.account_name.value.as_deref(), Some("prod"));
        assert_eq!(
            r.trail.value,
            Some(TrailPick::Adopt {
                name: "audit-trail".into(),
                region: "eu-west-1".into()
            })
        );
        assert_eq!(r.trail.from, Source::Config);

        // Without a config: the alias and the trail needing the fewest changes (multi-region, ours).
        let r = resolve(flags(&args), None, &found());
        assert_eq!(r.account_name.value.as_deref(), Some("acme-prod"));
        assert_eq!(r.account_name.from, Source::Default);
        assert_eq!(r.name_prefix.value, DEFAULT_PREFIX);
        assert_eq!(r.log_retention_days.value, DEFAULT_RETENTION_DAYS);
        assert_eq!(
            r.trail.value,
            Some(TrailPick::Adopt {
                name: "main".into(),
                region: "us-east-1".into()
            })
        );
        assert_eq!(
            r.missing(),
            ["--email ADDRESS (or --slack-webhook-url URL)"]
        );
    }

    #[test]
    fn the_language_flag_beats_the_config_and_init_keeps_what_it_does_not_ask() {
        let mut existing = existing();
        existing.language = Language::Ja;
        existing.group_window_minutes = 45;
        existing.alert_on = AlertOn::Unusual;
        existing.baseline_days = 30;
        existing
            .account_names
            .insert("210987654321".into(), "sandbox".into());
        existing.notify.emails.clear();
        existing.notify.teams_webhook_url = Some("https://x.logic.azure.com/workflows/a".into());

        let r = resolve(flags(&InitArgs::default()), Some(&existing), &found());
        assert_eq!(
            r.language,
            Setting {
                value: Language::Ja,
                from: Source::Config
            }
        );
        assert!(r.missing().is_empty(), "the Teams webhook notifies");
        let config = r.config().unwrap();
        assert_eq!(config.language, Language::Ja);
        assert_eq!(config.group_window_minutes, 45);
        assert_eq!(
            (config.alert_on, config.baseline_days),
            (AlertOn::Unusual, 30)
        );
        assert_eq!(config.account_names, existing.account_names);
        assert_eq!(
            config.notify.teams_webhook_url,
            existing.notify.teams_webhook_url
        );

        let args = InitArgs {
            language: Some(Language::En),
            alert_on: Some(AlertOn::All),
            ..Default::default()
        };
        let r = resolve(flags(&args), Some(&existing), &found());
        assert_eq!(r.language.from, Source::Flag);
        assert_eq!(r.config().unwrap().language, Language::En);
        assert_eq!(r.alert_on.from, Source::Flag);
        assert_eq!(r.config().unwrap().alert_on, AlertOn::All);
        let r = resolve(flags(&InitArgs::default()), None, &found());
        assert_eq!(r.language.value, Language::En);
        assert_eq!(r.config().unwrap().group_window_minutes, 15);
    }

    #[test]
    fn another_accounts_organization_trail_is_adopted_with_organization_coverage() {
        // Read only, from a delegated administrator: plan reads the organization and refuses any other caller.
        let args = InitArgs {
            trail: Some("org-trail".into()),
            coverage: Some(crate::cli::CoverageArg::Organization),
            ..Default::default()
        };
        let r = resolve(flags(&args), None, &found());
        assert_eq!(r.refused, None);
        assert_eq!(
            r.trail.value,
            Some(TrailPick::Adopt {
                name: "org-trail".into(),
                region: "us-east-1".into()
            })
        );
        // Account coverage keeps the refusal.
        let args = InitArgs {
            coverage: Some(crate::cli::CoverageArg::Account),
            ..args
        };
        assert!(resolve(flags(&args), None, &found()).refused.is_some());
    }

    #[test]
    fn another_accounts_organization_trail_named_by_flag_is_refused() {
        let args = InitArgs {
            trail: Some("org-trail".into()),
            ..Default::default()
        };
        let r = resolve(flags(&args), None, &found());
        assert_eq!(
            r.refused,
            Some(Refused {
                trail: "org-trail".into(),
                owner: "999999999999".into()
            })
        );
        assert!(r.trail.asked(), "the trail question comes back");
        assert_ne!(
            r.trail.value,
            Some(TrailPick::Adopt {
                name: "org-trail".into(),
                region: "us-east-1".into()
            })
        );
    }

    #[test]
    fn a_new_trail_goes_to_the_region_flag_then_the_configs_region_then_where_init_runs() {
        let args = InitArgs {
            create_trail: true,
            ..Default::default()
        };
        let existing = existing();
        let create = |region: Option<&str>, existing| {
            resolve(
                Flags {
                    args: &args,
                    region,
                },
                existing,
                &found(),
            )
            .trail
            .value
        };
        let new = |region: &str| {
            Some(TrailPick::Create {
                region: region.into(),
            })
        };
        assert_eq!(
            create(Some("ap-northeast-1"), Some(&existing)),
            new("ap-northeast-1")
        );
        assert_eq!(create(None, Some(&existing)), new("eu-west-1"));
        assert_eq!(create(None, None), new("us-east-1"));
    }

    #[test]
    fn an_unseen_trail_lives_in_its_arns_region_or_the_configs() {
        let empty = Discovery::default();
        let arn = "arn:aws:cloudtrail:ap-south-1:123456789012:trail/x";
        let args = InitArgs {
            trail: Some(arn.into()),
            ..Default::default()
        };
        assert_eq!(
            resolve(flags(&args), None, &empty).trail.value,
            Some(TrailPick::Adopt {
                name: arn.into(),
                region: "ap-south-1".into()
            })
        );
        let existing = existing();
        let r = resolve(flags(&InitArgs::default()), Some(&existing), &empty);
        assert_eq!(
            r.trail.value,
            Some(TrailPick::Adopt {
                name: "audit-trail".into(),
                region: "eu-west-1".into()
            })
        );
        assert_eq!(r.config().unwrap(), existing, "a re-run keeps everything");
    }

    #[test]
    fn nothing_to_go_on_names_the_missing_flags() {
        let r = resolve(flags(&InitArgs::default()), None, &Discovery::default());
        assert_eq!(
            r.missing(),
            [
                "--trail NAME (or --create-trail)",
                "--email ADDRESS (or --slack-webhook-url URL)"
            ]
        );
        assert_eq!(r.config(), None);
    }
}
