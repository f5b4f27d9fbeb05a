//! What moto cannot produce for the alerting half of the pipeline, with `aws-smithy-mocks`: Lambda
//! refusing a just-created role while IAM propagates (and past the bound), a `Pending` function, an
//! update colliding with one in progress, a failed function, a duplicate permission statement,
//! CloudWatch Logs not yet seeing the new permission, SNS subscriptions awaiting confirmation, and
//! throttling retried by the SDK's standard retry.

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::Client as Lambda;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::operation::add_permission::AddPermissionOutput;
use aws_sdk_lambda::operation::create_function::CreateFunctionOutput;
use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::operation::remove_permission::RemovePermissionOutput;
use aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeOutput;
use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput;
use aws_sdk_lambda::types::{FunctionConfiguration, LastUpdateStatus, State, StateReasonCode};
use aws_sdk_sns::Client as Sns;
use aws_sdk_sns::operation::get_topic_attributes::GetTopicAttributesOutput;
use aws_sdk_sns::operation::list_subscriptions_by_topic::ListSubscriptionsByTopicOutput;
use aws_sdk_sns::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_sns::operation::subscribe::SubscribeOutput;
use aws_sdk_sns::types::{Subscription, Tag};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use login_alert::aws::Clients;
use login_alert::config::{Config, NotifyConfig, sample};
use login_alert::model::{Ctx, Target};
use login_alert::plan::{Mode, Plan};
use login_alert::printer::Printer;
use login_alert::resources::function::{self, FunctionError};
use login_alert::resources::{permission, subscription_filter, topic};
use login_alert::retry::Bound;

const ACCOUNT: &str = "123456789012";
const FUNCTION: &str = "login-alert-handler";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:login-alert-alerts";
const ROLE_NOT_ASSUMABLE: &str = r#"{"__type":"InvalidParameterValueException","message":"The role defined for the function cannot be assumed by Lambda."}"#;
const BUSY: &str = r#"{"__type":"ResourceConflictException","message":"The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:login-alert-handler"}"#;
const THROTTLED: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

/// Retries spaced a few milliseconds apart, given up after two seconds: each CreateFunction and
/// UpdateFunctionCode serializes the whole bundled zip (MBs of base64), which takes a while in a debug build.
const QUICK: Bound = Bound {
    total: Duration::from_secs(2),
    first_delay: Duration::from_millis(5),
    max_delay: Duration::from_millis(50),
};
/// For retries that must succeed: on a loaded machine each debug-build CreateFunction with the
/// bundled zip can take most of a second, so the bound is wide (success returns at once anyway).
const PATIENT: Bound = Bound {
    total: Duration::from_secs(60),
    first_delay: Duration::from_millis(5),
    max_delay: Duration::from_millis(50),
};

fn target() -> Target {
    let config = Config {
        notify: NotifyConfig {
            emails: vec!["a@example.com".into(), "b@example.com".into()],
            ..Default::default()
        },
        ..sample("us-east-1")
    };
    Target::new(&config, ACCOUNT)
}

/// A context whose clients never reach the network: each test swaps in the mocked ones it needs.
fn ctx(change: impl FnOnce(&mut Clients)) -> Ctx {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    let mut clients = Clients::new(&sdk);
    change(&mut clients);
    let mut ctx = Ctx::new(clients, target(), Printer::silent());
    ctx.iam_bound = QUICK;
    ctx.lambda_bound = QUICK;
    ctx
}

fn lambda(rules: &[&Rule]) -> Lambda {
    mock_client!(aws_sdk_lambda, RuleMode::MatchAny, rules)
}

fn configuration(
    state: State,
    last_update: Option<LastUpdateStatus>,
) -> GetFunctionConfigurationOutput {
    GetFunctionConfigurationOutput::builder()
        .function_name(FUNCTION)
        .state(state)
        .set_last_update_status(last_update)
        .build()
}

