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
    let records: Vec<Value> = alerting
        .iter()
        .chain(ordinary.iter())
        .map(|n| fixture(n))
        .collect();
    put_records(&east, &records).await;
    // Fixture event IDs are not unique ("1" in several test logs): the names in these lists are.
    let (routed, _) = drained(&sqs, &queue).await;
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

/// The records of `handler/tests/fixtures/organization/`: changes to organization coverage.
fn organization_fixtures() -> Vec<(String, Value)> {
    let dir = format!(
        "{}/handler/tests/fixtures/organization",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e
                .ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".json")?
                .to_owned();
            Some(format!("organization/{name}"))
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| (n.clone(), fixture(&n)))
        .collect()
}

/// Puts `records` on the default bus of `region` as CloudTrail would.
async fn put_records(events: &aws_sdk_eventbridge::Client, records: &[Value]) {
    for record in records {
        let (source, detail_type, detail) = as_event(record);
        let out = events
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
        assert_eq!(out.failed_entry_count, 0, "{record}");
    }
}

/// The `detail.eventName` and `detail.recipientAccountId` of every message in `queue`, each deleted once read.
async fn drained(sqs: &aws_sdk_sqs::Client, queue: &str) -> (Vec<String>, Vec<String>) {
    let (mut routed, mut accounts) = (Vec::new(), Vec::new());
    loop {
        let messages = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return (routed, accounts);
        }
        for m in messages {
            let event: Value = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
            routed.push(
                event["detail"]["eventName"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
            accounts.push(
                event["detail"]["recipientAccountId"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tamper_with_organization_coverage_travels_from_a_member_account_through_the_central_bus() {
    // A member account's forwarding rule (the member template's pattern, in us-east-1 where IAM's events are
    // delivered) sends to the management account's central bus, whose rule sends to a queue standing in for
    // the function: moto's PutEvents evaluates both patterns and follows a rule's event-bus target into the
    // other account. (moto evaluates no bus policy: that the organization may put events is tested on the
    // policy document.)
    let management = fresh_account().await;
    let member = fresh_account().await;
    let t = target(&management.id);
    let member_pattern = login_alert::resources::stackset::template(&t)["Resources"]["ForwardRule"]
        ["Properties"]["EventPattern"]
        .to_string();
    let central = login_alert::resources::central_bus::desired(&t, "o-abc123");
    let sqs = aws_sdk_sqs::Client::new(&management.sdk(HOME));
    let queue = sqs
        .create_queue()
        .queue_name("central")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let home = aws_sdk_eventbridge::Client::new(&management.sdk(HOME));
    home.create_event_bus()
        .name(&central.bus)
        .send()
        .await
        .unwrap();
    home.put_rule()
        .name(&central.rule)
        .event_bus_name(&central.bus)
        .event_pattern(&central.pattern)
        .send()
        .await
        .unwrap();
    home.put_targets()
        .rule(&central.rule)
        .event_bus_name(&central.bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(format!("arn:aws:sqs:{HOME}:{}:central", management.id))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let east = aws_sdk_eventbridge::Client::new(&member.sdk("us-east-1"));
    let forward = t.names.org_stack_set();
    east.put_rule()
        .name(&forward)
        .event_pattern(&member_pattern)
        .send()
        .await
        .unwrap();
    east.put_targets()
        .rule(&forward)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("central")
                .arn(t.arns.bus(&central.bus))
                .role_arn(format!("arn:aws:iam::{}:role/{forward}", member.id))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let fixtures = organization_fixtures();
    assert!(fixtures.len() >= 9, "{fixtures:?}");
    // Matched by the resources' names: the root user's calls would travel whatever they touch.
    let in_member = |mut r: Value| {
        r["recipientAccountId"] = Value::from(member.id.clone());
        r["userIdentity"]["type"] = Value::from("IAMUser");
        r
    };
    let changes: Vec<Value> = fixtures.iter().map(|(_, r)| in_member(r.clone())).collect();
    // The same calls on another prefix's resources, and reads of ours, by someone other than the root user
    // (whose every call travels): none may.
    let mut ordinary: Vec<Value> = fixtures
        .iter()
        .filter(|(name, _)| !name.contains("trusted-access"))
        .map(|(_, r)| {
            let mut r: Value =
                serde_json::from_str(&r.to_string().replace("login-alert-", "billing-")).unwrap();
            r["eventName"] = Value::from(format!("Other{}", r["eventName"].as_str().unwrap()));
            r
        })
        .collect();
    ordinary.extend(fixtures.iter().map(|(_, r)| {
        let mut r = r.clone();
        r["readOnly"] = Value::from(true);
        r["eventName"] = Value::from(format!("Read{}", r["eventName"].as_str().unwrap()));
        r
    }));
    for r in &mut ordinary {
        r["userIdentity"]["type"] = Value::from("IAMUser");
    }
    put_records(&east, &changes).await;
    put_records(&east, &ordinary).await;
    let (mut routed, accounts) = drained(&sqs, &queue).await;
    routed.sort();
    let mut wanted: Vec<String> = changes
        .iter()
        .map(|r| r["eventName"].as_str().unwrap().to_owned())
        .collect();
    wanted.sort();
    assert_eq!(routed, wanted, "each change once, nothing else");
    // The record still names the member account it happened in.
    assert!(accounts.iter().all(|a| *a == member.id), "{accounts:?}");
}
