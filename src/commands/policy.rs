//! `login-alert policy`: the IAM policy the operator needs, gathered from what each command and each
//! part of the pipeline declares of its own calls.

use anyhow::{Result, bail};
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{ExitStatus, aws_options, init, test};
use crate::arn::is_account_id;
use crate::aws;
use crate::cli::{GlobalArgs, PolicyArgs, PolicyDocument, PolicyFormat};
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

/// The services whose actions the `trail` managed policy holds (where the events come from and how
/// they travel); the `function` one holds every other service, so no action can fall between them.
pub const TRAIL_SERVICES: [&str; 5] = ["account", "cloudtrail", "events", "logs", "s3"];

/// The two managed policies, in the order they are printed.
pub const DOCUMENTS: [PolicyDocument; 2] = [PolicyDocument::Trail, PolicyDocument::Function];

/// One of the operator's customer managed policies: all of login-alert's grants would not fit in
/// one (6,144 characters), so they are split by service, the same way for every config.
#[derive(Debug, Clone)]
pub struct Managed {
    pub part: PolicyDocument,
    /// `PREFIX-operator-trail` or `PREFIX-operator-function`: the name to create it under.
    pub name: String,
    pub statements: Vec<Statement>,
    pub document: Document,
}

pub fn part_name(part: PolicyDocument) -> &'static str {
    match part {
        PolicyDocument::Trail => "trail",
        PolicyDocument::Function => "function",
    }
}

/// The operator's managed policies for `t`; together they allow exactly what [`grants`] holds.
pub fn policies(t: &Target) -> Vec<Managed> {
    let grants = grants(t);
    DOCUMENTS
        .into_iter()
        .map(|part| {
            let in_trail = part == PolicyDocument::Trail;
            let statements = policy::statements(&policy::only(&grants, |service| {
                TRAIL_SERVICES.contains(&service) == in_trail
            }));
            Managed {
                part,
                name: format!("{}-operator-{}", t.names.prefix, part_name(part)),
                document: policy::document(&statements),
                statements,
            }
        })
        .collect()
}

/// `--output json` without `--document`: each document under its managed policy's name.
struct ByName<'a>(&'a [Managed]);

impl Serialize for ByName<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for managed in self.0 {
            map.serialize_entry(&managed.name, &managed.document)?;
        }
        map.end()
    }
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
        alert_on: Default::default(),
        baseline_days: login_alert_handler::settings::DEFAULT_BASELINE_DAYS,
        account_names: Default::default(),
        mode,
        // The CIS controls' grants do not depend on it (see `Cis::permissions`).
        cis: false,
        coverage: Default::default(),
        organization_units: Vec::new(),
        trail: TrailConfig {
            name: None,
            create: true,
        },
        notify: NotifyConfig::default(),
        routes: Vec::new(),
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
    if let Err(problem) = config::validate_mode(&region, mode) {
        bail!("{}: {} ({})", problem.field, problem.problem, problem.fix);
    }
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
    let mut t = target(&region, &prefix, mode, &account);
    // Organization coverage reads (and deploys to) the organization: its grants come with it.
    if let Some(config) = &config {
        t.coverage = config.coverage;
    }
    let mut all = policies(&t);
    if let Some(part) = args.document {
        all.retain(|m| m.part == part);
    }
    for managed in &all {
        if let Some(warning) = too_large(managed) {
            printer.warn(warning);
        }
    }
    match (args.output, args.document) {
        (PolicyFormat::Json, Some(_)) => printer.out(all[0].document.to_pretty()),
        (PolicyFormat::Json, None) => printer
            .out(serde_json::to_string_pretty(&ByName(&all)).expect("policy documents serialize")),
        (PolicyFormat::Text, _) => printer.out(text(&t, &all)),
    }
    Ok(ExitStatus::Success)
}

/// Said when a document does not fit in a customer managed policy (a long prefix makes it longer).
fn too_large(managed: &Managed) -> Option<String> {
    let size = managed.document.size();
    (size > MANAGED_POLICY_LIMIT).then(|| {
        format!(
            "policy {} is {size} characters, more than the {MANAGED_POLICY_LIMIT} a customer managed policy holds: \
             attach it as an inline policy of a role or an IAM Identity Center permission set (up to 10,240), \
             or choose a shorter name prefix",
            managed.name
        )
    })
}

