//! `login-alert preview`: what the handler would send for the records in a file, without sending anything.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use login_alert_handler::settings::parse_timezone;
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
    let format = match args.output {
        PreviewFormat::Text => HandlerFormat::Text,
        PreviewFormat::Email => HandlerFormat::Email,
        PreviewFormat::Slack => HandlerFormat::Slack,
        PreviewFormat::Json => HandlerFormat::Json,
    };
    // Streamed: a 20,000-record batch renders to tens of megabytes, written in large blocks as it is produced.
    let mut stdout = std::io::stdout().lock();
    let rendered = preview_to(&input, &settings, format, &mut stdout)
        .with_context(|| format!("cannot preview {}", args.file.display()))?;
    stdout.flush().context("writing the preview to stdout")?;
    drop(stdout);
    for problem in &rendered.problems {
        printer.warn(problem);
    }
    if matches!(args.output, PreviewFormat::Email | PreviewFormat::Slack) && rendered.alerts == 0 {
        printer.info(format!(
            "No alert: none of the {} record(s) is in scope `{}` ({}).",
            rendered.records,
            settings.scope,
            settings.scope.describe()
        ));
    }
    Ok(ExitStatus::Success)
}

/// Flags first, then the config file, then the handler's defaults (all scopes, the record's account ID, UTC).
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
    Ok(Settings {
        account_name,
        timezone,
        scope,
    })
}

fn read_input(file: &Path) -> Result<Vec<u8>> {
    let mut input = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .lock()
            .read_to_end(&mut input)
            .context("reading the event from stdin")?;
    } else {
        input = std::fs::read(file).with_context(|| {
            format!("cannot read {}: pass a file holding a CloudWatch Logs event, EventBridge event, CloudTrail log file or record", file.display())
        })?;
    }
    Ok(input)
}
