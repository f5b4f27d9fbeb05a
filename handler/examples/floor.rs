//! The floor under `preview --output slack`: a program that only reads a CloudWatch Logs event, decodes its base64,
//! inflates its gzip and parses both JSON layers (the CloudWatch Logs envelope, then every `message` as a CloudTrail
//! record) with sonic-rs, a SIMD JSON parser, and does nothing else. What it prints (records, top-level fields and
//! `userIdentity` fields counted) keeps the compiler from dropping the work.
//!
//! `cargo build --release -p login-alert-handler --features bench --example floor`, then
//! `farm-bench --vs 'target/release/examples/floor EVENT.json' -- target/release/login-alert preview EVENT.json --output slack`.

use std::io::Read;

use base64::Engine;
use serde::Deserialize;
use sonic_rs::{JsonContainerTrait, JsonValueTrait};

#[derive(Deserialize)]
struct Event {
    awslogs: AwsLogs,
}

#[derive(Deserialize)]
struct AwsLogs {
    data: String,
}

#[derive(Deserialize)]
struct Batch {
    #[serde(rename = "logEvents")]
    log_events: Vec<LogEvent>,
}

#[derive(Deserialize)]
struct LogEvent {
    message: String,
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: floor EVENT.json");
        std::process::exit(2);
    };
    let input = std::fs::read(&path).expect("the event file can be read");
    let event: Event = sonic_rs::from_slice(&input).expect("a CloudWatch Logs event");
    let gzipped = base64::engine::general_purpose::STANDARD
        .decode(event.awslogs.data.as_bytes())
        .expect("base64");
    let mut json = Vec::with_capacity(gzipped.len() * 8);
    flate2::read::GzDecoder::new(gzipped.as_slice())
        .read_to_end(&mut json)
        .expect("gzip");
    let batch: Batch = sonic_rs::from_slice(&json).expect("the CloudWatch Logs JSON");
    let (mut records, mut fields, mut identity_fields) = (0usize, 0usize, 0usize);
    for log_event in &batch.log_events {
        let record: sonic_rs::Value =
            sonic_rs::from_str(&log_event.message).expect("a CloudTrail record");
        if let Some(object) = record.as_object() {
            records += 1;
            fields += object.len();
            identity_fields += record
                .get("userIdentity")
                .and_then(|u| u.as_object())
                .map_or(0, |u| u.len());
        }
    }
    println!("{records} records, {fields} fields, {identity_fields} userIdentity fields");
}
