//! The policy documents login-alert writes (roles, bucket, topic), least privilege; and how a live policy differs from them, statement by statement.

use serde_json::{Value, json};

use crate::config::Route;
use crate::model::Target;
use crate::names::WebhookKind;
use crate::plan::Attr;

/// An IAM role as login-alert wants it: its trust policy and its one inline policy.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleDocuments {
    pub name: String,
    pub description: String,
    pub trust: Value,
    /// The inline policy named [`crate::names::INLINE_POLICY`].
    pub policy: Value,
}

type Desired = RoleDocuments;

/// A trust policy letting one AWS service assume the role.
///
/// No `aws:SourceArn` / `aws:SourceAccount` condition, on purpose: the CloudTrail user guide says
/// confused-deputy prevention "is not applicable to the role policy for CloudWatch Logs monitoring"
/// and that it "doesn't support the use of aws:SourceArn and aws:SourceAccount"
/// (docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-required-policy-for-cloudwatch-logs.html):
/// a trust conditioned on keys CloudTrail does not send would stop delivery (moto never checks).
fn trust(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole"
        }]
    })
}

/// The role CloudTrail assumes to write into the log group: streams of that one group only.
pub fn cloudtrail_role(t: &Target) -> Desired {
    let streams = format!("{}:log-stream:*", t.arns.log_group(&t.names.log_group()));
    Desired {
        name: t.names.cloudtrail_role(),
        description: "login-alert: lets CloudTrail deliver events to its log group".into(),
        trust: trust("cloudtrail.amazonaws.com"),
        policy: json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DeliverTrailEvents",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": streams
            }]
        }),
    }
}

/// The role EventBridge assumes in every other region to put the forwarded events on the home
/// region's default bus: that one bus, PutEvents only.
pub fn events_role(t: &Target) -> Desired {
    Desired {
        name: t.names.events_role(),
        description:
            "login-alert: lets EventBridge forward sign-in events to the home region's bus".into(),
        trust: trust("events.amazonaws.com"),
        policy: json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "ForwardToHomeBus",
                "Effect": "Allow",
                "Action": "events:PutEvents",
                "Resource": t.arns.default_bus()
            }]
        }),
    }
}

