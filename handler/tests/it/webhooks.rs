//! The Teams and generic JSON webhooks against a local HTTP server (what each receives), and a webhook's
//! `429 Retry-After` honoured within the function's remaining time.

use crate::support;
use crate::support::events as common;

use std::time::Duration;

use login_alert_handler::{AwsDelivery, Channel, DeliveryError, Settings, Webhook, handle};
use serde_json::Value;
use tokio::time::Instant;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::*;

fn unused_ssm() -> aws_sdk_ssm::Client {
    let config = aws_sdk_ssm::Config::builder()
        .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
        .region(aws_sdk_ssm::config::Region::new("us-east-1"))
        .credentials_provider(support::Moto::credentials())
        .build();
    aws_sdk_ssm::Client::from_conf(config)
}

async fn bodies(server: &MockServer, at: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == at)
        .map(|r| serde_json::from_slice(&r.body).expect("the webhook received JSON"))
        .collect()
}

#[tokio::test]
async fn teams_gets_an_adaptive_card_and_the_json_webhook_the_classification() {
    let server = MockServer::start().await;
    for at in ["/teams", "/json"] {
        Mock::given(method("POST"))
            .and(path(at))
            .and(header("content-type", "application/json"))
            .respond_with(ResponseTemplate::new(202))
            .mount(&server)
            .await;
    }
    let delivery = AwsDelivery::new(
        None,
        vec![
            Webhook::with_url(
                Channel::Teams,
                &format!("{}/teams", server.uri()),
                unused_ssm(),
            )
            .unwrap(),
            Webhook::with_url(
                Channel::Webhook,
                &format!("{}/json", server.uri()),
                unused_ssm(),
            )
            .unwrap(),
        ],
    );
    let records = [
        fixture_records("aws-ct-ug__root-success-no-mfa").remove(0),
        fixture_records("panther-cloudtrail-stopped__stop-logging").remove(0),
    ];
    let settings = Settings {
        account_name: Some("prod".into()),
        ..Settings::default()
    };
    let outcome = handle(&cloudwatch_event(&records, false), &settings, &delivery)
        .await
        .expect("both webhooks answered 202");
    assert_eq!((outcome.messages, outcome.deliveries), (2, 4));

    let teams = bodies(&server, "/teams").await;
    assert_eq!(teams.len(), 2);
    let card = &teams[0]["attachments"][0];
    assert_eq!(teams[0]["type"], "message");
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    let body = card["content"]["body"].as_array().unwrap();
    assert_eq!(
        body[0]["text"],
        "Root console sign-in succeeded without MFA"
    );
    assert_eq!(body[0]["color"], "Attention");
    let facts = body
        .iter()
        .find(|b| b["type"] == "FactSet")
        .expect("a fact set")["facts"]
        .as_array()
        .unwrap();
    assert!(
        facts
            .iter()
            .any(|f| f["title"] == "Source IP" && f["value"] == "192.0.2.0")
    );
    assert_eq!(
        card["content"]["actions"][0]["url"],
        "https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/deb1e1f9-c99b-4612-8e9f-21f93b5d79c0"
    );
    let tamper_title = teams[1]["attachments"][0]["content"]["body"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        tamper_title.starts_with("TAMPERING: StopLogging on trail"),
        "{tamper_title}"
    );

    let json = bodies(&server, "/json").await;
    assert_eq!(json.len(), 2);
    assert_eq!(json[0]["kind"], "console-login-success");
    assert_eq!(json[0]["identity"], "arn:aws:iam::111122223333:root");
    assert_eq!(json[0]["account_name"], "prod");
    assert_eq!(json[0]["mfa"], false);
    assert_eq!(json[1]["kind"], "tamper");
    assert_eq!(json[1]["subkind"], "trail");
    assert_eq!(json[1]["by_login_alert"], false);
    assert_eq!(json[1]["severity"], "critical");
}

#[tokio::test]
async fn a_group_reaches_the_json_webhook_with_its_summary() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let delivery = AwsDelivery::new(
        None,
        vec![Webhook::with_url(Channel::Webhook, &server.uri(), unused_ssm()).unwrap()],
    );
    let base: Value =
        serde_json::from_str(&fixture_records("panther-root-activity__put-bucket-versioning")[0])
            .unwrap();
    let records: Vec<String> = (0..3)
        .map(|i| {
            let mut r = base.clone();
            r["eventID"] = Value::from(format!("e{i}"));
            r["eventName"] = Value::from(["ListBuckets", "ListUsers", "ListBuckets"][i]);
            r.to_string()
        })
        .collect();
    handle(
        &cloudwatch_event(&records, false),
        &Settings::default(),
        &delivery,
    )
    .await
    .unwrap();
    let json = bodies(&server, "/").await;
    assert_eq!(json.len(), 1);
    assert_eq!(json[0]["kind"], "root-activity");
    assert_eq!(json[0]["summary"]["records"], 3);
    assert_eq!(json[0]["summary"]["events"]["ListBuckets"], 2);
    assert_eq!(json[0]["summary"]["regions"][0], "us-west-2");
    assert!(json[0]["group"].is_string());
}

#[tokio::test]
async fn a_429_is_retried_after_the_wait_slack_asks_for() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_string("rate_limited"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let webhook = Webhook::with_url(Channel::Slack, &server.uri(), unused_ssm()).unwrap();
    let started = Instant::now();
    webhook
        .post("{}", Some(Instant::now() + Duration::from_secs(30)))
        .await
        .expect("the second attempt is accepted");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_429_whose_wait_outlasts_the_function_fails_at_once_for_the_retry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .mount(&server)
        .await;
    let webhook = Webhook::with_url(Channel::Slack, &server.uri(), unused_ssm()).unwrap();
    let started = Instant::now();
    let err = webhook
        .post("{}", Some(Instant::now() + Duration::from_secs(10)))
        .await
        .expect_err("30 s do not fit in 10");
    assert!(
        matches!(
            err,
            DeliveryError::RateLimited {
                retry_after_secs: 30,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.to_string().contains("the retry will send it"), "{err}");
}
