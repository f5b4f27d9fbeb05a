//! `login-alert status` and the resources that let the pipeline watch itself (the failed-event
//! queue, the function's async invoke config, the alarms, the test stream), through the real binary
//! against moto: apply → status 0 → break a link by hand → status 3 naming it and the fix → repair
//! → a second apply writes nothing → destroy leaves nothing tagged.
//!
//! Where moto differs from AWS (checked in moto 5.2's source; the rest is tested for real):
//! - CloudTrail `GetTrailStatus` never returns `LatestCloudWatchLogsDeliveryTime` or
//!   `LatestCloudWatchLogsDeliveryError` (moto `cloudtrail/models.py` `TrailStatus.description`).
//!   AWS returns them once CloudTrail has delivered. `status` treats "no delivery yet" as ok for
//!   15 minutes after logging starts, which is where these tests run; the stale, dark and erroring
//!   cases are unit tests of `resources::trail::health::delivery`.
//! - CloudWatch `PutMetricAlarm` starts an alarm in `OK` (AWS: `INSUFFICIENT_DATA`) and moto never
//!   evaluates alarms, so no alarm fires here; `GetMetricData` sums only what `PutMetricData` put,
//!   so the function's errors and throttles read 0. Alarm states and metric sums are unit-tested.
//! - moto's `ListTagsForResource` of an alarm that does not exist answers with no tags (AWS:
//!   `ResourceNotFound`); login-alert reads the tags only of alarms `DescribeAlarms` returned.
//! - Lambda `PutFunctionEventInvokeConfig` appends a configuration and `Get…` returns the first one
//!   (moto `awslambda/models.py`), so a changed configuration cannot be repaired in moto: AWS
//!   replaces it. moto also skips AWS's check that the execution role may `sqs:SendMessage` to the
//!   destination (the IAM-propagation retry is a unit test of its error).
//! - SQS: `SqsManagedSseEnabled` defaults to true in moto as in AWS; moto keeps no 60-second ban
//!   on re-creating a deleted queue's name (`QueueDeletedRecently`).
//! - SNS email subscriptions are confirmed at once: the pending case runs with SNS mocked by
//!   `aws-smithy-mocks`, everything else against moto.
//! - The Rust SDK's CloudWatch client speaks rpc-v2-cbor from 1.100 on, which moto cannot parse:
//!   `aws-sdk-cloudwatch` is pinned to 1.99 (awsQuery), which AWS serves as well.

use crate::support;

use std::path::Path;

use aws_sdk_sns::operation::get_topic_attributes::GetTopicAttributesOutput;
use aws_sdk_sns::operation::list_subscriptions_by_topic::ListSubscriptionsByTopicOutput;
use aws_sdk_sns::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_sns::types::{Subscription, Tag};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use login_alert::aws::Clients;
use login_alert::commands::ExitStatus;
use login_alert::commands::status::{exit_status, report};
use login_alert::config::Config;
use login_alert::model::{Ctx, Target};
use login_alert::printer::Printer;
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;
use support::{Account, fresh_account, workdir};

const HOME: &str = "eu-west-1";
const TRAIL: &str = "audit-trail";
const GROUP: &str = "/login-alert/cloudtrail";
const FUNCTION: &str = "login-alert-handler";

fn write_config(dir: &Path, emails: &[&str]) {
    let emails: Vec<String> = emails.iter().map(|e| format!("\"{e}\"")).collect();
    std::fs::write(
        dir.join("login-alert.toml"),
        format!(
            "region = \"{HOME}\"\n[trail]\nname = \"{TRAIL}\"\n[notify]\nemails = [{}]\n",
            emails.join(", ")
        ),
    )
    .unwrap();
}

/// A user's single-region trail, adopted by `apply`.
async fn applied(emails: &[&str]) -> (Account, tempfile::TempDir) {
    let account = fresh_account().await;
    account.seed_single_region_trail(HOME, TRAIL).await;
    let dir = workdir();
    write_config(dir.path(), emails);
    account
        .cli(dir.path())
        .args(["apply", "--yes"])
        .assert()
        .success();
    (account, dir)
}

