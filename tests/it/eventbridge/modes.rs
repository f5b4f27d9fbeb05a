//! EventBridge mode through the real binary, from init to destroy in every enabled region, and both modes at once.

use super::*;

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
