//! What moto cannot produce for the self-monitoring resources, with `aws-smithy-mocks`: SQS
//! refusing a queue name deleted less than a minute ago, and Lambda refusing the on-failure
//! destination while the role's new `sqs:SendMessage` propagates (and past the bound).

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::operation::put_function_event_invoke_config::PutFunctionEventInvokeConfigOutput;
use aws_sdk_sqs::operation::create_queue::CreateQueueOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use login_alert::aws::Clients;
use login_alert::config::{Config, NotifyConfig, TrailConfig};
use login_alert::model::{Ctx, Target};
use login_alert::printer::Printer;
use login_alert::resources::{invoke_config, queue};
use login_alert::retry::Bound;

const QUICK: Bound = Bound {
    total: Duration::from_secs(2),
    first_delay: Duration::from_millis(5),
    max_delay: Duration::from_millis(50),
};
const QUEUE_ARN: &str = "arn:aws:sqs:eu-west-1:123456789012:login-alert-failed-events";
const ROLE_CANNOT_SEND: &str = r#"{"__type":"InvalidParameterValueException","message":"The provided execution role does not have permissions to call SendMessage on SQS"}"#;

fn ctx(change: impl FnOnce(&mut Clients)) -> Ctx {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .build();
    let mut clients = Clients::new(&sdk);
    change(&mut clients);
    let config = Config {
        region: "eu-west-1".into(),
        name_prefix: "login-alert".into(),
        account_name: None,
        timezone: "UTC".into(),
        scope: Default::default(),
        log_retention_days: 90,
        language: Default::default(),
        group_window_minutes: 15,
        account_names: Default::default(),
        mode: Default::default(),
        trail: TrailConfig {
            name: Some("audit".into()),
            create: false,
        },
        cis: false,
        notify: NotifyConfig {
            emails: vec!["a@example.com".into()],
            slack_webhook_url: None,
            teams_webhook_url: None,
            webhook_url: None,
        },
    };
    let mut ctx = Ctx::new(
        clients,
        Target::new(&config, "123456789012"),
        Printer::silent(),
    );
    ctx.iam_bound = QUICK;
    ctx
}

fn put_op() -> invoke_config::Op {
    invoke_config::Op::Put {
        function: "login-alert-handler".into(),
        max_retries: 2,
        max_event_age_seconds: 21600,
        on_failure: QUEUE_ARN.into(),
    }
}

/// SQS bans a deleted queue's name for 60 seconds: a destroy then an apply hits it. Time is paused,
/// so the minute of waiting passes at once.
#[tokio::test(start_paused = true)]
async fn a_queue_name_deleted_a_moment_ago_is_waited_for_then_created_encrypted_and_tagged() {
    let create = mock!(aws_sdk_sqs::Client::create_queue)
        .match_requests(|req| {
            let attributes = req.attributes().cloned().unwrap_or_default();
            use aws_sdk_sqs::types::QueueAttributeName as Q;
            req.queue_name() == Some("login-alert-failed-events")
                && attributes.get(&Q::SqsManagedSseEnabled).map(String::as_str) == Some("true")
                && attributes.get(&Q::MessageRetentionPeriod).map(String::as_str) == Some("1209600")
                && req.tags().and_then(|t| t.get("managed-by")).map(String::as_str)
                    == Some("login-alert")
        })
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"com.amazonaws.sqs#QueueDeletedRecently","message":"You must wait 60 seconds after deleting a queue before you can create another queue with the same name."}"#.into()),
        )
        .times(3)
        .output(|| {
            CreateQueueOutput::builder()
                .queue_url("https://sqs.eu-west-1.amazonaws.com/123456789012/login-alert-failed-events")
                .build()
        })
        .build();
    let ctx = ctx(|c| c.sqs = mock_client!(aws_sdk_sqs, RuleMode::Sequential, [&create]));
    queue::execute(
        &ctx,
        &queue::Op::Create {
            name: "login-alert-failed-events".into(),
            retention_seconds: queue::RETENTION_SECONDS,
        },
    )
    .await
    .expect("created once SQS accepts the name again");
    assert_eq!(create.num_calls(), 4, "three refusals, then the create");
}

#[tokio::test]
async fn the_on_failure_destination_waits_for_the_roles_send_permission() {
    let put = mock!(aws_sdk_lambda::Client::put_function_event_invoke_config)
        .match_requests(|req| {
            req.function_name() == Some("login-alert-handler")
                && req.maximum_retry_attempts() == Some(2)
                && req.maximum_event_age_in_seconds() == Some(21600)
                && req
                    .destination_config()
                    .and_then(|d| d.on_failure())
                    .and_then(|f| f.destination())
                    == Some(QUEUE_ARN)
        })
        .sequence()
        .http_status(400, Some(ROLE_CANNOT_SEND.into()))
        .times(2)
        .output(|| PutFunctionEventInvokeConfigOutput::builder().build())
        .build();
    let ctx = ctx(|c| c.lambda = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&put]));
    invoke_config::execute(&ctx, &put_op())
        .await
        .expect("set once IAM has propagated");
    assert_eq!(put.num_calls(), 3);
}

#[tokio::test]
async fn past_the_bound_the_error_names_the_permission_the_role_needs() {
    let put = mock!(aws_sdk_lambda::Client::put_function_event_invoke_config)
        .sequence()
        .http_status(400, Some(ROLE_CANNOT_SEND.into()))
        .repeatedly()
        .build();
    let ctx = ctx(|c| c.lambda = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&put]));
    let started = std::time::Instant::now();
    let err = invoke_config::execute(&ctx, &put_op())
        .await
        .expect_err("gives up at the bound");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by ctx.iam_bound"
    );
    assert!(put.num_calls() >= 3, "retried: {} calls", put.num_calls());
    let text = format!("{err:#}");
    assert!(
        text.contains(
            "needs sqs:SendMessage on arn:aws:sqs:eu-west-1:123456789012:login-alert-failed-events"
        ),
        "{text}"
    );
}

/// Without cloudwatch:GetMetricData, `status` still shows the rest of the path: the metrics become
/// a warning that says what to allow.
#[tokio::test]
async fn unreadable_metrics_are_a_warning_not_a_failed_status() {
    use login_alert::check::Status;
    use login_alert::model::Facts;
    use login_alert::part::Part;
    use login_alert::resources::function;

    let denied = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .sequence()
        .http_status(
            403,
            Some("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: cloudwatch:GetMetricData</Message></Error></ErrorResponse>".into()),
        )
        .repeatedly()
        .build();
    let ctx =
        ctx(|c| c.cloudwatch = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&denied]));
    let desired = function::desired(&ctx.target, &login_alert::model::Facts::new(&ctx.target));
    let current = function::Current {
        name: desired.name.clone(),
        arn: "arn:aws:lambda:eu-west-1:123456789012:function:login-alert-handler".into(),
        config: desired.config.clone(),
        code_sha256: desired.code_sha256.clone(),
        state: Some("Active".into()),
        last_update_status: Some("Successful".into()),
        managed: true,
    };
    let checks = function::Function
        .checks(&ctx, &Some(current), &Facts::new(&ctx.target))
        .await
        .expect("status goes on");
    let statuses: Vec<(&str, Status)> =
        checks.iter().map(|c| (c.name.as_str(), c.status)).collect();
    assert_eq!(
        statuses,
        [
            ("function", Status::Ok),
            ("function errors and throttles (24 h)", Status::Warning)
        ]
    );
    assert!(
        checks[1].detail.contains("AccessDenied"),
        "{}",
        checks[1].detail
    );
}