fn active() -> Rule {
    mock!(Lambda::get_function_configuration)
        .then_output(|| configuration(State::Active, Some(LastUpdateStatus::Successful)))
}

fn create_op() -> function::Op {
    function::Op::Create {
        name: FUNCTION.into(),
        config: function::desired(&target(), &login_alert::model::Facts::new(&target())).config,
    }
}

#[tokio::test]
async fn create_function_is_retried_while_the_new_role_propagates() {
    let create = mock!(Lambda::create_function)
        .match_requests(|req| {
            req.function_name() == Some(FUNCTION)
                && req.role() == Some("arn:aws:iam::123456789012:role/login-alert-handler")
                && req
                    .tags()
                    .is_some_and(|t| t.get("managed-by").map(String::as_str) == Some("login-alert"))
        })
        .sequence()
        .http_status(400, Some(ROLE_NOT_ASSUMABLE.into()))
        .times(3)
        .output(|| CreateFunctionOutput::builder().build())
        .build();
    let ready = active();
    let mut ctx = ctx(|c| c.lambda = lambda(&[&create, &ready]));
    ctx.iam_bound = PATIENT;
    function::execute(&ctx, &create_op())
        .await
        .expect("created once IAM has propagated");
    assert_eq!(
        create.num_calls(),
        4,
        "three refusals, then the call that succeeds"
    );
    assert_eq!(ready.num_calls(), 1, "then waits for Active");
}

#[tokio::test]
async fn past_the_bound_the_error_says_the_role_may_be_missing_or_not_trust_lambda() {
    let create = mock!(Lambda::create_function)
        .sequence()
        .http_status(400, Some(ROLE_NOT_ASSUMABLE.into()))
        .repeatedly()
        .build();
    let ctx = ctx(|c| c.lambda = lambda(&[&create]));
    let started = Instant::now();
    let err = function::execute(&ctx, &create_op())
        .await
        .expect_err("gives up at the bound");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by ctx.iam_bound"
    );
    assert!(
        create.num_calls() >= 3,
        "retried: {} calls",
        create.num_calls()
    );
    assert!(
        matches!(
            err.downcast_ref::<FunctionError>(),
            Some(FunctionError::RoleNotAssumable { .. })
        ),
        "{err:#}"
    );
    let text = format!("{err:#}");
    assert!(
        text.contains("arn:aws:iam::123456789012:role/login-alert-handler"),
        "{text}"
    );
    assert!(
        text.contains("may be missing")
            && text.contains("trust policy")
            && text.contains("lambda.amazonaws.com"),
        "{text}"
    );
}

#[tokio::test]
async fn another_invalid_parameter_is_not_retried() {
    let create = mock!(Lambda::create_function)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"InvalidParameterValueException","message":"Unzipped size must be smaller than 262144000 bytes"}"#.into()),
        )
        .repeatedly()
        .build();
    let ctx = ctx(|c| c.lambda = lambda(&[&create]));
    let err = function::execute(&ctx, &create_op())
        .await
        .expect_err("fails at once");
    assert_eq!(create.num_calls(), 1);
    assert!(format!("{err:#}").contains("Unzipped size"), "{err:#}");
}

#[tokio::test]
async fn a_pending_function_is_waited_for_until_active() {
    let create =
        mock!(Lambda::create_function).then_output(|| CreateFunctionOutput::builder().build());
    let state = mock!(Lambda::get_function_configuration)
        .sequence()
        .output(|| configuration(State::Pending, None))
        .times(2)
        .output(|| configuration(State::Active, Some(LastUpdateStatus::Successful)))
        .build();
    let ctx = ctx(|c| c.lambda = lambda(&[&create, &state]));
    function::execute(&ctx, &create_op())
        .await
        .expect("ready once Active");
    assert_eq!(state.num_calls(), 3, "Pending, Pending, Active");
}

