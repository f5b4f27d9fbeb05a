//! The installer's questions: what `init` asks a person on a terminal, and what it shows them; answers only, no actions.

use login_alert_handler::Scope;

use crate::config::{self, Config, Coverage, Route};
use crate::discovery::{Discovery, TrailDetails};
use crate::names::{MAX_FILTERS, Names};
use crate::prompt::{PromptError, Prompter};
use crate::reach::Reach;
use crate::resolve::{Refused, Resolved, Setting, Source, TrailPick};

pub const TRAIL_PROMPT: &str = "Which trail should deliver sign-in events?";
pub const EMAIL_PROMPT: &str = "Email addresses to notify (comma-separated)";
pub const SLACK_PROMPT: &str = "Slack incoming-webhook URL";
pub const NAME_PROMPT: &str = "Name shown in alerts for this account";
pub const TIMEZONE_PROMPT: &str = "Time zone for times in alerts";
pub const SCOPE_PROMPT: &str = "What should alert?";
pub const PREFIX_PROMPT: &str = "Prefix for the names of the resources login-alert creates";
pub const TYPED_TRAIL_PROMPT: &str = "Trail name or ARN";
pub const MODE_PROMPT: &str = "How should events reach the alert function?";
pub const COVERAGE_PROMPT: &str = "Which accounts should alert?";
pub const CIS_PROMPT: &str = "Also set up the CIS monitoring controls Security Hub checks (CloudWatch.1-14: 14 metric filters \
                              and 14 alarms on the trail's log group, about $1.40 a month)?";

/// The mode choices, each with its trade-off in one line, in the order they are listed.
pub fn mode_label(mode: Route) -> &'static str {
    match mode {
        Route::CloudwatchLogs => {
            "CloudWatch Logs: alerts in about 5 minutes, durable; the events are also kept (and billed) in a log group"
        }
        Route::Eventbridge => {
            "EventBridge: alerts within seconds, no log ingestion cost; AWS delivers CloudTrail events to EventBridge on a best-effort basis"
        }
        Route::Both => {
            "Both: alerts within seconds through EventBridge, CloudWatch Logs as the durable backstop (and its cost); each event alerts once"
        }
    }
}

/// The coverage choices, in the order they are listed.
pub fn coverage_label(coverage: Coverage) -> &'static str {
    match coverage {
        Coverage::Account => "This account only",
        Coverage::Organization => {
            "Every account of the organization (StackSets forward each member account's events; needs the organization trail)"
        }
    }
}

/// The scope choices, in the order they are listed.
pub fn scope_label(scope: Scope) -> &'static str {
    match scope {
        Scope::All => "All console sign-ins (successful and failed) and root activity",
        Scope::FailuresAndRoot => "Failed sign-ins and root activity",
        Scope::RootOnly => "Root activity only",
    }
}

