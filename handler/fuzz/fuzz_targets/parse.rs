//! Fuzzes the whole read path (shape detection, base64, gzip, lenient record parsing, classification, every
//! rendering): no input may panic, and a good record placed after the fuzzed one in a batch must still alert.
#![no_main]

use libfuzzer_sys::fuzz_target;
use login_alert_handler::deliver::Channel;
use login_alert_handler::collect::{self, KeepRaw};
use login_alert_handler::{PreviewFormat, Settings, preview};

const GOOD: &str = r#"{"eventVersion":"1.05","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2018-08-29T16:24:34Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.0","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},"eventID":"deb1e1f9-c99b-4612-8e9f-21f93b5d79c0","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#;

fuzz_target!(|data: &[u8]| {
    let settings = Settings::default();
    for format in PreviewFormat::ALL {
        let _ = preview(data, &settings, format);
    }
    let _ = collect::collect(data, &settings, &Channel::ALL, KeepRaw::All);

    // The fuzzed bytes as one record of a log file, followed by a good one: the good one must survive.
    if let Ok(text) = std::str::from_utf8(data) {
        let batch = format!("{{\"Records\":[{},{GOOD}]}}", serde_json_string_or_raw(text));
        let out = preview(batch.as_bytes(), &settings, PreviewFormat::Json).expect("a valid log file is readable");
        assert!(out.alerts >= 1, "the good sibling lost its alert: {}", out.output);
    }
});

/// Valid JSON text is embedded as is (to exercise the record parser); anything else as a JSON string.
fn serde_json_string_or_raw(text: &str) -> String {
    let trimmed = text.trim();
    let looks_like_value = trimmed.starts_with('{') || trimmed.starts_with('[');
    if looks_like_value && serde_json::from_str::<serde::de::IgnoredAny>(trimmed).is_ok() {
        trimmed.to_owned()
    } else {
        let mut quoted = String::from("\"");
        for c in text.chars() {
            match c {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                c if (c as u32) < 0x20 => quoted.push_str(&format!("\\u{:04x}", c as u32)),
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        quoted
    }
}
