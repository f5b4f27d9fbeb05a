//! The operator policy is enough: the life cycles (adopting a trail, creating one, EventBridge mode
//! with both mode switches) run through the real binary against moto with its request recorder on,
//! every recorded request is mapped to the IAM actions and resources it needs, and each must be
//! allowed by what `login-alert policy` prints for that config. The roles login-alert writes are
//! held to what the handler (run against moto) and CloudTrail, Lambda and EventBridge do with them.
//! And parliament finds nothing above LOW in any policy login-alert writes or documents, and every
//! action and resource of the generated policies is in the Service Authorization Reference.
//!
//! Where moto differs from AWS: it authorizes nothing, so a denial shows only here, in the
//! evaluation; and it delivers nothing (no CloudTrail delivery, no Lambda run, no cross-region
//! forwarding), so what those services do with login-alert's roles is written out from their
//! documentation (`roles::service_needs`) rather than recorded.

use crate::support;

mod evaluate;
mod handler_run;
mod iam_reference;
mod needs;
mod parliament;
mod roles;
mod tags;

use std::path::Path;
use std::process::Output;

use login_alert::resources::enabled_regions::ENV_ENABLED_REGIONS;
use serde_json::Value;
use support::{Account, Recorded, fresh_account, workdir};

use evaluate::allows;
use needs::{Need, needs};

const HOME: &str = "eu-west-1";
const TRAIL: &str = "audit-trail";

/// The real binary in one working directory, keeping every request each command made.
struct Session<'a> {
    account: &'a Account,
    dir: &'a Path,
    env: Vec<(&'static str, String)>,
    calls: Vec<Recorded>,
}

impl<'a> Session<'a> {
    fn new(account: &'a Account, dir: &'a Path) -> Self {
        Session {
            account,
            dir,
            env: Vec::new(),
            calls: Vec::new(),
        }
    }

    /// Runs `login-alert ARGS`; the requests it made are kept for the evaluation.
    fn run(&mut self, args: &[&str]) -> Output {
        let mark = self.account.requests().len();
        let mut cmd = self.account.cli(self.dir);
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        let out = cmd.args(args).output().expect("run login-alert");
        self.calls
            .extend(self.account.requests().into_iter().skip(mark));
        out
    }

