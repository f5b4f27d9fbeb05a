//! The storm benchmark (run by hand: `cargo run --release --features bench --example storm`): one CloudWatch Logs batch of 500 root
//! calls from one console session plus 3 sign-ins, delivered through the real SNS client and Slack webhook to
//! local servers that answer after 30 ms. Prints the invocation's wall time and the messages each received.

use std::time::{Duration, Instant};

use base64::Engine;
use login_alert_handler::deliver::SdkEnv;
use login_alert_handler::{AwsDelivery, Channel, Settings, Webhook, handle};
use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}{name}.json")).expect("fixture");
    let value: Value = serde_json::from_str(&text).expect("JSON");
    match value.get("Records") {
        Some(records) => records[0].clone(),
        None => value,
    }
}

fn batch() -> Vec<u8> {
    // A published root console record, varied as the calls of one session vary.
    let base = fixture("panther-root-activity__put-bucket-versioning");
    let names = [
        "ListBuckets",
        "DescribeRegions",
        "GetBucketAcl",
        "ListUsers",
        "GetAccountSummary",
    ];
    let mut messages: Vec<String> = (0..500)
        .map(|i| {
            let mut r = base.clone();
            r["eventName"] = Value::from(names[i % names.len()]);
            r["eventID"] = Value::from(format!("storm-{i:05}"));
            r.to_string()
        })
        .collect();
    for (at, name) in [
        (0, "aws-ct-ug__root-success-no-mfa"),
        (250, "aws-ct-ug__iam-user-success-mfa"),
        (500, "github-switchrole-walkthrough__assumed-role-switch"),
    ] {
        messages.insert(at, fixture(name).to_string());
    }
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| serde_json::json!({"id": i.to_string(), "timestamp": 1_700_000_000_000i64 + i as i64, "message": m}))
        .collect();
    let json = serde_json::json!({"messageType": "DATA_MESSAGE", "logEvents": events}).to_string();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, json.as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    serde_json::json!({"awslogs": {"data": data}})
        .to_string()
        .into_bytes()
}

/// Both servers answer every POST after 30 ms; SNS with a Publish response. `reset` between runs drops mocks.
async fn mount(sns: &MockServer, slack: &MockServer) {
    let delay = Duration::from_millis(30);
    sns.reset().await;
    slack.reset().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(delay)
                .insert_header("content-type", "text/xml")
                .set_body_string(
                    "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult>\
                     <MessageId>1</MessageId></PublishResult><ResponseMetadata><RequestId>1</RequestId>\
                     </ResponseMetadata></PublishResponse>",
                ),
        )
        .mount(sns)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(delay))
        .mount(slack)
        .await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let sns = MockServer::start().await;
    let slack = MockServer::start().await;
    // SAFETY of the environment: this single-threaded example sets it before any client reads it.
    unsafe {
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "bench");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "bench");
        std::env::set_var("AWS_ENDPOINT_URL", sns.uri());
    }
    let sdk = SdkEnv::from_env().expect("environment");
    let ssm = sdk.ssm();
    let delivery = AwsDelivery::new(
        Some((
            sdk.sns(),
            "arn:aws:sns:us-east-1:123456789012:login-alert-alerts".into(),
        )),
        vec![
            Webhook::with_url(
                Channel::Slack,
                &format!("{}/services/T/B/x", slack.uri()),
                ssm,
            )
            .unwrap(),
        ],
    );
    let input = batch();
    let settings = Settings::default();
    let mut times = Vec::new();
    for run in 0..5 {
        mount(&sns, &slack).await;
        let started = Instant::now();
        let outcome = handle(&input, &settings, &delivery)
            .await
            .expect("delivered");
        let took = started.elapsed();
        let (emails, posts) = (
            sns.received_requests().await.unwrap_or_default().len(),
            slack.received_requests().await.unwrap_or_default().len(),
        );
        println!(
            "run {run}: {} records, {} messages, {emails} emails, {posts} Slack posts, wall time {:.1} ms",
            outcome.records,
            outcome.messages,
            took.as_secs_f64() * 1000.0
        );
        times.push(took);
    }
    times.sort();
    println!(
        "median wall time {:.1} ms",
        times[times.len() / 2].as_secs_f64() * 1000.0
    );
}