#[tokio::test]
async fn a_function_stuck_pending_gives_up_with_its_state() {
    let create =
        mock!(Lambda::create_function).then_output(|| CreateFunctionOutput::builder().build());
    let state = mock!(Lambda::get_function_configuration)
        .then_output(|| configuration(State::Pending, None));
    let ctx = ctx(|c| c.lambda = lambda(&[&create, &state]));
    let err = function::execute(&ctx, &create_op())
        .await
        .expect_err("bounded by ctx.lambda_bound");
    assert!(
        matches!(err.downcast_ref::<FunctionError>(), Some(FunctionError::NotReady { state, .. }) if state == "Pending"),
        "{err:#}"
    );
    assert!(format!("{err:#}").contains("run `login-alert apply` again"));
}

#[tokio::test]
async fn a_failed_function_stops_at_once_with_lambdas_reason() {
    let create =
        mock!(Lambda::create_function).then_output(|| CreateFunctionOutput::builder().build());
    let state = mock!(Lambda::get_function_configuration).then_output(|| {
        GetFunctionConfigurationOutput::builder()
            .state(State::Failed)
            .state_reason_code(StateReasonCode::InvalidZipFileException)
            .state_reason("Could not unzip uploaded file.")
            .build()
    });
    let ctx = ctx(|c| c.lambda = lambda(&[&create, &state]));
    let err = function::execute(&ctx, &create_op())
        .await
        .expect_err("failed");
    assert_eq!(state.num_calls(), 1, "a failure is not waited on");
    let text = format!("{err:#}");
    assert!(
        text.contains("InvalidZipFileException") && text.contains("Could not unzip"),
        "{text}"
    );
}

#[tokio::test]
async fn an_update_in_progress_is_waited_out_then_code_and_configuration_are_updated() {
    // The first readiness check finds an earlier update still in progress.
    let state = mock!(Lambda::get_function_configuration)
        .sequence()
        .output(|| configuration(State::Active, Some(LastUpdateStatus::InProgress)))
        .output(|| configuration(State::Active, Some(LastUpdateStatus::Successful)))
        .repeatedly()
        .build();
    let code = mock!(Lambda::update_function_code)
        .match_requests(|req| req.zip_file().is_some())
        .sequence()
        .http_status(409, Some(BUSY.into()))
        .times(2)
        .output(|| UpdateFunctionCodeOutput::builder().build())
        .build();
    let config = mock!(Lambda::update_function_configuration)
        .match_requests(|req| req.timeout() == Some(30) && req.environment().is_some())
        .sequence()
        .http_status(409, Some(BUSY.into()))
        .output(|| UpdateFunctionConfigurationOutput::builder().build())
        .build();
    let ctx = ctx(|c| c.lambda = lambda(&[&state, &code, &config]));
    let op = function::Op::Update {
        name: FUNCTION.into(),
        code: true,
        config: Some(
            function::desired(&target(), &login_alert::model::Facts::new(&target())).config,
        ),
    };
    function::execute(&ctx, &op)
        .await
        .expect("updated once Lambda accepts");
    assert_eq!((code.num_calls(), config.num_calls()), (3, 2));
    assert_eq!(
        state.num_calls(),
        4,
        "before, after the code, after the configuration (+1 while InProgress)"
    );
}

#[tokio::test]
async fn a_failed_earlier_update_is_repaired_by_the_next_one() {
    let state = mock!(Lambda::get_function_configuration)
        .sequence()
        .output(|| configuration(State::Active, Some(LastUpdateStatus::Failed)))
        .output(|| configuration(State::Active, Some(LastUpdateStatus::Successful)))
        .repeatedly()
        .build();
    let code = mock!(Lambda::update_function_code)
        .then_output(|| UpdateFunctionCodeOutput::builder().build());
    let ctx = ctx(|c| c.lambda = lambda(&[&state, &code]));
    let op = function::Op::Update {
        name: FUNCTION.into(),
        code: true,
        config: None,
    };
    function::execute(&ctx, &op)
        .await
        .expect("the new code replaces what failed");
    assert_eq!((state.num_calls(), code.num_calls()), (2, 1));
}

