//! `login-alert preview`: what the handler would send for the records in a file, without sending anything.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use login_alert_handler::limits::MAX_INPUT;
use login_alert_handler::settings::{Pipeline, parse_timezone};
use login_alert_handler::{PreviewFormat as HandlerFormat, Scope, Settings, preview_to};

use super::ExitStatus;
use crate::cli::{GlobalArgs, PreviewArgs, PreviewFormat};
use crate::config::Config;
use crate::printer::Printer;

pub async fn run(global: &GlobalArgs, args: &PreviewArgs, printer: &Printer) -> Result<ExitStatus> {
    let config = Config::load_if_exists(&global.config).with_context(|| {
        format!(
            "reading {} for the preview defaults",
            global.config.display()
        )
    })?;
    let settings = settings(args, config.as_ref())?;
    let input = read_input(&args.file)?;
    fit_pages_to(input.len());
    let format = match args.output {
        PreviewFormat::Text => HandlerFormat::Text,
        PreviewFormat::Email => HandlerFormat::Email,
        PreviewFormat::Slack => HandlerFormat::Slack,
        PreviewFormat::Teams => HandlerFormat::Teams,
        PreviewFormat::Webhook => HandlerFormat::Webhook,
        PreviewFormat::Json => HandlerFormat::Json,
    };
    let mut stdout = std::io::stdout().lock();
    let rendered = preview_to(&input, &settings, format, &mut stdout)
        .with_context(|| format!("cannot preview {}", args.file.display()))?;
    stdout.flush().context("writing the preview to stdout")?;
    drop(stdout);
    for problem in &rendered.problems {
        printer.warn(problem);
    }
    if format.channel().is_some() && rendered.alerts == 0 {
        printer.info(format!(
            "No alert: none of the {} record(s) is in scope `{}` ({}).",
            rendered.records,
            settings.scope,
            settings.scope.describe()
        ));
    }
    Ok(ExitStatus::Success)
}

/// Flags first, then the config file, then the handler's defaults (all scopes, the record's account ID, UTC, en).
fn settings(args: &PreviewArgs, config: Option<&Config>) -> Result<Settings> {
    let scope = match (args.scope, config) {
        (Some(scope), _) => Scope::from(scope),
        (None, Some(config)) => config.scope,
        (None, None) => Scope::All,
    };
    let account_name = args
        .account_name
        .clone()
        .or_else(|| config.and_then(|c| c.account_name.clone()));
    let zone = args
        .timezone
        .clone()
        .or_else(|| config.map(|c| c.timezone.clone()))
        .unwrap_or_else(|| "UTC".into());
    let Some(timezone) = parse_timezone(&zone) else {
        bail!(
            "`{zone}` is not an IANA time zone: pass --timezone with a name like UTC or Asia/Tokyo"
        );
    };
    let defaults = Settings::default();
    Ok(Settings {
        account_name,
        account_names: config.map(|c| c.account_names.clone()).unwrap_or_default(),
        timezone,
        scope,
        language: args
            .language
            .or(config.map(|c| c.language))
            .unwrap_or_default(),
        group_window_minutes: config
            .map(|c| c.group_window_minutes)
            .unwrap_or(defaults.group_window_minutes),
        alert_on: args
            .alert_on
            .or(config.map(|c| c.alert_on))
            .unwrap_or_default(),
        baseline_days: config
            .map(|c| c.baseline_days)
            .unwrap_or(defaults.baseline_days),
        pipeline: Pipeline {
            name_prefix: config.map(|c| c.name_prefix.clone()),
            trail_name: config.and_then(|c| c.trail.name.clone()),
            trail_log_group: None,
        },
        ..defaults
    })
}

/// The allocator (mimalloc) asks Linux for 2 MiB transparent huge pages, which `main` turns off for every
/// command: on a small input they only cost memory (a 1 MB batch peaked at 48 MB with them and 25 MB without).
/// A large batch turns them back on, since they save most of its page faults (a fifth of the 20,000-record
/// benchmark's time).
fn fit_pages_to(input_len: usize) {
    /// About 15 MB of CloudWatch Logs JSON once decompressed, or a 2 MiB log file.
    const HUGE_PAGES_FROM: usize = 2 << 20;
    if input_len >= HUGE_PAGES_FROM {
        crate::pages::huge_pages(true);
    }
}

/// Reads the whole input, refusing more than `MAX_INPUT` bytes so `/dev/zero` cannot exhaust memory.
fn read_input(file: &Path) -> Result<Vec<u8>> {
    let limit = MAX_INPUT;
    let mut input = Vec::new();
    let what = if file == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut input)
            .context("reading the event from stdin")?;
        "stdin".to_owned()
    } else {
        let opened = std::fs::File::open(file).with_context(|| {
            format!("cannot read {}: pass a file holding a CloudWatch Logs event, EventBridge event, CloudTrail log file or record", file.display())
        })?;
        // Room for the whole file at once, as `std::fs::read` makes: grown from nothing, a large event was
        // copied a dozen times over.
        let size = opened.metadata().map_or(0, |m| m.len()).min(limit + 1);
        input.reserve_exact(usize::try_from(size).unwrap_or(0).saturating_add(1));
        opened
            .take(limit + 1)
            .read_to_end(&mut input)
            .with_context(|| format!("cannot read {}", file.display()))?;
        file.display().to_string()
    };
    if input.len() as u64 > limit {
        bail!(
            "{what} holds more than {} MiB: preview reads at most that much. Pass one event or log file (a Lambda event is at most 1 MB), or split a large log file into smaller ones",
            limit / 1024 / 1024
        );
    }
    Ok(input)
}
