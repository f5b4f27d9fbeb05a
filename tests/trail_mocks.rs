//! What moto cannot produce: CloudTrail refusing a just-created role while IAM propagates, and
//! rejecting a malformed log group ARN (moto accepts both), with `aws-smithy-mocks`.

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::operation::create_trail::CreateTrailOutput;
use aws_sdk_cloudtrail::operation::start_logging::StartLoggingOutput;
use aws_sdk_cloudtrail::operation::update_trail::UpdateTrailOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use login_alert::aws::Clients;
use login_alert::config::{Config, NotifyConfig, TrailConfig};
use login_alert::printer::Printer;
use login_alert::resources::trail::{self, CloudWatchLogs, TrailError};
use login_alert::resources::{Ctx, Target};
use login_alert::retry::Bound;

const ACCOUNT: &str = "123456789012";
const GROUP: &str = "arn:aws:logs:eu-west-1:123456789012:log-group:/login-alert/cloudtrail:*";
const ROLE: &str = "arn:aws:iam::123456789012:role/login-alert-cloudtrail-to-logs";
const PROPAGATING: &str = r#"{"__type":"InvalidCloudWatchLogsLogGroupArnException","message":"Access denied. Check the permissions for your role."}"#;
const MALFORMED: &str = r#"{"__type":"InvalidCloudWatchLogsLogGroupArnException","message":"CloudTrail cannot validate the specified log group ARN."}"#;

/// Retries spaced a few milliseconds apart, given up after a fraction of a second.
const QUICK: Bound = Bound {
    total: Duration::from_millis(300),
    first_delay: Duration::from_millis(5),
    max_delay: Duration::from_millis(20),
};

fn ctx(cloudtrail: Client) -> Ctx {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .build();
    let mut clients = Clients::new(&sdk);
    clients.cloudtrail = cloudtrail;
    let config = Config {
        region: "eu-west-1".into(),
        name_prefix: "login-alert".into(),
        account_name: None,
        timezone: "UTC".into(),
        scope: Default::default(),
        log_retention_days: 90,
        trail: TrailConfig {
            name: Some("audit".into()),
            create: false,
        },
        notify: NotifyConfig {
            emails: vec!["secops@example.com".into()],
            slack_webhook_url: None,
        },
    };
    let mut ctx = Ctx::new(clients, Target::new(&config, ACCOUNT), Printer::silent());
    ctx.iam_bound = QUICK;
    ctx
}

fn deliver_to(log_group_arn: &str) -> trail::Op {
    trail::Op::Update {
        name: "audit".into(),
        arn: format!("arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/audit"),
        remember: None,
        multi_region: Some(true),
        global_events: None,
        cloud_watch_logs: Some(CloudWatchLogs::Set {
            log_group_arn: log_group_arn.into(),
            role_arn: ROLE.into(),
        }),
        bucket: None,
        logging: None,
        forget: Vec::new(),
    }
}

fn update_failing(times: usize, body: &'static str) -> Rule {
    mock!(Client::update_trail)
        .match_requests(|req| {
            req.cloud_watch_logs_log_group_arn() == Some(GROUP)
                && req.cloud_watch_logs_role_arn() == Some(ROLE)
        })
        .sequence()
        .http_status(400, Some(body.into()))
        .times(times)
        .output(|| UpdateTrailOutput::builder().build())
        .build()
}

#[tokio::test]
async fn update_trail_is_retried_while_the_new_role_propagates() {
    let rule = update_failing(3, PROPAGATING);
    let ctx = ctx(mock_client!(
        aws_sdk_cloudtrail,
        RuleMode::Sequential,
        [&rule]
    ));
    trail::execute(&ctx, &deliver_to(GROUP))
        .await
        .expect("succeeds once IAM has propagated");
    assert_eq!(
        rule.num_calls(),
        4,
        "three refusals, then the call that succeeds"
    );
}

#[tokio::test]
async fn create_trail_is_retried_while_the_new_role_propagates_then_logging_starts() {
    let create = mock!(Client::create_trail)
        .sequence()
        .http_status(400, Some(PROPAGATING.into()))
        .times(2)
        .output(|| CreateTrailOutput::builder().build())
        .build();
    let start = mock!(Client::start_logging)
        .match_requests(|req| req.name() == Some("login-alert-trail"))
        .then_output(|| StartLoggingOutput::builder().build());
    let ctx = ctx(mock_client!(
        aws_sdk_cloudtrail,
        RuleMode::MatchAny,
        [&create, &start]
    ));
    let op = trail::Op::Create {
        name: "login-alert-trail".into(),
        arn: format!("arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/login-alert-trail"),
        bucket: "login-alert-trail-123456789012-eu-west-1".into(),
        log_group_arn: GROUP.into(),
        role_arn: ROLE.into(),
    };
    trail::execute(&ctx, &op)
        .await
        .expect("created once IAM has propagated");
    assert_eq!((create.num_calls(), start.num_calls()), (3, 1));
}

#[tokio::test]
async fn past_the_bound_the_error_names_the_role_as_the_likely_cause() {
    let rule = update_failing(usize::MAX / 2, PROPAGATING);
    let ctx = ctx(mock_client!(
        aws_sdk_cloudtrail,
        RuleMode::Sequential,
        [&rule]
    ));
    let started = Instant::now();
    let err = trail::execute(&ctx, &deliver_to(GROUP))
        .await
        .expect_err("gives up at the bound");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by ctx.iam_bound"
    );
    assert!(rule.num_calls() >= 3, "retried: {} calls", rule.num_calls());
    assert!(
        matches!(
            err.downcast_ref::<TrailError>(),
            Some(TrailError::RoleNotUsable { .. })
        ),
        "a typed error: {err:#}"
    );
    let text = format!("{err:#}");
    assert!(text.contains(ROLE), "{text}");
    assert!(
        text.contains("trust policy") && text.contains("cloudtrail.amazonaws.com"),
        "{text}"
    );
    assert!(
        text.contains("Access denied. Check the permissions for your role."),
        "{text}"
    );
}

#[tokio::test]
async fn a_malformed_log_group_arn_is_not_retried() {
    let rule = update_failing(usize::MAX / 2, MALFORMED);
    let ctx = ctx(mock_client!(
        aws_sdk_cloudtrail,
        RuleMode::Sequential,
        [&rule]
    ));
    let err = trail::execute(&ctx, &deliver_to(GROUP))
        .await
        .expect_err("fails at once");
    assert_eq!(rule.num_calls(), 1, "no retry on a final error");
    let text = format!("{err:#}");
    assert!(
        text.contains("CloudTrail cannot validate the specified log group ARN"),
        "{text}"
    );
    assert!(text.contains("ends with `:*`"), "the fix is named: {text}");
}

#[tokio::test]
async fn an_arn_aws_would_reject_is_refused_before_any_call() {
    let rule = update_failing(1, PROPAGATING);
    let ctx = ctx(mock_client!(
        aws_sdk_cloudtrail,
        RuleMode::Sequential,
        [&rule]
    ));
    let without_wildcard = GROUP.trim_end_matches(":*");
    let err = trail::execute(&ctx, &deliver_to(without_wildcard))
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err.downcast_ref::<TrailError>(),
            Some(TrailError::BadLogGroupArn { .. })
        ),
        "{err:#}"
    );
    assert!(format!("{err:#}").contains("must end with `:*`"), "{err:#}");
    let other_region = GROUP.replace("eu-west-1", "us-east-1");
    assert!(
        trail::execute(&ctx, &deliver_to(&other_region))
            .await
            .is_err()
    );
    assert_eq!(rule.num_calls(), 0, "nothing was sent");
}