fn status_json(account: &Account, dir: &Path) -> (i32, Vec<Value>) {
    let out = account
        .cli(dir)
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status --output json is JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap(),
        json["checks"].as_array().unwrap().clone(),
    )
}

fn named<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {checks:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn status_is_ok_after_apply_and_names_each_broken_link_and_its_fix() {
    let (account, dir) = applied(&["secops@example.com"]).await;
    let dir = dir.path();

    // Every link in place: exit 0, and status only reads.
    let mark = account.requests().len();
    let (code, checks) = status_json(&account, dir);
    assert_eq!(code, 0, "{checks:#?}");
    assert_eq!(
        account.writes_since(mark),
        Vec::<String>::new(),
        "status only reads"
    );
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "trail logging",
            "trail regions",
            "trail delivery to CloudWatch Logs",
            "subscription filter",
            "invoke permission",
            "digest invoke permission",
            "state table",
            "function",
            "function errors (24 h)",
            "function throttles (24 h)",
            "failed-event queue",
            "failed-event destination",
            "email subscriptions",
            "alarm login-alert-function-errors",
            "alarm login-alert-function-throttles",
            "alarm login-alert-failed-events",
            "alarm login-alert-destination-failures",
            "alarm login-alert-digest-rule-failures",
            "alarm login-alert-no-trail-events",
        ],
        "the path, link by link"
    );
    for check in &checks {
        assert_eq!(check["status"], "ok", "{check:#}");
        assert_eq!(check["fix"], Value::Null);
    }
    assert!(
        named(&checks, "trail delivery to CloudWatch Logs")["detail"]
            .as_str()
            .unwrap()
            .contains("no delivery to /login-alert/cloudtrail yet")
    );
    account
        .cli(dir)
        .arg("status")
        .assert()
        .code(0)
        .stdout(contains("All 19 checks ok."));

    // The trail stopped by hand: broken, named, with the fix.
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&account.sdk(HOME));
    cloudtrail.stop_logging().name(TRAIL).send().await.unwrap();
    account
        .cli(dir)
        .arg("status")
        .assert()
        .code(3)
        .stdout(contains("✗ trail logging"))
        .stdout(contains("trail audit-trail is not logging"))
        .stdout(contains(
            "fix: run `login-alert apply`, which starts it again",
        ))
        .stdout(contains(
            "aws cloudtrail start-logging --name audit-trail --region eu-west-1",
        ))
        .stdout(contains("an alert would not arrive now"));
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    assert_eq!(status_json(&account, dir).0, 0, "apply started it again");

    // The subscription filter deleted by hand: broken.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&account.sdk(HOME));
    logs.delete_subscription_filter()
        .log_group_name(GROUP)
        .filter_name("login-alert-signin-events")
        .send()
        .await
        .unwrap();
    let (code, checks) = status_json(&account, dir);
    assert_eq!(code, 3);
    let filter = named(&checks, "subscription filter");
    assert_eq!(filter["status"], "failing");
    assert!(
        filter["detail"].as_str().unwrap().contains(
            "login-alert-signin-events is missing from log group /login-alert/cloudtrail"
        ),
        "{filter:#}"
    );
    assert_eq!(filter["fix"], "run `login-alert apply` to put it back");
    let failing: Vec<&str> = checks
        .iter()
        .filter(|c| c["status"] != "ok")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["subscription filter"], "nothing else is blamed");

    // A failed invocation waiting in the queue: needs attention, alerts still arrive.
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    let sqs = aws_sdk_sqs::Client::new(&account.sdk(HOME));
    let url = sqs
        .get_queue_url()
        .queue_name("login-alert-failed-events")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.send_message()
        .queue_url(&url)
        .message_body("{\"requestContext\":{\"condition\":\"RetriesExhausted\"}}")
        .send()
        .await
        .unwrap();
    let (code, checks) = status_json(&account, dir);
    assert_eq!(code, 2);
    let queue = named(&checks, "failed-event queue");
    assert_eq!(queue["status"], "warning");
    assert!(
        queue["detail"]
            .as_str()
            .unwrap()
            .starts_with("1 failed invocation(s) waiting")
    );
    assert!(
        queue["fix"]
            .as_str()
            .unwrap()
            .contains("aws sqs receive-message")
    );

    // The function deleted by hand: broken.
    sqs.purge_queue().queue_url(&url).send().await.unwrap();
    aws_sdk_lambda::Client::new(&account.sdk(HOME))
        .delete_function()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    let (code, checks) = status_json(&account, dir);
    assert_eq!(code, 3);
    assert_eq!(named(&checks, "function")["status"], "failing");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_self_monitoring_resources_exist_with_their_targets_converge_and_go_with_destroy() {
    let (account, dir) = applied(&["secops@example.com"]).await;
    let dir = dir.path();
    let sdk = account.sdk(HOME);
    let topic = format!("arn:aws:sns:{HOME}:{}:login-alert-alerts", account.id);
    let queue_arn = format!(
        "arn:aws:sqs:{HOME}:{}:login-alert-failed-events",
        account.id
    );

    // The queue: encrypted by SQS, 14 days.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = sqs
        .get_queue_url()
        .queue_name("login-alert-failed-events")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    use aws_sdk_sqs::types::QueueAttributeName as Q;
    assert_eq!(attributes[&Q::MessageRetentionPeriod], "1209600");
    assert_eq!(attributes[&Q::SqsManagedSseEnabled].to_lowercase(), "true");
    assert_eq!(attributes[&Q::QueueArn], queue_arn);

    // The function's failures go there, after two retries.
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let config = lambda
        .get_function_event_invoke_config()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    assert_eq!(config.maximum_retry_attempts, Some(2));
    assert_eq!(config.maximum_event_age_in_seconds, Some(21600));
    assert_eq!(
        config
            .destination_config
            .and_then(|d| d.on_failure)
            .and_then(|f| f.destination),
        Some(queue_arn.clone())
    );
    // … which the function's role may send to, and to nothing else.
    let policy = aws_sdk_iam::Client::new(&sdk)
        .get_role_policy()
        .role_name(FUNCTION)
        .policy_name("login-alert")
        .send()
        .await
        .unwrap()
        .policy_document;
    let policy: Value =
        serde_json::from_str(&percent_encoding::percent_decode_str(&policy).decode_utf8_lossy())
            .unwrap();
    let send: Vec<&Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"].to_string().contains("sqs:"))
        .collect();
    assert_eq!(send.len(), 1);
    assert_eq!(send[0]["Action"], "sqs:SendMessage");
    assert_eq!(send[0]["Resource"], queue_arn);

    // The alarms: on the right metrics, publishing to the alert topic.
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let alarms = cloudwatch
        .describe_alarms()
        .alarm_name_prefix("login-alert-")
        .send()
        .await
        .unwrap()
        .metric_alarms
        .unwrap_or_default();
    let mut seen: Vec<(String, String, String, String, String)> = alarms
        .iter()
        .map(|a| {
            assert_eq!(a.alarm_actions(), std::slice::from_ref(&topic), "{a:?}");
            assert_eq!(a.ok_actions(), std::slice::from_ref(&topic), "{a:?}");
            let d = &a.dimensions()[0];
            (
                a.alarm_name().unwrap().to_owned(),
                format!("{} {}", a.namespace().unwrap(), a.metric_name().unwrap()),
                format!("{}={}", d.name().unwrap(), d.value().unwrap()),
                format!(
                    "{} {} {}",
                    a.statistic().unwrap().as_str(),
                    a.comparison_operator().unwrap().as_str(),
                    a.threshold().unwrap()
                ),
                a.treat_missing_data().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    seen.sort();
    let row = |name: &str, metric: &str, dimension: &str, condition: &str, missing: &str| {
        (
            name.to_owned(),
            metric.to_owned(),
            dimension.to_owned(),
            condition.to_owned(),
            missing.to_owned(),
        )
    };
    assert_eq!(
        seen,
        [
            row(
                "login-alert-destination-failures",
                "AWS/Lambda DestinationDeliveryFailures",
                "FunctionName=login-alert-handler",
                "Sum GreaterThanThreshold 0",
                "notBreaching"
            ),
            row(
                "login-alert-digest-rule-failures",
                "AWS/Events FailedInvocations",
                "RuleName=login-alert-digest",
                "Sum GreaterThanThreshold 0",
                "notBreaching"
            ),
            row(
                "login-alert-failed-events",
                "AWS/SQS ApproximateNumberOfMessagesVisible",
                "QueueName=login-alert-failed-events",
                "Maximum GreaterThanThreshold 0",
                "notBreaching"
            ),
            row(
                "login-alert-function-errors",
                "AWS/Lambda Errors",
                "FunctionName=login-alert-handler",
                "Sum GreaterThanThreshold 0",
                "notBreaching"
            ),
            row(
                "login-alert-function-throttles",
                "AWS/Lambda Throttles",
                "FunctionName=login-alert-handler",
                "Sum GreaterThanThreshold 0",
                "notBreaching"
            ),
            row(
                "login-alert-no-trail-events",
                "AWS/Logs IncomingLogEvents",
                "LogGroupName=/login-alert/cloudtrail",
                "Sum LessThanOrEqualToThreshold 0",
                "breaching"
            ),
        ]
    );
    let silent = alarms
        .iter()
        .find(|a| a.alarm_name() == Some("login-alert-no-trail-events"))
        .unwrap();
    assert_eq!(
        (
            silent.period(),
            silent.evaluation_periods(),
            silent.datapoints_to_alarm()
        ),
        (Some(3600), Some(6), Some(6)),
        "six silent hours in a row"
    );

    // The test stream is in the trail's log group.
    let streams = aws_sdk_cloudwatchlogs::Client::new(&sdk)
        .describe_log_streams()
        .log_group_name(GROUP)
        .log_stream_name_prefix("login-alert-test")
        .send()
        .await
        .unwrap()
        .log_streams
        .unwrap_or_default();
    assert_eq!(streams.len(), 1);

    // Tagged in the creating call, so a second apply finds them ours and writes nothing.
    let tagged = account.tagged(HOME).await;
    for expected in [
        "queue login-alert-failed-events",
        "alarm login-alert-function-errors",
        "alarm login-alert-function-throttles",
        "alarm login-alert-failed-events",
        "alarm login-alert-destination-failures",
        "alarm login-alert-digest-rule-failures",
        "alarm login-alert-no-trail-events",
    ] {
        assert!(
            tagged.contains(&expected.to_owned()),
            "{expected} in {tagged:?}"
        );
    }
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);
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
        "a second apply makes zero write calls"
    );

    // Drift by hand is planned and repaired: the retention shortened, an alarm deleted.
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(Q::MessageRetentionPeriod, "345600")
        .send()
        .await
        .unwrap();
    cloudwatch
        .delete_alarms()
        .alarm_names("login-alert-function-throttles")
        .send()
        .await
        .unwrap();
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(contains(
            "~ SQS queue login-alert-failed-events will be updated in place",
        ))
        .stdout(contains("~ message_retention_seconds = 345600 -> 1209600"))
        .stdout(contains(
            "+ CloudWatch alarm login-alert-function-throttles will be created",
        ));
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);

    // Destroy removes them, children first, and nothing tagged is left.
    account
        .cli(dir)
        .args(["destroy", "--yes"])
        .assert()
        .success()
        .stdout(contains(
            "- CloudWatch alarm login-alert-no-trail-events will be destroyed",
        ))
        .stdout(contains(
            "- SQS queue login-alert-failed-events will be destroyed",
        ))
        .stdout(contains(
            "- log stream login-alert-test in /login-alert/cloudtrail will be destroyed",
        ));
    assert_eq!(account.tagged(HOME).await, Vec::<String>::new());
    let left = cloudwatch
        .describe_alarms()
        .alarm_name_prefix("login-alert-")
        .send()
        .await
        .unwrap()
        .metric_alarms
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_slack_only_the_alarms_exist_without_a_topic_and_the_plan_says_so() {
    let account = fresh_account().await;
    account.seed_single_region_trail(HOME, TRAIL).await;
    let dir = workdir();
    let dir = dir.path();
    std::fs::write(
        dir.join("login-alert.toml"),
        format!(
            "region = \"{HOME}\"\n[trail]\nname = \"{TRAIL}\"\n[notify]\nslack_webhook_url = \"https://hooks.slack.com/services/T0/B0/XYZ\"\n"
        ),
    )
    .unwrap();
    account
        .cli(dir)
        .arg("plan")
        .assert()
        .success()
        .stdout(contains(
            "no email is configured, so the alarms have no topic to publish to",
        ));
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    let alarms = aws_sdk_cloudwatch::Client::new(&account.sdk(HOME))
        .describe_alarms()
        .alarm_name_prefix("login-alert-")
        .send()
        .await
        .unwrap()
        .metric_alarms
        .unwrap_or_default();
    assert_eq!(alarms.len(), 6);
    assert!(alarms.iter().all(|a| a.alarm_actions().is_empty()));
    let (code, checks) = status_json(&account, dir);
    assert_eq!(code, 0, "{checks:#?}");
    assert!(
        named(&checks, "alarm login-alert-function-errors")["detail"]
            .as_str()
            .unwrap()
            .contains("no email configured: it notifies nobody")
    );
    assert_eq!(named(&checks, "Slack webhook parameter")["status"], "ok");
    assert!(checks.iter().all(|c| c["name"] != "email subscriptions"));
}

/// moto confirms every email subscription at once; SNS is mocked here to answer as AWS does
/// while a recipient has not clicked yet. Everything else is moto.
#[tokio::test(flavor = "multi_thread")]
async fn an_unconfirmed_address_needs_attention_but_is_not_broken() {
    let (account, dir) = applied(&["secops@example.com", "oncall@example.com"]).await;
    let config = Config::load(&dir.path().join("login-alert.toml")).unwrap();
    let topic = format!("arn:aws:sns:{HOME}:{}:login-alert-alerts", account.id);
    let topic_for_rules = topic.clone();
    let attributes = mock!(aws_sdk_sns::Client::get_topic_attributes).then_output(move || {
        GetTopicAttributesOutput::builder()
            .attributes("TopicArn", topic_for_rules.clone())
            .build()
    });
    let tags = mock!(aws_sdk_sns::Client::list_tags_for_resource).then_output(|| {
        ListTagsForResourceOutput::builder()
            .tags(
                Tag::builder()
                    .key("managed-by")
                    .value("login-alert")
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let subscription = |email: &str, arn: &str| {
        Subscription::builder()
            .protocol("email")
            .endpoint(email)
            .subscription_arn(arn)
            .topic_arn(topic.clone())
            .build()
    };
    let subscriptions = vec![
        subscription("secops@example.com", &format!("{topic}:0f1e2d3c")),
        subscription("oncall@example.com", "PendingConfirmation"),
    ];
    let listed = mock!(aws_sdk_sns::Client::list_subscriptions_by_topic).then_output(move || {
        ListSubscriptionsByTopicOutput::builder()
            .set_subscriptions(Some(subscriptions.clone()))
            .build()
    });
    let mut clients = Clients::new(&account.sdk(HOME));
    clients.sns = mock_client!(
        aws_sdk_sns,
        RuleMode::MatchAny,
        [&attributes, &tags, &listed]
    );
    let ctx = Ctx::new(
        clients,
        Target::new(&config, &account.id),
        Printer::silent(),
    );

    let checks = report(&ctx).await.unwrap();
    assert_eq!(exit_status(&checks), ExitStatus::NeedsAttention);
    let email = checks
        .iter()
        .find(|c| c.name == "email subscriptions")
        .unwrap();
    assert_eq!(
        email.detail,
        "pending confirmation (no alert reaches them yet): oncall@example.com; confirmed: secops@example.com"
    );
    assert!(email.fix.as_deref().unwrap().contains("click the link"));
    let not_ok: Vec<&str> = checks
        .iter()
        .filter(|c| c.status != login_alert::check::Status::Ok)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(not_ok, ["email subscriptions"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_config_status_fails_as_a_command() {
    let account = fresh_account().await;
    let dir = workdir();
    account
        .cli(dir.path())
        .arg("status")
        .assert()
        .code(1)
        .stderr(contains("login-alert.toml").and(contains("init")));
}

/// What leaves alerts arriving but is wrong all the same: a stranger's statement letting anyone
/// invoke the function (fake alerts), the state table deleted (grouping and exactly-once off), an
/// outside subscription copying every alert. Each is a warning (exit 2) naming the thing, and
/// login-alert's own statement is not blamed.
#[tokio::test(flavor = "multi_thread")]
async fn a_strangers_statement_a_deleted_state_table_and_an_outside_subscription_need_attention() {
    let (account, dir) = applied(&["secops@example.com"]).await;
    let dir = dir.path();
    let sdk = account.sdk(HOME);

    let lambda = aws_sdk_lambda::Client::new(&sdk);
    lambda
        .add_permission()
        .function_name(FUNCTION)
        .statement_id("open-invoke")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .unwrap();
    let (code, checks) = status_json(&account, dir);
    assert_eq!(code, 2, "{checks:#?}");
    assert_eq!(
        named(&checks, "invoke permission")["status"],
        "ok",
        "ours is intact"
    );
    let foreign = named(&checks, "foreign invoke permission open-invoke");
    assert_eq!(foreign["status"], "warning");
    let detail = foreign["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!(
            "statement open-invoke on {FUNCTION} was not written by login-alert: it lets anyone (Principal \"*\") call lambda:InvokeFunction"
        )) && detail.contains("fake alerts"),
        "{detail}"
    );
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    assert_eq!(status_json(&account, dir).0, 0, "apply removed it");

    aws_sdk_dynamodb::Client::new(&sdk)
        .delete_table()
        .table_name("login-alert-state")
        .send()
        .await
        .unwrap();
    let (code, checks) = status_json(&account, dir);
    assert_eq!(code, 2, "{checks:#?}");
    let table = named(&checks, "state table");
    assert_eq!(table["status"], "warning");
    assert!(
        table["detail"]
            .as_str()
            .unwrap()
            .starts_with("DynamoDB table login-alert-state does not exist: the function runs without its state: alerts are not grouped"),
        "{table:#}"
    );
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    assert_eq!(status_json(&account, dir).0, 0, "apply put it back");

    let topic = format!("arn:aws:sns:{HOME}:{}:login-alert-alerts", account.id);
    aws_sdk_sns::Client::new(&sdk)
        .subscribe()
        .topic_arn(&topic)
        .protocol("https")
        .endpoint("https://collector.example.net/hook/STRANGER-TOKEN")
        .send()
        .await
        .unwrap();
    let (code, checks) = status_json(&account, dir);
    assert_eq!(code, 2, "{checks:#?}");
    let email = named(&checks, "email subscriptions");
    assert_eq!(email["status"], "warning");
    let detail = email["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(
            "not login-alert's, every alert is copied to them: https https://collector.example.net/…"
        ),
        "{detail}"
    );
    account
        .cli(dir)
        .arg("status")
        .assert()
        .code(2)
        .stdout(contains("collector.example.net"))
        .stdout(contains("STRANGER-TOKEN").not());
}