/// Each managed policy, then each of its statements as what it allows on what, under its label, for review.
fn text(t: &Target, all: &[Managed]) -> String {
    let mut out = format!(
        "IAM policies for login-alert in account {}, home region {}, mode {}, name prefix {}\n\
         (attach both customer managed policies to the operator; `login-alert policy --output json --document trail`\n\
         and `--document function` print each document for `aws iam create-policy --policy-document`)\n",
        t.account_id(),
        t.region(),
        t.route.as_str(),
        t.names.prefix
    );
    for managed in all {
        out.push_str(&format!(
            "\n== {} ({} of the {MANAGED_POLICY_LIMIT} characters a managed policy holds)\n",
            managed.name,
            managed.document.size()
        ));
        for s in &managed.statements {
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
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_policy(mode: Route, part: PolicyDocument) -> String {
        let t = target("us-east-1", config::DEFAULT_PREFIX, mode, "*");
        let managed = policies(&t).into_iter().find(|m| m.part == part).unwrap();
        managed.document.to_pretty() + "\n"
    }

    /// `assets/` holds what the command prints for the default config, one file per document; regenerate with
    /// `cargo run -- --config /nonexistent/login-alert.toml policy --account '*' --region us-east-1 [--mode eventbridge] --output json --document trail|function`.
    #[test]
    fn the_documented_policies_are_what_the_command_prints() {
        for (mode, part, asset, file) in [
            (
                Route::CloudwatchLogs,
                PolicyDocument::Trail,
                include_str!("../../assets/operator-policy-trail.json"),
                "assets/operator-policy-trail.json",
            ),
            (
                Route::CloudwatchLogs,
                PolicyDocument::Function,
                include_str!("../../assets/operator-policy-function.json"),
                "assets/operator-policy-function.json",
            ),
            (
                Route::Eventbridge,
                PolicyDocument::Trail,
                include_str!("../../assets/operator-policy-eventbridge-trail.json"),
                "assets/operator-policy-eventbridge-trail.json",
            ),
            (
                Route::Eventbridge,
                PolicyDocument::Function,
                include_str!("../../assets/operator-policy-eventbridge-function.json"),
                "assets/operator-policy-eventbridge-function.json",
            ),
        ] {
            assert!(
                default_policy(mode, part) == asset,
                "{file} differs from `login-alert policy --account '*' --region us-east-1 --mode {} --output json --document {}`: \
                 regenerate it (see this test's comment) and review the difference",
                mode.as_str(),
                part_name(part)
            );
        }
    }

    /// Every document fits in a customer managed policy in every region of every partition, in
    /// every mode, for the default prefix and the longest one a config may have; were one ever
    /// too large, the command would say what to do instead.
    #[test]
    fn every_document_fits_in_a_managed_policy_everywhere_or_the_command_says_so() {
        let longest = "abcdefghijklmnopqrstuvwx";
        assert!(config::validate_prefix(longest).is_ok());
        assert!(config::validate_prefix(&format!("{longest}y")).is_err());
        let mut largest = (0, String::new());
        for region in ["us-east-1", "cn-north-1", "us-gov-west-1"]
            .into_iter()
            .flat_map(crate::regions::regions_for)
        {
            for mode in Route::ALL {
                for prefix in [config::DEFAULT_PREFIX, longest] {
                    let t = target(region, prefix, mode, "123456789012");
                    let all = policies(&t);
                    assert_eq!(all.len(), 2);
                    for managed in all {
                        let size = managed.document.size();
                        assert_eq!(
                            too_large(&managed),
                            None,
                            "{region} {} {prefix}: {} is {size} characters",
                            mode.as_str(),
                            managed.name
                        );
                        if prefix == config::DEFAULT_PREFIX && size > largest.0 {
                            largest =
                                (size, format!("{region} {} {}", mode.as_str(), managed.name));
                        }
                    }
                }
            }
        }
        // All of it in one document would not fit (it did not once lambda:ListTags was granted).
        let whole = policy::document(&policy::statements(&grants(&target(
            "us-gov-west-1",
            config::DEFAULT_PREFIX,
            Route::CloudwatchLogs,
            "123456789012",
        ))));
        assert!(whole.size() > MANAGED_POLICY_LIMIT, "{}", whole.size());
        assert!(largest.0 < MANAGED_POLICY_LIMIT, "{largest:?}");
        let huge = policy::document(&policy::statements(&[Grant::new(
            "Buckets",
            ["s3:ListBucket"],
            (0..200).map(|i| format!("arn:aws:s3:::bucket-{i:040}")),
        )]));
        let warning = too_large(&Managed {
            part: PolicyDocument::Trail,
            name: "login-alert-operator-trail".into(),
            statements: Vec::new(),
            document: huge,
        })
        .unwrap();
        assert!(
            warning.contains("inline policy") && warning.contains("login-alert-operator-trail"),
            "{warning}"
        );
    }

    /// Split by service, the two documents together allow exactly what the grants do: every action
    /// is in one of them, on the same resources, and none is in both.
    #[test]
    fn the_two_documents_split_the_grants_by_service_and_lose_nothing() {
        for mode in Route::ALL {
            let t = target("eu-west-1", config::DEFAULT_PREFIX, mode, "123456789012");
            let all = policies(&t);
            let [trail, function] = [&all[0], &all[1]];
            assert_eq!(trail.name, "login-alert-operator-trail");
            assert_eq!(function.name, "login-alert-operator-function");
            for grant in grants(&t) {
                for action in &grant.actions {
                    let home = if TRAIL_SERVICES.contains(&policy::service(action)) {
                        trail
                    } else {
                        function
                    };
                    for resource in &grant.resources {
                        assert!(
                            home.statements
                                .iter()
                                .any(|s| s.condition == grant.condition
                                    && s.actions.contains(action)
                                    && s.resources
                                        .iter()
                                        .any(|p| p == resource || policy::matches(p, resource))),
                            "{action} on {resource} is not in {}",
                            home.name
                        );
                    }
                }
            }
            // And nothing a grant does not hold, in the document of its service only.
            let granted = grants(&t);
            for m in [trail, function] {
                for s in &m.statements {
                    for action in &s.actions {
                        assert_eq!(
                            TRAIL_SERVICES.contains(&policy::service(action)),
                            m.part == PolicyDocument::Trail,
                            "{action} in {}",
                            m.name
                        );
                        for resource in &s.resources {
                            assert!(
                                granted.iter().any(|g| g.condition == s.condition
                                    && g.actions.contains(action)
                                    && g.resources.contains(resource)),
                                "{action} on {resource} in {} comes from no grant",
                                m.name
                            );
                        }
                    }
                }
            }
            let actions = |m: &Managed| -> Vec<&str> {
                m.statements
                    .iter()
                    .flat_map(|s| s.actions.iter().copied())
                    .collect()
            };
            assert!(actions(function).contains(&"lambda:ListTags"));
            assert!(actions(trail).contains(&"cloudtrail:GetTrailStatus"));
        }
    }

    #[test]
    fn the_partition_account_and_region_are_the_configs() {
        let t = target("cn-north-1", "acme", Route::CloudwatchLogs, "123456789012");
        let text: String = policies(&t)
            .iter()
            .map(|m| serde_json::to_string(&m.document).unwrap())
            .collect();
        assert!(text.contains("arn:aws-cn:iam::123456789012:role/acme-handler"));
        assert!(text.contains("arn:aws-cn:lambda:cn-north-1:123456789012:function:acme-handler"));
        assert!(!text.contains("arn:aws:"), "{text}");
        assert!(!text.contains("login-alert-"), "{text}");
    }

    #[test]
    fn json_names_each_document_by_its_managed_policy() {
        let all = policies(&target("eu-west-1", "acme", Route::Both, "123456789012"));
        let value: serde_json::Value =
            serde_json::from_str(&serde_json::to_string_pretty(&ByName(&all)).unwrap()).unwrap();
        let names: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(names.len(), 2);
        for m in &all {
            assert_eq!(value[&m.name], m.document.to_value());
        }
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
