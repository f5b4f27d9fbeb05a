//! `login-alert policy`: the IAM policy the operator needs, gathered from what each command and each
//! part of the pipeline declares of its own calls.

use anyhow::{Result, bail};

use super::{ExitStatus, aws_options, init, test};
use crate::arn::is_account_id;
use crate::aws;
use crate::cli::{GlobalArgs, PolicyArgs, PolicyFormat};
use crate::config::{self, Config, NotifyConfig, Route, TrailConfig};
use crate::engine;
use crate::model::Target;
use crate::policy::{self, Document, Grant, MANAGED_POLICY_LIMIT, Statement};
use crate::printer::Printer;

/// Everything login-alert calls under `t`: the commands' own calls (`init`'s discovery, `test`'s
/// entrance), then every part's read, checks and operations. `plan`, `apply`, `destroy` and
/// `status` call nothing but the account's ID and the parts.
pub fn grants(t: &Target) -> Vec<Grant> {
    let mut grants = init::permissions(t);
    grants.extend(test::permissions(t));
    grants.extend(engine::permissions(t));
    grants
}

/// The policy document for `t`.
pub fn document(t: &Target) -> Document {
    policy::document(&policy::statements(&grants(t)))
}

/// The target the policy is for: only the region, the prefix and the mode of a config matter
/// (the trail choice does not: `init` makes it, and changing it is a plan like any other).
pub fn target(region: &str, prefix: &str, mode: Route, account: &str) -> Target {
    let config = Config {
        region: region.to_owned(),
        name_prefix: prefix.to_owned(),
        account_name: None,
        timezone: "UTC".into(),
        scope: Default::default(),
        log_retention_days: config::DEFAULT_RETENTION_DAYS,
        language: Default::default(),
        group_window_minutes: login_alert_handler::settings::DEFAULT_GROUP_WINDOW_MINUTES,
        account_names: Default::default(),
        mode,
        // The CIS controls' grants are left out until the policy is split in two documents: with
        // them the CloudWatch Logs policy passes IAM's size limit (see `Cis::permissions`).
        cis: false,
        trail: TrailConfig {
            name: None,
            create: true,
        },
        notify: NotifyConfig::default(),
    };
    Target::new(&config, account)
}

pub async fn run(global: &GlobalArgs, args: &PolicyArgs, printer: &Printer) -> Result<ExitStatus> {
    let config = Config::load_if_exists(&global.config)?;
    let prefix = match (&args.name_prefix, &config) {
        (Some(prefix), _) => prefix.clone(),
        (None, Some(config)) => config.name_prefix.clone(),
        (None, None) => config::DEFAULT_PREFIX.to_owned(),
    };
    if let Err(problem) = config::validate_prefix(&prefix) {
        bail!("--name-prefix: {} ({})", problem.problem, problem.fix);
    }
    let mode = args
        .mode
        .map(Route::from)
        .or(config.as_ref().map(|c| c.mode))
        .unwrap_or_default();
    if let Some(account) = &args.account
        && account != "*"
        && !is_account_id(account)
    {
        bail!(
            "--account `{account}` is not an account ID: give the 12 digits (e.g. 123456789012), or `*` for a policy that fits any account"
        );
    }
    let options = aws_options(global, config.as_ref().map(|c| c.region.as_str()))?;
    let sdk = aws::load(&options).await?;
    let region = match &config {
        Some(config) => config.region.clone(),
        None => aws::region_of(&sdk)?,
    };
    let account = match &args.account {
        Some(account) => account.clone(),
        None => aws::account_id(&aws::Clients::new(&sdk).sts)
            .await
            .map_err(|err| {
                err.context(
                    "pass --account ACCOUNT_ID (or --account '*') to print the policy without credentials",
                )
            })?,
    };
    let t = target(&region, &prefix, mode, &account);
    let statements = policy::statements(&grants(&t));
    let document = policy::document(&statements);
    if let Some(warning) = too_large(&document) {
        printer.warn(warning);
    }
    match args.output {
        PolicyFormat::Json => printer.out(document.to_pretty()),
        PolicyFormat::Text => printer.out(text(&t, &statements)),
    }
    Ok(ExitStatus::Success)
}

