//! Every EventBridge shape the handler receives: sign-in, API call and service events (published records in the
//! documented envelope), an event forwarded from another region's bus, the `test` event put by the CLI, and the
//! scheduled event that triggers digests.

use crate::support::events as common;

use login_alert_handler::{PreviewFormat, Settings, Shape, preview};
use serde_json::Value;

use common::*;

/// The EventBridge envelope around `record` (fields as the EventBridge user guide documents them).
fn envelope(source: &str, detail_type: &str, region: &str, record: &str) -> Vec<u8> {
    serde_json::json!({
        "version": "0",
        "id": "c9a3e5c2-6b1f-4c32-9d59-6f0b1c0e2b7a",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2024-10-25T20:53:47Z",
        "region": region,
        "resources": [],
        "detail": serde_json::from_str::<Value>(record).unwrap(),
    })
    .to_string()
    .into_bytes()
}

fn classify(input: &[u8]) -> (Shape, Value) {
    let out = preview(input, &Settings::default(), PreviewFormat::Json).expect("readable");
    let items: Vec<Value> = serde_json::from_str(&out.output).unwrap();
    assert_eq!(items.len(), 1, "{}", out.output);
    (out.shape, items[0].clone())
}

#[test]
fn sign_in_api_call_and_service_events_are_read_from_their_envelopes() {
    let cases = [
        (
            "aws.signin",
            "AWS Console Sign In via CloudTrail",
            "aws-ct-ug__root-success-no-mfa",
            "console-login-success",
        ),
        // The docs' other spelling of the same detail-type: the handler reads the detail whatever it says.
        (
            "aws.signin",
            "AWS Console Signin via CloudTrail",
            "aws-ct-ug__iam-user-failure",
            "console-login-failure",
        ),
        (
            "aws.s3",
            "AWS API Call via CloudTrail",
            "panther-root-activity__put-bucket-versioning",
            "root-activity",
        ),
        (
            "aws.sts",
            "AWS API Call via CloudTrail",
            "aws-iam-ug-privileged__assume-root",
            "root-activity",
        ),
        (
            "aws.signin",
            "AWS Service Event via CloudTrail",
            "elastic-aws-cloudtrail__identity-center-user-authentication",
            "other-signin",
        ),
        (
            "aws.cloudtrail",
            "AWS API Call via CloudTrail",
            "panther-cloudtrail-stopped__stop-logging",
            "tamper",
        ),
    ];
    for (source, detail_type, fixture_name, kind) in cases {
        let record = fixture_records(fixture_name).remove(0);
        let (shape, got) = classify(&envelope(source, detail_type, "us-east-1", &record));
        assert_eq!(shape, Shape::EventBridge, "{fixture_name}");
        assert_eq!(got["kind"], kind, "{fixture_name}: {got}");
        let direct: Value = serde_json::from_str(&record).unwrap();
        assert_eq!(got["event_name"], direct["eventName"], "{fixture_name}");
    }
}

#[test]
fn an_event_forwarded_from_another_region_keeps_the_region_where_it_happened() {
    // The member-region rule forwards the event to the home region's bus; the message names the sign-in's region.
    let record = fixture_records("aws-ct-ug__iam-user-success-no-mfa.logfile").remove(0);
    let direct: Value = serde_json::from_str(&record).unwrap();
    assert_eq!(direct["awsRegion"], "us-east-2");
    let forwarded = envelope(
        "aws.signin",
        "AWS Console Sign In via CloudTrail",
        "eu-west-1",
        &record,
    );
    let (_, got) = classify(&forwarded);
    assert_eq!(got["region"], "us-east-2");
    let email = preview(&forwarded, &Settings::default(), PreviewFormat::Email).unwrap();
    assert!(
        email.output.contains("Region:     us-east-2"),
        "{}",
        email.output
    );
    assert!(
        email.output.contains(
            "https://us-east-2.console.aws.amazon.com/cloudtrailv2/home?region=us-east-2#/events/"
        ),
        "{}",
        email.output
    );

    // A detail without `awsRegion` falls back to the envelope's region, never to the home region's name.
    let mut bare = direct.clone();
    bare.as_object_mut().unwrap().remove("awsRegion");
    let (_, got) = classify(&envelope(
        "aws.signin",
        "AWS Console Sign In via CloudTrail",
        "ap-southeast-2",
        &bare.to_string(),
    ));
    assert_eq!(got["region"], "ap-southeast-2");
}

#[test]
fn the_test_event_put_in_eventbridge_mode_is_a_test() {
    let record = login_alert_handler::test_record(
        "4e1f-test",
        "PutEvents to the default bus of eu-west-1",
        chrono::Utc::now(),
        "123456789012",
        "eu-west-1",
    );
    let input = envelope(
        login_alert_handler::testevent::TEST_EVENT_SOURCE,
        login_alert_handler::testevent::TEST_DETAIL_TYPE,
        "eu-west-1",
        &record,
    );
    let (shape, got) = classify(&input);
    assert_eq!(shape, Shape::EventBridge);
    assert_eq!(got["kind"], "test");
    assert_eq!(got["alert"], true);
    assert_eq!(got["sent_via"], "PutEvents to the default bus of eu-west-1");
}

#[test]
fn the_scheduled_event_carries_no_record() {
    let input = std::fs::read(
        fixtures_dir().join("events/awslabs-lambda-events__eventbridge-schedule.json"),
    )
    .unwrap();
    let out = preview(&input, &Settings::default(), PreviewFormat::Json).unwrap();
    assert_eq!(out.shape, Shape::Schedule);
    assert_eq!((out.records, out.alerts), (0, 0));
    assert_eq!(out.output, "[]\n");
}
