//! `login-alert init`: write the config from flags, the existing file and what the account tells.

use std::io::IsTerminal;

use anyhow::{Result, bail};

use super::{ExitStatus, aws_options};
use crate::aws::{self, Clients};
use crate::cli::{GlobalArgs, InitArgs};
use crate::config::{
    self, Config, DEFAULT_PREFIX, DEFAULT_RETENTION_DAYS, NotifyConfig, TrailConfig,
};
use crate::discovery;
use crate::installer;
use crate::printer::Printer;

pub async fn run(global: &GlobalArgs, args: &InitArgs, printer: &Printer) -> Result<ExitStatus> {
    let existing = match Config::load_if_exists(&global.config) {
        Ok(existing) => existing,
        Err(err) => {
            printer.warn(format!("{err}\n  starting from defaults instead"));
            None
        }
    };
    // Without a terminal nothing is ever asked: the flags must answer everything (or the error names what is missing).
    let interactive =
        !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if interactive {
        return installer::run(global, args, existing.as_ref(), printer).await;
    }
    let config = from_flags(global, args, existing.as_ref(), printer).await?;
    config.validate()?;
    config.save(&global.config)?;
    printer.info(format!(
        "Wrote {}. Next: `login-alert plan` to review the changes, then `login-alert apply`.",
        global.config.display()
    ));
    Ok(ExitStatus::Success)
}

/// Checks every flag that needs no AWS call, so bad input fails before any request.
pub fn check_flags(args: &InitArgs) -> Result<()> {
    let mut problems = Vec::new();
    let mut check = |r: Result<(), config::Problem>| {
        if let Err(p) = r {
            problems.push(p);
        }
    };
    if let Some(trail) = &args.trail {
        check(config::validate_trail_name(trail));
    }
    for email in &args.emails {
        check(config::validate_email(email));
    }
    if let Some(url) = &args.slack_webhook_url {
        check(config::validate_slack_webhook(url));
    }
    if let Some(name) = &args.account_name {
        check(config::validate_account_name(name));
    }
    if let Some(zone) = &args.timezone {
        check(config::validate_timezone(zone));
    }
    if let Some(prefix) = &args.name_prefix {
        check(config::validate_prefix(prefix));
    }
    if let Some(days) = args.log_retention_days {
        check(config::validate_retention(days));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(config::ConfigError::Invalid(problems).into())
    }
}

/// The system's IANA zone, else UTC.
pub fn system_timezone() -> String {
    iana_time_zone::get_timezone()
        .ok()
        .filter(|zone| config::validate_timezone(zone).is_ok())
        .unwrap_or_else(|| "UTC".into())
}

/// Builds the config without asking: flags first, then the existing file, then discovered defaults.
pub async fn from_flags(
    global: &GlobalArgs,
    args: &InitArgs,
    existing: Option<&Config>,
    printer: &Printer,
) -> Result<Config> {
    check_flags(args)?;
    let trail = if let Some(name) = &args.trail {
        TrailConfig {
            name: Some(name.clone()),
            create: false,
        }
    } else if args.create_trail {
        TrailConfig {
            name: None,
            create: true,
        }
    } else if let Some(existing) = existing {
        existing.trail.clone()
    } else {
        TrailConfig::default()
    };
    let notify = NotifyConfig {
        emails: if args.emails.is_empty() {
            existing
                .map(|c| c.notify.emails.clone())
                .unwrap_or_default()
        } else {
            args.emails.clone()
        },
        slack_webhook_url: args
            .slack_webhook_url
            .clone()
            .or_else(|| existing.and_then(|c| c.notify.slack_webhook_url.clone())),
    };
    let mut missing = Vec::new();
    if trail.name.is_none() && !trail.create {
        missing.push("--trail NAME (or --create-trail)");
    }
    if notify.emails.is_empty() && notify.slack_webhook_url.is_none() {
        missing.push("--email ADDRESS (or --slack-webhook-url URL)");
    }
    if !missing.is_empty() {
        bail!(
            "init cannot ask without a terminal and these answers are missing: {}",
            missing.join(", ")
        );
    }

    // What only the account can tell: where the trail lives, the account's alias.
    let sdk = aws::load(&aws_options(global, None)).await;
    let start_region = match (&global.region, sdk.region()) {
        (Some(region), _) => region.clone(),
        (None, Some(region)) => region.to_string(),
        (None, None) => existing
            .map(|c| c.region.clone())
            .unwrap_or_else(|| "us-east-1".into()),
    };
    let clients = Clients::new(&sdk);
    let account = aws::account_id(&clients.sts).await?;
    let region = match (&trail.name, existing) {
        (Some(name), Some(existing)) if existing.trail.name.as_deref() == Some(name) => {
            existing.region.clone()
        }
        (Some(name), _) => {
            let step = printer.step(format!("Looking for trail {name} in account {account}"));
            let found = discovery::find_trail(&sdk, &start_region, name).await;
            match &found {
                Ok(_) => step.done(),
                Err(_) => step.failed(),
            }
            let found = found?;
            if found.organization && found.owner_account() != Some(account.as_str()) {
                bail!(
                    "trail {} is an organization trail owned by account {}: it can only be changed from that management account (or a delegated administrator). Run login-alert there, or pass --create-trail to give this account a trail of its own",
                    found.name,
                    found.owner_account().unwrap_or("?")
                );
            }
            found.home_region
        }
        (None, _) => global
            .region
            .clone()
            .or_else(|| existing.map(|c| c.region.clone()))
            .unwrap_or(start_region),
    };
    let account_name = match (
        &args.account_name,
        existing.and_then(|c| c.account_name.clone()),
    ) {
        (Some(name), _) => Some(name.clone()),
        (None, Some(name)) => Some(name),
        (None, None) => discovery::account_alias(&clients.iam)
            .await
            .filter(|a| config::validate_account_name(a).is_ok()),
    };
    Ok(Config {
        region,
        name_prefix: args
            .name_prefix
            .clone()
            .or_else(|| existing.map(|c| c.name_prefix.clone()))
            .unwrap_or_else(|| DEFAULT_PREFIX.into()),
        account_name,
        timezone: args
            .timezone
            .clone()
            .or_else(|| existing.map(|c| c.timezone.clone()))
            .unwrap_or_else(system_timezone),
        scope: args
            .scope
            .map(Into::into)
            .or_else(|| existing.map(|c| c.scope))
            .unwrap_or_default(),
        log_retention_days: args
            .log_retention_days
            .or_else(|| existing.map(|c| c.log_retention_days))
            .unwrap_or(DEFAULT_RETENTION_DAYS),
        trail,
        notify,
    })
}
