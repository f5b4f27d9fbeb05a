//! Broken input never panics and never costs the good records of a batch their alert; delivery failures are retried.

use crate::support::events as common;

use base64::Engine;
use login_alert_handler::{PreviewFormat, Settings, Shape, handle, preview};

use common::*;

fn good(name: &str) -> String {
    fixture_records(name).remove(0)
}

fn root_login() -> String {
    good("aws-ct-ug__root-success-no-mfa")
}
fn iam_failure() -> String {
    good("aws-ct-ug__iam-user-failure")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn awslogs_data(data: &str) -> Vec<u8> {
    serde_json::json!({"awslogs": {"data": data}})
        .to_string()
        .into_bytes()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn logs_json(events: serde_json::Value) -> Vec<u8> {
    wrap_awslogs(
        serde_json::json!({"messageType": "DATA_MESSAGE", "logEvents": events})
            .to_string()
            .as_bytes(),
    )
}

enum Want {
    /// The input as a whole is refused, with a message containing this.
    Refused(&'static str),
    /// Read: this many records, of which this many unreadable and this many alerts (each emailed and posted).
    Read {
        records: usize,
        unreadable: usize,
        alerts: usize,
    },
}

fn cases() -> Vec<(&'static str, Vec<u8>, Want)> {
    use Want::*;
    let deep = format!("{{\"eventName\":{}{}}}", "[".repeat(5000), "]".repeat(5000));
    let huge_agent = root_login().replace("Gecko/20100101 Firefox/62.0", &"A".repeat(256 * 1024));
    // The published WorkSpaces example as printed in the guide: a quote is missing before CredentialVerification.
    let published_typo =
        fixture_records("aws-workspaces-ag__credential-verification-smartcard-failure")
            .remove(0)
            .replace(
                "\"CredentialVerification\":\"Failure\"",
                "CredentialVerification\":\"Failure\"",
            );
    let truncated_gzip = {
        let full = gzip(br#"{"messageType":"DATA_MESSAGE","logEvents":[]}"#);
        full[..full.len() / 2].to_vec()
    };
    // 33 MiB of spaces gzip to about 33 KB: a small payload that would unpack past the 32 MiB the function allows.
    let bomb = {
        let mut json = b"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[]}".to_vec();
        json.resize(33 * 1024 * 1024, b' ');
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &json).unwrap();
        gz.finish().unwrap()
    };
    // A message whose escapes cannot be undone (a lone UTF-16 surrogate): its record alone is unreadable.
    let lone_surrogate = {
        let event = |id: u32, message: String| {
            serde_json::json!({"id": id.to_string(), "timestamp": id, "message": message})
                .to_string()
        };
        let bad = r#"{"id":"2","timestamp":2,"message":"{\"eventName\":\"ConsoleLogin\",\"userAgent\":\"\ud800\"}"}"#;
        format!(
            r#"{{"messageType":"DATA_MESSAGE","logEvents":[{},{bad},{}]}}"#,
            event(1, root_login()),
            event(3, iam_failure())
        )
    };
    let schedule = std::fs::read(
        fixtures_dir().join("events/awslabs-lambda-events__eventbridge-schedule.json"),
    )
    .expect("schedule fixture");
    vec![
        ("empty input", b"".to_vec(), Refused("empty")),
        ("gzip that unpacks past the cap", awslogs_data(&b64(&bomb)), Refused("larger than 32 MiB")),
        ("EventBridge scheduled event (no records)", schedule, Read { records: 0, unreadable: 0, alerts: 0 }),
        ("only whitespace", b"  \n\t ".to_vec(), Refused("empty")),
        ("not JSON", b"hello".to_vec(), Refused("not valid JSON")),
        ("truncated log file", br#"{"Records":[{"eventName":"#.to_vec(), Refused("not valid JSON")),
        ("not UTF-8", vec![0xff, 0xfe, b'{', b'}'], Refused("not UTF-8")),
        ("JSON of an unknown shape", br#"{"hello":"world"}"#.to_vec(), Refused("not a CloudWatch Logs event")),
        // serde_json skips unknown values iteratively: deep nesting costs neither a stack overflow nor the record.
        ("record nested 5000 deep", deep.into_bytes(), Read { records: 1, unreadable: 0, alerts: 0 }),
        ("bad base64", awslogs_data("!!!not base64!!!"), Refused("not valid base64")),
        ("base64 of something not gzip", awslogs_data(&b64(b"plain text")), Refused("not valid gzip")),
        ("truncated gzip stream", awslogs_data(&b64(&truncated_gzip)), Refused("not valid gzip")),
        ("gzip of truncated JSON", awslogs_data(&b64(&gzip(br#"{"logEvents":[{"message":"#))), Refused("not the CloudWatch Logs JSON")),
        ("awslogs.data is a number", br#"{"awslogs":{"data":42}}"#.to_vec(), Refused("`awslogs.data` is not valid base64")),
        ("awslogs without data", br#"{"awslogs":{}}"#.to_vec(), Refused("no `data` string")),
        ("logEvents is not an array", wrap_awslogs(br#"{"messageType":"DATA_MESSAGE","logEvents":"x"}"#), Refused("not the CloudWatch Logs JSON")),
        ("Records is not an array", br#"{"Records":{"a":1}}"#.to_vec(), Refused("not an array")),
        ("control message", wrap_awslogs(br#"{"messageType":"CONTROL_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Lambda."}]}"#), Read { records: 0, unreadable: 0, alerts: 0 }),
        ("empty batch", logs_json(serde_json::json!([])), Read { records: 0, unreadable: 0, alerts: 0 }),
        ("message with a lone surrogate escape between good ones", wrap_awslogs(lone_surrogate.as_bytes()), Read { records: 3, unreadable: 1, alerts: 2 }),
        ("truncated record between good ones", logs_json(serde_json::json!([
            {"id": "1", "timestamp": 1, "message": root_login()},
            {"id": "2", "timestamp": 2, "message": "{\"eventName\": \"ConsoleLogin\", \"userIdent"},
            {"id": "3", "timestamp": 3, "message": iam_failure()},
        ])), Read { records: 3, unreadable: 1, alerts: 2 }),
        ("message that is a number, log event that is null, message missing", logs_json(serde_json::json!([
            {"id": 1, "timestamp": 1, "message": 5},
            null,
            {"id": 3, "timestamp": 3},
            {"id": 4, "timestamp": 4, "message": root_login()},
        ])), Read { records: 4, unreadable: 3, alerts: 1 }),
        ("wrong types inside a record", logs_json(serde_json::json!([{"id": "1", "timestamp": 1700000000000i64, "message":
            r#"{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventTime":12,"userIdentity":"Root",
               "responseElements":["Success"],"additionalEventData":"MFAUsed=No","sourceIPAddress":{"ip":"1.2.3.4"}}"#}])),
            Read { records: 1, unreadable: 0, alerts: 1 }),
        ("duplicate key in a record", logs_json(serde_json::json!([
            {"id": "1", "timestamp": 1, "message": r#"{"eventName":"ConsoleLogin","eventName":"ConsoleLogin"}"#},
            {"id": "2", "timestamp": 2, "message": root_login()},
        ])), Read { records: 2, unreadable: 1, alerts: 1 }),
        ("record nested 1000 deep in a batch", logs_json(serde_json::json!([
            {"id": "1", "timestamp": 1, "message": format!("{{\"userIdentity\":{{\"sessionContext\":{{\"attributes\":{}{}}}}}}}", "[".repeat(1000), "]".repeat(1000))},
            {"id": "2", "timestamp": 2, "message": iam_failure()},
        ])), Read { records: 2, unreadable: 0, alerts: 1 }),
        ("published example with a missing quote", logs_json(serde_json::json!([
            {"id": "1", "timestamp": 1, "message": published_typo},
            {"id": "2", "timestamp": 2, "message": root_login()},
        ])), Read { records: 2, unreadable: 1, alerts: 1 }),
        ("256 KB record", logs_json(serde_json::json!([
            {"id": "1", "timestamp": 1, "message": huge_agent},
            {"id": "2", "timestamp": 2, "message": iam_failure()},
        ])), Read { records: 2, unreadable: 0, alerts: 2 }),
        ("log file with a string among its records", format!("{{\"Records\":[\"x\",{}]}}", root_login()).into_bytes(),
            Read { records: 2, unreadable: 1, alerts: 1 }),
        ("array with a number among records", format!("[1,{},{}]", root_login(), iam_failure()).into_bytes(),
            Read { records: 3, unreadable: 1, alerts: 2 }),
    ]
}

#[tokio::test]
async fn malformed_inputs_never_panic_and_never_lose_good_siblings() {
    let cases = cases();
    assert!(
        cases.len() >= 20,
        "the issue asks for at least 20 malformed inputs"
    );
    let settings = Settings::default();
    for (name, input, want) in cases {
        let recorder = Recorder::default();
        let outcome = handle(&input, &settings, &recorder)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let previewed = preview(&input, &settings, PreviewFormat::Json);
        match want {
            Want::Refused(message) => {
                assert_eq!(outcome.shape, None, "{name}");
                let err = previewed.expect_err(name).to_string();
                assert!(
                    err.contains(message),
                    "{name}: `{err}` should mention `{message}`"
                );
                assert!(recorder.emails().is_empty(), "{name}");
            }
            Want::Read {
                records,
                unreadable,
                alerts,
            } => {
                assert_eq!(
                    (outcome.records, outcome.unreadable, outcome.alerts),
                    (records, unreadable, alerts),
                    "{name}"
                );
                // The good records of these cases are unrelated to each other: one message each.
                assert_eq!(outcome.messages, alerts, "{name}");
                assert_eq!(
                    recorder.emails().len(),
                    alerts,
                    "{name}: every good alert is emailed"
                );
                assert_eq!(
                    recorder.slack().len(),
                    alerts,
                    "{name}: every good alert is posted"
                );
                let previewed = previewed.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(
                    previewed.problems.len(),
                    unreadable,
                    "{name}: each unreadable record is reported"
                );
                for (subject, body) in recorder.emails().iter() {
                    assert!(
                        subject.is_ascii() && subject.len() < 100 && !subject.contains('\n'),
                        "{name}: {subject}"
                    );
                    assert!(
                        body.len() < 16 * 1024,
                        "{name}: a {} byte body would strain SNS's 256 KB limit",
                        body.len()
                    );
                }
            }
        }
    }
}

#[test]
fn control_message_is_recognised_as_such() {
    let input = wrap_awslogs(br#"{"messageType":"CONTROL_MESSAGE","logEvents":[]}"#);
    let out = preview(&input, &Settings::default(), PreviewFormat::Text).unwrap();
    assert_eq!(out.shape, Shape::CloudWatchLogsControl);
}

#[tokio::test]
async fn one_failed_delivery_still_attempts_the_rest_and_fails_the_invocation_for_retry() {
    let input = cloudwatch_event(
        &[iam_failure(), root_login(), good("aws-ct-ug__root-failure")],
        false,
    );
    let recorder = Recorder::failing("Root console sign-in succeeded", None);
    let err = handle(&input, &Settings::default(), &recorder)
        .await
        .expect_err("a failed delivery fails the invocation");
    assert_eq!((err.failed, err.attempted), (2, 6), "{err}");
    assert!(err.to_string().contains("Lambda will retry"), "{err}");
    let emailed: Vec<String> = recorder.emails().into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        emailed.len(),
        2,
        "the records after the failure were still sent: {emailed:?}"
    );
    assert!(
        emailed
            .iter()
            .any(|s| s.contains("Root console sign-in FAILED")),
        "{emailed:?}"
    );
}
