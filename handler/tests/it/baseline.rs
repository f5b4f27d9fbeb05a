//! What is normal per identity: the "what is new" line of sign-in messages (both languages), `alert_on` both
//! ways, failures then success and password spraying, against the state table in DynamoDB (moto) and in
//! `preview`'s replay of a file.
//!
//! Records are built from the IAM user sign-in examples of the AWS CloudTrail User Guide, "AWS console sign-in
//! events" (`aws-ct-ug__iam-user-success-mfa`, `aws-ct-ug__iam-user-failure`): only the user, source address,
//! user agent, `eventID` and `eventTime` vary, as they do between real sign-ins.

use crate::support;
use crate::support::events as common;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use login_alert_handler::dynamo::DynamoStore;
use login_alert_handler::handler::handle_with;
use login_alert_handler::{AlertOn, Language, PreviewFormat, Settings, preview};
use serde_json::Value;

use common::*;
use support::{Moto, unique};

const FIREFOX_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0";
const FIREFOX_WINDOWS_LATER: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/67.0.3396.99 Safari/537.36";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 2, 9, 0, 0).unwrap()
}

/// A published IAM user sign-in (success or failure) as `user` from `ip` with `agent` at `time`.
fn sign_in(
    success: bool,
    id: &str,
    user: &str,
    ip: &str,
    agent: &str,
    time: DateTime<Utc>,
) -> String {
    let name = if success {
        "aws-ct-ug__iam-user-success-mfa"
    } else {
        "aws-ct-ug__iam-user-failure"
    };
    let mut record: Value = serde_json::from_str(&fixture_records(name)[0]).unwrap();
    record["userIdentity"]["userName"] = Value::from(user);
    record["userIdentity"]["principalId"] =
        Value::from(format!("AIDA{}EXAMPLE", user.to_uppercase()));
    if success {
        record["userIdentity"]["arn"] =
            Value::from(format!("arn:aws:iam::111122223333:user/{user}"));
    }
    record["sourceIPAddress"] = Value::from(ip);
    record["userAgent"] = Value::from(agent);
    record["eventID"] = Value::from(id);
    record["eventTime"] = Value::from(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    record.to_string()
}

fn settings(alert_on: AlertOn) -> Settings {
    Settings {
        account_name: Some("prod".into()),
        alert_on,
        ..Settings::default()
    }
}

fn email_bodies(recorder: &Recorder) -> Vec<String> {
    recorder
        .emails()
        .into_iter()
        .map(|(_, body)| body)
        .collect()
}

/// The value of the fact `label` (`Baseline`), whatever the width the labels are padded to.
fn line<'a>(body: &'a str, label: &str) -> &'a str {
    body.lines()
        .find_map(|l| l.strip_prefix(label)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baselines_in_the_dynamodb_table_say_what_is_new_and_mute_the_usual() {
    let moto = Moto::start();
    let table = unique("baseline");
    let client = moto.state_table(&table).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let unusual = settings(AlertOn::Unusual);
    let recorder = Recorder::default();
    let run = |records: Vec<String>, at: DateTime<Utc>, s: Settings| {
        let store = store.clone();
        let recorder = &recorder;
        async move {
            handle_with(
                &cloudwatch_event(&records, false),
                &s,
                recorder,
                Some(&store),
                None,
                at,
            )
            .await
            .unwrap()
        }
    };

    // alice's first sign-in: a new identity, sent even under `unusual`.
    let office = "203.0.113.10";
    run(
        vec![sign_in(true, "s1", "alice", office, FIREFOX_WINDOWS, t0())],
        t0(),
        unusual.clone(),
    )
    .await;
    let bodies = email_bodies(&recorder);
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        line(&bodies[0], "Baseline"),
        "first sign-in seen for alice (from 203.0.113.0/24, Firefox on Windows)"
    );

    // The next day, the same office network and browser (a newer version): known, so recorded and not sent.
    let day = |d| t0() + TimeDelta::days(d);
    let quiet = run(
        vec![sign_in(
            true,
            "s2",
            "alice",
            "203.0.113.77",
            FIREFOX_WINDOWS_LATER,
            day(1),
        )],
        day(1),
        unusual.clone(),
    )
    .await;
    assert_eq!((quiet.messages, email_bodies(&recorder).len()), (0, 1));

    // With `alert_on = "all"` the same kind of sign-in is sent and says how familiar it is.
    run(
        vec![sign_in(
            true,
            "s3",
            "alice",
            office,
            FIREFOX_WINDOWS,
            day(2),
        )],
        day(2),
        settings(AlertOn::All),
    )
    .await;
    let bodies = email_bodies(&recorder);
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        line(&bodies[1], "Baseline"),
        "known network and browser (seen 2 times since 2026-10-02)"
    );

    // A new network and a new browser: sent under `unusual`, naming both.
    run(
        vec![sign_in(
            true,
            "s4",
            "alice",
            "198.51.100.20",
            CHROME_MAC,
            day(3),
        )],
        day(3),
        unusual.clone(),
    )
    .await;
    let bodies = email_bodies(&recorder);
    assert_eq!(bodies.len(), 3);
    assert_eq!(
        line(&bodies[2], "Baseline"),
        "first sign-in from this network for alice (198.51.100.0/24); new browser: Chrome on macOS"
    );

    // The item: one per identity, bounded, its TTL the last sign-in plus 90 days.
    let items = client
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let baselines: Vec<&HashMap<String, AttributeValue>> = items
        .iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("baseline#"))
        .collect();
    assert_eq!(baselines.len(), 1);
    let expires: i64 = baselines[0]["expires_at"].as_n().unwrap().parse().unwrap();
    assert_eq!(expires, day(3).timestamp() + 90 * 24 * 3600);
    let state: Value = serde_json::from_str(baselines[0]["state"].as_s().unwrap()).unwrap();
    assert_eq!(state["count"], 4);
    assert_eq!(state["networks"].as_array().unwrap().len(), 2);
    assert_eq!(state["browsers"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_then_success_and_a_password_spray_with_the_state_table() {
    let moto = Moto::start();
    let table = unique("spray");
    let client = moto.state_table(&table).await;
    let store = DynamoStore::new(client, table);
    let s = settings(AlertOn::All);
    let recorder = Recorder::default();
    let secs = |n| t0() + TimeDelta::seconds(n);

    // Five failures for bob from one address, in two invocations, then his success from there.
    let home = "192.0.2.44";
    let fails: Vec<String> = (0..5)
        .map(|i| {
            sign_in(
                false,
                &format!("f{i}"),
                "bob",
                home,
                FIREFOX_WINDOWS,
                secs(i * 20),
            )
        })
        .collect();
    handle_with(
        &cloudwatch_event(&fails[..2], false),
        &s,
        &recorder,
        Some(&store),
        None,
        secs(30),
    )
    .await
    .unwrap();
    handle_with(
        &cloudwatch_event(&fails[2..], false),
        &s,
        &recorder,
        Some(&store),
        None,
        secs(100),
    )
    .await
    .unwrap();
    let ok = sign_in(true, "ok", "bob", home, FIREFOX_WINDOWS, secs(120));
    handle_with(
        &cloudwatch_event(&[ok], false),
        &s,
        &recorder,
        Some(&store),
        None,
        secs(130),
    )
    .await
    .unwrap();
    let bodies = email_bodies(&recorder);
    let success = bodies.last().unwrap();
    assert!(
        success.starts_with("Console sign-in succeeded"),
        "{success}"
    );
    assert!(
        line(success, "Baseline")
            .starts_with("after 5 failed sign-ins; first sign-in seen for bob"),
        "{success}"
    );

    // Failures for four identities from one address in one batch: one message naming them.
    let before = recorder.emails().len();
    let spray_ip = "198.51.100.7";
    let spray: Vec<String> = ["alice", "carol", "dave", "erin", "alice"]
        .iter()
        .enumerate()
        .map(|(i, who)| {
            sign_in(
                false,
                &format!("sp{i}"),
                who,
                spray_ip,
                CHROME_MAC,
                secs(200 + i as i64),
            )
        })
        .collect();
    let outcome = handle_with(
        &cloudwatch_event(&spray, false),
        &s,
        &recorder,
        Some(&store),
        None,
        secs(210),
    )
    .await
    .unwrap();
    assert_eq!(outcome.messages, 1);
    let emails = recorder.emails();
    assert_eq!(emails.len(), before + 1);
    let (subject, body) = emails.last().unwrap();
    assert_eq!(
        subject,
        "[prod] Password spraying from 198.51.100.7: failed sign-ins for 4 identities"
    );
    assert_eq!(line(body, "Identities"), "alice, carol, dave, erin");
    assert!(
        body.contains("5 failed sign-ins from this address"),
        "{body}"
    );

    // A fifth identity from there within the window waits for the spray's digest, which names it.
    let late = sign_in(false, "sp9", "frank", spray_ip, CHROME_MAC, secs(300));
    let outcome = handle_with(
        &cloudwatch_event(&[late], false),
        &s,
        &recorder,
        Some(&store),
        None,
        secs(300),
    )
    .await
    .unwrap();
    assert_eq!((outcome.messages, outcome.summarised), (0, 1));
    let schedule = std::fs::read(
        fixtures_dir().join("events/awslabs-lambda-events__eventbridge-schedule.json"),
    )
    .unwrap();
    let due = secs(210) + TimeDelta::minutes(16);
    handle_with(&schedule, &s, &recorder, Some(&store), None, due)
        .await
        .unwrap();
    let (subject, body) = recorder.emails().last().cloned().unwrap();
    assert!(
        subject.contains("Password spraying from 198.51.100.7 continued"),
        "{subject}"
    );
    assert_eq!(line(&body, "Identities"), "frank");
}

/// A file replayed by `preview`: its records in time order against an empty state, each sign-in's JSON saying
/// what is new, whether it alerts, and the failures before it.
#[test]
fn preview_json_tells_the_whole_story_of_a_file() {
    let t = |m| t0() + TimeDelta::minutes(m);
    // Out of time order on purpose: the replay sorts them.
    let records = [
        sign_in(true, "c", "alice", "203.0.113.9", FIREFOX_WINDOWS, t(10)),
        sign_in(true, "a", "alice", "203.0.113.10", FIREFOX_WINDOWS, t(0)),
        sign_in(false, "b", "alice", "198.51.100.3", CHROME_MAC, t(5)),
        sign_in(true, "d", "alice", "198.51.100.3", CHROME_MAC, t(6)),
    ];
    let file = format!("[{}]", records.join(","));
    let json = |alert_on| -> Vec<Value> {
        let out = preview(file.as_bytes(), &settings(alert_on), PreviewFormat::Json).unwrap();
        serde_json::from_str(&out.output).unwrap()
    };
    let all = json(AlertOn::All);
    let news: Vec<&Value> = all.iter().map(|r| &r["new"]).collect();
    assert_eq!(
        news,
        [
            &serde_json::json!([]),
            &serde_json::json!(["identity"]),
            // The failure: judged (new network and browser) but it teaches nothing.
            &serde_json::json!(["network", "browser"]),
            &serde_json::json!(["network", "browser"]),
        ]
    );
    assert_eq!(all[3]["after_failures"], 1);
    assert!(all[0].get("after_failures").is_none());
    assert!(all.iter().all(|r| r["alert"] == true));
    let unusual = json(AlertOn::Unusual);
    let alerts: Vec<bool> = unusual
        .iter()
        .map(|r| r["alert"].as_bool().unwrap())
        .collect();
    assert_eq!(alerts, [false, true, true, true]);

    // The messages agree: under `unusual` the known sign-in is not among them.
    let count = |alert_on| {
        preview(file.as_bytes(), &settings(alert_on), PreviewFormat::Email)
            .unwrap()
            .messages
    };
    assert_eq!((count(AlertOn::All), count(AlertOn::Unusual)), (4, 3));
}

/// The new parts of sign-in messages, in English and Japanese: what is new, what is known, failures before a
/// success, a password spray.
#[test]
fn the_new_message_parts_in_both_languages() {
    let t = |s| t0() + TimeDelta::seconds(s);
    let records = [
        sign_in(true, "1", "alice", "203.0.113.10", FIREFOX_WINDOWS, t(0)),
        sign_in(true, "2", "alice", "203.0.113.11", FIREFOX_WINDOWS, t(3600)),
        sign_in(false, "3", "alice", "2001:db8:7:1::5", CHROME_MAC, t(7200)),
        sign_in(true, "4", "alice", "2001:db8:7:1::5", CHROME_MAC, t(7210)),
        sign_in(false, "5", "bob", "198.51.100.7", CHROME_MAC, t(9000)),
        sign_in(false, "6", "carol", "198.51.100.7", CHROME_MAC, t(9001)),
        sign_in(false, "7", "dave", "198.51.100.7", CHROME_MAC, t(9002)),
    ];
    let file = format!("[{}]", records.join(","));
    let mut shown = String::new();
    for language in [Language::En, Language::Ja] {
        let s = Settings {
            language,
            timezone: chrono_tz::Tz::Asia__Tokyo,
            ..settings(AlertOn::All)
        };
        let out = preview(file.as_bytes(), &s, PreviewFormat::Email).unwrap();
        for l in out.output.lines() {
            let wanted = [
                "Subject:",
                "Baseline:",
                "Identities:",
                "普段との比較:",
                "対象ユーザー:",
            ];
            if wanted.iter().any(|w| l.starts_with(w)) {
                shown.push_str(l);
                shown.push('\n');
            }
        }
    }
    insta::assert_snapshot!(shown);
}

/// In `preview --output json` a spray's failures name it and share its group, whoever they tried.
#[test]
fn preview_json_puts_a_spray_in_one_group() {
    let t = |s| t0() + TimeDelta::seconds(s);
    let records = [
        sign_in(false, "1", "bob", "198.51.100.7", CHROME_MAC, t(0)),
        sign_in(false, "2", "carol", "198.51.100.7", CHROME_MAC, t(1)),
        sign_in(false, "3", "dave", "198.51.100.7", CHROME_MAC, t(2)),
        sign_in(false, "4", "bob", "203.0.113.5", CHROME_MAC, t(3)),
    ];
    let file = format!("[{}]", records.join(","));
    let out = preview(
        file.as_bytes(),
        &settings(AlertOn::All),
        PreviewFormat::Json,
    )
    .unwrap();
    let all: Vec<Value> = serde_json::from_str(&out.output).unwrap();
    let groups: Vec<&Value> = all.iter().map(|r| &r["group"]).collect();
    assert!(
        groups[0] == groups[1] && groups[1] == groups[2],
        "{groups:?}"
    );
    assert_ne!(groups[0], groups[3]);
    assert_eq!(
        all[0]["spray"],
        serde_json::json!({"source": "198.51.100.7", "identities": ["bob", "carol", "dave"], "total": 3})
    );
    assert!(all[3].get("spray").is_none());
}
