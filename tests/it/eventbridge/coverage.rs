//! What EventBridge mode says it covers: an organization trail's member accounts, and the rules' failures alarmed at home.

use super::*;

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
