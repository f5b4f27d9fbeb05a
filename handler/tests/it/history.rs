//! The digest run's event-history backfill (`history.rs`). moto implements no `LookupEvents`, so CloudTrail is
//! answered by aws-smithy-mocks here; the state table is moto's DynamoDB, the real thing for the claims the live
//! path and the backfill share and for the checkpoints.

use crate::support;
use crate::support::events::*;

use std::time::Duration;

use aws_sdk_cloudtrail::config::retry::RetryConfig;
use aws_sdk_cloudtrail::error::ErrorMetadata;
use aws_sdk_cloudtrail::operation::lookup_events::{
    LookupEventsError, LookupEventsInput, LookupEventsOutput,
};
use aws_sdk_cloudtrail::primitives::DateTime as SdkTime;
use aws_sdk_cloudtrail::types::{Event, LookupAttributeKey};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use login_alert_handler::dynamo::DynamoStore;
use login_alert_handler::handler::handle_with;
use login_alert_handler::history::{self, BackfillError, History};
use login_alert_handler::store::{self, Backlog, Checkpoint, StateItem, Store};
use login_alert_handler::{Channel, Language, Settings};
use serde_json::Value;

use support::{Moto, unique};

const REGION: &str = "eu-west-1";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

/// A published record with its own `eventID`.
fn record(fixture: &str, id: &str) -> String {
    let mut value: Value = serde_json::from_str(&fixture_records(fixture)[0]).unwrap();
    value["eventID"] = Value::from(id);
    value.to_string()
}

fn entry(id: &str, json: &str) -> Event {
    Event::builder()
        .event_id(id)
        .event_time(SdkTime::from_secs(t0().timestamp() - 120))
        .cloud_trail_event(json)
        .build()
}

fn asks(input: &LookupEventsInput, key: LookupAttributeKey) -> bool {
    input
        .lookup_attributes()
        .first()
        .is_some_and(|a| *a.attribute_key() == key)
}

/// Answers the sign-in lookup with `signins` and the root lookup with `root`, one page each.
fn answers(signins: Vec<Event>, root: Vec<Event>) -> (Rule, Rule) {
    let signin_rule = mock!(aws_sdk_cloudtrail::Client::lookup_events)
        .match_requests(|r| asks(r, LookupAttributeKey::EventSource))
        .then_output(move || {
            LookupEventsOutput::builder()
                .set_events(Some(signins.clone()))
                .build()
        });
    let root_rule = mock!(aws_sdk_cloudtrail::Client::lookup_events)
        .match_requests(|r| asks(r, LookupAttributeKey::Username))
        .then_output(move || {
            LookupEventsOutput::builder()
                .set_events(Some(root.clone()))
                .build()
        });
    (signin_rule, root_rule)
}

/// One region read through `rules`; the SDK's own retry kept short (two attempts) so the handler's retry shows.
fn history_of(rules: &[&Rule]) -> History {
    let client = mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, rules, |c| {
        c.retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    });
    History::new(vec![(REGION.to_owned(), client)])
        .with_timing(Duration::from_millis(1), Duration::from_millis(5))
}

async fn checkpoint(store: &DynamoStore) -> Option<Checkpoint> {
    let key = store::checkpoint_key(REGION);
    match store
        .load(std::slice::from_ref(&key))
        .await
        .unwrap()
        .remove(&key)
    {
        Some(StateItem::Checkpoint { checkpoint, .. }) => Some(checkpoint),
        _ => None,
    }
}

async fn table(moto: &Moto) -> DynamoStore {
    let name = unique("history");
    DynamoStore::new(moto.state_table(&name).await, name)
}

/// A backfill run at `at` that must succeed.
async fn run_at(
    history: &History,
    settings: &Settings,
    recorder: &Recorder,
    store: &DynamoStore,
    at: DateTime<Utc>,
) -> history::Backfill {
    history::backfill(history, settings, recorder, store, None, at)
        .await
        .expect("the run succeeds")
}