/// Asks every question no flag answered, each offering its resolved value as the default, and
/// returns the config to write (nothing is written here).
pub fn ask(p: &mut dyn Prompter, r: &Resolved, found: &Discovery) -> Result<Config, PromptError> {
    if let Some(refused) = &r.refused {
        // The flag named a trail this account cannot change: say why and let the person choose.
        p.note(&not_adoptable(refused));
    }
    let trail = match &r.trail {
        Setting {
            value: Some(pick),
            from: Source::Flag,
        } => {
            if let TrailPick::Adopt { name, region } = pick {
                note_unseen(p, found, name, region);
            }
            pick.clone()
        }
        _ => ask_trail(p, r, found)?,
    };

    let emails = if r.emails.asked() {
        let default = r.emails.value.join(", ");
        let answer = p.input(EMAIL_PROMPT, Some(&default), &|text| {
            for email in split_emails(text) {
                config::validate_email(email).map_err(explain)?;
            }
            Ok(())
        })?;
        split_emails(&answer)
            .into_iter()
            .map(str::to_owned)
            .collect()
    } else {
        r.emails.value.clone()
    };

    let mut answers = r.clone();
    // The management account's organization trail, adopted read only by a delegated administrator:
    // only organization coverage in EventBridge mode works with it, so neither is asked.
    let read_only = match &trail {
        TrailPick::Adopt { name, .. } => found.trail(name).is_some_and(|t| found.read_only(t)),
        TrailPick::Create { .. } => false,
    };
    if read_only {
        answers.mode.value = Route::Eventbridge;
        answers.coverage.value = Coverage::Organization;
    }
    if r.slack_webhook_url.asked() {
        answers.slack_webhook_url.value = ask_slack(
            p,
            emails.is_empty() && !r.kept.notifies(),
            r.slack_webhook_url.value.clone(),
        )?;
    }

    if r.account_name.asked() {
        let default = r
            .account_name
            .value
            .clone()
            .or_else(|| found.account_id.clone());
        let answer = p.input(NAME_PROMPT, default.as_deref(), &|text| {
            if text.is_empty() {
                // No alias and no account ID known: alerts then show the account ID from each record.
                return Ok(());
            }
            config::validate_account_name(text).map_err(explain)
        })?;
        // The account ID is what alerts show anyway; keeping it out of the file keeps the file portable.
        answers.account_name.value =
            Some(answer).filter(|a| !a.is_empty() && Some(a) != found.account_id.as_ref());
    }

    if r.timezone.asked() {
        answers.timezone.value = p.input(TIMEZONE_PROMPT, Some(&r.timezone.value), &|text| {
            config::validate_timezone(text).map_err(explain)
        })?;
    }

    if r.scope.asked() {
        let items: Vec<String> = Scope::ALL
            .iter()
            .map(|s| scope_label(*s).to_owned())
            .collect();
        let default = Scope::ALL
            .iter()
            .position(|s| *s == r.scope.value)
            .unwrap_or(0);
        answers.scope.value = Scope::ALL[p.select(SCOPE_PROMPT, &items, default)?];
    }

    if r.name_prefix.asked() {
        answers.name_prefix.value =
            p.input(PREFIX_PROMPT, Some(&r.name_prefix.value), &|text| {
                config::validate_prefix(text).map_err(explain)
            })?;
    }

    if r.mode.asked() && !read_only {
        let items: Vec<String> = Route::ALL
            .iter()
            .map(|m| mode_label(*m).to_owned())
            .collect();
        let default = Route::ALL
            .iter()
            .position(|m| *m == r.mode.value)
            .unwrap_or(0);
        answers.mode.value = Route::ALL[p.select(MODE_PROMPT, &items, default)?];
    }

    // Only a caller that can deploy to its organization is asked (management account, or a
    // delegated administrator for StackSets); anyone else keeps what was resolved.
    if r.coverage.asked() && !read_only && found.organization.is_some_and(|c| c.qualifies()) {
        let items: Vec<String> = Coverage::ALL
            .iter()
            .map(|c| coverage_label(*c).to_owned())
            .collect();
        let default = Coverage::ALL
            .iter()
            .position(|c| *c == r.coverage.value)
            .unwrap_or(0);
        answers.coverage.value = Coverage::ALL[p.select(COVERAGE_PROMPT, &items, default)?];
    }

    // Only the modes that deliver to CloudWatch Logs have a log group to put the filters on.
    if r.cis.asked() && answers.mode.value.uses_logs() {
        answers.cis.value = p.confirm(CIS_PROMPT, r.cis.value)?;
    }

    let (region, trail) = trail.into_config();
    Ok(answers.config_with(region, trail, emails))
}

/// A validation problem as the line shown before the question is asked again.
fn explain(problem: config::Problem) -> String {
    format!("{}: {}", problem.problem, problem.fix)
}

