//! The state table in DynamoDB (moto, the real SDK): grouping across invocations, the scheduled digest found by
//! a scan, a retry that re-sends only what failed, the account names item, and the item layout itself.

use crate::support;
use crate::support::events as common;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use login_alert_handler::dynamo::DynamoStore;
use login_alert_handler::handler::handle_with;
use login_alert_handler::store::{ACCOUNT_NAMES_KEY, Store};
use login_alert_handler::{Channel, Settings};
use serde_json::Value;

use common::*;
use support::{Moto, unique};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

/// Calls of one published root console session (`panther-root-activity__put-bucket-versioning`), varied only in
/// `eventName`, `eventID` and `eventTime`.
fn root_session(n: usize, first: usize, start: DateTime<Utc>) -> Vec<String> {
    let base: Value =
        serde_json::from_str(&fixture_records("panther-root-activity__put-bucket-versioning")[0])
            .unwrap();
    (first..first + n)
        .map(|i| {
            let mut record = base.clone();
            record["eventName"] = Value::from(["ListBuckets", "DeleteBucket"][i % 2]);
            record["eventID"] = Value::from(format!("root-{i:05}"));
            record["eventTime"] = Value::from(
                (start + TimeDelta::seconds((i - first) as i64))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
            record.to_string()
        })
        .collect()
}

async fn items(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    client
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("scan")
        .items
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_digests_and_retries_work_against_the_dynamodb_table() {
    let moto = Moto::start();
    let table = unique("state");
    let client = moto.state_table(&table).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let settings = Settings {
        account_name: Some("prod".into()),
        ..Settings::default()
    };
    let minute = |m| t0() + TimeDelta::minutes(m);
    let schedule = std::fs::read(
        fixtures_dir().join("events/awslabs-lambda-events__eventbridge-schedule.json"),
    )
    .unwrap();

    // A storm whose Slack post fails: the email goes out, the invocation fails.
    let recorder = Recorder::failing("Root user activity", Some(Channel::Slack));
    let batch = cloudwatch_event(&root_session(60, 0, t0()), false);
    let err = handle_with(&batch, &settings, &recorder, Some(&store), None, t0())
        .await
        .expect_err("Slack failed");
    assert!(err.exactly_once);
    assert_eq!((recorder.emails().len(), recorder.slack().len()), (1, 0));

    // Lambda's retry: only the Slack post goes out.
    recorder.heal();
    let retry = handle_with(&batch, &settings, &recorder, Some(&store), None, minute(1))
        .await
        .unwrap();
    assert_eq!((retry.messages, retry.deliveries), (1, 1));
    assert_eq!((recorder.emails().len(), recorder.slack().len()), (1, 1));
    assert!(recorder.slack()[0].contains("and 59 more"));

    // More calls of the session within the window are held for the digest.
    let later = handle_with(
        &cloudwatch_event(&root_session(25, 60, minute(5)), false),
        &settings,
        &recorder,
        Some(&store),
        None,
        minute(5),
    )
    .await
    .unwrap();
    assert_eq!((later.messages, later.summarised), (0, 25));

    // The scheduled run before the window closes finds nothing; after it, one digest (found by a Scan).
    let early = handle_with(
        &schedule,
        &settings,
        &recorder,
        Some(&store),
        None,
        minute(10),
    )
    .await
    .unwrap();
    assert_eq!(early.messages, 0);
    let due = handle_with(
        &schedule,
        &settings,
        &recorder,
        Some(&store),
        None,
        minute(16),
    )
    .await
    .unwrap();
    assert_eq!(due.messages, 1);
    assert_eq!(
        recorder.emails().pop().unwrap().0,
        "[prod] Root user activity continued: 25 more record(s)"
    );
    let again = handle_with(
        &schedule,
        &settings,
        &recorder,
        Some(&store),
        None,
        minute(21),
    )
    .await
    .unwrap();
    assert_eq!(again.messages, 0, "the digest went out once");

    // The item layout: prefixed keys, a TTL on every item, the attributes each kind carries.
    let all = items(&client, &table).await;
    let mut kinds = std::collections::BTreeMap::new();
    for item in &all {
        let pk = item["pk"].as_s().unwrap();
        let prefix = pk.split('#').next().unwrap().to_owned();
        assert!(
            item.get("expires_at").and_then(|v| v.as_n().ok()).is_some(),
            "{pk} has no expires_at"
        );
        let wanted: &[&str] = match prefix.as_str() {
            "event" => &["message"],
            "group" => &["state", "version", "window_end", "pending_count"],
            "sent" => &["channels"],
            other => panic!("unexpected item {other}: {pk}"),
        };
        for attribute in wanted {
            assert!(item.contains_key(*attribute), "{pk} lacks {attribute}");
        }
        *kinds.entry(prefix).or_insert(0) += 1;
    }
    assert_eq!(kinds["event"], 85, "{kinds:?}");
    assert_eq!(kinds["group"], 1, "{kinds:?}");
    assert_eq!(
        kinds["sent"], 2,
        "the group's message and the digest: {kinds:?}"
    );
    let sent = all
        .iter()
        .find(|i| i["pk"].as_s().unwrap().starts_with("sent#g:"))
        .unwrap();
    let mut channels = sent["channels"].as_ss().unwrap().clone();
    channels.sort();
    assert_eq!(channels, ["email", "slack"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_names_come_from_the_config_item_the_cli_writes() {
    let moto = Moto::start();
    let table = unique("names");
    let client = moto.state_table(&table).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    assert!(
        store.account_names().await.unwrap().is_empty(),
        "no item yet"
    );
    client
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S(ACCOUNT_NAMES_KEY.into()))
        .item(
            "names",
            AttributeValue::M(HashMap::from([
                ("111122223333".to_owned(), AttributeValue::S("prod".into())),
                (
                    "222222222222".to_owned(),
                    AttributeValue::S("sandbox".into()),
                ),
            ])),
        )
        .item("expires_at", AttributeValue::N("4102444800".into()))
        .send()
        .await
        .unwrap();
    let names = store.account_names().await.unwrap();
    assert_eq!(
        names.get("222222222222").map(String::as_str),
        Some("sandbox")
    );
    let settings = Settings {
        account_names: names,
        ..Settings::default()
    };
    let recorder = Recorder::default();
    let login = fixture_records("aws-ct-ug__root-success-no-mfa").remove(0);
    handle_with(
        &cloudwatch_event(&[login], false),
        &settings,
        &recorder,
        Some(&store),
        None,
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(
        recorder.emails()[0].0,
        "[prod] Root console sign-in succeeded without MFA"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_table_degrades_to_delivering_without_state() {
    let moto = Moto::start();
    let store = DynamoStore::new(moto.dynamodb(), unique("missing-table"));
    let recorder = Recorder::default();
    let records = root_session(5, 0, t0());
    let outcome = handle_with(
        &cloudwatch_event(&records, false),
        &Settings::default(),
        &recorder,
        Some(&store),
        None,
        t0(),
    )
    .await
    .expect("deliveries succeed even though the state cannot be read");
    assert_eq!(outcome.messages, 1);
    assert_eq!(recorder.emails().len(), 1);
}
