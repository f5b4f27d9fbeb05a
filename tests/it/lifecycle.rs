//! The whole life cycle through the real `login-alert` binary against moto: init → plan → apply →
//! no-op re-apply (zero write calls, counted by moto's recorder) → drift repaired → destroy → destroy again.

use crate::support;

use std::path::Path;

use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;
use support::{Account, fresh_account, workdir};

const TRAIL: &str = "audit-trail";
const HOME: &str = "eu-west-1";

/// The user's own set-up before login-alert: a single-region trail writing to their bucket.
async fn seed_single_region_trail(account: &Account) -> String {
    account.seed_single_region_trail(HOME, TRAIL).await
}

fn plan_json(account: &Account, dir: &Path, extra: &[&str]) -> Value {
    let out = account
        .cli(dir)
        .args(["plan", "--output", "json"])
        .args(extra)
        .output()
        .expect("run plan");
    assert!(
        out.status.success(),
        "plan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("plan --output json prints JSON on stdout")
}

async fn trail_state(account: &Account) -> aws_sdk_cloudtrail::types::Trail {
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&account.sdk(HOME));
    cloudtrail
        .describe_trails()
        .trail_name_list(TRAIL)
        .send()
        .await
        .expect("describe trails")
        .trail_list
        .unwrap_or_default()
        .into_iter()
        .next()
        .expect("the user's trail still exists")
}