#[tokio::test]
async fn an_update_that_stays_busy_gives_up_naming_the_conflict() {
    let state = active();
    let config = mock!(Lambda::update_function_configuration)
        .sequence()
        .http_status(409, Some(BUSY.into()))
        .repeatedly()
        .build();
    let ctx = ctx(|c| c.lambda = lambda(&[&state, &config]));
    let op = function::Op::Update {
        name: FUNCTION.into(),
        code: false,
        config: Some(
            function::desired(&target(), &login_alert::model::Facts::new(&target())).config,
        ),
    };
    let err = function::execute(&ctx, &op).await.expect_err("bounded");
    assert!(
        matches!(
            err.downcast_ref::<FunctionError>(),
            Some(FunctionError::Busy { .. })
        ),
        "{err:#}"
    );
    assert!(format!("{err:#}").contains("ResourceConflictException"));
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_standard_retry() {
    let get = mock!(Lambda::get_function)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .times(2)
        .output(|| {
            GetFunctionOutput::builder()
                .configuration(
                    FunctionConfiguration::builder()
                        .function_name(FUNCTION)
                        .timeout(30)
                        .build(),
                )
                .tags("managed-by", "login-alert")
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&get], |c| c
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        ));
    let ctx = ctx(|c| c.lambda = client);
    let current = function::read(&ctx, FUNCTION)
        .await
        .expect("read after two throttled attempts")
        .expect("found");
    assert_eq!(get.num_calls(), 3);
    assert!(current.managed);
    assert_eq!(current.config.timeout, 30);
}

#[tokio::test]
async fn a_duplicate_statement_id_is_removed_and_added_again() {
    // AWS refuses a second statement with the same id (moto accepts it).
    let add = mock!(Lambda::add_permission)
        .match_requests(|req| {
            req.principal() == Some("logs.amazonaws.com")
                && req.source_arn() == Some("arn:aws:logs:us-east-1:123456789012:log-group:/login-alert/cloudtrail:*")
                && req.source_account() == Some(ACCOUNT)
        })
        .sequence()
        .http_status(
            409,
            Some(r#"{"__type":"ResourceConflictException","message":"The statement id (login-alert-cloudwatch-logs) provided already exists. Please provide a new statement id, or remove the existing statement."}"#.into()),
        )
        .output(|| AddPermissionOutput::builder().build())
        .build();
    let remove =
        mock!(Lambda::remove_permission).then_output(|| RemovePermissionOutput::builder().build());
    let ctx = ctx(|c| c.lambda = lambda(&[&add, &remove]));
    let op = permission::Op::Add {
        function: FUNCTION.into(),
        statement_id: "login-alert-cloudwatch-logs".into(),
        principal: permission::PRINCIPAL.into(),
        source_arn: "arn:aws:logs:us-east-1:123456789012:log-group:/login-alert/cloudtrail:*"
            .into(),
        source_account: ACCOUNT.into(),
    };
    permission::execute(&ctx, &op).await.expect("replaced");
    assert_eq!((add.num_calls(), remove.num_calls()), (2, 1));
}

#[tokio::test]
async fn the_subscription_filter_waits_for_the_new_permission_to_take_effect() {
    use aws_sdk_cloudwatchlogs::Client as Logs;
    use aws_sdk_cloudwatchlogs::operation::put_subscription_filter::PutSubscriptionFilterOutput;
    const NOT_YET: &str = r#"{"__type":"InvalidParameterException","message":"Could not execute the lambda function. Make sure you have given CloudWatch Logs permission to execute your function."}"#;
    let put = |times| {
        mock!(Logs::put_subscription_filter)
            .match_requests(|req| {
                req.role_arn().is_none()
                    && req.filter_pattern()
                        == Some(subscription_filter::pattern(&target()).as_str())
            })
            .sequence()
            .http_status(400, Some(NOT_YET.into()))
            .times(times)
            .output(|| PutSubscriptionFilterOutput::builder().build())
            .build()
    };
    let op = subscription_filter::Op::Put {
        log_group: "/login-alert/cloudtrail".into(),
        name: "login-alert-signin-events".into(),
        pattern: subscription_filter::pattern(&target()),
        destination_arn: format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{FUNCTION}"),
    };

    let soon = put(2);
    let ctx1 =
        ctx(|c| c.logs = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::Sequential, [&soon]));
    subscription_filter::execute(&ctx1, &op)
        .await
        .expect("put once the permission is visible");
    assert_eq!(soon.num_calls(), 3);

    let never = put(usize::MAX / 2);
    let ctx2 =
        ctx(|c| c.logs = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::Sequential, [&never]));
    let err = subscription_filter::execute(&ctx2, &op)
        .await
        .expect_err("bounded");
    let text = format!("{err:#}");
    assert!(
        text.contains("logs.amazonaws.com") && text.contains("`:*`"),
        "{text}"
    );
}

