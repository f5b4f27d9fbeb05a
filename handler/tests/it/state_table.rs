//! The state table in DynamoDB (moto, the real SDK): grouping across invocations, the scheduled digest found by
//! a scan, a retry that re-sends only what failed, the account names item, the item layout itself, and two
//! invocations reporting one record at once (both event paths): one sends. The claim race itself (both read no
//! claim, one conditional write fails) is shown with aws-smithy-mocks, as its timing cannot be arranged in moto.

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
use tokio::sync::Semaphore;

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

/// A `Deliver` that holds its first send until told to go on, so a second invocation can run while the first one
/// is delivering (it has claimed its records, and recorded no destination yet).
struct Gate {
    inner: Recorder,
    started: tokio::sync::Notify,
    go: Semaphore,
}

impl Gate {
    fn new(inner: Recorder) -> Self {
        Gate {
            inner,
            started: tokio::sync::Notify::new(),
            go: Semaphore::new(0),
        }
    }
}

impl login_alert_handler::Deliver for Gate {
    fn channels(&self) -> Vec<Channel> {
        self.inner.channels.clone()
    }

    async fn send(
        &self,
        channel: Channel,
        payload: login_alert_handler::Payload<'_>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<(), login_alert_handler::DeliveryError> {
        self.started.notify_one();
        self.go.acquire().await.expect("gate open").forget();
        self.inner.send(channel, payload, deadline).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_invocations_on_one_record_at_once_send_it_once_and_lose_nothing() {
    let moto = Moto::start();
    let table = unique("race");
    let client = moto.state_table(&table).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let settings = Settings::default();
    let login = fixture_records("aws-ct-ug__root-success-no-mfa").remove(0);
    // Both paths of `both` mode deliver the same record: CloudWatch Logs and EventBridge.
    let from_logs = cloudwatch_event(std::slice::from_ref(&login), false);
    let from_events = serde_json::json!({
        "version": "0", "id": "e1", "detail-type": "AWS Console Sign In via CloudTrail",
        "source": "aws.signin", "account": "123456789012", "time": "2025-03-01T09:00:00Z",
        "region": "us-east-1", "resources": [],
        "detail": serde_json::from_str::<Value>(&login).unwrap(),
    })
    .to_string()
    .into_bytes();

    // The first invocation claimed the record and is sending it; the second runs to its end meanwhile.
    let first_path = Gate::new(Recorder::with(&[Channel::Email]));
    let second_path = Recorder::with(&[Channel::Email]);
    let (first, second) = tokio::join!(
        handle_with(&from_logs, &settings, &first_path, Some(&store), None, t0()),
        async {
            first_path.started.notified().await;
            let second = handle_with(
                &from_events,
                &settings,
                &second_path,
                Some(&store),
                None,
                t0(),
            )
            .await;
            first_path.go.add_permits(1000);
            second
        }
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(
        (second.messages, second.duplicates),
        (0, 1),
        "the record is held by the first invocation"
    );
    assert_eq!(first.messages, 1);
    assert_eq!(
        first_path.inner.emails().len() + second_path.emails().len(),
        1,
        "exactly one invocation sent it"
    );

    // Again with the winner's delivery failing: the loser sends nothing while it is held, and once the winner
    // failed (and let go) its retry sends the email: nothing is lost, nothing sent twice.
    let mut record: Value = serde_json::from_str(&login).unwrap();
    record["eventID"] = Value::from("11111111-2222-3333-4444-555555555555");
    let batch = cloudwatch_event(&[record.to_string()], false);
    let failing = Gate::new(Recorder::failing("Root console sign-in", None));
    let other = Recorder::with(&[Channel::Email]);
    let (first, held) = tokio::join!(
        handle_with(&batch, &settings, &failing, Some(&store), None, t0()),
        async {
            failing.started.notified().await;
            let held = handle_with(&batch, &settings, &other, Some(&store), None, t0()).await;
            failing.go.add_permits(1000);
            held
        }
    );
    first.expect_err("the email failed");
    assert_eq!((held.unwrap().messages, other.emails().len()), (0, 0));
    let retry = Recorder::with(&[Channel::Email]);
    let outcome = handle_with(
        &batch,
        &settings,
        &retry,
        Some(&store),
        None,
        t0() + TimeDelta::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!((outcome.messages, retry.emails().len()), (1, 1));
    let after = Recorder::with(&[Channel::Email]);
    handle_with(
        &batch,
        &settings,
        &after,
        Some(&store),
        None,
        t0() + TimeDelta::minutes(2),
    )
    .await
    .unwrap();
    assert!(after.emails().is_empty(), "sent once");
}

#[tokio::test]
async fn the_claim_another_invocation_won_first_is_not_sent() {
    use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
    use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    // Both invocations read the table before either claimed: neither finds a claim.
    let read = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .then_output(|| BatchGetItemOutput::builder().build());
    let write = mock!(aws_sdk_dynamodb::Client::batch_write_item)
        .then_output(|| BatchWriteItemOutput::builder().build());
    let sent = mock!(aws_sdk_dynamodb::Client::update_item)
        .then_output(|| UpdateItemOutput::builder().build());
    let login = fixture_records("aws-ct-ug__root-success-no-mfa").remove(0);
    let batch = cloudwatch_event(&[login], false);

    // The first one's conditional claim succeeds: it sends.
    let won =
        mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build());
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&read, &write, &sent, &won]
    );
    let store = DynamoStore::new(client, "login-alert-state".into());
    let first = Recorder::default();
    handle_with(
        &batch,
        &Settings::default(),
        &first,
        Some(&store),
        None,
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(first.emails().len(), 1);
    assert_eq!(won.num_calls(), 1, "the claim is a conditional PutItem");

    // The second one's claim meets the first one's item: it sends nothing for that record.
    let lost = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| r.condition_expression() == Some("attribute_not_exists(pk)"))
        .then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .message("The conditional request failed")
                    .build(),
            )
        });
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&read, &write, &sent, &lost]
    );
    let store = DynamoStore::new(client, "login-alert-state".into());
    let second = Recorder::default();
    let outcome = handle_with(
        &batch,
        &Settings::default(),
        &second,
        Some(&store),
        None,
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(lost.num_calls(), 1);
    assert_eq!((outcome.messages, outcome.duplicates), (0, 1));
    assert!(second.sent.lock().unwrap().is_empty(), "nothing sent");
}
