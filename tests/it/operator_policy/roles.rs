//! The roles login-alert writes, as deployed in moto, held to what uses them: the handler's own
//! calls (run against moto), and what Lambda, CloudTrail and EventBridge do with each role, written
//! out from their documentation because moto runs none of it. Also the drift the life cycles repair.

use std::collections::HashMap;

use login_alert::names::{Arns, INLINE_POLICY, Names};
use serde_json::Value;

use super::evaluate::allows;
use super::needs::Need;
use super::{HOME, TRAIL, denied, handler_run};
use crate::support::Account;

fn names() -> Names {
    Names::new("login-alert")
}

/// The role's trust and inline policy, as IAM holds them.
async fn role(account: &Account, name: &str) -> (Value, Value) {
    let iam = aws_sdk_iam::Client::new(&account.sdk(HOME));
    let decode = |text: &str| -> Value {
        serde_json::from_str(&percent_encoding::percent_decode_str(text).decode_utf8_lossy())
            .unwrap()
    };
    let trust = iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("role {name}: {e:?}"))
        .role
        .unwrap()
        .assume_role_policy_document
        .unwrap();
    let policy = iam
        .get_role_policy()
        .role_name(name)
        .policy_name(INLINE_POLICY)
        .send()
        .await
        .unwrap()
        .policy_document;
    (decode(&trust), decode(&policy))
}

fn trusted_service(trust: &Value) -> &str {
    trust["Statement"][0]["Principal"]["Service"]
        .as_str()
        .unwrap_or_default()
}

fn need(action: &str, resource: String) -> Need {
    Need {
        action: action.into(),
        resource,
        context: Default::default(),
    }
}

fn assert_allows(policy: &Value, needs: &[Need], role: &str) {
    let refused: Vec<String> = needs
        .iter()
        .filter(|n| !allows(policy, n))
        .map(ToString::to_string)
        .collect();
    assert!(
        refused.is_empty(),
        "role {role} does not allow: {refused:#?}\n{policy:#}"
    );
}

/// The function's role: the handler's calls with the environment the function has (email, Slack,
/// and the state table once the function is given one), and what Lambda does as the function —
/// its log lines, and a failed invocation sent to the on-failure destination.
pub async fn check_function_role(account: &Account, mode: &str) {
    let sdk = account.sdk(HOME);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let config = lambda
        .get_function_configuration()
        .function_name(names().function())
        .send()
        .await
        .unwrap();
    let env: HashMap<String, String> = config
        .environment
        .and_then(|e| e.variables)
        .unwrap_or_default();
    let destination = lambda
        .get_function_event_invoke_config()
        .function_name(names().function())
        .send()
        .await
        .unwrap()
        .destination_config
        .and_then(|d| d.on_failure)
        .and_then(|f| f.destination)
        .expect("an on-failure destination");
    let (trust, policy) = role(account, &names().function_role()).await;
    assert_eq!(trusted_service(&trust), "lambda.amazonaws.com");

    let calls = handler_run::run(account, &env, mode).await;
    let ops: Vec<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    assert!(
        ops.contains(&"Publish") && ops.contains(&"GetParameter"),
        "{ops:?}"
    );
    let refused = denied(&policy, &calls, &account.id);
    assert!(
        refused.is_empty(),
        "the function's role does not allow the handler's calls: {refused:#?}"
    );

    let arns = Arns::new(&account.id, HOME);
    let stream = format!(
        "{}:log-stream:2025/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        arns.log_group(&names().function_log_group())
    );
    assert_allows(
        &policy,
        &[
            need("logs:CreateLogStream", stream.clone()),
            need("logs:PutLogEvents", stream),
            need("sqs:SendMessage", destination),
        ],
        &names().function_role(),
    );

    // EventBridge mode's digest run reads the event history (moto has no LookupEvents, so the handler run
    // above cannot make the call: the grant is checked against the action as IAM authorizes it, on `*`).
    let history = env.get(login_alert_handler::ENV_HISTORY_REGIONS);
    let lookup = [need("cloudtrail:LookupEvents", "*".into())];
    if mode == "eventbridge" {
        assert!(history.is_some_and(|r| r.contains(HOME)), "{env:?}");
        assert_allows(&policy, &lookup, &names().function_role());
    } else {
        assert_eq!(history, None, "{mode}: CloudWatch Logs keeps every event");
        assert!(!allows(&policy, &lookup[0]), "{mode}: no LookupEvents");
    }
}