/// Everything in the account that carries our name or tag (should be empty after destroy).
async fn leftovers(account: &Account, region: &str) -> Vec<String> {
    let sdk = account.sdk(region);
    let mut found = Vec::new();
    let roles = aws_sdk_iam::Client::new(&sdk)
        .list_roles()
        .send()
        .await
        .expect("list roles")
        .roles;
    found.extend(
        roles
            .into_iter()
            .filter(|r| r.role_name.starts_with("login-alert"))
            .map(|r| format!("role {}", r.role_name)),
    );
    let groups = aws_sdk_cloudwatchlogs::Client::new(&sdk)
        .describe_log_groups()
        .send()
        .await
        .expect("log groups");
    found.extend(
        groups
            .log_groups
            .unwrap_or_default()
            .into_iter()
            .filter_map(|g| g.log_group_name)
            .filter(|n| n.contains("login-alert"))
            .map(|n| format!("log group {n}")),
    );
    let topics = aws_sdk_sns::Client::new(&sdk)
        .list_topics()
        .send()
        .await
        .expect("topics")
        .topics
        .unwrap_or_default();
    found.extend(
        topics
            .into_iter()
            .filter_map(|t| t.topic_arn)
            .map(|t| format!("topic {t}")),
    );
    let functions = aws_sdk_lambda::Client::new(&sdk)
        .list_functions()
        .send()
        .await
        .expect("functions")
        .functions
        .unwrap_or_default();
    found.extend(
        functions
            .into_iter()
            .filter_map(|f| f.function_name)
            .map(|f| format!("function {f}")),
    );
    let parameters = aws_sdk_ssm::Client::new(&sdk)
        .describe_parameters()
        .send()
        .await
        .expect("parameters");
    found.extend(
        parameters
            .parameters
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.name)
            .map(|p| format!("parameter {p}")),
    );
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn adopting_a_single_region_trail_from_init_to_destroy() {
    let account = fresh_account().await;
    let bucket = seed_single_region_trail(&account).await;
    let dir = workdir();
    let dir = dir.path();

    // init finds the trail's home region (the CLI runs in us-east-1; the trail lives in eu-west-1).
    account
        .cli(dir)
        .args([
            "init",
            "--yes",
            "--trail",
            TRAIL,
            "--email",
            "secops@example.com",
            "--account-name",
            "prod",
        ])
        .args([
            "--timezone",
            "Asia/Tokyo",
            "--slack-webhook-url",
            "https://hooks.slack.com/services/T0/B0/SECRETTOKEN",
        ])
        .assert()
        .success();
    let config = std::fs::read_to_string(dir.join("login-alert.toml")).unwrap();
    assert!(config.contains("region = \"eu-west-1\""), "{config}");

    // plan: changes pending (exit 2), one line per resource, the summary; the webhook never shown.
    let mark = account.requests().len();
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(contains("~ trail audit-trail will be updated in place"))
        .stdout(contains("~ is_multi_region_trail = false -> true"))
        .stdout(contains(
            "+ Lambda function login-alert-handler will be created",
        ))
        .stdout(contains("Plan: 23 to add, 1 to change, 0 to destroy."))
        .stdout(contains("SECRETTOKEN").not())
        .stderr(contains("SECRETTOKEN").not());
    assert_eq!(
        account.writes_since(mark),
        Vec::<String>::new(),
        "plan must only read"
    );

    let json = plan_json(&account, dir, &[]);
    assert_eq!(json["changes_pending"], true);
    assert_eq!(json["summary"]["add"], 23);
    assert!(!json.to_string().contains("SECRETTOKEN"));

    // No terminal and no --yes: refuses, changes nothing.
    let mark = account.requests().len();
    account
        .cli(dir)
        .arg("apply")
        .assert()
        .code(1)
        .stderr(contains("--yes"));
    assert_eq!(account.writes_since(mark), Vec::<String>::new());

    account
        .cli(dir)
        .args(["apply", "--yes"])
        .assert()
        .success()
        .stdout(contains("Apply complete!"));

    let trail = trail_state(&account).await;
    assert_eq!(trail.is_multi_region_trail, Some(true));
    assert_eq!(
        trail.cloud_watch_logs_log_group_arn.as_deref(),
        Some(
            format!(
                "arn:aws:logs:eu-west-1:{}:log-group:/login-alert/cloudtrail:*",
                account.id
            )
            .as_str()
        )
    );

    // Converged: plan exit 0, and a second apply sends no write call at all.
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0)
        .stdout(contains("No changes."));
    let mark = account.requests().len();
    account
        .cli(dir)
        .args(["apply", "--yes"])
        .assert()
        .success()
        .stdout(contains("No changes."));
    assert_eq!(
        account.writes_since(mark),
        Vec::<String>::new(),
        "a second apply must make zero write calls"
    );

    // Drift by hand: the filter deleted, the function's timeout changed, the topic's email unsubscribed.
    let sdk = account.sdk(HOME);
    aws_sdk_cloudwatchlogs::Client::new(&sdk)
        .delete_subscription_filter()
        .log_group_name("/login-alert/cloudtrail")
        .filter_name("login-alert-signin-events")
        .send()
        .await
        .expect("delete filter by hand");
    aws_sdk_lambda::Client::new(&sdk)
        .update_function_configuration()
        .function_name("login-alert-handler")
        .timeout(3)
        .send()
        .await
        .expect("change timeout by hand");
    let drift = plan_json(&account, dir, &[]);
    let kinds: Vec<String> = drift["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["action"].as_str().unwrap(),
                c["kind"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        kinds.contains(&"create subscription filter".to_string()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"update Lambda function".to_string()),
        "{kinds:?}"
    );
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);

    // destroy: ours removed, the trail restored exactly, the user's bucket kept.
    account
        .cli(dir)
        .args(["destroy", "--yes"])
        .assert()
        .success()
        .stdout(contains("~ trail audit-trail will be updated in place"))
        .stdout(contains("Destroy complete!"));
    let trail = trail_state(&account).await;
    assert_eq!(
        trail.is_multi_region_trail,
        Some(false),
        "the trail goes back to single-region"
    );
    // moto divergence: UpdateTrail with CloudWatchLogsLogGroupArn="" (AWS's way to remove delivery)
    // leaves "" in moto's DescribeTrails, where AWS omits the field. Both mean "no delivery".
    assert_eq!(
        trail
            .cloud_watch_logs_log_group_arn
            .filter(|arn| !arn.is_empty()),
        None,
        "its CloudWatch Logs delivery is removed again"
    );
    assert_eq!(
        trail
            .cloud_watch_logs_role_arn
            .filter(|arn| !arn.is_empty()),
        None
    );
    assert_eq!(trail.s3_bucket_name.as_deref(), Some(bucket.as_str()));
    account
        .s3(HOME)
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the user's bucket is kept");
    let tags = aws_sdk_cloudtrail::Client::new(&account.sdk(HOME))
        .list_tags()
        .resource_id_list(trail.trail_arn.clone().unwrap())
        .send()
        .await
        .expect("trail tags");
    let tag_keys: Vec<String> = tags
        .resource_tag_list
        .unwrap_or_default()
        .into_iter()
        .flat_map(|r| r.tags_list.unwrap_or_default())
        .map(|t| t.key)
        .collect();
    assert!(
        tag_keys.iter().all(|k| !k.starts_with("login-alert")),
        "memo tags removed: {tag_keys:?}"
    );
    assert_eq!(leftovers(&account, HOME).await, Vec::<String>::new());

    // A second destroy is a no-op.
    let mark = account.requests().len();
    account
        .cli(dir)
        .args(["destroy", "--yes"])
        .assert()
        .success()
        .stdout(contains("No changes."));
    assert_eq!(account.writes_since(mark), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn create_trail_on_an_empty_account() {
    let account = fresh_account().await;
    let dir = workdir();
    let dir = dir.path();
    account
        .cli(dir)
        .args([
            "init",
            "--yes",
            "--create-trail",
            "--email",
            "secops@example.com",
            "--region",
            "us-east-1",
        ])
        .assert()
        .success();
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(contains("+ trail login-alert-trail will be created"))
        .stdout(contains(format!(
            "login-alert-trail-{}-us-east-1",
            account.id
        )));
    account.cli(dir).args(["apply", "--yes"]).assert().success();

    let cloudtrail = aws_sdk_cloudtrail::Client::new(&account.sdk("us-east-1"));
    let status = cloudtrail
        .get_trail_status()
        .name("login-alert-trail")
        .send()
        .await
        .expect("our trail exists");
    assert_eq!(status.is_logging, Some(true), "a new trail must be started");
    let trail = cloudtrail
        .get_trail()
        .name("login-alert-trail")
        .send()
        .await
        .unwrap()
        .trail
        .unwrap();
    assert_eq!(trail.is_multi_region_trail, Some(true));

    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);
    account
        .cli(dir)
        .args(["destroy", "--yes"])
        .assert()
        .success();
    let trails = cloudtrail
        .describe_trails()
        .send()
        .await
        .unwrap()
        .trail_list
        .unwrap_or_default();
    assert!(trails.is_empty(), "our own trail is deleted: {trails:?}");
    assert_eq!(leftovers(&account, "us-east-1").await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_configuration_is_rejected_before_any_aws_call() {
    let account = fresh_account().await;
    let dir = workdir();
    let dir = dir.path();
    let base = "region = \"us-east-1\"\n[trail]\nname = \"audit-trail\"\n[notify]\nemails = [\"secops@example.com\"]\n";
    let cases: Vec<(String, &str)> = vec![
        (
            base.replace("us-east-1", "us-east"),
            "region: `us-east` is not an AWS region code",
        ),
        (
            format!("name_prefix = \"Bad_Prefix\"\n{base}"),
            "name_prefix",
        ),
        (
            base.replace("secops@example.com", "secops-at-example"),
            "notify.emails: `secops-at-example` is not an email address",
        ),
        (
            base.replace(
                "[notify]\n",
                "[notify]\nslack_webhook_url = \"http://hooks.slack.com/services/T/B/X\"\n",
            ),
            "notify.slack_webhook_url: must use https",
        ),
        (
            base.replace("audit-trail", "no spaces allowed"),
            "trail.name",
        ),
        (format!("timezone = \"Mars/Olympus\"\n{base}"), "timezone"),
        (
            format!("log_retention_days = 10\n{base}"),
            "log_retention_days",
        ),
        (
            base.replace("emails = [\"secops@example.com\"]", "emails = []"),
            "nobody would be told",
        ),
        (
            format!("{base}colour = \"red\"\n"),
            "unknown field `colour`",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(dir.join("login-alert.toml"), &text).unwrap();
        account
            .cli(dir)
            .arg("plan")
            .assert()
            .code(1)
            .stderr(contains(expected));
    }
    // Flags are checked the same way, before discovery.
    account
        .cli(dir)
        .args([
            "init",
            "--yes",
            "--trail",
            "audit-trail",
            "--email",
            "not-an-email",
            "--config",
            "other.toml",
        ])
        .assert()
        .code(1)
        .stderr(contains("notify.emails"));
    account
        .cli(dir)
        .args(["init", "--yes", "--config", "other.toml"])
        .assert()
        .code(1)
        .stderr(contains("--trail NAME"));
    assert!(!dir.join("other.toml").exists());
    assert_eq!(
        account.requests(),
        vec![],
        "no request may reach AWS for bad input"
    );

    // An unknown trail is found out by reading, and said plainly.
    account
        .cli(dir)
        .args([
            "init",
            "--yes",
            "--trail",
            "nonexistent-trail",
            "--email",
            "a@example.com",
            "--config",
            "x.toml",
        ])
        .assert()
        .code(1)
        .stderr(contains("no trail named nonexistent-trail"));
}

/// An `apply` cut off after any number of its steps (as by Ctrl-C or a lost connection) is finished
/// by the next `apply`, and `destroy` still restores the trail's original settings.
#[tokio::test(flavor = "multi_thread")]
async fn an_apply_interrupted_after_any_step_is_finished_by_the_next() {
    use login_alert::aws::Clients;
    use login_alert::config::Config;
    use login_alert::engine;
    use login_alert::model::{Ctx, Target};
    use login_alert::plan::Mode;
    use login_alert::printer::Printer;

    let mut steps = None;
    let mut k = 0;
    while steps.is_none_or(|n| k < n) {
        let account = fresh_account().await;
        seed_single_region_trail(&account).await;
        let dir = workdir();
        let dir = dir.path();
        account
            .cli(dir)
            .args([
                "init",
                "--yes",
                "--trail",
                TRAIL,
                "--email",
                "secops@example.com",
            ])
            .assert()
            .success();

        let config = Config::load(&dir.join("login-alert.toml")).unwrap();
        let ctx = Ctx::new(
            Clients::new(&account.sdk(HOME)),
            Target::new(&config, &account.id),
            Printer::silent(),
        );
        let state = engine::read(&ctx).await.unwrap();
        let plan = engine::plan(&ctx.target, &state, Mode::Apply);
        steps.get_or_insert(plan.changes.len());
        for change in &plan.changes[..k] {
            engine::execute(&ctx, &change.op).await.unwrap();
        }

        account.cli(dir).args(["apply", "--yes"]).assert().success();
        account
            .cli(dir)
            .args(["plan", "--detailed-exitcode"])
            .assert()
            .code(0);
        account
            .cli(dir)
            .args(["destroy", "--yes"])
            .assert()
            .success();
        let trail = trail_state(&account).await;
        assert_eq!(
            trail.is_multi_region_trail,
            Some(false),
            "interrupted after {k} steps: original restored"
        );
        assert_eq!(
            trail
                .cloud_watch_logs_log_group_arn
                .filter(|a| !a.is_empty()),
            None
        );
        assert_eq!(
            leftovers(&account, HOME).await,
            Vec::<String>::new(),
            "interrupted after {k} steps"
        );
        k += 1;
    }
    assert!(steps.unwrap() >= 10, "the adopt plan has every resource");
}

/// What a reviewer reads: the whole plan text for adopting a single-region trail.
#[tokio::test(flavor = "multi_thread")]
async fn the_plan_reads_like_a_terraform_diff() {
    let account = fresh_account().await;
    seed_single_region_trail(&account).await;
    let dir = workdir();
    let dir = dir.path();
    account
        .cli(dir)
        .args([
            "init",
            "--yes",
            "--trail",
            TRAIL,
            "--email",
            "secops@example.com",
            "--account-name",
            "prod",
        ])
        .args(["--timezone", "Asia/Tokyo"])
        .assert()
        .success();
    let out = account.cli(dir).arg("plan").output().unwrap();
    let text = String::from_utf8(out.stdout)
        .unwrap()
        .replace(&account.id, "ACCOUNT");
    let text = mask_code_hash(&text);
    insta::assert_snapshot!(text);
}

/// The code hash changes with every handler build: mask it.
fn mask_code_hash(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once("code_sha256 = ") {
            Some((head, _)) => format!("{head}code_sha256 = \"HASH\""),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A user who first let login-alert create its own trail and then adopts their trail instead: the
/// plan removes login-alert's trail and its (empty) bucket, and destroy then leaves nothing tagged.
#[tokio::test(flavor = "multi_thread")]
async fn switching_from_creating_a_trail_to_adopting_one_removes_the_own_trail() {
    let account = fresh_account().await;
    let bucket = seed_single_region_trail(&account).await;
    let dir = workdir();
    let dir = dir.path();
    account
        .cli(dir)
        .args([
            "init",
            "--yes",
            "--create-trail",
            "--email",
            "secops@example.com",
        ])
        .args(["--region", HOME])
        .assert()
        .success();
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    let own_bucket = format!("login-alert-trail-{}-{HOME}", account.id);
    let created = account.tagged(HOME).await;
    assert!(
        created
            .iter()
            .any(|r| r.ends_with(":trail/login-alert-trail"))
            && created.contains(&format!("bucket {own_bucket}")),
        "{created:?}"
    );

    // The config now adopts the user's trail.
    account
        .cli(dir)
        .args(["init", "--yes", "--trail", TRAIL])
        .assert()
        .success();
    let plan = plan_json(&account, dir, &[]);
    let changes: Vec<(String, String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_owned(),
                c["name"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("trail", TRAIL, "update"),
        ("trail", "login-alert-trail", "delete"),
        ("S3 bucket", own_bucket.as_str(), "delete"),
    ] {
        let expected = (
            expected.0.to_owned(),
            expected.1.to_owned(),
            expected.2.to_owned(),
        );
        assert!(changes.contains(&expected), "{expected:?} in {changes:?}");
    }
    // The own trail goes only once the adopted one delivers, and before its bucket.
    let position = |name: &str| changes.iter().position(|c| c.1 == name).unwrap();
    assert!(position(TRAIL) < position("login-alert-trail"));
    assert!(position("login-alert-trail") < position(&own_bucket));

    account.cli(dir).args(["apply", "--yes"]).assert().success();
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);
    let after = account.tagged(HOME).await;
    assert!(
        !after
            .iter()
            .any(|r| r.contains("login-alert-trail") || r.contains(&own_bucket)),
        "{after:?}"
    );

    account
        .cli(dir)
        .args(["destroy", "--yes"])
        .assert()
        .success();
    assert_eq!(account.tagged(HOME).await, Vec::<String>::new());
    let trail = trail_state(&account).await;
    assert_eq!(trail.is_multi_region_trail, Some(false), "restored");
    assert_eq!(
        trail
            .cloud_watch_logs_log_group_arn
            .filter(|arn| !arn.is_empty()),
        None
    );
    assert_eq!(trail.s3_bucket_name.as_deref(), Some(bucket.as_str()));
}
