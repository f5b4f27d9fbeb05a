//! EventBridge mode against moto through the real binary: a forwarding rule in every enabled region,
//! the home rule to the function, the trail without CloudWatch Logs delivery, zero-write re-apply, a
//! rule deleted by hand repaired, the mode switched both ways, destroy; the rules' pattern routing
//! published records (moto evaluates patterns in PutEvents); account:ListRegions with mocks.
//!
//! Where moto differs from AWS (tested here another way, or on our side):
//! - moto has no `account:ListRegions`: the CLI tests name the enabled regions in
//!   LOGIN_ALERT_ENABLED_REGIONS (the documented way for credentials that may not call it); the call
//!   itself is tested with aws-smithy-mocks below.
//! - moto's PutEvents raises NotImplementedError for a Lambda target, so a rule whose target is the
//!   function cannot route in moto: the pattern is routed through rules with the same pattern and an
//!   SQS target instead (forwarding across regions to the home bus, as login-alert's rules do).
//! - moto accepts any `State` string and does not check PutTargets' RoleArn or that the function's
//!   resource policy lets EventBridge invoke it.
//! - moto's TestEventPattern is an empty stub; PutEvents evaluates patterns for real.
//! - moto accepts PutEvents with `aws.*` sources (AWS keeps them for its services); that is what
//!   lets published CloudTrail records be replayed here.

use crate::support;

use std::path::Path;

use aws_sdk_account::Client as Account;
use aws_sdk_account::operation::list_regions::ListRegionsOutput;
use aws_sdk_account::types::{Region, RegionOptStatus};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use login_alert::config::{Config, NotifyConfig, Route, TrailConfig, sample};
use login_alert::model::{Ctx, Target};
use login_alert::printer::Printer;
use login_alert::resources::{enabled_regions, rule};
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;
use support::{Account as TestAccount, fresh_account, workdir};

const TRAIL: &str = "audit-trail";
const HOME: &str = "eu-west-1";
const ENABLED: [&str; 3] = ["eu-west-1", "us-east-1", "ap-northeast-1"];

fn cli(account: &TestAccount, dir: &Path) -> assert_cmd::Command {
    let mut cmd = account.cli(dir);
    cmd.env(enabled_regions::ENV_ENABLED_REGIONS, ENABLED.join(","));
    cmd
}

/// Every login-alert rule in each enabled region, with its targets and state.
async fn rules(
    account: &TestAccount,
) -> Vec<(String, String, String, Vec<(String, Option<String>)>)> {
    let mut found = Vec::new();
    for region in ENABLED {
        let events = aws_sdk_eventbridge::Client::new(&account.sdk(region));
        for r in events
            .list_rules()
            .name_prefix("login-alert")
            .send()
            .await
            .unwrap()
            .rules
            .unwrap_or_default()
        {
            let name = r.name.unwrap_or_default();
            let targets = events
                .list_targets_by_rule()
                .rule(&name)
                .send()
                .await
                .unwrap()
                .targets
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.arn, t.role_arn))
                .collect();
            found.push((
                region.to_owned(),
                name,
                r.state.map(|s| s.as_str().to_owned()).unwrap_or_default(),
                targets,
            ));
        }
    }
    found.sort();
    found
}

async fn trail(account: &TestAccount) -> aws_sdk_cloudtrail::types::Trail {
    aws_sdk_cloudtrail::Client::new(&account.sdk(HOME))
        .get_trail()
        .name(TRAIL)
        .send()
        .await
        .unwrap()
        .trail
        .unwrap()
}

fn no_logs(trail: &aws_sdk_cloudtrail::types::Trail) -> bool {
    // moto keeps "" where AWS omits a removed delivery.
    trail
        .cloud_watch_logs_log_group_arn
        .as_deref()
        .is_none_or(str::is_empty)
}