/// The CloudTrail role: CloudTrail creates a stream per region (`ACCOUNT_CloudTrail_REGION`) in the
/// log group the trail delivers to, and puts the events there.
pub async fn check_cloudtrail_role(account: &Account, home: &str) {
    let trail = aws_sdk_cloudtrail::Client::new(&account.sdk(home))
        .get_trail()
        .name(TRAIL)
        .send()
        .await
        .unwrap()
        .trail
        .unwrap();
    let group = trail
        .cloud_watch_logs_log_group_arn
        .expect("the trail delivers to CloudWatch Logs");
    let group = group.trim_end_matches(":*");
    let (trust, policy) = role(account, &names().cloudtrail_role()).await;
    assert_eq!(trusted_service(&trust), "cloudtrail.amazonaws.com");
    assert_eq!(
        trail.cloud_watch_logs_role_arn.as_deref(),
        Some(
            Arns::new(&account.id, home)
                .role(&names().cloudtrail_role())
                .as_str()
        )
    );
    let needs: Vec<Need> = [home, "us-east-1", "ap-northeast-1", "sa-east-1"]
        .iter()
        .flat_map(|region| {
            let stream = format!("{group}:log-stream:{}_CloudTrail_{region}", account.id);
            [
                need("logs:CreateLogStream", stream.clone()),
                need("logs:PutLogEvents", stream),
            ]
        })
        .collect();
    assert_allows(&policy, &needs, &names().cloudtrail_role());
}

/// The forwarding role: EventBridge, in every other region, puts the matched events on the home
/// region's default bus.
pub async fn check_events_role(account: &Account, home: &str) {
    let (trust, policy) = role(account, &names().events_role()).await;
    assert_eq!(trusted_service(&trust), "events.amazonaws.com");
    let targets = aws_sdk_eventbridge::Client::new(&account.sdk("us-east-1"))
        .list_targets_by_rule()
        .rule(names().forward_rule())
        .send()
        .await
        .unwrap()
        .targets
        .unwrap_or_default();
    let arns = Arns::new(&account.id, home);
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].arn, arns.default_bus());
    assert_eq!(
        targets[0].role_arn.as_deref(),
        Some(arns.role(&names().events_role()).as_str())
    );
    assert_allows(
        &policy,
        &[need("events:PutEvents", arns.default_bus())],
        &names().events_role(),
    );
    // Only that bus: another region's bus is not the role's to write to.
    assert!(!allows(
        &policy,
        &need(
            "events:PutEvents",
            Arns::new(&account.id, "us-east-1").default_bus()
        )
    ));
}

/// The filter deleted and the trail stopped by hand.
pub async fn drift_logs_mode(account: &Account, home: &str) {
    let sdk = account.sdk(home);
    aws_sdk_cloudwatchlogs::Client::new(&sdk)
        .delete_subscription_filter()
        .log_group_name(names().log_group())
        .filter_name(names().subscription_filter())
        .send()
        .await
        .unwrap();
    aws_sdk_cloudtrail::Client::new(&sdk)
        .stop_logging()
        .name(TRAIL)
        .send()
        .await
        .unwrap();
}

/// The bucket's policy deleted and the function's log retention changed by hand.
pub async fn drift_created_trail(account: &Account, home: &str) {
    account
        .s3(home)
        .delete_bucket_policy()
        .bucket(names().bucket(&account.id, home))
        .send()
        .await
        .unwrap();
    aws_sdk_cloudwatchlogs::Client::new(&account.sdk(home))
        .put_retention_policy()
        .log_group_name(names().function_log_group())
        .retention_in_days(1)
        .send()
        .await
        .unwrap();
}

/// The forwarding rule in us-east-1 deleted by hand.
pub async fn drift_eventbridge_mode(account: &Account) {
    let events = aws_sdk_eventbridge::Client::new(&account.sdk("us-east-1"));
    events
        .remove_targets()
        .rule(names().forward_rule())
        .ids(login_alert::resources::rule::HOME_BUS_TARGET)
        .send()
        .await
        .unwrap();
    events
        .delete_rule()
        .name(names().forward_rule())
        .send()
        .await
        .unwrap();
}
