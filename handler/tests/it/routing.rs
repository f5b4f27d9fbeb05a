//! Per-account routes (`[[route]]`): every message goes to the destinations of its account's route only, an
//! account no route names goes to the default, and a batch spanning routes is split so no route sees another
//! route's accounts. The routes are `Routed` over the `Recorder` double, as the Lambda builds them over its real
//! destinations from the state table's `config#routes` item.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use login_alert_handler::handler::handle_with;
use login_alert_handler::route::Routed;
use login_alert_handler::store::MemoryStore;
use login_alert_handler::{Channel, Settings};
use serde_json::Value;

use crate::support::events::*;

const PAYMENTS: &str = "111111111111";
const OTHER: &str = "222222222222";

/// A published record moved to `account`, with its own event ID and time.
fn in_account(fixture: &str, account: &str, id: &str, second: u32) -> String {
    let mut record: Value = serde_json::from_str(&fixture_records(fixture)[0]).unwrap();
    record["recipientAccountId"] = Value::from(account);
    record["userIdentity"]["accountId"] = Value::from(account);
    if let Some(arn) = record["userIdentity"]["arn"].as_str() {
        let moved = arn.replace(&arn.split(':').nth(4).unwrap_or("").to_owned(), account);
        record["userIdentity"]["arn"] = Value::from(moved);
    }
    record["eventID"] = Value::from(id);
    record["eventTime"] = Value::from(format!("2025-03-01T09:00:{second:02}Z"));
    record.to_string()
}

fn settings() -> Settings {
    Settings {
        account_names: BTreeMap::from([
            (PAYMENTS.into(), "payments-prod".into()),
            (OTHER.into(), "shared-services".into()),
        ]),
        ..Settings::default()
    }
}

fn everything(recorder: &Recorder) -> Vec<String> {
    Channel::ALL
        .into_iter()
        .flat_map(|c| recorder.of(c))
        .map(|s| format!("{}\n{}", s.text, s.body))
        .collect()
}

#[tokio::test]
async fn each_account_reaches_its_route_only_and_a_mixed_batch_is_split() {
    const ROOT_SIGNIN: &str = "aws-ct-ug__root-success-no-mfa";
    const ROOT_CALL: &str = "panther-root-activity__put-bucket-versioning";
    let records = vec![
        in_account(ROOT_SIGNIN, PAYMENTS, "signin-pay", 1),
        in_account(ROOT_SIGNIN, OTHER, "signin-other", 2),
        // One root session's calls in each account: two groups, one per account.
        in_account(ROOT_CALL, PAYMENTS, "call-pay-1", 3),
        in_account(ROOT_CALL, OTHER, "call-other-1", 4),
        in_account(ROOT_CALL, PAYMENTS, "call-pay-2", 5),
        in_account(ROOT_CALL, OTHER, "call-other-2", 6),
    ];
    let default = Recorder::with(&[Channel::Email, Channel::Slack]);
    let payments = Recorder::with(&[Channel::Email]);
    let routes = [payments];
    let accounts = BTreeMap::from([(PAYMENTS.to_owned(), 0)]);
    let routed = Routed {
        default: &default,
        accounts: &accounts,
        routes: &routes,
    };
    let store = MemoryStore::default();
    let now = Utc.with_ymd_and_hms(2025, 3, 1, 9, 1, 0).unwrap();
    let outcome = handle_with(
        &cloudwatch_event(&records, false),
        &settings(),
        &routed,
        Some(&store),
        None,
        now,
    )
    .await
    .unwrap();
    assert_eq!(outcome.alerts, 6);
    let [payments] = &routes;
    let to_payments = everything(payments);
    let to_default = everything(&default);
    // The payments route: its sign-in and its group, by email (the only destination it has).
    assert_eq!(payments.emails().len(), 2, "{to_payments:#?}");
    assert!(payments.of(Channel::Slack).is_empty());
    for message in &to_payments {
        assert!(message.contains("payments-prod"), "{message}");
        assert!(
            !message.contains("shared-services") && !message.contains(OTHER),
            "{message}"
        );
    }
    // The default: the other account's sign-in and group, on each of its destinations, nothing of payments'.
    assert_eq!(default.emails().len(), 2, "{to_default:#?}");
    assert_eq!(default.slack().len(), 2, "{to_default:#?}");
    for message in &to_default {
        assert!(message.contains("shared-services"), "{message}");
        assert!(
            !message.contains("payments-prod") && !message.contains(PAYMENTS),
            "{message}"
        );
    }
    assert_eq!(outcome.deliveries, 6);
}

#[tokio::test]
async fn without_a_route_for_the_account_nothing_is_dropped() {
    let records = vec![in_account(
        "aws-ct-ug__root-success-no-mfa",
        "333333333333",
        "signin-new",
        1,
    )];
    let default = Recorder::with(&[Channel::Email]);
    let routes = [Recorder::with(&[Channel::Email])];
    // An account that joined a routed unit after the last apply is not in the table: the default takes it.
    let accounts = BTreeMap::from([(PAYMENTS.to_owned(), 0)]);
    let routed = Routed {
        default: &default,
        accounts: &accounts,
        routes: &routes,
    };
    handle_with(
        &cloudwatch_event(&records, false),
        &settings(),
        &routed,
        None::<&MemoryStore>,
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(default.emails().len(), 1);
    assert!(routes[0].emails().is_empty());
}
