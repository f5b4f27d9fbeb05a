//! The synthetic record `login-alert test` sends through the pipeline, and the log line that proves delivery.
//!
//! The record has an event source of its own, so the trail's other readers (CIS metric filters, a SIEM) never
//! take it for a sign-in or root action; only login-alert's patterns match it.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::record::Record;

/// `eventSource` of the test record, and the EventBridge `source` of the event `test` puts in EventBridge mode.
pub const TEST_EVENT_SOURCE: &str = "login-alert.test";
/// `eventName` of the test record.
pub const TEST_EVENT_NAME: &str = "LoginAlertTest";
/// EventBridge `detail-type` of the event `test` puts in EventBridge mode (its `detail` is the record).
pub const TEST_DETAIL_TYPE: &str = "login-alert test";
/// Key in `additionalEventData` naming how the record was sent (`PutLogEvents to …`, `PutEvents to …`).
pub const TEST_SENT_VIA_FIELD: &str = "sentVia";
/// Every delivery-proof line starts with this; see [`test_delivered_line`].
pub const TEST_DELIVERED_PREFIX: &str = "login-alert test ";

/// The test record `login-alert test` sends: `event_id` must be unique (the CLI waits for its delivery line).
pub fn test_record(
    event_id: &str,
    sent_via: &str,
    time: DateTime<Utc>,
    account_id: &str,
    region: &str,
) -> String {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "Unknown", "principalId": "login-alert", "accountId": account_id},
        "eventTime": time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "eventSource": TEST_EVENT_SOURCE,
        "eventName": TEST_EVENT_NAME,
        "awsRegion": region,
        "sourceIPAddress": "login-alert",
        "userAgent": "login-alert test",
        "requestParameters": null,
        "responseElements": null,
        "additionalEventData": {TEST_SENT_VIA_FIELD: sent_via},
        "eventID": event_id,
        "eventType": "AwsApiCall",
        "recipientAccountId": account_id,
    })
    .to_string()
}

/// The line the function logs once a test record was delivered everywhere, e.g.
/// `login-alert test 1b9e… delivered to email,slack`. The CLI's `test` looks for it with [`parse_test_delivered`].
pub fn test_delivered_line(event_id: &str, channels: &[&str]) -> String {
    format!(
        "{TEST_DELIVERED_PREFIX}{event_id} delivered to {}",
        channels.join(",")
    )
}

/// Reads a delivery line anywhere in a log line: the event ID and the destinations it reached.
pub fn parse_test_delivered(line: &str) -> Option<(&str, Vec<&str>)> {
    let rest = &line[line.find(TEST_DELIVERED_PREFIX)? + TEST_DELIVERED_PREFIX.len()..];
    let (id, rest) = rest.split_once(" delivered to ")?;
    let channels: Vec<&str> = rest
        .split_whitespace()
        .next()
        .unwrap_or("")
        .split(',')
        .filter(|c| !c.is_empty())
        .collect();
    (!id.is_empty() && !id.contains(char::is_whitespace)).then_some((id, channels))
}

pub fn is_test(record: &Record) -> bool {
    record.event_source.is(TEST_EVENT_SOURCE) && record.event_name.is(TEST_EVENT_NAME)
}

pub fn sent_via<'a>(record: &Record<'a>) -> Option<Cow<'a, str>> {
    record
        .additional_event_data
        .0
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(TEST_SENT_VIA_FIELD))
        .map(|(_, v)| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_delivery_line_round_trips_through_a_log_line() {
        let line = test_delivered_line("0f2c-41", &["email", "slack"]);
        assert_eq!(line, "login-alert test 0f2c-41 delivered to email,slack");
        let logged = format!("2025-01-01T00:00:00Z INFO  {line}\n");
        assert_eq!(
            parse_test_delivered(&logged),
            Some(("0f2c-41", vec!["email", "slack"]))
        );
        assert_eq!(parse_test_delivered("INFO  done records=3"), None);
    }

    #[test]
    fn the_test_record_is_recognised_and_never_root() {
        let json = test_record(
            "id-1",
            "PutLogEvents to /login-alert/cloudtrail",
            Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
            "123456789012",
            "eu-west-1",
        );
        let record = Record::parse(&json).unwrap();
        assert!(is_test(&record));
        assert!(!record.is_root());
        assert_eq!(
            sent_via(&record).as_deref(),
            Some("PutLogEvents to /login-alert/cloudtrail")
        );
    }
}
