//! Fixtures and CloudWatch Logs payloads built like AWS builds them.
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

/// The `Deliver` test double: records what would have been sent, per destination, and fails the sends whose
/// text (email subject or JSON body) contains `fail_on`, on `fail_channel` or on every destination.
pub struct Recorder {
    pub channels: Vec<login_alert_handler::Channel>,
    pub sent: std::sync::Mutex<Vec<Sent>>,
    pub fail_on: std::sync::Mutex<Option<&'static str>>,
    pub fail_channel: Option<login_alert_handler::Channel>,
}

/// One send the recorder saw: the destination, the email subject (or the JSON body) and the email body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub channel: login_alert_handler::Channel,
    pub text: String,
    pub body: String,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::with(&[
            login_alert_handler::Channel::Email,
            login_alert_handler::Channel::Slack,
        ])
    }
}

impl Recorder {
    pub fn with(channels: &[login_alert_handler::Channel]) -> Self {
        Recorder {
            channels: channels.to_vec(),
            sent: std::sync::Mutex::new(Vec::new()),
            fail_on: std::sync::Mutex::new(None),
            fail_channel: None,
        }
    }

    pub fn failing(needle: &'static str, channel: Option<login_alert_handler::Channel>) -> Self {
        let recorder = Recorder {
            fail_channel: channel,
            ..Recorder::default()
        };
        *recorder.fail_on.lock().unwrap() = Some(needle);
        recorder
    }

    /// Stops failing (the "next attempt" of a retry test).
    pub fn heal(&self) {
        *self.fail_on.lock().unwrap() = None;
    }

    pub fn of(&self, channel: login_alert_handler::Channel) -> Vec<Sent> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.channel == channel)
            .cloned()
            .collect()
    }

    /// `(subject, body)` of every email.
    pub fn emails(&self) -> Vec<(String, String)> {
        self.of(login_alert_handler::Channel::Email)
            .into_iter()
            .map(|s| (s.text, s.body))
            .collect()
    }

    pub fn slack(&self) -> Vec<String> {
        self.of(login_alert_handler::Channel::Slack)
            .into_iter()
            .map(|s| s.text)
            .collect()
    }
}

impl login_alert_handler::Deliver for Recorder {
    fn channels(&self) -> Vec<login_alert_handler::Channel> {
        self.channels.clone()
    }

    async fn send(
        &self,
        channel: login_alert_handler::Channel,
        payload: login_alert_handler::Payload<'_>,
        _deadline: Option<tokio::time::Instant>,
    ) -> Result<(), login_alert_handler::DeliveryError> {
        let (text, body) = match payload {
            login_alert_handler::Payload::Email { subject, body } => (subject, body),
            login_alert_handler::Payload::Json(json) => (json, ""),
        };
        let fail_on = *self.fail_on.lock().unwrap();
        let fails = fail_on.is_some_and(|needle| text.contains(needle))
            && self.fail_channel.is_none_or(|c| c == channel);
        if fails {
            return Err(match channel {
                login_alert_handler::Channel::Email => login_alert_handler::DeliveryError::Sns {
                    topic: "arn:aws:sns:us-east-1:123456789012:t".into(),
                    message: "throttled".into(),
                },
                other => login_alert_handler::DeliveryError::Status {
                    channel: other.display(),
                    status: 500,
                    body: "oops".into(),
                },
            });
        }
        self.sent.lock().unwrap().push(Sent {
            channel,
            text: text.to_owned(),
            body: body.to_owned(),
        });
        Ok(())
    }
}