    /// Runs it and insists on one of `codes`.
    fn expect(&mut self, args: &[&str], codes: &[i32]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.code().is_some_and(|c| codes.contains(&c)),
            "login-alert {} exited {:?}\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `login-alert policy --output json` for the config in the directory (the account from STS).
    fn policy(&mut self) -> Value {
        let out = self.expect(&["policy", "--output", "json"], &[0]);
        serde_json::from_slice(&out.stdout).expect("policy --output json prints JSON")
    }

    /// The calls made since the last `take`, leaving none behind.
    fn take(&mut self) -> Vec<Recorded> {
        std::mem::take(&mut self.calls)
    }

    fn set_config(&self, from: &str, to: &str) {
        let path = self.dir.join("login-alert.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from} not in the config:\n{text}");
        std::fs::write(path, text.replace(from, to)).unwrap();
    }
}

/// Every request of `calls` `policy` does not allow, as one line each (request, then the need).
fn denied(policy: &Value, calls: &[Recorded], account: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for call in calls {
        let label = format!("{} {} in {}", call.service, call.operation, call.region);
        match needs(call, account) {
            Ok(found) => lines.extend(
                found
                    .iter()
                    .filter(|need| !allows(policy, need))
                    .map(|need| format!("{label}: {need}")),
            ),
            Err(unknown) => lines.push(unknown),
        }
    }
    lines.sort();
    lines.dedup();
    lines
}

/// Fails naming every call the policy would refuse; returns how many distinct needs it allowed.
fn assert_allowed(policy: &Value, calls: &[Recorded], account: &str, what: &str) -> usize {
    let refused = denied(policy, calls, account);
    assert!(
        refused.is_empty(),
        "{what}: the policy does not allow {} of the calls made:\n  {}",
        refused.len(),
        refused.join("\n  ")
    );
    let mut all: Vec<Need> = calls
        .iter()
        .flat_map(|c| needs(c, account).unwrap())
        .collect();
    all.sort_by_key(ToString::to_string);
    all.dedup();
    all.len()
}

/// The recorded calls of `service` (to show that a life cycle made the calls it is said to).
fn operations(calls: &[Recorded], service: &str) -> Vec<String> {
    let mut ops: Vec<String> = calls
        .iter()
        .filter(|c| c.service == service)
        .map(|c| c.operation.clone())
        .collect();
    ops.sort();
    ops.dedup();
    ops
}

#[tokio::test(flavor = "multi_thread")]
async fn adopting_a_trail_init_to_destroy_calls_only_what_the_policy_allows() {
    let account = fresh_account().await;
    account.seed_single_region_trail(HOME, TRAIL).await;
    let dir = workdir();
    let mut s = Session::new(&account, dir.path());

    // Before `init` there is no config: the policy comes from flags (what an administrator does first).
    let before = s.expect(&["policy", "--region", HOME, "--output", "json"], &[0]);
    let before: Value = serde_json::from_slice(&before.stdout).unwrap();
    s.expect(
        &[
            "init",
            "--yes",
            "--trail",
            TRAIL,
            "--email",
            "secops@example.com",
            "--email",
            "oncall@example.com",
            "--slack-webhook-url",
            "https://hooks.slack.com/services/T0/B0/SECRET",
        ],
        &[0],
    );
    let policy = s.policy();
    assert_eq!(
        policy, before,
        "the config's policy is the one printed before init"
    );
    s.expect(&["plan", "--detailed-exitcode"], &[2]);
    s.expect(&["apply", "--yes"], &[0]);
    s.expect(&["status"], &[0, 2, 3]);
    s.expect(&["test", "--timeout", "1"], &[0, 3]);

    // The roles as deployed, held to what the handler, Lambda and CloudTrail do with them.
    roles::check_function_role(&account, "cloudwatch-logs").await;
    roles::check_cloudtrail_role(&account, HOME).await;

    // Drift: the filter deleted and the trail stopped by hand, one address dropped from the config
    // (its subscription goes: sns:Unsubscribe), the webhook parameter changed by the role check above.
    roles::drift_logs_mode(&account, HOME).await;
    s.set_config("    \"oncall@example.com\",\n", "");
    s.expect(&["plan", "--detailed-exitcode"], &[2]);
    s.expect(&["apply", "--yes"], &[0]);
    s.expect(&["plan", "--detailed-exitcode"], &[0]);
    s.expect(&["destroy", "--yes"], &[0]);

    let calls = s.take();
    for (service, op) in [
        ("cloudtrail", "UpdateTrail"),
        ("cloudtrail", "StartLogging"),
        ("sns", "Unsubscribe"),
        ("logs", "PutSubscriptionFilter"),
        ("logs", "PutLogEvents"),
        ("ssm", "PutParameter"),
        ("monitoring", "GetMetricData"),
    ] {
        assert!(
            operations(&calls, service).contains(&op.to_owned()),
            "the life cycle made no {service} {op}: {:?}",
            operations(&calls, service)
        );
    }
    let checked = assert_allowed(&policy, &calls, &account.id, "adopting a trail");
    assert!(checked > 100, "only {checked} distinct needs checked");
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_a_trail_init_to_destroy_calls_only_what_the_policy_allows() {
    let account = fresh_account().await;
    let dir = workdir();
    let mut s = Session::new(&account, dir.path());
    s.expect(
        &[
            "init",
            "--yes",
            "--create-trail",
            "--region",
            HOME,
            "--email",
            "secops@example.com",
        ],
        &[0],
    );
    let policy = s.policy();
    s.expect(&["apply", "--yes"], &[0]);
    s.expect(&["status"], &[0, 2, 3]);

    // Drift: the bucket's policy deleted and the function's log retention changed by hand.
    roles::drift_created_trail(&account, HOME).await;
    s.expect(&["plan", "--detailed-exitcode"], &[2]);
    s.expect(&["apply", "--yes"], &[0]);
    s.expect(&["destroy", "--yes"], &[0]);

    let calls = s.take();
    for (service, op) in [
        ("cloudtrail", "CreateTrail"),
        ("cloudtrail", "DeleteTrail"),
        ("s3", "PUT"),
        ("s3", "DELETE"),
    ] {
        assert!(
            calls
                .iter()
                .any(|c| c.service == service && (c.operation == op || c.method == op)),
            "the life cycle made no {service} {op}"
        );
    }
    assert_allowed(&policy, &calls, &account.id, "creating a trail");
}

#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_mode_and_both_switches_call_only_what_each_modes_policy_allows() {
    let account = fresh_account().await;
    account.seed_single_region_trail(HOME, TRAIL).await;
    let dir = workdir();
    let mut s = Session::new(&account, dir.path());
    // moto has no account:ListRegions: the enabled regions are named (the call is mapped in needs.rs).
    s.env
        .push((ENV_ENABLED_REGIONS, format!("{HOME},us-east-1")));
    s.expect(
        &[
            "init",
            "--yes",
            "--trail",
            TRAIL,
            "--mode",
            "eventbridge",
            "--email",
            "secops@example.com",
            "--slack-webhook-url",
            "https://hooks.slack.com/services/T0/B0/SECRET",
        ],
        &[0],
    );
    let eventbridge = s.policy();
    s.expect(&["apply", "--yes"], &[0]);
    s.expect(&["status"], &[0, 2, 3]);
    // moto's PutEvents raises NotImplementedError (HTTP 500) for a rule whose target is a Lambda
    // function, so `test` fails after its PutEvents here; the request is still recorded and evaluated.
    let out = s.expect(&["test", "--timeout", "1"], &[0, 1, 3]);
    if out.status.code() == Some(1) {
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("HTTP 500"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    roles::check_function_role(&account, "eventbridge").await;
    roles::check_events_role(&account, HOME).await;
    // Drift: the forwarding rule in us-east-1 deleted by hand.
    roles::drift_eventbridge_mode(&account).await;
    s.expect(&["apply", "--yes"], &[0]);
    let calls = s.take();
    assert!(operations(&calls, "events").contains(&"PutTargets".to_owned()));
    assert_allowed(&eventbridge, &calls, &account.id, "EventBridge mode");

    // Into CloudWatch Logs mode: that mode's policy removes the rules, the role, the permission.
    s.set_config("mode = \"eventbridge\"\n", "");
    let logs = s.policy();
    s.expect(&["apply", "--yes"], &[0]);
    let calls = s.take();
    assert!(operations(&calls, "events").contains(&"DeleteRule".to_owned()));
    assert_allowed(
        &logs,
        &calls,
        &account.id,
        "switching to CloudWatch Logs mode",
    );

    // And back: EventBridge mode's policy removes the log group, the filter, the CloudTrail role.
    s.set_config("region = ", "mode = \"eventbridge\"\nregion = ");
    assert_eq!(s.policy(), eventbridge);
    s.expect(&["apply", "--yes"], &[0]);
    s.expect(&["destroy", "--yes"], &[0]);
    let calls = s.take();
    assert!(operations(&calls, "logs").contains(&"DeleteSubscriptionFilter".to_owned()));
    assert_allowed(
        &eventbridge,
        &calls,
        &account.id,
        "switching to EventBridge mode, then destroy",
    );
}

/// `init` for organization coverage in EventBridge mode, adopting the organization's trail.
const ORGANIZATION_INIT: [&str; 10] = [
    "init",
    "--yes",
    "--trail",
    crate::organization::TRAIL,
    "--mode",
    "eventbridge",
    "--coverage",
    "organization",
    "--email",
    "secops@example.com",
];

/// Organization coverage from the management account: the organization's reads, the central bus, the
/// StackSet and its operations, drift on the bus's policy, the switch back to account coverage
/// (which removes them under that config's policy), and destroy.
#[tokio::test(flavor = "multi_thread")]
async fn organization_coverage_calls_only_what_the_policy_allows() {
    use aws_sdk_organizations::types::OrganizationFeatureSet;
    let account = fresh_account().await;
    crate::organization::organization_of(&account, OrganizationFeatureSet::All).await;
    crate::organization::trusted_access(&account).await;
    crate::organization::organizations(&account)
        .create_account()
        .account_name("workloads")
        .email("workloads@example.com")
        .send()
        .await
        .unwrap();
    crate::organization::trail(&account, true).await;
    let dir = workdir();
    let mut s = Session::new(&account, dir.path());
    s.env
        .push((ENV_ENABLED_REGIONS, "us-east-1,eu-west-1".to_owned()));
    s.expect(&ORGANIZATION_INIT, &[0]);
    let organization = s.policy();
    s.expect(&["apply", "--yes"], &[0]);
    s.expect(&["status"], &[0, 2, 3]);
    let events = aws_sdk_eventbridge::Client::new(&account.sdk("us-east-1"));
    events
        .put_permission()
        .event_bus_name("login-alert-central")
        .policy(
            serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "open", "Effect": "Allow",
                "Principal": "*", "Action": "events:PutEvents", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    s.expect(&["apply", "--yes"], &[0]);
    let calls = s.take();
    for (service, op) in [
        ("organizations", "DescribeOrganization"),
        ("organizations", "ListAWSServiceAccessForOrganization"),
        ("events", "CreateEventBus"),
        ("events", "PutPermission"),
        ("cloudformation", "CreateStackSet"),
        ("cloudformation", "CreateStackInstances"),
        ("cloudformation", "DescribeStackSetOperation"),
    ] {
        assert!(
            operations(&calls, service).contains(&op.to_owned()),
            "the life cycle made no {service} {op}: {:?}",
            operations(&calls, service)
        );
    }
    assert_allowed(&organization, &calls, &account.id, "organization coverage");

    // Back to this account only: that config's policy removes the StackSet and the bus.
    s.set_config("coverage = \"organization\"\n", "");
    let single = s.policy();
    s.expect(&["apply", "--yes"], &[0]);
    s.expect(&["destroy", "--yes"], &[0]);
    let calls = s.take();
    for op in ["DeleteStackInstances", "DeleteStackSet"] {
        assert!(
            operations(&calls, "cloudformation").contains(&op.to_owned()),
            "no {op}"
        );
    }
    assert!(operations(&calls, "events").contains(&"DeleteEventBus".to_owned()));
    // With account coverage, the organization trail's account names are read with
    // organizations:ListAccounts, which that config's policy leaves out by design (README, "The
    // config file": the plan then says so and alerts use [account_names]); organization coverage grants it.
    let calls: Vec<Recorded> = calls
        .into_iter()
        .filter(|c| !(c.service == "organizations" && c.operation == "ListAccounts"))
        .collect();
    assert_allowed(
        &single,
        &calls,
        &account.id,
        "back to account coverage, then destroy",
    );
}

/// Organization coverage from a delegated administrator for StackSets: the management account's
/// organization trail is only read (its status by ARN), the StackSet is called with CallAs =
/// DELEGATED_ADMIN; apply, status, a second apply and destroy stay within the generated policy.
#[tokio::test(flavor = "multi_thread")]
async fn organization_coverage_from_a_delegated_administrator_calls_only_what_the_policy_allows() {
    let (_, management, admin, _) =
        crate::organization::organization_with_a_delegated_administrator().await;
    let dir = workdir();
    let mut s = Session::new(&admin, dir.path());
    s.env
        .push((ENV_ENABLED_REGIONS, "us-east-1,eu-west-1".to_owned()));
    s.expect(&ORGANIZATION_INIT, &[0]);
    let policy = s.policy();
    s.expect(&["apply", "--yes"], &[0]);
    s.expect(&["status"], &[0, 2, 3]);
    s.expect(&["apply", "--yes"], &[0]);
    s.expect(&["destroy", "--yes"], &[0]);
    let calls = s.take();
    let status_of_theirs = calls.iter().any(|c| {
        c.operation == "GetTrailStatus" && c.body.contains(&format!(":{}:trail/", management.id))
    });
    assert!(
        status_of_theirs,
        "the management account's trail was not read"
    );
    assert!(
        !operations(&calls, "cloudtrail")
            .iter()
            .any(|op| !(op.starts_with("Describe")
                || op.starts_with("Get")
                || op.starts_with("List"))),
        "a CloudTrail write from the delegated administrator: {:?}",
        operations(&calls, "cloudtrail")
    );
    for op in ["CreateStackSet", "CreateStackInstances", "DeleteStackSet"] {
        assert!(
            operations(&calls, "cloudformation").contains(&op.to_owned()),
            "no {op}"
        );
    }
    let without: Vec<_> = calls
        .iter()
        .filter(|c| c.service == "cloudformation" && !c.body.contains("CallAs=DELEGATED_ADMIN"))
        .map(|c| c.operation.clone())
        .collect();
    assert!(
        without.is_empty(),
        "StackSets calls without CallAs = DELEGATED_ADMIN: {without:?}"
    );
    assert_allowed(
        &policy,
        &calls,
        &admin.id,
        "organization coverage from a delegated administrator",
    );
}

/// Organization coverage with login-alert's own trail (`trail.create = true`): apply creates it as
/// the organization's trail, its bucket taking the organization's logs too; a second apply writes
/// nothing; destroy removes the trail and its bucket. Every call within the config's policy.
/// (moto's CreateTrail accepts `IsOrganizationTrail` and calls neither IAM nor Organizations, so the
/// service-linked role and trusted access CloudTrail sets up in AWS are granted, not exercised.)
#[tokio::test(flavor = "multi_thread")]
async fn organization_coverage_with_a_created_trail_from_apply_to_destroy() {
    use aws_sdk_organizations::types::OrganizationFeatureSet;
    let account = fresh_account().await;
    let org = crate::organization::organization_of(&account, OrganizationFeatureSet::All).await;
    crate::organization::trusted_access(&account).await;
    crate::organization::organizations(&account)
        .create_account()
        .account_name("workloads")
        .email("workloads@example.com")
        .send()
        .await
        .unwrap();
    let dir = workdir();
    let mut s = Session::new(&account, dir.path());
    s.env
        .push((ENV_ENABLED_REGIONS, "us-east-1,eu-west-1".to_owned()));
    s.expect(
        &[
            "init",
            "--yes",
            "--create-trail",
            "--mode",
            "eventbridge",
            "--coverage",
            "organization",
            "--email",
            "secops@example.com",
        ],
        &[0],
    );
    let policy = s.policy();
    let planned = s.expect(&["plan"], &[0, 2]);
    let text = String::from_utf8_lossy(&planned.stdout);
    assert!(
        text.contains("is_organization_trail") && !text.contains("not an organization trail"),
        "{text}"
    );
    s.expect(&["apply", "--yes"], &[0]);

    let cloudtrail = aws_sdk_cloudtrail::Client::new(&account.sdk("us-east-1"));
    let trails = cloudtrail
        .describe_trails()
        .trail_name_list("login-alert-trail")
        .send()
        .await
        .unwrap();
    let trail = &trails.trail_list()[0];
    assert_eq!(trail.is_organization_trail, Some(true), "{trail:?}");
    assert_eq!(trail.is_multi_region_trail, Some(true));
    let bucket = trail.s3_bucket_name.clone().unwrap();
    let bucket_policy = account
        .s3("us-east-1")
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert!(
        bucket_policy.contains(&format!("{bucket}/AWSLogs/{org}/*"))
            && bucket_policy.contains(&format!("{bucket}/AWSLogs/{}/*", account.id)),
        "{bucket_policy}"
    );

    let mark = account.requests().len();
    s.expect(&["apply", "--yes"], &[0]);
    assert_eq!(
        account.writes_since(mark),
        Vec::<String>::new(),
        "a second apply wrote"
    );
    s.expect(&["status"], &[0, 2, 3]);
    s.expect(&["destroy", "--yes"], &[0]);
    let gone = cloudtrail
        .describe_trails()
        .trail_name_list("login-alert-trail")
        .send()
        .await
        .unwrap();
    assert!(gone.trail_list().is_empty(), "{gone:?}");
    assert!(
        account
            .s3("us-east-1")
            .head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .is_err(),
        "bucket {bucket} is left"
    );

    let calls = s.take();
    assert!(
        calls.iter().any(
            |c| c.operation == "CreateTrail" && c.body.contains("\"IsOrganizationTrail\":true")
        ),
        "no CreateTrail with IsOrganizationTrail"
    );
    assert_allowed(
        &policy,
        &calls,
        &account.id,
        "organization coverage with a created trail",
    );
}