fn split_emails(text: &str) -> Vec<&str> {
    text.split([',', ';', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect()
}

fn ask_slack(
    p: &mut dyn Prompter,
    required: bool,
    existing: Option<String>,
) -> Result<Option<String>, PromptError> {
    let prompt = match (&existing, required) {
        (Some(_), _) => {
            format!("{SLACK_PROMPT} (hidden; Enter keeps the current one, - removes it)")
        }
        (None, true) => format!("{SLACK_PROMPT} (hidden; required, as no email address was given)"),
        (None, false) => format!("{SLACK_PROMPT} (hidden; optional, Enter to skip)"),
    };
    let has_existing = existing.is_some();
    let nobody = "someone must be told";
    let validate = |text: &str| match text {
        "" if required && !has_existing => Err(format!(
            "{nobody}: paste a Slack webhook URL, or press Esc and start again to give an email address"
        )),
        "-" if required => Err(format!(
            "{nobody}: with no email address, the Slack webhook cannot be removed"
        )),
        "" | "-" => Ok(()),
        url => config::validate_slack_webhook(url)
            .map_err(|problem| format!("it {}: {}", problem.problem, problem.fix)),
    };
    let shown = |answer: &str| match answer {
        "" if has_existing => "(unchanged)",
        "" => "(none)",
        "-" => "(removed)",
        _ => "(set)",
    };
    let answer = p.password(&prompt, &validate, &shown)?;
    Ok(match answer.as_str() {
        "" => existing,
        "-" => None,
        _ => Some(answer),
    })
}

/// A trail the person named that discovery did not see: where it is assumed to live is said.
fn note_unseen(p: &mut dyn Prompter, found: &Discovery, name: &str, region: &str) {
    if found.trail(name).is_none() {
        p.note(&format!(
            "Trail {name} was not among the trails that could be read: assuming it lives in {region} (`login-alert plan` checks)."
        ));
    }
}

/// One line per trail, as the list shows it.
pub fn trail_line(t: &TrailDetails, account_id: Option<&str>) -> String {
    let info = &t.trail;
    let mut facts = Vec::new();
    facts.push(if info.multi_region {
        "multi-region".to_owned()
    } else {
        "single-region → will be made multi-region".into()
    });
    if info.organization {
        facts.push(match info.reach_from(account_id) {
            Reach::OtherAccount(owner) => {
                format!("organization trail of account {owner} (cannot be changed from here)")
            }
            _ => "organization trail".to_owned(),
        });
    }
    if t.logging == Some(false) {
        facts.push("logging off".into());
    }
    match (info.log_group_name(), t.subscription_filters) {
        (Some(group), Some(n)) => facts.push(format!(
            "CloudWatch Logs {group}, {n} of {MAX_FILTERS} subscription filters used"
        )),
        (Some(group), None) => facts.push(format!("CloudWatch Logs {group}")),
        (None, _) => {}
    }
    format!("{} ({}): {}", info.name, info.home_region, facts.join(", "))
}

/// The list's default: the resolved trail (from the config, else the one needing the fewest changes), else a new trail.
fn default_trail(r: &Resolved, listed: &[&TrailDetails], create: usize) -> usize {
    match &r.trail.value {
        Some(TrailPick::Create { .. }) | None => create,
        Some(TrailPick::Adopt { name, .. }) => listed
            .iter()
            .position(|t| &t.trail.name == name || &t.trail.arn == name)
            .unwrap_or(create),
    }
}

fn ask_trail(
    p: &mut dyn Prompter,
    r: &Resolved,
    found: &Discovery,
) -> Result<TrailPick, PromptError> {
    let account = found.account_id.as_deref();
    let listed: Vec<&TrailDetails> = found.trails.iter().collect();
    let mut items: Vec<String> = listed.iter().map(|t| trail_line(t, account)).collect();
    let create = items.len();
    items.push("Create a new multi-region trail (and its S3 bucket) for login-alert".into());
    let typed = items.len();
    items.push("Another trail: type its name or ARN".into());
    let mut default = default_trail(r, &listed, create);
    // A trail the config names that discovery did not see stays the default, typed in for the user.
    let unseen = match &r.trail {
        Setting {
            value: Some(pick @ TrailPick::Adopt { name, .. }),
            from: Source::Config,
        } if found.trail(name).is_none() => Some(pick.clone()),
        _ => None,
    };
    if let Some(TrailPick::Adopt { name, .. }) = &unseen {
        items.push(format!(
            "{name} (from the config; not among the trails that could be read)"
        ));
        default = items.len() - 1;
    }
    loop {
        let choice = p.select(TRAIL_PROMPT, &items, default)?;
        let pick = if choice == create {
            r.places.create()
        } else if choice == typed {
            let name = p.input(TYPED_TRAIL_PROMPT, None, &|text| {
                config::validate_trail_name(text).map_err(explain)
            })?;
            r.places.adopt(&name, found)
        } else if choice > typed {
            unseen.clone().unwrap_or_else(|| r.places.create())
        } else {
            TrailPick::Adopt {
                name: listed[choice].trail.name.clone(),
                region: listed[choice].trail.home_region.clone(),
            }
        };
        if let TrailPick::Adopt { name, region } = &pick {
            let seen = listed.get(choice).filter(|_| choice < create).copied();
            if let Some(t) = seen.or_else(|| found.trail(name))
                && let Reach::OtherAccount(owner) = t.trail.reach_from(account)
            {
                if found.read_only(t) {
                    p.note(&format!(
                        "{} is the organization trail of the management account {owner}: from this delegated \
                         administrator login-alert only reads it, with organization coverage in EventBridge mode",
                        t.trail.name
                    ));
                    return Ok(pick);
                }
                p.note(&not_adoptable(&Refused {
                    trail: t.trail.name.clone(),
                    owner,
                }));
                if choice < create {
                    default = create;
                }
                continue;
            }
            note_unseen(p, found, name, region);
        }
        return Ok(pick);
    }
}

fn not_adoptable(refused: &Refused) -> String {
    format!(
        "{} is an organization trail owned by account {}: {}. Choose another trail or create one.",
        refused.trail,
        refused.owner,
        crate::reach::only_from_owner(&refused.owner)
    )
}

/// What will happen, in plain words (the webhook is never shown).
pub fn summary(config: &Config, found: &Discovery) -> Vec<String> {
    let names = Names::new(&config.name_prefix);
    let mut lines = vec!["Summary".to_owned()];
    let account = match (&found.account_id, &found.alias) {
        (Some(id), Some(alias)) => format!("{id} ({alias})"),
        (Some(id), None) => id.clone(),
        (None, _) => "(could not be read)".into(),
    };
    let shown_as = config
        .account_name
        .clone()
        .or_else(|| found.account_id.clone())
        .unwrap_or_else(|| "its account ID".into());
    lines.push(format!(
        "  Account:   {account}, shown in alerts as \"{shown_as}\""
    ));
    lines.push(format!(
        "  Trail:     {}",
        trail_sentence(config, found, &names)
    ));
    lines.push(format!("  Delivery:  {}", mode_label(config.mode)));
    if config.coverage == Coverage::Organization {
        let units = match config.organization_units.as_slice() {
            [] => "the whole organization (its root)".to_owned(),
            units => units.join(", "),
        };
        lines.push(format!("  Accounts:  every account of {units}"));
    }
    if config.cis {
        lines.push(
            "  CIS:       Security Hub's CloudWatch.1-14 (14 metric filters and alarms on the trail's log group)".into(),
        );
    }
    lines.push(format!("  Alerts:    {}", scope_label(config.scope)));
    let mut notify = Vec::new();
    if !config.notify.emails.is_empty() {
        notify.push(format!(
            "{} (each address gets a confirmation link from AWS first)",
            config.notify.emails.join(", ")
        ));
    }
    if config.notify.slack_webhook_url.is_some() {
        notify.push("Slack webhook (set)".into());
    }
    if config.notify.teams_webhook_url.is_some() {
        notify.push("Teams webhook (set)".into());
    }
    if config.notify.webhook_url.is_some() {
        notify.push("JSON webhook (set)".into());
    }
    lines.push(format!("  Notify:    {}", notify.join("; ")));
    lines.push(format!("  Times in:  {}", config.timezone));
    lines.push(match config.mode {
        Route::CloudwatchLogs => format!(
            "  Resources: named {}-*, in {}; the trail's events are kept {} days in CloudWatch Logs",
            config.name_prefix, config.region, config.log_retention_days
        ),
        Route::Eventbridge => format!(
            "  Resources: named {}-*, in {} and an EventBridge rule in every enabled region",
            config.name_prefix, config.region
        ),
        Route::Both => format!(
            "  Resources: named {}-*, in {} and an EventBridge rule in every enabled region; the trail's events are kept {} days in CloudWatch Logs",
            config.name_prefix, config.region, config.log_retention_days
        ),
    });
    lines
}

fn trail_sentence(config: &Config, found: &Discovery, names: &Names) -> String {
    let Some(name) = &config.trail.name else {
        if let Some(ours) = found.trail(&names.trail()) {
            return format!(
                "login-alert's own trail {} ({}) exists and is kept; destroy removes it and its bucket",
                ours.trail.name, ours.trail.home_region
            );
        }
        return format!(
            "a new multi-region trail {} and its S3 bucket will be created in {}, sending to CloudWatch Logs; destroy removes them",
            names.trail(),
            config.region
        );
    };
    let Some(t) = found.trail(name) else {
        return format!(
            "{name} ({}) will be made multi-region and sent to CloudWatch Logs as needed (`login-alert plan` shows exactly what changes); destroy puts it back",
            config.region
        );
    };
    let info = &t.trail;
    let mut changes = Vec::new();
    if !info.multi_region {
        changes.push("made multi-region".to_owned());
    }
    let mut after = Vec::new();
    match (info.log_group_name(), t.subscription_filters) {
        (None, _) => changes.push("sent to CloudWatch Logs".into()),
        // A re-run after apply: the group and the filter in it are login-alert's own.
        (Some(group), _) if group == names.log_group() => {
            after.push(format!("it already delivers to login-alert's log group {group}"))
        }
        (Some(group), Some(n)) if n >= MAX_FILTERS => after.push(format!(
            "its log group {group} already has {n} subscription filters, the most CloudWatch Logs allows: remove one of them, or apply will stop"
        )),
        (Some(group), _) => after.push(format!("login-alert adds its subscription filter to its log group {group}")),
    }
    if t.logging == Some(false) {
        changes.push("started (logging is off)".into());
    }
    let what = if info.multi_region {
        "is multi-region"
    } else {
        "is single-region"
    };
    let mut sentence = if changes.is_empty() {
        format!(
            "{} ({}) {what}: it is kept as it is",
            info.name, info.home_region
        )
    } else {
        format!(
            "{} ({}) {what}: it will be {}; destroy puts it back",
            info.name,
            info.home_region,
            join_and(&changes)
        )
    };
    for part in after {
        sentence.push_str("; ");
        sentence.push_str(&part);
    }
    if info.organization {
        sentence.push_str(
            "; as an organization trail, the change applies to every account in the organization",
        );
    }
    sentence
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The config as shown on re-runs, with the secret replaced.
pub fn redacted(config: &Config) -> String {
    let mut shown = config.clone();
    for secret in [
        &mut shown.notify.slack_webhook_url,
        &mut shown.notify.teams_webhook_url,
        &mut shown.notify.webhook_url,
    ] {
        if secret.is_some() {
            *secret = Some("(set)".into());
        }
    }
    let text = toml::to_string_pretty(&shown).unwrap_or_default();
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What discovery found, in one line.
pub fn found_line(found: &Discovery) -> String {
    let account = match (&found.account_id, &found.alias) {
        (Some(id), Some(alias)) => format!("Account {id} ({alias})"),
        (Some(id), None) => format!("Account {id}"),
        (None, _) => "Account unknown".into(),
    };
    let trails = match found.trails.len() {
        0 => "no trails".to_owned(),
        1 => "1 trail".to_owned(),
        n => format!("{n} trails"),
    };
    format!(
        "{account}, region {}: {trails} found",
        found.region.as_deref().unwrap_or("?")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{InitArgs, ModeArg, ScopeArg};
    use crate::config::{DEFAULT_PREFIX, DEFAULT_RETENTION_DAYS, NotifyConfig, TrailConfig};
    use crate::discovery::TrailInfo;
    use crate::prompt::{Answer, ScriptedPrompter};
    use crate::resolve::{Flags, resolve};

    const ACCOUNT: &str = "123456789012";
    const WEBHOOK: &str = "https://hooks.slack.com/services/T000/B000/SECRETSECRET";

    fn trail(name: &str, region: &str, multi_region: bool, owner: &str) -> TrailDetails {
        TrailDetails {
            trail: TrailInfo {
                name: name.into(),
                arn: format!("arn:aws:cloudtrail:{region}:{owner}:trail/{name}"),
                home_region: region.into(),
                multi_region,
                organization: false,
                log_group_arn: None,
            },
            logging: Some(true),
            subscription_filters: None,
        }
    }

    /// One single-region trail in eu-west-1 (logging off) and one multi-region trail homed in us-east-1.
    fn two_trails() -> Discovery {
        let mut audit = trail("audit-trail", "eu-west-1", false, ACCOUNT);
        audit.logging = Some(false);
        Discovery {
            account_id: Some(ACCOUNT.into()),
            alias: Some("acme-prod".into()),
            region: Some("us-east-1".into()),
            trails: vec![audit, trail("main", "us-east-1", true, ACCOUNT)],
            problems: vec![],
            organization: None,
        }
    }

    /// The management account's organization trail, as a member or delegated administrator finds it.
    fn management_org_trail() -> TrailDetails {
        let mut org = trail("org-trail", "us-east-1", true, "999999999999");
        org.trail.organization = true;
        org
    }

    /// Every answer but the trail's given as a flag: only the trail question is left to ask.
    fn all_but_trail() -> InitArgs {
        InitArgs {
            emails: vec!["a@example.com".into()],
            slack_webhook_url: Some(WEBHOOK.into()),
            account_name: Some("x".into()),
            timezone: Some("UTC".into()),
            scope: Some(ScopeArg::All),
            name_prefix: Some("la".into()),
            ..Default::default()
        }
    }

    fn text(s: &str) -> Answer {
        Answer::Text(s.into())
    }

    /// Resolves as `init` does (flags, then the existing config, then discovery) and asks.
    fn ask_with(
        p: &mut ScriptedPrompter,
        args: &InitArgs,
        existing: Option<&Config>,
        found: &Discovery,
    ) -> Result<Config, PromptError> {
        let flags = Flags { args, region: None };
        ask(p, &resolve(flags, existing, found), found)
    }

    #[test]
    fn every_question_is_asked_with_discovered_defaults_and_invalid_answers_are_asked_again() {
        let found = two_trails();
        let args = InitArgs::default();
        let mut p = ScriptedPrompter::new([
            Answer::Select(0),
            text("secops@"),
            text("secops@example.com, oncall@example.com"),
            text("http://hooks.slack.com/services/T000/B000/x"),
            text(WEBHOOK),
            Answer::Enter,
            text("Mars/Olympus"),
            text("Asia/Tokyo"),
            Answer::Select(1),
            text("Login_Alert"),
            Answer::Enter,
            Answer::Select(1),
        ]);
        let config = ask_with(&mut p, &args, None, &found).unwrap();
        assert!(p.finished());
        assert_eq!(
            p.asked,
            [
                TRAIL_PROMPT,
                EMAIL_PROMPT,
                EMAIL_PROMPT,
                "Slack incoming-webhook URL (hidden; optional, Enter to skip)",
                "Slack incoming-webhook URL (hidden; optional, Enter to skip)",
                NAME_PROMPT,
                TIMEZONE_PROMPT,
                TIMEZONE_PROMPT,
                SCOPE_PROMPT,
                PREFIX_PROMPT,
                PREFIX_PROMPT,
                MODE_PROMPT,
            ]
        );
        assert_eq!(p.errors.len(), 4, "{:?}", p.errors);
        assert!(
            p.errors[0].contains("`secops@` is not an email address"),
            "{:?}",
            p.errors
        );
        assert!(p.errors[1].contains("must use https"), "{:?}", p.errors);
        assert!(
            p.errors
                .iter()
                .all(|e| !e.contains("hooks.slack.com/services/T000")),
            "the webhook is echoed: {:?}",
            p.errors
        );
        assert!(p.errors[2].contains("Mars/Olympus"));
        assert!(p.errors[3].contains("Login_Alert"));
        assert_eq!(
            config,
            Config {
                region: "eu-west-1".into(),
                name_prefix: DEFAULT_PREFIX.into(),
                account_name: Some("acme-prod".into()),
                timezone: "Asia/Tokyo".into(),
                scope: Scope::FailuresAndRoot,
                log_retention_days: DEFAULT_RETENTION_DAYS,
                language: Default::default(),
                group_window_minutes: 15,
                alert_on: Default::default(),
                baseline_days: 90,
                account_names: Default::default(),
                mode: Route::Eventbridge,
                cis: false,
                coverage: Coverage::Account,
                organization_units: Vec::new(),
                trail: TrailConfig {
                    name: Some("audit-trail".into()),
                    create: false
                },
                notify: NotifyConfig {
                    emails: vec!["secops@example.com".into(), "oncall@example.com".into()],
                    slack_webhook_url: Some(WEBHOOK.into()),
                    teams_webhook_url: None,
                    webhook_url: None,
                },
                routes: Vec::new(),
            }
        );
        config.validate().unwrap();
    }

    #[test]
    fn the_list_shows_each_trail_in_one_line_and_preselects_the_multi_region_one() {
        let found = two_trails();
        let args = InitArgs::default();
        let mut p = ScriptedPrompter::new([
            Answer::Enter,
            text("a@example.com"),
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
        ]);
        let args = InitArgs {
            timezone: Some("UTC".into()),
            scope: Some(ScopeArg::All),
            name_prefix: Some("la".into()),
            ..args
        };
        let config = ask_with(&mut p, &args, None, &found).unwrap();
        assert_eq!(
            p.lists[0],
            [
                "audit-trail (eu-west-1): single-region → will be made multi-region, logging off",
                "main (us-east-1): multi-region",
                "Create a new multi-region trail (and its S3 bucket) for login-alert",
                "Another trail: type its name or ARN",
            ]
        );
        assert_eq!(config.trail.name.as_deref(), Some("main"));
        assert_eq!(config.region, "us-east-1");
        // Enter on the name takes the alias; Enter on Slack skips it.
        assert_eq!(p.asked[3], NAME_PROMPT);
        assert_eq!(config.account_name.as_deref(), Some("acme-prod"));
        assert_eq!(config.notify.slack_webhook_url, None);
    }

    #[test]
    fn questions_answered_by_flags_are_not_asked() {
        let found = two_trails();
        let args = InitArgs {
            trail: Some("main".into()),
            emails: vec!["a@example.com".into()],
            slack_webhook_url: Some(WEBHOOK.into()),
            account_name: Some("prod".into()),
            timezone: Some("Europe/Paris".into()),
            scope: Some(ScopeArg::RootOnly),
            name_prefix: Some("alerts".into()),
            log_retention_days: Some(30),
            mode: Some(ModeArg::Eventbridge),
            ..Default::default()
        };
        let mut p = ScriptedPrompter::new([]);
        let config = ask_with(&mut p, &args, None, &found).unwrap();
        assert!(p.asked.is_empty(), "{:?}", p.asked);
        assert_eq!(config.mode, Route::Eventbridge);
        assert_eq!(config.region, "us-east-1");
        assert_eq!(config.scope, Scope::RootOnly);
        assert_eq!(config.log_retention_days, 30);
        assert_eq!(config.name_prefix, "alerts");
    }

    #[test]
    fn the_existing_config_is_offered_as_the_defaults() {
        let found = two_trails();
        let existing = Config {
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
                slack_webhook_url: Some(WEBHOOK.into()),
                teams_webhook_url: None,
                webhook_url: None,
            },
            ..crate::config::sample("eu-west-1")
        };
        let args = InitArgs::default();
        let mut p = ScriptedPrompter::new(std::iter::repeat_n(Answer::Enter, 9));
        let config = ask_with(&mut p, &args, Some(&existing), &found).unwrap();
        assert!(p.finished());
        assert_eq!(config, existing);
        assert_eq!(
            p.asked[2],
            "Slack incoming-webhook URL (hidden; Enter keeps the current one, - removes it)"
        );

        // `-` removes the webhook; a new email list replaces the old one.
        let mut p = ScriptedPrompter::new([
            Answer::Enter,
            text("b@example.com"),
            text("-"),
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
        ]);
        let config = ask_with(&mut p, &args, Some(&existing), &found).unwrap();
        assert_eq!(
            config.notify,
            NotifyConfig {
                emails: vec!["b@example.com".into()],
                slack_webhook_url: None,
                teams_webhook_url: None,
                webhook_url: None,
            }
        );
    }

    #[test]
    fn without_an_email_the_slack_webhook_is_required() {
        let found = two_trails();
        let args = InitArgs {
            trail: Some("main".into()),
            ..Default::default()
        };
        let mut p = ScriptedPrompter::new([
            Answer::Enter,
            Answer::Enter,
            text(WEBHOOK),
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
        ]);
        let config = ask_with(&mut p, &args, None, &found).unwrap();
        assert_eq!(
            p.asked[1],
            "Slack incoming-webhook URL (hidden; required, as no email address was given)"
        );
        assert_eq!(p.errors.len(), 1);
        assert!(config.notify.emails.is_empty());
        assert_eq!(config.notify.slack_webhook_url.as_deref(), Some(WEBHOOK));
        config.validate().unwrap();
    }

    #[test]
    fn another_accounts_organization_trail_is_refused_and_the_question_asked_again() {
        let mut found = two_trails();
        let mut org = management_org_trail();
        org.logging = None;
        found.trails.push(org);
        let args = all_but_trail();
        let mut p = ScriptedPrompter::new([
            Answer::Select(2),
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
        ]);
        let config = ask_with(&mut p, &args, None, &found).unwrap();
        assert_eq!(
            p.lists[0][2],
            "org-trail (us-east-1): multi-region, organization trail of account 999999999999 (cannot be changed from here)"
        );
        assert_eq!(p.notes.len(), 1);
        assert!(
            p.notes[0].contains("owned by account 999999999999"),
            "{:?}",
            p.notes
        );
        // After a refusal the default moves to "create a new trail".
        assert_eq!(
            config.trail,
            TrailConfig {
                name: None,
                create: true
            }
        );
        assert_eq!(config.region, "us-east-1");
    }

    #[test]
    fn a_delegated_administrator_adopts_the_organization_trail_read_only_for_organization_coverage()
    {
        use crate::organization::Caller;
        let mut found = Discovery {
            organization: Some(Caller::DelegatedAdmin),
            ..two_trails()
        };
        let mut org = management_org_trail();
        org.logging = None;
        found.trails.push(org);
        let args = all_but_trail();
        let mut p = ScriptedPrompter::new([Answer::Select(2)]);
        let config = ask_with(&mut p, &args, None, &found).unwrap();
        assert!(
            p.notes[0].contains("organization trail of the management account 999999999999")
                && p.notes[0].contains("only reads it"),
            "{:?}",
            p.notes
        );
        // Only organization coverage in EventBridge mode works with it: neither is asked.
        assert_eq!(p.asked, [TRAIL_PROMPT]);
        assert_eq!(config.trail.name.as_deref(), Some("org-trail"));
        assert!(!config.trail.create);
        assert_eq!(config.mode, Route::Eventbridge);
        assert_eq!(config.coverage, Coverage::Organization);

        // A plain member of the organization still cannot use it.
        found.organization = Some(Caller::Member);
        let mut p = ScriptedPrompter::new([
            Answer::Select(2),
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
        ]);
        let config = ask_with(&mut p, &args, None, &found).unwrap();
        assert!(
            p.notes[0].contains("owned by account 999999999999"),
            "{:?}",
            p.notes
        );
        assert_ne!(config.trail.name.as_deref(), Some("org-trail"));
    }

    #[test]
    fn a_trail_flag_naming_another_accounts_organization_trail_asks_instead() {
        let mut found = two_trails();
        found.trails.push(management_org_trail());
        let args = InitArgs {
            trail: Some("org-trail".into()),
            ..all_but_trail()
        };
        let mut p = ScriptedPrompter::new([Answer::Select(0), Answer::Enter, Answer::Enter]);
        let config = ask_with(&mut p, &args, None, &found).unwrap();
        assert!(
            p.notes[0].contains("owned by account 999999999999"),
            "{:?}",
            p.notes
        );
        assert_eq!(p.asked, [TRAIL_PROMPT, MODE_PROMPT, CIS_PROMPT]);
        assert_eq!(config.trail.name.as_deref(), Some("audit-trail"));
    }

    #[test]
    fn the_coverage_question_is_asked_only_of_a_caller_that_can_deploy_to_its_organization() {
        use crate::organization::Caller;
        let args = InitArgs {
            trail: Some("audit-trail".into()),
            cis: true,
            ..all_but_trail()
        };
        for (caller, asked) in [
            (None, false),
            (Some(Caller::Member), false),
            (Some(Caller::Management), true),
            (Some(Caller::DelegatedAdmin), true),
        ] {
            let found = Discovery {
                organization: caller,
                ..two_trails()
            };
            // The mode question (Enter: the default), then the coverage question when it comes.
            let mut p = ScriptedPrompter::new([Answer::Enter, Answer::Select(1)]);
            let config = ask_with(&mut p, &args, None, &found).unwrap();
            assert_eq!(
                p.asked.iter().any(|a| a == COVERAGE_PROMPT),
                asked,
                "{caller:?}"
            );
            let wanted = if asked {
                Coverage::Organization
            } else {
                Coverage::Account
            };
            assert_eq!(config.coverage, wanted, "{caller:?}");
            if asked {
                assert_eq!(
                    p.lists.last().unwrap()[1],
                    coverage_label(Coverage::Organization)
                );
                assert!(
                    summary(&config, &found)
                        .iter()
                        .any(|l| l.contains("every account of the whole organization")),
                );
            }
        }
        // The flag answers it: never asked.
        let flagged = InitArgs {
            coverage: Some(crate::cli::CoverageArg::Organization),
            ..args
        };
        let found = Discovery {
            organization: Some(Caller::Management),
            ..two_trails()
        };
        let mut p = ScriptedPrompter::new([Answer::Enter]);
        let config = ask_with(&mut p, &flagged, None, &found).unwrap();
        assert!(!p.asked.iter().any(|a| a == COVERAGE_PROMPT));
        assert_eq!(config.coverage, Coverage::Organization);
    }

    #[test]
    fn a_typed_trail_arn_that_discovery_did_not_see_lives_in_its_arns_region() {
        let found = Discovery {
            problems: vec!["cannot list trails in any region: no credentials".into()],
            ..Default::default()
        };
        let args = InitArgs {
            emails: vec!["a@example.com".into()],
            slack_webhook_url: Some(WEBHOOK.into()),
            ..Default::default()
        };
        let arn = "arn:aws:cloudtrail:ap-northeast-1:123456789012:trail/audit";
        let mut p = ScriptedPrompter::new([
            Answer::Select(1), // with no trails found, the list holds "create" and "type it"
            text("not a trail"),
            text(arn),
            Answer::Enter, // no alias, no account ID: no name
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
            Answer::Enter,
        ]);
        let config = ask_with(&mut p, &args, None, &found).unwrap();
        assert_eq!(p.lists[0].len(), 2);
        assert_eq!(config.trail.name.as_deref(), Some(arn));
        assert_eq!(config.region, "ap-northeast-1");
        assert_eq!(config.account_name, None);
        assert_eq!(p.errors.len(), 1);
        assert!(
            p.notes[0].contains("assuming it lives in ap-northeast-1"),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn esc_or_ctrl_c_cancels() {
        let found = two_trails();
        let args = InitArgs::default();
        let mut p = ScriptedPrompter::new([Answer::Enter, text("a@example.com"), Answer::Cancel]);
        assert!(matches!(
            ask_with(&mut p, &args, None, &found),
            Err(PromptError::Cancelled)
        ));
    }

    #[test]
    fn the_summary_says_what_happens_to_the_trail_and_never_shows_the_webhook() {
        let found = two_trails();
        let mut config = Config {
            name_prefix: DEFAULT_PREFIX.into(),
            account_name: Some("acme-prod".into()),
            scope: Scope::All,
            trail: TrailConfig {
                name: Some("audit-trail".into()),
                create: false,
            },
            notify: NotifyConfig {
                emails: vec!["a@example.com".into()],
                slack_webhook_url: Some(WEBHOOK.into()),
                teams_webhook_url: None,
                webhook_url: None,
            },
            ..crate::config::sample("eu-west-1")
        };
        let text = summary(&config, &found).join("\n");
        assert!(
            text.contains(
                "audit-trail (eu-west-1) is single-region: it will be made multi-region, sent to CloudWatch Logs and started (logging is off); destroy puts it back"
            ),
            "{text}"
        );
        assert!(text.contains("Slack webhook (set)"), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!redacted(&config).contains("SECRET"));

        config.trail = TrailConfig {
            name: None,
            create: true,
        };
        config.region = "us-east-1".into();
        let text = summary(&config, &found).join("\n");
        assert!(text.contains("a new multi-region trail login-alert-trail and its S3 bucket will be created in us-east-1"), "{text}");

        // A trail already delivering to a log group with both filter slots taken: said before anything is written.
        let mut full = found.clone();
        full.trails[1].trail.log_group_arn = Some(format!(
            "arn:aws:logs:us-east-1:{ACCOUNT}:log-group:trail-logs:*"
        ));
        full.trails[1].subscription_filters = Some(2);
        config.trail = TrailConfig {
            name: Some("main".into()),
            create: false,
        };
        let text = summary(&config, &full).join("\n");
        assert!(text.contains("main (us-east-1) is multi-region: it is kept as it is; its log group trail-logs already has 2 subscription filters"), "{text}");
        // After apply: the trail delivers to login-alert's own group, which holds login-alert's filter.
        let mut applied = found.clone();
        applied.trails[1].trail.log_group_arn = Some(format!(
            "arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/login-alert/cloudtrail:*"
        ));
        applied.trails[1].subscription_filters = Some(1);
        let text = summary(&config, &applied).join("\n");
        assert!(
            text.contains("main (us-east-1) is multi-region: it is kept as it is; it already delivers to login-alert's log group /login-alert/cloudtrail"),
            "{text}"
        );
        assert_eq!(
            trail_line(&full.trails[1], Some(ACCOUNT)),
            "main (us-east-1): multi-region, CloudWatch Logs trail-logs, 2 of 2 subscription filters used"
        );
    }
}
