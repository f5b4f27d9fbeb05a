//! Helpers shared by the handler's integration tests: fixtures and CloudWatch Logs payloads built like AWS builds them.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;

use base64::Engine;

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// Every fixture file name (without `.json`), sorted.
pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures directory")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    names
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join(format!("{name}.json"))).expect("fixture exists")
}

/// The record(s) of a fixture as compact JSON strings: a log file yields each of its `Records`.
pub fn fixture_records(name: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(&fixture(name)).expect("fixture is JSON");
    match value.get("Records").and_then(|r| r.as_array()) {
        Some(records) => records.iter().map(|r| r.to_string()).collect(),
        None => vec![value.to_string()],
    }
}

/// `{"awslogs":{"data": base64(gzip(json))}}` around `messages`. moto writes integer `id`s, AWS strings.
pub fn cloudwatch_event(messages: &[String], integer_ids: bool) -> Vec<u8> {
    let events: Vec<serde_json::Value> = messages
        .iter()
        .enumerate()
        .map(|(i, message)| {
            let id = if integer_ids {
                serde_json::json!(i)
            } else {
                serde_json::json!(format!("3718917624361858659234{i:016}"))
            };
            serde_json::json!({"id": id, "timestamp": 1_700_000_000_000i64 + i as i64, "message": message})
        })
        .collect();
    let data = serde_json::json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "login-alert-trail",
        "logStream": "123456789012_CloudTrail_us-east-1",
        "subscriptionFilters": ["login-alert"],
        "logEvents": events,
    });
    wrap_awslogs(data.to_string().as_bytes())
}

pub fn wrap_awslogs(json: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(json).expect("gzip in memory");
    let compressed = gz.finish().expect("gzip in memory");
    let data = base64::engine::general_purpose::STANDARD.encode(compressed);
    serde_json::json!({"awslogs": {"data": data}})
        .to_string()
        .into_bytes()
}
