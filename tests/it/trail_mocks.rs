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
use login_alert::config::{Config, NotifyConfig, sample};
use login_alert::model::{Ctx, Target};
use login_alert::printer::Printer;
use login_alert::resources::trail::{self, CloudWatchLogs, TrailError};
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
        notify: NotifyConfig {
            emails: vec!["secops@example.com".into()],
            ..Default::default()
        },
        ..sample("eu-west-1")
    };
    let mut ctx = Ctx::new(clients, Target::new(&config, ACCOUNT), Printer::silent());
    ctx.iam_bound = QUICK;
    ctx
}

fn deliver_to(log_group_arn: &str) -> trail::Op {
    trail::Op::Update(trail::Update {
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
    })
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
        cloud_watch_logs: Some(CloudWatchLogs::Set {
            log_group_arn: GROUP.into(),
            role_arn: ROLE.into(),
        }),
        organization: false,
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

fn described(
    name: &str,
    arn: &str,
    home: &str,
    organization: bool,
) -> aws_sdk_cloudtrail::types::Trail {
    aws_sdk_cloudtrail::types::Trail::builder()
        .name(name)
        .trail_arn(arn)
        .home_region(home)
        .is_multi_region_trail(true)
        .include_global_service_events(true)
        .is_organization_trail(organization)
        .s3_bucket_name("org-logs")
        .build()
}

/// AWS's DescribeTrails finds a trail by name only in its home region (moto returns every trail):
/// read then finds its ARN with ListTrails and describes it by ARN, to name the region to set.
#[tokio::test]
async fn a_trail_homed_elsewhere_is_found_by_name_through_list_trails() {
    use aws_sdk_cloudtrail::operation::describe_trails::DescribeTrailsOutput;
    use aws_sdk_cloudtrail::operation::list_trails::ListTrailsOutput;
    use aws_sdk_cloudtrail::types::TrailInfo;
    let arn = format!("arn:aws:cloudtrail:us-east-2:{ACCOUNT}:trail/audit");
    let by_name = mock!(Client::describe_trails)
        .match_requests(|req| req.trail_name_list() == ["audit"])
        .then_output(|| {
            DescribeTrailsOutput::builder()
                .set_trail_list(Some(vec![]))
                .build()
        });
    let listed = {
        let arn = arn.clone();
        mock!(Client::list_trails).then_output(move || {
            ListTrailsOutput::builder()
                .trails(
                    TrailInfo::builder()
                        .name("audit")
                        .trail_arn(&arn)
                        .home_region("us-east-2")
                        .build(),
                )
                .build()
        })
    };
    let by_arn = {
        let (wanted, arn) = (arn.clone(), arn.clone());
        mock!(Client::describe_trails)
            .match_requests(move |req| req.trail_name_list() == [wanted.clone()])
            .then_output(move || {
                DescribeTrailsOutput::builder()
                    .trail_list(described("audit", &arn, "us-east-2", false))
                    .build()
            })
    };
    let ctx = ctx(mock_client!(
        aws_sdk_cloudtrail,
        RuleMode::MatchAny,
        [&by_name, &listed, &by_arn]
    ));
    let current = trail::read(&ctx).await.expect("read");
    let found = current.trail.as_ref().expect("found through ListTrails");
    assert_eq!(found.home_region, "us-east-2");
    assert_eq!(
        (by_name.num_calls(), listed.num_calls(), by_arn.num_calls()),
        (1, 1, 1)
    );
    let mut plan: login_alert::plan::Plan<trail::Op> =
        login_alert::plan::Plan::new(login_alert::plan::Mode::Apply, ACCOUNT, "eu-west-1");
    trail::plan_apply(
        &current,
        &ctx.target,
        &trail::delivery(&current, &ctx.target),
        &mut plan,
    );
    assert!(
        plan.blockers[0].contains("set region = \"us-east-2\""),
        "{:?}",
        plan.blockers
    );
}

/// A member account sees its organization's trail (owned by the management account) but cannot
/// change it: read asks nothing more of it (no status, no tags) and apply is blocked with the reason.
#[tokio::test]
async fn an_organization_trail_seen_from_a_member_account_blocks_apply() {
    use aws_sdk_cloudtrail::operation::describe_trails::DescribeTrailsOutput;
    let arn = "arn:aws:cloudtrail:eu-west-1:999999999999:trail/org-trail";
    let describe = mock!(Client::describe_trails).then_output(move || {
        DescribeTrailsOutput::builder()
            .trail_list(described("org-trail", arn, "eu-west-1", true))
            .build()
    });
    let ctx = {
        let mut ctx = ctx(mock_client!(
            aws_sdk_cloudtrail,
            RuleMode::MatchAny,
            [&describe]
        ));
        ctx.target.trail = login_alert::model::TrailChoice::Adopt(arn.into());
        ctx
    };
    let current = trail::read(&ctx)
        .await
        .expect("read sends only DescribeTrails (any other call has no mock and fails)");
    assert!(current.trail.as_ref().is_some_and(|t| t.organization));
    let mut plan: login_alert::plan::Plan<trail::Op> =
        login_alert::plan::Plan::new(login_alert::plan::Mode::Apply, ACCOUNT, "eu-west-1");
    trail::plan_apply(
        &current,
        &ctx.target,
        &trail::delivery(&current, &ctx.target),
        &mut plan,
    );
    assert!(!plan.has_changes());
    assert!(
        plan.blockers[0].contains("management account 999999999999"),
        "{:?}",
        plan.blockers
    );
    let mut plan: login_alert::plan::Plan<trail::Op> =
        login_alert::plan::Plan::new(login_alert::plan::Mode::Destroy, ACCOUNT, "eu-west-1");
    trail::plan_destroy(&current, &ctx.target, &mut plan);
    assert!(
        !plan.has_changes() && plan.blockers.is_empty(),
        "destroy goes on without it"
    );
}

const BUCKET_POLICY_RACE: &str = r#"{"__type":"InsufficientS3BucketPolicyException","message":"Incorrect S3 bucket policy is detected for bucket: login-alert-trail-123456789012-eu-west-1"}"#;

/// EventBridge mode: login-alert's trail without CloudWatch Logs delivery, right after its bucket.
fn create_without_delivery() -> trail::Op {
    trail::Op::Create {
        name: "login-alert-trail".into(),
        arn: format!("arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/login-alert-trail"),
        bucket: "login-alert-trail-123456789012-eu-west-1".into(),
        cloud_watch_logs: None,
        organization: false,
    }
}

/// CreateTrail right after PutBucketPolicy can find the new policy not there yet (a propagation
/// race, terraform-provider-aws #820; moto never refuses): it is retried, in EventBridge mode too.
#[tokio::test(start_paused = true)]
async fn create_trail_is_retried_while_the_new_bucket_policy_propagates() {
    let create = mock!(Client::create_trail)
        .match_requests(|req| req.cloud_watch_logs_role_arn().is_none())
        .sequence()
        .http_status(400, Some(BUCKET_POLICY_RACE.into()))
        .output(|| CreateTrailOutput::builder().build())
        .build();
    let start = mock!(Client::start_logging)
        .match_requests(|req| req.name() == Some("login-alert-trail"))
        .then_output(|| StartLoggingOutput::builder().build());
    let mut ctx = ctx(mock_client!(
        aws_sdk_cloudtrail,
        RuleMode::MatchAny,
        [&create, &start]
    ));
    ctx.iam_bound = Bound::IAM_PROPAGATION;
    trail::execute(&ctx, &create_without_delivery())
        .await
        .expect("created once CloudTrail sees the bucket policy");
    assert_eq!((create.num_calls(), start.num_calls()), (2, 1));
}

/// A refusal that outlasts the bound is the policy's fault: the error says so and names the bucket.
#[tokio::test(start_paused = true)]
async fn a_bucket_policy_refused_past_the_bound_is_named_as_the_cause() {
    let create = mock!(Client::create_trail)
        .sequence()
        .http_status(400, Some(BUCKET_POLICY_RACE.into()))
        .times(usize::MAX / 2)
        .build();
    let mut ctx = ctx(mock_client!(
        aws_sdk_cloudtrail,
        RuleMode::Sequential,
        [&create]
    ));
    ctx.iam_bound = Bound::IAM_PROPAGATION;
    let started = tokio::time::Instant::now();
    let err = trail::execute(&ctx, &create_without_delivery())
        .await
        .expect_err("gives up at the bound");
    let waited = started.elapsed();
    assert!(
        waited <= Bound::IAM_PROPAGATION.total + Duration::from_secs(1),
        "bounded: {waited:?}"
    );
    assert!(
        create.num_calls() >= 5,
        "retried: {} calls",
        create.num_calls()
    );
    assert!(
        matches!(
            err.downcast_ref::<TrailError>(),
            Some(TrailError::BucketPolicyNotSeen { .. })
        ),
        "a typed error: {err:#}"
    );
    let text = format!("{err:#}");
    assert!(
        text.contains("policy of bucket login-alert-trail-123456789012-eu-west-1"),
        "{text}"
    );
    assert!(text.contains("s3:GetBucketAcl"), "the fix is named: {text}");
}

/// The organization's delegated CloudTrail administrator (a member account) sees the organization
/// trail under the management account's ARN. CloudTrail would let it change the trail; login-alert
/// does not (its log group would have to be in the management account, its permissions and memo tags
/// are for trails of the account it runs in), and every message says so without telling the user to
/// run it there. moto has no CloudTrail delegated administrator (nor organization trails seen from
/// another account), hence the mocks. The management account's own organization trail is adopted
/// and changed: tests/alert_state.rs::an_organization_trail_brings_the_member_accounts_names (moto).
#[tokio::test]
async fn a_delegated_administrator_is_told_plainly_that_only_the_management_account_works() {
    use aws_sdk_cloudtrail::operation::describe_trails::DescribeTrailsOutput;
    let arn = "arn:aws:cloudtrail:eu-west-1:999999999999:trail/org-trail";
    let describe = mock!(Client::describe_trails).then_output(move || {
        DescribeTrailsOutput::builder()
            .trail_list(described("org-trail", arn, "eu-west-1", true))
            .build()
    });
    let ctx = {
        let mut ctx = ctx(mock_client!(
            aws_sdk_cloudtrail,
            RuleMode::MatchAny,
            [&describe]
        ));
        ctx.target.trail = login_alert::model::TrailChoice::Adopt("org-trail".into());
        ctx
    };
    let current = trail::read(&ctx)
        .await
        .expect("read sends only DescribeTrails");
    let mut plan: login_alert::plan::Plan<trail::Op> =
        login_alert::plan::Plan::new(login_alert::plan::Mode::Apply, ACCOUNT, "eu-west-1");
    trail::plan_apply(
        &current,
        &ctx.target,
        &trail::delivery(&current, &ctx.target),
        &mut plan,
    );
    assert!(
        !plan.has_changes(),
        "no UpdateTrail, StartLogging or AddTags"
    );
    let facts = login_alert::model::Facts::new(&ctx.target);
    let checks = trail::health::checks(&ctx, &current, &facts)
        .await
        .expect("status reads nothing more");
    let check = &checks[0];
    for text in [
        plan.blockers[0].clone(),
        format!("{} {}", check.detail, check.fix.clone().unwrap_or_default()),
    ] {
        assert!(text.contains("account 999999999999"), "{text}");
        assert!(
            text.contains(
                "even when this account is the organization's delegated CloudTrail administrator"
            ),
            "says what a delegated administrator can expect: {text}"
        );
        assert!(
            !text.contains("or the organization's delegated CloudTrail administrator")
                && !text.contains("(or a delegated administrator)"),
            "never sends the user to a delegated administrator account it then refuses: {text}"
        );
    }
}
