//! `login-alert test`: each hop with what moto can do, through the real binary, and the wait for
//! proof against log lines written as the handler writes them.
//!
//! moto cannot run the Lambda function: on `PutLogEvents` it hands every event of the group to the
//! subscription's function at once (it never evaluates the filter pattern) and tries to run it in
//! Docker, which fails here and leaves only "error running docker" in the function's log group
//! (moto `logs/models.py` `LogStream.put_log_events`, `awslambda/models.py` `_invoke_lambda`). So:
//! - against moto the record is proven to land on login-alert's stream of the trail's log group
//!   with the right shape, and the function hop is proven to fail within its bound;
//! - the function's proof is written into its log group by the test itself, exactly as the handler
//!   prints it, while the real binary waits (`delivery_is_proven_…`);
//! - moto has no `TestMetricFilter`: the filter hop says its pattern was not checked there; a
//!   pattern that does not match is tested with `aws-smithy-mocks`, as are the poller's answers.

use crate::support;

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudtrail::operation::describe_trails::DescribeTrailsOutput;
use aws_sdk_cloudtrail::operation::list_trails::ListTrailsOutput;
use aws_sdk_cloudwatchlogs::operation::describe_subscription_filters::DescribeSubscriptionFiltersOutput;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput;
use aws_sdk_cloudwatchlogs::operation::put_log_events::PutLogEventsOutput;
use aws_sdk_cloudwatchlogs::operation::test_metric_filter::TestMetricFilterOutput;
use aws_sdk_cloudwatchlogs::types::{
    FilteredLogEvent, MetricFilterMatchRecord, SubscriptionFilter,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use login_alert::aws::Clients;
use login_alert::check::Status;
use login_alert::commands::test::{DELIVERY, ENTRANCE, ROUTE, send_and_prove};
use login_alert::config::{Config, NotifyConfig, TrailConfig, sample};
use login_alert::model::{Ctx, Target};
use login_alert::printer::Printer;
use predicates::str::contains;
use serde_json::Value;
use support::{Account, fresh_account, workdir};

const HOME: &str = "eu-west-1";
const TRAIL: &str = "audit-trail";
const GROUP: &str = "/login-alert/cloudtrail";
const STREAM: &str = "login-alert-test";
const FUNCTION_GROUP: &str = "/aws/lambda/login-alert-handler";

async fn applied(notify: &str) -> (Account, tempfile::TempDir) {
    let account = fresh_account().await;
    account.seed_single_region_trail(HOME, TRAIL).await;
    let dir = workdir();
    std::fs::write(
        dir.path().join("login-alert.toml"),
        format!("region = \"{HOME}\"\n[trail]\nname = \"{TRAIL}\"\n[notify]\n{notify}\n"),
    )
    .unwrap();
    account
        .cli(dir.path())
        .args(["apply", "--yes"])
        .assert()
        .success();
    (account, dir)
}

fn logs(account: &Account) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&account.sdk(HOME))
}

/// The records on login-alert's test stream, oldest first.
async fn test_records(account: &Account) -> Vec<Value> {
    logs(account)
        .get_log_events()
        .log_group_name(GROUP)
        .log_stream_name(STREAM)
        .start_from_head(true)
        .send()
        .await
        .expect("the test stream exists")
        .events
        .unwrap_or_default()
        .into_iter()
        .map(|e| serde_json::from_str(e.message.as_deref().unwrap_or("")).expect("one JSON record"))
        .collect()
}

