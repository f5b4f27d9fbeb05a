//! The synthetic record `login-alert test` sends through the pipeline, and the function's log line
//! that proves it was delivered.
//!
//! The handler crate owns this contract (`login_alert_handler::testevent`, being written beside
//! this): until the CLI can import it, the same record shape and the same line are written here,
//! in this one module, and its tests pin both. Swap these for the handler's when it lands.

use chrono::{DateTime, SecondsFormat, Utc};

/// `eventSource` of the test record: its own, so CIS metric filters and a SIEM reading the trail's
/// log group never take it for a sign-in or a root action; only login-alert's pattern matches it.
pub const EVENT_SOURCE: &str = "login-alert.test";
/// `eventName` of the test record.
pub const EVENT_NAME: &str = "LoginAlertTest";
/// The key in `additionalEventData` that says how the record was sent.
pub const SENT_VIA_FIELD: &str = "sentVia";
/// What the function prints once the test record reached every destination:
/// `login-alert test <eventID> delivered to email,slack`.
const DELIVERED_PREFIX: &str = "login-alert test ";
const DELIVERED_INFIX: &str = " delivered to ";

/// The record, as CloudTrail would write one event into the log group: one JSON object, clearly
/// marked (event source, name, user agent) and saying how it was sent.
pub fn record(
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
        "eventSource": EVENT_SOURCE,
        "eventName": EVENT_NAME,
        "awsRegion": region,
        "sourceIPAddress": "login-alert",
        "userAgent": "login-alert test",
        "requestParameters": null,
        "responseElements": null,
        "additionalEventData": {SENT_VIA_FIELD: sent_via},
        "eventID": event_id,
        "eventType": "AwsApiCall",
        "recipientAccountId": account_id,
    })
    .to_string()
}

/// The destinations a log line says the test record `event_id` was delivered to, if it is that
/// line (anywhere in it: Lambda may prefix or wrap what the function prints).
pub fn delivered_to(line: &str, event_id: &str) -> Option<Vec<String>> {
    let needle = format!("{DELIVERED_PREFIX}{event_id}{DELIVERED_INFIX}");
    let rest = &line[line.find(&needle)? + needle.len()..];
    let list = rest
        .split(|c: char| c.is_whitespace() || c == '"')
        .next()
        .unwrap_or("");
    Some(
        list.split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const ID: &str = "5b0b3a0e-6c2f-4d8e-9a51-0c1f3e2d4b6a";

    /// What a function log group holds after an invocation that delivered the test record, as
    /// Lambda writes it (runtime lines around the handler's own; text log format).
    const INVOCATION: &str =
        "START RequestId: 6f1c0a9e-2b1d-4c3e-8f7a-1d2e3f4a5b6c Version: $LATEST
2025-06-01T10:00:01.120Z INFO login_alert_handler: records=1 alerts=1
login-alert test 5b0b3a0e-6c2f-4d8e-9a51-0c1f3e2d4b6a delivered to email,slack
END RequestId: 6f1c0a9e-2b1d-4c3e-8f7a-1d2e3f4a5b6c
REPORT RequestId: 6f1c0a9e-2b1d-4c3e-8f7a-1d2e3f4a5b6c Duration: 412.33 ms Billed Duration: 413 ms";

    #[test]
    fn only_the_delivery_line_of_this_event_counts() {
        let found: Vec<Vec<String>> = INVOCATION
            .lines()
            .filter_map(|l| delivered_to(l, ID))
            .collect();
        assert_eq!(found, [vec!["email".to_owned(), "slack".to_owned()]]);
        assert_eq!(
            delivered_to(INVOCATION.lines().nth(2).unwrap(), "5b0b3a0e"),
            None,
            "an id prefix is not the id"
        );
        assert_eq!(
            delivered_to("login-alert test other-id delivered to email", ID),
            None
        );
        assert_eq!(
            delivered_to(&format!("ERROR delivery of {ID} failed: 500"), ID),
            None
        );
    }

    #[test]
    fn the_line_is_found_inside_a_json_log_format_message() {
        let json = format!(
            r#"{{"timestamp":"2025-06-01T10:00:01Z","level":"INFO","message":"login-alert test {ID} delivered to email"}}"#
        );
        assert_eq!(delivered_to(&json, ID), Some(vec!["email".to_owned()]));
        assert_eq!(
            delivered_to(&format!("login-alert test {ID} delivered to slack\n"), ID),
            Some(vec!["slack".to_owned()])
        );
    }

    #[test]
    fn the_record_is_marked_as_a_test_and_never_a_sign_in_or_root() {
        let text = record(
            ID,
            "PutLogEvents to audit/login-alert-test",
            Utc.with_ymd_and_hms(2025, 6, 1, 10, 0, 0).unwrap(),
            "123456789012",
            "eu-west-1",
        );
        let r: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(r["eventSource"], "login-alert.test");
        assert_eq!(r["eventName"], "LoginAlertTest");
        assert_eq!(r["eventID"], ID);
        assert_eq!(
            r["additionalEventData"]["sentVia"],
            "PutLogEvents to audit/login-alert-test"
        );
        assert_eq!(r["eventTime"], "2025-06-01T10:00:00Z");
        // What CIS metric filters key on: no sign-in, no root, no error.
        assert_ne!(r["eventSource"], "signin.amazonaws.com");
        assert_ne!(r["eventName"], "ConsoleLogin");
        assert_ne!(r["userIdentity"]["type"], "Root");
        assert!(r.get("errorCode").is_none());
        assert!(!text.contains('\n'), "one log event, one line");
    }
}