/// CloudWatch Logs answers LimitExceededException for two limits: subscription filters per log group,
/// and regular-expression patterns per log group (across metric and subscription filters). The
/// group's filters, read after the failure, tell which one it was; the message says that one.
#[tokio::test]
async fn a_limit_exceeded_put_names_the_limit_it_hit() {
    use aws_sdk_cloudwatchlogs::Client as Logs;
    use aws_sdk_cloudwatchlogs::operation::describe_subscription_filters::DescribeSubscriptionFiltersOutput;
    use aws_sdk_cloudwatchlogs::types::SubscriptionFilter;
    const LIMIT: &str =
        r#"{"__type":"LimitExceededException","message":"Resource limit exceeded."}"#;
    let op = subscription_filter::Op::Put {
        log_group: "/login-alert/cloudtrail".into(),
        name: "login-alert-signin-events".into(),
        pattern: subscription_filter::pattern(&target()),
        destination_arn: format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{FUNCTION}"),
    };
    async fn put_error(op: &subscription_filter::Op, others: &[&str]) -> String {
        let put = mock!(Logs::put_subscription_filter).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
                aws_smithy_types::body::SdkBody::from(LIMIT),
            )
        });
        let filters: Vec<SubscriptionFilter> = others
            .iter()
            .map(|n| {
                SubscriptionFilter::builder()
                    .filter_name(*n)
                    .destination_arn("arn:aws:firehose:us-east-1:123456789012:deliverystream/x")
                    .build()
            })
            .collect();
        let describe = mock!(Logs::describe_subscription_filters).then_output(move || {
            DescribeSubscriptionFiltersOutput::builder()
                .set_subscription_filters(Some(filters.clone()))
                .build()
        });
        let ctx = ctx(|c| {
            c.logs = mock_client!(
                aws_sdk_cloudwatchlogs,
                RuleMode::MatchAny,
                [&put, &describe]
            )
        });
        let err = subscription_filter::execute(&ctx, op)
            .await
            .expect_err("limit exceeded");
        format!("{err:#}")
    }

    // Two filters of the user's already: the filter count.
    let text = put_error(&op, &["audit-firehose", "siem"]).await;
    assert!(
        text.contains("LimitExceededException")
            && text.contains("already has 2 subscription filters (audit-firehose, siem)")
            && !text.contains("regular-expression"),
        "{text}"
    );
    // One other filter only: the count is not the limit, so the regular expressions were.
    let text = put_error(&op, &["siem"]).await;
    assert!(
        text.contains("more than 5 regular-expression patterns")
            && text.contains("metric and subscription filters")
            && text.contains(
                "aws logs describe-metric-filters --log-group-name /login-alert/cloudtrail"
            )
            && !text.contains("already has"),
        "{text}"
    );
}

// ---------------------------------------------------------------- SNS