/// The function's execution role: its own log group, publish to the one topic, read the one
/// parameter, and send to the one failed-event queue (Lambda sends on-failure records as the function).
pub fn function_role(t: &Target) -> Desired {
    let mut statements = vec![json!({
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": t.arns.log_group_wildcard(&t.names.function_log_group())
    })];
    statements.push(json!({
        "Sid": "KeepFailedEvents",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": t.arns.queue(&t.names.failed_events_queue())
    }));
    statements.push(json!({
        "Sid": "KeepAlertState",
        "Effect": "Allow",
        // Exactly the calls the handler's state store makes (handler/src/dynamo.rs).
        "Action": [
            "dynamodb:BatchGetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Scan",
            "dynamodb:UpdateItem"
        ],
        "Resource": t.arns.table(&t.names.state_table())
    }));
    if t.route == Route::Eventbridge {
        // The digest run's backfill (handler/src/history.rs): EventBridge delivers on a best-effort basis, and
        // only this mode has no CloudWatch Logs copy to fall back on. IAM authorizes LookupEvents on no
        // resource type, so `*` is the only resource it accepts.
        statements.push(json!({
            "Sid": "ReadEventHistory",
            "Effect": "Allow",
            "Action": "cloudtrail:LookupEvents",
            "Resource": "*"
        }));
    }
    // The default's destinations, then each route's (`[[route]]`), each by its own ARN.
    let topics: Vec<String> = t
        .topic_arn()
        .into_iter()
        .chain(
            t.routes
                .iter()
                .filter_map(|r| r.topic(&t.names))
                .map(|name| t.arns.topic(&name)),
        )
        .collect();
    if !topics.is_empty() {
        statements.push(json!({
            "Sid": "PublishAlerts",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": one_or_many(topics)
        }));
    }
    let parameters: Vec<String> = WebhookKind::ALL
        .into_iter()
        .filter_map(|kind| t.webhook_parameter(kind))
        .chain(t.routes.iter().flat_map(|r| {
            WebhookKind::ALL
                .into_iter()
                .filter_map(|kind| r.parameter(&t.names, kind))
        }))
        .map(|name| t.arns.parameter(&name))
        .collect();
    if !parameters.is_empty() {
        statements.push(json!({
            "Sid": "ReadWebhooks",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": parameters
        }));
        statements.push(json!({
            "Sid": "DecryptWebhooks",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": format!("arn:{}:kms:{}:{}:key/*", t.arns.partition, t.region(), t.account_id()),
            "Condition": { "StringEquals": { "kms:ViaService": format!("ssm.{}.amazonaws.com", t.region()) } }
        }));
    }
    Desired {
        name: t.names.function_role(),
        description: "login-alert: runs the sign-in alert function".into(),
        trust: trust("lambda.amazonaws.com"),
        policy: json!({ "Version": "2012-10-17", "Statement": statements }),
    }
}

/// One ARN as a string (as the policy always had it), several as a list.
fn one_or_many(mut arns: Vec<String>) -> Value {
    if arns.len() == 1 {
        Value::from(arns.remove(0))
    } else {
        Value::from(arns)
    }
}

/// The SNS topic's access policy: the one SNS gives a new topic, which lets principals of the owning
/// account only (`AWS:SourceOwner`) use the topic — and lets AWS services acting for that account
/// (CloudWatch alarms) publish to it. Any other statement (e.g. `Principal: "*"` without the
/// condition) is drift and the whole policy is put back to this.
pub fn topic_access(account_id: &str, topic_arn: &str) -> Value {
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": { "AWS": "*" },
            "Action": [
                "SNS:GetTopicAttributes",
                "SNS:SetTopicAttributes",
                "SNS:AddPermission",
                "SNS:RemovePermission",
                "SNS:DeleteTopic",
                "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic",
                "SNS:Publish"
            ],
            "Resource": topic_arn,
            "Condition": { "StringEquals": { "AWS:SourceOwner": account_id } }
        }]
    })
}

/// Compares policy documents the way IAM means them: a one-element list equals its element,
/// key order and statement order do not matter.
pub fn same_policy(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

fn normalize(v: &Value) -> Value {
    match v {
        Value::Array(items) if items.len() == 1 => normalize(&items[0]),
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalize).collect();
            items.sort_by_key(|item| item.to_string());
            Value::Array(items)
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

/// The statements of a policy (`Statement` may be one object or a list).
pub fn statements(policy: &Value) -> Vec<&Value> {
    match &policy["Statement"] {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    }
}

/// One statement on one line, for the plan: `[Sid] Effect principal actions on resources if conditions`.
pub fn describe(statement: &Value) -> String {
    let list = |v: &Value| match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(","),
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut parts = Vec::new();
    if let Some(sid) = statement["Sid"].as_str().filter(|s| !s.is_empty()) {
        parts.push(format!("[{sid}]"));
    }
    parts.push(list(&statement["Effect"]));
    match &statement["Principal"] {
        Value::Null => {}
        Value::Object(kinds) => parts.extend(
            kinds
                .iter()
                .map(|(kind, who)| format!("{kind}:{}", list(who))),
        ),
        other => parts.push(list(other)),
    }
    for (key, prefix) in [("Action", ""), ("NotAction", "not ")] {
        if !statement[key].is_null() {
            parts.push(format!("{prefix}{}", list(&statement[key])));
        }
    }
    for (key, prefix) in [("Resource", "on "), ("NotResource", "on all but ")] {
        if !statement[key].is_null() {
            parts.push(format!("{prefix}{}", list(&statement[key])));
        }
    }
    if !statement["Condition"].is_null() {
        parts.push(format!("if {}", statement["Condition"]));
    }
    parts.retain(|p| !p.is_empty());
    parts.join(" ")
}

/// How a live policy differs from the declared one, statement by statement: `-` for each statement
/// that goes, `+` for each that comes. Empty when they mean the same.
pub fn statement_diff(name: &str, current: Option<&Value>, desired: &Value) -> Vec<Attr> {
    if current.is_some_and(|c| same_policy(c, desired)) {
        return Vec::new();
    }
    let normalized = |policy: Option<&Value>| -> Vec<Value> {
        policy.map_or_else(Vec::new, |p| {
            statements(p).into_iter().map(normalize).collect()
        })
    };
    let (before, after) = (normalized(current), normalized(Some(desired)));
    let mut attrs: Vec<Attr> = before
        .iter()
        .filter(|s| !after.contains(s))
        .map(|s| Attr::unset(name, describe(s)))
        .collect();
    attrs.extend(
        after
            .iter()
            .filter(|s| !before.contains(s))
            .map(|s| Attr::set(name, describe(s))),
    );
    if attrs.is_empty() {
        // Same statements, other top-level fields (Version, Id).
        attrs.push(Attr::change(
            name,
            current.map_or_else(|| "(none)".to_owned(), Value::to_string),
            desired.to_string(),
        ));
    }
    attrs
}

/// The bucket policy CloudTrail requires of a new trail's bucket: the service principal (never the
/// per-region CloudTrail accounts, which break delivery from new regions of a multi-region trail),
/// limited to our one trail by `aws:SourceArn`.
pub fn trail_bucket(t: &Target) -> Value {
    trail_bucket_for(t, None)
}

/// [`trail_bucket`], and for an organization trail (`organization`: the organization's ID) the
/// member accounts' logs too: CloudTrail writes them under `AWSLogs/<organization ID>/`, still as
/// our one trail (CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail", organization trails).
pub fn trail_bucket_for(t: &Target, organization: Option<&str>) -> Value {
    let mut policy = own_trail_bucket(t);
    if let Some(id) = organization {
        let bucket = t.arns.bucket(&t.names.bucket(t.account_id(), t.region()));
        let trail = t.arns.trail(&t.names.trail());
        policy["Statement"].as_array_mut().expect("statements").push(json!({
            "Sid": "AWSCloudTrailOrganizationWrite",
            "Effect": "Allow",
            "Principal": { "Service": "cloudtrail.amazonaws.com" },
            "Action": "s3:PutObject",
            "Resource": format!("{bucket}/AWSLogs/{id}/*"),
            "Condition": { "StringEquals": { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail } }
        }));
    }
    policy
}

fn own_trail_bucket(t: &Target) -> Value {
    let bucket = t.arns.bucket(&t.names.bucket(t.account_id(), t.region()));
    let trail = t.arns.trail(&t.names.trail());
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": { "Service": "cloudtrail.amazonaws.com" },
                "Action": "s3:GetBucketAcl",
                "Resource": bucket,
                "Condition": { "StringEquals": { "aws:SourceArn": trail } }
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": { "Service": "cloudtrail.amazonaws.com" },
                "Action": "s3:PutObject",
                "Resource": format!("{bucket}/AWSLogs/{}/*", t.account_id()),
                "Condition": { "StringEquals": { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail } }
            }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, REGION, notifying};

    fn target(emails: bool, slack: bool) -> Target {
        let emails: &[&str] = if emails { &["a@example.com"] } else { &[] };
        testing::target(&notifying(REGION, emails, slack))
    }

    #[test]
    fn an_organization_trail_may_write_the_organizations_logs_as_our_one_trail() {
        let t = target(true, false);
        assert_eq!(trail_bucket_for(&t, None), trail_bucket(&t));
        let policy = trail_bucket_for(&t, Some("o-abcdefghij"));
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 3);
        let org = &statements[2];
        assert_eq!(
            org["Resource"],
            "arn:aws:s3:::login-alert-trail-123456789012-eu-west-1/AWSLogs/o-abcdefghij/*"
        );
        assert_eq!(org["Action"], "s3:PutObject");
        assert_eq!(
            org["Condition"]["StringEquals"]["aws:SourceArn"],
            "arn:aws:cloudtrail:eu-west-1:123456789012:trail/login-alert-trail"
        );
        // The account's own logs stay allowed alongside.
        assert!(
            statements[1]["Resource"]
                .as_str()
                .unwrap()
                .ends_with("/AWSLogs/123456789012/*")
        );
    }

    #[test]
    fn cloudtrail_may_write_only_to_its_log_group_streams() {
        let role = cloudtrail_role(&target(true, false));
        assert_eq!(
            role.trust["Statement"][0]["Principal"]["Service"],
            "cloudtrail.amazonaws.com"
        );
        // CloudTrail's CloudWatch Logs role does not support aws:SourceArn / aws:SourceAccount
        // (CloudTrail user guide): a condition on them would stop delivery. See `trust`.
        assert_eq!(
            role.trust["Statement"][0].get("Condition"),
            None,
            "{}",
            role.trust
        );
        assert_eq!(
            role.policy["Statement"][0]["Resource"],
            "arn:aws:logs:eu-west-1:123456789012:log-group:/login-alert/cloudtrail:log-stream:*"
        );
    }

    #[test]
    fn the_function_publishes_to_the_one_topic_never_star() {
        let role = function_role(&target(true, false));
        let text = role.policy.to_string();
        assert!(
            text.contains("\"Resource\":\"arn:aws:sns:eu-west-1:123456789012:login-alert-alerts\"")
        );
        assert!(!text.contains("\"Resource\":\"*\""));
        assert!(
            !text.contains("ssm:GetParameter"),
            "no Slack, no parameter access"
        );
    }

    #[test]
    fn only_eventbridge_mode_may_read_the_event_history_and_only_that_on_star() {
        for mode in Route::ALL {
            let mut t = target(true, false);
            t.route = mode;
            let role = function_role(&t);
            let star: Vec<&Value> = role.policy["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["Resource"] == "*")
                .collect();
            if mode == Route::Eventbridge {
                assert_eq!(star.len(), 1, "{}", role.policy);
                assert_eq!(star[0]["Action"], "cloudtrail:LookupEvents");
            } else {
                assert!(star.is_empty(), "{mode:?}: {}", role.policy);
                assert!(!role.policy.to_string().contains("cloudtrail:"));
            }
        }
    }

    #[test]
    fn failed_invocations_may_go_to_the_one_queue_only() {
        let role = function_role(&target(false, true));
        let statement = role.policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Action"] == "sqs:SendMessage")
            .expect("a statement for the failed-event queue");
        assert_eq!(
            statement["Resource"],
            "arn:aws:sqs:eu-west-1:123456789012:login-alert-failed-events"
        );
    }

    #[test]
    fn slack_adds_parameter_read_and_kms_decrypt_via_ssm_only() {
        let role = function_role(&target(false, true));
        let text = role.policy.to_string();
        assert!(!text.contains("sns:Publish"), "no email, no topic access");
        assert!(text.contains("parameter/login-alert/slack-webhook-url"));
        assert!(text.contains("\"kms:ViaService\":\"ssm.eu-west-1.amazonaws.com\""));
    }

    #[test]
    fn each_configured_webhook_parameter_may_be_read_and_the_state_table_used() {
        let mut t = target(false, true);
        t.teams_webhook_url = Some(crate::model::Secret::new("https://x.logic.azure.com/w"));
        let role = function_role(&t);
        let read = role.policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Action"] == "ssm:GetParameter")
            .unwrap();
        assert_eq!(
            read["Resource"],
            json!([
                "arn:aws:ssm:eu-west-1:123456789012:parameter/login-alert/slack-webhook-url",
                "arn:aws:ssm:eu-west-1:123456789012:parameter/login-alert/teams-webhook-url"
            ])
        );
        let state = role.policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "KeepAlertState")
            .unwrap();
        assert_eq!(
            state["Resource"],
            "arn:aws:dynamodb:eu-west-1:123456789012:table/login-alert-state"
        );
        assert_eq!(
            state["Action"],
            json!([
                "dynamodb:BatchGetItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Scan",
                "dynamodb:UpdateItem"
            ])
        );
    }

    #[test]
    fn policy_comparison_ignores_list_shape_and_order() {
        let a = json!({"Statement": [{"Action": ["b", "a"], "Resource": ["x"]}]});
        let b = json!({"Statement": {"Resource": "x", "Action": ["a", "b"]}});
        assert!(same_policy(&a, &b));
        assert!(!same_policy(
            &a,
            &json!({"Statement": [{"Action": "a", "Resource": "x"}]})
        ));
    }

    #[test]
    fn a_policy_diff_names_each_statement_that_goes_or_comes() {
        let ours = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Principal": {"Service": "x.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]});
        assert!(statement_diff("trust", Some(&ours), &ours).is_empty());
        let mut theirs = ours.clone();
        theirs["Statement"][0] = json!({"Effect": "Allow", "Principal": "*", "NotAction": ["iam:*"], "NotResource": "arn:x", "Condition": {"Bool": {"aws:SecureTransport": "true"}}});
        assert_eq!(
            statement_diff("trust", Some(&theirs), &ours),
            [
                Attr::unset(
                    "trust",
                    "Allow * not iam:* on all but arn:x if {\"Bool\":{\"aws:SecureTransport\":\"true\"}}"
                ),
                Attr::set("trust", "[A] Allow Service:x.amazonaws.com sts:AssumeRole")
            ]
        );
        // Missing altogether: every statement comes.
        assert_eq!(statement_diff("trust", None, &ours).len(), 1);
        // Same statements, another version: one line saying so.
        let mut older = ours.clone();
        older["Version"] = json!("2008-10-17");
        assert_eq!(statement_diff("trust", Some(&older), &ours).len(), 1);
    }
}
