//! The rules' pattern routing published CloudTrail records home (moto evaluates patterns in PutEvents).

use super::*;

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