fn sns_topic(subscriptions: Vec<Subscription>) -> [Rule; 3] {
    [
        mock!(Sns::get_topic_attributes).then_output(|| {
            GetTopicAttributesOutput::builder()
                .attributes("TopicArn", TOPIC)
                .attributes(
                    "Policy",
                    login_alert::resources::policies::topic_access(ACCOUNT, TOPIC).to_string(),
                )
                .build()
        }),
        mock!(Sns::list_tags_for_resource).then_output(|| {
            ListTagsForResourceOutput::builder()
                .tags(
                    Tag::builder()
                        .key("managed-by")
                        .value("login-alert")
                        .build()
                        .unwrap(),
                )
                .build()
        }),
        mock!(Sns::list_subscriptions_by_topic).then_output(move || {
            ListSubscriptionsByTopicOutput::builder()
                .set_subscriptions(Some(subscriptions.clone()))
                .build()
        }),
    ]
}

fn email(address: &str, arn: &str) -> Subscription {
    Subscription::builder()
        .protocol("email")
        .endpoint(address)
        .subscription_arn(arn)
        .topic_arn(TOPIC)
        .build()
}

#[tokio::test]
async fn pending_subscriptions_are_a_notice_never_a_new_subscribe() {
    let rules = sns_topic(vec![
        email("a@example.com", "PendingConfirmation"),
        email("b@example.com", &format!("{TOPIC}:0f1e2d3c")),
        email("old@example.com", "PendingConfirmation"),
    ]);
    let ctx = ctx(|c| {
        c.sns = mock_client!(
            aws_sdk_sns,
            RuleMode::MatchAny,
            [&rules[0], &rules[1], &rules[2]]
        )
    });
    let current = topic::read(&ctx, TOPIC)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        current.subscriptions[0],
        topic::Subscription {
            protocol: "email".into(),
            endpoint: "a@example.com".into(),
            arn: None
        }
    );
    let mut plan: Plan<topic::Op> = Plan::new(Mode::Apply, ACCOUNT, "us-east-1");
    topic::plan_apply(Some(&current), &topic::desired(&ctx.target), &mut plan);
    assert!(!plan.has_changes(), "no re-subscribe: {:?}", plan.changes);
    assert_eq!(plan.notices.len(), 2, "{:?}", plan.notices);
    assert!(
        plan.notices[0].starts_with("email a@example.com: subscription pending confirmation"),
        "{}",
        plan.notices[0]
    );
    assert!(
        plan.notices[1].contains("old@example.com") && plan.notices[1].contains("3 days"),
        "{}",
        plan.notices[1]
    );
    let text = login_alert::plan::render::text(&plan);
    assert!(
        text.contains("a@example.com: subscription pending confirmation"),
        "{text}"
    );
}

#[tokio::test]
async fn subscribing_an_email_is_answered_pending_confirmation() {
    let subscribe = mock!(Sns::subscribe)
        .match_requests(|req| {
            req.protocol() == Some("email") && req.endpoint() == Some("a@example.com")
        })
        .then_output(|| {
            SubscribeOutput::builder()
                .subscription_arn("pending confirmation")
                .build()
        });
    let ctx = ctx(|c| c.sns = mock_client!(aws_sdk_sns, RuleMode::Sequential, [&subscribe]));
    let op = topic::Op::Subscribe {
        topic_arn: TOPIC.into(),
        email: "a@example.com".into(),
    };
    topic::execute(&ctx, &op)
        .await
        .expect("subscribed, awaiting confirmation");
    assert_eq!(subscribe.num_calls(), 1);
}

#[tokio::test]
async fn a_missing_topic_reads_as_none() {
    let missing = mock!(Sns::get_topic_attributes).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(404).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                "<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error></ErrorResponse>",
            ),
        )
    });
    let ctx = ctx(|c| c.sns = mock_client!(aws_sdk_sns, RuleMode::Sequential, [&missing]));
    assert_eq!(topic::read(&ctx, TOPIC).await.expect("not an error"), None);
}
