//! The new messages as a reader sees them, in English and Japanese: each snapshot holds the email in both
//! languages and the Slack and Teams payloads in Japanese (keys sorted).

use crate::support::events as common;

use chrono::{TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use login_alert_handler::settings::Pipeline;
use login_alert_handler::{Language, PreviewFormat, Settings, preview};
use serde_json::Value;

use common::*;

fn settings(language: Language) -> Settings {
    let mut names = std::collections::BTreeMap::new();
    names.insert("111111111111".to_owned(), "management".to_owned());
    names.insert("222222222222".to_owned(), "sandbox".to_owned());
    Settings {
        account_name: Some("prod".into()),
        account_names: names,
        timezone: Tz::Asia__Tokyo,
        language,
        pipeline: Pipeline {
            name_prefix: Some("cloudtrail".into()),
            trail_name: Some("main".into()),
            trail_log_group: Some("cloudtrail-log-group-test".into()),
        },
        ..Settings::default()
    }
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn pretty_lines(output: &str) -> String {
    output
        .lines()
        .map(|line| {
            serde_json::to_string_pretty(&sorted(serde_json::from_str(line).unwrap())).unwrap()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Everything a reader would get for `input`: emails in both languages, Slack and Teams in Japanese.
fn all_forms(input: &[u8]) -> String {
    let render = |language, format| {
        let out = preview(input, &settings(language), format).expect("readable input");
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        out.output
    };
    let english = render(Language::En, PreviewFormat::Email);
    let japanese = render(Language::Ja, PreviewFormat::Email);
    for subject in japanese.lines().filter(|l| l.starts_with("Subject: ")) {
        assert!(subject.is_ascii() && subject.len() < 110, "{subject}");
    }
    format!(
        "=== email (en)\n{english}\n=== email (ja)\n{japanese}\n=== slack (ja)\n{}\n=== teams (ja)\n{}\n",
        pretty_lines(&render(Language::Ja, PreviewFormat::Slack)),
        pretty_lines(&render(Language::Ja, PreviewFormat::Teams)),
    )
}

/// A CloudTrail log file (`{"Records": […]}`) holding `records`.
pub(crate) fn log_file(records: &[String]) -> Vec<u8> {
    let records: Vec<Value> = records
        .iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();
    serde_json::json!({ "Records": records })
        .to_string()
        .into_bytes()
}

#[test]
fn root_sign_in_without_mfa() {
    let input = fixture("aws-ct-ug__root-success-no-mfa");
    insta::assert_snapshot!(all_forms(input.as_bytes()));
}

#[test]
fn assume_root_and_the_root_session_it_opens() {
    let input = log_file(&[
        fixture_records("aws-iam-ug-privileged__assume-root").remove(0),
        fixture_records("aws-iam-ug-privileged__root-session-delete-bucket-policy").remove(0),
    ]);
    insta::assert_snapshot!(all_forms(&input));
}

#[test]
fn root_security_changes_have_titles_of_their_own() {
    let input = log_file(&[
        fixture_records("aws-ct-ug__root-enable-mfa-device").remove(0),
        fixture_records("panther-root-access-key-created__own-key").remove(0),
    ]);
    insta::assert_snapshot!(all_forms(&input));
}

#[test]
fn sign_in_with_a_security_key() {
    let input = fixture("panther-unsuccessful-mfa-attempt__success-with-security-key");
    insta::assert_snapshot!(all_forms(input.as_bytes()));
}

#[test]
fn tampering_with_the_trail_and_its_log_group() {
    let input = log_file(&[
        fixture_records("panther-cloudtrail-stopped__stop-logging").remove(0),
        fixture_records("elastic-aws-cloudtrail__delete-log-group").remove(0),
    ]);
    insta::assert_snapshot!(all_forms(&input));
}

#[test]
fn a_change_login_alert_made_itself() {
    // The published AttachRolePolicy (role `cloudtrail-role`, one of the pipeline's with prefix `cloudtrail`),
    // sent with the SDK app name the CLI sets.
    let mut record: Value = serde_json::from_str(
        &fixture_records("elastic-aws-cloudtrail__attach-role-policy").remove(0),
    )
    .unwrap();
    record["userAgent"] =
        Value::from("aws-sdk-rust/1.3.9 os/linux lang/rust/1.95.0 app/login-alert");
    insta::assert_snapshot!(all_forms(record.to_string().as_bytes()));
}

#[test]
fn the_test_message() {
    let record = login_alert_handler::test_record(
        "0b7c1f6e-test",
        "PutLogEvents to /login-alert/cloudtrail (stream login-alert-test)",
        Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap(),
        "111111111111",
        "ap-northeast-1",
    );
    insta::assert_snapshot!(all_forms(record.as_bytes()));
}

#[test]
fn a_root_session_storm_then_its_digest_then_a_new_window() {
    // A published root console record, its calls one minute apart, then one more after the window: the first
    // call alerts, the next four wait for the digest, the last opens a new window.
    let base: Value = serde_json::from_str(
        &fixture_records("panther-root-activity__put-bucket-versioning").remove(0),
    )
    .unwrap();
    let start = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
    let minutes = [0, 1, 2, 3, 4, 30];
    let records: Vec<String> = minutes
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut r = base.clone();
            r["eventName"] =
                Value::from(["ListBuckets", "GetBucketPolicy", "DeleteBucketPolicy"][i % 3]);
            r["eventID"] = Value::from(format!("call-{i}"));
            r["eventTime"] = Value::from(
                (start + TimeDelta::minutes(*m)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
            r.to_string()
        })
        .collect();
    let out = preview(
        &log_file(&records),
        &settings(Language::En),
        PreviewFormat::Email,
    )
    .unwrap();
    assert_eq!(out.messages, 3, "{}", out.output);
    insta::assert_snapshot!(all_forms(&log_file(&records)));
}

/// Every string value of a JSON document, recursively.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[test]
fn control_and_bidi_characters_of_a_record_reach_no_reader() {
    const HOSTILE: &str = "evil\u{1b}[2J\u{7}\r\nFAKE: all clear\u{202e}RTL";
    // Every character the issue names: C0 and C1 controls, line and paragraph separators, bidi controls.
    let forbidden = |c: char| {
        (c.is_control() && c != '\n')
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{061C}' | '\u{200E}' | '\u{200F}'
            )
            || ('\u{202A}'..='\u{202E}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    let mut record: Value = serde_json::from_str(&fixture("aws-ct-ug__iam-user-failure")).unwrap();
    record["userIdentity"]["userName"] = Value::from(HOSTILE);
    record["userAgent"] = Value::from(format!(
        "agent\u{85}\u{2066}x\u{2069}\u{200f}\u{61c}{HOSTILE}"
    ));
    record["awsRegion"] = Value::from("us-east-1\u{2028}FAKE: region\u{202a}");
    // Twice from the same identity and address: the group's message (title "… and 1 more", summary facts) too.
    let mut second = record.clone();
    second["eventID"] = Value::from("d38ce1b3-4575-4cb8-a632-611b8243bfc4");
    let input = log_file(&[record.to_string(), second.to_string()]);

    for language in [Language::En, Language::Ja] {
        for format in [
            PreviewFormat::Text,
            PreviewFormat::Email,
            PreviewFormat::Slack,
            PreviewFormat::Teams,
        ] {
            let out = preview(&input, &settings(language), format).unwrap().output;
            let what = format!("{format:?} ({language:?})");
            assert!(out.contains("evil"), "{what} shows the user: {out}");
            let texts: Vec<String> = match format {
                PreviewFormat::Slack | PreviewFormat::Teams => {
                    let mut all = Vec::new();
                    for line in out.lines() {
                        strings(&serde_json::from_str(line).unwrap(), &mut all);
                    }
                    all
                }
                _ => vec![out.clone()],
            };
            for text in &texts {
                assert!(!text.contains(forbidden), "{what}: {text:?}");
                assert!(
                    !text.lines().any(|l| l.trim_start().starts_with("FAKE")),
                    "{what} has a forged line: {text:?}"
                );
            }
        }
    }

    // The generic webhook is data: the record's strings arrive exactly, and the raw document is inert (no bidi
    // or C1 character, no line break: JSON escapes them).
    let out = preview(&input, &settings(Language::En), PreviewFormat::Webhook)
        .unwrap()
        .output;
    assert!(!out.contains(forbidden), "{out:?}");
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(
        first["identity"].as_str().unwrap().contains(HOSTILE),
        "{first}"
    );
    let out = preview(&input, &settings(Language::En), PreviewFormat::Json)
        .unwrap()
        .output;
    assert!(
        !out.contains(|c: char| forbidden(c) && c != '\n'),
        "{out:?}"
    );
}