/// What the handler prints once it delivered the test record (`login-alert test <id> delivered to …`).
async fn log_as_the_function(account: &Account, line: &str) {
    let logs = logs(account);
    let _ = logs
        .create_log_stream()
        .log_group_name(FUNCTION_GROUP)
        .log_stream_name("2025/06/01/[$LATEST]handler")
        .send()
        .await;
    logs.put_log_events()
        .log_group_name(FUNCTION_GROUP)
        .log_stream_name("2025/06/01/[$LATEST]handler")
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(chrono::Utc::now().timestamp_millis())
                .message(line)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_record_lands_on_login_alerts_stream_and_without_proof_the_function_hop_fails_in_time()
{
    let (account, dir) = applied("emails = [\"secops@example.com\"]").await;
    let started = Instant::now();
    let out = account
        .cli(dir.path())
        .args(["test", "--timeout", "5"])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("✓ subscription filter"), "{stdout}");
    assert!(
        stdout.contains("(its pattern was not checked"),
        "moto has no TestMetricFilter: {stdout}"
    );
    assert!(stdout.contains("✓ entrance"), "{stdout}");
    assert!(stdout.contains("✗ function"), "{stdout}");
    assert!(stdout.contains("after 5s"), "{stdout}");
    assert!(stdout.contains("Hop \"function\" failed"), "{stdout}");
    assert!(
        elapsed < Duration::from_secs(5 + 25),
        "the wait is bounded by --timeout: {elapsed:?}"
    );

    // The record: on login-alert's own stream, clearly marked, saying how it was sent.
    let records = test_records(&account).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    let record = &records[0];
    assert_eq!(record["eventSource"], "login-alert.test");
    assert_eq!(record["eventName"], "LoginAlertTest");
    assert_eq!(record["recipientAccountId"], account.id.as_str());
    assert_eq!(record["awsRegion"], HOME);
    assert_eq!(
        record["additionalEventData"]["sentVia"],
        "PutLogEvents to /login-alert/cloudtrail (stream login-alert-test) by login-alert test"
    );
    let id = record["eventID"].as_str().unwrap();
    assert!(
        stdout.starts_with(&format!("Test event {id} (")),
        "{stdout}"
    );

    // A second run sends a record with another ID.
    account
        .cli(dir.path())
        .args(["test", "--timeout", "1"])
        .assert()
        .code(3);
    let records = test_records(&account).await;
    assert_eq!(records.len(), 2);
    assert_ne!(records[1]["eventID"], records[0]["eventID"]);
}

