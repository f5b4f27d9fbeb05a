//! The rule for each field of the config: what a value must be, and the fix when it is not.

use std::str::FromStr;

use email_address::EmailAddress;
use login_alert_handler::settings::{
    DEFAULT_BASELINE_DAYS, DEFAULT_GROUP_WINDOW_MINUTES, MAX_BASELINE_DAYS,
    MAX_GROUP_WINDOW_MINUTES,
};

use super::{DEFAULT_PREFIX, Problem, RETENTION_DAYS, Route};
use crate::arn::Arn;
use crate::regions;

const MAX_PREFIX_LEN: usize = 24;
const MAX_ACCOUNT_NAME_LEN: usize = 40;

/// A region of a partition login-alert knows; a near miss is answered with the region meant.
pub fn validate_region(region: &str) -> Result<(), Problem> {
    if regions::is_known(region) {
        return Ok(());
    }
    let near = regions::nearest(region);
    Err(Problem {
        field: "region",
        problem: format!("`{region}` is not an AWS region code"),
        fix: if near.is_empty() {
            "use a region code such as us-east-1 or ap-northeast-1; for an adopted trail, its home region"
                .into()
        } else {
            format!("did you mean {}?", regions::or_list(&near))
        },
    })
}

/// EventBridge does not route events between Regions in the China and GovCloud partitions
/// (EventBridge user guide, "Sending and receiving events between AWS Regions"): the forwarding
/// rules of EventBridge mode could not reach the home region, so only CloudWatch Logs is left there.
pub fn validate_mode(region: &str, mode: Route) -> Result<(), Problem> {
    let partition = match crate::names::partition_of(region) {
        "aws-cn" => "China (aws-cn)",
        "aws-us-gov" => "AWS GovCloud (US) (aws-us-gov)",
        _ => return Ok(()),
    };
    if !mode.uses_eventbridge() {
        return Ok(());
    }
    Err(Problem {
        field: "mode",
        problem: format!(
            "`{}` needs EventBridge to forward events from every region to the home region {region}, and cross-Region event \
             routing is not supported in the {partition} partition",
            mode.as_str()
        ),
        fix: "use mode = \"cloudwatch-logs\" (the default; `init --mode cloudwatch-logs`): the multi-region trail delivers every \
              region's events to one log group in the home region"
            .into(),
    })
}

pub fn validate_prefix(prefix: &str) -> Result<(), Problem> {
    let problem = |what: &str| Problem {
        field: "name_prefix",
        problem: format!("`{prefix}` {what}"),
        fix: format!(
            "use 1-{MAX_PREFIX_LEN} lowercase letters, digits and hyphens, starting with a letter, e.g. `{DEFAULT_PREFIX}`"
        ),
    };
    if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN {
        return Err(problem(&format!(
            "is not 1-{MAX_PREFIX_LEN} characters long"
        )));
    }
    if !prefix
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(problem(
            "may hold only lowercase letters, digits and hyphens",
        ));
    }
    if !prefix.as_bytes()[0].is_ascii_lowercase() || prefix.ends_with('-') || prefix.contains("--")
    {
        return Err(problem(
            "must start with a letter and not end with or repeat a hyphen",
        ));
    }
    // SSM parameter names (used for the Slack secret) may not start with these.
    if prefix.starts_with("aws") || prefix.starts_with("ssm") {
        return Err(problem(
            "must not start with `aws` or `ssm` (reserved by AWS)",
        ));
    }
    Ok(())
}

pub fn validate_account_name(name: &str) -> Result<(), Problem> {
    // It goes into SNS subjects, which must be printable ASCII.
    if name.is_empty()
        || name.len() > MAX_ACCOUNT_NAME_LEN
        || !name.bytes().all(|b| (0x20..0x7f).contains(&b))
    {
        return Err(Problem {
            field: "account_name",
            problem: format!("`{name}` is not 1-{MAX_ACCOUNT_NAME_LEN} printable ASCII characters"),
            fix: "use a short ASCII name such as `prod` (it appears in email subjects)".into(),
        });
    }
    Ok(())
}

/// The grouping window: whole minutes, at least one, at most a day (the handler enforces the same bound).
pub fn validate_window(minutes: u32) -> Result<(), Problem> {
    if (1..=MAX_GROUP_WINDOW_MINUTES).contains(&minutes) {
        Ok(())
    } else {
        Err(Problem {
            field: "group_window_minutes",
            problem: format!("{minutes} is not a grouping window"),
            fix: format!(
                "use a whole number of minutes from 1 to {MAX_GROUP_WINDOW_MINUTES} (default {DEFAULT_GROUP_WINDOW_MINUTES})"
            ),
        })
    }
}

/// The baseline's length: whole days, at least one, at most `MAX_BASELINE_DAYS` (the handler enforces the same).
pub fn validate_baseline_days(days: u32) -> Result<(), Problem> {
    if (1..=MAX_BASELINE_DAYS).contains(&days) {
        return Ok(());
    }
    Err(Problem {
        field: "baseline_days",
        problem: format!("{days} is not a baseline length"),
        fix: format!(
            "use a whole number of days from 1 to {MAX_BASELINE_DAYS} (default {DEFAULT_BASELINE_DAYS})"
        ),
    })
}

/// DynamoDB's item size quota (400 KB, attribute names and values counted in UTF-8 bytes): the
/// account-names item the CLI writes and the function reads must fit in it.
pub const MAX_NAMES_ITEM_BYTES: usize = 400 * 1024;

