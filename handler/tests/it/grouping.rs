//! Grouping and exactly-once delivery with the `Deliver` test double and the in-memory state: a storm becomes one
//! message, later records wait for the digest, a retry re-sends only what failed, and a record that arrives twice
//! is reported once.
//!
//! The storms are built from one published root record (`panther-root-activity__put-bucket-versioning`, a root
//! console session): only `eventName`, `eventID` and `eventTime` vary, as they do between the calls of a session.

use crate::support::events as common;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use login_alert_handler::handler::handle_with;
use login_alert_handler::store::{MemoryStore, StateItem};
use login_alert_handler::{Channel, Scope, Settings, handle};
use serde_json::Value;

use common::*;

const NAMES: [&str; 5] = [
    "ListBuckets",
    "DescribeRegions",
    "GetBucketAcl",
    "ListUsers",
    "DeleteBucket",
];

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

/// `n` calls of one root console session, `first` numbering their event IDs, one second apart from `start`.
fn root_session(n: usize, first: usize, start: DateTime<Utc>) -> Vec<String> {
    let base: Value =
        serde_json::from_str(&fixture_records("panther-root-activity__put-bucket-versioning")[0])
            .unwrap();
    (first..first + n)
        .map(|i| {
            let mut record = base.clone();
            record["eventName"] = Value::from(NAMES[i % NAMES.len()]);
            record["eventID"] = Value::from(format!("root-{i:05}"));
            record["eventTime"] = Value::from(
                (start + TimeDelta::seconds((i - first) as i64))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
            record.to_string()
        })
        .collect()
}

fn sign_ins() -> Vec<String> {
    [
        "aws-ct-ug__root-success-no-mfa",
        "aws-ct-ug__iam-user-success-mfa",
        "github-switchrole-walkthrough__assumed-role-switch",
    ]
    .iter()
    .map(|name| fixture_records(name).remove(0))
    .collect()
}

fn settings() -> Settings {
    Settings {
        account_name: Some("prod".into()),
        ..Settings::default()
    }
}

async fn run(
    records: &[String],
    recorder: &Recorder,
    store: &MemoryStore,
    now: DateTime<Utc>,
) -> Result<login_alert_handler::Outcome, login_alert_handler::HandlerError> {
    handle_with(
        &cloudwatch_event(records, false),
        &settings(),
        recorder,
        Some(store),
        None,
        now,
    )
    .await
}

#[tokio::test]
async fn a_storm_of_500_root_calls_and_3_sign_ins_make_4_messages() {
    let mut records = root_session(500, 0, t0());
    records.splice(100..100, sign_ins());
    let recorder = Recorder::default();
    let outcome = handle(&cloudwatch_event(&records, false), &settings(), &recorder)
        .await
        .unwrap();
    assert_eq!((outcome.records, outcome.alerts), (503, 503));
    assert_eq!(
        outcome.messages, 4,
        "three sign-ins and one for the session"
    );
    let subjects: Vec<String> = recorder.emails().into_iter().map(|(s, _)| s).collect();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    assert!(
        subjects.contains(
            &"[prod] Root user activity: ListBuckets without MFA and 499 more".to_owned()
        ),
        "{subjects:?}"
    );
    let (_, body) = recorder
        .emails()
        .into_iter()
        .find(|(s, _)| s.contains("and 499 more"))
        .unwrap();
    for fact in [
        "Records:",
        "500 in this group (the first is shown above)",
        "DeleteBucket ×100, DescribeRegions ×100, GetBucketAcl ×100, ListBuckets ×100, ListUsers ×100",
        "First:",
        "2025-03-01 09:00:00 UTC",
        "2025-03-01 09:08:19 UTC",
        "Regions:",
        "us-west-2",
    ] {
        assert!(body.contains(fact), "`{fact}` missing:\n{body}");
    }
    assert_eq!(recorder.slack().len(), 4);
}

#[tokio::test]
async fn later_records_of_an_alerted_group_wait_for_one_digest_when_the_window_closes() {
    let store = MemoryStore::new();
    let recorder = Recorder::default();
    let schedule = std::fs::read(
        fixtures_dir().join("events/awslabs-lambda-events__eventbridge-schedule.json"),
    )
    .unwrap();
    let tick = |now| {
        let (store, recorder, schedule) = (&store, &recorder, &schedule);
        async move {
            handle_with(schedule, &settings(), recorder, Some(store), None, now)
                .await
                .unwrap()
        }
    };

    let first = run(&root_session(100, 0, t0()), &recorder, &store, t0())
        .await
        .unwrap();
    assert_eq!((first.messages, first.summarised), (1, 0));

    let minute = |m| t0() + TimeDelta::minutes(m);
    let later = run(
        &root_session(50, 100, minute(5)),
        &recorder,
        &store,
        minute(5),
    )
    .await
    .unwrap();
    assert_eq!(
        (later.messages, later.summarised),
        (0, 50),
        "quiet within the window"
    );
    assert_eq!(
        tick(minute(10)).await.messages,
        0,
        "the window is still open"
    );

    let digest = tick(minute(16)).await;
    assert_eq!(digest.messages, 1);
    let (subject, body) = recorder.emails().pop().unwrap();
    assert_eq!(
        subject,
        "[prod] Root user activity continued: 50 more record(s)"
    );
    assert!(body.contains("50 since the group's last alert"), "{body}");
    assert!(body.contains("111.111.111.111"), "{body}");
    assert_eq!(tick(minute(21)).await.messages, 0, "a digest goes out once");

    // After the window the next record opens a new one with a message of its own.
    let again = run(
        &root_session(10, 150, minute(25)),
        &recorder,
        &store,
        minute(25),
    )
    .await
    .unwrap();
    assert_eq!(again.messages, 1);
    assert!(
        recorder.emails().pop().unwrap().0.ends_with("and 9 more"),
        "{:?}",
        recorder.emails()
    );
    assert_eq!(recorder.emails().len(), 3);
}

#[tokio::test]
async fn records_no_digest_reported_yet_are_carried_into_the_next_windows_message() {
    let store = MemoryStore::new();
    let recorder = Recorder::default();
    run(&root_session(3, 0, t0()), &recorder, &store, t0())
        .await
        .unwrap();
    let minute = |m| t0() + TimeDelta::minutes(m);
    run(&root_session(7, 3, minute(2)), &recorder, &store, minute(2))
        .await
        .unwrap();
    // No scheduled run happened (the digest rule was late): the next message reports the 7 as well.
    let next = run(
        &root_session(1, 10, minute(20)),
        &recorder,
        &store,
        minute(20),
    )
    .await
    .unwrap();
    assert_eq!(next.messages, 1);
    let (subject, body) = recorder.emails().pop().unwrap();
    assert!(subject.ends_with("and 7 more"), "{subject}");
    assert!(
        body.contains("1 in this group (the first is shown above), and 7 from before that no digest reported yet"),
        "{body}"
    );
}

#[tokio::test]
async fn a_retry_re_sends_only_what_failed_and_nothing_twice() {
    let store = MemoryStore::new();
    let mut records = root_session(40, 0, t0());
    records.extend(sign_ins());
    let recorder = Recorder::failing("Root user activity", Some(Channel::Slack));
    let err = run(&records, &recorder, &store, t0())
        .await
        .expect_err("the group's Slack post failed");
    assert!(err.exactly_once, "{err}");
    assert_eq!((err.failed, err.attempted), (1, 8), "{err}");
    assert!(err.to_string().contains("send only what failed"), "{err}");
    assert_eq!((recorder.emails().len(), recorder.slack().len()), (4, 3));

    // Lambda retries the same event: only the Slack post of the group goes out.
    recorder.heal();
    let retry = run(&records, &recorder, &store, t0() + TimeDelta::minutes(1))
        .await
        .unwrap();
    assert_eq!(retry.deliveries, 1, "{retry:?}");
    assert_eq!((recorder.emails().len(), recorder.slack().len()), (4, 4));
    assert!(
        recorder.slack()[3].contains("and 39 more"),
        "{}",
        recorder.slack()[3]
    );

    // A third delivery of the event (or a late duplicate) sends nothing at all: the retry that completed still
    // holds its records (its lease), so nothing is even planned; every record counts as a duplicate.
    let third = run(&records, &recorder, &store, t0() + TimeDelta::minutes(2))
        .await
        .unwrap();
    assert_eq!(
        (third.messages, third.deliveries, third.duplicates),
        (0, 0, third.alerts),
        "{third:?}"
    );
    assert_eq!(recorder.sent.lock().unwrap().len(), 8);

    // Every item the state holds is prefixed and expires: after the invocation, or (what a baseline learned
    // from records) after what it last saw.
    for (key, item) in store.snapshot() {
        let (expires, after) = match &item {
            StateItem::Event { expires_at, .. }
            | StateItem::Sent { expires_at, .. }
            | StateItem::Session { expires_at, .. }
            | StateItem::Checkpoint { expires_at, .. } => (*expires_at, t0().timestamp()),
            StateItem::Group(g) => (g.window_end, t0().timestamp()),
            StateItem::Baseline(b) => (b.expires_at, b.last_seen),
            StateItem::Source(s) => (
                s.expires_at,
                s.identities.iter().map(|i| i.last).max().unwrap_or(0),
            ),
        };
        assert!(expires > after, "{key}");
        assert!(
            [
                "event#",
                "group#",
                "sent#",
                "session#",
                "baseline#",
                "source#"
            ]
            .iter()
            .any(|p| key.starts_with(p)),
            "{key}"
        );
    }
}

/// A batch that brings a group's records again together with new ones, after the group's message reached one
/// destination and failed at another: the message is re-sent as it was to the one that missed it, and the new
/// records wait for the digest. Joining them to the message would have told Slack of them and email never (email
/// already had that message). Before, the state of what each message reached was never read here, so they joined.
#[tokio::test]
async fn new_records_never_join_a_message_that_already_reached_a_destination() {
    let store = MemoryStore::new();
    let records = root_session(40, 0, t0());
    let recorder = Recorder::failing("Root user activity", Some(Channel::Slack));
    run(&records, &recorder, &store, t0())
        .await
        .expect_err("the group's Slack post failed");
    assert_eq!((recorder.emails().len(), recorder.slack().len()), (1, 0));

    recorder.heal();
    let mut again = records.clone();
    again.extend(root_session(5, 40, t0() + TimeDelta::seconds(40)));
    let retry = run(&again, &recorder, &store, t0() + TimeDelta::minutes(1))
        .await
        .unwrap();
    assert_eq!(retry.deliveries, 1, "{retry:?}");
    assert_eq!((recorder.emails().len(), recorder.slack().len()), (1, 1));
    assert!(
        recorder.slack()[0].contains("and 39 more"),
        "Slack gets the message email got: {}",
        recorder.slack()[0]
    );
    let pending: Vec<u64> = store
        .snapshot()
        .into_values()
        .filter_map(|item| match item {
            StateItem::Group(g) => Some(g.pending.count),
            _ => None,
        })
        .collect();
    assert_eq!(pending, vec![5], "the new records wait for the digest");
}

#[tokio::test]
async fn without_state_a_retry_sends_everything_again() {
    let records = sign_ins();
    let recorder = Recorder::failing("Switch role", Some(Channel::Email));
    let err = handle(&cloudwatch_event(&records, false), &settings(), &recorder)
        .await
        .expect_err("one email failed");
    assert!(!err.exactly_once);
    assert!(!err.to_string().contains("only what failed"), "{err}");
    recorder.heal();
    handle(&cloudwatch_event(&records, false), &settings(), &recorder)
        .await
        .unwrap();
    assert_eq!(recorder.emails().len(), 2 + 3);
}

#[tokio::test]
async fn the_same_event_by_eventbridge_and_then_cloudwatch_logs_is_reported_once() {
    let store = MemoryStore::new();
    let recorder = Recorder::default();
    let login = fixture_records("aws-ct-ug__root-success-no-mfa").remove(0);
    let eventbridge = serde_json::json!({
        "version": "0", "id": "1", "detail-type": "AWS Console Sign In via CloudTrail", "source": "aws.signin",
        "account": "111122223333", "time": "2018-08-29T16:24:34Z", "region": "us-east-1", "resources": [],
        "detail": serde_json::from_str::<Value>(&login).unwrap(),
    });
    let first = handle_with(
        eventbridge.to_string().as_bytes(),
        &settings(),
        &recorder,
        Some(&store),
        None,
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(first.messages, 1);
    // Minutes later CloudWatch Logs delivers the same record with another one.
    let batch = [
        login,
        fixture_records("aws-ct-ug__iam-user-success-mfa").remove(0),
    ];
    let second = run(&batch, &recorder, &store, t0() + TimeDelta::minutes(5))
        .await
        .unwrap();
    assert_eq!(second.deliveries, 2, "only the new sign-in: {second:?}");
    let subjects: Vec<String> = recorder.emails().into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        subjects,
        [
            "[prod] Root console sign-in succeeded without MFA",
            "[prod] Console sign-in succeeded: anaya"
        ]
    );
}

#[tokio::test]
async fn a_root_session_opened_with_assume_root_is_named_as_such_in_the_same_batch_and_later() {
    let assume = fixture_records("aws-iam-ug-privileged__assume-root").remove(0);
    let action =
        fixture_records("aws-iam-ug-privileged__root-session-delete-bucket-policy").remove(0);
    let mut names = std::collections::BTreeMap::new();
    names.insert("222222222222".to_owned(), "sandbox".to_owned());
    names.insert("111111111111".to_owned(), "management".to_owned());
    let settings = Settings {
        account_names: names,
        scope: Scope::RootOnly,
        ..settings()
    };
    for split in [false, true] {
        let store = MemoryStore::new();
        let recorder = Recorder::default();
        if split {
            for (i, record) in [&assume, &action].into_iter().enumerate() {
                handle_with(
                    &cloudwatch_event(std::slice::from_ref(record), false),
                    &settings,
                    &recorder,
                    Some(&store),
                    None,
                    t0() + TimeDelta::minutes(i as i64),
                )
                .await
                .unwrap();
            }
        } else {
            handle_with(
                &cloudwatch_event(&[assume.clone(), action.clone()], false),
                &settings,
                &recorder,
                Some(&store),
                None,
                t0(),
            )
            .await
            .unwrap();
        }
        let emails = recorder.emails();
        assert_eq!(emails.len(), 2, "split: {split}");
        assert_eq!(
            emails[0].0,
            "[management] Root session opened in account 222222222222 by JohnDoe/JohnRole1"
        );
        let (subject, body) = &emails[1];
        assert_eq!(
            subject,
            "[sandbox] Root session from the management account: DeleteBucketPolicy"
        );
        for fact in [
            "Caller:",
            "arn:aws:sts::111111111111:assumed-role/JohnDoe/JohnRole1 (111111111111)",
            "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy",
            "no root password and no root MFA were used",
            "sandbox (222222222222)",
        ] {
            assert!(
                body.contains(fact),
                "split {split}: `{fact}` missing:\n{body}"
            );
        }
        assert!(!body.contains("without MFA"), "{body}");
    }
}

#[tokio::test]
async fn the_test_record_always_alerts_says_so_and_logs_its_delivery_line() {
    let record = login_alert_handler::test_record(
        "0b7c1f6e-test",
        "PutLogEvents to /login-alert/cloudtrail (stream login-alert-test)",
        t0(),
        "123456789012",
        "eu-west-1",
    );
    let recorder = Recorder::default();
    let settings = Settings {
        scope: Scope::RootOnly,
        ..settings()
    };
    let outcome = handle(&cloudwatch_event(&[record], false), &settings, &recorder)
        .await
        .unwrap();
    assert_eq!(
        outcome.test_lines,
        ["login-alert test 0b7c1f6e-test delivered to email,slack"]
    );
    let (subject, body) = recorder.emails().remove(0);
    assert_eq!(subject, "[prod] Test alert from login-alert");
    assert!(
        body.contains("This is a test sent by `login-alert test`"),
        "{body}"
    );
    assert!(
        body.contains(
            "Sent via:   PutLogEvents to /login-alert/cloudtrail (stream login-alert-test)"
        ),
        "{body}"
    );

    // A failed delivery logs no line: `login-alert test` then reports the failure.
    let failing = Recorder::failing("Test alert", Some(Channel::Slack));
    let record = login_alert_handler::test_record("id-2", "PutEvents", t0(), "1", "eu-west-1");
    let err = handle(&cloudwatch_event(&[record], false), &settings, &failing).await;
    assert!(err.is_err());
}

#[tokio::test]
async fn records_that_are_each_alone_skip_planning_with_the_same_messages() {
    use login_alert_handler::collect::{self, KeepRaw};
    use login_alert_handler::engine;
    // Every published record, each with an ID and a source IP of its own so that none shares a group. The root
    // records of the session whose `AssumeRoot` call is among them are worded again naming who opened it.
    let records: Vec<String> = fixture_names()
        .iter()
        .flat_map(|n| fixture_records(n))
        .enumerate()
        .map(|(i, r)| {
            let mut record: Value = serde_json::from_str(&r).unwrap();
            record["eventID"] = Value::from(format!("alone-{i}"));
            record["sourceIPAddress"] = Value::from(format!("203.0.113.{i}"));
            record.to_string()
        })
        .collect();
    let input = cloudwatch_event(&records, false);
    let channels = [Channel::Email, Channel::Slack];
    let collect = || collect::collect(&input, &settings(), &channels, KeepRaw::None).unwrap();
    let mut fast_input = collect();
    let opened = fast_input.sessions_opened();
    let in_session = fast_input
        .alerts
        .iter()
        .filter(|a| a.access_key.as_deref().is_some_and(|k| opened.contains(k)))
        .count();
    assert!(
        in_session > 0,
        "the fixtures hold a root session opened by AssumeRoot"
    );
    // Sign-ins are judged against their baselines first (preview does the same before the fast path).
    assert!(engine::each_alone(&mut collect(), &settings(), &channels).is_none());
    login_alert_handler::usual::annotate(
        &mut fast_input.alerts,
        &settings(),
        &channels,
        None::<&MemoryStore>,
    )
    .await;
    let fast = engine::each_alone(&mut fast_input, &settings(), &channels)
        .expect("no group of two in distinct fixtures");
    let planned = engine::invoke(
        collect(),
        &settings(),
        &channels,
        None::<&MemoryStore>,
        t0(),
        engine::DEFAULT_LEASE_SECS,
    )
    .await
    .messages;
    assert!(fast.len() > 20);
    assert_eq!(
        fast.iter()
            .map(|m| (&m.id, &m.rendered))
            .collect::<Vec<_>>(),
        planned
            .iter()
            .map(|m| (&m.id, &m.rendered))
            .collect::<Vec<_>>()
    );
    // A group of two needs planning.
    let storm = cloudwatch_event(&root_session(2, 0, t0()), false);
    let mut two = collect::collect(&storm, &settings(), &channels, KeepRaw::All).unwrap();
    assert!(engine::each_alone(&mut two, &settings(), &channels).is_none());
}