/// Runs `login-alert test --timeout SECONDS` in the background, answers its record as the
/// handler would with `answer(id)`, and returns the exit code and stdout.
async fn test_answered(
    account: &Account,
    dir: &Path,
    timeout: &str,
    answer: impl Fn(&str) -> String,
) -> (i32, String) {
    let before = test_records(account).await.len();
    let child = account
        .command(dir)
        .args(["test", "--timeout", timeout])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let records = test_records(account).await;
        if records.len() > before {
            break records[before]["eventID"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "the test record never arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    log_as_the_function(account, &answer(&id)).await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn delivery_is_proven_only_by_the_functions_line_naming_every_destination() {
    let (account, dir) = applied(
        "emails = [\"secops@example.com\"]\nslack_webhook_url = \"https://hooks.slack.com/services/T0/B0/XYZ\"",
    )
    .await;
    let dir = dir.path();

    // Email reached, Slack not: not proven.
    let (code, stdout) = test_answered(&account, dir, "60", |id| {
        format!("login-alert test {id} delivered to email")
    })
    .await;
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.contains("login-alert-handler delivered it to email but not to slack"),
        "{stdout}"
    );

    // Both: proven.
    let (code, stdout) = test_answered(&account, dir, "60", |id| {
        format!("login-alert test {id} delivered to email,slack")
    })
    .await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("✓ function"), "{stdout}");
    assert!(
        stdout.contains("login-alert-handler delivered it to email, slack"),
        "{stdout}"
    );
    assert!(stdout.contains("Delivery proven"), "{stdout}");

    // Another event's line proves nothing.
    let (code, stdout) = test_answered(&account, dir, "8", |_| {
        "login-alert test 00000000-0000-4000-8000-000000000000 delivered to email,slack".to_owned()
    })
    .await;
    assert_eq!(code, 3, "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_filter_fails_the_first_hop_and_puts_nothing() {
    let (account, dir) = applied("emails = [\"secops@example.com\"]").await;
    logs(&account)
        .delete_subscription_filter()
        .log_group_name(GROUP)
        .filter_name("login-alert-signin-events")
        .send()
        .await
        .unwrap();
    account
        .cli(dir.path())
        .args(["test", "--timeout", "5"])
        .assert()
        .code(3)
        .stdout(contains("✗ subscription filter"))
        .stdout(contains(
            "login-alert-signin-events is not on log group /login-alert/cloudtrail",
        ))
        .stdout(contains("fix: run `login-alert apply`"))
        .stdout(contains("- entrance"))
        .stdout(contains("Hop \"subscription filter\" failed"));
    assert_eq!(test_records(&account).await.len(), 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_test_stream_fails_the_entrance_hop() {
    let (account, dir) = applied("emails = [\"secops@example.com\"]").await;
    logs(&account)
        .delete_log_stream()
        .log_group_name(GROUP)
        .log_stream_name(STREAM)
        .send()
        .await
        .unwrap();
    account
        .cli(dir.path())
        .args(["test", "--timeout", "5"])
        .assert()
        .code(3)
        .stdout(contains("✗ entrance"))
        .stdout(contains(
            "log stream login-alert-test (or log group /login-alert/cloudtrail) does not exist",
        ))
        .stdout(contains(
            "run `login-alert apply`, which creates the test stream",
        ));
    account
        .cli(dir.path())
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(contains(
            "+ log stream login-alert-test in /login-alert/cloudtrail will be created",
        ));
}

// ---------------------------------------------------------------- with aws-smithy-mocks

const ACCOUNT: &str = "123456789012";
const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:login-alert-handler";

fn mocked(logs: aws_sdk_cloudwatchlogs::Client) -> Ctx {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(HOME))
        .build();
    let mut clients = Clients::new(&sdk);
    // No trail found: the pipeline's own log group is the entrance.
    let describe = mock!(aws_sdk_cloudtrail::Client::describe_trails)
        .then_output(|| DescribeTrailsOutput::builder().build());
    let list = mock!(aws_sdk_cloudtrail::Client::list_trails)
        .then_output(|| ListTrailsOutput::builder().build());
    clients.cloudtrail = mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&describe, &list]);
    clients.logs = logs;
    let config = Config {
        trail: TrailConfig {
            name: Some(TRAIL.into()),
            create: false,
        },
        cis: false,
        notify: NotifyConfig {
            emails: vec!["secops@example.com".into()],
            ..Default::default()
        },
        ..sample(HOME)
    };
    Ctx::new(clients, Target::new(&config, ACCOUNT), Printer::silent())
}

fn our_filter() -> Rule {
    mock!(aws_sdk_cloudwatchlogs::Client::describe_subscription_filters).then_output(|| {
        DescribeSubscriptionFiltersOutput::builder()
            .subscription_filters(
                SubscriptionFilter::builder()
                    .filter_name("login-alert-signin-events")
                    .log_group_name(GROUP)
                    .filter_pattern("{ ($.eventSource = \"signin.amazonaws.com\") }")
                    .destination_arn(FUNCTION_ARN)
                    .build(),
            )
            .build()
    })
}

fn pattern_matches(yes: bool) -> Rule {
    mock!(aws_sdk_cloudwatchlogs::Client::test_metric_filter).then_output(move || {
        let out = TestMetricFilterOutput::builder();
        if yes {
            out.matches(MetricFilterMatchRecord::builder().event_number(1).build())
                .build()
        } else {
            out.build()
        }
    })
}

fn put_accepted() -> Rule {
    mock!(aws_sdk_cloudwatchlogs::Client::put_log_events)
        .then_output(|| PutLogEventsOutput::builder().build())
}