/// The bytes the account-names item takes, counted above what DynamoDB counts: its key and
/// attribute names (under 64 bytes), then per name the ID, the name and 4 bytes (DynamoDB adds
/// 1 byte per map element).
pub fn names_item_bytes<'a>(names: impl IntoIterator<Item = (&'a str, &'a str)>) -> usize {
    64 + names
        .into_iter()
        .map(|(id, name)| id.len() + name.len() + 4)
        .sum::<usize>()
}

/// One `[account_names]` entry: a 12-digit account ID and a name fit for an email subject.
pub fn validate_named_account(id: &str, name: &str) -> Result<(), Problem> {
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem {
            field: "account_names",
            problem: format!("`{id}` is not an AWS account ID"),
            fix: "write each entry as \"123456789012\" = \"name\", the key being the 12-digit account ID (quoted)".into(),
        });
    }
    validate_account_name(name).map_err(|p| Problem {
        field: "account_names",
        problem: format!("the name of {id}: {}", p.problem),
        fix: p.fix,
    })
}

pub fn validate_timezone(zone: &str) -> Result<(), Problem> {
    chrono_tz::Tz::from_str(zone)
        .map(|_| ())
        .map_err(|_| Problem {
            field: "timezone",
            problem: format!("`{zone}` is not an IANA time zone"),
            fix: "use a name from the tz database such as UTC, Asia/Tokyo or Europe/Paris".into(),
        })
}

pub fn validate_retention(days: i32) -> Result<(), Problem> {
    if RETENTION_DAYS.contains(&days) {
        Ok(())
    } else {
        Err(Problem {
            field: "log_retention_days",
            problem: format!("{days} is not a retention CloudWatch Logs accepts"),
            fix: format!("use one of {RETENTION_DAYS:?}"),
        })
    }
}

/// A trail name (3-128 of letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit) or a trail ARN.
pub fn validate_trail_name(name: &str) -> Result<(), Problem> {
    let arn = Arn::parse(name).filter(|arn| arn.service == "cloudtrail");
    if let Some(arn) = arn
        && let Err(problem) = validate_region(arn.region)
    {
        return Err(Problem {
            field: "trail.name",
            problem: format!("the region in the trail ARN `{name}`: {}", problem.problem),
            fix: problem.fix,
        });
    }
    let bare = match (name.starts_with("arn:"), arn) {
        (false, _) => name,
        (true, Some(arn)) if validate_region(arn.region).is_ok() && arn.has_account_id() => {
            arn.resource_of("trail").unwrap_or("")
        }
        (true, _) => "",
    };
    let ok = (3..=128).contains(&bare.len())
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && bare.as_bytes()[0].is_ascii_alphanumeric()
        && bare.as_bytes()[bare.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(Problem {
            field: "trail.name",
            problem: format!("`{name}` is not a trail name or trail ARN"),
            fix: "use the trail's name (3-128 letters, digits, . _ -) or its ARN arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME"
                .into(),
        })
    }
}

pub fn validate_email(email: &str) -> Result<(), Problem> {
    if EmailAddress::is_valid(email) && email.contains('.') {
        Ok(())
    } else {
        Err(Problem {
            field: "notify.emails",
            problem: format!("`{email}` is not an email address"),
            fix: "write each address as name@example.com".into(),
        })
    }
}

pub fn validate_slack_webhook(raw: &str) -> Result<(), Problem> {
    // Never echo the URL: it is a secret.
    let problem = |what: &str| Problem {
        field: "notify.slack_webhook_url",
        problem: what.into(),
        fix: "paste the incoming-webhook URL Slack shows, https://hooks.slack.com/services/T…/B…/…"
            .into(),
    };
    let url = url::Url::parse(raw).map_err(|_| problem("is not a URL"))?;
    if url.scheme() != "https" {
        return Err(problem("must use https"));
    }
    if !matches!(
        url.host_str(),
        Some("hooks.slack.com" | "hooks.slack-gov.com")
    ) {
        return Err(problem(
            "is not a Slack webhook (host must be hooks.slack.com)",
        ));
    }
    if url.path().len() <= 1 {
        return Err(problem("has no webhook path"));
    }
    Ok(())
}

/// An https URL with a host and a path; the URL itself is never echoed (it is a secret).
fn validate_secret_url(raw: &str, field: &'static str, fix: &str) -> Result<url::Url, Problem> {
    let problem = |what: &str| Problem {
        field,
        problem: what.into(),
        fix: fix.into(),
    };
    let url = url::Url::parse(raw).map_err(|_| problem("is not a URL"))?;
    if url.scheme() != "https" {
        return Err(problem("must use https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(problem("has no host"));
    }
    if url.path().len() <= 1 {
        return Err(problem("has no webhook path"));
    }
    Ok(url)
}

/// A Teams Workflows webhook: Microsoft hosts them under several domains (logic.azure.com,
/// api.powerplatform.com, …), so only https, a host and a path are required.
pub fn validate_teams_webhook(raw: &str) -> Result<(), Problem> {
    validate_secret_url(
        raw,
        "notify.teams_webhook_url",
        "paste the URL the Teams workflow \"Post to a channel when a webhook request is received\" shows (https://…)",
    )
    .map(|_| ())
}

/// A generic JSON webhook: any https endpoint.
pub fn validate_webhook(raw: &str) -> Result<(), Problem> {
    validate_secret_url(
        raw,
        "notify.webhook_url",
        "use the https URL of the endpoint that receives each alert as JSON",
    )
    .map(|_| ())
}