#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_mode_from_init_to_destroy_in_every_enabled_region() {
    let account = fresh_account().await;
    account.seed_single_region_trail(HOME, TRAIL).await;
    let dir = workdir();
    let dir = dir.path();
    let id = account.id.clone();
    cli(&account, dir)
        .args([
            "init",
            "--yes",
            "--trail",
            TRAIL,
            "--email",
            "secops@example.com",
        ])
        .args(["--mode", "eventbridge"])
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(dir.join("login-alert.toml"))
            .unwrap()
            .contains("mode = \"eventbridge\"")
    );

    cli(&account, dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(contains("Coverage: 3 enabled regions (ap-northeast-1, eu-west-1, us-east-1), through EventBridge"))
        .stdout(contains("not enabled for this account, so not covered: "))
        .stdout(contains("+ EventBridge rule login-alert-events in eu-west-1 will be created"))
        .stdout(contains("+ EventBridge rule login-alert-forward in us-east-1 will be created"))
        .stdout(contains("+ EventBridge rule login-alert-forward in ap-northeast-1 will be created"))
        .stdout(contains("/login-alert/cloudtrail").not())
        .stdout(contains("subscription filter").not());
    cli(&account, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();

    let function = format!("arn:aws:lambda:{HOME}:{id}:function:login-alert-handler");
    let bus = format!("arn:aws:events:{HOME}:{id}:event-bus/default");
    let role = format!("arn:aws:iam::{id}:role/login-alert-events-forward");
    // The digest schedule is there in every mode.
    let digest = (
        HOME.to_owned(),
        "login-alert-digest".to_owned(),
        rule::SCHEDULE_STATE.to_owned(),
        vec![(function.clone(), None)],
    );
    let expected = vec![
        (
            "ap-northeast-1".to_owned(),
            "login-alert-forward".to_owned(),
            rule::STATE.to_owned(),
            vec![(bus.clone(), Some(role.clone()))],
        ),
        digest.clone(),
        (
            HOME.to_owned(),
            "login-alert-events".to_owned(),
            rule::STATE.to_owned(),
            vec![(function.clone(), None)],
        ),
        (
            "us-east-1".to_owned(),
            "login-alert-forward".to_owned(),
            rule::STATE.to_owned(),
            vec![(bus.clone(), Some(role.clone()))],
        ),
    ];
    assert_eq!(rules(&account).await, expected);
    // A region that is not enabled gets no rule.
    assert!(account.tagged_rules("eu-central-1").await.is_empty());
    let t = trail(&account).await;
    assert_eq!(t.is_multi_region_trail, Some(true));
    assert!(
        no_logs(&t),
        "EventBridge mode adds no CloudWatch Logs delivery"
    );
    assert!(
        !account
            .tagged(HOME)
            .await
            .iter()
            .any(|r| r.contains("/login-alert/cloudtrail")),
        "no log group for the trail"
    );

    // A second apply writes nothing.
    let mark = account.requests().len();
    cli(&account, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();
    assert_eq!(account.writes_since(mark), Vec::<String>::new());

    // A rule deleted by hand in one region is put back, and only there.
    let east = aws_sdk_eventbridge::Client::new(&account.sdk("us-east-1"));
    east.remove_targets()
        .rule("login-alert-forward")
        .ids(rule::HOME_BUS_TARGET)
        .send()
        .await
        .unwrap();
    east.delete_rule()
        .name("login-alert-forward")
        .send()
        .await
        .unwrap();
    cli(&account, dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(contains("Plan: 1 to add, 0 to change, 0 to destroy."))
        .stdout(contains("login-alert-forward in us-east-1 will be created"));
    cli(&account, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();
    assert_eq!(rules(&account).await, expected);

    // To CloudWatch Logs mode: the rules and their role go, the delivery, filter and log group come.
    cli(&account, dir)
        .args(["init", "--yes", "--mode", "cloudwatch-logs"])
        .assert()
        .success();
    cli(&account, dir)
        .args(["plan"])
        .assert()
        .success()
        .stdout(contains(
            "- EventBridge rule login-alert-forward in us-east-1 will be destroyed",
        ))
        .stdout(contains(
            "- IAM role login-alert-events-forward will be destroyed",
        ))
        .stdout(contains("+ subscription filter"));
    cli(&account, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();
    cli(&account, dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);
    assert_eq!(rules(&account).await, std::slice::from_ref(&digest));
    assert!(
        !no_logs(&trail(&account).await),
        "delivers to CloudWatch Logs"
    );

    // And back: login-alert's delivery is removed again (the trail had none of its own).
    cli(&account, dir)
        .args(["init", "--yes", "--mode", "eventbridge"])
        .assert()
        .success();
    cli(&account, dir)
        .args(["plan"])
        .assert()
        .success()
        .stdout(contains(
            "stops delivering to login-alert's CloudWatch Logs group",
        ))
        .stdout(contains("- subscription filter"));
    cli(&account, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();
    cli(&account, dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);
    assert_eq!(rules(&account).await, expected);
    assert!(no_logs(&trail(&account).await));

    // Destroy: no tagged rule in any region, the trail as it was.
    cli(&account, dir)
        .args(["destroy", "--yes"])
        .assert()
        .success();
    for region in ENABLED {
        assert_eq!(
            account.tagged(region).await,
            Vec::<String>::new(),
            "{region}"
        );
    }
    let t = trail(&account).await;
    assert_eq!(t.is_multi_region_trail, Some(false), "restored");
    assert!(no_logs(&t));
}

/// The statement IDs of the function's resource policy.
async fn invoke_statements(account: &TestAccount) -> Vec<String> {
    let policy = aws_sdk_lambda::Client::new(&account.sdk(HOME))
        .get_policy()
        .function_name("login-alert-handler")
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let policy: Value = serde_json::from_str(&policy).unwrap();
    let mut sids: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap().to_owned())
        .collect();
    sids.sort();
    sids
}

#[tokio::test(flavor = "multi_thread")]
async fn both_modes_at_once_build_both_paths_and_converge() {
    let account = fresh_account().await;
    account.seed_single_region_trail(HOME, TRAIL).await;
    let dir = workdir();
    let dir = dir.path();
    cli(&account, dir)
        .args([
            "init",
            "--yes",
            "--trail",
            TRAIL,
            "--email",
            "secops@example.com",
        ])
        .args(["--mode", "both"])
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(dir.join("login-alert.toml"))
            .unwrap()
            .contains("mode = \"both\"")
    );
    cli(&account, dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(contains(
            "through EventBridge: alerts arrive within seconds",
        ))
        .stdout(contains(
            "through CloudWatch Logs: alerts arrive in about 5 minutes",
        ))
        .stdout(contains("as the backstop"))
        .stdout(contains(
            "+ EventBridge rule login-alert-forward in us-east-1 will be created",
        ))
        .stdout(contains("+ subscription filter"));
    cli(&account, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();

    // Both ways in: the forwarding rules and the home rule, and the trail's delivery with its filter.
    let names: Vec<(String, String)> = rules(&account)
        .await
        .into_iter()
        .map(|(region, name, _, _)| (region, name))
        .collect();
    for (region, name) in [
        ("ap-northeast-1", "login-alert-forward"),
        (HOME, "login-alert-events"),
        (HOME, "login-alert-digest"),
        ("us-east-1", "login-alert-forward"),
    ] {
        assert!(
            names.contains(&(region.to_owned(), name.to_owned())),
            "{region} {name}: {names:?}"
        );
    }
    assert!(
        !no_logs(&trail(&account).await),
        "delivers to CloudWatch Logs"
    );
    let filters = aws_sdk_cloudwatchlogs::Client::new(&account.sdk(HOME))
        .describe_subscription_filters()
        .log_group_name("/login-alert/cloudtrail")
        .send()
        .await
        .unwrap()
        .subscription_filters
        .unwrap_or_default();
    assert_eq!(filters.len(), 1);
    // The function may be invoked by each way in, and by the digest schedule.
    assert_eq!(
        invoke_statements(&account).await,
        [
            "login-alert-cloudwatch-logs",
            "login-alert-digest",
            "login-alert-eventbridge"
        ]
    );

    // A second apply writes nothing; back to EventBridge alone, the CloudWatch Logs path goes.
    let mark = account.requests().len();
    cli(&account, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();
    assert_eq!(account.writes_since(mark), Vec::<String>::new());
    cli(&account, dir)
        .args(["init", "--yes", "--mode", "eventbridge"])
        .assert()
        .success();
    cli(&account, dir)
        .args(["plan"])
        .assert()
        .success()
        .stdout(contains("- subscription filter"))
        .stdout(contains("EventBridge rule").not());
    cli(&account, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();
    assert_eq!(
        invoke_statements(&account).await,
        ["login-alert-digest", "login-alert-eventbridge"]
    );
    cli(&account, dir)
        .args(["destroy", "--yes"])
        .assert()
        .success();
    for region in ENABLED {
        assert_eq!(
            account.tagged(region).await,
            Vec::<String>::new(),
            "{region}"
        );
    }
}

/// A CloudTrail record as CloudTrail puts it on EventBridge (`aws.<service>`, the detail-type by kind).
fn as_event(record: &Value) -> (String, String, String) {
    let event_source = record["eventSource"].as_str().unwrap_or("");
    let source = format!("aws.{}", event_source.split('.').next().unwrap_or(""));
    let detail_type = if source == "aws.signin" {
        "AWS Console Sign In via CloudTrail"
    } else {
        "AWS API Call via CloudTrail"
    };
    (source, detail_type.to_owned(), record.to_string())
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/handler/tests/fixtures/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    match value.get("Records") {
        Some(records) => records[0].clone(),
        None => value,
    }
}

fn target(account: &str) -> Target {
    let config = Config {
        mode: Route::Eventbridge,
        trail: TrailConfig {
            name: Some(TRAIL.into()),
            create: false,
        },
        cis: false,
        notify: NotifyConfig {
            emails: vec!["a@example.com".into()],
            ..Default::default()
        },
        ..sample(HOME)
    };
    Target::new(&config, account)
}

/// The published records that must alert reach the home region through a forwarding rule and the
/// home rule's pattern; ordinary API calls stop at the first rule.
#[tokio::test(flavor = "multi_thread")]
async fn the_rules_pattern_routes_sign_ins_root_and_tamper_events_home_and_nothing_else() {
    let account = fresh_account().await;
    let pattern = rule::pattern(&target(&account.id));
    let sqs = aws_sdk_sqs::Client::new(&account.sdk(HOME));
    let queue = sqs
        .create_queue()
        .queue_name("routed")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = format!("arn:aws:sqs:{HOME}:{}:routed", account.id);
    // The home region: the pattern, to a queue standing in for the function.
    let home = aws_sdk_eventbridge::Client::new(&account.sdk(HOME));
    home.put_rule()
        .name("home")
        .event_pattern(&pattern)
        .state(aws_sdk_eventbridge::types::RuleState::from(rule::STATE))
        .send()
        .await
        .unwrap();
    home.put_targets()
        .rule("home")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(&queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // Another region: the same pattern, forwarding to the home bus as login-alert's rules do.
    let east = aws_sdk_eventbridge::Client::new(&account.sdk("us-east-1"));
    east.put_rule()
        .name("forward")
        .event_pattern(&pattern)
        .send()
        .await
        .unwrap();
    east.put_targets()
        .rule("forward")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("home")
                .arn(format!(
                    "arn:aws:events:{HOME}:{}:event-bus/default",
                    account.id
                ))
                .role_arn(format!("arn:aws:iam::{}:role/forward", account.id))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let alerting = [
        "aws-ct-ug__root-success-no-mfa",
        "aws-ct-ug__iam-user-failure",
        "panther-root-activity__put-bucket-versioning",
        "aws-iam-ug-privileged__assume-root",
        "panther-cloudtrail-stopped__stop-logging",
        "panther-security-configuration-change__delete-trail",
        "elastic-aws-cloudtrail__delete-log-group",
    ];
    let ordinary = [
        "panther-console-root-login-failed__dynamodb-describe-table",
        "panther-root-activity__iam-user-get-bucket-acl",
        "elastic-aws-cloudtrail__attach-role-policy",
        "panther-lambda-crud__delete-other-function",
    ];
    for name in alerting.iter().chain(ordinary.iter()) {
        let (source, detail_type, detail) = as_event(&fixture(name));
        let out = east
            .put_events()
            .entries(
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .source(source)
                    .detail_type(detail_type)
                    .detail(detail)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_entry_count, 0, "{name}");
    }
    let mut routed = Vec::new();
    loop {
        let messages = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let event: Value = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
            // Fixture event IDs are not unique ("1" in several test logs): the names in these lists are.
            routed.push(
                event["detail"]["eventName"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
            sqs.delete_message()
                .queue_url(&queue)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    for name in alerting {
        let event = fixture(name)["eventName"].as_str().unwrap().to_owned();
        assert!(
            routed.contains(&event),
            "{name} did not reach the home region: {routed:?}"
        );
    }
    for name in ordinary {
        let event = fixture(name)["eventName"].as_str().unwrap().to_owned();
        assert!(!routed.contains(&event), "{name} was routed");
    }
    assert_eq!(routed.len(), alerting.len(), "each once: {routed:?}");
}

fn mocked_ctx(account: aws_sdk_account::Client) -> Ctx {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(HOME))
        .build();
    let mut clients = login_alert::aws::Clients::new(&sdk);
    clients.account = account;
    Ctx::new(clients, target("123456789012"), Printer::silent())
}

#[tokio::test]
async fn the_enabled_regions_are_every_page_of_list_regions_with_an_enabled_status() {
    let first = mock!(Account::list_regions)
        .match_requests(|req| req.next_token().is_none())
        .then_output(|| {
            ListRegionsOutput::builder()
                .regions(
                    Region::builder()
                        .region_name("us-east-1")
                        .region_opt_status(RegionOptStatus::EnabledByDefault)
                        .build(),
                )
                .regions(
                    Region::builder()
                        .region_name("ap-east-1")
                        .region_opt_status(RegionOptStatus::Enabled)
                        .build(),
                )
                .next_token("page-2")
                .build()
        });
    let second = mock!(Account::list_regions)
        .match_requests(|req| req.next_token() == Some("page-2"))
        .then_output(|| {
            ListRegionsOutput::builder()
                .regions(
                    Region::builder()
                        .region_name("eu-west-1")
                        .region_opt_status(RegionOptStatus::EnabledByDefault)
                        .build(),
                )
                // Asked for enabled ones only; one being disabled must still not count.
                .regions(
                    Region::builder()
                        .region_name("me-south-1")
                        .region_opt_status(RegionOptStatus::Disabling)
                        .build(),
                )
                .build()
        });
    let ctx = mocked_ctx(mock_client!(
        aws_sdk_account,
        RuleMode::MatchAny,
        [&first, &second]
    ));
    let regions = enabled_regions::list_regions(&ctx).await.unwrap();
    assert_eq!(regions, ["us-east-1", "ap-east-1", "eu-west-1"]);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_denied_list_regions_names_the_permission_and_the_way_around_it() {
    let denied = mock!(Account::list_regions).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform: account:ListRegions"}"#,
            ),
        )
    });
    let ctx = mocked_ctx(mock_client!(aws_sdk_account, RuleMode::MatchAny, [&denied]));
    let err = enabled_regions::list_regions(&ctx)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("account:ListRegions"), "{err}");
    assert!(err.contains(enabled_regions::ENV_ENABLED_REGIONS), "{err}");
}

/// EventBridge cannot route events between Regions in China and GovCloud: there `init`, `plan` and
/// `apply` refuse `eventbridge` and `both` before any write, and name the mode that works.
#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_modes_are_refused_in_china_and_govcloud_without_a_write() {
    let account = fresh_account().await;
    let dir = workdir();
    let mark = account.requests().len();
    for (region, mode) in [("cn-north-1", "eventbridge"), ("us-gov-west-1", "both")] {
        let says_why = || {
            contains("cross-Region event routing is not supported")
                .and(contains("mode = \"cloudwatch-logs\""))
        };
        cli(&account, dir.path())
            .args([
                "init",
                "--yes",
                "--create-trail",
                "--email",
                "secops@example.com",
            ])
            .args(["--region", region, "--mode", mode])
            .assert()
            .code(1)
            .stderr(says_why());
        assert!(
            !dir.path().join("login-alert.toml").exists(),
            "init wrote a config"
        );
        std::fs::write(
            dir.path().join("login-alert.toml"),
            format!(
                "region = \"{region}\"\nmode = \"{mode}\"\n\n[trail]\ncreate = true\n\n[notify]\nemails = [\"secops@example.com\"]\n"
            ),
        )
        .unwrap();
        for args in [&["plan"][..], &["apply", "--yes"][..]] {
            cli(&account, dir.path())
                .args(args)
                .assert()
                .code(1)
                .stderr(says_why());
        }
        std::fs::remove_file(dir.path().join("login-alert.toml")).unwrap();
    }
    assert_eq!(account.writes_since(mark), Vec::<String>::new());
}

/// An organization trail adopted in the management account delivers every account's events, but
/// CloudTrail hands each account's events to that account's own default bus: EventBridge mode's rules
/// see this account only. plan, apply and status say so in words and name what covers the member
/// accounts (mode = "cloudwatch-logs"); nothing is silently dropped.
#[tokio::test(flavor = "multi_thread")]
async fn an_organization_trail_in_eventbridge_mode_says_the_member_accounts_are_not_covered() {
    let account = fresh_account().await;
    let sdk = account.sdk(HOME);
    let orgs = aws_sdk_organizations::Client::new(&sdk);
    orgs.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("an organization of this account");
    let bucket = format!("org-audit-{}", account.id);
    account
        .s3(HOME)
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(HOME))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&sdk);
    cloudtrail
        .create_trail()
        .name(TRAIL)
        .s3_bucket_name(&bucket)
        .is_multi_region_trail(true)
        .is_organization_trail(true)
        .send()
        .await
        .expect("an organization trail");
    cloudtrail.start_logging().name(TRAIL).send().await.unwrap();
    let dir = workdir();
    let dir = dir.path();
    cli(&account, dir)
        .args(["init", "--yes", "--trail", TRAIL])
        .args(["--email", "secops@example.com", "--mode", "eventbridge"])
        .assert()
        .success();

    let said = |text: &str| {
        text.contains("member accounts are not covered")
            && text.contains("mode = \"cloudwatch-logs\"")
            && text.contains("set coverage = \"organization\"")
    };
    let plan = cli(&account, dir).args(["plan"]).output().unwrap();
    let plan = String::from_utf8_lossy(&plan.stdout);
    assert!(said(&plan), "plan: {plan}");
    let apply = cli(&account, dir)
        .args(["apply", "--yes"])
        .output()
        .unwrap();
    assert!(apply.status.success(), "{apply:?}");
    let apply = String::from_utf8_lossy(&apply.stdout);
    assert!(said(&apply), "apply: {apply}");
    let status = cli(&account, dir)
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&status.stdout).unwrap();
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "organization member accounts")
        .unwrap_or_else(|| panic!("no member-accounts check: {json:#}"));
    assert_eq!(check["status"], "warning", "{check:#}");
    assert!(said(check["detail"].as_str().unwrap()), "{check:#}");
    assert_eq!(status.status.code(), Some(2), "status needs attention");

    // Switched to CloudWatch Logs mode, the organization trail covers them: nothing more is said.
    let path = dir.join("login-alert.toml");
    let config = std::fs::read_to_string(&path)
        .unwrap()
        .replace("mode = \"eventbridge\"", "mode = \"cloudwatch-logs\"");
    std::fs::write(&path, config).unwrap();
    let plan = cli(&account, dir).args(["plan"]).output().unwrap();
    let plan = String::from_utf8_lossy(&plan.stdout);
    assert!(!plan.contains("member accounts"), "plan: {plan}");
    cli(&account, dir)
        .args(["destroy", "--yes"])
        .assert()
        .success();
}

/// The alarms on what EventBridge mode adds: the home rule failing to invoke the function (its
/// `FailedInvocations`), beside the digest schedule's and the failed-event destination's of every
/// mode. Created, left alone by a second apply, removed by a switch to CloudWatch Logs mode, and
/// destroyed. A forwarding rule's failures are a metric of its own region: `status` reads each one
/// and names the region (moto's GetMetricData sums what PutMetricData put there, which stands in
/// for EventBridge's own datapoints; moto never evaluates alarms).
#[tokio::test(flavor = "multi_thread")]
async fn the_rules_failures_are_alarmed_at_home_and_shown_by_status_per_region() {
    let account = fresh_account().await;
    account.seed_single_region_trail(HOME, TRAIL).await;
    let dir = workdir();
    let dir = dir.path();
    cli(&account, dir)
        .args(["init", "--yes", "--trail", TRAIL])
        .args(["--email", "secops@example.com", "--mode", "eventbridge"])
        .assert()
        .success();
    cli(&account, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&account.sdk(HOME));
    let alarms = || async {
        let mut found: Vec<(String, String)> = cloudwatch
            .describe_alarms()
            .alarm_name_prefix("login-alert-")
            .send()
            .await
            .unwrap()
            .metric_alarms
            .unwrap_or_default()
            .iter()
            .map(|a| {
                let d = &a.dimensions()[0];
                (
                    a.alarm_name().unwrap().to_owned(),
                    format!(
                        "{} {} {}={}",
                        a.namespace().unwrap(),
                        a.metric_name().unwrap(),
                        d.name().unwrap(),
                        d.value().unwrap()
                    ),
                )
            })
            .collect();
        found.sort();
        found
    };
    let row = |name: &str, metric: &str| (name.to_owned(), metric.to_owned());
    let watched = alarms().await;
    for expected in [
        row(
            "login-alert-events-rule-failures",
            "AWS/Events FailedInvocations RuleName=login-alert-events",
        ),
        row(
            "login-alert-digest-rule-failures",
            "AWS/Events FailedInvocations RuleName=login-alert-digest",
        ),
        row(
            "login-alert-destination-failures",
            "AWS/Lambda DestinationDeliveryFailures FunctionName=login-alert-handler",
        ),
    ] {
        assert!(watched.contains(&expected), "{expected:?} in {watched:?}");
    }
    assert!(
        !watched
            .iter()
            .any(|(n, _)| n == "login-alert-no-trail-events"),
        "no log group to fall silent in EventBridge mode"
    );
    let mark = account.requests().len();
    cli(&account, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();
    assert_eq!(account.writes_since(mark), Vec::<String>::new());

    // A forwarding rule in us-east-1 that failed to deliver: status names the region.
    aws_sdk_cloudwatch::Client::new(&account.sdk("us-east-1"))
        .put_metric_data()
        .namespace("AWS/Events")
        .metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name("FailedInvocations")
                .dimensions(
                    aws_sdk_cloudwatch::types::Dimension::builder()
                        .name("RuleName")
                        .value("login-alert-forward")
                        .build(),
                )
                .value(3.0)
                .timestamp(aws_smithy_types::DateTime::from(
                    std::time::SystemTime::now() - std::time::Duration::from_secs(600),
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let status = cli(&account, dir)
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&status.stdout).unwrap();
    let checks = json["checks"].as_array().unwrap();
    let failed = checks
        .iter()
        .find(|c| c["name"] == "forwarding rule failures in us-east-1 (24 h)")
        .unwrap_or_else(|| panic!("no failure check for us-east-1: {json:#}"));
    assert_eq!(failed["status"], "warning", "{failed:#}");
    assert!(
        failed["detail"]
            .as_str()
            .unwrap()
            .contains("login-alert-forward in us-east-1 failed to deliver 3 event(s)"),
        "{failed:#}"
    );
    assert!(
        !checks
            .iter()
            .any(|c| c["name"] == "forwarding rule failures in ap-northeast-1 (24 h)"),
        "only the region with failures: {json:#}"
    );

    // To CloudWatch Logs mode: the home rule goes, and its alarm with it.
    cli(&account, dir)
        .args(["init", "--yes", "--mode", "cloudwatch-logs"])
        .assert()
        .success();
    cli(&account, dir).args(["plan"]).assert().stdout(contains(
        "- CloudWatch alarm login-alert-events-rule-failures will be destroyed",
    ));
    cli(&account, dir)
        .args(["apply", "--yes"])
        .assert()
        .success();
    assert!(
        !alarms()
            .await
            .iter()
            .any(|(n, _)| n == "login-alert-events-rule-failures")
    );
    cli(&account, dir)
        .args(["destroy", "--yes"])
        .assert()
        .success();
    assert_eq!(alarms().await, Vec::<(String, String)>::new());
}