/// The function's log group as FilterLogEvents returns it for the quoted event ID it is asked
/// about: `line(id)` once `after` polls have passed (`None`: never).
fn function_log(line: fn(&str) -> String, after: Option<usize>) -> Rule {
    let asked = Arc::new(Mutex::new(String::new()));
    let polls = Arc::new(Mutex::new(0usize));
    let seen = asked.clone();
    mock!(aws_sdk_cloudwatchlogs::Client::filter_log_events)
        .match_requests(move |req| {
            *seen.lock().unwrap() = req
                .filter_pattern()
                .unwrap_or("")
                .trim_matches('"')
                .to_owned();
            req.log_group_name() == Some(FUNCTION_GROUP)
        })
        .then_output(move || {
            let mut n = polls.lock().unwrap();
            *n += 1;
            let out = FilterLogEventsOutput::builder();
            match after {
                Some(after) if *n > after => out
                    .events(
                        FilteredLogEvent::builder()
                            .message(line(&asked.lock().unwrap()))
                            .build(),
                    )
                    .build(),
                _ => out.build(),
            }
        })
}

#[tokio::test]
async fn a_pattern_that_does_not_match_the_record_fails_before_anything_is_sent() {
    let (filter, no_match, put) = (our_filter(), pattern_matches(false), put_accepted());
    let ctx = mocked(mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&filter, &no_match, &put]
    ));
    let report = send_and_prove(&ctx, Duration::from_secs(1)).await.unwrap();
    let hop = report.failed_hop().expect("a hop failed");
    assert_eq!(hop.name, ROUTE);
    assert!(
        hop.detail.contains("does not match the test record"),
        "{}",
        hop.detail
    );
    assert_eq!(
        hop.fix.as_deref(),
        Some("run `login-alert apply` to update the pattern")
    );
    assert_eq!(
        put.num_calls(),
        0,
        "no record is sent through a route that would drop it"
    );
    assert_eq!(
        report.hops.iter().map(|h| h.status).collect::<Vec<_>>(),
        [Status::Failing, Status::Skipped, Status::Skipped]
    );
}

#[tokio::test]
async fn the_proof_is_waited_for_and_read_from_the_handlers_line() {
    let (filter, matches, put) = (our_filter(), pattern_matches(true), put_accepted());
    let log = function_log(
        |id| format!("login-alert test {id} delivered to email\n"),
        Some(2),
    );
    let ctx = mocked(mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&filter, &matches, &put, &log]
    ));
    let report = send_and_prove(&ctx, Duration::from_secs(30)).await.unwrap();
    assert!(report.proven(), "{report:#?}");
    assert_eq!(put.num_calls(), 1);
    assert_eq!(log.num_calls(), 3, "two empty polls, then the line");
    assert_eq!(
        report.hops[2].detail,
        "login-alert-handler delivered it to email"
    );
}

#[tokio::test]
async fn without_proof_the_function_hop_fails_within_its_bound_and_quotes_what_the_function_said() {
    let (filter, matches, put) = (our_filter(), pattern_matches(true), put_accepted());
    let log = function_log(
        |id| format!("ERROR delivering test event {id}: SNS answered AuthorizationError"),
        Some(0),
    );
    let ctx = mocked(mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&filter, &matches, &put, &log]
    ));
    let bound = Duration::from_secs(3);
    let started = Instant::now();
    let report = send_and_prove(&ctx, bound).await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < bound + Duration::from_secs(2),
        "{elapsed:?}"
    );
    let hop = report.failed_hop().expect("not proven");
    assert_eq!(hop.name, DELIVERY);
    assert!(hop.detail.contains("saw test event"), "{}", hop.detail);
    assert!(
        hop.detail.contains("SNS answered AuthorizationError"),
        "{}",
        hop.detail
    );
    assert!(hop.fix.as_deref().unwrap().contains("login-alert status"));
    assert_eq!(report.hops[1].name, ENTRANCE);
    assert_eq!(report.hops[1].status, Status::Ok);
}
