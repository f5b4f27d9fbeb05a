//! The IAM policy documents login-alert writes: least privilege, one resource each where AWS allows it.

use serde_json::{Value, json};

use crate::model::Target;

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
    if let Some(topic) = t.topic_arn() {
        statements.push(json!({
            "Sid": "PublishAlerts",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": topic
        }));
    }
    if let Some(parameter) = t.slack_parameter() {
        statements.push(json!({
            "Sid": "ReadSlackWebhook",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": t.arns.parameter(&parameter)
        }));
        statements.push(json!({
            "Sid": "DecryptSlackWebhook",
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

/// The bucket policy CloudTrail requires of a new trail's bucket: the service principal (never the
/// per-region CloudTrail accounts, which break delivery from new regions of a multi-region trail),
/// limited to our one trail by `aws:SourceArn`.
pub fn trail_bucket(t: &Target) -> Value {
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
    use crate::config::{Config, NotifyConfig, TrailConfig};

    fn target(emails: bool, slack: bool) -> Target {
        let config = Config {
            region: "eu-west-1".into(),
            name_prefix: "login-alert".into(),
            account_name: None,
            timezone: "UTC".into(),
            scope: Default::default(),
            log_retention_days: 90,
            mode: Default::default(),
            trail: TrailConfig {
                name: Some("audit".into()),
                create: false,
            },
            notify: NotifyConfig {
                emails: if emails {
                    vec!["a@example.com".into()]
                } else {
                    vec![]
                },
                slack_webhook_url: slack.then(|| "https://hooks.slack.com/services/T/B/x".into()),
            },
        };
        Target::new(&config, "123456789012")
    }

    #[test]
    fn cloudtrail_may_write_only_to_its_log_group_streams() {
        let role = cloudtrail_role(&target(true, false));
        assert_eq!(
            role.trust["Statement"][0]["Principal"]["Service"],
            "cloudtrail.amazonaws.com"
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
    fn policy_comparison_ignores_list_shape_and_order() {
        let a = json!({"Statement": [{"Action": ["b", "a"], "Resource": ["x"]}]});
        let b = json!({"Statement": {"Resource": "x", "Action": ["a", "b"]}});
        assert!(same_policy(&a, &b));
        assert!(!same_policy(
            &a,
            &json!({"Statement": [{"Action": "a", "Resource": "x"}]})
        ));
    }
}