/// Said when the document does not fit in a customer managed policy (a long prefix makes it longer).
fn too_large(document: &Document) -> Option<String> {
    let size = document.size();
    (size > MANAGED_POLICY_LIMIT).then(|| {
        format!(
            "the policy is {size} characters, more than the {MANAGED_POLICY_LIMIT} a customer managed policy holds: \
             attach it as an inline policy of a role or an IAM Identity Center permission set (up to 10,240), \
             or choose a shorter name prefix"
        )
    })
}

/// Each statement as what it allows on what, under its label, for review.
fn text(t: &Target, statements: &[Statement]) -> String {
    let mut out = format!(
        "IAM policy for login-alert in account {}, home region {}, mode {}, name prefix {}\n\
         (`login-alert policy --output json` prints the document to attach to the operator)\n",
        t.account_id(),
        t.region(),
        t.route.as_str(),
        t.names.prefix
    );
    for s in statements {
        out.push_str(&format!(
            "\n{}\n  allow  {}\n",
            s.label,
            s.actions.join(", ")
        ));
        for (i, resource) in s.resources.iter().enumerate() {
            let label = if i == 0 { "on" } else { "" };
            out.push_str(&format!("  {label:<5}  {resource}\n"));
        }
        if let Some(condition) = &s.condition {
            out.push_str(&format!("  when   {condition}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_policy(mode: Route) -> String {
        let t = target("us-east-1", config::DEFAULT_PREFIX, mode, "*");
        document(&t).to_pretty() + "\n"
    }

    /// `assets/` holds what the command prints for the default config; regenerate with
    /// `cargo run -- --config /nonexistent/login-alert.toml policy --account '*' --region us-east-1 [--mode eventbridge] --output json`.
    #[test]
    fn the_documented_policies_are_what_the_command_prints() {
        for (mode, asset, file) in [
            (
                Route::CloudwatchLogs,
                include_str!("../../assets/operator-policy.json"),
                "assets/operator-policy.json",
            ),
            (
                Route::Eventbridge,
                include_str!("../../assets/operator-policy-eventbridge.json"),
                "assets/operator-policy-eventbridge.json",
            ),
        ] {
            assert!(
                default_policy(mode) == asset,
                "{file} differs from `login-alert policy --account '*' --region us-east-1 --mode {} --output json`: \
                 regenerate it (see this test's comment) and review the difference",
                mode.as_str()
            );
        }
    }

    /// The default prefix fits in a customer managed policy wherever the account is; a long prefix
    /// may not, and then the command says what to do instead.
    #[test]
    fn the_policy_fits_in_a_managed_policy_or_the_command_says_so() {
        for mode in Route::ALL {
            let t = target(
                "ap-southeast-7",
                config::DEFAULT_PREFIX,
                mode,
                "123456789012",
            );
            let doc = document(&t);
            assert_eq!(
                too_large(&doc),
                None,
                "{}: {} characters",
                mode.as_str(),
                doc.size()
            );
        }
        let huge = policy::document(&policy::statements(&[Grant::new(
            "Buckets",
            ["s3:ListBucket"],
            (0..200).map(|i| format!("arn:aws:s3:::bucket-{i:040}")),
        )]));
        let warning = too_large(&huge).unwrap();
        assert!(warning.contains("inline policy"), "{warning}");
    }

    #[test]
    fn the_partition_account_and_region_are_the_configs() {
        let t = target("cn-north-1", "acme", Route::CloudwatchLogs, "123456789012");
        let text = serde_json::to_string(&document(&t)).unwrap();
        assert!(text.contains("arn:aws-cn:iam::123456789012:role/acme-handler"));
        assert!(text.contains("arn:aws-cn:lambda:cn-north-1:123456789012:function:acme-handler"));
        assert!(!text.contains("arn:aws:"), "{text}");
        assert!(!text.contains("login-alert-"), "{text}");
    }

    fn statements_for(mode: Route) -> Vec<Statement> {
        policy::statements(&grants(&target(
            "eu-west-1",
            "login-alert",
            mode,
            "123456789012",
        )))
    }

    fn with<'a>(statements: &'a [Statement], action: &str) -> Vec<&'a Statement> {
        statements
            .iter()
            .filter(|s| s.actions.contains(&action))
            .collect()
    }

    #[test]
    fn each_mode_writes_only_its_own_pieces_and_removes_the_others() {
        let logs = statements_for(Route::CloudwatchLogs);
        let events = statements_for(Route::Eventbridge);
        // The digest schedule is the one rule every mode puts.
        let put_rules: Vec<&Vec<String>> = with(&logs, "events:PutRule")
            .iter()
            .map(|s| &s.resources)
            .collect();
        assert_eq!(
            put_rules,
            [&vec![
                "arn:aws:events:eu-west-1:123456789012:rule/login-alert-digest".to_owned()
            ]]
        );
        assert!(with(&logs, "events:PutEvents").is_empty());
        assert!(!with(&logs, "events:DeleteRule").is_empty());
        assert!(with(&events, "logs:PutSubscriptionFilter").is_empty());
        assert!(with(&events, "logs:PutLogEvents").is_empty());
        assert!(!with(&events, "logs:DeleteSubscriptionFilter").is_empty());
        let passed_to = |statements: &[Statement]| -> Vec<String> {
            let mut services: Vec<String> = with(statements, "iam:PassRole")
                .iter()
                .map(|s| {
                    let condition = s
                        .condition
                        .as_ref()
                        .expect("PassRole only with a condition");
                    condition["StringEquals"]["iam:PassedToService"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect();
            services.sort();
            services
        };
        assert_eq!(
            passed_to(&logs),
            ["cloudtrail.amazonaws.com", "lambda.amazonaws.com"]
        );
        assert_eq!(
            passed_to(&events),
            ["events.amazonaws.com", "lambda.amazonaws.com"]
        );
    }

    #[test]
    fn unsubscribe_is_on_star_because_iam_matches_it_on_nothing_else() {
        let all = statements_for(Route::CloudwatchLogs);
        let unsubscribe = with(&all, "sns:Unsubscribe");
        assert_eq!(unsubscribe.len(), 1);
        assert_eq!(unsubscribe[0].resources, ["*"]);
        assert!(with(&all, "sns:Subscribe")[0].resources[0].ends_with(":login-alert-alerts"));
    }

    #[test]
    fn writes_name_only_login_alerts_resources() {
        // Every write is on a name from the prefix, except what the adopted trail needs (any trail
        // of the home region, the filter and the test stream on the group it delivers to) and the
        // test event `login-alert test` puts on the home region's default bus.
        for mode in Route::ALL {
            for s in statements_for(mode) {
                let writes = s.actions.iter().any(|a| {
                    let verb = a.split(':').nth(1).unwrap();
                    !["Get", "List", "Describe", "Filter", "Test"]
                        .iter()
                        .any(|read| verb.starts_with(read))
                });
                if !writes || s.label == policy::ANYWHERE {
                    continue;
                }
                for resource in &s.resources {
                    assert!(
                        resource.contains("login-alert")
                            || resource == "arn:aws:cloudtrail:eu-west-1:123456789012:trail/*"
                            || resource == "arn:aws:logs:eu-west-1:123456789012:log-group:*"
                            || resource
                                == "arn:aws:events:eu-west-1:123456789012:event-bus/default",
                        "{}: {} on {resource}",
                        s.label,
                        s.actions.join(", ")
                    );
                }
            }
        }
    }
}