fn settings() -> Settings {
    Settings {
        account_name: Some("prod".into()),
        ..Settings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_event_alerts_once_marked_late_and_a_claimed_one_never() {
    let moto = Moto::start();
    let store = table(&moto).await;
    let delivered = record("aws-ct-ug__iam-user-success-mfa", "live-0001");
    let missed = record("aws-ct-ug__root-success-no-mfa", "missed-0001");

    // The live path (EventBridge) delivered and claimed one sign-in.
    let live = Recorder::default();
    handle_with(
        &cloudwatch_event(std::slice::from_ref(&delivered), false),
        &settings(),
        &live,
        Some(&store),
        None,
        t0() - TimeDelta::minutes(2),
    )
    .await
    .unwrap();
    assert_eq!(live.emails().len(), 1);

    // The history has both sign-ins; the root one is also root activity, so both lookups return it.
    let (signins, root) = answers(
        vec![
            entry("live-0001", &delivered),
            entry("missed-0001", &missed),
        ],
        vec![entry("missed-0001", &missed)],
    );
    let history = history_of(&[&signins, &root]);
    let recorder = Recorder::with(&[Channel::Email, Channel::Slack, Channel::Webhook]);
    let run = run_at(&history, &settings(), &recorder, &store, t0()).await;
    assert_eq!(run.events, 2, "each event once, whichever lookup found it");
    assert_eq!((signins.num_calls(), root.num_calls()), (1, 1));
    let emails = recorder.emails();
    assert_eq!(emails.len(), 1, "only the missed one: {emails:?}");
    let (subject, body) = &emails[0];
    assert!(subject.starts_with("[prod] Late: "), "{subject}");
    assert!(subject.contains("Root console sign-in"), "{subject}");
    assert!(body.contains("Delivered late"), "{body}");
    assert!(body.contains("missed-0001"), "{body}");
    assert!(!body.contains("live-0001"), "{body}");
    let slack = recorder.slack();
    assert_eq!(slack.len(), 1);
    assert!(slack[0].contains("Delivered late"), "{}", slack[0]);
    let webhook: Vec<Value> = recorder
        .of(Channel::Webhook)
        .iter()
        .map(|s| serde_json::from_str(&s.text).unwrap())
        .collect();
    assert_eq!(webhook.len(), 1);
    assert_eq!(webhook[0]["delivered_late"], true, "{}", webhook[0]);
    assert_eq!(webhook[0]["event_id"], "missed-0001");
    assert_eq!(run.outcome.as_ref().map(|o| o.duplicates), Some(1));
    assert_eq!(run.advanced, [REGION]);
    assert_eq!(
        checkpoint(&store).await,
        Some(Checkpoint {
            at: t0().timestamp(),
            backlog: None
        })
    );

    // The next run reads the overlap again and finds both events claimed: nothing is sent.
    let again = Recorder::default();
    let run = run_at(
        &history,
        &settings(),
        &again,
        &store,
        t0() + TimeDelta::minutes(5),
    )
    .await;
    assert!(again.sent.lock().unwrap().is_empty(), "sent once");
    assert_eq!(run.outcome.map(|o| o.duplicates), Some(2));
    assert_eq!(
        checkpoint(&store).await.map(|c| c.at),
        Some((t0() + TimeDelta::minutes(5)).timestamp())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpoint_stays_when_delivery_fails_and_the_next_run_sends_the_event() {
    let moto = Moto::start();
    let store = table(&moto).await;

    // A first run with nothing to find sets the checkpoint.
    let (none, none_root) = answers(Vec::new(), Vec::new());
    let quiet = history_of(&[&none, &none_root]);
    let run = run_at(&quiet, &settings(), &Recorder::default(), &store, t0()).await;
    assert_eq!((run.events, run.outcome.is_none()), (0, true));
    let first = checkpoint(&store).await.expect("a checkpoint");
    assert_eq!(first.at, t0().timestamp());

    // The event shows up in the history; its email fails.
    let missed = record("aws-ct-ug__root-failure", "missed-0002");
    let (signins, root) = answers(
        vec![entry("missed-0002", &missed)],
        vec![entry("missed-0002", &missed)],
    );
    let history = history_of(&[&signins, &root]);
    let recorder = Recorder::failing("Late", Some(Channel::Email));
    let err = history::backfill(
        &history,
        &settings(),
        &recorder,
        &store,
        None,
        t0() + TimeDelta::minutes(5),
    )
    .await
    .expect_err("the email failed");
    assert!(matches!(err, BackfillError::Delivery(_)), "{err}");
    assert!(
        err.to_string().contains("checkpoints where they were"),
        "{err}"
    );
    assert_eq!(checkpoint(&store).await, Some(first), "unchanged");
    assert!(recorder.emails().is_empty());
    assert_eq!(recorder.slack().len(), 1, "Slack got it");

    // The next run reads the same window again and sends what is missing: the email only.
    recorder.heal();
    let later = t0() + TimeDelta::minutes(10);
    let run = run_at(&history, &settings(), &recorder, &store, later).await;
    let emails = recorder.emails();
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert!(emails[0].0.starts_with("[prod] Late: "), "{}", emails[0].0);
    assert_eq!(recorder.slack().len(), 1, "Slack is not sent twice");
    assert_eq!(run.advanced, [REGION]);
    assert_eq!(
        checkpoint(&store).await.map(|c| c.at),
        Some(later.timestamp())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_beyond_the_sdks_own_attempts() {
    let moto = Moto::start();
    let store = table(&moto).await;
    let missed = record("aws-ct-ug__root-success-no-mfa", "missed-0003");
    let throttled = || {
        LookupEventsError::generic(
            ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build(),
        )
    };
    // Three throttled answers: the SDK's two attempts give up on the first two, the handler's retry goes on.
    let answer = missed.clone();
    let signins = mock!(aws_sdk_cloudtrail::Client::lookup_events)
        .match_requests(|r| asks(r, LookupAttributeKey::EventSource))
        .sequence()
        .error(throttled)
        .times(3)
        .output(move || {
            LookupEventsOutput::builder()
                .events(entry("missed-0003", &answer))
                .build()
        })
        .build();
    let (_, root) = answers(Vec::new(), Vec::new());
    let history = history_of(&[&signins, &root]);
    let ja = Settings {
        language: Language::Ja,
        ..settings()
    };
    let recorder = Recorder::default();
    let run = run_at(&history, &ja, &recorder, &store, t0()).await;
    assert_eq!(signins.num_calls(), 4, "three throttled, then the answer");
    assert!(run.failed.is_empty());
    let emails = recorder.emails();
    assert_eq!(emails.len(), 1);
    assert!(
        emails[0].0.starts_with("[prod] Late: "),
        "ASCII subject: {}",
        emails[0].0
    );
    assert!(emails[0].1.contains("遅延通知"), "{}", emails[0].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_that_keeps_failing_keeps_its_window_for_the_next_run() {
    let moto = Moto::start();
    let store = table(&moto).await;
    let denied = mock!(aws_sdk_cloudtrail::Client::lookup_events).then_error(|| {
        LookupEventsError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not authorized to perform: cloudtrail:LookupEvents")
                .build(),
        )
    });
    let history = history_of(&[&denied]);
    let run = run_at(&history, &settings(), &Recorder::default(), &store, t0()).await;
    assert_eq!(run.failed, [REGION]);
    assert!(run.advanced.is_empty());
    assert_eq!(denied.num_calls(), 1, "access denied is not retried");
    assert_eq!(checkpoint(&store).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stops_at_its_page_bound_and_the_next_reads_the_rest_first() {
    let moto = Moto::start();
    let store = table(&moto).await;
    let missed = record("aws-ct-ug__root-failure", "missed-0004");
    // Every page says there is another one.
    let endless = mock!(aws_sdk_cloudtrail::Client::lookup_events).then_output(move || {
        LookupEventsOutput::builder()
            .events(entry("missed-0004", &missed))
            .next_token("more")
            .build()
    });
    let history = history_of(&[&endless]).with_max_pages(2);
    let recorder = Recorder::default();
    let run = run_at(&history, &settings(), &recorder, &store, t0()).await;
    assert_eq!(endless.num_calls(), 4, "two pages for each lookup");
    assert_eq!(run.backlog, [REGION]);
    assert_eq!(recorder.emails().len(), 1, "what was read is sent");
    let read_down_to = t0().timestamp() - 120;
    assert_eq!(
        checkpoint(&store).await,
        Some(Checkpoint {
            at: t0().timestamp(),
            backlog: Some(Backlog {
                before: read_down_to + 1,
                resume: t0().timestamp(),
            }),
        })
    );
}
